// Bun.sql (Bun's own PostgreSQL client, not node:net) under `socket-keepalive run
// --report text`, against the suite's PostgreSQL behind an iptables cut: its query in
// flight fails at the user timeout, and the preload library reports the dead peer, once,
// with its cause, when Bun closes the socket.
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
import { skipWithout } from '../helpers/requirements.js';
import { bunBinary, fetchRuntime } from '../helpers/runtimes.js';
import { type RealServer, serverInstalled, startPostgres } from '../integration/servers.js';
import { type ClientUnderRun, runInClient } from './run-in-client.js';

const { binary, missing } = fetchRuntime('Bun', () => bunBinary());
const skip = skipWithout('Bun.sql behind a cut', [
  ...missing,
  ...missingRequirements(),
  ...(serverInstalled('postgres') ? [] : ['PostgreSQL (Debian package postgresql)']),
]);

describe.skipIf(skip)('Bun.sql behind a cut', () => {
  let hosts: Hosts;
  let postgres: RealServer;
  let client: ClientUnderRun;
  let stderr = '';
  let done: { error: string | null; ms: number };

  beforeAll(async () => {
    hosts = createHosts();
    postgres = await startPostgres({ host: SERVER_ADDRESS, namespace: hosts.server, port: 5432 });
    const app = [binary, path.join(__dirname, 'fixtures', 'bun-sql.mjs'), SERVER_ADDRESS, '5432'];
    client = runInClient(
      hosts,
      ['--report', 'text', '--idle', '2s', '--interval', '1s', '--count', '3', '--user-timeout', '5s'],
      app,
      'the app',
    );
    await client.message('connected', 15_000);
    cutLink(hosts, 5432);
    client.child.stdin?.write('go\n');
    done = (await client.message('done', 20_000)) as unknown as typeof done;
    await client.exited();
    stderr = client.stderr();
  }, 60_000);

  afterAll(async () => {
    client?.child.kill('SIGKILL');
    await postgres?.stop();
    if (hosts) destroyHosts(hosts);
  });

  test('the query in flight fails at the user timeout, and one line names the dead peer and the cause', () => {
    expect(done.error).not.toBeNull();
    expect(Math.abs(done.ms - 5000)).toBeLessThan(1000);
    expect(stderr).toMatch(
      new RegExp(
        `^socket-keepalive: dead peer ${SERVER_ADDRESS}:5432 \\(from ${CLIENT_ADDRESS}:\\d+\\) at \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z: data unacknowledged for [4-6]\\.\\d s, past the user timeout; expected 5\\.0 s to 6\\.\\d s; peer silent [4-6]\\.\\d s\\n$`,
      ),
    );
  });
});
