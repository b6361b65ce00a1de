/** `socket-keepalive server`: an echo server that shows each connection's keepalive and fate. */
import net from 'node:net';
import { getKeepAlive, type KeepAliveOptions, setKeepAlive } from 'socket-keepalive';
import { integer, parse, UsageError } from './args.js';
import { formatDuration, formatState } from './format.js';

export const SERVER_USAGE = `Usage: socket-keepalive server [options]

An echo server. Prints each connection as it comes (peer, keepalive values read back
from the kernel) and goes (how it ended, after how long). Runs until Ctrl-C.

Options:
  --host ADDR            address to listen on (default 127.0.0.1)
  --port N               port (default 7654; 0 picks a free one)
  --idle MS              keepalive idle time on the listener, ms, whole seconds
  --interval MS          keepalive probe interval on the listener, ms, whole seconds
  --count N              keepalive probes before the connection is dropped (1-127)
  --user-timeout MS      TCP_USER_TIMEOUT on the listener, ms (0 = system default)
  --json                 one JSON object per line instead of text
  -h, --help             this help

Options given for the listener are inherited by every accepted connection.
Exit codes: 0 stopped by a signal, 1 could not listen, 2 bad arguments.`;

/** Keepalive options from --idle/--interval/--count/--user-timeout, as given. */
export function keepAliveFlags(values: Record<string, string | boolean | undefined>): KeepAliveOptions {
  const options: KeepAliveOptions = {};
  const flags: [keyof KeepAliveOptions, string, number][] = [
    ['idle', 'idle', 2_147_483_647],
    ['interval', 'interval', 2_147_483_647],
    ['count', 'count', 2_147_483_647],
    ['userTimeout', 'user-timeout', 2_147_483_647],
  ];
  for (const [key, flag, max] of flags) {
    const value = integer(flag, values[flag] as string | undefined, 0, max);
    if (value !== undefined) (options as Record<string, number>)[key] = value;
  }
  return options;
}

export const KEEPALIVE_FLAG_SPEC = {
  idle: { type: 'string' },
  interval: { type: 'string' },
  count: { type: 'string' },
  'user-timeout': { type: 'string' },
} as const;

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
  const port = integer('port', values.port, 0, 65535) as number;
  const options = keepAliveFlags(values);
  const print = (event: Record<string, unknown>, text: string) =>
    console.log(values.json ? JSON.stringify({ time: Date.now(), ...event }) : text);

  const open = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    open.add(socket);
    const peer = `${socket.remoteAddress}:${socket.remotePort}`;
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
      print({ event: 'close', peer, code: code ?? null, durationMs }, `- ${peer}  ${code ?? 'closed'} after ${formatDuration(durationMs)}`);
    });
  });
  try {
    setKeepAlive(server, options);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const listening = new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  server.listen(port, values.host);
  try {
    await listening;
  } catch (error) {
    console.error(`socket-keepalive server: cannot listen on ${values.host}:${port}: ${(error as Error).message}`);
    return 1;
  }
  const address = server.address() as net.AddressInfo;
  const keepalive = getKeepAlive(server);
  print(
    { event: 'listening', host: address.address, port: address.port, keepalive },
    `listening on ${address.address}:${address.port}  listener keepalive ${formatState(keepalive)}`,
  );
  await new Promise<void>((resolve) => {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => resolve());
  });
  server.close();
  for (const socket of open) socket.destroy();
  return 0;
}
