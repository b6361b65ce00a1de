/** `socket-keepalive inspect`: the keepalive settings of a running process's TCP sockets. */
import fs from 'node:fs';
import { type InspectedSocket, inspectProcess, retransmissionLimitMs } from 'socket-keepalive';
import { integer, parse, UsageError } from './args.js';
import { formatDuration, formatState, formatTable } from './format.js';

const INSPECT_USAGE = `Usage: socket-keepalive inspect <pid> [options]

Lists every TCP socket of a running process (any program, not only Node): local and
peer address, state, the keepalive settings its kernel has (SO_KEEPALIVE, idle,
interval, count, TCP_USER_TIMEOUT), keepalive probes outstanding, retransmissions, time
since data was last received, and the predicted time to notice a dead peer on an idle
connection and with data in flight. The connections slowest to notice on an idle
connection are marked "<" in the column "slowest".

The processes it started are followed too, and their children (an app started by npx,
npm or a shell is a child or grandchild of the pid you have): each one with TCP sockets
is shown below the process, with its pid, its command line and its parent.

It duplicates the process's socket fds with pidfd_getfd(2) (Linux 5.6+), reads them and
closes the copies; the process's sockets are never changed. Needs ptrace permission:
root, or the process's own user where kernel.yama.ptrace_scope allows it.

Options:
  --json         the sockets as a JSON array, each with its process's "pid" (times in
                 ms; a "detection" of "idleConnectionMs": null means never)
  --watch        refresh once a second until Ctrl-C (with --json: one array per line)
  -h, --help     this help

Exit codes: 0 done, 1 the process cannot be inspected (no such pid, no permission,
kernel too old), 2 bad arguments.`;

/** An inspected socket as the command shows it. */
interface ShownSocket extends InspectedSocket {
  /** The process that holds it: the pid given or one of its descendants. */
  pid: number;
  /**
   * True for the connections (not listeners) that would take longest to notice a dead
   * peer on an idle connection: those with the largest `detection.idleConnectionMs`.
   */
  slowest: boolean;
}

function markSlowest(pid: number, sockets: InspectedSocket[]): ShownSocket[] {
  const connections = sockets.filter((socket) => socket.state !== 'LISTEN');
  const slowest = Math.max(...connections.map((socket) => socket.detection.idleConnectionMs));
  return sockets.map((socket) => ({
    pid,
    ...socket,
    slowest: socket.state !== 'LISTEN' && socket.detection.idleConnectionMs === slowest,
  }));
}

/** A process below the one given: its pid, its parent's, and its command line. */
interface Descendant {
  pid: number;
  parent: number;
  command: string;
}

/**
 * The living descendants of `pid`, parents before their children, leaving out this
 * process (an inspect started from inside the tree). Read from every /proc/<pid>/stat's
 * parent field, since /proc/<pid>/task/<tid>/children exists only in kernels built with
 * CONFIG_PROC_CHILDREN.
 */
function descendantsOf(pid: number): Descendant[] {
  const children = new Map<number, number[]>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited since the directory was read
    }
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so read after the last ")".
    const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    children.set(parent, [...(children.get(parent) ?? []), Number(entry)]);
  }
  const found: Descendant[] = [];
  const queue = [pid];
  for (let parent = queue.shift(); parent !== undefined; parent = queue.shift()) {
    for (const child of children.get(parent) ?? []) {
      if (child === process.pid) continue;
      found.push({ pid: child, parent, command: commandLine(child) });
      queue.push(child);
    }
  }
  return found;
}

/** "node app.js": a process's command line, or its pid in brackets once it has exited. */
function commandLine(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
  } catch {
    return `[${pid}]`;
  }
}

/** What one process in the tree holds, or why it could not be read. */
interface Inspected {
  process: Descendant | { pid: number };
  sockets: ShownSocket[];
  error?: string;
}

/**
 * The process `pid` and each of its descendants that holds a TCP socket or cannot be
 * read; a descendant that exits while it is read is left out. A failure on `pid` itself
 * throws.
 */
function inspectTree(pid: number): Inspected[] {
  const tree: Inspected[] = [{ process: { pid }, sockets: markSlowest(pid, inspectProcess(pid)) }];
  for (const descendant of descendantsOf(pid)) {
    try {
      const sockets = inspectProcess(descendant.pid);
      if (sockets.length > 0) tree.push({ process: descendant, sockets: markSlowest(descendant.pid, sockets) });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ESRCH') continue;
      tree.push({ process: descendant, sockets: [], error: (error as Error).message });
    }
  }
  return tree;
}

/** The text of a tree: the process given, then each descendant under its own header. */
function treeText(tree: Inspected[], header: string): string {
  const [own, ...below] = tree;
  const sections = [
    `${header}\n${own.sockets.length > 0 || below.length === 0 ? table(own.sockets) : 'no TCP sockets of its own'}`,
  ];
  for (const { process: shown, sockets, error } of below) {
    const { pid, parent, command } = shown as Descendant;
    const title = `process ${pid} (${command}), child of ${parent}`;
    sections.push(error === undefined ? `${title}\n${table(sockets)}` : `${title}: cannot be inspected: ${error}`);
  }
  const marked = tree.some(({ sockets }) => sockets.some((socket) => socket.slowest));
  return sections.join('\n\n') + (marked ? `\n${SLOWEST_LEGEND}` : '');
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
    socket.state === 'LISTEN' ? '-' : formatDuration(socket.lastDataReceivedMs),
    socket.state === 'LISTEN' ? '-' : formatDuration(socket.detection.idleConnectionMs),
    socket.state === 'LISTEN'
      ? '-'
      : socket.detection.dataInFlightMs === null
        ? `${formatDuration(retransmissionLimitMs())} (tcp_retries2)`
        : formatDuration(socket.detection.dataInFlightMs),
    socket.slowest ? '<' : '',
  ]);
  const header = ['fd', 'local', 'peer', 'state', 'keepalive', 'probes', 'retrans', 'last recv', 'detect idle'];
  header.push('detect in flight', 'slowest');
  return formatTable(header, rows);
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
    const tree = inspectTree(pid);
    if (values.json) {
      const sockets = tree.flatMap((inspected) => inspected.sockets);
      console.log(JSON.stringify(sockets, null, values.watch ? 0 : 2));
      for (const { process: shown, error } of tree)
        if (error !== undefined) console.error(`socket-keepalive inspect: process ${shown.pid}: ${error}`);
    } else {
      // Clear the screen on a terminal only: in a pipe or a file, snapshots follow each other.
      if (values.watch && process.stdout.isTTY) process.stdout.write('\x1b[H\x1b[2J');
      console.log(treeText(tree, `process ${pid}${values.watch ? ` at ${new Date().toISOString()}` : ''}`));
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
