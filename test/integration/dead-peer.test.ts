// The dead-peer channel, the report and keepAliveStats(), against real servers behind a
// real cut: PostgreSQL (SSL on), redis and plain, TLS and HTTP servers in one network
// namespace, the application (real pg, postgres.js and ioredis clients, Node's TLS and
// http.Agent) in another, iptables DROP in between (the lab's namespaces,
// demo/lab/netns.ts). The application runs twice at once, under the preload with
// SOCKET_KEEPALIVE=...,report=json and under `socket-keepalive run --report text`; what
// the kernel did not end for silence (resets, the application's own ETIMEDOUT, refused
// connects, connection attempts that timed out) must publish and count nothing.
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
import { certificatePath, keyPath } from '../helpers/tls.js';
import { root } from '../helpers/tree.js';
import { type RealServer, serverInstalled, startPostgres, startRedis } from './servers.js';

const skip = skipWithout('the dead-peer tests', [
  ...missingRequirements(),
  ...(serverInstalled('postgres') ? [] : ['PostgreSQL (Debian package postgresql)']),
  ...(serverInstalled('redis') ? [] : ['redis-server (Debian package redis-server)']),
]);

const PORTS = {
  postgresPort: 5432,
  redisPort: 6379,
  echoPort: 7701,
  openPort: 7702,
  holdPort: 7703,
  tlsPort: 7704,
  httpPort: 7705,
  /** Nothing listens there, and its packets are dropped: a connect waits in SYN-SENT. */
  blackholePort: 7706,
  /** Nothing listens there and nothing is dropped: a connect is refused. */
  refusedPort: 7707,
};
/** The ports cut after the application connected. */
const CUT = [PORTS.postgresPort, PORTS.redisPort, PORTS.echoPort, PORTS.tlsPort, PORTS.httpPort, PORTS.blackholePort];
const SETTING = 'idle=2s,interval=1s,count=3,userTimeout=5s';
const OPTIONS = { enable: true, idle: 2000, interval: 1000, count: 3, userTimeout: 5000 };
/** net.ipv4.tcp_retries2 in the client's namespace: data in flight with no user timeout ends in seconds. */
const RETRIES = 3;
/** What retransmissionLimitMs() gives for {@link RETRIES}: the RTO doubling from 200 ms, 3 times. */
const RETRANSMISSION_LIMIT_MS = 3000;
const APP = path.join(root, 'test', 'integration', 'apps', 'dead-peer.cjs');

/** A message as the channel sends it where the addon is loaded: every figure measured. */
type Message = Omit<
  DeadPeer,
  'socket' | 'cause' | 'silentMs' | 'probes' | 'retransmits' | 'predictedMs' | 'predictedMaxMs'
> & {
  cause: NonNullable<DeadPeer['cause']>;
  silentMs: number;
  probes: number;
  retransmits: number;
  predictedMs: number;
  predictedMaxMs: number;
  destroyed: boolean;
  afterClose: boolean;
};
interface AppResult {
  ports: Record<string, number>;
  messages: Message[];
  ended: Record<string, string>;
  attemptMs: Record<string, number>;
  metrics: Record<
    string,
    { scope: string; unit: string; points: { attributes: Record<string, string>; value: unknown }[] }
  >;
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
      await startPostgres({
        ...placement,
        port: PORTS.postgresPort,
        ssl: { certFile: certificatePath, keyFile: keyPath },
      }),
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
      `hold:${PORTS.holdPort}`,
      `tls:${PORTS.tlsPort}`,
      `http:${PORTS.httpPort}`,
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
    for (const port of CUT) cutLink(hosts, port);
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

  /** The connections the kernel ended, and the cause each must be reported with. */
  const DEAD: Record<string, DeadPeer['cause']> = {
    pg: 'userTimeout',
    pgSsl: 'userTimeout',
    postgresJs: 'keepalive',
    ioredis: 'keepalive',
    raw: 'retransmissions',
    tlsOverRaw: 'userTimeout',
    pooled: 'keepalive',
    zeroWindow: 'zeroWindow',
  };

  describe.each(['preload', 'run'] as const)('under %s', (how) => {
    test('one message for each connection the kernel ended, none for those the application, a RST or a refusal ended, none for connection attempts', () => {
      const result = results[how];
      expect(result.ended).toEqual({
        pg: 'ETIMEDOUT',
        pgSsl: 'ETIMEDOUT',
        ioredis: 'ETIMEDOUT',
        raw: 'ETIMEDOUT',
        tlsOverRaw: 'ETIMEDOUT',
        pooled: 'ETIMEDOUT',
        zeroWindow: 'ETIMEDOUT',
        closed: 'closed',
        reset: 'ECONNRESET',
        fakeTimeout: 'ETIMEDOUT',
        resetPaused: 'ETIMEDOUT',
        blackholed: 'ETIMEDOUT',
        keptConnect: 'ETIMEDOUT',
        agentConnect: 'ETIMEDOUT',
        refused: 'ECONNREFUSED',
      });
      expect(result.messages).toHaveLength(Object.keys(DEAD).length);
      for (const name of Object.keys(DEAD)) expect(messageFor(result, name), name).toHaveLength(1);
      for (const message of result.messages)
        expect(message).toMatchObject({
          destroyed: true,
          afterClose: false,
          remoteAddress: SERVER_ADDRESS,
          localAddress: '10.213.0.2',
        });
    });

    test.each(Object.entries(DEAD))('%s: cause %s', (name, cause) => {
      const [message] = messageFor(results[how], name);
      expect(message.cause).toBe(cause);
    });

    test('a connect to a port that drops packets ends at the user timeout (within 10 %), whichever way the socket was tuned', () => {
      const { attemptMs } = results[how];
      expect(Math.abs(attemptMs.blackholed - 5000)).toBeLessThan(500); // the preload's default
      expect(Math.abs(attemptMs.keptConnect - 3000)).toBeLessThan(300); // setKeepAlive before connect
      expect(Math.abs(attemptMs.agentConnect - 3000)).toBeLessThan(300); // tuneAgent
    });

    test('pg with a query in flight: userTimeout, the unacknowledged write waited the user timeout', () => {
      const [message] = messageFor(results[how], 'pg');
      expect(message).toMatchObject({
        cause: 'userTimeout',
        remotePort: PORTS.postgresPort,
        options: OPTIONS,
        predictedMs: 5000,
        probes: 0,
      });
      expect(message.retransmits).toBeGreaterThan(0);
      expect(Math.abs((message.inFlightMs as number) - message.predictedMs)).toBeLessThan(OPTIONS.interval);
      expect(message.inFlightMs).toBeLessThanOrEqual(message.predictedMaxMs);
      expect(message.silentMs).toBeGreaterThanOrEqual(message.inFlightMs as number);
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
      expect(message.inFlightMs).toBeUndefined();
      expect(message.probes).toBeGreaterThan(0);
      expect(Math.abs(message.silentMs - message.predictedMs)).toBeLessThan(OPTIONS.interval);
      expect(message.silentMs).toBeLessThanOrEqual(message.predictedMaxMs);
    });

    test('data in flight with no user timeout: retransmissions, inside the range the kernel may take', () => {
      const [message] = messageFor(results[how], 'raw');
      expect(message).toMatchObject({
        cause: 'retransmissions',
        remotePort: PORTS.echoPort,
        options: { ...OPTIONS, userTimeout: 0 },
        predictedMs: RETRANSMISSION_LIMIT_MS,
        probes: 0,
      });
      expect(message.retransmits).toBeGreaterThan(0);
      // The kernel compares the limit only when its doubling retransmission timer fires:
      // between the bound and the first expiry past it, about twice the bound.
      expect(message.predictedMaxMs).toBeGreaterThan(1.8 * RETRANSMISSION_LIMIT_MS);
      expect(message.predictedMaxMs).toBeLessThan(2.5 * RETRANSMISSION_LIMIT_MS);
      expect(message.inFlightMs).toBeGreaterThanOrEqual(message.predictedMs);
      expect(message.inFlightMs).toBeLessThanOrEqual(message.predictedMaxMs);
    });

    test('TLS over a tuned socket (pg ssl, tls.connect({ socket })) and an idle pooled http.Agent socket: reported like plain ones', () => {
      for (const name of ['pgSsl', 'tlsOverRaw']) {
        const [message] = messageFor(results[how], name);
        expect(message).toMatchObject({ options: OPTIONS, predictedMs: 5000, probes: 0 });
        expect(Math.abs((message.inFlightMs as number) - message.predictedMs), name).toBeLessThan(OPTIONS.interval);
      }
      for (const name of ['postgresJs', 'pooled']) {
        const [message] = messageFor(results[how], name);
        expect(message).toMatchObject({ options: OPTIONS, predictedMs: 5000, retransmits: 0 });
        expect(Math.abs(message.silentMs - message.predictedMs), name).toBeLessThan(OPTIONS.interval);
      }
    });

    test('a peer alive but not reading: zeroWindow, heard until the end', () => {
      const [message] = messageFor(results[how], 'zeroWindow');
      expect(message).toMatchObject({ cause: 'zeroWindow', remotePort: PORTS.holdPort, predictedMs: 5000 });
      expect(message.silentMs).toBeLessThan(OPTIONS.interval);
    });

    test('each message carries the time, in ISO 8601', () => {
      for (const message of results[how].messages) {
        expect(message.at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
        expect(Math.abs(Date.parse(message.at) - Date.now())).toBeLessThan(120_000);
      }
    });

    test('keepAliveStats() counts the sockets tuned and the dead peers by cause, nothing for the rest', () => {
      // Every socket the application opened: the default tuned each, or setKeepAlive and tuneAgent did.
      expect(results[how].stats).toEqual({
        socketsTuned: 16,
        listenersTuned: 0,
        tuningsFailed: 0,
        deadPeers: { keepalive: 3, userTimeout: 3, retransmissions: 1, zeroWindow: 1 },
      });
    });
  });

  describe.each(['preload', 'run'] as const)('OpenTelemetry, the real SDK (in-memory exporter), under %s', (how) => {
    test('asynchronous counters from keepAliveStats(), dead peers by cause', () => {
      const { metrics, stats } = results[how];
      const single = (name: string) => metrics[name].points.map(({ value }) => value);
      expect(single('socket_keepalive.sockets.tuned')).toEqual([stats.socketsTuned]);
      expect(single('socket_keepalive.listeners.tuned')).toEqual([0]);
      expect(single('socket_keepalive.tunings.failed')).toEqual([0]);
      const byCause = Object.fromEntries(
        metrics['socket_keepalive.dead_peers'].points.map(({ attributes, value }) => [
          attributes['socket_keepalive.cause'],
          value,
        ]),
      );
      expect(byCause).toEqual({ keepalive: 3, userTimeout: 3, retransmissions: 1, zeroWindow: 1 });
      expect(metrics['socket_keepalive.sockets.tuned']).toMatchObject({ scope: 'socket-keepalive', unit: '{socket}' });
    });

    test('a histogram of dead-peer silence in ms, by cause', () => {
      const { metrics, messages } = results[how];
      expect(metrics['socket_keepalive.dead_peer.silence'].unit).toBe('ms');
      const byCause = Object.fromEntries(
        metrics['socket_keepalive.dead_peer.silence'].points.map(({ attributes, value }) => [
          attributes['socket_keepalive.cause'],
          value,
        ]),
      );
      for (const cause of ['keepalive', 'userTimeout', 'retransmissions', 'zeroWindow']) {
        const silences = messages.filter((message) => message.cause === cause).map((message) => message.silentMs);
        expect(byCause[cause], cause).toEqual({
          count: silences.length,
          sum: silences.reduce((sum, silence) => sum + silence, 0),
          min: Math.min(...silences),
          max: Math.max(...silences),
        });
      }
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

  test('run --report text: one line on stderr per dead peer, naming both ends, the time, what happened and the figures', () => {
    const { stderr, messages, ports } = results.run;
    const lines = stderr.trim().split('\n');
    expect(lines).toHaveLength(Object.keys(DEAD).length);
    const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
    const expected = (name: string, remotePort: number, what: (message: Message) => string) => {
      const [message] = messageFor(results.run, name);
      const from = `(from 10.213.0.2:${ports[name]})`;
      expect(lines.find((candidate) => candidate.includes(from))).toBe(
        `socket-keepalive: dead peer ${SERVER_ADDRESS}:${remotePort} ${from} at ${message.at}: ${what(message)}`,
      );
    };
    const range = (message: Message) =>
      `expected ${seconds(message.predictedMs)} to ${seconds(message.predictedMaxMs)}`;
    expected(
      'pg',
      5432,
      (message) =>
        `data unacknowledged for ${seconds(message.inFlightMs as number)}, past the user timeout; ${range(message)}; peer silent ${seconds(message.silentMs)}`,
    );
    expected(
      'ioredis',
      6379,
      (message) => `idle, keepalive probes unanswered; peer silent ${seconds(message.silentMs)}, ${range(message)}`,
    );
    expected(
      'raw',
      PORTS.echoPort,
      (message) =>
        `data unacknowledged for ${seconds(message.inFlightMs as number)}, retransmission limit reached (no user timeout set); ${range(message)}; peer silent ${seconds(message.silentMs)}`,
    );
    expected(
      'zeroWindow',
      PORTS.holdPort,
      (message) =>
        `peer alive but took no data for the user timeout, 5.0 s (zero window); last heard ${seconds(message.silentMs)} before`,
    );
    expect(messages).toHaveLength(Object.keys(DEAD).length);
  });
});
