// `npm run bench`: what one keepalive apply and one read cost, against the kernel's floor
// measured in C, and against Node's own call and the other packages; then what tuning
// costs when accepting connections. Contenders run interleaved, round after round, and
// each figure is the median of its rounds, so a noisy neighbour slows every contender
// alike rather than one of them. Each contender gets a socket no other contender has
// touched. The targets printed at the end are not test assertions.
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { getKeepAlive, getTcpInfo, setKeepAlive } from 'socket-keepalive';

const require = createRequire(import.meta.url);
const ROUNDS = 15;
const CALLS = 20_000;
const FRESH_SOCKETS = 2000; // per round, for the first apply on a fresh socket
// Connections opened at once: below the listen backlog (511), so that none waits for a
// SYN or ACK the kernel dropped from a full accept queue. 2000 at once overflowed it
// about 120,000 times in one run (nstat TcpExtListenOverflows; 12,600 with batches of
// 200), 95,000 retransmission timeouts followed, on this CPU during later rows, and
// 1,600 connections were aborted by their timeouts (TcpExtTCPAbortOnTimeout; none with
// batches).
const CONNECT_BATCH = 200;
const CONNECTIONS = 10_000;
const NODE_ROW = "Node's socket.setKeepAlive(true, ms)";
const FLOOR = 'C: 5 x setsockopt (the floor)';
const C_LOOP_IN_NODE = 'C: the same loop inside Node (one Node-API call)';
const READ_FLOOR = 'C: 5 x getsockopt (the read floor)';

/** The two tunings every apply contender alternates, so that every call changes the kernel's values. */
const TUNING = [
  { enable: true, idle: 5000, interval: 2000, count: 3, userTimeout: 9000 },
  { enable: true, idle: 6000, interval: 3000, count: 4, userTimeout: 9001 },
];

/**
 * ns of CPU time (user + system, as getrusage counts it) per call of fn(i), over `calls`
 * calls. CPU time rather than elapsed time: on a shared machine the elapsed time also
 * counts the time the process waited for a CPU, which differs from one contender to the next.
 */
function timePerCall(fn, calls = CALLS) {
  const start = process.cpuUsage();
  for (let i = 0; i < calls; i++) fn(i);
  const { user, system } = process.cpuUsage(start);
  return ((user + system) * 1000) / calls;
}

/** A loopback server whose accepted sockets are kept (and closed by `close`). */
async function loopbackServer() {
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

/**
 * The addon called as the library calls it: the five options (SO_KEEPALIVE, idle s,
 * interval s, count, user timeout ms) written to its `options` array, then one Node-API
 * call with the fd.
 */
function addonApply(addon, fd, i, knownTcp = true) {
  const { options } = addon;
  options[0] = 1;
  options[1] = 5 + (i & 1);
  options[2] = 2 + (i & 1);
  options[3] = 3 + (i & 1);
  options[4] = 9000 + (i & 1);
  return addon.setKeepAlive(fd, knownTcp);
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const optional = (name) => {
  try {
    return require(name);
  } catch (error) {
    console.log(`(${name} could not be loaded: ${error.message.split('\n')[0]}; its rows are left out)`);
    return undefined;
  }
};

function buildFloor() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ska-bench-'));
  const binary = path.join(dir, 'floor');
  const source = path.join(import.meta.dirname, 'floor.c');
  execFileSync('cc', ['-O2', '-o', binary, source]);
  const insideNode = path.join(dir, 'floor.node');
  const headers = require('node-api-headers').include_dir;
  execFileSync('cc', ['-O2', '-shared', '-fPIC', '-DFLOOR_ADDON', `-I${headers}`, '-o', insideNode, source]);
  return { binary, dir, insideNode: require(insideNode) };
}

/** Packets dropped from the kernel's per-CPU input queues, which loopback's packets pass through, from /proc/net/softnet_stat. */
function inputQueueDrops() {
  return fs
    .readFileSync('/proc/net/softnet_stat', 'utf8')
    .trim()
    .split('\n')
    .reduce((sum, line) => sum + Number.parseInt(line.split(' ')[1], 16), 0);
}

/** Whether page-table isolation is on: every kernel exit then flushes the TLB. */
function pageTableIsolation() {
  const read = (file) => {
    try {
      return fs.readFileSync(file, 'utf8').trim();
    } catch {
      return 'unreadable';
    }
  };
  const meltdown = read('/sys/devices/system/cpu/vulnerabilities/meltdown');
  const flags = /^flags\s*:(.*)$/m.exec(read('/proc/cpuinfo'))?.[1].split(/\s+/) ?? [];
  let dmesg;
  try {
    dmesg = execFileSync('dmesg', { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
      .split('\n')
      .find((line) => /page table(s)? isolation/i.test(line))
      ?.replace(/^\[[^\]]*\]\s*/, '');
  } catch {
    dmesg = undefined;
  }
  const on = /PTI/.test(meltdown) || flags.includes('pti');
  return `${on ? 'on' : 'off'} (meltdown: "${meltdown}"; pti in /proc/cpuinfo flags: ${flags.includes('pti') ? 'yes' : 'no'}; dmesg: ${dmesg ? `"${dmesg}"` : 'nothing on it'})`;
}

async function applyAndRead() {
  const netKeepAlive = optional('net-keepalive');
  const sockopt = optional('sockopt');
  const addon = require('node-gyp-build')(path.join(import.meta.dirname, '..'));
  const { binary, dir, insideNode } = buildFloor();
  const floor = (mode) => () => Number(execFileSync(binary, [mode, String(CALLS)], { encoding: 'utf8' }));
  const server = await loopbackServer();
  const socket = () => server.connect();
  const [SOL_SOCKET, IPPROTO_TCP] = [1, 6];
  const [SO_KEEPALIVE, TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT, TCP_USER_TIMEOUT] = [9, 4, 5, 6, 18];

  const contenderSockets = await Promise.all(Array.from({ length: 10 }, socket));
  const [
    addonSocket,
    addonRawSocket,
    librarySocket,
    rawSocket,
    nodeSocket,
    netKeepAliveSocket,
    sockoptSocket,
    readSocket,
    addonReadSocket,
    loopSocket,
  ] = contenderSockets;
  // A contender that fails would otherwise end the run with an unhandled 'error' and no
  // name: say which one, when, and how many packets the kernel dropped from its input queues meanwhile.
  const started = Date.now();
  const dropsAtStart = inputQueueDrops();
  contenderSockets.forEach((contender, index) => {
    contender.on('error', (error) => {
      console.error(
        `contender socket ${index} failed after ${((Date.now() - started) / 1000).toFixed(1)} s: ${error.message} ` +
          `(packets the kernel dropped from its input queues since the start: ${inputQueueDrops() - dropsAtStart}, /proc/net/softnet_stat)`,
      );
      process.exit(1);
    });
  });
  const rawFd = rawSocket._handle.fd;
  const addonFd = addonSocket._handle.fd;
  const addonRawFd = addonRawSocket._handle.fd;
  const { ValidatedOptions, validateInto } = require('../dist/options.js');
  const scratch = new ValidatedOptions();
  const rows = {
    [FLOOR]: floor('set'),
    // The same loop in C, run inside this Node process by one Node-API call for all rounds.
    [C_LOOP_IN_NODE]: () => {
      const fd = loopSocket._handle.fd;
      const start = process.cpuUsage();
      insideNode.setFive(fd, CALLS);
      const { user, system } = process.cpuUsage(start);
      return ((user + system) * 1000) / CALLS;
    },
    // The Node-API call with no option to set: no syscall at all.
    'addon alone, nothing to set (the call itself)': () => {
      addon.options.fill(-1);
      return timePerCall(() => addon.setKeepAlive(addonFd, true));
    },
    // Parts of the library's own JavaScript, alone: the validation of the options, and
    // Node's accessor of a socket's fd (a call into Node's C++), which it reads per call.
    'validateInto alone (the JavaScript validation)': () => timePerCall((i) => validateInto(TUNING[i & 1], scratch)),
    'socket._handle.fd alone (the fd accessor)': () => timePerCall(() => librarySocket._handle.fd),
    'addon alone': () => timePerCall((i) => addonApply(addon, addonFd, i)),
    'setKeepAlive(socket)': () => timePerCall((i) => setKeepAlive(librarySocket, TUNING[i & 1])),
    'addon alone, raw fd + TCP check': () => timePerCall((i) => addonApply(addon, addonRawFd, i, false)),
    'setKeepAlive(fd), raw fd + TCP check': () => timePerCall((i) => setKeepAlive(rawFd, TUNING[i & 1])),
    // Node skips a call repeating its previous arguments: the delay alternates. It sets
    // SO_KEEPALIVE, idle, and (libuv 1.35+) interval 1 s and count 10.
    [NODE_ROW]: () => timePerCall((i) => nodeSocket.setKeepAlive(true, TUNING[i & 1].idle)),
  };
  if (netKeepAlive) {
    // net-keepalive sets interval, probes and user timeout; idle and the switch go through Node.
    rows['net-keepalive (+ Node for idle)'] = () =>
      timePerCall((i) => {
        const t = TUNING[i & 1];
        netKeepAliveSocket.setKeepAlive(true, t.idle);
        netKeepAlive.setKeepAliveInterval(netKeepAliveSocket, t.interval);
        netKeepAlive.setKeepAliveProbes(netKeepAliveSocket, t.count);
        netKeepAlive.setUserTimeout(netKeepAliveSocket, t.userTimeout);
      });
  }
  if (sockopt) {
    // sockopt takes raw levels, names and kernel units from its user.
    rows['sockopt (5 x setsockopt)'] = () =>
      timePerCall((i) => {
        const t = TUNING[i & 1];
        sockopt.setsockopt(sockoptSocket, IPPROTO_TCP, TCP_KEEPIDLE, t.idle / 1000);
        sockopt.setsockopt(sockoptSocket, IPPROTO_TCP, TCP_KEEPINTVL, t.interval / 1000);
        sockopt.setsockopt(sockoptSocket, IPPROTO_TCP, TCP_KEEPCNT, t.count);
        sockopt.setsockopt(sockoptSocket, IPPROTO_TCP, TCP_USER_TIMEOUT, t.userTimeout);
        sockopt.setsockopt(sockoptSocket, SOL_SOCKET, SO_KEEPALIVE, 1);
      });
  }
  // First apply on sockets never tuned, then a repeat on the same sockets: FRESH_SOCKETS
  // new connections per round, made outside the timed loops. The addon alone shows how
  // much of the difference is the kernel's (a first SO_KEEPALIVE starts the timer).
  const firstAndRepeat = (label, apply) => {
    let repeat;
    rows[`first ${label} on a fresh socket`] = async () => {
      const fresh = [];
      while (fresh.length < FRESH_SOCKETS)
        fresh.push(...(await Promise.all(Array.from({ length: CONNECT_BATCH }, socket))));
      const first = timePerCall((i) => apply(fresh[i], 0), FRESH_SOCKETS);
      repeat = timePerCall((i) => apply(fresh[i], 1), FRESH_SOCKETS);
      for (const s of fresh) s.destroy();
      return first;
    };
    rows[`repeat ${label} on those sockets`] = () => repeat;
  };
  firstAndRepeat('setKeepAlive', (fresh, i) => setKeepAlive(fresh, TUNING[i]));
  firstAndRepeat('addon call', (fresh, i) => addonApply(addon, fresh._handle.fd, i));
  const reads = {
    [READ_FLOOR]: floor('get'),
    'addon alone, getKeepAlive': () => timePerCall(() => addon.getKeepAlive(addonReadSocket._handle.fd, true)),
    'getKeepAlive(socket)': () => timePerCall(() => getKeepAlive(readSocket)),
    'getTcpInfo(socket)': () => timePerCall(() => getTcpInfo(readSocket)),
  };
  const kernelEntry = { 'C: getppid (one syscall)': floor('getppid') };

  const all = { ...rows, ...reads, ...kernelEntry };
  const samples = Object.fromEntries(Object.keys(all).map((name) => [name, []]));
  for (const run of Object.values(all)) await run(); // warm-up
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, run] of Object.entries(all)) samples[name].push(await run());
  }
  for (const s of contenderSockets) s.destroy();
  server.close();
  fs.rmSync(dir, { recursive: true, force: true });
  const medians = (group) => Object.fromEntries(Object.keys(group).map((name) => [name, median(samples[name])]));
  return { apply: medians(rows), read: medians(reads), getppid: median(samples['C: getppid (one syscall)']), samples };
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

const cpu = (fs.readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.*)/) ?? [])[1] ?? os.arch();
console.log(`machine: ${os.cpus().length} CPU (${cpu}), Linux ${os.release()}, Node ${process.version}`);
console.log(`page-table isolation: ${pageTableIsolation()}`);
console.log(
  `${ROUNDS} interleaved rounds of ${CALLS} calls each (first/repeat: ${FRESH_SOCKETS} fresh sockets per round); ` +
    'medians of CPU time (user + system) per call; ratios are medians of the ratios within each round\n',
);

const { apply, read, getppid, samples } = await applyAndRead();
/**
 * `name` over `base`: the median of the two rows' ratio in each round. Rounds run
 * interleaved, so a ratio within a round compares contenders under the same load from
 * the rest of the machine.
 */
const ratio = (name, base) => median(samples[name].map((ns, round) => ns / samples[base][round]));
console.log(`one syscall (getppid in C): ${getppid.toFixed(0)} ns\n`);
const table = (title, rows, baseName) => {
  console.log(title);
  for (const [name, ns] of Object.entries(rows)) {
    const over = ns - rows[baseName];
    console.log(
      `  ${name.padEnd(52)} ${ns.toFixed(0).padStart(7)} ns  ${ratio(name, baseName).toFixed(2).padStart(6)}x  ${(over >= 0 ? '+' : '') + over.toFixed(0).padStart(6)} ns`,
    );
  }
};
table(
  'full apply (idle, interval, count, user timeout, SO_KEEPALIVE): ns, x the floor, ns over the floor',
  apply,
  FLOOR,
);
table('\nread of the five options: ns, x the read floor, ns over it', read, READ_FLOOR);

const connections = await accepts();
console.log(`\nms to accept ${CONNECTIONS} connections on loopback (5 interleaved rounds; medians)`);
for (const [mode, ms] of Object.entries(connections)) {
  console.log(
    `  ${mode.padEnd(52)} ${ms.toFixed(0).padStart(7)} ms  ${(ms / connections.untuned).toFixed(3)}x untuned`,
  );
}

const verdict = (ratio, target) => (ratio <= target ? 'PASS' : 'MISS');
const target = (label, ratio, limit) => {
  if (ratio === undefined || Number.isNaN(ratio)) return console.log(`  ${label.padEnd(58)} not measured here`);
  console.log(`  ${label.padEnd(58)} ${ratio.toFixed(2).padStart(5)}x  ${verdict(ratio, limit)}`);
};
const record = (label, value) => console.log(`  ${label.padEnd(58)} ${value.toFixed(2).padStart(5)}x`);
console.log('\ntargets (ratios from this run)');
target('setKeepAlive(socket) <= 1.10x the bare addon call', ratio('setKeepAlive(socket)', 'addon alone'), 1.1);
target('getKeepAlive <= 1.2x five getsockopt in C', ratio('getKeepAlive(socket)', READ_FLOOR), 1.2);
target(
  `five-option apply <= 1.25x Node's setKeepAlive(true, ms) (${process.version}: four options)`,
  ratio('setKeepAlive(socket)', NODE_ROW),
  1.25,
);
target(
  'first apply on a fresh socket <= 1.1x a repeat',
  ratio('first setKeepAlive on a fresh socket', 'repeat setKeepAlive on those sockets'),
  1.1,
);
target(
  'raw fd target (TCP check included) <= 1.3x the floor',
  ratio('setKeepAlive(fd), raw fd + TCP check', FLOOR),
  1.3,
);
target('listener tuning <= 1.05x untuned accept', connections.listener / connections.untuned, 1.05);
console.log("\nrecords (mostly this machine's syscall cost, not targets)");
record('full apply on a socket, x the standalone floor', ratio('setKeepAlive(socket)', FLOOR));
record('the addon call, x the same loop inside Node', ratio('addon alone', C_LOOP_IN_NODE));
record('the loop inside Node, x the standalone floor', ratio(C_LOOP_IN_NODE, FLOOR));
