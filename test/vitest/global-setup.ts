import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { root } from '../helpers/tree.js';

/**
 * One thing the tests run and how it is made: the build is stale when any file of
 * `sources` (files or whole folders) is newer than the oldest of `outputs`, or an output
 * is missing.
 */
interface Build {
  name: string;
  sources: string[];
  outputs: string[];
  script: string;
}

// Tests load the library from dist/ (test/helpers/library.ts), run the command-line tool
// from dist/demo/, and the addon node-gyp-build finds first, build/Release/.
const BUILDS: Build[] = [
  {
    name: 'dist/ (lib/ and demo/ compiled)',
    sources: ['lib', 'demo', 'tsconfig.json', 'tsconfig.build.json', 'tsconfig.demo.json'],
    outputs: ['dist/index.js', 'dist/demo/cli.js'],
    script: 'build:ts',
  },
  {
    name: 'the addon (build/Release/)',
    sources: ['native', 'binding.gyp'],
    outputs: ['build/Release/socket_keepalive.node'],
    script: 'build:addon',
  },
];

function files(source: string): string[] {
  const absolute = path.join(root, source);
  if (!fs.statSync(absolute).isDirectory()) return [absolute];
  return fs
    .readdirSync(absolute, { recursive: true, encoding: 'utf8' })
    .map((file) => path.join(absolute, file))
    .filter((file) => fs.statSync(file).isFile());
}

/** Why `build` must be made again, or null when its outputs are newer than every source. */
function staleness(build: Build): string | null {
  const missing = build.outputs.filter((output) => !fs.existsSync(path.join(root, output)));
  if (missing.length > 0) return `${missing.join(', ')} missing`;
  const builtAt = Math.min(...build.outputs.map((output) => fs.statSync(path.join(root, output)).mtimeMs));
  const newer = build.sources.flatMap(files).find((file) => fs.statSync(file).mtimeMs > builtAt);
  return newer ? `${path.relative(root, newer)} is newer` : null;
}

/**
 * Vitest global setup: before any test file runs, rebuilds what the tests load when its
 * sources changed since it was built, so that `npm test` (or `npx vitest run FILE`)
 * always tests the code in the tree. A failed build fails the run.
 */
export default function buildWhatTestsRun(): void {
  for (const build of BUILDS) {
    const reason = staleness(build);
    if (reason === null) continue;
    console.log(`rebuilding ${build.name}: ${reason} (npm run ${build.script})`);
    try {
      execFileSync('npm', ['run', build.script], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (error) {
      const { stdout, stderr } = error as { stdout: string; stderr: string };
      throw new Error(`npm run ${build.script} failed:\n${stdout}${stderr}`);
    }
    const after = staleness(build);
    if (after !== null) throw new Error(`npm run ${build.script} left ${build.name} stale: ${after}`);
  }
}
