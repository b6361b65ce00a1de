// A server for the dead-peer tests: echoes what it receives, and answers "reset" with a
// RST. Listens on each port given; prints {"type":"listening"} once all listen.
const net = require('node:net');
const [host, ...ports] = process.argv.slice(2);
let listening = 0;
for (const port of ports) {
  net
    .createServer((socket) => {
      socket.on('error', () => {});
      socket.on('data', (data) =>
        data.toString().startsWith('reset') ? socket.resetAndDestroy() : socket.write(data),
      );
    })
    .listen(Number(port), host, () => {
      if (++listening === ports.length) console.log(JSON.stringify({ type: 'listening' }));
    });
}
