// `socket-keepalive run` and `socket-keepalive inspect` on the process it runs: the built
// command line (dist/demo/cli.js) in real child processes.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { afterAll, describe, expect, test } from 'vitest';
import { type InspectedSocket, inspectProcess } from '../helpers/library.js';
import { type RunResult, runNode } from '../helpers/run.js';
import { certificatePath, keyPath } from '../helpers/tls.js';
import { root } from '../helpers/tree.js';

const cli = path.join(root, 'dist', 'demo', 'cli.js');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'ska-run-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

const RUN_DEFAULT = { enable: true, idle: 10_000, interval: 2000, count: 3, userTimeout: 20_000 };
const UNTUNED = { enable: false, idle: 7_200_000, interval: 75_000, count: 9, userTimeout: 0 };

function cliRun(args: string[], cwd = os.tmpdir()): Promise<RunResult> {
  return runNode([cli, ...args], {}, cwd);
}

/** An app that prints what the kernel has for a client socket and its listener, read at 'connect'. */
const probeApp = path.join(work, 'probe.cjs');
fs.writeFileSync(
  probeApp,
  `const net = require('node:net');
const { getKeepAlive } = require(${JSON.stringify(path.join(root, 'dist'))});
const server = net.createServer().listen(0, '127.0.0.1', () => {
  const socket = net.connect(server.address().port, '127.0.0.1', () => {
    console.log(JSON.stringify({ client: getKeepAlive(socket), listener: getKeepAlive(server) }));
    socket.destroy();
    server.close();
  });
});
`,
);

describe('socket-keepalive run', () => {
  test('refuses a bad inherited SOCKET_KEEPALIVE before it starts the command, exit 2', async () => {
    const marker = path.join(work, 'started');
    const run = await runNode(
      [cli, 'run', '--', process.execPath, '-e', `require('fs').writeFileSync(${JSON.stringify(marker)}, '')`],
      { SOCKET_KEEPALIVE: 'idle=5' },
    );
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(
      /the inherited SOCKET_KEEPALIVE="idle=5" is refused: The argument 'SOCKET_KEEPALIVE.idle' needs a unit: write 5s or 5ms/,
    );
    expect(fs.existsSync(marker)).toBe(false);
  });

  test('options given replace fields of the inherited SOCKET_KEEPALIVE, and run says which', async () => {
    const run = await runNode([cli, 'run', '--idle', '30s', '--report', 'json', '--', process.execPath, probeApp], {
      SOCKET_KEEPALIVE: 'idle=5s,count=2,report=text',
    });
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout).client).toEqual({ ...RUN_DEFAULT, idle: 30_000, count: 2 });
    expect(run.stderr).toMatch(
      /^socket-keepalive run: the options given replace idle, report of the inherited SOCKET_KEEPALIVE=idle=5s,count=2,report=text\n/,
    );
    expect(run.stderr).toMatch(/SOCKET_KEEPALIVE=idle=30s,interval=2s,count=2,userTimeout=20s,report=json /);
  });

  test.each([
    ['the variable through the preload', [], { SOCKET_KEEPALIVE: 'idle=5s,count=5' }, true],
    ["run's flags", ['--idle', '5s', '--count', '5'], {}, false],
    ["run's flag over an inherited variable", ['--count', '5'], { SOCKET_KEEPALIVE: 'idle=5s' }, false],
  ])(
    'one rule for unwritten fields: %s gives idle 5 s, count 5 and the defaults, read from outside',
    async (_, flags, env, preloadOnly) => {
      const holdApp = path.join(work, 'hold.cjs');
      fs.writeFileSync(
        holdApp,
        `const net = require('node:net');
const server = net.createServer().listen(0, '127.0.0.1', () => {
  const socket = net.connect(server.address().port, '127.0.0.1', () => console.log(JSON.stringify({ pid: process.pid, port: socket.localPort })));
});
process.stdin.on('end', () => process.exit(0)).resume();
`,
      );
      const args = preloadOnly
        ? ['--require', path.join(root, 'dist', 'register.js'), holdApp]
        : [cli, 'run', '--quiet', ...flags, '--', process.execPath, holdApp];
      const child = spawn(process.execPath, args, {
        stdio: ['pipe', 'pipe', 'inherit'],
        env: { ...process.env, NODE_OPTIONS: undefined, SOCKET_KEEPALIVE: undefined, ...env },
      });
      try {
        const [line] = await once(readline.createInterface({ input: child.stdout as NodeJS.ReadableStream }), 'line');
        const { pid, port } = JSON.parse(line) as { pid: number; port: number };
        const client = inspectProcess(pid).find((socket) => socket.local === `127.0.0.1:${port}`);
        expect(client?.keepAlive).toEqual({ ...RUN_DEFAULT, idle: 5000, count: 5 });
      } finally {
        child.stdin?.end();
        await once(child, 'close');
      }
    },
  );

  test('--help prints usage with the defaults and exit codes', async () => {
    const { code, stdout } = await cliRun(['run', '--help']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^Usage: socket-keepalive run \[options\] -- <command>/);
    expect(stdout).toMatch(/--idle TIME\s+silence before the first probe \(1s-32767s, whole seconds; default 10s\)/);
    expect(stdout).toMatch(
      /TIME: a whole number with its unit, 10s, 1500ms or 2m \(a bare number other than 0 is\nrefused\)/,
    );
    expect(stdout).toMatch(/--no-servers/);
    expect(stdout).toMatch(/Exit codes:/);
  });

  test('runs the command, from any directory, with every connection and listener tuned', async () => {
    const run = await cliRun(['run', '--', process.execPath, probeApp]);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({ client: RUN_DEFAULT, listener: RUN_DEFAULT });
    expect(run.stderr).toMatch(/^socket-keepalive run: SOCKET_KEEPALIVE=idle=10s,interval=2s,count=3,userTimeout=20s /);
  });

  test('options replace the defaults one by one; --no-servers leaves the listener alone', async () => {
    const run = await cliRun([
      'run',
      '--idle',
      '30s',
      '--count',
      '5',
      '--no-servers',
      '--quiet',
      process.execPath,
      probeApp,
    ]);
    expect(run.stderr).toBe('');
    expect(JSON.parse(run.stdout)).toEqual({ client: { ...RUN_DEFAULT, idle: 30_000, count: 5 }, listener: UNTUNED });
  });

  test.each([
    [['run'], /give the command to run after "--"/],
    [
      ['run', '--idle', '1500ms', '--', 'node'],
      /--idle must be from 1s to 32767s in whole seconds \(1000 to 32767000 ms\), got "1500ms"/,
    ],
    [['run', '--idle', '10x', '--', 'node'], /--idle must be a time such as 10s, 1500ms or 2m, got "10x"/],
    [['run', '--user-timeout', '8', '--', 'node'], /--user-timeout needs a unit: write 8s or 8ms/],
    [['run', '--idle', '10', '--', 'node'], /--idle needs a unit: write 10s or 10ms/],
    [
      ['run', '--idle', '0', '--', 'node'],
      /--idle must be from 1s to 32767s in whole seconds \(1000 to 32767000 ms\), got "0"/,
    ],
    [['run', '--count', '0', '--', 'node'], /--count must be a whole number from 1 to 127, got "0"/],
    [['run', '--bogus', '--', 'node'], /unknown option --bogus; the options are --idle, --interval/],
    [
      ['run', '--user-timout', '1000', '--', 'node', '-e', '1'],
      /^socket-keepalive run: unknown option --user-timout; did you mean --user-timeout\?$/m,
    ],
  ])('%j is refused with exit code 2', async (args, message) => {
    const run = await cliRun(args);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
  });

  test("passes the command's exit code through; 127 when it cannot be started", async () => {
    expect((await cliRun(['run', '--quiet', '--', process.execPath, '-e', 'process.exit(7)'])).code).toBe(7);
    const missing = await cliRun(['run', '--quiet', '--', 'no-such-command-here']);
    expect(missing.code).toBe(127);
    expect(missing.stderr).toMatch(/cannot start "no-such-command-here".*ENOENT/);
  });

  test('passes signals to the command; a command ended by a signal gives 128 + its number', async () => {
    const handles = spawn(process.execPath, [
      cli,
      'run',
      '--quiet',
      '--',
      process.execPath,
      '-e',
      "process.on('SIGTERM', () => process.exit(3)); console.log('ready'); setInterval(() => {}, 1000)",
    ]);
    await once(readline.createInterface({ input: handles.stdout }), 'line');
    handles.kill('SIGTERM');
    expect((await once(handles, 'exit'))[0]).toBe(3);

    const plain = spawn(process.execPath, [
      cli,
      'run',
      '--quiet',
      '--',
      process.execPath,
      '-e',
      "console.log('ready'); setInterval(() => {}, 1000)",
    ]);
    await once(readline.createInterface({ input: plain.stdout }), 'line');
    plain.kill('SIGHUP');
    expect((await once(plain, 'exit'))[0]).toBe(128 + os.constants.signals.SIGHUP);
  });
});

describe('socket-keepalive inspect on a process started by run', () => {
  let app: ChildProcess | undefined;
  afterAll(() => app?.kill());

  test('every TCP connection of the app, and its listeners, show the default', async () => {
    const appFile = path.join(work, 'clients.cjs');
    fs.writeFileSync(
      appFile,
      `const fs = require('node:fs');
const http = require('node:http');
const https = require('node:https');
const net = require('node:net');
const tls = require('node:tls');
const listen = (server) => new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server.address().port)));
const key = fs.readFileSync(${JSON.stringify(keyPath)});
const cert = fs.readFileSync(${JSON.stringify(certificatePath)});
(async () => {
  const echoPort = await listen(net.createServer((socket) => socket.pipe(socket)));
  const tlsPort = await listen(tls.createServer({ key, cert }, (socket) => socket.pipe(socket)));
  // Idle keep-alive connections stay open for the test's reads (fetch follows the server's hint).
  const httpServer = http.createServer((request, response) => response.end('ok'));
  const httpsServer = https.createServer({ key, cert }, (request, response) => response.end('ok'));
  httpServer.keepAliveTimeout = httpsServer.keepAliveTimeout = 600_000;
  const httpPort = await listen(httpServer);
  const httpsPort = await listen(httpsServer);
  const plain = net.connect(echoPort, '127.0.0.1');
  const raw = new net.Socket().connect(echoPort, '127.0.0.1');
  const secure = tls.connect({ port: tlsPort, host: '127.0.0.1', rejectUnauthorized: false });
  await Promise.all([plain, raw].map((socket) => new Promise((resolve) => socket.once('connect', resolve))));
  await new Promise((resolve) => secure.once('secureConnect', resolve));
  const agent = new http.Agent({ keepAlive: true });
  await new Promise((resolve) => http.get({ port: httpPort, host: '127.0.0.1', agent }, (response) => response.resume().on('end', resolve)));
  const httpsAgent = new https.Agent({ keepAlive: true, rejectUnauthorized: false });
  await new Promise((resolve) => https.get({ port: httpsPort, host: '127.0.0.1', agent: httpsAgent }, (response) => response.resume().on('end', resolve)));
  const response = await fetch('http://127.0.0.1:' + httpPort + '/');
  await response.text();
  console.log(JSON.stringify({ pid: process.pid }));
  setInterval(() => {}, 1000);
})();
`,
    );
    app = spawn(process.execPath, [cli, 'run', '--quiet', '--', process.execPath, appFile], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const [line] = await once(readline.createInterface({ input: app.stdout as NodeJS.ReadableStream }), 'line');
    const { pid } = JSON.parse(line) as { pid: number };

    const inspected = await cliRun(['inspect', String(pid), '--json']);
    expect(inspected.code).toBe(0);
    const sockets = JSON.parse(inspected.stdout) as InspectedSocket[];
    // 4 listeners; net, raw net.Socket, tls, http agent, https agent, fetch clients and the 6 accepted ends.
    expect(sockets.filter((socket) => socket.state === 'LISTEN')).toHaveLength(4);
    expect(sockets.filter((socket) => socket.state === 'ESTABLISHED').length).toBeGreaterThanOrEqual(12);
    for (const socket of sockets)
      expect({ local: socket.local, peer: socket.peer, keepAlive: socket.keepAlive }).toEqual({
        local: socket.local,
        peer: socket.peer,
        keepAlive: RUN_DEFAULT,
      });

    const table = await cliRun(['inspect', String(pid)]);
    const rows = table.stdout.split('\n').filter((row) => /\b(LISTEN|ESTABLISHED)\b/.test(row));
    expect(rows.length).toBeGreaterThanOrEqual(16);
    for (const row of rows) expect(row).toMatch(/on +10s\/2s\/x3 ut 20000ms/);
    expect(table.stdout).not.toMatch(/\boff\b/);
  });
});
