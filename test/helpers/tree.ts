import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** The repository's root. */
export const root = path.join(__dirname, '..', '..');

/**
 * The core tests: the library's own modules against the kernel, the ones the sanitized,
 * cmake-js and other builds of the addon must pass too.
 */
export const CORE_TESTS = ['binding', 'detection', 'keepalive', 'options.property', 'patches', 'socket', 'target'].map(
  (module) => `test/library/${module}.test.ts`,
);

/**
 * Copies the working tree (files git tracks, and untracked ones it does not ignore) to
 * `destination`, with node_modules linked rather than copied: a clean tree to build in
 * without touching this one's build/ or dist/.
 */
export function copyWorkingTree(destination: string): void {
  const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], {
    cwd: root,
    encoding: 'utf8',
  })
    .split('\0')
    .filter((file) => file && fs.existsSync(path.join(root, file)));
  for (const file of files) {
    fs.mkdirSync(path.dirname(path.join(destination, file)), { recursive: true });
    fs.copyFileSync(path.join(root, file), path.join(destination, file));
  }
  fs.symlinkSync(path.join(root, 'node_modules'), path.join(destination, 'node_modules'));
}

/** The environment for nested npm/vitest runs: no state of this vitest run leaking in. */
export function nestedEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('VITEST')));
  return { ...env, ...extra };
}
