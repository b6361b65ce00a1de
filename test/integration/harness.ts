import { spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import readline from 'node:readline';
import { expect } from 'vitest';
import { type InspectedSocket, inspectProcess } from '../../lib/inspect.js';
import type { KeepAliveOptions } from '../../lib/options.js';
import { nestedEnv, root } from '../helpers.js';

/** The default every test sets: values no client or kernel uses on its own. */
export const tuned = { idle: 7000, interval: 2000, count: 4, userTimeout: 15_000 } satisfies KeepAliveOptions;
/** The same default as the preload reads it from the environment. */
export const tunedEnv = 'idle=7s,interval=2s,count=4,userTimeout=15s';

export const certificate = path.join(root, 'test', 'fixtures', 'localhost-cert.pem');
const register = path.join(root, 'dist', 'register.js');

/** How a test application gets the default. */
export interface Setup {
  /** Extra fields of the application's spec. */
  spec?: { keepAlive: KeepAliveOptions; library: string };
  nodeArgs?: string[];
  env?: Record<string, string>;
}

/** The ways to set the default, each checked on every client. */
export const setups = {
  'setDefaultKeepAlive in the application': { spec: { keepAlive: tuned, library: path.join(root, 'dist', 'index.js') } },
  'node --require register with SOCKET_KEEPALIVE': { nodeArgs: ['--require', register], env: { SOCKET_KEEPALIVE: tunedEnv } },
} satisfies Record<string, Setup>;

/** An ES module application sets the default through the ES module entry point. */
export const esmSetups = {
  'setDefaultKeepAlive in the application': { spec: { keepAlive: tuned, library: path.join(root, 'dist', 'index.mjs') } },
  'node --require register with SOCKET_KEEPALIVE': setups['node --require register with SOCKET_KEEPALIVE'],
} satisfies Record<string, Setup>;

/** The preload through NODE_OPTIONS, as `socket-keepalive run` and child processes get it. */
export const nodeOptionsSetup: Setup = { env: { NODE_OPTIONS: `--require ${register}`, SOCKET_KEEPALIVE: tunedEnv } };

/** Where to reach the server a client talks to. */
export interface Target {
  host?: string;
  port?: number;
  socketPath?: string;
  url?: string;
}

export interface AppRun {
  /** The process whose sockets were read: the application, or its forked child. */
  pid: number;
  /** Process warnings the client's thread saw while it connected. */
  warnings: string[];
  /** Every TCP connection of that process (listeners left out), read from its kernel. */
  connections: InspectedSocket[];
  stderr: string;
}

/**
 * Runs test/integration/apps/`app` with one real client connected, reads every TCP
 * socket of the process that holds the client, then lets the
 * application close its client and exit, and checks that it exited with 0.
 */
export async function runApp(
  client: string,
  target: Target,
  setup: Setup = {},
  {
    app = 'app.cjs',
    place = 'main',
    read = inspectProcess,
  }: {
    app?: 'app.cjs' | 'app.mjs';
    place?: 'main' | 'worker' | 'fork';
    /** How to read the process's sockets: inspectProcess, or `socket-keepalive inspect`. */
    read?: (pid: number) => InspectedSocket[];
  } = {},
): Promise<AppRun> {
  const spec = JSON.stringify({ client, target, place, ...setup.spec });
  const env = nestedEnv({ NODE_EXTRA_CA_CERTS: certificate, ...setup.env });
  if (!setup.env?.NODE_OPTIONS) delete env.NODE_OPTIONS;
  if (!setup.env?.SOCKET_KEEPALIVE) delete env.SOCKET_KEEPALIVE;
  const child = spawn(process.execPath, [...(setup.nodeArgs ?? []), path.join(__dirname, 'apps', app), spec], { env, stdio: 'pipe' });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = once(child, 'exit');
  const firstLine = await Promise.race([
    once(readline.createInterface({ input: child.stdout }), 'line').then(([line]) => line as string),
    exited.then(([code, signal]) => {
      throw new Error(`the ${client} application exited (${signal ?? code}) before it connected:\n${stderr}`);
    }),
  ]);
  const { pid, warnings } = JSON.parse(firstLine) as { pid: number; warnings: string[] };
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
  return { pid, warnings, connections, stderr };
}

/** The kernel state of a socket carrying the default. */
export const tunedState = { enable: true, ...tuned };

/**
 * Checks that the application connected to `port` (`count` connections when given)
 * and that every TCP connection it holds carries the default, with nothing reported.
 */
export function expectAllTuned(run: AppRun, port: number, count?: number): void {
  const toServer = run.connections.filter((socket) => socket.peer === `127.0.0.1:${port}`);
  if (count === undefined) expect(toServer.length).toBeGreaterThan(0);
  else expect(toServer).toHaveLength(count);
  for (const socket of run.connections) expect({ peer: socket.peer, keepAlive: socket.keepAlive }).toEqual({ peer: socket.peer, keepAlive: tunedState });
  expect(run.warnings).toEqual([]);
  expect(run.stderr).toBe('');
}

/** Checks that without the default, the client's connections do not carry it by chance. */
export function expectUntuned(run: AppRun, port: number): void {
  const toServer = run.connections.filter((socket) => socket.peer === `127.0.0.1:${port}`);
  expect(toServer.length).toBeGreaterThan(0);
  for (const socket of toServer) expect(socket.keepAlive).not.toEqual(tunedState);
}
