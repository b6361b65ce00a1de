import { type ChildProcess, execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { type InspectedSocket, inspectProcess, setKeepAlive } from '../lib/index.js';
import { captureError, type LoopbackServer, startServer } from './helpers.js';

const cli = path.join(__dirname, '..', 'dist', 'demo', 'cli.js');
const library = path.join(__dirname, '..', 'dist', 'index.js');
const openFds = () => fs.readdirSync('/proc/self/fd').length;

/** Spawns a program and resolves with it and the first line it prints. */
async function startChild(command: string, args: string[]): Promise<{ child: ChildProcess; line: string }> {
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = readline.createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const line = await new Promise<string>((resolve) => lines.once('line', resolve));
  return { child, line };
}

describe('inspectProcess', () => {
  let server: LoopbackServer;
  let node: ChildProcess;
  let ports: { tuned: number; slow: number; untouched: number };
  beforeAll(async () => {
    server = await startServer();
    // A Node process with three connections tuned in known ways; on "check" it prints
    // what its own kernel values are, so the test can see inspect changed nothing.
    const script = `
      const net = require('node:net');
      const { setKeepAlive, getKeepAlive } = require(${JSON.stringify(library)});
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
  afterAll(async () => {
    node.kill();
    await server.close();
  });

  const byPort = (sockets: InspectedSocket[], port: number) => sockets.find((socket) => socket.local === `127.0.0.1:${port}`) as InspectedSocket;

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
      detection: { idle: 9000, inFlight: 9000 },
    });
    expect(byPort(sockets, ports.slow)).toMatchObject({ keepAlive: { enable: true, idle: 600_000, interval: 10_000, count: 9, userTimeout: 0 } });
    expect(byPort(sockets, ports.untouched)).toMatchObject({ keepAlive: { enable: false }, detection: { idle: Infinity, inFlight: null } });
    expect(byPort(sockets, ports.tuned).fd).toBeGreaterThan(2);

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
        detection: { idle: 70_000, inFlight: null },
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

describe('socket-keepalive inspect', () => {
  const run = (command: string, args: string[]) =>
    promisify(execFile)(command, args, { encoding: 'utf8' }).then(
      ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
      (error: { code: number; stdout: string; stderr: string }) => error,
    );

  test('--json lists this test process\'s sockets, the slowest to notice a dead peer marked; --help and bad arguments', async () => {
    const server = await startServer();
    const connect = () =>
      new Promise<import('node:net').Socket>((resolve) => {
        const socket = require('node:net').connect(server.port, '127.0.0.1', () => resolve(socket));
      });
    const [client, tuned] = await Promise.all([connect(), connect()]);
    setKeepAlive(tuned, { idle: 5000, interval: 1000, count: 3 });
    const { code, stdout } = await run(process.execPath, [cli, 'inspect', String(process.pid), '--json']);
    expect(code).toBe(0);
    const sockets = JSON.parse(stdout) as Record<string, unknown>[];
    expect(sockets).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ local: `127.0.0.1:${client.localPort}`, state: 'ESTABLISHED', keepAlive: expect.objectContaining({ enable: false }), slowest: true }),
        expect.objectContaining({ local: `127.0.0.1:${tuned.localPort}`, state: 'ESTABLISHED', detection: { idle: 8000, inFlight: null }, slowest: false }),
        expect.objectContaining({ local: `127.0.0.1:${server.port}`, peer: '*:0', state: 'LISTEN', slowest: false }),
      ]),
    );
    client.destroy();
    tuned.destroy();
    await server.close();
    expect((await run(process.execPath, [cli, 'inspect', '--help'])).stdout).toMatch(/^Usage: socket-keepalive inspect <pid>/);
    expect(await run(process.execPath, [cli, 'inspect'])).toMatchObject({ code: 2, stderr: expect.stringMatching(/give exactly one pid/) });
    expect(await run(process.execPath, [cli, 'inspect', 'abc'])).toMatchObject({ code: 2, stderr: expect.stringMatching(/--pid must be an integer/) });
  });

  test('--watch refreshes once a second until Ctrl-C', async () => {
    const watcher = spawn(process.execPath, [cli, 'inspect', String(process.pid), '--watch', '--json']);
    const snapshots: unknown[] = [];
    let firstSnapshotAt = 0;
    readline.createInterface({ input: watcher.stdout }).on('line', (line) => {
      if (snapshots.length === 0) firstSnapshotAt = performance.now();
      snapshots.push(JSON.parse(line));
    });
    // Waits for the snapshots rather than a fixed time: a loaded machine may start node slowly.
    await vi.waitFor(() => expect(snapshots.length).toBeGreaterThanOrEqual(4), { timeout: 15_000, interval: 100 });
    const seen = snapshots.length;
    const secondsSinceFirst = (performance.now() - firstSnapshotAt) / 1000;
    watcher.kill('SIGINT');
    const code = await new Promise((resolve) => watcher.on('exit', resolve));
    expect(code).toBe(0);
    for (const snapshot of snapshots) expect(Array.isArray(snapshot)).toBe(true);
    // Not faster than once a second: snapshot k is written at least k seconds after the first;
    // 0.9 s allows for the first line reaching this process late (a 500 ms refresh still fails).
    expect(seen - 1).toBeLessThanOrEqual(secondsSinceFirst + 0.9);
  });

  test('without ptrace permission it says so and exits 1', async (context) => {
    if (process.getuid?.() !== 0) {
      if (process.env.CI) throw new Error('the permission test needs root to set up two users');
      console.warn('skipping the permission test: it needs root');
      context.skip();
    }
    // The target runs as nobody; the inspector stays root but without CAP_SYS_PTRACE,
    // so another user's process is out of its reach (and root still reads our files).
    const target = spawn('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'sleep', '30']);
    await new Promise((resolve) => setTimeout(resolve, 200));
    try {
      const result = await run('setpriv', ['--bounding-set=-sys_ptrace', process.execPath, cli, 'inspect', String(target.pid)]);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/EPERM \(no permission to read the sockets of process \d+: run as root/);
    } finally {
      target.kill();
    }
  });
});
