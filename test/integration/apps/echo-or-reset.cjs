// A server for the dead-peer tests. Each argument after the host is a port, plain (echoes
// what it receives, and answers "reset" with a RST) or prefixed: `hold:PORT` accepts and
// never reads (its receive window closes), `tls:PORT` echoes over TLS (the certificate of
// test/fixtures), `http:PORT` answers every request with "ok" and keeps the connection.
// Prints {"type":"listening"} once all listen.
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const path = require('node:path');
const tls = require('node:tls');
const [host, ...ports] = process.argv.slice(2);
const fixtures = path.join(__dirname, '..', '..', 'fixtures');
const certificate = {
  key: fs.readFileSync(path.join(fixtures, 'localhost-key.pem')),
  cert: fs.readFileSync(path.join(fixtures, 'localhost-cert.pem')),
};
const echoOrReset = (socket) => {
  socket.on('error', () => {});
  socket.on('data', (data) => (data.toString().startsWith('reset') ? socket.resetAndDestroy() : socket.write(data)));
};
const servers = {
  plain: () => net.createServer(echoOrReset),
  hold: () => net.createServer({ pauseOnConnect: true }, (socket) => socket.on('error', () => {})),
  tls: () => tls.createServer(certificate, echoOrReset),
  http: () => http.createServer({ keepAliveTimeout: 60_000 }, (_request, response) => response.end('ok')),
};
let listening = 0;
for (const spec of ports) {
  const [kind, port] = spec.includes(':') ? spec.split(':') : ['plain', spec];
  servers[kind]().listen(Number(port), host, () => {
    if (++listening === ports.length) console.log(JSON.stringify({ type: 'listening' }));
  });
}
