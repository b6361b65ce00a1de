// Bun.sql (Bun's own PostgreSQL client, not node:net) under `socket-keepalive run
// --report text`, against the suite's PostgreSQL behind an iptables cut: its query in
// flight fails at the user timeout, and the preload library reports the dead peer, once,
// with its cause, when Bun closes the socket.
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
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
import { waitFor } from '../../demo/lab/processes.js';
import { bunBinary } from '../../demo/node-release.js';
import { skipWithout } from '../helpers/requirements.js';
import { cliPath } from '../helpers/run.js';
import { fetchRuntime } from '../helpers/runtimes.js';
import { type RealServer, serverInstalled, startPostgres } from '../integration/servers.js';

const { binary, missing } = fetchRuntime('Bun', () => bunBinary());
const skip = skipWithout('Bun.sql behind a cut', [
  ...missing,
  ...missingRequirements(),
  ...(serverInstalled('postgres') ? [] : ['PostgreSQL (Debian package postgresql)']),
]);

describe.skipIf(skip)('Bun.sql behind a cut', () => {
  let hosts: Hosts;
  let postgres: RealServer;
  let client: ChildProcess;
  let stderr = '';
  let done: { error: string | null; ms: number };

  beforeAll(async () => {
    hosts = createHosts();
    postgres = await startPostgres({ host: SERVER_ADDRESS, namespace: hosts.server, port: 5432 });
    client = spawn(
      'ip',
      [
        ...['netns', 'exec', hosts.client, process.execPath, cliPath, 'run', '--quiet', '--report', 'text'],
        ...['--idle', '2s', '--interval', '1s', '--count', '3', '--user-timeout', '5s', '--'],
        ...[binary, path.join(__dirname, 'fixtures', 'bun-sql.mjs'), SERVER_ADDRESS, '5432'],
      ],
      { env: { ...process.env, SOCKET_KEEPALIVE: undefined, NODE_OPTIONS: undefined, LD_PRELOAD: undefined } },
    );
    client.stderr?.on('data', (data: Buffer) => (stderr += data.toString()));
    const messages: Record<string, unknown>[] = [];
    readline
      .createInterface({ input: client.stdout as NodeJS.ReadableStream })
      .on('line', (line) => messages.push(JSON.parse(line)));
    const message = (type: string, ms: number) =>
      waitFor(`the app's "${type}"`, ms, () => {
        if (client.exitCode !== null && client.exitCode !== 0) throw new Error(`the app exited: ${stderr}`);
        return messages.find((candidate) => candidate.type === type);
      });
    await message('connected', 15_000);
    cutLink(hosts, 5432);
    client.stdin?.write('go\n');
    done = (await message('done', 20_000)) as unknown as typeof done;
    await new Promise((resolve) => (client.exitCode === null ? client.once('exit', resolve) : resolve(null)));
  }, 60_000);

  afterAll(async () => {
    client?.kill('SIGKILL');
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
