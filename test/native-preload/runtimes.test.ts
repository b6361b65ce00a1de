// Bun's and Deno's own sockets under `socket-keepalive run`, which the Node preload cannot
// reach: Bun.listen, Bun.connect, Bun.serve, fetch() (whose own keepalive reset after
// connect the preload library undoes), Bun.sql against the suite's PostgreSQL and
// Bun.redis against its redis; Deno.listen, Deno.connect, Deno.serve, fetch(). Each read
// from outside the process (inspectProcess); with --no-native the same sockets keep the
// system's values, which is what the preload library adds.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { DEFAULT_PRELOAD_OPTIONS, type InspectedSocket } from '../helpers/library.js';
import { skipWithout } from '../helpers/requirements.js';
import { cliPath } from '../helpers/run.js';
import { bunBinary, denoBinary, fetchRuntime } from '../helpers/runtimes.js';
import { type RealServer, serverInstalled, startPostgres, startRedis } from '../integration/servers.js';
import { inspectApp } from './inspect-app.js';

const TUNED = { enable: true, ...DEFAULT_PRELOAD_OPTIONS };
const UNTUNED = { enable: false, idle: 7_200_000, interval: 75_000, count: 9, userTimeout: 0 };
/** What Bun's fetch() and Bun.sql set on their connections after connect (idle 60 s, interval 1 s, count 10). */
const BUN_OWN = { enable: true, idle: 60_000, interval: 1000, count: 10, userTimeout: 0 };
const env = { ...process.env, SOCKET_KEEPALIVE: undefined, NODE_OPTIONS: undefined, LD_PRELOAD: undefined };

interface Report {
  pid: number;
  listen: number;
  serve: number;
}

/** Every socket of the app by what it is, from its ports: the two listeners, what they accepted, and the clients. */
function byRole(sockets: InspectedSocket[], { listen, serve }: Report, peers: Record<string, number> = {}) {
  const find = (what: string, test: (socket: InspectedSocket) => boolean) => {
    const found = sockets.filter(test);
    if (found.length === 0) throw new Error(`no ${what} among ${sockets.map((s) => `${s.local}-${s.peer}`).join(' ')}`);
    return found.map((socket) => socket.keepAlive);
  };
  const roles = (port: number, name: string) => ({
    [`${name} listener`]: find(`${name} listener`, (s) => s.local.endsWith(`:${port}`) && s.peer === '*:0'),
    [`${name} accepted`]: find(`${name} accepted`, (s) => s.local.endsWith(`:${port}`) && s.peer !== '*:0'),
    [`${name} client`]: find(`${name} client`, (s) => s.peer.endsWith(`:${port}`)),
  });
  return {
    ...roles(listen, 'listen'),
    ...roles(serve, 'serve'),
    ...Object.fromEntries(
      Object.entries(peers).map(([name, port]) => [name, find(name, (s) => s.peer.endsWith(`:${port}`))]),
    ),
  };
}

const all = (roles: Record<string, unknown[]>, state: object) =>
  Object.fromEntries(Object.entries(roles).map(([name, states]) => [name, states.map(() => state)]));

describe('Bun', () => {
  const { binary, missing } = fetchRuntime('Bun', () => bunBinary());
  const installed = serverInstalled('postgres') && serverInstalled('redis');
  if (skipWithout('Bun under run', [...missing, ...(installed ? [] : ['postgres and redis-server'])])) return;
  const app = path.join(__dirname, 'fixtures', 'bun-native.mjs');
  let postgres: RealServer;
  let redis: RealServer;
  beforeAll(async () => {
    [postgres, redis] = await Promise.all([startPostgres(), startRedis()]);
  }, 60_000);
  afterAll(() => Promise.all([postgres?.stop(), redis?.stop()]));

  async function start(flags: string[]) {
    const args = [cliPath, 'run', '--quiet', ...flags, '--', binary, app, String(postgres.port), String(redis.port)];
    const { report, sockets, code, stderr } = await inspectApp<Report>(process.execPath, args, { env });
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    return byRole(sockets, report, { 'Bun.sql': postgres.port, 'Bun.redis': redis.port });
  }

  test('Bun.listen, Bun.connect, Bun.serve, fetch(), Bun.sql and Bun.redis sockets all carry the options', async () => {
    const roles = await start([]);
    expect(roles).toEqual(all(roles, TUNED));
  });

  test('with --no-native they keep the system values: the Node preload alone does not reach them', async () => {
    const roles = await start(['--no-native']);
    // Bun's fetch() and Bun.sql switch keepalive on with their own values after connect.
    const { 'serve client': fetchClient, 'Bun.sql': sql, ...rest } = roles;
    expect(rest).toEqual(all(rest, UNTUNED));
    expect({ fetchClient, sql }).toEqual({ fetchClient: [BUN_OWN], sql: [BUN_OWN] });
  });
});

describe('Deno', () => {
  const { binary, missing } = fetchRuntime('Deno', () => denoBinary());
  if (skipWithout('Deno under run', missing)) return;
  const app = path.join(__dirname, 'fixtures', 'deno-native.mjs');

  async function start(flags: string[]) {
    const args = [cliPath, 'run', '--quiet', ...flags, '--', binary, 'run', '-A', app];
    const { report, sockets, code, stderr } = await inspectApp<Report>(process.execPath, args, { env });
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    return byRole(sockets, report);
  }

  test('Deno.listen, Deno.connect, Deno.serve and fetch() sockets all carry the options', async () => {
    const roles = await start([]);
    expect(roles).toEqual(all(roles, TUNED));
  });

  test('with --no-native they keep the system values', async () => {
    const roles = await start(['--no-native']);
    expect(roles).toEqual(all(roles, UNTUNED));
  });
});
