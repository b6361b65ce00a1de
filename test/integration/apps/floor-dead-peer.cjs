'use strict';
// The dead-peer channel without the native addon (SOCKET_KEEPALIVE_NO_ADDON=1), run by
// test/integration/floor-dead-peer.test.ts in the client's network namespace. Two tuned
// sockets: `idle`, to a port the test cuts (the kernel's keepalive ends it), and
// `fakeTimeout`, to a port left open, which the application destroys with an ETIMEDOUT of
// its own making. JSON lines on stdout; the test writes "go" on stdin after the cut.
const diagnosticsChannel = require('node:diagnostics_channel');
const net = require('node:net');
const readline = require('node:readline');
const library = require(process.env.LIBRARY_PATH);
const config = JSON.parse(process.argv[2]);

const messages = [];
diagnosticsChannel.subscribe(library.DEAD_PEER_CHANNEL, ({ socket, ...fields }) =>
  messages.push({ ...fields, destroyed: socket.destroyed }),
);
const send = (message) => process.stdout.write(`${JSON.stringify(message)}\n`);
const connect = (port) =>
  new Promise((resolve, reject) => {
    const socket = net.connect(port, config.host, () => resolve(socket));
    socket.once('error', reject);
  });

async function main() {
  const idle = await connect(config.echoPort);
  // Interval and count where this Node's setKeepAlive takes them; the idle time alone where not.
  try {
    library.setKeepAlive(idle, config.options);
  } catch {
    library.setKeepAlive(idle, { idle: config.options.idle });
  }
  const fakeTimeout = library.setKeepAlive(await connect(config.openPort), { idle: config.options.idle });
  const ended = {};
  for (const [name, socket] of Object.entries({ idle, fakeTimeout })) {
    socket.on('error', (error) => (ended[name] = error.code));
    socket.on('close', () => {
      ended[name] ??= 'closed';
      if (Object.keys(ended).length === 2)
        setTimeout(() => send({ type: 'done', messages, ended, stats: library.keepAliveStats() }), 200);
    });
  }
  send({ type: 'connected', ports: { idle: idle.localPort, fakeTimeout: fakeTimeout.localPort } });
  for await (const line of readline.createInterface({ input: process.stdin })) {
    if (line === 'go') {
      send({ type: 'went', at: Date.now() });
      fakeTimeout.destroy(Object.assign(new Error('the application gave up'), { code: 'ETIMEDOUT' }));
    }
  }
}

main().catch((error) => {
  send({ type: 'error', message: error.stack });
  process.exit(1);
});
