/** `socket-keepalive server`: an echo server that shows each connection's keepalive and fate. */
import * as net from 'node:net';
import { getKeepAlive, setKeepAlive } from 'socket-keepalive';
import { formatEndpoint } from 'socket-keepalive/text';
import { integer, parse } from './args.js';
import { KEEPALIVE_FLAG_SPEC, keepAliveFlags, keepAliveFlagUsage } from './flags.js';
import { formatDuration, formatState } from './format.js';

const SERVER_USAGE = `Usage: socket-keepalive server [options]

An echo server. Prints each connection as it comes (peer, keepalive values read back
from the kernel) and goes (how it ended, after how long). Runs until Ctrl-C.

Options:
  --host ADDR            address to listen on (default 127.0.0.1)
  --port N               port (default 7654; 0 picks a free one)
${keepAliveFlagUsage()}
  --json                 one JSON object per line instead of text
  -h, --help             this help

TIME: a whole number with its unit, 10s, 1500ms or 2m (a bare number other than 0 is
refused), as in SOCKET_KEEPALIVE.
The keepalive options are set on the listener, and inherited by every accepted connection.
Exit codes: 0 stopped by a signal, 1 could not listen, 2 bad arguments.`;

export async function serverCommand(argv: string[]): Promise<number> {
  const { values } = parse(argv, {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '7654' },
    ...KEEPALIVE_FLAG_SPEC,
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    console.log(SERVER_USAGE);
    return 0;
  }
  const port = integer('--port', values.port, 0, 65535) as number;
  const options = keepAliveFlags(values);
  const print = (event: Record<string, unknown>, text: string) =>
    console.log(values.json ? JSON.stringify({ time: Date.now(), ...event }) : text);

  const open = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    open.add(socket);
    const peer = formatEndpoint(socket.remoteAddress, socket.remotePort);
    const openedAt = Date.now();
    const keepalive = getKeepAlive(socket);
    let code: string | undefined;
    print({ event: 'connection', peer, keepalive }, `+ ${peer}  ${formatState(keepalive)}`);
    socket.pipe(socket);
    socket.on('error', (error: NodeJS.ErrnoException) => {
      code = error.code;
    });
    socket.on('close', () => {
      open.delete(socket);
      const durationMs = Date.now() - openedAt;
      const text = `- ${peer}  ${code ?? 'closed'} after ${formatDuration(durationMs)}`;
      print({ event: 'close', peer, code: code ?? null, durationMs }, text);
    });
  });
  setKeepAlive(server, options);
  const listening = new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  server.listen(port, values.host);
  try {
    await listening;
  } catch (error) {
    const address = formatEndpoint(values.host, port);
    console.error(`socket-keepalive server: cannot listen on ${address}: ${(error as Error).message}`);
    return 1;
  }
  const address = server.address() as net.AddressInfo;
  const keepalive = getKeepAlive(server);
  print(
    { event: 'listening', host: address.address, port: address.port, keepalive },
    `listening on ${formatEndpoint(address.address, address.port)}  listener keepalive ${formatState(keepalive)}`,
  );
  await new Promise<void>((resolve) => {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => resolve());
  });
  server.close();
  for (const socket of open) socket.destroy();
  return 0;
}
