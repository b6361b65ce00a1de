import { execFileSync } from 'node:child_process';
import net from 'node:net';
import { describe, expect, test } from 'vitest';
import { getKeepAlive, libraryPath, setKeepAlive } from '../helpers/library.js';
import { connectTo, useServer } from '../helpers/sockets.js';

describe('the hot path', () => {
  const server = useServer();

  test('setKeepAlive on a connected socket and on an fd allocates nothing: no scavenge over 200,000 calls each', () => {
    // A child process with --trace-gc, which prints one line per garbage collection.
    const script = `
      const net = require('node:net');
      const { setKeepAlive } = require(${JSON.stringify(libraryPath)});
      const options = [{ idle: 5000, interval: 2000, count: 3, userTimeout: 9000 }, { idle: 6000, count: 4 }];
      const server = net.createServer().listen(0, '127.0.0.1', () => {
        const socket = net.connect(server.address().port, '127.0.0.1', () => {
          const fd = socket._handle.fd;
          const run = (target) => { for (let i = 0; i < 200000; i++) setKeepAlive(target, options[i & 1]); };
          run(socket); run(fd); // warm-up: compiled and inline caches settled
          console.log('measuring socket');
          run(socket);
          console.log('measuring fd');
          run(fd);
          console.log('done');
          socket.destroy();
          server.close();
        });
      });`;
    const output = execFileSync(process.execPath, ['--trace-gc', '-e', script], { encoding: 'utf8' });
    const collections = (from: string, to: string) =>
      output
        .slice(output.indexOf(from), output.indexOf(to))
        .split('\n')
        .filter((line) => /Scavenge|Mark-Compact|Minor/.test(line)).length;
    expect(output).toContain('done');
    expect(collections('measuring socket', 'measuring fd')).toBe(0);
    expect(collections('measuring fd', 'done')).toBe(0);
  });

  test("tuning adds no own method to a socket: Node's setKeepAlive is wrapped once, on the prototype", async () => {
    const sockets = [await connectTo(server), new net.Socket()];
    for (const socket of sockets) setKeepAlive(socket, { idle: 5000 });
    const wrapped = net.Socket.prototype.setKeepAlive;
    for (const socket of [...sockets, new net.Socket()]) {
      setKeepAlive(socket, { idle: 6000 });
      expect(Object.getOwnPropertyNames(socket)).not.toContain('setKeepAlive');
      expect(net.Socket.prototype.setKeepAlive).toBe(wrapped); // not wrapped again
    }
    sockets[0].setKeepAlive(true, 1000);
    expect(getKeepAlive(sockets[0])).toMatchObject({ enable: true, idle: 6000 });
    for (const socket of sockets) socket.destroy();
  });
});
