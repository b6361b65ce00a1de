// The process-wide default's hooks are added once per socket and per server: a client's
// reconnect loop after ECONNREFUSED and a server that listens again (after close, or
// after EADDRINUSE) keep a constant number of listeners, and Node never warns.
import net from 'node:net';
import { afterEach, expect, test } from 'vitest';
import { setDefaultKeepAlive } from '../helpers/library.js';

const ROUNDS = 15;
const warnings: Error[] = [];
const onWarning = (warning: Error) => warnings.push(warning);
process.on('warning', onWarning);
afterEach(() => setDefaultKeepAlive(null));

async function freePort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

test('one socket reconnecting after ECONNREFUSED 15 times keeps its listener count', async () => {
  setDefaultKeepAlive({ idle: 10_000 });
  const port = await freePort();
  const socket = new net.Socket();
  const counts: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    await new Promise<void>((resolve) => {
      socket.once('error', (error: NodeJS.ErrnoException) => {
        expect(error.code).toBe('ECONNREFUSED');
        resolve();
      });
      socket.connect(port, '127.0.0.1');
    });
    await new Promise((resolve) => setImmediate(resolve));
    counts.push(socket.listenerCount('connect'));
  }
  expect(counts[0]).toBeGreaterThan(0);
  expect(new Set(counts).size).toBe(1);
  expect(warnings.filter((warning) => warning.name === 'MaxListenersExceededWarning')).toEqual([]);
});

test('one server listening again after close and after EADDRINUSE, 15 times each, keeps its listener count', async () => {
  setDefaultKeepAlive({ idle: 10_000 });
  const blocker = net.createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => blocker.once('listening', resolve));
  const taken = (blocker.address() as net.AddressInfo).port;
  const server = net.createServer();
  const counts: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    server.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    await new Promise((resolve) => server.close(resolve));
    await new Promise<void>((resolve) => {
      server.once('error', (error: NodeJS.ErrnoException) => {
        expect(error.code).toBe('EADDRINUSE');
        resolve();
      });
      server.listen(taken, '127.0.0.1');
    });
    counts.push(server.listenerCount('listening'));
  }
  blocker.close();
  expect(counts[0]).toBeGreaterThan(0);
  expect(new Set(counts).size).toBe(1);
  expect(warnings.filter((warning) => warning.name === 'MaxListenersExceededWarning')).toEqual([]);
});
