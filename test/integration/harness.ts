import { spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import readline from 'node:readline';
import { beforeAll, describe, expect } from 'vitest';
import type { KeepAliveOptions } from '../helpers/library.js';
import { type InspectedSocket, inspectProcess } from '../helpers/library.js';
import { nestedEnv, root } from '../helpers/tree.js';

/** The default every test sets: values no client or kernel uses on its own. */
export const tuned = { idle: 7000, interval: 2000, count: 4, userTimeout: 15_000 } satisfies KeepAliveOptions;
/** The same default as the preload reads it from the environment. */
export const tunedEnv = 'idle=7s,interval=2s,count=4,userTimeout=15s';

import { certificatePath } from '../helpers/tls.js';

const register = path.join(root, 'dist', 'register.js');
const registerEsm = path.join(root, 'dist', 'register.mjs');

/** How a test application gets the default. */
export interface Setup {
  /** Extra fields of the application's spec. */
  spec?: { keepAlive: KeepAliveOptions; library: string };
  nodeArgs?: string[];
  env?: Record<string, string>;
  /** A command that starts `node <app>` given after it. */
  launcher?: string[];
}

/** The two ways to set the default: in code, and with no code change. */
export const setups = {
  'setDefaultKeepAlive in the application': {
    spec: { keepAlive: tuned, library: path.join(root, 'dist', 'index.js') },
  },
  'node --require register with SOCKET_KEEPALIVE': {
    nodeArgs: ['--require', register],
    env: { SOCKET_KEEPALIVE: tunedEnv },
  },
} satisfies Record<string, Setup>;

/** The one-line fix: the preload set up by `socket-keepalive run` (through NODE_OPTIONS). */
export const runSetup: Setup = {
  launcher: [
    process.execPath,
    path.join(root, 'dist', 'demo', 'cli.js'),
    'run',
    ...['--idle', `${tuned.idle}ms`, '--interval', `${tuned.interval}ms`, '--count', String(tuned.count)],
    ...['--user-timeout', `${tuned.userTimeout}ms`, '--quiet', '--'],
  ],
};

/** The ES module form of the preload. */
export const importSetup: Setup = { nodeArgs: ['--import', registerEsm], env: { SOCKET_KEEPALIVE: tunedEnv } };

/** An ES module application sets the default through the ES module entry point. */
export const esmSetups = {
  'setDefaultKeepAlive in the application': {
    spec: { keepAlive: tuned, library: path.join(root, 'dist', 'index.mjs') },
  },
  'node --require register with SOCKET_KEEPALIVE': setups['node --require register with SOCKET_KEEPALIVE'],
  'node --import register with SOCKET_KEEPALIVE': importSetup,
} satisfies Record<string, Setup>;

/** The preload through NODE_OPTIONS, as `socket-keepalive run` and child processes get it. */
export const nodeOptionsSetup: Setup = { env: { NODE_OPTIONS: `--require ${register}`, SOCKET_KEEPALIVE: tunedEnv } };

/**
 * The newest release of each Node.js line the library supports, other than the one
 * running the tests: the applications run on each of them too, with the preload.
 */
export const otherNodeReleases = ['18.20.8', '20.20.2', '22.23.3', '24.21.0', '26.10.0'].filter(
  (version) => version !== process.versions.node,
);
/** Time to fetch a Node.js release (about 30 MB, once) before its application runs. */
export const fetchNodeTimeout = 180_000;

/** Where to reach the server a client talks to. */
export interface Target {
  host?: string;
  port?: number;
  socketPath?: string;
  url?: string;
}

/** One client in an application: `client` names its opener in apps/clients.cjs. */
export interface ClientSpec {
  /** Names the client in test titles and in the application's report. */
  name: string;
  client: string;
  target: Target;
}

export interface AppRun {
  /** The process whose sockets were read: the application, or its forked child. */
  pid: number;
  /** Process warnings the clients' thread saw while they connected. */
  warnings: string[];
  /** The fds of the sockets (of any kind) each client opened, by client name. */
  sockets: Record<string, number[]>;
  /** Every TCP connection of that process (listeners left out), read from its kernel. */
  connections: InspectedSocket[];
  stderr: string;
}

/**
 * Runs test/integration/apps/`app` with real clients connected, reads every TCP socket
 * of the process that holds them, then lets the application close its clients and
 * exit, and checks that it exited with 0.
 */
export async function runApp(
  clients: ClientSpec[],
  setup: Setup = {},
  {
    app = 'app.cjs',
    place = 'main',
    read = inspectProcess,
    node = process.execPath,
  }: {
    app?: 'app.cjs' | 'app.mjs';
    /** The Node.js binary that runs the application. */
    node?: string;
    place?: 'main' | 'worker' | 'fork';
    /** How to read the process's sockets: inspectProcess, or `socket-keepalive inspect`. */
    read?: (pid: number) => InspectedSocket[];
  } = {},
): Promise<AppRun> {
  const spec = JSON.stringify({ clients, place, ...setup.spec });
  const env = nestedEnv({ NODE_EXTRA_CA_CERTS: certificatePath, ...setup.env });
  if (!setup.env?.NODE_OPTIONS) delete env.NODE_OPTIONS;
  if (!setup.env?.SOCKET_KEEPALIVE) delete env.SOCKET_KEEPALIVE;
  const [command, ...args] = [
    ...(setup.launcher ?? []),
    node,
    ...(setup.nodeArgs ?? []),
    path.join(__dirname, 'apps', app),
    spec,
  ];
  const child = spawn(command, args, { env, stdio: 'pipe' });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = once(child, 'exit');
  const firstLine = await Promise.race([
    once(readline.createInterface({ input: child.stdout }), 'line').then(([line]) => line as string),
    exited.then(([code, signal]) => {
      throw new Error(`the application exited (${signal ?? code}) before its clients connected:\n${stderr}`);
    }),
  ]);
  const { pid, warnings, sockets } = JSON.parse(firstLine) as Pick<AppRun, 'pid' | 'warnings' | 'sockets'>;
  let connections: InspectedSocket[];
  try {
    connections = read(pid).filter((socket) => socket.state !== 'LISTEN');
  } finally {
    child.stdin.end();
  }
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  const [code, signal] = await exited;
  clearTimeout(timer);
  expect({ code, signal, stderr }).toMatchObject({ code: 0, signal: null });
  return { pid, warnings, sockets, connections, stderr };
}

/** Application runs of this test file, started together by the first describeApp block. */
const queue: { start: () => Promise<AppRun>; settle: (run: Promise<AppRun>) => void }[] = [];
/** How many applications run at once: most of each run waits on servers and process start. */
const RUNS_AT_ONCE = 3;

let runsStarted = false;

function startQueuedRuns(): void {
  if (runsStarted) return;
  runsStarted = true;
  const next = async (): Promise<void> => {
    for (let entry = queue.shift(); entry; entry = queue.shift()) {
      const run = entry.start();
      entry.settle(run);
      await run.catch(() => {});
    }
  };
  for (let slot = 0; slot < RUNS_AT_ONCE; slot++) void next();
}

/**
 * A describe block whose tests share one run of the application: one process for many
 * clients, and a few such processes at once, keep the integration tests fast. The first
 * block's beforeAll to run (after the file's servers are up) starts the runs of every block.
 */
export function describeApp(
  title: string,
  start: () => Promise<AppRun>,
  tests: (run: () => AppRun) => void,
  hookTimeout?: number,
): void {
  let settle: (run: Promise<AppRun>) => void = () => {};
  const result = new Promise<AppRun>((resolve) => {
    settle = resolve;
  });
  // A block left out by a test filter never awaits its run: its failure is not unhandled.
  result.catch(() => {});
  queue.push({ start, settle });
  describe(title, () => {
    let run: AppRun | undefined;
    beforeAll(async () => {
      startQueuedRuns();
      run = await result;
    }, hookTimeout);
    tests(() => run as AppRun);
  });
}

/** The kernel state of a socket carrying the default. */
export const tunedState = { enable: true, ...tuned };

/** The TCP connections client `name` opened. */
export function connectionsOf(run: AppRun, name: string): InspectedSocket[] {
  return run.connections.filter((socket) => run.sockets[name].includes(socket.fd));
}

/** Checks that client `name` holds `count` connections to `peer`, each carrying the default. */
export function expectTuned(run: AppRun, name: string, peer: string, count: number): void {
  const found = connectionsOf(run, name).map((socket) => ({ peer: socket.peer, keepAlive: socket.keepAlive }));
  expect(found).toEqual(Array.from({ length: count }, () => ({ peer, keepAlive: tunedState })));
}

/** Checks that every TCP connection of the process carries the default, and nothing was reported. */
export function expectAllTunedQuietly(run: AppRun): void {
  for (const socket of run.connections)
    expect({ peer: socket.peer, keepAlive: socket.keepAlive }).toEqual({ peer: socket.peer, keepAlive: tunedState });
  expect(run.warnings).toEqual([]);
  expect(run.stderr).toBe('');
}

/** Checks that without the default, client `name`'s connections to `peer` do not carry it by chance. */
export function expectUntuned(run: AppRun, name: string, peer: string): void {
  const found = connectionsOf(run, name);
  expect(found.length).toBeGreaterThan(0);
  for (const socket of found) {
    expect(socket.peer).toBe(peer);
    expect(socket.keepAlive).not.toEqual(tunedState);
  }
}

/** Checks that client `name` opened sockets (it worked) and none of them is TCP. */
export function expectNoTcp(run: AppRun, name: string): void {
  expect(run.sockets[name].length).toBeGreaterThan(0);
  expect(connectionsOf(run, name)).toEqual([]);
}
