// Starts a program that prints one JSON line once its sockets are open and then waits for
// its stdin to close; reads its sockets from outside (inspectProcess) while it waits.
import { type SpawnOptions, spawn } from 'node:child_process';
import readline from 'node:readline';
import { type InspectedSocket, inspectProcess } from '../helpers/library.js';

export interface Inspected<Report> {
  report: Report;
  sockets: InspectedSocket[];
  code: number | null;
  stderr: string;
}

export async function inspectApp<Report extends { pid: number }>(
  command: string,
  args: readonly string[],
  options: SpawnOptions,
): Promise<Inspected<Report>> {
  const child = spawn(command, args, { ...options, stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  const lines = readline.createInterface({ input: child.stdout as NodeJS.ReadableStream });
  let report: Report | undefined;
  for await (const line of lines) {
    if (line.startsWith('{')) {
      report = JSON.parse(line) as Report;
      break;
    }
  }
  if (report === undefined) throw new Error(`${command} printed no report: ${stderr}`);
  let sockets: InspectedSocket[];
  try {
    sockets = inspectProcess(report.pid);
  } finally {
    child.stdin?.end();
  }
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  const code = await exited;
  clearTimeout(timer);
  return { report, sockets, code, stderr };
}

/**
 * The kernel's keepalive state of the socket whose local port is `port`: with `peer`, the
 * one connected to that port (0 for the listener, whose peer is `*:0`).
 */
export function stateOf(sockets: InspectedSocket[], port: number, peer?: number) {
  const found = sockets.find(
    (socket) => socket.local.endsWith(`:${port}`) && (peer === undefined || socket.peer.endsWith(`:${peer}`)),
  );
  if (found === undefined) throw new Error(`no socket on port ${port}${peer === undefined ? '' : ` to ${peer}`}`);
  return found.keepAlive;
}
