// Memory use of the library, printed as one JSON object (run with --expose-gc):
// - rssGrowthMiB: resident memory growth over CALLS / 2 apply + read calls on one
//   connected socket (the lesser of two such windows), after a warm-up, with garbage
//   collected before each reading;
// - bytesPerTunedSocket: heap the library retains per tuned socket (state, listener,
//   wrapped setKeepAlive), from SOCKETS sockets tuned vs as many untuned ones.
import { once } from 'node:events';
import net from 'node:net';
import { getKeepAlive, setKeepAlive } from 'socket-keepalive';

const CALLS = Number(process.argv[2] ?? 1_000_000);
const SOCKETS = 10_000;
const TUNING = [
  { idle: 5000, interval: 2000, count: 3, userTimeout: 9000 },
  { idle: 6000, interval: 3000, count: 4, userTimeout: 9001 },
];
if (!global.gc) throw new Error('run with node --expose-gc');
const settle = () => {
  for (let i = 0; i < 3; i++) global.gc();
};

const server = net.createServer().listen(0, '127.0.0.1');
await once(server, 'listening');
const socket = net.connect(server.address().port, '127.0.0.1');
await once(socket, 'connect');

const run = (calls) => {
  for (let i = 0; i < calls; i++) {
    setKeepAlive(socket, TUNING[i & 1]);
    getKeepAlive(socket);
  }
};
run(100_000);
// A leak grows memory in every window; the allocator's one-off jumps land in one window
// only: report the lesser growth of two windows of CALLS / 2.
const windowGrowth = () => {
  settle();
  const before = process.memoryUsage().rss;
  run(CALLS / 2);
  settle();
  return process.memoryUsage().rss - before;
};
const rssGrowthMiB = Math.min(windowGrowth(), windowGrowth()) / 2 ** 20;
socket.destroy();
server.close();

const heapWith = (tune) => {
  settle();
  const before = process.memoryUsage().heapUsed;
  const sockets = Array.from({ length: SOCKETS }, () => {
    const pending = new net.Socket();
    if (tune) setKeepAlive(pending, TUNING[0]);
    return pending;
  });
  settle();
  const used = process.memoryUsage().heapUsed - before;
  for (const pending of sockets) pending.destroy();
  return used;
};
heapWith(true); // warm-up: compile the tuned path before measuring
const untuned = heapWith(false);
const tuned = heapWith(true);
console.log(
  JSON.stringify({ calls: CALLS, rssGrowthMiB, sockets: SOCKETS, bytesPerTunedSocket: (tuned - untuned) / SOCKETS }),
);
