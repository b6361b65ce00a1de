// The dead-peer channel, the report and keepAliveStats(), against real servers behind a
// real cut: PostgreSQL, redis and a plain TCP server in one network namespace, the
// application (real pg and ioredis clients) in another, iptables DROP in between (the
// lab's namespaces, demo/lab/netns.ts). The application runs twice at once, under the
// preload with SOCKET_KEEPALIVE=...,report=json and under `socket-keepalive run --report text`.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  createHosts,
  cutLink,
  destroyHosts,
  type Hosts,
  missingRequirements,
  SERVER_ADDRESS,
} from '../../demo/lab/netns.js';
import { waitFor } from '../../demo/lab/processes.js';
import { type DeadPeer, type KeepAliveStats, libraryPath } from '../helpers/library.js';
import { skipWithout } from '../helpers/requirements.js';
import { cliPath } from '../helpers/run.js';
import { root } from '../helpers/tree.js';
import { type RealServer, serverInstalled, startPostgres, startRedis } from './servers.js';

const skip = skipWithout('the dead-peer tests', [
  ...missingRequirements(),
  ...(serverInstalled('postgres') ? [] : ['PostgreSQL (Debian package postgresql)']),
  ...(serverInstalled('redis') ? [] : ['redis-server (Debian package redis-server)']),
]);

const PORTS = { postgresPort: 5432, redisPort: 6379, echoPort: 7701, openPort: 7702 };
const SETTING = 'idle=2s,interval=1s,count=3,userTimeout=5s';
const OPTIONS = { enable: true, idle: 2000, interval: 1000, count: 3, userTimeout: 5000 };
/** net.ipv4.tcp_retries2 in the client's namespace: data in flight with no user timeout ends in seconds. */
const RETRIES = 3;
/** What retransmissionLimitMs() gives for {@link RETRIES}: the RTO doubling from 200 ms, 3 times. */
const RETRANSMISSION_LIMIT_MS = 3000;
const APP = path.join(root, 'test', 'integration', 'apps', 'dead-peer.cjs');

type Message = Omit<DeadPeer, 'socket'> & { destroyed: boolean; afterClose: boolean };
interface AppResult {
  ports: Record<string, number>;
  messages: Message[];
  ended: Record<string, string>;
  stats: KeepAliveStats;
  stderr: string;
}

/** The application, in the client's namespace; resolves once it says it is connected. */
class App {
  readonly child: ChildProcess;
  stderr = '';
  private readonly received: Record<string, unknown>[] = [];

  constructor(hosts: Hosts, command: string[]) {
    const config = JSON.stringify({ host: SERVER_ADDRESS, ...PORTS });
    const env = {
      ...process.env,
      SOCKET_KEEPALIVE: undefined,
      NODE_OPTIONS: undefined,
      LIBRARY_PATH: libraryPath,
      ...this.env(command),
    };
    this.child = spawn(
      'ip',
      ['netns', 'exec', hosts.client, ...command.filter((word) => !word.includes('=')), APP, config],
      { env, cwd: root },
    );
    readline
      .createInterface({ input: this.child.stdout as NodeJS.ReadableStream })
      .on('line', (line) => this.received.push(JSON.parse(line)));
    this.child.stderr?.on('data', (data: Buffer) => (this.stderr += data.toString()));
  }

  private env(command: string[]): Record<string, string> {
    return Object.fromEntries(
      command.filter((word) => word.includes('=')).map((word) => word.split(/=(.*)/s).slice(0, 2)),
    );
  }

  message(type: string): Promise<Record<string, unknown>> {
    return waitFor(`the application's "${type}"`, 20_000, () => {
      const error = this.received.find((message) => message.type === 'error');
      if (error) throw new Error(String(error.message));
      if (this.child.exitCode !== null && this.child.exitCode !== 0)
        throw new Error(`the application exited with ${this.child.exitCode}: ${this.stderr}`);
      return this.received.find((message) => message.type === type);
    });
  }

  tell(line: string): void {
    this.child.stdin?.write(`${line}\n`);
  }
}

describe.skipIf(skip)('dead peers found by the kernel, reported', () => {
  let hosts: Hosts;
  const servers: RealServer[] = [];
  let echo: ChildProcess | undefined;
  const results: Record<'preload' | 'run', AppResult> = {} as never;

  beforeAll(async () => {
    hosts = createHosts();
    execFileSync('ip', ['netns', 'exec', hosts.client, 'sysctl', '-qw', `net.ipv4.tcp_retries2=${RETRIES}`]);
    const placement = { host: SERVER_ADDRESS, namespace: hosts.server };
    servers.push(
      await startPostgres({ ...placement, port: PORTS.postgresPort }),
      await startRedis({ ...placement, port: PORTS.redisPort }),
    );
    const server = spawn('ip', [
      'netns',
      'exec',
      hosts.server,
      process.execPath,
      path.join(root, 'test', 'integration', 'apps', 'echo-or-reset.cjs'),
      SERVER_ADDRESS,
      String(PORTS.echoPort),
      String(PORTS.openPort),
    ]);
    echo = server;
    await new Promise((resolve) => server.stdout.once('data', resolve));

    const apps = {
      preload: new App(hosts, [
        `SOCKET_KEEPALIVE=${SETTING},report=json`,
        process.execPath,
        '--require',
        path.join(root, 'dist', 'register.js'),
      ]),
      run: new App(hosts, [
        process.execPath,
        cliPath,
        'run',
        '--idle',
        '2s',
        '--interval',
        '1s',
        '--count',
        '3',
        '--user-timeout',
        '5s',
        '--report',
        'text',
        '--quiet',
        '--',
        process.execPath,
      ]),
    };
    const connected = await Promise.all(Object.values(apps).map((app) => app.message('connected')));
    for (const app of Object.values(apps)) app.tell('prepare');
    await Promise.all(Object.values(apps).map((app) => app.message('prepared')));
    for (const port of [PORTS.postgresPort, PORTS.redisPort, PORTS.echoPort]) cutLink(hosts, port);
    for (const app of Object.values(apps)) app.tell('go');
    for (const [index, [name, app]] of Object.entries(apps).entries()) {
      const done = await app.message('done');
      results[name as 'preload' | 'run'] = {
        ...(done as unknown as AppResult),
        ports: (connected[index] as { ports: Record<string, number> }).ports,
        stderr: app.stderr,
      };
    }
  }, 60_000);

  afterAll(async () => {
    echo?.kill('SIGKILL');
    await Promise.all(servers.map((server) => server.stop()));
    if (hosts) destroyHosts(hosts);
  });

  const messageFor = (result: AppResult, name: string) =>
    result.messages.filter((message) => message.localPort === result.ports[name]);

  describe.each(['preload', 'run'] as const)('under %s', (how) => {
    test('one message for each connection the kernel ended, none for those the application or a RST ended', () => {
      const result = results[how];
      expect(result.ended).toEqual({
        pg: 'ETIMEDOUT',
        ioredis: 'ETIMEDOUT',
        raw: 'ETIMEDOUT',
        closed: 'closed',
        reset: 'ECONNRESET',
        fakeTimeout: 'ETIMEDOUT',
      });
      expect(result.messages).toHaveLength(3);
      for (const name of ['pg', 'ioredis', 'raw']) expect(messageFor(result, name)).toHaveLength(1);
      for (const message of result.messages)
        expect(message).toMatchObject({
          destroyed: true,
          afterClose: false,
          remoteAddress: SERVER_ADDRESS,
          localAddress: '10.213.0.2',
        });
    });

    test('pg with a query in flight: user-timeout, silent for the user timeout', () => {
      const [message] = messageFor(results[how], 'pg');
      expect(message).toMatchObject({
        cause: 'user-timeout',
        remotePort: PORTS.postgresPort,
        options: OPTIONS,
        predictedMs: 5000,
        probes: 0,
      });
      expect(message.retransmits).toBeGreaterThan(0);
      expect(Math.abs(message.silentMs - 5000)).toBeLessThan(1000);
    });

    test('ioredis idle: keepalive, silent for the detection time', () => {
      const [message] = messageFor(results[how], 'ioredis');
      // With a user timeout, the kernel ends an idle connection at the first probe tick past it: 2 + 3 x 1 s.
      expect(message).toMatchObject({
        cause: 'keepalive',
        remotePort: PORTS.redisPort,
        options: OPTIONS,
        predictedMs: 5000,
        retransmits: 0,
      });
      expect(message.probes).toBeGreaterThan(0);
      expect(Math.abs(message.silentMs - 5000)).toBeLessThan(1000);
    });

    test('data in flight with no user timeout: retransmissions, at the retransmission limit', () => {
      const [message] = messageFor(results[how], 'raw');
      expect(message).toMatchObject({
        cause: 'retransmissions',
        remotePort: PORTS.echoPort,
        options: { ...OPTIONS, userTimeout: 0 },
        predictedMs: RETRANSMISSION_LIMIT_MS,
        probes: 0,
      });
      expect(message.retransmits).toBeGreaterThan(0);
      // Measured on Linux 6.18 with tcp_retries2 = 3: 6.7 s, where the model of
      // retransmissionLimitMs() (tcp_model_timeout) gives 3.0 s: the kernel checks the limit
      // only when a retransmission timer fires, and it fired next at about 6.7 s. The
      // silence is bounded by the limit and the next backed-off timer (twice the limit).
      expect(message.silentMs).toBeGreaterThanOrEqual(RETRANSMISSION_LIMIT_MS - 1000);
      expect(message.silentMs).toBeLessThan(2 * RETRANSMISSION_LIMIT_MS + 1000);
    });

    test('keepAliveStats() counts the sockets tuned and the dead peers by cause', () => {
      expect(results[how].stats).toEqual({
        socketsTuned: 6,
        listenersTuned: 0,
        tuningsFailed: 0,
        deadPeers: { keepalive: 1, 'user-timeout': 1, retransmissions: 1 },
      });
    });
  });

  test('report=json: one JSON line on stderr per dead peer, the message without the socket', () => {
    const { stderr, messages } = results.preload;
    const lines = stderr
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(lines).toEqual(messages.map(({ destroyed: _destroyed, afterClose: _afterClose, ...fields }) => fields));
  });

  test('run --report text: one line on stderr per dead peer, naming both ends, the cause, the silence and the prediction', () => {
    const { stderr, messages, ports } = results.run;
    const lines = stderr.trim().split('\n');
    expect(lines).toHaveLength(3);
    const line = (port: number) => lines.find((candidate) => candidate.includes(`(from 10.213.0.2:${port})`));
    const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
    const silent = (name: string) => seconds(messageFor(results.run, name)[0].silentMs);
    expect(line(ports.pg)).toBe(
      `socket-keepalive: dead peer ${SERVER_ADDRESS}:5432 (from 10.213.0.2:${ports.pg}): user timeout, ${silent('pg')} silent, predicted 5.0 s`,
    );
    expect(line(ports.ioredis)).toBe(
      `socket-keepalive: dead peer ${SERVER_ADDRESS}:6379 (from 10.213.0.2:${ports.ioredis}): keepalive probes unanswered, ${silent('ioredis')} silent, predicted 5.0 s`,
    );
    expect(line(ports.raw)).toBe(
      `socket-keepalive: dead peer ${SERVER_ADDRESS}:${PORTS.echoPort} (from 10.213.0.2:${ports.raw}): retransmission limit, ${silent('raw')} silent, predicted 3.0 s`,
    );
    expect(messages).toHaveLength(3);
  });
});
