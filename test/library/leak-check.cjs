'use strict';
// Run by memory.test.ts as `node --expose-gc leak-check.cjs LIBRARY CALLS`: for each kind
// of call, how much resident memory, V8 heap and open fds grow over CALLS more calls
// after as many warm-up calls (the least of three such windows), with garbage collected
// before each reading. Prints one
// JSON object: { calls, kinds: { [kind]: { rssKiB, heapKiB, fds } } }.
const dgram = require('node:dgram');
const fs = require('node:fs');
const net = require('node:net');
const { once } = require('node:events');
const { setKeepAlive, getKeepAlive, getTcpInfo } = require(process.argv[2]);

const CALLS = Number(process.argv[3]);
if (!global.gc) throw new Error('run with node --expose-gc');
/** Tuning that changes from one call to the next, so every call really sets something. */
const tuning = (call) => ({ idle: 5000 + 1000 * (call & 1), interval: 2000, count: 3, userTimeout: 9000 });
const collectGarbage = () => [1, 2, 3].forEach(() => global.gc());
const openFds = () => fs.readdirSync('/proc/self/fd').length;
/** Calls `fn`, which must throw an error with `code`, and fails loudly otherwise. */
const throwing = (code, fn) => () => {
  try {
    fn();
  } catch (error) {
    if (error.code === code) return;
    throw error;
  }
  throw new Error(`expected ${code}`);
};

async function main() {
  const server = net.createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const socket = net.connect(server.address().port, '127.0.0.1');
  await once(socket, 'connect');
  const fd = socket._handle.fd;
  const udp = dgram.createSocket('udp4').bind(0, '127.0.0.1');
  await once(udp, 'listening');
  const udpState = Object.getOwnPropertySymbols(udp).find((symbol) => symbol.description === 'state symbol');
  const udpFd = udp[udpState].handle.fd;
  // After a first apply, which may open the library's io_uring ring: the ring's fds must
  // not take the closed number.
  setKeepAlive(socket, tuning(0));
  const closedFd = fs.openSync(__filename, 'r');
  fs.closeSync(closedFd);
  const destroyed = new net.Socket();
  destroyed.destroy();

  let i = 0;
  const kinds = {
    'set + get, socket': () => getKeepAlive(setKeepAlive(socket, tuning(i++))),
    'set + get, raw fd': () => {
      setKeepAlive(fd, tuning(i++));
      getKeepAlive(fd);
    },
    'TCP_INFO, socket and raw fd': () => {
      getTcpInfo(socket);
      getTcpInfo(fd);
    },
    'failing: closed fd (EBADF)': throwing('EBADF', () => setKeepAlive(closedFd, tuning(0))),
    'failing: UDP fd (EPROTOTYPE)': throwing('EPROTOTYPE', () => getKeepAlive(udpFd)),
    'failing: TCP_INFO of a UDP fd (EPROTOTYPE)': throwing('EPROTOTYPE', () => getTcpInfo(udpFd)),
    'failing: option out of range': throwing('ERR_OUT_OF_RANGE', () => setKeepAlive(socket, { idle: 1500 })),
    'failing: destroyed socket': throwing('ERR_SOCKET_CLOSED', () => getKeepAlive(destroyed)),
  };
  const growth = {};
  const reading = () => ({ rss: process.memoryUsage.rss(), heap: process.memoryUsage().heapUsed, fds: openFds() });
  for (const [kind, call] of Object.entries(kinds)) {
    for (let n = 0; n < CALLS; n++) call(); // warm-up: compiled code, allocator pools
    // A leak grows memory in every window; the allocator's one-off jumps (a new arena, a
    // trim) land in one window only. So: the least growth over three windows, the most fds.
    const windows = [];
    for (let window = 0; window < 3; window++) {
      collectGarbage();
      const before = reading();
      for (let n = 0; n < CALLS; n++) call();
      collectGarbage();
      const after = reading();
      windows.push({ rss: after.rss - before.rss, heap: after.heap - before.heap, fds: after.fds - before.fds });
    }
    growth[kind] = {
      rssKiB: Math.round(Math.min(...windows.map((w) => w.rss)) / 1024),
      heapKiB: Math.round(Math.min(...windows.map((w) => w.heap)) / 1024),
      fds: Math.max(...windows.map((w) => w.fds)),
    };
  }
  socket.destroy();
  udp.close();
  server.close();
  console.log(JSON.stringify({ calls: CALLS, kinds: growth }));
}

main();
