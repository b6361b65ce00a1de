// The library under Bun and Deno (the binaries of their npm packages, fetched once and
// cached like the Node.js releases): every socket and server it is asked to tune, in
// code, by the default, by the preload and through `socket-keepalive run`, read back
// from the kernel from outside the process (inspectProcess in this Node.js process
// duplicates the application's sockets with pidfd_getfd); each connection echoes a line
// to show it still works; a socket whose descriptor cannot be found stays usable, with
// one warning and no 'error'.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { afterAll, describe, expect, test } from 'vitest';
import {
  childEnvironment,
  type InspectedSocket,
  inspectProcess,
  type KeepAliveOptions,
  keepAliveEnvironment,
} from '../helpers/library.js';
import { skipWithout } from '../helpers/requirements.js';
import { cliPath } from '../helpers/run.js';
import { BUN_VERSION, bunBinary, DENO_VERSION, denoBinary, fetchRuntime } from '../helpers/runtimes.js';
import { nestedEnv, root } from '../helpers/tree.js';

const probe = path.join(__dirname, 'fixtures', 'probe.cjs');
const tlsHttp = path.join(__dirname, 'fixtures', 'tls-http.cjs');
const library = path.join(root, 'dist', 'index.js');
const register = path.join(root, 'dist', 'register.js');

const SERVER = { idle: 11_000, interval: 3000, count: 4, userTimeout: 9000 };
const BEFORE = { idle: 12_000, interval: 4000, count: 5, userTimeout: 8000 };
const AFTER = { idle: 13_000, interval: 5000, count: 6, userTimeout: 7000 };
/** What `socket-keepalive run` applies with no option given, and SOCKET_KEEPALIVE below. */
const RUN_DEFAULT = { idle: 10_000, interval: 2000, count: 3, userTimeout: 20_000 };
const RUN_DEFAULT_TEXT = 'idle=10s,interval=2s,count=3,userTimeout=20s';
const UNTUNED = { enable: false, idle: 7_200_000, interval: 75_000, count: 9, userTimeout: 0 };
const on = (options: KeepAliveOptions) => ({ enable: true, ...options });

interface Runtime {
  name: string;
  version: string;
  fetch: () => string;
  /** Arguments before the script: how this runtime runs a file with every permission. */
  run: string[];
  /**
   * The ways this runtime takes the preload: on its command line, in its environment, or
   * from a file in the application's directory (`cwd`, made by `prepare`).
   */
  preloads: Record<string, { args: string[]; env: Record<string, string>; prepare?: () => string }>;
}

const runtimes: Runtime[] = [
  {
    name: 'Bun',
    version: BUN_VERSION,
    fetch: () => bunBinary(),
    run: [],
    preloads: {
      'bun --preload': { args: ['--preload', register], env: {} },
      // What keepAliveEnvironment (and so `socket-keepalive run`) writes for Bun.
      BUN_OPTIONS: { args: [], env: { BUN_OPTIONS: keepAliveEnvironment({ count: 1 }, {}, {}).BUN_OPTIONS as string } },
      'bunfig.toml': { args: [], env: {}, prepare: () => withBunfig(`preload = [${JSON.stringify(register)}]\n`) },
    },
  },
  {
    name: 'Deno',
    version: DENO_VERSION,
    fetch: () => denoBinary(),
    run: ['run', '-A'],
    preloads: {
      'deno run --preload': { args: ['--preload', register], env: {} },
      'deno run --require': { args: ['--require', register], env: {} },
    },
  },
];

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'ska-runtimes-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

interface ProbeReport {
  pid: number;
  runtime: string;
  warnings: string[];
  errors: string[];
  listener: string;
  clients: Record<string, { local: string; echoed: boolean; inProcess: unknown }>;
  /** Every TCP socket of the application, read by this process from its kernel. */
  sockets: InspectedSocket[];
  stderr: string;
}

/** A directory of its own holding a bunfig.toml with `content`, where Bun reads it from: the working directory. */
function withBunfig(content: string): string {
  const directory = fs.mkdtempSync(path.join(work, 'bunfig-'));
  fs.writeFileSync(path.join(directory, 'bunfig.toml'), content);
  return directory;
}

/** Runs `command` (ending with the probe and its spec), reads its sockets from outside, then lets it exit. */
async function runProbe(command: string[], env: Record<string, string> = {}, cwd = work): Promise<ProbeReport> {
  const child = spawn(command[0], command.slice(1), { env: nestedEnv(env), stdio: 'pipe', cwd });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = once(child, 'exit');
  const line = await Promise.race([
    once(readline.createInterface({ input: child.stdout }), 'line').then(([first]) => first as string),
    exited.then(([code, signal]) => {
      throw new Error(`${command.join(' ')} exited (${signal ?? code}) before it reported:\n${stderr}`);
    }),
  ]);
  const report = JSON.parse(line) as Omit<ProbeReport, 'sockets' | 'stderr'>;
  let sockets: InspectedSocket[];
  try {
    sockets = inspectProcess(report.pid);
  } finally {
    child.stdin.end();
  }
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  const [code] = await exited;
  clearTimeout(timer);
  expect({ code, stderr }).toMatchObject({ code: 0 });
  return { ...report, sockets, stderr };
}

/** The kernel's keepalive state of the listener, of client `name` and of the socket the server accepted for it. */
function kernelState(report: ProbeReport, name: string) {
  const local = report.clients[name].local;
  const find = (predicate: (socket: InspectedSocket) => boolean) => report.sockets.find(predicate)?.keepAlive;
  return {
    listener: find((socket) => socket.state === 'LISTEN' && socket.local === report.listener),
    client: find((socket) => socket.local === local && socket.peer === report.listener),
    accepted: find((socket) => socket.local === report.listener && socket.peer === local),
  };
}

/** Checks that every client echoed its line and that nothing was reported on any socket. */
function expectUsableQuietly(report: ProbeReport): void {
  for (const [name, client] of Object.entries(report.clients))
    expect({ name, echoed: client.echoed }).toEqual({ name, echoed: true });
  expect(report.errors).toEqual([]);
  expect(report.warnings).toEqual([]);
}

const spec = (value: object) => JSON.stringify(value);

for (const runtime of runtimes) {
  const { binary, missing } = fetchRuntime(`${runtime.name} ${runtime.version}`, runtime.fetch);
  const skip = skipWithout(`the ${runtime.name} tests`, missing);
  const command = (...args: string[]) => [binary, ...runtime.run, ...args];

  describe.skipIf(skip)(`${runtime.name} ${runtime.version}`, () => {
    test('core: a client tuned after connect, one tuned before (deferred to connect), a server and what it accepts', async () => {
      const report = await runProbe(
        command(
          probe,
          spec({
            library,
            server: SERVER,
            clients: [
              { name: 'after', after: AFTER },
              { name: 'before', before: BEFORE },
            ],
          }),
        ),
      );
      expect(report.runtime).toBe(`${runtime.name} ${runtime.version}`);
      expectUsableQuietly(report);
      expect(kernelState(report, 'after')).toEqual({ listener: on(SERVER), client: on(AFTER), accepted: on(SERVER) });
      expect(kernelState(report, 'before')).toEqual({ listener: on(SERVER), client: on(BEFORE), accepted: on(SERVER) });
      expect(report.clients.after.inProcess).toEqual(on(AFTER));
      expect(report.clients.before.inProcess).toEqual(on(BEFORE));
    });

    test('the default (setDefaultKeepAlive): clients, listeners and accepted sockets', async () => {
      const report = await runProbe(
        command(probe, spec({ library, default: RUN_DEFAULT, clients: [{ name: 'one' }, { name: 'two' }] })),
      );
      expectUsableQuietly(report);
      for (const name of ['one', 'two']) {
        expect(kernelState(report, name)).toEqual({
          listener: on(RUN_DEFAULT),
          client: on(RUN_DEFAULT),
          accepted: on(RUN_DEFAULT),
        });
      }
    });

    test.each(Object.keys(runtime.preloads))(
      'the preload through %s, into an application that never loads the package',
      async (way) => {
        const { args, env, prepare } = runtime.preloads[way];
        const report = await runProbe(
          command(...args, probe, spec({ clients: [{ name: 'client' }] })),
          { ...env, SOCKET_KEEPALIVE: RUN_DEFAULT_TEXT },
          prepare?.(),
        );
        expectUsableQuietly(report);
        expect(kernelState(report, 'client')).toEqual({
          listener: on(RUN_DEFAULT),
          client: on(RUN_DEFAULT),
          accepted: on(RUN_DEFAULT),
        });
      },
    );

    test('without the preload the same application keeps the kernel defaults (the checks above can fail)', async () => {
      const report = await runProbe(command(probe, spec({ clients: [{ name: 'client' }] })));
      expect(kernelState(report, 'client')).toEqual({ listener: UNTUNED, client: UNTUNED, accepted: UNTUNED });
    });

    test('socket-keepalive run -- <runtime> ... tunes the application', async () => {
      const report = await runProbe([
        process.execPath,
        cliPath,
        'run',
        '--quiet',
        '--',
        ...command(probe, spec({ clients: [{ name: 'client' }] })),
      ]);
      expectUsableQuietly(report);
      expect(kernelState(report, 'client')).toEqual({
        listener: on(RUN_DEFAULT),
        client: on(RUN_DEFAULT),
        accepted: on(RUN_DEFAULT),
      });
    });

    test('the ES module entry imports from an application whose package.json has no "type"', async () => {
      const app = path.join(work, `esm-${runtime.name}`);
      fs.mkdirSync(path.join(app, 'node_modules'), { recursive: true });
      fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0' }));
      fs.symlinkSync(root, path.join(app, 'node_modules', 'socket-keepalive'));
      fs.writeFileSync(
        path.join(app, 'main.mjs'),
        `import net from 'node:net';
import { getKeepAlive, setKeepAlive } from 'socket-keepalive';
const server = net.createServer().listen(0, '127.0.0.1', () => {
  setKeepAlive(server, { idle: 11000 });
  console.log(JSON.stringify(getKeepAlive(server)));
  server.close();
});
`,
      );
      const child = spawn(binary, [...runtime.run, path.join(app, 'main.mjs')], {
        cwd: app,
        env: nestedEnv(),
        stdio: 'pipe',
      });
      let output = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
      const [code] = await once(child, 'exit');
      expect({ code, output }).toMatchObject({ code: 0 });
      expect(JSON.parse(output)).toMatchObject({ enable: true, idle: 11_000 });
    });

    test.each(['code', 'default'])(
      'TLS and HTTP, tuned in %s: servers, what they accept, a TLS client, an agent',
      async (place) => {
        const report = await runProbe(command(tlsHttp, spec({ library, options: RUN_DEFAULT, place })));
        const { tlsListener, tlsClient, httpListener, agentClient, answered, warnings, errors } =
          report as unknown as Record<string, unknown>;
        expect({ answered, warnings, errors }).toEqual({ answered: 200, warnings: [], errors: [] });
        const state = (local: unknown, peer: unknown) =>
          report.sockets.find((socket) => socket.local === local && socket.peer === peer)?.keepAlive;
        const listener = (local: unknown) =>
          report.sockets.find((socket) => socket.state === 'LISTEN' && socket.local === local)?.keepAlive;
        expect({
          tlsListener: listener(tlsListener),
          tlsClient: state(tlsClient, tlsListener),
          tlsAccepted: state(tlsListener, tlsClient),
          httpListener: listener(httpListener),
          agentClient: state(agentClient, httpListener),
          httpAccepted: state(httpListener, agentClient),
        }).toEqual({
          tlsListener: on(RUN_DEFAULT),
          tlsClient: on(RUN_DEFAULT),
          tlsAccepted: on(RUN_DEFAULT),
          httpListener: on(RUN_DEFAULT),
          agentClient: on(RUN_DEFAULT),
          httpAccepted: on(RUN_DEFAULT),
        });
      },
    );

    test('a Unix domain socket under the default is left alone, working, with nothing reported', async () => {
      const app = path.join(work, `unix-${runtime.name}.cjs`);
      const socketPath = path.join(work, `${runtime.name}.sock`);
      fs.writeFileSync(
        app,
        `const net = require('node:net');
const warnings = [];
process.on('warning', (warning) => warnings.push(warning.code + ': ' + warning.message));
require(${JSON.stringify(library)}).setDefaultKeepAlive(${JSON.stringify(RUN_DEFAULT)});
const server = net.createServer((socket) => socket.pipe(socket)).listen(${JSON.stringify(socketPath)}, () => {
  const client = net.connect(${JSON.stringify(socketPath)}, () => client.write('ping'));
  client.on('error', (error) => warnings.push('error: ' + error.message));
  client.once('data', (data) => {
    console.log(JSON.stringify({ echoed: data.toString(), warnings }));
    client.destroy();
    server.close();
  });
});
`,
      );
      const child = spawn(binary, [...runtime.run, app], { cwd: work, env: nestedEnv(), stdio: 'pipe' });
      let output = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
      const [code] = await once(child, 'exit');
      expect({ code, output }).toMatchObject({ code: 0 });
      expect(JSON.parse(output)).toEqual({ echoed: 'ping', warnings: [] });
    });

    // Only Deno hides descriptors: there the library finds them from the socket's addresses.
    if (runtime.name !== 'Deno') return;

    test("a socket whose descriptor cannot be found is left as Deno made it, usable, with one warning and no 'error'", async () => {
      const clients = [
        { name: 'lost', after: AFTER, wrongPeer: true },
        { name: 'lost too', after: AFTER, wrongPeer: true },
        { name: 'found', after: AFTER },
      ];
      const report = await runProbe(command(probe, spec({ library, clients })));
      for (const client of Object.values(report.clients)) expect(client.echoed).toBe(true);
      expect(report.errors).toEqual([]);
      expect(report.warnings).toHaveLength(1);
      expect(report.warnings[0]).toMatch(
        /^SOCKET_KEEPALIVE_NOT_APPLIED: .*Deno exposes no file descriptor for it.*127\.0\.0\.1:\d+ -> 127\.0\.0\.1:1\b/,
      );
      expect(kernelState(report, 'lost').client).toEqual(UNTUNED);
      expect(kernelState(report, 'lost too').client).toEqual(UNTUNED);
      expect(kernelState(report, 'found').client).toEqual(on(AFTER));
      expect(report.clients.lost.inProcess).toMatch(
        /^ENOTSUP: getsockopt ENOTSUP \(Deno exposes no file descriptor for this socket/,
      );
    });

    test("without --allow-ffi the preload says what Deno needs, and tunes the idle time through Deno's own setKeepAlive", async () => {
      const permissions = ['run', '--allow-read', '--allow-env', '--allow-net', '--allow-sys'];
      const report = await runProbe(
        [binary, ...permissions, '--preload', register, probe, spec({ clients: [{ name: 'client' }] })],
        { SOCKET_KEEPALIVE: RUN_DEFAULT_TEXT },
      );
      expect(report.clients.client.echoed).toBe(true);
      expect(report.stderr).toMatch(
        /SOCKET_KEEPALIVE_NO_ADDON.*Deno loads native addons only with --allow-ffi \(or -A\)\./,
      );
      expect(report.stderr).not.toMatch(/reinstall/);
      // Without the addon: Deno's setKeepAlive sets the idle time only (and, unlike libuv, leaves interval and
      // count as they were); a listening socket is out of its reach, the sockets it accepts are tuned one by one.
      const idleOnly = { ...UNTUNED, enable: true, idle: 10_000 };
      expect(kernelState(report, 'client')).toEqual({ listener: UNTUNED, client: idleOnly, accepted: idleOnly });
    });

    test('socket-keepalive run refuses a deno command that takes no --preload, naming Deno', async () => {
      const child = spawn(process.execPath, [cliPath, 'run', '--', binary, 'task', 'start'], { stdio: 'pipe' });
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
      const [code] = await once(child, 'exit');
      expect(code).toBe(2);
      expect(stderr).toMatch(/Deno reads no preload from the environment, and "deno task" takes no --preload/);
    });
  });
}

test('keepAliveEnvironment writes BUN_OPTIONS as Bun reads it: --preload=<path>, unquoted, once', () => {
  const env = keepAliveEnvironment({ count: 3 }, {}, { BUN_OPTIONS: '--smol' });
  expect(env.BUN_OPTIONS).toBe(`--smol --preload=${childEnvironment.REGISTER_PATH}`);
  expect(keepAliveEnvironment({ count: 3 }, {}, { BUN_OPTIONS: env.BUN_OPTIONS }).BUN_OPTIONS).toBe(env.BUN_OPTIONS);
});
