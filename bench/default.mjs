// What the process-wide default (setDefaultKeepAlive) costs a connection: loopback
// connect + one echo + close, both ends in this process, the CPU time (user + system) of
// each connection read with process.cpuUsage() around it. Three modes alternate
// connection by connection, in a rotating order, so that a busy neighbour or a drift of
// the machine hits them alike:
//   - no default: the library's wrappers installed, the default cleared;
//   - the default set (it tunes each connection in SYN-SENT, at the attempt);
//   - the same five setsockopt made by a bare wrapper of Node's TCP handle `connect` that
//     calls the addon directly, with no default: what the options themselves cost a
//     connection, in the system calls and in what the kernel then does for such a socket.
// Every mode makes the same two setDefaultKeepAlive calls before its connection (set and
// clear, or clear and set), so switching costs them alike. Then, in rounds, the wrappers'
// cost with no default against Node's own prototypes, unwrapped.
// Targets: the default's added CPU within 1.25x of its five setsockopt's; the default
// within 1.05x of Node unwrapped. Run after `npm run build:ts`: node bench/default.mjs
import { once } from 'node:events';
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { getKeepAlive, setDefaultKeepAlive } from 'socket-keepalive';

const CONNECTIONS_PER_MODE = 12_000;
const WARM_UP = 3000;
const ROUNDS = 21;
const ROUND_CONNECTIONS = 600;
const DEFAULT = { idle: 10_000, interval: 2000, count: 3, userTimeout: 20_000 };
const addon = createRequire(import.meta.url)('node-gyp-build')(path.join(import.meta.dirname, '..'));
// DEFAULT as the addon takes it: SO_KEEPALIVE, idle s, interval s, count, user timeout ms.
const DIRECT_VALUES = [1, 10, 2, 3, 20_000];
const sorted = (values) => [...values].sort((a, b) => a - b);
const median = (values) => sorted(values)[Math.floor(values.length / 2)];
/**
 * The mean of the lowest 80%: getrusage counts whole µs and a connection that lost its
 * CPU to another process lands in the top fifth; the cut is the same for every mode.
 */
const lowMean = (values) => {
  const kept = sorted(values).slice(0, Math.floor(values.length * 0.8));
  return kept.reduce((sum, value) => sum + value, 0) / kept.length;
};

const server = net.createServer((socket) => {
  socket.on('error', () => {});
  socket.pipe(socket);
});
server.listen(0, '127.0.0.1');
await once(server, 'listening');
const { port } = server.address();

// Node's own prototypes, before the library wraps any of them.
const probe = net.connect(port, '127.0.0.1');
await once(probe, 'connect');
const handlePrototype = Object.getPrototypeOf(probe._handle);
probe.destroy();
const patched = [
  [net.Socket.prototype, 'connect'],
  [net.Socket.prototype, 'setKeepAlive'],
  [net.Socket.prototype, '_destroy'],
  [net.Server.prototype, 'listen'],
  [handlePrototype, 'connect'],
  [handlePrototype, 'connect6'],
];
const nodeOwn = patched.map(([prototype, name]) => prototype[name]);

// The first default installs every wrapper; a tuned connection wraps the handle's connect.
setDefaultKeepAlive(DEFAULT, { servers: false });
const first = net.connect(port, '127.0.0.1');
await once(first, 'connect');
first.destroy();
setDefaultKeepAlive(null);
const libraryConnect = handlePrototype.connect;
if (libraryConnect === nodeOwn[4]) throw new Error('the default did not wrap the TCP handle connect');

/** Whether the bare wrapper sets the five options at the attempt, and whether it times them. */
let bare = false;
let timed = false;
const bareCallMicroseconds = [];
handlePrototype.connect = function bareAttempt(...args) {
  const result = libraryConnect.apply(this, args);
  if (bare && timed) {
    const start = process.hrtime.bigint();
    addon.options.set(DIRECT_VALUES);
    addon.setKeepAlive(this.fd, true);
    bareCallMicroseconds.push(Number(process.hrtime.bigint() - start) / 1000);
  } else if (bare) {
    addon.options.set(DIRECT_VALUES);
    addon.setKeepAlive(this.fd, true);
  }
  return result;
};
// The library's own wrappers (the handle's connect without the bare one over it).
const wrapped = patched.map(([prototype, name]) => prototype[name]);
wrapped[4] = libraryConnect;
const withBare = patched.map(([prototype, name]) => prototype[name]);

const modes = {
  'no default (wrappers installed)': () => {
    setDefaultKeepAlive(DEFAULT, { servers: false });
    setDefaultKeepAlive(null);
    bare = false;
  },
  'the default set': () => {
    setDefaultKeepAlive(null);
    setDefaultKeepAlive(DEFAULT, { servers: false });
    bare = false;
  },
  'five setsockopt, bare, at the attempt': () => {
    setDefaultKeepAlive(DEFAULT, { servers: false });
    setDefaultKeepAlive(null);
    bare = true;
  },
};
const names = Object.keys(modes);
const [NONE, WITH_DEFAULT, BARE] = names;

/** One connection: connect, write one byte, wait for its echo, close. */
function echoOnce(check) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      if (check) check(socket);
      socket.write('x');
    });
    socket.once('data', () => socket.destroy());
    socket.once('close', resolve);
    socket.once('error', reject);
  });
}

/** µs of CPU time one connection took. */
async function connectionCpu() {
  const start = process.cpuUsage();
  await echoOnce();
  const { user, system } = process.cpuUsage(start);
  return user + system;
}

// Each mode must do what it says, checked once by reading the kernel at 'connect'.
for (const name of names) {
  modes[name]();
  await echoOnce((socket) => {
    if (getKeepAlive(socket).enable !== (name !== NONE)) throw new Error(`${name}: keepalive is not as the mode says`);
  });
}

const samples = Object.fromEntries(names.map((name) => [name, []]));
for (let i = 0; i < WARM_UP + CONNECTIONS_PER_MODE * names.length; i++) {
  const cycle = Math.floor(i / names.length);
  const name = names[(i + cycle) % names.length];
  modes[name]();
  const cpu = await connectionCpu();
  if (i >= WARM_UP) samples[name].push(cpu);
}
const cpu = Object.fromEntries(names.map((name) => [name, lowMean(samples[name])]));

// The time inside the five calls alone, on connections of their own (timing costs too).
modes[BARE]();
timed = true;
for (let i = 0; i < 2000; i++) await echoOnce();
timed = false;

/**
 * The wrappers with no default against Node's own prototypes: rounds of connections in
 * each state (putting the prototypes back costs V8 its optimized code, so the state
 * changes per round, not per connection); the median of the per-round differences.
 */
const idleCost = [];
const install = (functions) => {
  for (const [i, [prototype, name]] of patched.entries()) prototype[name] = functions[i];
};
setDefaultKeepAlive(null);
bare = false;
for (let round = 0; round < ROUNDS; round++) {
  const perState = {};
  for (const [state, functions] of round % 2 === 0
    ? [
        ['node', nodeOwn],
        ['wrapped', wrapped],
      ]
    : [
        ['wrapped', wrapped],
        ['node', nodeOwn],
      ]) {
    install(functions);
    const values = [];
    for (let i = 0; i < ROUND_CONNECTIONS; i++) values.push(await connectionCpu());
    perState[state] = lowMean(values.slice(ROUND_CONNECTIONS / 5));
  }
  idleCost.push(perState.wrapped - perState.node);
}
install(withBare);
server.close();

const wrappersIdle = median(idleCost);
const defaultAdds = cpu[WITH_DEFAULT] - cpu[NONE];
const optionsAdd = cpu[BARE] - cpu[NONE];
const unwrapped = cpu[NONE] - wrappersIdle;
console.log(
  `\nCPU µs per loopback connect + one echo + close (both ends), ${CONNECTIONS_PER_MODE} connections per mode, ` +
    `alternating; mean of each mode's lowest 80% (${os.cpus().length} CPU, Node ${process.version})`,
);
for (const name of names) {
  console.log(
    `  ${name.padEnd(40)} ${cpu[name].toFixed(2).padStart(8)}   (median ${median(samples[name]).toFixed(0)})`,
  );
}
console.log(
  `  the wrappers with no default, over Node's own prototypes: ${wrappersIdle.toFixed(2)} µs ` +
    `(median of ${ROUNDS} rounds of ${ROUND_CONNECTIONS})`,
);
console.log(`  CPU the five setsockopt add to a connection:   ${optionsAdd.toFixed(2).padStart(6)} µs`);
console.log(
  `    of which inside the calls (median, hrtime):    ${median(bareCallMicroseconds).toFixed(2).padStart(6)} µs`,
);
console.log(`  CPU the default adds to a connection:           ${defaultAdds.toFixed(2).padStart(6)} µs`);
console.log(
  `  the default's own JavaScript (over the bare):    ${(defaultAdds - optionsAdd).toFixed(2).padStart(6)} µs`,
);
const verdict = (label, ratio, limit) =>
  console.log(`  ${label.padEnd(64)} ${ratio.toFixed(3)}x  ${ratio <= limit ? 'PASS' : 'MISS'}`);
verdict("the default's added CPU within 1.25x of its five setsockopt's", defaultAdds / optionsAdd, 1.25);
verdict('a connection with the default within 1.05x of Node unwrapped', cpu[WITH_DEFAULT] / unwrapped, 1.05);
