'use strict';
// Run by test/build/matrix.mjs under each Node release, like matrix-check.cjs: the process-wide
// default (setDefaultKeepAlive) and the preload (register.js next to the given index.js),
// read back from the kernel. argv[2] is the package's dist/index.js. Prints one JSON line:
// a boolean per check, plus `diagnosticsChannelSeesNewSocket` (information, not a check:
// whether this Node's `net.client.socket` channel announces new net.Socket().connect(),
// which is why the default wraps connect instead).
const { execFileSync } = require('node:child_process');
const diagnosticsChannel = require('node:diagnostics_channel');
const fs = require('node:fs');
const http = require('node:http');
const http2 = require('node:http2');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const tls = require('node:tls');

const index = process.argv[2];
const { setDefaultKeepAlive, getKeepAlive, inspectProcess } = require(index);
const register = path.join(path.dirname(index), 'register.js');
const fixtures = path.join(__dirname, '..', 'fixtures');
const DEFAULT = { idle: 6000, interval: 2000, count: 3, userTimeout: 9000 };
const EXPECTED = JSON.stringify({ enable: true, ...DEFAULT });
const same = (state) => JSON.stringify(state) === EXPECTED;
const results = {};

const once = (emitter, event) =>
  new Promise((resolve, reject) => {
    emitter.once(event, (...args) => resolve(args));
    if (event !== 'error') emitter.once('error', reject);
  });
const stateAtConnect = (socket) =>
  new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(getKeepAlive(socket)));
    socket.once('error', reject);
  });
const stateOfLocalPort = (port) =>
  inspectProcess(process.pid).find((entry) => entry.local.endsWith(`:${port}`) && entry.state !== 'LISTEN').keepAlive;

/** A child `node` with the preload: what a socket and listener in the main thread and in Workers get. */
function preloadRun(preloadArgs, env) {
  const app = `
const net = require('node:net');
const { Worker, isMainThread, parentPort } = require('node:worker_threads');
const { getKeepAlive } = require(${JSON.stringify(index)});
const probe = () => new Promise((resolve) => {
  const server = net.createServer().listen(0, '127.0.0.1', () => {
    const socket = new net.Socket();
    socket.connect(server.address().port, '127.0.0.1', () => {
      const result = getKeepAlive(socket).idle === 6000 && getKeepAlive(server).idle === 6000;
      socket.destroy();
      server.close();
      resolve(result);
    });
  });
});
if (isMainThread) {
  (async () => {
    const result = { main: await probe() };
    for (const [name, options] of Object.entries({ workerEnvEmpty: { env: {} }, workerExecArgvEmpty: { execArgv: [] } })) {
      const worker = new Worker(__filename, options);
      // Listened for first: 'exit' can follow 'message' before the await below resumes.
      const exited = new Promise((resolve) => worker.once('exit', resolve));
      result[name] = await new Promise((resolve) => worker.once('message', resolve));
      await exited;
    }
    console.log(JSON.stringify(result));
  })();
} else probe().then((result) => parentPort.postMessage(result));
`;
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ska-matrix-default-')), 'app.js');
  fs.writeFileSync(file, app);
  try {
    return JSON.parse(
      execFileSync(process.execPath, [...preloadArgs, file], {
        encoding: 'utf8',
        env: { ...process.env, SOCKET_KEEPALIVE: 'idle=6s,interval=2s,count=3,userTimeout=9s', ...env },
      }),
    );
  } finally {
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
  }
}

(async () => {
  const key = fs.readFileSync(path.join(fixtures, 'localhost-key.pem'));
  const cert = fs.readFileSync(path.join(fixtures, 'localhost-cert.pem'));
  const echo = net.createServer((socket) => socket.pipe(socket)).listen(0, '127.0.0.1');
  await once(echo, 'listening');
  const port = echo.address().port;

  const announced = [];
  const onClientSocket = ({ socket }) => announced.push(socket);
  diagnosticsChannel.channel('net.client.socket').subscribe(onClientSocket);

  setDefaultKeepAlive(DEFAULT);
  let socket = net.connect(port, '127.0.0.1');
  results.netConnect = same(await stateAtConnect(socket));
  socket.destroy();

  socket = new net.Socket();
  const seen = stateAtConnect(socket);
  socket.connect(port, '127.0.0.1');
  results.newSocketConnect = same(await seen);
  results.diagnosticsChannelSeesNewSocket = announced.includes(socket);
  diagnosticsChannel.channel('net.client.socket').unsubscribe(onClientSocket);
  socket.setKeepAlive(true, 1000);
  results.survivesNodeSetKeepAlive = same(getKeepAlive(socket));
  socket.destroy();

  const tlsServer = tls.createServer({ key, cert }, (s) => s.pipe(s)).listen(0, '127.0.0.1');
  await once(tlsServer, 'listening');
  results.listener = same(getKeepAlive(tlsServer));
  socket = tls.connect({ port: tlsServer.address().port, host: '127.0.0.1', rejectUnauthorized: false });
  results.tlsConnect = same(await stateAtConnect(socket));
  await once(socket, 'secureConnect');
  socket.destroy();
  tlsServer.close();

  const httpServer = http.createServer((_request, response) => response.end('ok')).listen(0, '127.0.0.1');
  await once(httpServer, 'listening');
  const agent = new http.Agent({ keepAlive: true });
  const get = () =>
    new Promise((resolve, reject) => {
      http
        .get({ port: httpServer.address().port, host: '127.0.0.1', agent }, (response) => {
          const { socket: used } = response;
          response.resume().on('end', () => setImmediate(() => resolve(used)));
        })
        .on('error', reject);
    });
  const first = await get();
  const second = await get();
  results.httpAgentReused = first === second && same(getKeepAlive(second));
  agent.destroy();

  if (typeof fetch === 'function') {
    const before = new Set(inspectProcess(process.pid).map((entry) => entry.local));
    const response = await fetch(`http://127.0.0.1:${httpServer.address().port}/`);
    await response.text();
    const added = inspectProcess(process.pid).filter(
      (entry) => !before.has(entry.local) && entry.peer.endsWith(`:${httpServer.address().port}`),
    );
    results.fetch = added.length > 0 && added.every((entry) => same(entry.keepAlive));
  }
  httpServer.closeAllConnections?.();
  httpServer.close();

  const h2Server = http2.createServer().listen(0, '127.0.0.1');
  h2Server.on('stream', (stream) => {
    stream.respond();
    stream.end();
  });
  await once(h2Server, 'listening');
  const session = http2.connect(`http://127.0.0.1:${h2Server.address().port}`);
  await once(session, 'connect');
  results.http2Session = same(stateOfLocalPort(session.socket.localPort));
  session.close();
  h2Server.close();

  const socketPath = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ska-matrix-default-')), 'echo.sock');
  const unixServer = net.createServer((s) => s.pipe(s)).listen(socketPath);
  await once(unixServer, 'listening');
  socket = net.connect(socketPath);
  await once(socket, 'connect');
  socket.write('ping');
  const [reply] = await once(socket, 'data');
  results.unixSocketUntouched = String(reply) === 'ping';
  socket.destroy();
  unixServer.close();
  setDefaultKeepAlive(null);
  echo.close();

  const required = preloadRun(['--require', register], {});
  results.preloadRequire = required.main;
  results.preloadWorkerEnvEmpty = required.workerEnvEmpty;
  results.preloadWorkerExecArgvEmpty = required.workerExecArgvEmpty;
  const fromNodeOptions = preloadRun([], { NODE_OPTIONS: `--require ${JSON.stringify(register)}` });
  results.preloadNodeOptions =
    fromNodeOptions.main && fromNodeOptions.workerEnvEmpty && fromNodeOptions.workerExecArgvEmpty;
  const imported = preloadRun(['--import', path.join(path.dirname(index), 'register.mjs')], {});
  results.preloadImport = imported.main && imported.workerEnvEmpty && imported.workerExecArgvEmpty;

  console.log(JSON.stringify({ node: process.version, ...results }));
})().catch((error) => {
  console.log(JSON.stringify({ node: process.version, error: String(error?.stack || error) }));
  process.exit(1);
});
