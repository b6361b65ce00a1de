// What the process-wide default (setDefaultKeepAlive) costs a connection: a loop of
// loopback connect + one echo + close, with the default set and without it (Node's own
// net.Socket.prototype.connect, unwrapped), interleaved round after round in one run;
// short rounds, so that a busy neighbour on a shared machine hits both modes alike; the
// figure is the median of the per-round ratios. Target: at most 1.05x. Run after `npm run build:ts`: node bench/default.mjs
import { once } from 'node:events';
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { getKeepAlive, setDefaultKeepAlive } from 'socket-keepalive';

const ROUNDS = 61;
const CONNECTIONS = 200;
const DEFAULT = { idle: 10_000, interval: 2000, count: 3, userTimeout: 20_000 };
const addon = createRequire(import.meta.url)('node-gyp-build')(path.join(import.meta.dirname, '..'));
// DEFAULT as the addon takes it: SO_KEEPALIVE, idle s, interval s, count, user timeout ms.
const DIRECT_VALUES = [1, 10, 2, 3, 20_000];
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

const server = net.createServer((socket) => {
  socket.on('error', () => {});
  socket.pipe(socket);
});
server.listen(0, '127.0.0.1');
await once(server, 'listening');
const { port } = server.address();

// Node's own connect, and the wrapped one the first setDefaultKeepAlive installs.
const nodeConnect = net.Socket.prototype.connect;
setDefaultKeepAlive(DEFAULT, { servers: false });
const wrappedConnect = net.Socket.prototype.connect;
if (wrappedConnect === nodeConnect) throw new Error('setDefaultKeepAlive did not wrap net.Socket.prototype.connect');

/** Whether each connection gets the five options from one direct addon call at 'connect'. */
let direct = false;

const modes = {
  'without a default (Node unwrapped)': () => {
    setDefaultKeepAlive(null);
    net.Socket.prototype.connect = nodeConnect;
    direct = false;
  },
  'with the default set': () => {
    net.Socket.prototype.connect = wrappedConnect;
    setDefaultKeepAlive(DEFAULT, { servers: false });
    direct = false;
  },
  'with the 5 setsockopt only (addon call)': () => {
    setDefaultKeepAlive(null);
    net.Socket.prototype.connect = nodeConnect;
    direct = true;
  },
};

/** One connection: connect, write one byte, wait for its echo, close. */
function echoOnce(check) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      if (direct) {
        addon.options.set(DIRECT_VALUES);
        addon.setKeepAlive(socket._handle.fd, true);
      }
      if (check) check(socket);
      socket.write('x');
    });
    socket.once('data', () => socket.destroy());
    socket.once('close', resolve);
    socket.once('error', reject);
  });
}

/**
 * Over CONNECTIONS sequential connections: the wall-clock µs of each one, and the CPU µs
 * (user + system; both ends are in this process) per connection.
 */
async function timeConnections() {
  const cpuStart = process.cpuUsage();
  const walls = [];
  for (let i = 0; i < CONNECTIONS; i++) {
    const start = process.hrtime.bigint();
    await echoOnce();
    walls.push(Number(process.hrtime.bigint() - start) / 1000);
  }
  const { user, system } = process.cpuUsage(cpuStart);
  return { walls, wall: walls.reduce((sum, wall) => sum + wall, 0) / CONNECTIONS, cpu: (user + system) / CONNECTIONS };
}

// Each mode must do what it says, checked once by reading the kernel.
for (const [name, enter] of Object.entries(modes)) {
  enter();
  await echoOnce((socket) => {
    const enabled = getKeepAlive(socket).enable;
    if (enabled !== name.startsWith('with the'))
      throw new Error(`${name}: keepalive ${enabled ? 'on' : 'off'} at connect`);
  });
}

/**
 * µs the default spends at a connection's attempt: Node's TCP handle `connect`, which the
 * library wraps once (on Node the default tunes there, in SYN-SENT), timed on alternate
 * connections with the default set and cleared (the wrapper then finds no default), and
 * the same five setsockopt made by one direct addon call on a connected socket. Medians
 * over connections, as a time slice taken by another process would swamp a mean.
 */
async function timeAttempt() {
  modes['with the default set']();
  const first = net.connect(port, '127.0.0.1');
  await once(first, 'connect');
  const handleClass = Object.getPrototypeOf(first._handle);
  first.destroy();
  const libraryConnect = handleClass.connect;
  const spent = { withDefault: [], cleared: [], addon: [] };
  let timing = 'withDefault';
  handleClass.connect = function timedConnect(...args) {
    const start = process.hrtime.bigint();
    const result = libraryConnect.apply(this, args);
    spent[timing].push(Number(process.hrtime.bigint() - start) / 1000);
    return result;
  };
  try {
    for (let i = 0; i < CONNECTIONS * 10; i++) {
      timing = i % 2 === 0 ? 'withDefault' : 'cleared';
      setDefaultKeepAlive(timing === 'withDefault' ? DEFAULT : null, { servers: false });
      await echoOnce((socket) => {
        if (getKeepAlive(socket).enable !== (timing === 'withDefault'))
          throw new Error(`${timing}: the attempt hook did not do what the default says`);
        if (timing === 'cleared') {
          const start = process.hrtime.bigint();
          addon.options.set(DIRECT_VALUES);
          addon.setKeepAlive(socket._handle.fd, true);
          spent.addon.push(Number(process.hrtime.bigint() - start) / 1000);
        }
      });
    }
  } finally {
    handleClass.connect = libraryConnect;
  }
  return { tuning: median(spent.withDefault) - median(spent.cleared), addon: median(spent.addon) };
}

const samples = Object.fromEntries(Object.keys(modes).map((name) => [name, []]));
for (const enter of Object.values(modes)) {
  enter();
  await timeConnections(); // warm-up
}
for (let round = 0; round < ROUNDS; round++) {
  // Alternate the order, so that neither mode always runs first in a round.
  const order = round % 2 === 0 ? Object.entries(modes) : Object.entries(modes).reverse();
  for (const [name, enter] of order) {
    enter();
    samples[name].push(await timeConnections());
  }
}
const atAttempt = await timeAttempt();
server.close();
setDefaultKeepAlive(null);
net.Socket.prototype.connect = nodeConnect;

const names = Object.keys(modes);
console.log(
  `\nµs per loopback connect + one echo + close, ${ROUNDS} interleaved rounds of ${CONNECTIONS}; medians of rounds, and of connections for "typical" (${os.cpus().length} CPU, Node ${process.version})`,
);
console.log(`  ${''.padEnd(36)} ${'wall'.padStart(8)} ${'CPU'.padStart(8)} ${'typical'.padStart(8)}`);
/** The median wall time of one connection, over every connection of every round of a mode. */
const typical = (name) => median(samples[name].flatMap((sample) => sample.walls));
for (const [name, values] of Object.entries(samples)) {
  const wall = median(values.map((sample) => sample.wall));
  const cpu = median(values.map((sample) => sample.cpu));
  console.log(
    `  ${name.padEnd(36)} ${wall.toFixed(1).padStart(8)} ${cpu.toFixed(1).padStart(8)} ${typical(name).toFixed(1).padStart(8)}`,
  );
}
const cpuWithout = median(samples[names[0]].map((sample) => sample.cpu));
const cpuAdded = median(samples[names[1]].map((sample, round) => sample.cpu - samples[names[0]][round].cpu));
console.log(
  `  at the attempt, the default's tuning:   ${atAttempt.tuning.toFixed(1).padStart(8)} µs (median with it set, less cleared), ${((atAttempt.tuning / cpuWithout) * 100).toFixed(1)}% of a connection's CPU time`,
);
console.log(
  `  the 5 setsockopt alone:                 ${atAttempt.addon.toFixed(1).padStart(8)} µs (median; one direct addon call)`,
);
console.log(
  `  CPU the default adds to a connection:   ${cpuAdded.toFixed(1).padStart(8)} µs (median of round differences)`,
);
const cpuOverDirect = median(samples[names[1]].map((sample, round) => sample.cpu - samples[names[2]][round].cpu));
console.log(
  `  CPU the default adds over the same options set by a direct addon call: ${cpuOverDirect.toFixed(1)} µs (median of round differences)`,
);
const added = cpuAdded / atAttempt.addon;
console.log(
  `  default's added CPU within 1.25x of its 5 setsockopt:      ${added.toFixed(2)}x  ${added <= 1.25 ? 'PASS' : 'MISS'}`,
);
// Each round's ratio compares two runs a few ms apart; a busy neighbour on a shared
// machine stretches wall time far more than CPU time, and the typical (median) connection
// least of all, as a time slice taken by another process lands on few connections.
const verdict = (label, ratio) =>
  console.log(
    `  default within 1.05x of no default, ${label.padEnd(38)} ${ratio.toFixed(3)}x  ${ratio <= 1.05 ? 'PASS' : 'MISS'}`,
  );
for (const measure of ['cpu', 'wall']) {
  verdict(
    `${measure === 'cpu' ? 'CPU' : 'wall'} time (median of round ratios):`,
    median(samples[names[1]].map((sample, round) => sample[measure] / samples[names[0]][round][measure])),
  );
}
verdict('typical connection (median wall time):', typical(names[1]) / typical(names[0]));
