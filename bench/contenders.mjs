// What the main bench process and its syscall-path child share: the timing loop, the
// tuning values and a connected loopback socket no other contender touches.
import { once } from 'node:events';
import net from 'node:net';

export const CALLS = 20_000;

/** The two tunings every apply contender alternates, so that every call changes the kernel's values. */
export const TUNING = [
  { enable: true, idle: 5000, interval: 2000, count: 3, userTimeout: 9000 },
  { enable: true, idle: 6000, interval: 3000, count: 4, userTimeout: 9001 },
];

/**
 * ns of CPU time (user + system, as getrusage counts it) per call of fn(i), over `calls`
 * calls. CPU time rather than elapsed time: on a shared machine the elapsed time also
 * counts the time the process waited for a CPU, which differs from one contender to the next.
 */
export function timePerCall(fn, calls = CALLS) {
  const start = process.cpuUsage();
  for (let i = 0; i < calls; i++) fn(i);
  const { user, system } = process.cpuUsage(start);
  return ((user + system) * 1000) / calls;
}

/** A loopback server whose accepted sockets are kept (and closed by `close`). */
export async function loopbackServer() {
  const accepted = [];
  const server = net.createServer((socket) => {
    accepted.push(socket);
    socket.on('error', () => {});
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    /** A new connected client socket, untouched by anyone. */
    async connect() {
      const socket = net.connect(server.address().port, '127.0.0.1');
      await once(socket, 'connect');
      return socket;
    },
    close() {
      for (const socket of accepted) socket.destroy();
      server.close();
    },
  };
}

/** The addon called as the library calls it for a socket: one Node-API call, the five options. */
export function addonApply(addon, fd) {
  return (i) => addon.setKeepAlive(fd, 1, 5 + (i & 1), 2 + (i & 1), 3 + (i & 1), 9000 + (i & 1), true);
}
