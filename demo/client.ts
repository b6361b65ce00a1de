/** `socket-keepalive client`: connections with per-socket keepalive, watched live. */
import { OPTION_TABLE } from 'socket-keepalive/text';
import { duration, integer, parse, perSocket, UsageError } from './args.js';
import { Connection, type ConnectionSpec, MODES, type Mode } from './connection.js';
import { KEEPALIVE_FLAG_SPEC, keepAliveFlag, keepAliveFlagUsage } from './flags.js';
import { formatDuration, formatState, formatTable } from './format.js';

const CLIENT_USAGE = `Usage: socket-keepalive client [options]

Opens connections to a server (e.g. socket-keepalive server), each with its own
keepalive settings, and shows one live line per socket: the values read back from the
kernel, keepalive probes outstanding (TCP_INFO), time since the kernel last heard from
the peer, and state. When a socket dies it prints the error, how long after the peer
went silent, and how many keepalive probes it had sent unanswered (TCP_INFO, sampled
every 250 ms while open); at the end, a summary of every socket.

On loopback (127.0.0.1, ::1) nothing cuts the link, so no peer dies: after 10 s with
every socket open the client says so. To see a dead peer found, cut a real link (the
server on another machine) or run socket-keepalive lab, which cuts one on this machine.

Options (LIST: one value for every socket its mode uses it on, or comma-separated,
one per socket, an empty item leaving that socket's unset; TIME: with its unit, 10s,
1500ms or 2m, as in SOCKET_KEEPALIVE):
  --host ADDR            server address (default 127.0.0.1)
  --port N               server port (default 7654)
  --sockets N            number of connections (default: as many as the longest LIST)
  --mode LIST            library | node | before-connect | off (default library)
                           library: this library, with the options below
                           node: Node's socket.setKeepAlive(true, delay) after connect
                           before-connect: the same, called before connect
                           off: keepalive left off
${keepAliveFlagUsage(
  () => '; library',
  () => 'LIST',
)}
  --node-delay LIST      TIME passed to Node's setKeepAlive (node, before-connect; default 1s)
  --write-every TIME     write a line on every socket this often (shows data in flight)
  --json                 one JSON object per line instead of live text
  -h, --help             this help

Examples:
  socket-keepalive client --sockets 3 --idle 2s --interval 1s --count 2,5,9
  socket-keepalive client --mode library,node --idle 2s --node-delay 2s
    (two sockets: --idle goes to the library one, --node-delay to the node one)
Exit codes: 0 all connections closed or stopped by Ctrl-C, 1 a connection failed
to open, 2 bad arguments.`;

/** The options that take a LIST, one value per socket. */
const LIBRARY_FLAGS = OPTION_TABLE.map(({ flag }) => flag.slice(2));
const LIST_FLAGS = ['mode', ...LIBRARY_FLAGS, 'node-delay'];

/**
 * Builds one spec per socket from the command line, validating every value up front.
 * Without --sockets there are as many sockets as the longest LIST has values. A single
 * value applies to every socket whose mode takes it; a list gives each socket its own.
 */
export function clientSpecs(values: Record<string, string | boolean | undefined>): ConnectionSpec[] {
  const lists = LIST_FLAGS.map((flag) => (values[flag] as string | undefined)?.split(',').length ?? 1);
  const sockets = integer('--sockets', values.sockets as string | undefined, 1, 1000) ?? Math.max(...lists);
  const list = <T>(flag: string, convert: (item: string) => T) =>
    perSocket(flag, values[flag] as string | undefined, sockets, convert);
  const modes = list('mode', (mode) => {
    if (!MODES.includes(mode as Mode)) throw new UsageError(`--mode must be one of ${MODES.join(', ')}, got "${mode}"`);
    return mode as Mode;
  }).map((mode) => mode ?? 'library');
  const library = OPTION_TABLE.map((spec) => list(spec.flag.slice(2), (item) => keepAliveFlag(spec, item) as number));
  const nodeDelay = list('node-delay', (item) => duration('--node-delay', item, 0, 2_147_483_647) as number);
  const takes = (flag: string, mode: Mode) =>
    flag === 'node-delay' ? mode === 'node' || mode === 'before-connect' : mode === 'library';
  for (const flag of [...LIBRARY_FLAGS, 'node-delay']) {
    const text = values[flag] as string | undefined;
    if (text === undefined) continue;
    const modesTaking = flag === 'node-delay' ? 'node and before-connect' : 'library';
    if (!modes.some((mode) => takes(flag, mode))) {
      throw new UsageError(`--${flag} applies to --mode ${modesTaking} only`);
    }
    const items = text.split(',');
    const setOn = (index: number) => items.length > 1 && items[index].trim() !== '';
    const misplaced = modes.findIndex((mode, index) => setOn(index) && !takes(flag, mode));
    if (misplaced >= 0) {
      throw new UsageError(`socket #${misplaced + 1}: --${flag} applies to --mode ${modesTaking} only`);
    }
  }
  return modes.map((mode, index) => {
    const spec: ConnectionSpec = { id: `#${index + 1}`, mode };
    if (mode === 'library')
      spec.options = Object.fromEntries(OPTION_TABLE.map(({ name }, option) => [name, library[option][index]]));
    if (mode === 'node' || mode === 'before-connect') spec.nodeDelay = nodeDelay[index] ?? 1000;
    return spec;
  });
}

/** One status line: id, mode, kernel values, probes, silence, state. */
export function statusLine(connection: Connection, now: number): string {
  const report = connection.report;
  const values = report.effective ? formatState(report.effective) : '-';
  const silent = report.lastHeardAt === undefined ? '-' : formatDuration((report.closedAt ?? now) - report.lastHeardAt);
  const state = report.state === 'closed' ? `closed ${report.errorCode ?? ''}`.trim() : report.state;
  const probes = String(report.probes ?? '-');
  return (
    `${report.id.padEnd(4)} ${connection.spec.mode.padEnd(14)} ${values.padEnd(26)} ` +
    `probes ${probes.padEnd(3)} silent ${silent.padEnd(9)} ${state}`
  );
}

/** How a socket ended: its error, stopped here (Ctrl-C), closed by the peer, or never opened. */
function endOf(connection: Connection, stopped: ReadonlySet<Connection>): string {
  const { report } = connection;
  if (report.errorCode) return report.errorCode;
  if (stopped.has(connection)) return 'stopped here';
  return report.effective ? 'closed by peer' : 'never opened';
}

/**
 * Every socket's end: how it closed, the keepalive probes it had sent unanswered by
 * then (TCP_INFO's probe count at the last sample while open), and its silence.
 */
function summary(connections: Connection[], stopped: ReadonlySet<Connection>): string {
  const rows = connections.map((connection) => {
    const { report, spec } = connection;
    const { lastHeardAt, closedAt } = report;
    const silent = lastHeardAt === undefined || closedAt === undefined ? '-' : formatDuration(closedAt - lastHeardAt);
    const values = report.effective ? formatState(report.effective) : '-';
    const probes = report.probes === undefined ? '-' : String(report.probes);
    return [report.id, spec.mode, values, endOf(connection, stopped), probes, silent];
  });
  return formatTable(['socket', 'mode', 'kernel values', 'end', 'probes sent before the end', 'silent for'], rows);
}

/** How long every socket must stay open on loopback before the client says that nothing cuts it. */
const LOOPBACK_NOTE_AFTER_MS = 10_000;

const LOOPBACK_NOTE =
  `every socket still open after ${formatDuration(LOOPBACK_NOTE_AFTER_MS)}: nothing cuts a loopback link, so no peer ` +
  'dies here; to see a dead peer found, run socket-keepalive lab';

/** True when `connection` is open to a loopback address (127.0.0.0/8, ::1, or 127.x written as IPv6). */
function openOnLoopback(connection: Connection): boolean {
  const address = connection.socket.remoteAddress ?? '';
  return connection.report.state === 'open' && (/^(::ffff:)?127\./.test(address) || address === '::1');
}

/** Where the client writes: JSON lines, a live view redrawn in place (a terminal), or plain lines. */
class ClientOutput {
  private drawn = 0;
  /** Lines shown under the live view, redrawn with it. */
  private readonly notes: string[] = [];

  constructor(
    private readonly json: boolean,
    private readonly live: boolean,
    private readonly stopped: ReadonlySet<Connection>,
  ) {}

  connected(connection: Connection): void {
    const { report, spec } = connection;
    if (this.json) this.event({ event: 'connect', id: report.id, mode: spec.mode, effective: report.effective });
    else if (!this.live) console.log(statusLine(connection, Date.now()));
  }

  closed(connection: Connection): void {
    const { report } = connection;
    const silentMs = report.lastHeardAt === undefined ? null : (report.closedAt as number) - report.lastHeardAt;
    const probes = report.probes ?? null;
    const stopped = this.stopped.has(connection);
    if (this.json) {
      this.event({ event: 'close', id: report.id, code: report.errorCode ?? null, stopped, silentMs, probes });
    } else if (!this.live) {
      const heard = silentMs === null ? '' : `, ${formatDuration(silentMs)} after the peer was last heard`;
      const unanswered = probes === null ? '' : `, ${probes} keepalive probe(s) unanswered`;
      console.log(`${report.id} closed: ${endOf(connection, this.stopped)}${heard}${unanswered}`);
    }
  }

  /** A line about the run as a whole: under the live view, or on stderr beside JSON. */
  note(text: string): void {
    if (this.json) console.error(`socket-keepalive client: ${text}`);
    else if (this.live) this.notes.push(text);
    else console.log(text);
  }

  /** Redraws the live view, one line per socket, then the notes. */
  draw(connections: Connection[]): void {
    if (!this.live) return;
    const now = Date.now();
    const lines = [...connections.map((connection) => statusLine(connection, now)), ...this.notes];
    process.stdout.write((this.drawn ? `\x1b[${this.drawn}A` : '') + lines.map((line) => `\x1b[2K${line}\n`).join(''));
    this.drawn = lines.length;
  }

  end(connections: Connection[]): void {
    this.draw(connections);
    if (!this.json) console.log(`\n${summary(connections, this.stopped)}`);
  }

  private event(event: Record<string, unknown>): void {
    console.log(JSON.stringify({ time: Date.now(), ...event }));
  }
}

/** Resolves once `connection` has closed, telling `output` when it connects and closes. */
function watched(connection: Connection, output: ClientOutput): Promise<void> {
  connection.socket.once('connect', () => output.connected(connection));
  return new Promise((resolve) =>
    connection.socket.once('close', () => {
      output.closed(connection);
      resolve();
    }),
  );
}

/** Writes a line on every open socket every `ms`; returns the stop function. */
function writeEvery(connections: Connection[], ms: number | undefined): () => void {
  if (ms === undefined) return () => {};
  const writer = setInterval(() => {
    for (const connection of connections) {
      if (connection.report.state === 'open') connection.write(`data ${Date.now()}\n`);
    }
  }, ms);
  return () => clearInterval(writer);
}

export async function clientCommand(argv: string[]): Promise<number> {
  const { values } = parse(argv, {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '7654' },
    sockets: { type: 'string' },
    mode: { type: 'string' },
    ...KEEPALIVE_FLAG_SPEC,
    'node-delay': { type: 'string' },
    'write-every': { type: 'string' },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    console.log(CLIENT_USAGE);
    return 0;
  }
  const port = integer('--port', values.port, 1, 65535) as number;
  const writeInterval = duration('--write-every', values['write-every'], 1, 3_600_000);
  const specs = clientSpecs(values);

  // The sockets this client closed itself (Ctrl-C, SIGTERM): not reported as closed by the peer.
  const stopped = new Set<Connection>();
  const output = new ClientOutput(values.json as boolean, !values.json && process.stdout.isTTY, stopped);
  const connections = specs.map((spec) => new Connection(spec, values.host as string, port));
  const done = Promise.all(connections.map((connection) => watched(connection, output)));
  const ticker = setInterval(() => {
    for (const connection of connections) connection.sample();
    output.draw(connections);
  }, 250);
  const stopWriting = writeEvery(connections, writeInterval);
  const loopbackNote = setTimeout(() => {
    if (connections.every(openOnLoopback)) output.note(LOOPBACK_NOTE);
  }, LOOPBACK_NOTE_AFTER_MS);
  const stop = () => {
    for (const connection of connections) {
      if (connection.report.state !== 'closed') stopped.add(connection);
      connection.socket.destroy();
    }
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  await done;
  clearInterval(ticker);
  clearTimeout(loopbackNote);
  stopWriting();
  output.end(connections);
  process.off('SIGINT', stop);
  process.off('SIGTERM', stop);
  // A socket that never opened, unless this client stopped it while it was connecting.
  return connections.some((connection) => !connection.report.effective && !stopped.has(connection)) ? 1 : 0;
}
