import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { bareBin, installInto, packWorkingTree, run } from '../helpers/packed.js';
import { CORE_TESTS, nestedEnv } from '../helpers/tree.js';

// Packaging, proved from a copy of the working tree: the tarball `npm pack` makes carries
// every prebuild it promises, installs and loads its prebuilt addon on a machine with no
// compiler, fails with a hint where no prebuild matches and nothing can compile, and the
// cmake-js build of the addon passes the core test files.
let work: string;
let copy: string;
let tarball: string;

beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'ska-package-'));
  ({ copy, tarball } = packWorkingTree(work));
}, 180_000);

afterAll(() => {
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

describe('npm pack', () => {
  test('the tarball carries the linux-x64 and linux-arm64 prebuilds (addon and preload library), the docs the README links, and no development build files', () => {
    const contents = run('tar', ['tzf', tarball], work).split('\n');
    expect(contents).toEqual(
      expect.arrayContaining([
        'package/prebuilds/linux-x64/socket-keepalive.node',
        'package/prebuilds/linux-arm64/socket-keepalive.node',
        'package/prebuilds/linux-x64/socket-keepalive-preload.so',
        'package/prebuilds/linux-x64/socket-keepalive-preload-musl.so',
        'package/prebuilds/linux-arm64/socket-keepalive-preload.so',
        'package/dist/index.js',
        'package/dist/index.mjs',
        'package/dist/index.d.ts',
        'package/dist/index.d.mts',
        'package/docs/platforms.md',
      ]),
    );
    // cmake-js is a development build: the install compiles with node-gyp (binding.gyp).
    expect(contents).not.toContain('package/CMakeLists.txt');
    expect(contents.filter((file) => file.startsWith('package/build/') || file.startsWith('package/test/'))).toEqual(
      [],
    );
    // No development lifecycle script left for npm to warn about: install is the only one.
    const scripts = JSON.parse(run('tar', ['xzfO', tarball, 'package/package.json'], work)).scripts;
    expect(Object.keys(scripts).filter((name) => /^(pre|post)?(install|prepare)$/.test(name))).toEqual(['install']);
  });

  test("the packed dist/demo/node-release.js exports the lab's Node.js fetch and no Bun or Deno release of the tests", () => {
    const unpacked = path.join(work, 'node-release');
    fs.mkdirSync(unpacked);
    run('tar', ['xzf', tarball, '-C', unpacked, 'package/dist/demo/node-release.js'], work);
    const exported = run(
      'node',
      ['-p', "Object.keys(require('./package/dist/demo/node-release.js')).join(' ')"],
      unpacked,
    )
      .trim()
      .split(' ');
    expect(exported).toContain('nodeBinary');
    expect(exported.filter((name) => /bun|deno/i.test(name))).toEqual([]);
  });

  test('npm pack fails, naming the prebuild, when one it promises cannot be built', () => {
    const broken = path.join(work, 'no-cross-compiler');
    fs.cpSync(copy, broken, { recursive: true, verbatimSymlinks: true });
    fs.rmSync(path.join(broken, 'prebuilds', 'linux-arm64'), { recursive: true, force: true });
    // A PATH with everything but the aarch64 cross compiler.
    const bin = path.join(work, 'bin-without-aarch64');
    fs.mkdirSync(bin);
    for (const directory of (process.env.PATH ?? '').split(':').filter(Boolean)) {
      if (!fs.existsSync(directory)) continue;
      for (const tool of fs.readdirSync(directory)) {
        if (!tool.startsWith('aarch64-') && !fs.existsSync(path.join(bin, tool)))
          fs.symlinkSync(path.join(directory, tool), path.join(bin, tool));
      }
    }
    const error = (() => {
      try {
        run('node', ['scripts/prebuilds.js'], broken, nestedEnv({ PATH: bin }));
      } catch (failure) {
        return failure as { status: number; stderr: string };
      }
      throw new Error('scripts/prebuilds.js succeeded without a cross compiler');
    })();
    expect(error.status).toBe(1);
    expect(error.stderr).toMatch(
      /the linux-arm64 prebuild could not be built \("npm run prebuild:arm64" failed; it needs aarch64-linux-gnu-g\+\+/,
    );
  }, 60_000);

  test('the tarball installs with no compiler on PATH and loads its prebuilt addon (require and import)', () => {
    // A PATH with node and npm only: no cc, c++, make, cmake or python3 to build with.
    const env = nestedEnv({ PATH: bareBin(work) });
    expect(() => run('sh', ['-c', 'command -v cc || command -v g++ || command -v make'], work, env)).toThrow();

    const consumer = path.join(work, 'consumer');
    const install = installInto(consumer, tarball, env);
    expect(install.status).toBe(0);
    expect(install.output).not.toMatch(/prepare/);
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
    expect(result).toEqual({
      shared: true,
      state: { enable: true, idle: 4000, interval: 2000, count: 3, userTimeout: 5000 },
    });
    // The command-line tool is installed as a bin, as `npx socket-keepalive` runs it.
    expect(run(path.join(consumer, 'node_modules', '.bin', 'socket-keepalive'), ['--help'], consumer, env)).toMatch(
      /^Usage: socket-keepalive <command>/,
    );
  }, 120_000);

  test('with no matching prebuild and no compiler, the install fails with a short note of what to install', () => {
    // The same tarball without its prebuilds: what a platform with none sees.
    const unpacked = path.join(work, 'without-prebuilds');
    fs.mkdirSync(unpacked);
    run('tar', ['xzf', tarball, '-C', unpacked], work);
    fs.rmSync(path.join(unpacked, 'package', 'prebuilds'), { recursive: true });
    run('tar', ['czf', path.join(work, 'without-prebuilds.tgz'), '-C', unpacked, 'package'], work);
    const env = nestedEnv({ PATH: bareBin(work) });
    const install = installInto(
      path.join(work, 'consumer-without-prebuilds'),
      path.join(work, 'without-prebuilds.tgz'),
      env,
    );
    expect(install.status).not.toBe(0);
    expect(install.output).toContain(
      `socket-keepalive: there is no prebuilt addon for linux-${process.arch} in this package, so it must be compiled, which needs ` +
        'a C++17 compiler, make and python3 (Debian/Ubuntu: apt-get install g++ make python3',
    );
    expect(install.output).toMatch(/Missing here: a C\+\+ compiler \(c\+\+ or g\+\+\), make, python3\./);
    // Not node-gyp's own output: nothing was tried that could not work.
    expect(install.output).not.toMatch(/gyp (info|ERR)/);
    expect(install.output).toContain('Alpine: apk add g++ make python3 linux-headers');
    expect(install.output).toContain('or set SOCKET_KEEPALIVE_NO_ADDON=1 to install without the addon');

    // Ruled out: the install goes on, says what the library gives, and a socket is tuned through Node's own call.
    const consumer = path.join(work, 'consumer-no-addon');
    const floor = installInto(
      consumer,
      path.join(work, 'without-prebuilds.tgz'),
      nestedEnv({ PATH: bareBin(work), SOCKET_KEEPALIVE_NO_ADDON: '1' }),
    );
    expect(floor.status).toBe(0);
    // npm shows an install script's output only when it fails: what is seen is that nothing was built.
    expect(fs.existsSync(path.join(consumer, 'node_modules', 'socket-keepalive', 'build'))).toBe(false);
    fs.writeFileSync(
      path.join(consumer, 'check.cjs'),
      `const net = require('node:net');
const { setKeepAlive } = require('socket-keepalive');
const server = net.createServer().listen(0, '127.0.0.1', () => {
  const socket = net.connect(server.address().port, '127.0.0.1', () => {
    setKeepAlive(socket, { idle: 4000 });
    try { setKeepAlive(socket, { idle: 4000, userTimeout: 5000 }); } catch (error) { console.log(error.code); }
    socket.destroy();
    server.close();
  });
});`,
    );
    expect(run('node', ['check.cjs'], consumer, nestedEnv({})).trim()).toBe('ERR_SOCKET_KEEPALIVE_UNSUPPORTED');
  }, 120_000);
});

describe('cmake-js', () => {
  test('builds the addon from CMakeLists.txt and the core tests pass against it', () => {
    fs.rmSync(path.join(copy, 'build'), { recursive: true, force: true });
    fs.rmSync(path.join(copy, 'prebuilds'), { recursive: true, force: true });
    run('npm', ['run', 'build:cmake'], copy);
    expect(fs.readFileSync(path.join(copy, 'build', 'CMakeCache.txt'), 'utf8')).toMatch(
      /CMAKE_JS_INC[^\n]*node-api-headers/,
    );
    run('npm', ['run', 'build:ts'], copy);
    const output = run('npx', ['vitest', 'run', '--project', 'default', '--reporter=dot', ...CORE_TESTS], copy);
    expect(output).toMatch(new RegExp(`Test Files\\s+.*${CORE_TESTS.length} passed`));
    // The suite's global setup found the cmake-js build fresh and tested it, not a rebuild.
    expect(output).not.toMatch(/rebuilding/);
  }, 120_000);
});
