import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { kernelOffersIoUringSetsockopt } from '../helpers/kernel.js';
import { missingTools, skipWithout } from '../helpers/requirements.js';

// The io_uring path of setKeepAlive against the plain syscalls, each in a child process
// (the path is decided once per process): same kernel values, same errors, a silent
// fallback wherever io_uring is refused, and one ring per thread, closed with it.
const fixtures = path.join(__dirname, 'fixtures');

type KernelPath = 'io_uring' | 'syscalls';

/** Runs a fixture (or `node -e` code) in a child process on the given path; its JSON output. */
function runChild(kernelPath: KernelPath, args: string[], wrapper: string[] = []): any {
  const env = { ...process.env };
  env.SOCKET_KEEPALIVE_IO_URING = kernelPath === 'syscalls' ? '0' : '1';
  const [command, ...rest] = [...wrapper, process.execPath, '--no-deprecation', ...args];
  return JSON.parse(execFileSync(command, rest, { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }));
}

const cases = path.join(fixtures, 'io-uring-cases.cjs');

describe.skipIf(skipWithout('the io_uring path tests', kernelOffersIoUringSetsockopt() ? [] : ['Linux 6.7+ with kernel.io_uring_disabled = 0']))('io_uring path', () => {
  test('both paths leave the same kernel values and report the same errors', () => {
    const ring = runChild('io_uring', [cases]);
    const syscalls = runChild('syscalls', [cases]);
    expect(ring.kernelPath).toBe('io_uring');
    expect(syscalls.kernelPath).toBe('syscalls');
    expect(ring.results).toEqual(syscalls.results);

    // The failing option stops the ones after it (linked entries on the ring): interval
    // fails, idle before it is set, count, user timeout and SO_KEEPALIVE stay as they were.
    const byName = Object.fromEntries(ring.results.map((result: any) => [result.name, result]));
    expect(byName['addon: interval out of the kernel range stops the rest']).toMatchObject({
      outcome: { errno: os.constants.errno.EINVAL, step: 2 },
      socket: { enable: true, idle: 14_000, interval: 2000, count: 5, userTimeout: 8000 },
    });
    expect(byName['addon: closed fd vouched for as TCP'].outcome).toEqual({ errno: os.constants.errno.EBADF, step: 1 });
    expect(byName['addon: UDP fd vouched for as TCP'].outcome).toEqual({ errno: os.constants.errno.ENOPROTOOPT, step: 1 });
    expect(byName['library: closed fd'].outcome).toMatchObject({ code: 'EBADF', syscall: 'getsockopt', option: 'SO_TYPE' });
    expect(byName['library: listening server'].listener).toEqual({ enable: true, idle: 13_000, interval: 4000, count: 6, userTimeout: 7000 });
  });

  test('one ring per thread: the main thread and each Worker open their own, and a Worker closes its ring when it exits', () => {
    const report = runChild('io_uring', [path.join(fixtures, 'io-uring-workers.cjs')]);
    expect(report.kernelPath).toBe('io_uring');
    expect(report.state).toEqual({ enable: true, idle: 5000, interval: 2000, count: 3, userTimeout: 6000 });
    expect(report.workers).toEqual([6000, 7000, 8000].map((idle) => ({ kernelPath: 'io_uring', state: { enable: true, idle, interval: 2000, count: 3, userTimeout: 6000 } })));
    expect(report.ringsBefore).toBe(1);
    expect(report.ringsWhileWorkersRun).toBe(4);
    expect(report.workerExitCodes).toEqual([0, 0, 0]);
    expect(report.ringsAfterWorkersExit).toBe(1);
  });
});

test('SOCKET_KEEPALIVE_IO_URING=0: plain syscalls in every thread, and no ring is ever opened', () => {
  const report = runChild('syscalls', [path.join(fixtures, 'io-uring-workers.cjs')]);
  expect(report.kernelPath).toBe('syscalls');
  expect(report.workers.map((worker: { kernelPath: string }) => worker.kernelPath)).toEqual(['syscalls', 'syscalls', 'syscalls']);
  expect(report.workers[2].state).toEqual({ enable: true, idle: 8000, interval: 2000, count: 3, userTimeout: 6000 });
  expect([report.ringsBefore, report.ringsWhileWorkersRun, report.ringsAfterWorkersExit]).toEqual([0, 0, 0]);
  expect(report.workerExitCodes).toEqual([0, 0, 0]);
});

// A seccomp filter, as containers install, makes one syscall fail with a chosen errno.
describe.skipIf(skipWithout('the seccomp tests of the kernel path', missingTools('cc')))('under a seccomp filter', () => {
  let work: string;
  let denySyscall: (errno: string, syscall: string) => string[];
  beforeAll(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'ska-io-uring-'));
    const binary = path.join(work, 'deny-syscall');
    execFileSync('cc', ['-O2', '-o', binary, path.join(fixtures, 'deny-syscall.c')]);
    denySyscall = (errno, syscall) => [binary, String(os.constants.errno[errno as keyof typeof os.constants.errno]), syscall];
  });
  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

  test.each([
    ['ENOSYS', 'io_uring_setup', 'a kernel without io_uring'],
    ['EPERM', 'io_uring_setup', 'a container that forbids it'],
    ['EINVAL', 'io_uring_enter', 'a kernel that refuses the command'],
  ])('io_uring_setup or _enter failing with %s (%s, %s): syscalls, silently, with the same results', (errno, syscall) => {
    const refused = runChild('io_uring', [cases], denySyscall(errno, syscall));
    const syscalls = runChild('syscalls', [cases]);
    expect(refused.kernelPath).toBe('syscalls');
    expect(refused.results).toEqual(syscalls.results);
  });

  test.skipIf(!kernelOffersIoUringSetsockopt())('with setsockopt at the TCP level forbidden, the io_uring path still applies: it makes no setsockopt syscall', () => {
    const apply = `
      const net = require('node:net');
      const { getKeepAlive, setKeepAlive } = require(${JSON.stringify(path.join(__dirname, '..', '..', 'dist', 'index.js'))});
      const addon = require('node-gyp-build')(${JSON.stringify(path.join(__dirname, '..', '..'))});
      const server = net.createServer().listen(0, '127.0.0.1', () => {
        const socket = net.connect(server.address().port, '127.0.0.1', () => {
          let error = null;
          try { setKeepAlive(socket, { enable: true, idle: 9000, interval: 3000, count: 4, userTimeout: 5000 }); } catch (e) { error = { code: e.code, option: e.option }; }
          console.log(JSON.stringify({ kernelPath: addon.kernelPath(), error, state: getKeepAlive(socket) }));
          socket.destroy();
          server.close();
        });
      });`;
    const ring = runChild('io_uring', ['-e', apply], denySyscall('EPERM', 'tcp_setsockopt'));
    expect(ring).toEqual({ kernelPath: 'io_uring', error: null, state: { enable: true, idle: 9000, interval: 3000, count: 4, userTimeout: 5000 } });
    // The oracle works: the syscall path is stopped by the same filter at its first option.
    const syscalls = runChild('syscalls', ['-e', apply], denySyscall('EPERM', 'tcp_setsockopt'));
    expect(syscalls).toMatchObject({ kernelPath: 'syscalls', error: { code: 'EPERM', option: 'TCP_KEEPIDLE' } });
  });
});
