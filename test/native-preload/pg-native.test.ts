// pg-native (libpq) in a Node app under `socket-keepalive run`: its connection, which the
// Node preload cannot reach, tuned by the preload library (read from outside), and behind
// an iptables cut its connection ended by the kernel at the user timeout and its dead peer
// reported on stderr by the preload library when the app closes it (the app's JS report
// knows nothing of that socket: one line). pg-native itself never hears of the end: its
// query stays pending, so the app closes the client on its own, 6.5 s after the cut, and
// the silence the line gives is the one at that close (TCP_INFO is read then).
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  CLIENT_ADDRESS,
  createHosts,
  cutLink,
  destroyHosts,
  type Hosts,
  missingRequirements,
  SERVER_ADDRESS,
} from '../../demo/lab/netns.js';
import { DEFAULT_PRELOAD_OPTIONS } from '../helpers/library.js';
import { skipWithout } from '../helpers/requirements.js';
import { cliPath } from '../helpers/run.js';
import { root } from '../helpers/tree.js';
import { type RealServer, serverInstalled, startPostgres } from '../integration/servers.js';
import { inspectApp } from './inspect-app.js';
import { CLEAN_ENV, type ClientUnderRun, runInClient } from './run-in-client.js';

const app = path.join(__dirname, 'fixtures', 'pg-native.cjs');
const libpqBuilt = fs.existsSync(path.join(root, 'node_modules', 'libpq', 'build', 'Release', 'addon.node'));
const missing = [
  ...(serverInstalled('postgres') ? [] : ['PostgreSQL (Debian package postgresql)']),
  ...(libpqBuilt ? [] : ['the libpq addon of pg-native (Debian package libpq-dev, then npm rebuild libpq)']),
];

describe.skipIf(skipWithout('pg-native', missing))('pg-native', () => {
  describe('on loopback', () => {
    let postgres: RealServer;
    beforeAll(async () => {
      postgres = await startPostgres();
    }, 60_000);
    afterAll(() => postgres?.stop());

    async function connection(flags: string[]) {
      const args = [
        cliPath,
        'run',
        '--quiet',
        ...flags,
        '--',
        process.execPath,
        app,
        '127.0.0.1',
        String(postgres.port),
      ];
      const { sockets, code, stderr } = await inspectApp<{ pid: number }>(process.execPath, args, { env: CLEAN_ENV });
      expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
      return sockets.filter((socket) => socket.peer === `127.0.0.1:${postgres.port}`).map((socket) => socket.keepAlive);
    }

    // libpq switches keepalive on itself (its keepalives=1), with the system's times.
    test('its connection is tuned under run, and keeps the system values with --no-native', async () => {
      expect(await connection([])).toEqual([{ enable: true, ...DEFAULT_PRELOAD_OPTIONS }]);
      expect(await connection(['--no-native'])).toEqual([
        { enable: true, idle: 7_200_000, interval: 75_000, count: 9, userTimeout: 0 },
      ]);
    });
  });

  describe.skipIf(skipWithout('the pg-native dead-peer test', missingRequirements()))('behind a cut', () => {
    let hosts: Hosts;
    let postgres: RealServer;
    let client: ClientUnderRun;
    let stderr = '';
    let done: { queryEnded: string | null };

    beforeAll(async () => {
      hosts = createHosts();
      postgres = await startPostgres({ host: SERVER_ADDRESS, namespace: hosts.server, port: 5432 });
      client = runInClient(
        hosts,
        ['--report', 'text', '--idle', '2s', '--interval', '1s', '--count', '3', '--user-timeout', '5s'],
        [process.execPath, app, SERVER_ADDRESS, '5432'],
        'the app',
      );
      await client.message('connected', 15_000);
      cutLink(hosts, 5432);
      client.child.stdin?.write('go\n');
      await new Promise((resolve) => setTimeout(resolve, 6500));
      client.child.stdin?.write('end\n');
      done = (await client.message('done', 10_000)) as unknown as typeof done;
      await client.exited();
      stderr = client.stderr();
    }, 60_000);

    afterAll(async () => {
      client?.child.kill('SIGKILL');
      await postgres?.stop();
      if (hosts) destroyHosts(hosts);
    });

    test('the kernel ends the connection at the user timeout; at close, one line names the dead peer and the cause', () => {
      expect(done.queryEnded).toBeNull();
      expect(stderr).toMatch(
        new RegExp(
          `^socket-keepalive: dead peer ${SERVER_ADDRESS}:5432 \\(from ${CLIENT_ADDRESS}:\\d+\\) at \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z: data unacknowledged for \\d+\\.\\d s, past the user timeout; expected 5\\.0 s to 6\\.\\d s; peer silent [6-8]\\.\\d s\\n$`,
        ),
      );
    });
  });
});
