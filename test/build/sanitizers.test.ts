import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { missingTools, skipWithout } from '../helpers/requirements.js';
import { CORE_TESTS, copyWorkingTree, nestedEnv, root } from '../helpers/tree.js';

// The addon under AddressSanitizer + UndefinedBehaviorSanitizer (the core and property
// tests, in a copy of the tree built with -fsanitize) and under valgrind memcheck
// (10,000 calls of every kind with the normal build). Node itself is not
// instrumented: the sanitizer runtime is preloaded, and LeakSanitizer is off because
// Node and V8 keep memory until exit by design; leaks are covered by the memory test.

/** Runs a program to its end; its exit status and both outputs (sanitizers write to stderr). */
function run(command: string, args: string[], options: { cwd?: string; env: NodeJS.ProcessEnv }) {
  const { status, stdout, stderr } = spawnSync(command, args, {
    ...options,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return { status, stdout, stderr };
}

const SANITIZER_REPORT = /AddressSanitizer|LeakSanitizer|runtime error:/;

/** The core tests (with the property test) that `tree` has. */
function coreAndPropertyTests(tree: string): string[] {
  return CORE_TESTS.filter((file) => fs.existsSync(path.join(tree, file)));
}

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'ska-sanitizers-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

describe.skipIf(skipWithout('the sanitizer build', missingTools('g++', 'gcc', 'ldd')))(
  'AddressSanitizer + UndefinedBehaviorSanitizer',
  () => {
    test('the core and property tests pass with a sanitized addon, and the sanitizers are really loaded', () => {
      const copy = path.join(work, 'asan');
      copyWorkingTree(copy);
      const flags = '-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g';
      const env = nestedEnv({ CXXFLAGS: flags, LDFLAGS: '-fsanitize=address,undefined' });
      for (const script of ['build:addon', 'build:ts'])
        execFileSync('npm', ['run', script], { cwd: copy, env, stdio: 'ignore' });
      const addon = path.join(copy, 'build', 'Release', 'socket_keepalive.node');
      expect(execFileSync('ldd', [addon], { encoding: 'utf8' })).toMatch(
        /libasan\.so[\s\S]*libubsan\.so|libubsan\.so[\s\S]*libasan\.so/,
      );

      const runtime = {
        LD_PRELOAD: execFileSync('gcc', ['-print-file-name=libasan.so'], { encoding: 'utf8' }).trim(),
        ASAN_OPTIONS: 'detect_leaks=0:abort_on_error=1',
        UBSAN_OPTIONS: 'halt_on_error=1:print_stacktrace=1',
      };
      const maps = run(
        process.execPath,
        [
          '-e',
          `require(${JSON.stringify(addon)}); process.stdout.write(require('fs').readFileSync('/proc/self/maps', 'utf8'))`,
        ],
        { env: { ...env, ...runtime } },
      );
      expect(maps.stdout).toMatch(/libasan\.so/);
      expect(maps.stdout).toMatch(/socket_keepalive\.node/);

      const tests = coreAndPropertyTests(copy);
      expect(tests.length).toBeGreaterThanOrEqual(6);
      const result = run('npx', ['vitest', 'run', ...tests], { cwd: copy, env: { ...env, ...runtime } });
      expect(result.stderr).not.toMatch(SANITIZER_REPORT);
      expect(result.stdout).toMatch(/vitest: \d+ passed, 0 failed/);
      expect(result.status).toBe(0);
    }, 300_000);
  },
);

describe.skipIf(skipWithout('the memcheck run', missingTools('valgrind')))('valgrind memcheck', () => {
  const script = `
    const net = require('node:net');
    const { setKeepAlive, getKeepAlive, getTcpInfo, detectionTime } = require(${JSON.stringify(path.join(root, 'dist', 'index.js'))});
    const addon = require('node-gyp-build')(${JSON.stringify(root)});
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const socket = net.connect(server.address().port, '127.0.0.1', () => {
        const fd = socket._handle.fd;
        let errors = 0;
        for (let i = 0; i < 10000; i++) {
          const options = { idle: 5000 + (i & 1) * 1000, interval: 2000, count: 3, userTimeout: 9000 };
          setKeepAlive(i % 3 ? socket : fd, options);
          getKeepAlive(i % 2 ? socket : fd);
          getTcpInfo(socket);
          detectionTime(options);
          try { setKeepAlive(1_000_000 + (i % 7), options); } catch (error) { if (error.code === 'EBADF') errors++; }
          // A failure in the middle of an apply (interval beyond the kernel's range).
          addon.options.set([1, 5, 40000, 3, 9000]);
          if (addon.setKeepAlive(fd, true) < 0) errors++;
        }
        console.log(errors);
        socket.destroy();
        server.close();
      });
    });`;

  test('10,000 calls of every kind: no memory error', () => {
    const result = run(
      'valgrind',
      ['--error-exitcode=99', '--leak-check=no', process.execPath, '--no-deprecation', '-e', script],
      { env: nestedEnv() },
    );
    expect(result.stderr).toMatch(/ERROR SUMMARY: 0 errors/);
    expect(result.status).toBe(0);
    expect(result.stdout.trim()).toBe('20000');
  }, 300_000);
});
