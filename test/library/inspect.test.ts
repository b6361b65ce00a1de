import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import readline from 'node:readline';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { captureError } from '../helpers/errors.js';
import { type InspectedSocket, inspectProcess, libraryPath } from '../helpers/library.js';
import { useServer } from '../helpers/sockets.js';

const openFds = () => fs.readdirSync('/proc/self/fd').length;

/** Spawns a program and resolves with it and the first line it prints. */
async function startChild(command: string, args: string[]): Promise<{ child: ChildProcess; line: string }> {
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = readline.createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const line = await new Promise<string>((resolve) => lines.once('line', resolve));
  return { child, line };
}

describe('inspectProcess', () => {
  const server = useServer();
  let node: ChildProcess;
  let ports: { tuned: number; slow: number; untouched: number };
  beforeAll(async () => {
    // A Node process with three connections tuned in known ways; on "check" it prints
    // what its own kernel values are, so the test can see inspect changed nothing.
    const script = `
      const net = require('node:net');
      const { setKeepAlive, getKeepAlive } = require(${JSON.stringify(libraryPath)});
      const connect = () => net.connect(${server.port}, '127.0.0.1');
      const sockets = {
        tuned: setKeepAlive(connect(), { idle: 5000, interval: 2000, count: 3, userTimeout: 9000 }),
        slow: setKeepAlive(connect(), { idle: 600000, interval: 10000, count: 9 }),
        untouched: connect(),
      };
      Promise.all(Object.values(sockets).map((s) => new Promise((r) => s.on('connect', r)))).then(() =>
        console.log(JSON.stringify(Object.fromEntries(Object.entries(sockets).map(([k, s]) => [k, s.localPort])))));
      process.stdin.on('data', () => console.log(JSON.stringify(Object.fromEntries(Object.entries(sockets).map(([k, s]) => [k, getKeepAlive(s)])))));`;
    const started = await startChild(process.execPath, ['-e', script]);
    node = started.child;
    ports = JSON.parse(started.line);
  });
  afterAll(() => {
    node.kill();
  });

  const byPort = (sockets: InspectedSocket[], port: number) =>
    sockets.find((socket) => socket.local === `127.0.0.1:${port}`) as InspectedSocket;

  test('reads the keepalive settings of a Node process, changing nothing and leaking no fd', async () => {
    const fdsBefore = openFds();
    const sockets = inspectProcess(node.pid as number);
    expect(openFds()).toBe(fdsBefore);
    expect(sockets).toHaveLength(3);
    expect(byPort(sockets, ports.tuned)).toMatchObject({
      peer: `127.0.0.1:${server.port}`,
      state: 'ESTABLISHED',
      keepAlive: { enable: true, idle: 5000, interval: 2000, count: 3, userTimeout: 9000 },
      probes: 0,
      // probes at 5 s, 7 s, 9 s: at 9 s the silence has lasted the user timeout, 2 probes out
      detection: { idleConnectionMs: 9000, dataInFlightMs: 9000 },
    });
    expect(byPort(sockets, ports.slow)).toMatchObject({
      keepAlive: { enable: true, idle: 600_000, interval: 10_000, count: 9, userTimeout: 0 },
    });
    expect(byPort(sockets, ports.untouched)).toMatchObject({
      keepAlive: { enable: false },
      detection: { idleConnectionMs: Infinity, dataInFlightMs: null },
    });
    expect(byPort(sockets, ports.tuned).fd).toBeGreaterThan(2);
    expect(Object.keys(byPort(sockets, ports.tuned)).sort()).toEqual(
      ['detection', 'fd', 'keepAlive', 'lastDataReceivedMs', 'local', 'peer', 'probes', 'retransmits', 'state'].sort(),
    );
    expect(byPort(sockets, ports.tuned).lastDataReceivedMs).toBeGreaterThanOrEqual(0);

    node.stdin?.write('check\n');
    const lines = readline.createInterface({ input: node.stdout as NodeJS.ReadableStream });
    const after = JSON.parse(await new Promise<string>((resolve) => lines.once('line', resolve)));
    expect(after.tuned).toEqual({ enable: true, idle: 5000, interval: 2000, count: 3, userTimeout: 9000 });
    expect(after.untouched.enable).toBe(false);
  });

  test('works on any program: a python3 process holding a TCP socket', async () => {
    const script = [
      'import socket, sys',
      `s = socket.create_connection(("127.0.0.1", ${server.port}))`,
      's.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)',
      's.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, 42)',
      's.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, 7)',
      's.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, 4)',
      'print(s.getsockname()[1], flush=True)',
      'sys.stdin.read()',
    ].join('\n');
    const { child, line } = await startChild('python3', ['-c', script]);
    try {
      const sockets = inspectProcess(child.pid as number);
      expect(byPort(sockets, Number(line))).toMatchObject({
        keepAlive: { enable: true, idle: 42_000, interval: 7000, count: 4, userTimeout: 0 },
        detection: { idleConnectionMs: 70_000, dataInFlightMs: null },
      });
    } finally {
      child.kill();
    }
  });

  test('a pid that does not exist is ESRCH; a bad pid argument is refused', () => {
    const pidMax = Number(fs.readFileSync('/proc/sys/kernel/pid_max', 'utf8'));
    const error = captureError(() => inspectProcess(pidMax));
    expect(error).toMatchObject({ code: 'ESRCH' });
    expect(error.message).toMatch(new RegExp(`no process with pid ${pidMax}`));
    expect(captureError(() => inspectProcess(0))).toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
    expect(captureError(() => inspectProcess('1' as never))).toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
  });
});
