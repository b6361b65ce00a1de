// pg and ioredis under Bun and Deno against the suite's real PostgreSQL and redis on
// loopback: the integration tests' application (test/integration/apps/app.cjs) run by
// each runtime's npm binary, with the default set in code, by the runtime's preload and
// through `socket-keepalive run`; every TCP connection of the process read back from
// its kernel by this process.
import path from 'node:path';
import { afterAll, beforeAll, describe, test } from 'vitest';
import { skipWithout } from '../helpers/requirements.js';
import { BUN_VERSION, bunBinary, DENO_VERSION, denoBinary, fetchRuntime } from '../helpers/runtimes.js';
import { root } from '../helpers/tree.js';
import {
  type AppRun,
  type ClientSpec,
  describeApp,
  expectAllTunedQuietly,
  expectTuned,
  expectUntuned,
  runApp,
  runSetup,
  type Setup,
  setups,
  tunedEnv,
} from '../integration/harness.js';
import { type RealServer, serverInstalled, startPostgres, startRedis } from '../integration/servers.js';

const register = path.join(root, 'dist', 'register.js');

const clients = [
  { client: 'pg Client', server: 'postgres', connections: 1 },
  { client: 'pg Client, keepAlive: true', server: 'postgres', connections: 1 },
  { client: 'pg Pool', server: 'postgres', connections: 2 },
  { client: 'ioredis', server: 'redis', connections: 1 },
] as const;
type ServerName = (typeof clients)[number]['server'];

const runtimes = [
  { name: `Bun ${BUN_VERSION}`, fetch: () => bunBinary(), run: [] as string[], preload: ['--preload', register] },
  { name: `Deno ${DENO_VERSION}`, fetch: () => denoBinary(), run: ['run', '-A'], preload: ['--preload', register] },
];

const installed = { postgres: serverInstalled('postgres'), redis: serverInstalled('redis') };
const present = clients.filter(({ server }) => installed[server]);

describe.skipIf(present.length === 0)('pg and ioredis under Bun and Deno', () => {
  const running: Partial<Record<ServerName, RealServer>> = {};
  beforeAll(async () => {
    running.postgres = installed.postgres ? await startPostgres() : undefined;
    running.redis = installed.redis ? await startRedis() : undefined;
  });
  afterAll(async () => {
    await Promise.all(Object.values(running).map((server) => server.stop()));
  });
  const peer = (name: ServerName) => `127.0.0.1:${(running[name] as RealServer).port}`;
  const overTcp = (): ClientSpec[] =>
    present.map(({ client, server }) => ({
      name: client,
      client,
      target: { host: '127.0.0.1', port: (running[server] as RealServer).port },
    }));

  function allTuned(run: () => AppRun): void {
    for (const { client, server, connections } of present) {
      test(`${client}: ${connections === 1 ? 'its connection' : `its ${connections} connections`} tuned`, () =>
        expectTuned(run(), client, peer(server), connections));
    }
    test('every TCP connection of the process tuned, nothing reported', () => expectAllTunedQuietly(run()));
  }

  for (const runtime of runtimes) {
    const { binary, missing } = fetchRuntime(runtime.name, runtime.fetch);
    if (skipWithout(`the ${runtime.name} database tests`, missing)) continue;
    const withRuntime = (setup: Setup, preload: string[] = []): Setup => ({
      ...setup,
      nodeArgs: [...runtime.run, ...preload],
    });
    const start = (setup: Setup) => () => runApp(overTcp(), setup, { node: binary });

    describeApp(`${runtime.name}, no default`, start(withRuntime({})), (run) => {
      for (const { client, server } of present) {
        test(`${client}: its connections do not carry the tested values`, () =>
          expectUntuned(run(), client, peer(server)));
      }
    });
    describeApp(
      `${runtime.name}, setDefaultKeepAlive in the application`,
      start(withRuntime(setups['setDefaultKeepAlive in the application'])),
      allTuned,
    );
    describeApp(
      `${runtime.name}, --preload register with SOCKET_KEEPALIVE`,
      start(withRuntime({ env: { SOCKET_KEEPALIVE: tunedEnv } }, runtime.preload)),
      allTuned,
    );
    describeApp(`${runtime.name}, socket-keepalive run`, start(withRuntime(runSetup)), allTuned);
  }
});
