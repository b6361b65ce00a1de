import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { copyWorkingTree, nestedEnv, root } from './helpers/tree.js';

// The addon under AddressSanitizer + UndefinedBehaviorSanitizer (the core and property
// tests, in a copy of the tree built with -fsanitize) and under valgrind memcheck
// (10,000 calls of every kind with the normal build). Node itself is not instrumented:
// the sanitizer runtime is preloaded, and LeakSanitizer is off because Node and V8 keep
// memory until exit by design; leaks are covered by the memory test instead.
function tool(command: string, why: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`]);
    return true;
  } catch {
    if (process.env.CI) throw new Error(`${command} is needed for ${why} under CI`);
    console.warn(`skipping ${why}: ${command} is not installed`);
    return false;
  }
}

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'ska-sanitizers-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

describe.skipIf(!tool('g++', 'the sanitizer build'))('AddressSanitizer + UndefinedBehaviorSanitizer', () => {
  test('the core and property tests pass with a sanitized addon, and the sanitizers are really loaded', () => {
    const copy = path.join(work, 'asan');
    copyWorkingTree(copy);
    const flags = '-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g';
    const env = nestedEnv({ CXXFLAGS: flags, LDFLAGS: '-fsanitize=address,undefined' });
    const run = (args: string[], extra = {}) => execFileSync('npm', args, { cwd: copy, env: { ...env, ...extra }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    run(['run', 'build:addon']);
    run(['run', 'build:ts']);
    const addon = path.join(copy, 'build', 'Release', 'socket_keepalive.node');
    expect(execFileSync('ldd', [addon], { encoding: 'utf8' })).toMatch(/libasan\.so[\s\S]*libubsan\.so|libubsan\.so[\s\S]*libasan\.so/);

    const runtime = { LD_PRELOAD: execFileSync('gcc', ['-print-file-name=libasan.so'], { encoding: 'utf8' }).trim(), ASAN_OPTIONS: 'detect_leaks=0:abort_on_error=1', UBSAN_OPTIONS: 'halt_on_error=1:print_stacktrace=1' };
    const maps = execFileSync(process.execPath, ['-e', `require(${JSON.stringify(addon)}); process.stdout.write(require('fs').readFileSync('/proc/self/maps', 'utf8'))`], { env: { ...env, ...runtime }, encoding: 'utf8' });
    expect(maps).toMatch(/libasan\.so/);
    expect(maps).toMatch(/socket_keepalive\.node/);

    const tests = fs.readdirSync(path.join(copy, 'test', 'library')).filter((file) => file.startsWith('core-') || file === 'property.test.ts');
    const output = execFileSync('npx', ['vitest', 'run', ...tests.map((file) => `test/library/${file}`)], { cwd: copy, env: { ...env, ...runtime }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    expect(output).toMatch(new RegExp(`vitest: \\d+ passed, 0 failed`));
    expect(output).not.toMatch(/AddressSanitizer|runtime error:/);
  }, 240_000);
});

describe.skipIf(!tool('valgrind', 'the memcheck run'))('valgrind memcheck', () => {
  test('10,000 calls of every kind: no memory error', () => {
    const script = `
      const net = require('node:net');
      const { setKeepAlive, getKeepAlive, getTcpInfo, detectionTime } = require(${JSON.stringify(path.join(root, 'dist', 'index.js'))});
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
          }
          console.log('done ' + errors);
          socket.destroy();
          server.close();
        });
      });`;
    const output = execFileSync('valgrind', ['--error-exitcode=99', '--leak-check=no', process.execPath, '-e', script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    expect(output.trim()).toBe('done 10000');
  }, 240_000);
});
