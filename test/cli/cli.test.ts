import type { ChildProcess } from 'node:child_process';
import readline from 'node:readline';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { cliPath, run, runCli, spawnCli } from '../helpers/run.js';

describe('socket-keepalive command line', () => {
  test.each([[[]], [['--help']], [['server', '--help']], [['client', '--help']], [['lab', '--help']]])(
    '%j prints usage',
    async (args) => {
      const { code, stdout } = await runCli(args);
      expect(stdout).toMatch(/^Usage: socket-keepalive/);
      expect(code).toBe(args.length === 0 ? 2 : 0);
    },
  );

  test('option help states the units', async () => {
    expect((await runCli(['client', '--help'])).stdout).toMatch(
      /--idle LIST\s+silence before the first probe \(1s-32767s, whole seconds; library\)/,
    );
    expect((await runCli(['server', '--help'])).stdout).toMatch(/--user-timeout TIME/);
    expect((await runCli(['server', '--help'])).stdout).toMatch(
      /TIME: a whole number with its unit, 10s, 1500ms or 2m \(a bare number other than 0 is\nrefused\)/,
    );
  });

  test.each([
    [['frobnicate'], /unknown command "frobnicate"/],
    [['client', '--sockets', '0'], /--sockets must be a whole number from 1 to 1000, got "0"/],
    [['client', '--sockets', '3', '--count', '2,5'], /--count lists 2 values for 3 sockets/],
    [
      ['client', '--idle', '1500ms'],
      /--idle must be from 1s to 32767s in whole seconds \(1000 to 32767000 ms\), got "1500ms"/,
    ],
    [['client', '--idle', '2'], /--idle needs a unit: write 2s or 2ms/],
    [['server', '--user-timeout', '8'], /--user-timeout needs a unit: write 8s or 8ms/],
    [['lab', '--window', '75'], /--window needs a unit: write 75s or 75ms/],
    [['client', '--idle', '1500'], /--idle needs a unit: write 1500s or 1500ms/],
    [['client', '--mode', 'node', '--idle', '2s'], /--idle applies to --mode library only/],
    [['client', '--mode', 'library,node', '--idle', '2s,3s'], /socket #2: --idle applies to --mode library only/],
    [['client', '--mode', 'fast'], /--mode must be one of library, node, before-connect, off/],
    [['client', '--bogus'], /unknown option --bogus; the options are --host, --port, --sockets, --mode, --idle/],
    [['server', '--port', '70000'], /--port must be a whole number from 0 to 65535/],
    [['server', '--count', '500'], /--count must be a whole number from 1 to 127, got "500"/],
    [['lab', '--window', 'soon'], /--window must be a time such as 10s, 1500ms or 2m, got "soon"/],
    [
      ['lab', '--svg', '/no-such-directory/timeline.svg'],
      /--svg \/no-such-directory\/timeline.svg: no such directory \/no-such-directory/,
    ],
  ])('%j is refused with exit code 2 and a clear message', async (args, message) => {
    const { code, stderr } = await runCli(args);
    expect(code).toBe(2);
    expect(stderr).toMatch(message);
    expect(stderr).toMatch(/--help" for usage|Usage:/);
  });
});

test('lab without CAP_NET_ADMIN prints the manual procedure and exits 3', async () => {
  // As root, drop the capability from the bounding set for the child (setpriv, util-linux).
  const asRoot = process.getuid?.() === 0;
  const command = asRoot ? 'setpriv' : process.execPath;
  const args = asRoot ? ['--bounding-set=-net_admin', process.execPath, cliPath, 'lab'] : [cliPath, 'lab'];
  const result = await run(command, args);
  expect(result.code).toBe(3);
  expect(result.stderr).toMatch(/needs CAP_NET_ADMIN/);
  expect(result.stderr).toMatch(/iptables -A INPUT -p tcp --dport 7654 -j DROP/);
});

describe('server and client on loopback, --json', () => {
  let server: ChildProcess;
  let serverEvents: Record<string, unknown>[];
  let port: number;
  beforeAll(async () => {
    server = spawnCli(['server', '--port', '0', '--idle', '3s', '--interval', '1s', '--count', '4', '--json']);
    serverEvents = [];
    const lines = readline.createInterface({ input: server.stdout as NodeJS.ReadableStream });
    port = await new Promise((resolve) =>
      lines.on('line', (line) => {
        const event = JSON.parse(line);
        serverEvents.push(event);
        if (event.event === 'listening') resolve(event.port);
      }),
    );
  });
  afterAll(() => {
    server.kill();
  });

  test('the server reports its listener with the kernel values accepted sockets inherit', async () => {
    expect(serverEvents[0]).toMatchObject({
      event: 'listening',
      host: '127.0.0.1',
      keepalive: { enable: true, idle: 3000, interval: 1000, count: 4 },
    });
  });

  test('on loopback, with every socket still open after 10.0 s, the client says nothing cuts the link and names lab', async () => {
    const note =
      'every socket still open after 10.0 s: nothing cuts a loopback link, so no peer dies here; ' +
      'to see a dead peer found, run socket-keepalive lab\n';
    // As the README's reader runs it: text into a pipe (plain lines), and --json (the note on stderr).
    const started = Date.now();
    const text = spawnCli(['client', '--port', String(port), '--sockets', '3', '--idle', '2s', '--count', '2,5,9']);
    const json = spawnCli(['client', '--port', String(port), '--idle', '2s', '--json']);
    let stdout = '';
    let stderr = '';
    text.stdout?.on('data', (chunk) => (stdout += chunk));
    json.stderr?.on('data', (chunk) => (stderr += chunk));
    await vi.waitFor(() => expect(stdout.endsWith(note) && stderr === `socket-keepalive client: ${note}`).toBe(true), {
      timeout: 20_000,
      interval: 200,
    });
    // Said once, after the sockets opened, and only once 10 s had passed.
    expect(Date.now() - started).toBeGreaterThanOrEqual(10_000);
    expect(stdout.split(note)).toHaveLength(2);
    expect(stdout.match(/^#\d /gm)).toHaveLength(3);
    for (const child of [text, json]) child.kill('SIGINT');
    await Promise.all([text, json].map((child) => new Promise((resolve) => child.on('exit', resolve))));
  }, 30_000);

  test("the client reports each socket's effective values and how it closed", async () => {
    const client = spawnCli([
      'client',
      '--port',
      String(port),
      '--sockets',
      '3',
      '--mode',
      'library,node,library',
      '--idle',
      '2s,,5s',
      '--interval',
      '1s,,2s',
      '--count',
      '2,,7',
      '--node-delay',
      '3s',
      '--json',
    ]);
    const events: Record<string, unknown>[] = [];
    const lines = readline.createInterface({ input: client.stdout as NodeJS.ReadableStream });
    let interrupted = false;
    lines.on('line', (line) => {
      events.push(JSON.parse(line));
      if (!interrupted && events.filter((event) => event.event === 'connect').length === 3) {
        interrupted = true;
        client.kill('SIGINT');
      }
    });
    const code = await new Promise((resolve) => client.on('exit', resolve));
    expect(code).toBe(0);
    const connects = events.filter((event) => event.event === 'connect');
    expect(connects).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          id: '#1',
          mode: 'library',
          effective: { enable: true, idle: 2000, interval: 1000, count: 2, userTimeout: 0 },
        }),
        expect.objectContaining({
          id: '#2',
          mode: 'node',
          effective: { enable: true, idle: 3000, interval: 1000, count: 10, userTimeout: 0 },
        }),
        expect.objectContaining({
          id: '#3',
          mode: 'library',
          effective: { enable: true, idle: 5000, interval: 2000, count: 7, userTimeout: 0 },
        }),
      ]),
    );
    const closes = events.filter((event) => event.event === 'close');
    expect(closes.map((event) => event.id).sort()).toEqual(['#1', '#2', '#3']);
    for (const close of closes) expect(close).toMatchObject({ code: null, silentMs: expect.any(Number) });
    // The server saw them come with the listener's values, and go.
    await vi.waitFor(
      () => expect(serverEvents.filter((event) => event.event === 'close').length).toBeGreaterThanOrEqual(3),
      { timeout: 10_000 },
    );
    const accepted = serverEvents.filter((event) => event.event === 'connection');
    expect(accepted.length).toBeGreaterThanOrEqual(3);
    expect(accepted.at(-1)).toMatchObject({ keepalive: { enable: true, idle: 3000, interval: 1000, count: 4 } });
  });
});
