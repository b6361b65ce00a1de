// `npm run bench`: what one keepalive apply, read and accept cost, against the syscall
// floor and the other packages, measured in one run and printed as ratios. Contenders
// run interleaved, round after round, and each figure is the median of its rounds, so
// a noisy neighbour slows every contender alike rather than one of them.
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { getKeepAlive, getTcpInfo, setKeepAlive } from 'socket-keepalive';

const require = createRequire(import.meta.url);
const ROUNDS = 7;
const CALLS = 20_000;
const CONNECTIONS = 10_000;
const TUNING = [
  { enable: true, idle: 5000, interval: 2000, count: 3, userTimeout: 9000 },
  { enable: true, idle: 6000, interval: 3000, count: 4, userTimeout: 9001 },
];

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const optional = (name) => {
  try {
    return require(name);
  } catch (error) {
    console.log(`(${name} could not be loaded: ${error.message.split('\n')[0]}; its rows are left out)`);
    return undefined;
  }
};

/** ns per call of fn(i) over CALLS calls. */
function timePerCall(fn) {
  const start = process.hrtime.bigint();
  for (let i = 0; i < CALLS; i++) fn(i);
  return Number(process.hrtime.bigint() - start) / CALLS;
}

function buildFloor() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ska-bench-'));
  const binary = path.join(dir, 'floor');
  execFileSync('cc', ['-O2', '-o', binary, path.join(import.meta.dirname ?? path.dirname(new URL(import.meta.url).pathname), 'floor.c')]);
  return { binary, dir };
}

async function connectedPair() {
  const server = net.createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const socket = net.connect(server.address().port, '127.0.0.1');
  const [accepted] = await Promise.all([once(server, 'connection').then(([s]) => s), once(socket, 'connect')]);
  return { server, socket, accepted };
}

async function applyAndRead() {
  const netKeepAlive = optional('net-keepalive');
  const sockopt = optional('sockopt');
  const { binary, dir } = buildFloor();
  const { server, socket, accepted } = await connectedPair();
  const fd = socket._handle.fd;
  const addon = require('node-gyp-build')(path.join(import.meta.dirname, '..'));
  const { IPPROTO_TCP = 6, SOL_SOCKET = 1 } = {};
  const [SO_KEEPALIVE, TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT, TCP_USER_TIMEOUT] = [9, 4, 5, 6, 18];

  const contenders = {
    'C floor (5 x setsockopt)': () => Number(execFileSync(binary, [String(CALLS)], { encoding: 'utf8' })),
    // The addon alone, as the library calls it for a socket: one Node-API call, 5 setsockopt.
    'addon alone (no validation, no state)': () =>
      timePerCall((i) => addon.setKeepAlive(fd, 1, 5 + (i & 1), 2 + (i & 1), 3 + (i & 1), 9000 + (i & 1), true)),
    'socket-keepalive setKeepAlive': () => timePerCall((i) => setKeepAlive(socket, TUNING[i & 1])),
    'socket-keepalive setKeepAlive (fd)': () => timePerCall((i) => setKeepAlive(fd, TUNING[i & 1])),
    "Node's socket.setKeepAlive(true, ms)": () => timePerCall((i) => socket.setKeepAlive(true, TUNING[i & 1].idle)),
  };
  if (netKeepAlive) {
    // net-keepalive sets interval, probes and user timeout; idle and the switch go through Node.
    contenders['net-keepalive (+ Node for idle)'] = () =>
      timePerCall((i) => {
        const t = TUNING[i & 1];
        socket.setKeepAlive(true, t.idle);
        netKeepAlive.setKeepAliveInterval(socket, t.interval);
        netKeepAlive.setKeepAliveProbes(socket, t.count);
        netKeepAlive.setUserTimeout(socket, t.userTimeout);
      });
  }
  if (sockopt) {
    // sockopt takes raw levels, names and kernel units from its user.
    contenders['sockopt (5 x setsockopt)'] = () =>
      timePerCall((i) => {
        const t = TUNING[i & 1];
        sockopt.setsockopt(socket, IPPROTO_TCP, TCP_KEEPIDLE, t.idle / 1000);
        sockopt.setsockopt(socket, IPPROTO_TCP, TCP_KEEPINTVL, t.interval / 1000);
        sockopt.setsockopt(socket, IPPROTO_TCP, TCP_KEEPCNT, t.count);
        sockopt.setsockopt(socket, IPPROTO_TCP, TCP_USER_TIMEOUT, t.userTimeout);
        sockopt.setsockopt(socket, SOL_SOCKET, SO_KEEPALIVE, 1);
      });
  }
  const readers = {
    getKeepAlive: () => timePerCall(() => getKeepAlive(socket)),
    getTcpInfo: () => timePerCall(() => getTcpInfo(socket)),
  };
  const all = { ...contenders, ...readers };
  const samples = Object.fromEntries(Object.keys(all).map((name) => [name, []]));
  for (const run of Object.values(all)) run(); // warm-up
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, run] of Object.entries(all)) samples[name].push(run());
  }
  socket.destroy();
  accepted.destroy();
  server.close();
  fs.rmSync(dir, { recursive: true, force: true });
  return Object.fromEntries(Object.entries(samples).map(([name, values]) => [name, median(values)]));
}

/** ms to accept CONNECTIONS connections, 50 at a time; the server closes each one it accepts. */
async function acceptRun(mode) {
  const server = net.createServer();
  if (mode === 'listener') setKeepAlive(server, TUNING[0]);
  let accepted = 0;
  let done;
  const finished = new Promise((resolve) => (done = resolve));
  server.on('connection', (socket) => {
    if (mode === 'per-connection') setKeepAlive(socket, TUNING[0]);
    socket.on('error', () => {});
    socket.destroy();
    if (++accepted === CONNECTIONS) done();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = server.address().port;
  const start = process.hrtime.bigint();
  let opened = 0;
  const open = () => {
    if (opened >= CONNECTIONS) return;
    opened++;
    const client = net.connect(port, '127.0.0.1');
    client.on('error', () => {});
    client.on('close', open);
  };
  for (let i = 0; i < 50; i++) open();
  await finished;
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  server.close();
  return ms;
}

async function accepts() {
  const modes = ['untuned', 'per-connection', 'listener'];
  const samples = Object.fromEntries(modes.map((mode) => [mode, []]));
  await acceptRun('untuned'); // warm-up
  for (let round = 0; round < 5; round++) for (const mode of modes) samples[mode].push(await acceptRun(mode));
  return Object.fromEntries(modes.map((mode) => [mode, median(samples[mode])]));
}

const verdict = (ratio, target, lowerIsBetter = true) => ((lowerIsBetter ? ratio <= target : ratio >= target) ? 'PASS' : 'MISS');
const cpu = (fs.readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.*)/) ?? [])[1] ?? os.arch();
console.log(`machine: ${os.cpus().length} CPU (${cpu}), Linux ${os.release()}, Node ${process.version}`);
console.log(`${ROUNDS} interleaved rounds of ${CALLS} calls each; medians\n`);

const apply = await applyAndRead();
const floor = apply['C floor (5 x setsockopt)'];
const library = apply['socket-keepalive setKeepAlive'];
console.log('ns per full apply (SO_KEEPALIVE, idle, interval, count, user timeout) and per read');
for (const [name, ns] of Object.entries(apply)) {
  console.log(`  ${name.padEnd(40)} ${ns.toFixed(0).padStart(7)} ns   ${(ns / floor).toFixed(2)}x the C floor`);
}
const connections = await accepts();
console.log(`\nms to accept ${CONNECTIONS} connections on loopback (5 interleaved rounds; medians)`);
for (const [mode, ms] of Object.entries(connections)) {
  console.log(`  ${mode.padEnd(40)} ${ms.toFixed(0).padStart(7)} ms   ${(ms / connections.untuned).toFixed(3)}x untuned`);
}

console.log('\ntargets');
const ratioFloor = library / floor;
console.log(`  full apply within 1.15x of the C floor:        ${ratioFloor.toFixed(2)}x  ${verdict(ratioFloor, 1.15)}`);
const netKeepAlive = apply['net-keepalive (+ Node for idle)'];
if (netKeepAlive) {
  const speedup = netKeepAlive / library;
  console.log(`  at least 5x faster than net-keepalive:         ${speedup.toFixed(1)}x  ${verdict(speedup, 5, false)}`);
}
const listenerRatio = connections.listener / connections.untuned;
console.log(`  listener tuning within 1.05x of untuned accept: ${listenerRatio.toFixed(3)}x  ${verdict(listenerRatio, 1.05)}`);
