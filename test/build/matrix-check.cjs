'use strict';
// Run by test/build/matrix.mjs under each Node release (and by the arm64 test): the
// read-back, persistence and deferral checks, including that the library's settings stay
// set after core's setKeepAlive(enable, delay, interval, count), which Nodes without that
// form treat as setKeepAlive(enable, delay); and whether this Node has the form, found by
// reading back what it set on an untuned socket. Prints one JSON line.
const net = require('node:net');
const { setKeepAlive, getKeepAlive } = require(process.argv[2]);

const TUNING = { idle: 4000, interval: 2000, count: 6, userTimeout: 8000 };
const EXPECTED = JSON.stringify({ enable: true, ...TUNING });
const results = {};
const server = net.createServer().listen(0, '127.0.0.1', async () => {
  const port = server.address().port;
  const connected = () =>
    new Promise((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => resolve(socket));
    });

  let socket = await connected();
  setKeepAlive(socket, TUNING);
  results.readBack = JSON.stringify(getKeepAlive(socket)) === EXPECTED;
  socket.setKeepAlive(true, 1000);
  results.survivesNodeCall = JSON.stringify(getKeepAlive(socket)) === EXPECTED;
  socket.destroy();

  socket = net.connect(port, '127.0.0.1');
  setKeepAlive(socket, TUNING);
  await new Promise((resolve) => socket.on('connect', resolve));
  results.deferral = JSON.stringify(getKeepAlive(socket)) === EXPECTED;
  socket.destroy();

  // Does this Node's setKeepAlive take interval and count? Ask it on an untuned socket.
  socket = await connected();
  socket.setKeepAlive(true, 3000, 5000, 7);
  const plain = getKeepAlive(socket);
  results.fourArgumentForm = plain.interval === 5000 && plain.count === 7;
  socket.destroy();

  socket = await connected();
  setKeepAlive(socket, TUNING);
  socket.setKeepAlive(true, 3000, 5000, 7);
  results.survivesFourArgumentCall = JSON.stringify(getKeepAlive(socket)) === EXPECTED;
  socket.destroy();
  server.close();
  console.log(JSON.stringify({ node: process.version, ...results }));
});
