// An application under test for the dead-peer channel, run in the client's network
// namespace with the register preload (through SOCKET_KEEPALIVE or `socket-keepalive run`).
// It holds, to servers in the other namespace:
// - pg: a Client that sends a query right after the link is cut (data in flight);
// - pgSsl: a pg Client with `ssl` (TLS started over its connected socket), a query in flight;
// - postgresJs: postgres.js with `ssl`, idle after a query;
// - ioredis: a client idle after a PING answered just before the cut;
// - raw: a net.Socket tuned with userTimeout 0, writing right after the cut (data in
//   flight, no user timeout: the retransmission limit ends it);
// - tlsOverRaw: tls.connect({ socket }) over a socket the default tuned, writing after the cut;
// - pooled: an http.Agent({ keepAlive: true }) socket idle in the agent's pool;
// - closed, reset, fakeTimeout: sockets (to a port that is not cut) ended by the
//   application, by a RST from the peer, and by the application with an ETIMEDOUT of its
//   own making; resetPaused: reset by the peer while the application paused reading, then
//   destroyed by the application with its own ETIMEDOUT;
// - zeroWindow: writing to a peer that is alive (its port is not cut) but never reads;
// - after the cut, connection attempts to a port whose packets are dropped: blackholed
//   (tuned by the default), keptConnect (setKeepAlive before connect, userTimeout 3 s),
//   agentConnect (a tuneAgent agent, userTimeout 3 s); and refused (a closed port).
// The library's OpenTelemetry metrics (socket-keepalive/otel) go to the real SDK with an
// in-memory exporter, collected at the end.
// It speaks JSON lines on stdout; the test writes "prepare" then "go" on stdin.
const diagnosticsChannel = require('node:diagnostics_channel');
const http = require('node:http');
const net = require('node:net');
const readline = require('node:readline');
const tls = require('node:tls');
const { Client } = require('pg');
const postgres = require('postgres');
const Redis = require('ioredis');
const path = require('node:path');
const {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} = require('@opentelemetry/sdk-metrics');
const library = require(process.env.LIBRARY_PATH);
const { observeKeepAlive } = require(path.join(path.dirname(process.env.LIBRARY_PATH), 'otel.js'));
const config = JSON.parse(process.argv[2]);

const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
observeKeepAlive({ meterProvider: new MeterProvider({ readers: [reader] }) });

/** The exported metrics: for each instrument, its unit and data points (attributes and value). */
async function collectMetrics() {
  await reader.forceFlush();
  const metrics = {};
  for (const { scopeMetrics } of exporter.getMetrics())
    for (const { scope, metrics: list } of scopeMetrics)
      for (const { descriptor, dataPoints } of list)
        metrics[descriptor.name] = {
          scope: scope.name,
          unit: descriptor.unit,
          points: dataPoints.map(({ attributes, value }) => ({
            attributes,
            value:
              typeof value === 'number'
                ? value
                : { count: value.count, sum: value.sum, min: value.min, max: value.max },
          })),
        };
  return metrics;
}

const messages = [];
const closedSockets = new WeakSet();
diagnosticsChannel.subscribe(library.DEAD_PEER_CHANNEL, (message) => {
  const { socket, ...fields } = message;
  messages.push({ ...fields, destroyed: socket.destroyed, afterClose: closedSockets.has(socket) });
});

const send = (message) => process.stdout.write(`${JSON.stringify(message)}\n`);
const ended = new Map();
/** ms from the start of each connection attempt to its error. */
const attemptMs = {};
const WATCHED = 15;
function watch(name, socket) {
  socket.on('error', (error) => {
    if (!ended.has(name)) ended.set(name, error.code ?? error.message);
  });
  socket.on('close', () => {
    closedSockets.add(socket);
    if (!ended.has(name)) ended.set(name, 'closed');
    if (ended.size === WATCHED) setTimeout(finish, 500);
  });
}

function connect(port) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, config.host, () => resolve(socket));
    socket.once('error', reject);
  });
}

async function finish() {
  const stats = library.keepAliveStats();
  const metrics = await collectMetrics();
  send({ type: 'done', messages, ended: Object.fromEntries(ended), attemptMs, stats, metrics });
  process.exit(0);
}

function attempt(name, socket) {
  const started = Date.now();
  socket.once('error', () => {
    attemptMs[name] = Date.now() - started;
  });
  watch(name, socket);
}

async function main() {
  const pgOptions = { host: config.host, port: config.postgresPort, user: 'postgres', database: 'postgres' };
  const pg = new Client(pgOptions);
  pg.on('error', () => {});
  await pg.connect();
  const pgSsl = new Client({ ...pgOptions, ssl: { rejectUnauthorized: false } });
  pgSsl.on('error', () => {});
  await pgSsl.connect();
  const before = new Set(library.inspectProcess(process.pid).map((socket) => socket.local));
  const sql = postgres({ ...pgOptions, ssl: { rejectUnauthorized: false }, max: 1 });
  await sql`SELECT 1`;
  const postgresJsLocal = library
    .inspectProcess(process.pid)
    .find((socket) => !before.has(socket.local) && socket.peer.endsWith(`:${config.postgresPort}`)).local;
  const redis = new Redis({
    host: config.host,
    port: config.redisPort,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
    lazyConnect: true,
  });
  redis.on('error', () => {});
  await redis.connect();
  const raw = library.setKeepAlive(await connect(config.echoPort), { userTimeout: 0 });
  const closed = await connect(config.openPort);
  const reset = await connect(config.openPort);
  const fakeTimeout = await connect(config.openPort);
  // Its reads stop when it pauses (a socket reading into its own buffer): the RST stays unread.
  const resetPaused = await new Promise((resolve, reject) => {
    const socket = net.connect(
      { port: config.openPort, host: config.host, onread: { buffer: Buffer.alloc(1024), callback: () => true } },
      () => resolve(socket),
    );
    socket.once('error', reject);
  });
  const zeroWindow = await connect(config.holdPort);
  const tlsOverRaw = tls.connect({ socket: await connect(config.tlsPort), rejectUnauthorized: false });
  await new Promise((resolve) => tlsOverRaw.once('secureConnect', resolve));
  const agent = new http.Agent({ keepAlive: true });
  const pooled = await new Promise((resolve, reject) => {
    http
      .get({ host: config.host, port: config.httpPort, agent }, (response) => {
        const { socket } = response;
        response.resume().on('end', () => setImmediate(() => resolve(socket)));
      })
      .on('error', reject);
  });
  watch('pg', pg.connection.stream);
  watch('pgSsl', pgSsl.connection.stream);
  watch('ioredis', redis.stream);
  for (const [name, socket] of Object.entries({ raw, closed, reset, fakeTimeout, resetPaused, zeroWindow }))
    watch(name, socket);
  watch('tlsOverRaw', tlsOverRaw);
  watch('pooled', pooled);
  const ports = {
    pg: pg.connection.stream.localPort,
    pgSsl: pgSsl.connection.stream.localPort,
    postgresJs: Number(postgresJsLocal.split(':').pop()),
    ioredis: redis.stream.localPort,
    raw: raw.localPort,
    tlsOverRaw: tlsOverRaw.localPort,
    pooled: pooled.localPort,
    zeroWindow: zeroWindow.localPort,
  };
  send({ type: 'connected', ports });
  for await (const line of readline.createInterface({ input: process.stdin })) {
    if (line === 'prepare') {
      // The peer is heard now: each connection's silence starts here (or at the cut).
      const echo = (socket) =>
        new Promise((resolve) => {
          socket.write('ping\n');
          socket.once('data', resolve);
        });
      await Promise.all([pg.query('SELECT 1'), pgSsl.query('SELECT 1'), sql`SELECT 1`, redis.ping(), echo(raw)]);
      await echo(tlsOverRaw);
      send({ type: 'prepared' });
    } else if (line === 'go') {
      pg.query('SELECT 2').catch(() => {});
      pgSsl.query('SELECT 2').catch(() => {});
      raw.write('after the cut\n');
      tlsOverRaw.write('after the cut\n');
      closed.destroy();
      reset.write('reset\n'); // the server answers with a RST (its port is not cut)
      fakeTimeout.destroy(Object.assign(new Error('the application gave up'), { code: 'ETIMEDOUT' }));
      resetPaused.pause();
      resetPaused.write('reset\n');
      setTimeout(
        () => resetPaused.destroy(Object.assign(new Error('the application gave up'), { code: 'ETIMEDOUT' })),
        500,
      );
      const chunk = Buffer.alloc(1 << 20);
      const pump = () => {
        while (zeroWindow.write(chunk));
      };
      zeroWindow.on('drain', pump);
      pump();
      attempt('blackholed', net.connect(config.blackholePort, config.host));
      const kept = new net.Socket();
      library.setKeepAlive(kept, { userTimeout: 3000 });
      attempt('keptConnect', kept.connect(config.blackholePort, config.host));
      const tunedAgent = library.tuneAgent(new http.Agent(), { userTimeout: 3000 });
      const request = http.get({ host: config.host, port: config.blackholePort, agent: tunedAgent });
      request.on('error', () => {});
      request.on('socket', (socket) => attempt('agentConnect', socket));
      attempt('refused', net.connect(config.refusedPort, config.host));
      send({ type: 'went', at: Date.now() });
    }
  }
}

main().catch((error) => {
  send({ type: 'error', message: error.stack });
  process.exit(1);
});
