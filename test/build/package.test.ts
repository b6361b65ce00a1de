import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { copyWorkingTree, nestedEnv, root } from '../helpers/tree.js';

// Packaging, proved from a copy of the working tree: the tarball `npm pack` makes installs
// and loads its prebuilt addon on a machine with no compiler, and the cmake-js build of
// the addon passes the core test files.
let work: string;
let copy: string;

function run(command: string, args: string[], cwd: string, env = nestedEnv()): string {
  return execFileSync(command, args, { cwd, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'ska-package-'));
  copy = path.join(work, 'socket-keepalive');
  copyWorkingTree(copy);
}, 60_000);

afterAll(() => {
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

describe('npm pack', () => {
  test('the tarball installs with no compiler on PATH and loads its prebuilt addon (require and import)', () => {
    run('npm', ['pack', '--pack-destination', work], copy);
    const { version } = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
    const tarball = path.join(work, `socket-keepalive-${version}.tgz`);
    const contents = run('tar', ['tzf', tarball], work).split('\n');
    expect(contents).toContain('package/prebuilds/linux-x64/socket-keepalive.node');
    expect(contents).toEqual(expect.arrayContaining(['package/dist/index.js', 'package/dist/index.mjs', 'package/dist/index.d.ts', 'package/dist/index.d.mts']));
    expect(contents.filter((file) => file.startsWith('package/build/') || file.startsWith('package/test/'))).toEqual([]);

    // A PATH with node and npm only: no cc, c++, make, cmake or python3 to build with.
    const bin = path.join(work, 'bin');
    fs.mkdirSync(bin);
    for (const tool of ['node', 'npm', 'sh']) {
      fs.symlinkSync(run('sh', ['-c', `command -v ${tool}`], work).trim(), path.join(bin, tool));
    }
    const env = nestedEnv({ PATH: bin });
    expect(() => run('sh', ['-c', 'command -v cc || command -v g++ || command -v make'], work, env)).toThrow();

    const consumer = path.join(work, 'consumer');
    fs.mkdirSync(consumer);
    fs.writeFileSync(path.join(consumer, 'package.json'), '{"name":"consumer","version":"1.0.0","private":true}');
    run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball], consumer, env);
    const installed = path.join(consumer, 'node_modules', 'socket-keepalive');
    expect(fs.existsSync(path.join(installed, 'build'))).toBe(false);

    fs.writeFileSync(
      path.join(consumer, 'check.mjs'),
      `import net from 'node:net';
       import { createRequire } from 'node:module';
       import * as esm from 'socket-keepalive';
       const cjs = createRequire(import.meta.url)('socket-keepalive');
       const server = net.createServer().listen(0, '127.0.0.1', () => {
         const socket = net.connect(server.address().port, '127.0.0.1');
         esm.setKeepAlive(socket, { idle: 4000, interval: 2000, count: 3, userTimeout: 5000 });
         socket.on('connect', () => {
           console.log(JSON.stringify({ shared: esm.setKeepAlive === cjs.setKeepAlive, state: cjs.getKeepAlive(socket) }));
           socket.destroy();
           server.close();
         });
       });`,
    );
    const result = JSON.parse(run('node', ['check.mjs'], consumer, env));
    expect(result).toEqual({ shared: true, state: { enable: true, idle: 4000, interval: 2000, count: 3, userTimeout: 5000 } });
    // The command-line tool is installed as a bin, as `npx socket-keepalive` runs it.
    expect(run(path.join(consumer, 'node_modules', '.bin', 'socket-keepalive'), ['--help'], consumer, env)).toMatch(/^Usage: socket-keepalive <command>/);
  }, 120_000);
});

describe('cmake-js', () => {
  test('builds the addon from CMakeLists.txt and the core tests pass against it', () => {
    fs.rmSync(path.join(copy, 'build'), { recursive: true, force: true });
    fs.rmSync(path.join(copy, 'prebuilds'), { recursive: true, force: true });
    run('npm', ['run', 'build:cmake'], copy);
    expect(fs.readFileSync(path.join(copy, 'build', 'CMakeCache.txt'), 'utf8')).toMatch(/CMAKE_JS_INC[^\n]*node-api-headers/);
    run('npm', ['run', 'build:ts'], copy);
    const coreTests = fs.readdirSync(path.join(copy, 'test', 'library')).filter((file) => file.startsWith('core-'));
    expect(coreTests.length).toBeGreaterThan(0);
    const output = run('npx', ['vitest', 'run', '--project', 'default', '--reporter=dot', ...coreTests.map((file) => `test/library/${file}`)], copy);
    expect(output).toMatch(new RegExp(`Test Files\\s+.*${coreTests.length} passed`));
    // The suite's global setup found the cmake-js build fresh and tested it, not a rebuild.
    expect(output).not.toMatch(/rebuilding/);
  }, 120_000);
});
