import { spawn } from 'node:child_process';
import readline from 'node:readline';
import { describe, expect, test, vi } from 'vitest';
import { setKeepAlive } from '../helpers/library.js';
import { skipWithout } from '../helpers/requirements.js';
import { cliPath, run, runCli, spawnCli } from '../helpers/run.js';
import { connectTo, startServer } from '../helpers/sockets.js';

describe('socket-keepalive inspect', () => {
  test("--json lists this test process's sockets, the slowest to notice a dead peer marked; --help and bad arguments", async () => {
    const server = await startServer();
    const [client, tuned] = await Promise.all([connectTo(server), connectTo(server)]);
    setKeepAlive(tuned, { idle: 5000, interval: 1000, count: 3 });
    const { code, stdout } = await runCli(['inspect', String(process.pid), '--json']);
    expect(code).toBe(0);
    const sockets = JSON.parse(stdout) as Record<string, unknown>[];
    expect(sockets).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          local: `127.0.0.1:${client.localPort}`,
          state: 'ESTABLISHED',
          keepAlive: expect.objectContaining({ enable: false }),
          // Infinity, never noticed, is null in JSON
          detection: { idleConnectionMs: null, dataInFlightMs: null },
          slowest: true,
        }),
        expect.objectContaining({
          local: `127.0.0.1:${tuned.localPort}`,
          state: 'ESTABLISHED',
          detection: { idleConnectionMs: 8000, dataInFlightMs: null },
          slowest: false,
        }),
        expect.objectContaining({ local: `127.0.0.1:${server.port}`, peer: '*:0', state: 'LISTEN', slowest: false }),
      ]),
    );
    client.destroy();
    tuned.destroy();
    await server.close();
    expect((await runCli(['inspect', '--help'])).stdout).toMatch(/^Usage: socket-keepalive inspect <pid>/);
    expect(await runCli(['inspect'])).toMatchObject({ code: 2, stderr: expect.stringMatching(/give exactly one pid/) });
    expect(await runCli(['inspect', 'abc'])).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/the pid must be a whole number from 1 to \d+, got "abc"/),
    });
  });

  test('--watch refreshes once a second until Ctrl-C', async () => {
    const watcher = spawnCli(['inspect', String(process.pid), '--watch', '--json']);
    const snapshots: unknown[] = [];
    let firstSnapshotAt = 0;
    readline.createInterface({ input: watcher.stdout as NodeJS.ReadableStream }).on('line', (line) => {
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

  test('a process with no TCP sockets of its own shows those of its descendants, each with its pid and parent', async () => {
    // As npx starts an app: a process that holds no TCP socket, whose grandchild holds them.
    const app =
      "const net = require('net'); const server = net.createServer().listen(0, '127.0.0.1', () => " +
      "net.connect(server.address().port, '127.0.0.1', () => console.log('up'))); setTimeout(() => {}, 30000);";
    const launcher = `require('child_process').spawn(process.execPath, ['-e', ${JSON.stringify(
      `require('child_process').spawn(process.execPath, ['-e', ${JSON.stringify(app)}], { stdio: 'inherit' })`,
    )}], { stdio: 'inherit' }); setTimeout(() => {}, 30000);`;
    const top = spawn(process.execPath, ['-e', launcher]);
    try {
      await new Promise((resolve) => top.stdout.once('data', resolve));
      const text = await runCli(['inspect', String(top.pid)]);
      expect(text.code).toBe(0);
      const [, own, child, parent] =
        /^process (\d+)\nno TCP sockets of its own\n\nprocess (\d+) \(.*\), child of (\d+)\n/.exec(text.stdout) ?? [];
      expect(Number(own)).toBe(top.pid);
      expect(child).toBeDefined();
      // The grandchild: its parent is the middle process, not the one given.
      expect([Number(parent), Number(child)]).not.toContain(top.pid);
      expect(text.stdout).toMatch(/\n\d+ +127\.0\.0\.1:\d+ +\*:0 +LISTEN /);
      expect(text.stdout.match(/ ESTABLISHED /g)).toHaveLength(2);
      const sockets = JSON.parse((await runCli(['inspect', String(top.pid), '--json'])).stdout) as { pid: number }[];
      expect(sockets).toHaveLength(3);
      for (const socket of sockets) expect(socket.pid).toBe(Number(child));
    } finally {
      top.kill();
    }
  });

  test('without ptrace permission it says so and exits 1', async (context) => {
    if (skipWithout('the permission test', process.getuid?.() === 0 ? [] : ['root'], 'to set up two users'))
      context.skip();
    // The target runs as nobody; the inspector stays root but without CAP_SYS_PTRACE,
    // so another user's process is out of its reach (and root still reads our files).
    const target = spawn('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'sleep', '30']);
    await new Promise((resolve) => setTimeout(resolve, 200));
    try {
      const result = await run('setpriv', [
        '--bounding-set=-sys_ptrace',
        process.execPath,
        cliPath,
        'inspect',
        String(target.pid),
      ]);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/EPERM \(no permission to read the sockets of process \d+: run as root/);
    } finally {
      target.kill();
    }
  });
});
