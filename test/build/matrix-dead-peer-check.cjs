'use strict';
// Run by test/build/matrix.mjs under each Node release, as root: the dead-peer report and
// the bounded connection attempt behind a real cut (the lab's two network namespaces,
// dist/demo/lab/netns.js, with iptables DROP between them). argv[2] is the package's
// dist/index.js. An http.Agent({ keepAlive: true }) socket idle in the agent's pool, tuned
// by the process-wide default, must be reported when its peer dies, also on Node 22 and
// later, whose agent destroys a pooled socket without an error on any read result; a
// connect to a port that drops packets must fail at the user timeout and be reported as
// nothing. Prints one JSON line.
const { spawn } = require('node:child_process');
const diagnosticsChannel = require('node:diagnostics_channel');
const http = require('node:http');
const net = require('node:net');
const path = require('node:path');

const netns = require(path.join(__dirname, '..', '..', 'dist', 'demo', 'lab', 'netns.js'));
// `<index.js>` in the root namespace; `client <index.js> <server namespace>` in the client's.
const client = process.argv[2] === 'client';
const [index, serverNamespace] = process.argv.slice(client ? 3 : 2);
process.argv.slice(2).length === 1 ? ['main', process.argv[2]] : process.argv.slice(2);
const HTTP_PORT = 7711;
const BLACKHOLE_PORT = 7712;
const USER_TIMEOUT = 3000;

function main() {
  const missing = netns.missingRequirements();
  if (missing.length > 0) {
    console.log(JSON.stringify({ node: process.version, error: `the dead-peer checks need ${missing.join(', ')}` }));
    return;
  }
  const hosts = netns.createHosts();
  const server = spawn('ip', [
    'netns',
    'exec',
    hosts.server,
    process.execPath,
    '-e',
    `require('node:http').createServer({ keepAliveTimeout: 60000 }, (q, r) => r.end('ok'))
      .listen(${HTTP_PORT}, ${JSON.stringify(netns.SERVER_ADDRESS)}, () => console.log('listening'));`,
  ]);
  server.stdout.once('data', () => {
    const child = spawn(
      'ip',
      ['netns', 'exec', hosts.client, process.execPath, __filename, 'client', index, hosts.server],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let output = '';
    child.stdout.on('data', (data) => (output += data));
    child.on('close', () => {
      server.kill('SIGKILL');
      netns.destroyHosts(hosts);
      process.stdout.write(output);
    });
  });
}

function clientSide() {
  const { setDefaultKeepAlive, DEAD_PEER_CHANNEL } = require(index);
  const messages = [];
  diagnosticsChannel.subscribe(DEAD_PEER_CHANNEL, ({ socket: _socket, ...message }) => messages.push(message));
  setDefaultKeepAlive({ idle: 1000, interval: 1000, count: 2, userTimeout: USER_TIMEOUT });
  const results = {};
  const agent = new http.Agent({ keepAlive: true });
  http
    .get({ host: netns.SERVER_ADDRESS, port: HTTP_PORT, agent }, (response) => {
      const pooled = response.socket;
      const pooledPort = pooled.localPort;
      response.resume().on('end', () =>
        setImmediate(() => {
          for (const port of [HTTP_PORT, BLACKHOLE_PORT]) netns.cutLink({ server: serverNamespace }, port);
          const started = Date.now();
          const attempt = net.connect(BLACKHOLE_PORT, netns.SERVER_ADDRESS);
          attempt.on('error', (error) => {
            const ms = Date.now() - started;
            results.connectAttemptMs = ms;
            results.connectAttemptBounded =
              error.code === 'ETIMEDOUT' && Math.abs(ms - USER_TIMEOUT) <= USER_TIMEOUT / 10;
          });
          pooled.on('close', () =>
            setTimeout(() => {
              const mine = messages.filter((message) => message.localPort === pooledPort);
              results.pooledAgentDeadPeer = mine.length === 1 && mine[0].cause === 'keepalive';
              results.connectAttemptNotReported = messages.length === mine.length;
              results.messages = messages.map(({ cause, silentMs }) => ({ cause, silentMs }));
              console.log(JSON.stringify({ node: process.version, ...results }));
              process.exit(0);
            }, 3000),
          );
        }),
      );
    })
    .on('error', (error) => {
      console.log(JSON.stringify({ node: process.version, error: String(error) }));
      process.exit(1);
    });
  setTimeout(() => {
    console.log(JSON.stringify({ node: process.version, error: 'no verdict after 20 s', ...results }));
    process.exit(1);
  }, 20_000); // also keeps the process alive: the agent unrefs the pooled socket
}

if (client) clientSide();
else main();
