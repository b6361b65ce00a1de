// The preload library's dead-peer report, behind a real cut: a Python client in one
// network namespace under `socket-keepalive run --report json`, a Python server in the
// other, iptables DROP in between (the lab's namespaces, demo/lab/netns.ts). One line
// each for the idle connection (keepalive) and the one with data in flight (user timeout)
// the kernel ended; none for the connection the program closed, the one the server reset,
// the refused connect, or the connect whose SYNs were dropped, which ends at the user
// timeout. TCP_INFO as the client read it before each close shows what tells them apart.
// A second client reports in text, a third without a user timeout (retransmissions): their
// lines are compared with what lib/report.ts writes for the same figures.
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  CLIENT_ADDRESS,
  CLIENT_TCP_RETRIES2,
  createHosts,
  cutLink,
  destroyHosts,
  type Hosts,
  missingRequirements,
  SERVER_ADDRESS,
} from '../../demo/lab/netns.js';
import type { DeadPeer } from '../../dist/dead-peer.js';
import { formatDeadPeer } from '../../dist/report.js';
import { missingTools, skipWithout } from '../helpers/requirements.js';
import { cliPath, run } from '../helpers/run.js';
import { runInClient } from './run-in-client.js';

const skip = skipWithout('the preload library dead-peer tests', [...missingRequirements(), ...missingTools('python3')]);
const PORTS = { echo: 7711, reset: 7712, refused: 7713, dropped: 7714 };
const OPTIONS = { enable: true, idle: 2000, interval: 1000, count: 3, userTimeout: 5000 };
const TCP_CLOSE = 7;
const fixtures = path.join(__dirname, 'fixtures');

interface Done {
  ended: Record<string, string | number>;
  info: Record<string, { state: number; probes: number; retransmits: number; rtt: number }>;
}

describe.skipIf(skip)('dead peers of a program the preload library tuned', () => {
  let hosts: Hosts;
  let server: ChildProcess;
  let connected: { ports: Record<string, number> };
  let done: Done;
  let stderr = '';
  let textPorts: Record<string, number>;
  let textStderr = '';
  let untimedPorts: Record<string, number>;
  let untimedStderr = '';
  const startedAt = Date.now();

  /** The Python client under `run --report <report>`: its stdout messages, its stderr. */
  function startClient(report: 'json' | 'text', userTimeout = '5s', droppedPort = PORTS.dropped) {
    return runInClient(
      hosts,
      ['--report', report, '--idle', '2s', '--interval', '1s', '--count', '3', '--user-timeout', userTimeout],
      [
        'python3',
        path.join(fixtures, 'dead-peer.py'),
        SERVER_ADDRESS,
        ...[PORTS.echo, PORTS.reset, PORTS.refused, droppedPort].map(String),
      ],
      `the ${report} client`,
    );
  }

  beforeAll(async () => {
    hosts = createHosts();
    server = spawn('ip', [
      'netns',
      'exec',
      hosts.server,
      'python3',
      path.join(fixtures, 'dead-peer-server.py'),
      SERVER_ADDRESS,
      String(PORTS.echo),
      String(PORTS.reset),
    ]);
    await new Promise((resolve) => server.stdout?.once('data', resolve));
    cutLink(hosts, PORTS.dropped);
    // Three clients, the same connections: one reports in JSON, one in text, and one in JSON
    // without a user timeout (the client's tcp_retries2, CLIENT_TCP_RETRIES2, ends its data in flight).
    const clients = [startClient('json'), startClient('text'), startClient('json', '0', 0)];
    const [connectedJson, connectedText, connectedUntimed] = await Promise.all(
      clients.map((client) => client.message('connected', 10_000)),
    );
    connected = connectedJson as typeof connected;
    textPorts = (connectedText as typeof connected).ports;
    untimedPorts = (connectedUntimed as typeof connected).ports;
    cutLink(hosts, PORTS.echo);
    for (const client of clients) client.child.stdin?.write('go\n');
    const [doneJson] = await Promise.all(clients.map((client) => client.message('done', 30_000)));
    done = doneJson as unknown as Done;
    await Promise.all(clients.map((client) => client.exited()));
    [stderr, textStderr, untimedStderr] = clients.map((client) => client.stderr());
  }, 60_000);

  afterAll(() => {
    server?.kill('SIGKILL');
    if (hosts) destroyHosts(hosts);
  });

  test('each connection ended as planned', () => {
    expect(done.ended).toMatchObject({
      idle: 'ETIMEDOUT',
      inFlight: 'ETIMEDOUT',
      closed: 'closed',
      reset: 'ECONNRESET',
      refused: 'ECONNREFUSED',
      dropped: 'ETIMEDOUT',
    });
  });

  test('a connect whose SYNs are dropped ends at the user timeout (within 10 %)', () => {
    expect(Math.abs((done.ended.droppedMs as number) - OPTIONS.userTimeout)).toBeLessThan(OPTIONS.userTimeout / 10);
  });

  test('a Node.js net.connect to the dropped port under run ends at the user timeout too, and nothing is reported', async () => {
    const app = `const net = require('node:net');
const started = Date.now();
net.connect(${PORTS.dropped}, '${SERVER_ADDRESS}').on('error', (error) => console.log(JSON.stringify({ code: error.code, ms: Date.now() - started })));`;
    const result = await run('ip', [
      ...['netns', 'exec', hosts.client, process.execPath, cliPath, 'run', '--quiet', '--report', 'text'],
      ...['--user-timeout', '5s', '--', process.execPath, '-e', app],
    ]);
    expect(result.stderr).toBe('');
    const { code, ms } = JSON.parse(result.stdout);
    expect(code).toBe('ETIMEDOUT');
    expect(Math.abs(ms - OPTIONS.userTimeout)).toBeLessThan(OPTIONS.userTimeout / 10);
  }, 20_000);

  test('TCP_INFO before close: what the kernel ended for silence has probes or retransmits and an RTT; the rest not both', () => {
    const { info } = done;
    expect(info.idle).toMatchObject({ state: TCP_CLOSE, retransmits: 0 });
    expect(info.idle.probes).toBeGreaterThan(0);
    expect(info.inFlight).toMatchObject({ state: TCP_CLOSE, probes: 0 });
    expect(info.inFlight.retransmits).toBeGreaterThan(0);
    for (const name of ['idle', 'inFlight', 'reset']) expect(info[name].rtt).toBeGreaterThan(0);
    expect(info.closed.state).not.toBe(TCP_CLOSE);
    expect(info.reset).toMatchObject({ state: TCP_CLOSE, probes: 0, retransmits: 0 });
    expect(info.refused).toMatchObject({ state: TCP_CLOSE, rtt: 0 });
    expect(info.dropped).toMatchObject({ state: TCP_CLOSE, rtt: 0 });
    expect(info.dropped.retransmits).toBeGreaterThan(0);
  });

  /** The report lines of a run, each with the port it was written for. */
  const reportLines = (written: string) => written.trim().split('\n');
  const jsonLines = () => reportLines(stderr).map((line) => ({ raw: line, fields: JSON.parse(line) }));
  const jsonLine = (name: string) =>
    jsonLines().find((candidate) => candidate.fields.localPort === connected.ports[name]) as {
      raw: string;
      fields: Record<string, unknown> & DeadPeer;
    };

  test('report=json: one line for each of the two the kernel ended, the fields of the JavaScript report in its order', () => {
    expect(jsonLines()).toHaveLength(2);
    const fields = ['at', 'localAddress', 'localPort', 'remoteAddress', 'remotePort', 'cause', 'silentMs'];
    const rest = ['probes', 'retransmits', 'options', 'predictedMs', 'predictedMaxMs'];
    expect(Object.keys(jsonLine('idle').fields)).toEqual([...fields, ...rest]);
    expect(Object.keys(jsonLine('inFlight').fields)).toEqual([...fields, 'inFlightMs', ...rest]);
    const ends = { localAddress: CLIENT_ADDRESS, remoteAddress: SERVER_ADDRESS, remotePort: PORTS.echo };
    const idle = jsonLine('idle').fields;
    expect(idle).toMatchObject({ ...ends, cause: 'keepalive', retransmits: 0, options: OPTIONS, predictedMs: 5000 });
    // lib/dead-peer.ts: the keepalive prediction plus one interval and its timer's lateness (1/8).
    expect(idle.predictedMaxMs).toBe(5000 + 1125);
    const inFlight = jsonLine('inFlight').fields;
    expect(inFlight).toMatchObject({ ...ends, cause: 'userTimeout', probes: 0, options: OPTIONS, predictedMs: 5000 });
    // The user timeout and its lateness, a loss probe and a first timeout (each at least TCP_RTO_MIN, 200 ms).
    expect(inFlight.predictedMaxMs).toBeGreaterThanOrEqual(5625 + 400);
    expect(inFlight.predictedMaxMs).toBeLessThan(5625 + 500);
    expect(Math.abs((inFlight.inFlightMs as number) - 5000)).toBeLessThan(OPTIONS.interval);
    expect(inFlight.inFlightMs).toBeLessThanOrEqual(inFlight.predictedMaxMs as number);
    for (const message of [idle, inFlight]) {
      expect(Math.abs((message.silentMs as number) - 5000)).toBeLessThan(1000);
      expect(message.at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      expect(Date.parse(message.at)).toBeGreaterThanOrEqual(startedAt);
      expect(Date.parse(message.at)).toBeLessThanOrEqual(Date.now());
    }
  });

  test("report=json and report=text: the lines lib/report.ts's formatDeadPeer writes for the same figures", () => {
    for (const name of ['idle', 'inFlight']) {
      const { raw, fields } = jsonLine(name);
      expect(formatDeadPeer(fields, 'json'), name).toBe(raw);
      // The text run's connections died alike, with figures of their own: the same line but for its numbers.
      const text = reportLines(textStderr).find((line) => line.includes(`(from ${CLIENT_ADDRESS}:${textPorts[name]})`));
      const shape = (line: string) => line.replace(/\d+/g, '#');
      expect(shape(text as string), name).toBe(shape(formatDeadPeer(fields, 'text')));
    }
    expect(reportLines(textStderr)).toHaveLength(2);
  });
  test('without a user timeout: retransmissions for the data in flight, by the figures of lib/dead-peer.ts', () => {
    expect(CLIENT_TCP_RETRIES2).toBe(3);
    const lines = reportLines(untimedStderr).map((line) => ({ raw: line, fields: JSON.parse(line) }));
    expect(lines).toHaveLength(2);
    const line = (name: string) => lines.find(({ fields }) => fields.localPort === untimedPorts[name]);
    const options = { ...OPTIONS, userTimeout: 0 };
    expect(line('idle')?.fields).toMatchObject({
      cause: 'keepalive',
      options,
      predictedMs: 5000,
      predictedMaxMs: 6125,
    });
    const inFlight = line('inFlight') as { raw: string; fields: DeadPeer };
    // retransmissionLimitMs() of tcp_retries2 3: 200 ms doubling, (2^4 - 1) x 200 ms.
    expect(inFlight.fields).toMatchObject({ cause: 'retransmissions', probes: 0, options, predictedMs: 3000 });
    expect(inFlight.fields.inFlightMs).toBeGreaterThanOrEqual(3000);
    expect(inFlight.fields.inFlightMs).toBeLessThanOrEqual(inFlight.fields.predictedMaxMs as number);
    expect(inFlight.fields.predictedMaxMs).toBeGreaterThan(1.8 * 3000);
    expect(inFlight.fields.predictedMaxMs).toBeLessThan(2.5 * 3000);
    expect(formatDeadPeer(inFlight.fields, 'json')).toBe(inFlight.raw);
  });
});
