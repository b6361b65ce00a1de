/**
 * One run of the lab, top to bottom: fetch the older Node, build the two hosts, start
 * capturing on the client's side, start the echo servers, PostgreSQL and redis, the
 * client peers and the client application (untouched and with the preload), cut the
 * link, watch until every connection expected to fail has failed (restoring the heal
 * check's link on the way), stop the capture and the peers, and turn what the peers
 * reported and the wire showed into results. Whatever it started is removed when it
 * returns, when it fails and on SIGINT or SIGTERM.
 */
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { KeepAliveState } from 'socket-keepalive';
import type { ConnectionReport } from '../connection.js';
import { nodeBinary } from '../node-release.js';
import { Capture } from './capture.js';
import type { ClientAppConfig } from './client-apps.js';
import { CLIENT_ADDRESS, createHosts, cutLink, destroyHosts, type Hosts, healLink, SERVER_ADDRESS } from './netns.js';
import type { HealResult, PeerConfig, PeerMessage } from './peer.js';
import { spawnIn, waitFor } from './processes.js';
import { Progress } from './progress.js';
import { beforeConnectFinding, type LabReport, rowResult, unavailableResult } from './report.js';
import {
  APP_PORTS,
  HEAL,
  type LabRow,
  longestWaitMs,
  MAIN_PORT,
  OLD_NODE,
  PRELOAD_SETTING,
  predict,
  ROWS,
} from './rows.js';
import { type RealServer, serverPrograms, startPostgres, startRedis } from './services.js';
import { traceConnection } from './wire.js';

export interface LabSettings {
  /** Longest wait for a connection to fail, ms; rows predicted to take longer are not waited for. */
  windowMs: number;
  /** Whether to run the before-connect row on Node {@link OLD_NODE} too. */
  oldNode: boolean;
  /** Redraw a live view (a terminal) rather than print progress lines. */
  live: boolean;
  log: (line: string) => void;
}

const CLI = path.join(__dirname, '..', 'cli.js');
const PEER = path.join(__dirname, 'peer.js');
const CLIENT_APP = path.join(__dirname, 'client-apps.js');
/** The preload, by absolute path as `socket-keepalive run` gives it: dist/register.js. */
const REGISTER = path.join(__dirname, '..', '..', 'register.js');

/** What one run compares: its rows, and why some cannot run here. */
interface LabPlan {
  rows: LabRow[];
  /** Node {@link OLD_NODE}'s binary, or why its row cannot run. */
  oldNode: { binary?: string; problem?: string };
  /** Why the client application's rows cannot run here, or undefined. */
  appsLeftOut: string | undefined;
  /** The ports of the connections compared: captured, and cut for good. */
  ports: number[];
}

function planLab(settings: LabSettings): LabPlan {
  const oldNode = settings.oldNode ? fetchOldNode(settings.log) : { problem: 'skipped (--no-old-node)' };
  const appsLeftOut = clientAppProblem();
  if (appsLeftOut) settings.log(`note: the pg and ioredis rows are left out: ${appsLeftOut}${remedy(appsLeftOut)}`);
  const rows = ROWS.filter((row) => (!row.oldNode || oldNode.binary) && (!row.app || !appsLeftOut));
  return { rows, oldNode, appsLeftOut, ports: [MAIN_PORT, ...(appsLeftOut ? [] : Object.values(APP_PORTS))] };
}

export async function runLab(settings: LabSettings): Promise<LabReport> {
  const started = Date.now();
  const plan = planLab(settings);
  const lab = new LabProcesses();
  try {
    const hosts = lab.build();
    const capture = await lab.capture(plan.ports);
    const peers = await startConnections(lab, plan);
    const predictions = new Map(
      plan.rows.map((row) => {
        const effective = lab.reports.get(row.id)?.effective as KeepAliveState;
        return [row.id, predict(row, effective, lab.retransmissionLimitMs as number)];
      }),
    );
    const expected = plan.rows.filter((row) => {
      const effective = lab.reports.get(row.id)?.effective as KeepAliveState;
      return longestWaitMs(row, effective, predictions.get(row.id) as number) <= settings.windowMs;
    });
    const { ports } = plan;
    settings.log(
      `hosts ${hosts.server} (${SERVER_ADDRESS}) and ${hosts.client} (${CLIENT_ADDRESS}) connected; ` +
        `cutting port${ports.length > 1 ? 's' : ''} ${ports.join(', ')} now`,
    );
    const cutAt = await cutAndWatch(lab, hosts, peers, plan, settings, predictions, expected);
    const segments = await capture.stop();
    const clock = { cutAt, captureEndedAt: Date.now(), windowMs: settings.windowMs };
    for (const peer of peers) peer.stdin?.write('stop\n');
    const results = ROWS.map((row) => {
      if (row.oldNode && !plan.oldNode.binary) return unavailableResult(row, plan.oldNode.problem);
      if (row.app && plan.appsLeftOut) return unavailableResult(row, plan.appsLeftOut);
      const report = lab.reports.get(row.id) as ConnectionReport;
      const trace = traceConnection(segments, report.localPort as number);
      const node = lab.nodes.get(row.id) as string;
      const observed = { node, report, predictedMs: predictions.get(row.id) as number, trace };
      return rowResult(row, observed, clock);
    });
    return {
      windowMs: settings.windowMs,
      durationMs: Date.now() - started,
      rows: results,
      heal: lab.heal ?? null,
      beforeConnect: beforeConnectFinding(results),
    };
  } finally {
    await lab.stopAppServers();
    lab.teardown();
  }
}

/** Starts the servers, the peers and the client application; resolves with the peers once every connection is open. */
async function startConnections(lab: LabProcesses, plan: LabPlan): Promise<ChildProcess[]> {
  await Promise.all([lab.startServers([MAIN_PORT, HEAL.port]), plan.appsLeftOut ? undefined : lab.startAppServers()]);
  const peers = lab.startPeers(plan.rows, plan.oldNode.binary);
  if (!plan.appsLeftOut) peers.push(...[false, true].map((preload) => lab.startClientApp(preload)));
  const allOpen = () => plan.rows.every((row) => lab.reports.get(row.id)?.effective);
  await waitFor('every connection to be ready', 15_000, () => lab.check() ?? (allOpen() || undefined));
  return peers;
}

/**
 * Cuts the link, heals the heal check's in time, and shows progress until every
 * connection expected to fail has failed, or the window is over; resolves with the time
 * of the cut.
 */
async function cutAndWatch(
  lab: LabProcesses,
  hosts: Hosts,
  peers: ChildProcess[],
  plan: LabPlan,
  settings: LabSettings,
  predictions: Map<string, number>,
  expected: LabRow[],
): Promise<number> {
  for (const port of [...plan.ports, HEAL.port]) cutLink(hosts, port);
  const cutAt = Date.now();
  for (const peer of peers) peer.stdin?.write('cut\n');
  peers[0].stdin?.write('heal-cut\n');

  const { windowMs, live, log } = settings;
  const progress = new Progress(plan.rows, predictions, expected, cutAt, windowMs, live, log);
  let healed = false;
  await waitFor('the lab window', settings.windowMs + 20_000, () => {
    const now = Date.now();
    if (!healed && now - cutAt >= HEAL.cutMs) {
      healLink(hosts, HEAL.port);
      peers[0].stdin?.write('healed\n');
      healed = true;
    }
    progress.show(lab.reports, now);
    const allFailed = expected.every((row) => lab.reports.get(row.id)?.closedAt);
    return (allFailed || now - cutAt > settings.windowMs) && lab.heal ? true : undefined;
  });
  return cutAt;
}

/** Why the client application's rows cannot run here (its clients or servers missing), or undefined. */
function clientAppProblem(): string | undefined {
  const missing = ['pg', 'ioredis'].filter((client) => {
    try {
      require.resolve(client);
      return false;
    } catch {
      return true;
    }
  });
  if (missing.length > 0) return `${missing.join(' and ')} cannot be loaded`;
  const servers = [
    ...(serverPrograms.postgres ? [] : ['PostgreSQL (Debian package postgresql)']),
    ...(serverPrograms.redis ? [] : ['redis-server (Debian package redis-server)']),
  ];
  return servers.length > 0 ? `${servers.join(' and ')} not installed` : undefined;
}

/** How to get the client application's rows, after the problem that left them out. */
function remedy(problem: string): string {
  return problem.endsWith('cannot be loaded')
    ? '; to run them, "npm install pg ioredis" in the project where socket-keepalive is installed,' +
        ' or run "npx -p socket-keepalive -p pg -p ioredis socket-keepalive lab"'
    : '';
}

/** Node {@link OLD_NODE}'s binary, fetched once; or why its row is left out. */
function fetchOldNode(log: (line: string) => void): { binary?: string; problem?: string } {
  try {
    return { binary: nodeBinary(OLD_NODE, log) };
  } catch (error) {
    const problem = `Node ${OLD_NODE} could not be fetched: ${(error as Error).message.split('\n')[0]}`;
    log(`note: ${problem}; its row is left out`);
    return { problem };
  }
}

/**
 * The hosts and processes of one run, and what the peers last reported. Removes them
 * all on teardown(), which a SIGINT or SIGTERM also runs before the signal ends the lab.
 */
class LabProcesses {
  readonly reports = new Map<string, ConnectionReport>();
  /** The Node version each row ran on, as its peer reported it. */
  readonly nodes = new Map<string, string>();
  /** retransmissionLimitMs() in the client's namespace, as the first peer ready reported it. */
  retransmissionLimitMs: number | undefined;
  heal: HealResult | undefined;
  private failure: string | undefined;
  private hosts: Hosts | undefined;
  private readonly children: ChildProcess[] = [];
  private capturing: Capture | undefined;
  private appServers: RealServer[] = [];
  private readonly onSignal = (signal: NodeJS.Signals) => {
    this.teardown();
    process.kill(process.pid, signal);
  };

  constructor() {
    process.once('SIGINT', this.onSignal);
    process.once('SIGTERM', this.onSignal);
  }

  build(): Hosts {
    this.hosts = createHosts();
    return this.hosts;
  }

  /** Starts capturing `ports` on the client's side of the link; resolves once tcpdump listens. */
  async capture(ports: number[]): Promise<Capture> {
    this.capturing = new Capture(this.hosts as Hosts, ports);
    await this.capturing.ready();
    return this.capturing;
  }

  /** Starts `socket-keepalive server` on each port in the server's namespace; resolves once all listen. */
  async startServers(ports: number[]): Promise<void> {
    const listening = new Set<number>();
    for (const port of ports) {
      const args = [CLI, 'server', '--host', SERVER_ADDRESS, '--port', String(port), '--json'];
      this.children.push(
        spawnIn((this.hosts as Hosts).server, process.execPath, args, (message) => {
          if (message.event === 'listening') listening.add(port);
          else if (message.type === 'exit') this.receive(message);
        }),
      );
    }
    const allListen = () => listening.size === ports.length || undefined;
    await waitFor('the servers to listen', 10_000, () => this.check() ?? allListen());
  }

  /** Starts PostgreSQL and redis in the server's namespace, on {@link APP_PORTS}. */
  async startAppServers(): Promise<void> {
    const placement = { host: SERVER_ADDRESS, namespace: (this.hosts as Hosts).server };
    const started = await Promise.allSettled([
      startPostgres({ ...placement, port: APP_PORTS.postgres }),
      startRedis({ ...placement, port: APP_PORTS.redis }),
    ]);
    for (const result of started) if (result.status === 'fulfilled') this.appServers.push(result.value);
    const failed = started.find((result) => result.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
  }

  /** Stops PostgreSQL and redis and removes their data. */
  async stopAppServers(): Promise<void> {
    await Promise.all(this.appServers.map((server) => server.stop()));
    this.appServers = [];
  }

  /**
   * Starts the client application in the client's namespace: untouched (no
   * SOCKET_KEEPALIVE, whatever this process has), or with only the preload added.
   */
  startClientApp(preload: boolean): ChildProcess {
    const { SOCKET_KEEPALIVE: _ignored, ...env } = process.env;
    const config: ClientAppConfig = {
      host: SERVER_ADDRESS,
      postgresPort: APP_PORTS.postgres,
      redisPort: APP_PORTS.redis,
      preload,
    };
    const args = [...(preload ? ['--require', REGISTER] : []), CLIENT_APP, JSON.stringify(config)];
    const appEnv = preload ? { ...env, SOCKET_KEEPALIVE: PRELOAD_SETTING } : env;
    const receive = (message: Record<string, unknown>) => this.receive(message);
    const app = spawnIn((this.hosts as Hosts).client, process.execPath, args, receive, appEnv);
    this.children.push(app);
    return app;
  }

  /** Starts the client peers: this Node's rows and the heal check, and the older Node's rows. */
  startPeers(rows: LabRow[], oldNode: string | undefined): ChildProcess[] {
    const thisNodeRows = rows.filter((row) => !row.oldNode && !row.app);
    const heal = { port: HEAL.port, options: HEAL.options };
    const server = { host: SERVER_ADDRESS, port: MAIN_PORT };
    const peers = [this.startPeer(process.execPath, { ...server, rows: thisNodeRows, heal })];
    if (oldNode) peers.push(this.startPeer(oldNode, { ...server, rows: rows.filter((row) => row.oldNode) }));
    return peers;
  }

  private startPeer(node: string, config: PeerConfig): ChildProcess {
    const args = [PEER, JSON.stringify(config)];
    const peer = spawnIn((this.hosts as Hosts).client, node, args, (message) => this.receive(message));
    this.children.push(peer);
    return peer;
  }

  private receive(message: Record<string, unknown>): void {
    const peerMessage = message as PeerMessage | { type: 'exit'; code: number; errors: string };
    if (peerMessage.type === 'ready' || peerMessage.type === 'status') {
      for (const report of peerMessage.reports) this.reports.set(report.id, report);
      if (peerMessage.type === 'ready') {
        for (const report of peerMessage.reports) this.nodes.set(report.id, peerMessage.node);
        this.retransmissionLimitMs ??= peerMessage.retransmissionLimitMs;
      }
    } else if (peerMessage.type === 'heal') this.heal = peerMessage.result;
    else if (peerMessage.type === 'error') this.failure = peerMessage.message;
    else if (peerMessage.type === 'exit') {
      this.failure = `a lab process exited with ${peerMessage.code}: ${peerMessage.errors.trim()}`;
    }
  }

  /** Throws what went wrong in a child process, if anything did; for use inside waitFor. */
  check(): undefined {
    if (this.failure) throw new Error(this.failure);
    return undefined;
  }

  teardown(): void {
    this.capturing?.kill();
    for (const server of this.appServers) server.kill();
    for (const child of this.children) child.kill('SIGKILL');
    if (this.hosts) destroyHosts(this.hosts);
    this.hosts = undefined;
    process.off('SIGINT', this.onSignal);
    process.off('SIGTERM', this.onSignal);
  }
}
