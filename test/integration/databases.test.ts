import { afterAll, beforeAll, describe, test } from 'vitest';
import { nodeBinary } from '../../demo/node-release.js';
import {
  type AppRun,
  type ClientSpec,
  describeApp,
  esmSetups,
  expectAllTunedQuietly,
  expectNoTcp,
  expectTuned,
  expectUntuned,
  fetchNodeTimeout,
  importSetup,
  nodeOptionsSetup,
  otherNodeReleases,
  runApp,
  runSetup,
  setups,
} from './harness.js';
import { type RealServer, serverInstalled, startMariadb, startPostgres, startRedis } from './servers.js';

// Real database and cache clients against real servers on loopback. Each describe block
// runs one Node application holding all the clients, and reads the kernel state of every
// TCP socket of that process.

const servers = { postgres: startPostgres, redis: startRedis, mariadb: startMariadb };
type ServerName = keyof typeof servers;

/** Each client, the server it talks to, and the connections it holds after its round trip. */
const clients: { client: string; server: ServerName; connections: number; minimumNodeMajor?: number }[] = [
  { client: 'pg Client', server: 'postgres', connections: 1 },
  { client: 'pg Client, keepAlive: true', server: 'postgres', connections: 1 },
  // Two queries at once: the pool opens its second connection.
  { client: 'pg Pool', server: 'postgres', connections: 2 },
  { client: 'postgres', server: 'postgres', connections: 1 },
  // ioredis 6 and redis 6 need Node.js 20 or later.
  { client: 'ioredis', server: 'redis', connections: 1, minimumNodeMajor: 20 },
  { client: 'redis', server: 'redis', connections: 1, minimumNodeMajor: 20 },
  { client: 'mysql2', server: 'mariadb', connections: 1 },
];
const installed = Object.fromEntries(
  Object.keys(servers).map((name) => [name, serverInstalled(name as ServerName)]),
) as Record<ServerName, boolean>;
const present = clients.filter(({ server }) => installed[server]);

describe.skipIf(present.length === 0)('database and cache clients', () => {
  const running: Partial<Record<ServerName, RealServer>> = {};
  beforeAll(async () => {
    await Promise.all(
      Object.entries(servers)
        .filter(([name]) => installed[name as ServerName])
        .map(async ([name, start]) => {
          running[name as ServerName] = await start();
        }),
    );
  });
  afterAll(async () => {
    await Promise.all(Object.values(running).map((server) => server.stop()));
  });

  const server = (name: ServerName) => running[name] as RealServer;
  const peer = (name: ServerName) => `127.0.0.1:${server(name).port}`;
  const overTcp = (on = present): ClientSpec[] =>
    on.map(({ client, server: name }) => ({
      name: client,
      client,
      target: { host: '127.0.0.1', port: server(name).port },
    }));
  const overUnixSockets = (): ClientSpec[] =>
    present.map(({ client, server: name }) => ({
      name: client,
      client,
      target: { socketPath: server(name).socketPath, port: server(name).port },
    }));

  /** The tests of one run where every client should carry the default. */
  function allTuned(run: () => AppRun, on = present): void {
    for (const { client, server: name, connections } of on) {
      test(`${client}: ${connections === 1 ? 'its connection' : `its ${connections} connections`} tuned`, () =>
        expectTuned(run(), client, peer(name), connections));
    }
    test('every TCP connection of the process tuned, nothing reported', () => expectAllTunedQuietly(run()));
  }

  describeApp(
    'no default',
    () => runApp(overTcp()),
    (run) => {
      for (const { client, server: name } of present) {
        test(`${client}: its connections do not carry the tested values`, () =>
          expectUntuned(run(), client, peer(name)));
      }
    },
  );

  for (const [setupName, setup] of Object.entries({ ...setups, 'socket-keepalive run -- node app': runSetup })) {
    describeApp(`CommonJS app, ${setupName}`, () => runApp(overTcp(), setup), allTuned);
  }

  for (const [setupName, setup] of Object.entries(esmSetups)) {
    describeApp(`ES module app, ${setupName}`, () => runApp(overTcp(), setup, { app: 'app.mjs' }), allTuned);
  }

  for (const [setupName, setup] of Object.entries({
    ...setups,
    'node --import register with SOCKET_KEEPALIVE': importSetup,
  })) {
    describeApp(
      `in a Worker started with env {} and execArgv [], ${setupName}`,
      () => runApp(overTcp(), setup, { place: 'worker' }),
      allTuned,
    );
  }

  describeApp(
    'in a forked child of an app started with the preload in NODE_OPTIONS',
    () => runApp(overTcp(), nodeOptionsSetup, { place: 'fork' }),
    allTuned,
  );
  describeApp(
    'in a forked child of an app started with node --require register',
    () => runApp(overTcp(), setups['node --require register with SOCKET_KEEPALIVE'], { place: 'fork' }),
    allTuned,
  );

  for (const version of otherNodeReleases) {
    const on = present.filter(({ minimumNodeMajor }) => Number.parseInt(version, 10) >= (minimumNodeMajor ?? 0));
    describeApp(
      `Node.js ${version}, CommonJS app, node --require register with SOCKET_KEEPALIVE`,
      () => runApp(overTcp(on), setups['node --require register with SOCKET_KEEPALIVE'], { node: nodeBinary(version) }),
      (run) => allTuned(run, on),
      fetchNodeTimeout,
    );
  }

  for (const [setupName, setup] of Object.entries(setups)) {
    describeApp(
      `over Unix sockets, ${setupName}`,
      () => runApp(overUnixSockets(), setup),
      (run) => {
        for (const { client } of present)
          test(`${client}: works, and holds no TCP socket`, () => expectNoTcp(run(), client));
        test('nothing reported', () => expectAllTunedQuietly(run()));
      },
    );
  }
});
