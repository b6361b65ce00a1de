/**
 * The package as a user gets it: `npm pack` run in a copy of the working tree, and the
 * tarball installed into a new application, with a PATH holding only node, npm and sh
 * (no compiler to fall back on).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { copyWorkingTree, nestedEnv, root } from './tree.js';

export function run(command: string, args: string[], cwd: string, env = nestedEnv()): string {
  return execFileSync(command, args, { cwd, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Copies the working tree into `work`/socket-keepalive and packs it there; returns the copy and the tarball. */
export function packWorkingTree(work: string): { copy: string; tarball: string } {
  const copy = path.join(work, 'socket-keepalive');
  copyWorkingTree(copy);
  run('npm', ['pack', '--pack-destination', work], copy);
  const { version } = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
  return { copy, tarball: path.join(work, `socket-keepalive-${version}.tgz`) };
}

/** A directory of links to node, npm and sh only, for a PATH with no compiler, make or python3. */
export function bareBin(work: string): string {
  const bin = path.join(work, 'bin');
  fs.mkdirSync(bin, { recursive: true });
  for (const tool of ['node', 'npm', 'npx', 'sh']) {
    const target = run('sh', ['-c', `command -v ${tool}`], work).trim();
    if (!fs.existsSync(path.join(bin, tool))) fs.symlinkSync(target, path.join(bin, tool));
  }
  return bin;
}

/** A new application in `directory` with `tarball` installed (npm install) under `env`: npm's exit code and output. */
export function installInto(
  directory: string,
  tarball: string,
  env: NodeJS.ProcessEnv,
): { status: number | null; output: string } {
  fs.mkdirSync(directory, { recursive: true });
  fs.writeFileSync(path.join(directory, 'package.json'), '{"name":"app","version":"1.0.0","private":true}');
  const result = spawnSync('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball], {
    cwd: directory,
    env,
    encoding: 'utf8',
  });
  return { status: result.status, output: result.stdout + result.stderr };
}
