// What finding a socket's descriptor from its addresses costs a connection under Deno
// (whose sockets expose no fd), with 10, 1,000 and 10,000 other TCP sockets open in the
// process. Run after `npm run build:ts`: node bench/socket-lookup.mjs
//
// This process (Node) fetches the Deno release the tests run (test/helpers/runtime-releases.json)
// once from the npm registry, with the package's fetch (dist/demo/node-release.js), and holds the
// far ends of the connections; each size runs in its own Deno process, which opens the
// sockets, then times `setKeepAlive(socket, ...)` on freshly connected sockets (the
// lookup plus five setsockopt calls) in three situations:
//   first     the first lookup in the process: every open descriptor is examined once
//   reused    a new connection after a socket tuned by the library closed: its number
//             was handed back to the lookup, which finds the new socket there
//   unseen    a new connection after a socket the library never tuned (one picked at
//             random) closed: the new socket sits at a number the lookup knows as
//             another socket's, so it walks /proc/self/fd until it meets it
// Figures are CPU time (user + system) per call, median of the rounds; the bench prints
// them and sets no target.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import net from 'node:net';
import path from 'node:path';

const require = createRequire(import.meta.url);
const root = path.join(import.meta.dirname, '..');
const SIZES = [10, 1000, 10_000];
const ROUNDS = 101;
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

if (process.versions.deno !== undefined) await measureInDeno(Number(process.argv[2]), Number(process.argv[3]));
else await main();

async function main() {
  const { cachedPackageFile } = require(path.join(root, 'dist', 'demo', 'node-release.js'));
  const release = require(path.join(root, 'test', 'helpers', 'runtime-releases.json')).deno;
  const deno = cachedPackageFile(
    `${release.package}@${release.version}`,
    release.file,
    `deno-v${release.version}`,
    release.size,
    console.log,
  );
  const peers = new Set();
  const sink = net.createServer((socket) => {
    peers.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => peers.delete(socket));
  });
  sink.listen(0, '127.0.0.1');
  await once(sink, 'listening');
  const rows = [];
  for (const size of SIZES) {
    const child = spawn(deno, ['run', '-A', import.meta.filename, String(size), String(sink.address().port)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    const [code] = await once(child, 'exit');
    if (code !== 0) throw new Error(`deno exited with ${code} for ${size} sockets`);
    rows.push({ size, ...JSON.parse(output.trim().split('\n').pop()) });
  }
  sink.close();
  for (const peer of peers) peer.destroy();
  console.log(
    `Deno ${execVersion(deno)}: CPU time per setKeepAlive on a new connection, median of ${ROUNDS} rounds (us)`,
  );
  console.log('open sockets   first   reused   unseen');
  for (const row of rows) {
    console.log(
      `${String(row.size).padStart(12)} ${row.first.toFixed(0).padStart(7)} ${row.reused.toFixed(1).padStart(8)} ${row.unseen.toFixed(0).padStart(8)}`,
    );
  }
}

function execVersion(deno) {
  return require('node:child_process')
    .execFileSync(deno, ['--version'], { encoding: 'utf8' })
    .split('\n')[0]
    .split(' ')[1];
}

function cpuMicros(action) {
  const before = process.cpuUsage();
  action();
  const used = process.cpuUsage(before);
  return used.user + used.system;
}

async function connect(port) {
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => {});
  await once(socket, 'connect');
  return socket;
}

async function measureInDeno(size, port) {
  const { setKeepAlive, getKeepAlive } = require(path.join(root, 'dist', 'index.js'));
  require(path.join(root, 'dist', 'binding.js')).binding(); // loaded before anything is timed
  const options = { idle: 10_000, interval: 2000, count: 3, userTimeout: 20_000 };
  const others = [];
  for (let opened = 0; opened < size; ) {
    const batch = await Promise.all(Array.from({ length: Math.min(500, size - opened) }, () => connect(port)));
    others.push(...batch);
    opened += batch.length;
  }
  const tune = (socket) => {
    const micros = cpuMicros(() => setKeepAlive(socket, options));
    if (getKeepAlive(socket).idle !== options.idle) throw new Error('the socket was not tuned');
    return micros;
  };
  const first = tune(await connect(port));
  const reused = [];
  const unseen = [];
  let previous = await connect(port);
  tune(previous);
  for (let round = 0; round < ROUNDS; round++) {
    previous.destroy();
    await once(previous, 'close');
    previous = await connect(port);
    reused.push(tune(previous));
    const untuned = others.splice(Math.floor(Math.random() * others.length), 1)[0];
    untuned.destroy();
    await once(untuned, 'close');
    const fresh = await connect(port);
    unseen.push(tune(fresh));
    fresh.destroy();
    await once(fresh, 'close');
    others.push(await connect(port)); // as many untuned sockets open as before
  }
  console.log(JSON.stringify({ first, reused: median(reused), unseen: median(unseen) }));
  for (const socket of [...others, previous]) socket.destroy();
  process.exit(0);
}
