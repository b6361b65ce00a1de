/** `socket-keepalive inspect`: the keepalive settings of a running process's TCP sockets. */
import { type InspectedSocket, inspectProcess, retransmissionLimitMs } from 'socket-keepalive';
import { integer, parse, UsageError } from './args.js';
import { formatDuration, formatState, formatTable } from './format.js';

export const INSPECT_USAGE = `Usage: socket-keepalive inspect <pid> [options]

Lists every TCP socket of a running process (any program, not only Node): local and
peer address, state, the keepalive settings its kernel has (SO_KEEPALIVE, idle,
interval, count, TCP_USER_TIMEOUT), keepalive probes outstanding, retransmissions, time
since data was last received, and the predicted time to notice a dead peer on an idle
connection and with data in flight. The connections slowest to notice on an idle
connection are marked "<" in the column "slowest".

It duplicates the process's socket fds with pidfd_getfd(2) (Linux 5.6+), reads them and
closes the copies; the process's sockets are never changed. Needs ptrace permission:
root, or the process's own user where kernel.yama.ptrace_scope allows it.

Options:
  --json         the sockets as a JSON array (times in ms; "idle": null means never)
  --watch        refresh once a second until Ctrl-C (with --json: one array per line)
  -h, --help     this help

Exit codes: 0 done, 1 the process cannot be inspected (no such pid, no permission,
kernel too old), 2 bad arguments.`;

/** An inspected socket as the command shows it. */
interface ShownSocket extends InspectedSocket {
  /**
   * True for the connections (not listeners) that would take longest to notice a dead
   * peer on an idle connection: those with the largest `detection.idle`.
   */
  slowest: boolean;
}

function markSlowest(sockets: InspectedSocket[]): ShownSocket[] {
  const connections = sockets.filter((socket) => socket.state !== 'LISTEN');
  const slowest = Math.max(...connections.map((socket) => socket.detection.idle));
  return sockets.map((socket) => ({
    ...socket,
    slowest: socket.state !== 'LISTEN' && socket.detection.idle === slowest,
  }));
}

const SLOWEST_LEGEND = '< slowest: of the connections, the slowest to notice a dead peer on an idle connection';

function table(sockets: ShownSocket[]): string {
  if (sockets.length === 0) return 'no TCP sockets';
  const rows = sockets.map((socket) => [
    String(socket.fd),
    socket.local,
    socket.peer,
    socket.state,
    formatState(socket.keepAlive),
    String(socket.probes),
    String(socket.retransmits),
    socket.state === 'LISTEN' ? '-' : formatDuration(socket.lastDataReceived),
    socket.state === 'LISTEN' ? '-' : formatDuration(socket.detection.idle),
    socket.state === 'LISTEN'
      ? '-'
      : socket.detection.inFlight === null
        ? `${formatDuration(retransmissionLimitMs())} (tcp_retries2)`
        : formatDuration(socket.detection.inFlight),
    socket.slowest ? '<' : '',
  ]);
  const header = ['fd', 'local', 'peer', 'state', 'keepalive', 'probes', 'retrans', 'last recv', 'detect idle'];
  header.push('detect in flight', 'slowest');
  const legend = rows.some((row) => row.at(-1) === '<') ? `\n${SLOWEST_LEGEND}` : '';
  return formatTable(header, rows) + legend;
}

export async function inspectCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    json: { type: 'boolean', default: false },
    watch: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    console.log(INSPECT_USAGE);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError('give exactly one pid');
  const pid = integer('the pid', positionals[0], 1, 2_147_483_647) as number;
  const show = () => {
    const sockets = markSlowest(inspectProcess(pid));
    if (values.json) console.log(JSON.stringify(sockets, null, values.watch ? 0 : 2));
    else {
      // Clear the screen on a terminal only: in a pipe or a file, snapshots follow each other.
      if (values.watch && process.stdout.isTTY) process.stdout.write('\x1b[H\x1b[2J');
      console.log(`process ${pid}${values.watch ? ` at ${new Date().toISOString()}` : ''}\n${table(sockets)}`);
    }
  };
  try {
    show();
    if (values.watch) {
      await new Promise<void>((resolve, reject) => {
        const timer = setInterval(() => {
          try {
            show();
          } catch (error) {
            clearInterval(timer);
            reject(error);
          }
        }, 1000);
        process.once('SIGINT', () => {
          clearInterval(timer);
          resolve();
        });
      });
    }
  } catch (error) {
    console.error(`socket-keepalive inspect: ${(error as Error).message}`);
    return 1;
  }
  return 0;
}
