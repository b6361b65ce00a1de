/** `socket-keepalive client`: connections with per-socket keepalive, watched live. */
import { detectionTime, type KeepAliveOptions } from 'socket-keepalive';
import { integer, parse, perSocket, UsageError } from './args.js';
import { Connection, type ConnectionSpec, type Mode, MODES } from './connection.js';
import { formatDuration, formatState, formatTable } from './format.js';
import { KEEPALIVE_FLAG_SPEC } from './server.js';

export const CLIENT_USAGE = `Usage: socket-keepalive client [options]

Opens connections to a server (e.g. socket-keepalive server), each with its own
keepalive settings, and shows one live line per socket: the values read back from the
kernel, keepalive probes outstanding (TCP_INFO), time since the kernel last heard from
the peer, and state. When a socket dies it prints the error, how long after the peer
went silent, and how many keepalive probes it had sent unanswered (TCP_INFO, sampled
every 250 ms while open); at the end, a summary of every socket.

Options (LIST: one value for all sockets, or comma-separated, one per socket):
  --host ADDR            server address (default 127.0.0.1)
  --port N               server port (default 7654)
  --sockets N            number of connections (default 1)
  --mode LIST            library | node | before-connect | off (default library)
                           library: this library, with the options below
                           node: Node's socket.setKeepAlive(true, delay) after connect
                           before-connect: the same, called before connect
                           off: keepalive left off
  --idle LIST            ms of silence before the first probe (library; whole seconds)
  --interval LIST        ms between probes (library; whole seconds)
  --count LIST           unanswered probes before the connection is dropped (library)
  --user-timeout LIST    ms data may stay unacknowledged (library; 0 = system default)
  --node-delay LIST      ms passed to Node's setKeepAlive (node, before-connect; default 1000)
  --write-every MS       write a line on every socket this often (shows data in flight)
  --json                 one JSON object per line instead of live text
  -h, --help             this help

Example: socket-keepalive client --sockets 3 --idle 2000 --interval 1000 --count 2,5,9
Exit codes: 0 all connections closed or stopped by Ctrl-C, 1 a connection failed
to open, 2 bad arguments.`;

/** Builds one spec per socket from the command line, validating every value up front. */
export function clientSpecs(values: Record<string, string | boolean | undefined>): ConnectionSpec[] {
  const sockets = integer('sockets', values.sockets as string, 1, 1000) as number;
  const modes = perSocket('mode', values.mode as string | undefined, sockets, (mode) => {
    if (!MODES.includes(mode as Mode)) throw new UsageError(`--mode must be one of ${MODES.join(', ')}, got "${mode}"`);
    return mode as Mode;
  });
  const number = (flag: string) =>
    perSocket(flag, values[flag] as string | undefined, sockets, (item) => integer(flag, item, 0, 2_147_483_647) as number);
  const [idle, interval, count, userTimeout, nodeDelay] = ['idle', 'interval', 'count', 'user-timeout', 'node-delay'].map(number);
  return modes.map((mode = 'library', index) => {
    const spec: ConnectionSpec = { id: `#${index + 1}`, mode };
    const options: KeepAliveOptions = { idle: idle[index], interval: interval[index], count: count[index], userTimeout: userTimeout[index] };
    const given = Object.values(options).some((value) => value !== undefined);
    if (mode === 'library') {
      try {
        detectionTime(options); // the library's own validation, before any socket exists
      } catch (error) {
        throw new UsageError(`socket ${spec.id}: ${(error as Error).message}`);
      }
      spec.options = options;
    } else if (given) {
      throw new UsageError(`socket ${spec.id}: --idle, --interval, --count and --user-timeout apply to --mode library only`);
    }
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
  return `${report.id.padEnd(4)} ${connection.spec.mode.padEnd(14)} ${values.padEnd(26)} probes ${String(report.probes ?? '-').padEnd(3)} silent ${silent.padEnd(9)} ${state}`;
}

/**
 * Every socket's end: how it closed, the keepalive probes it had sent unanswered by
 * then (TCP_INFO's probe count at the last sample while open), and its silence.
 */
function summary(connections: Connection[]): string {
  const rows = connections.map(({ report, spec }) => [
    report.id,
    spec.mode,
    report.effective ? formatState(report.effective) : '-',
    report.errorCode ?? (report.effective ? 'closed' : 'never opened'),
    report.probes === undefined ? '-' : String(report.probes),
    report.lastHeardAt === undefined || report.closedAt === undefined ? '-' : formatDuration(report.closedAt - report.lastHeardAt),
  ]);
  return formatTable(['socket', 'mode', 'kernel values', 'end', 'probes sent before the end', 'silent for'], rows);
}

export async function clientCommand(argv: string[]): Promise<number> {
  const { values } = parse(argv, {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '7654' },
    sockets: { type: 'string', default: '1' },
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
  const port = integer('port', values.port, 1, 65535) as number;
  const writeEvery = integer('write-every', values['write-every'], 1, 3_600_000);
  const specs = clientSpecs(values);
  const live = !values.json && process.stdout.isTTY;
  const json = (event: Record<string, unknown>) => console.log(JSON.stringify({ time: Date.now(), ...event }));

  let failedToOpen = false;
  let stopped = false;
  const connections = specs.map((spec) => new Connection(spec, values.host as string, port));
  const done = connections.map(
    (connection) =>
      new Promise<void>((resolve) => {
        connection.socket.once('connect', () => {
          if (values.json) json({ event: 'connect', id: connection.report.id, mode: connection.spec.mode, effective: connection.report.effective });
          else if (!live) console.log(statusLine(connection, Date.now()));
        });
        connection.socket.once('close', () => {
          const report = connection.report;
          if (!report.effective) failedToOpen = !stopped;
          const silentMs = report.lastHeardAt === undefined ? null : (report.closedAt as number) - report.lastHeardAt;
          const probes = report.probes ?? null;
          if (values.json) json({ event: 'close', id: report.id, code: report.errorCode ?? null, silentMs, probes });
          else if (!live) {
            const heard = silentMs === null ? '' : `, ${formatDuration(silentMs)} after the peer was last heard`;
            console.log(`${report.id} closed: ${report.errorCode ?? 'by peer'}${heard}${probes === null ? '' : `, ${probes} keepalive probe(s) unanswered`}`);
          }
          resolve();
        });
      }),
  );
  let drawn = 0;
  const draw = () => {
    const now = Date.now();
    for (const connection of connections) connection.sample();
    if (!live) return;
    const lines = connections.map((connection) => statusLine(connection, now));
    process.stdout.write((drawn ? `\x1b[${drawn}A` : '') + lines.map((line) => `\x1b[2K${line}\n`).join(''));
    drawn = lines.length;
  };
  const ticker = setInterval(draw, 250);
  const writer =
    writeEvery === undefined
      ? undefined
      : setInterval(() => {
          for (const connection of connections) if (connection.report.state === 'open') connection.write(`data ${Date.now()}\n`);
        }, writeEvery);
  const stop = () => {
    stopped = true;
    for (const connection of connections) connection.socket.destroy();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  await Promise.all(done);
  clearInterval(ticker);
  if (writer) clearInterval(writer);
  draw();
  if (!values.json) console.log(`\n${summary(connections)}`);
  process.off('SIGINT', stop);
  process.off('SIGTERM', stop);
  return failedToOpen ? 1 : 0;
}
