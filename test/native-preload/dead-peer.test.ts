// The preload library's dead-peer report, behind a real cut: a Python client in one
// network namespace under `socket-keepalive run --report json`, a Python server in the
// other, iptables DROP in between (the lab's namespaces, demo/lab/netns.ts). One line
// each for the idle connection (keepalive) and the one with data in flight (user timeout)
// the kernel ended; none for the connection the program closed, the one the server reset,
// the refused connect, or the connect whose SYNs were dropped, which ends at the user
// timeout. TCP_INFO as the client read it before each close shows what tells them apart.
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
import { missingTools, skipWithout } from '../helpers/requirements.js';
import { cliPath, run } from '../helpers/run.js';

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
    const client = spawn(
      'ip',
      [
        ...['netns', 'exec', hosts.client, process.execPath, cliPath, 'run', '--quiet', '--report', 'json'],
        ...['--idle', '2s', '--interval', '1s', '--count', '3', '--user-timeout', '5s', '--'],
        ...['python3', path.join(fixtures, 'dead-peer.py'), SERVER_ADDRESS],
        ...[PORTS.echo, PORTS.reset, PORTS.refused, PORTS.dropped].map(String),
      ],
      { env: { ...process.env, SOCKET_KEEPALIVE: undefined, NODE_OPTIONS: undefined, LD_PRELOAD: undefined } },
    );
    client.stderr?.on('data', (data: Buffer) => (stderr += data.toString()));
    const messages: Record<string, unknown>[] = [];
    readline
      .createInterface({ input: client.stdout as NodeJS.ReadableStream })
      .on('line', (line) => messages.push(JSON.parse(line)));
    const message = (type: string, ms: number) =>
      waitFor(`the client's "${type}"`, ms, () => {
        if (client.exitCode !== null && client.exitCode !== 0) throw new Error(`client exited: ${stderr}`);
        return messages.find((candidate) => candidate.type === type);
      });
    connected = (await message('connected', 10_000)) as typeof connected;
    cutLink(hosts, PORTS.echo);
    client.stdin?.write('go\n');
    done = (await message('done', 30_000)) as unknown as Done;
    await new Promise((resolve) => (client.exitCode === null ? client.once('exit', resolve) : resolve(null)));
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

  test('report=json: one line for each of the two the kernel ended, the fields of the JavaScript report', () => {
    const lines = stderr
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(lines).toHaveLength(2);
    const line = (name: string) => lines.find((candidate) => candidate.localPort === connected.ports[name]);
    expect(Object.keys(line('idle'))).toEqual([
      'localAddress',
      'localPort',
      'remoteAddress',
      'remotePort',
      'cause',
      'silentMs',
      'probes',
      'retransmits',
      'options',
      'predictedMs',
    ]);
    const ends = { localAddress: CLIENT_ADDRESS, remoteAddress: SERVER_ADDRESS, remotePort: PORTS.echo };
    expect(line('idle')).toMatchObject({
      ...ends,
      cause: 'keepalive',
      retransmits: 0,
      options: OPTIONS,
      predictedMs: 5000,
    });
    expect(line('inFlight')).toMatchObject({
      ...ends,
      cause: 'userTimeout',
      probes: 0,
      options: OPTIONS,
      predictedMs: 5000,
    });
    for (const name of ['idle', 'inFlight']) expect(Math.abs(line(name).silentMs - 5000)).toBeLessThan(1000);
  });
});
