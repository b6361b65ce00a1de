// An application under test for the dead-peer channel, run in the client's network
// namespace with the register preload (through SOCKET_KEEPALIVE or `socket-keepalive run`).
// It holds, to servers in the other namespace:
// - pg: a Client that sends a query right after the link is cut (data in flight);
// - ioredis: a client idle after a PING answered just before the cut;
// - raw: a net.Socket tuned with userTimeout 0, writing right after the cut (data in
//   flight, no user timeout: the retransmission limit ends it);
// - closed, reset, fakeTimeout: sockets (to a port that is not cut) ended by the
//   application, by a RST from the peer, and by the application with an ETIMEDOUT of its
//   own making.
// It speaks JSON lines on stdout; the test writes "prepare" then "go" on stdin.
const diagnosticsChannel = require('node:diagnostics_channel');
const net = require('node:net');
const readline = require('node:readline');
const { Client } = require('pg');
const Redis = require('ioredis');
const library = require(process.env.LIBRARY_PATH);
const config = JSON.parse(process.argv[2]);

const messages = [];
const closedSockets = new WeakSet();
diagnosticsChannel.subscribe(library.DEAD_PEER_CHANNEL, (message) => {
  const { socket, ...fields } = message;
  messages.push({ ...fields, destroyed: socket.destroyed, afterClose: closedSockets.has(socket) });
});

const send = (message) => process.stdout.write(`${JSON.stringify(message)}\n`);
const ended = new Map();
function watch(name, socket) {
  socket.on('error', (error) => ended.set(name, error.code ?? error.message));
  socket.on('close', () => {
    closedSockets.add(socket);
    if (!ended.has(name)) ended.set(name, 'closed');
    if (ended.size === 6) setTimeout(finish, 200);
  });
}

function connect(port) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, config.host, () => resolve(socket));
    socket.once('error', reject);
  });
}

function finish() {
  send({ type: 'done', messages, ended: Object.fromEntries(ended), stats: library.keepAliveStats() });
  process.exit(0);
}

async function main() {
  const pg = new Client({ host: config.host, port: config.postgresPort, user: 'postgres', database: 'postgres' });
  pg.on('error', () => {});
  await pg.connect();
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
  watch('pg', pg.connection.stream);
  watch('ioredis', redis.stream);
  for (const [name, socket] of Object.entries({ raw, closed, reset, fakeTimeout })) watch(name, socket);
  const ports = {
    pg: pg.connection.stream.localPort,
    ioredis: redis.stream.localPort,
    raw: raw.localPort,
    closed: closed.localPort,
    reset: reset.localPort,
    fakeTimeout: fakeTimeout.localPort,
  };
  send({ type: 'connected', ports });
  for await (const line of readline.createInterface({ input: process.stdin })) {
    if (line === 'prepare') {
      // The peer is heard now: each connection's silence starts here (or at the cut).
      await Promise.all([
        pg.query('SELECT 1'),
        redis.ping(),
        new Promise((resolve) => {
          raw.write('ping\n');
          raw.once('data', resolve);
        }),
      ]);
      send({ type: 'prepared' });
    } else if (line === 'go') {
      pg.query('SELECT 2').catch(() => {});
      raw.write('after the cut\n');
      closed.destroy();
      reset.write('reset\n'); // the server answers with a RST (its port is not cut)
      fakeTimeout.destroy(Object.assign(new Error('the application gave up'), { code: 'ETIMEDOUT' }));
      send({ type: 'went', at: Date.now() });
    }
  }
}

main().catch((error) => {
  send({ type: 'error', message: error.stack });
  process.exit(1);
});
