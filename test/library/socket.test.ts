import { once } from 'node:events';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { captureError } from '../helpers/errors.js';
import { getKeepAlive, setKeepAlive } from '../helpers/library.js';
import { useServer } from '../helpers/sockets.js';

const TUNING = { idle: 4000, interval: 2000, count: 6, userTimeout: 8000 };
const EXPECTED = { enable: true, ...TUNING };

// Options given before there is a file descriptor are applied the moment the socket
// connects, before any 'connect' listener of the application runs.
describe('options given before connect', () => {
  const server = useServer();

  test('setKeepAlive right after net.connect(), before the socket has connected', async () => {
    let seenInConnectListener: unknown;
    const socket = net.connect(server.port, '127.0.0.1', () => {
      seenInConnectListener = getKeepAlive(socket);
    });
    setKeepAlive(socket, TUNING);
    await once(socket, 'connect');
    expect(seenInConnectListener).toEqual(EXPECTED);
    expect(getKeepAlive(socket)).toEqual(EXPECTED);
    socket.destroy();
  });

  test('new net.Socket() before .connect()', async () => {
    const socket = new net.Socket();
    setKeepAlive(socket, TUNING);
    socket.connect(server.port, '127.0.0.1');
    await once(socket, 'connect');
    expect(getKeepAlive(socket)).toEqual(EXPECTED);
    socket.destroy();
  });

  test('a socket tuned while connected, closed and connected again carries the options on the new connection', async () => {
    const socket = net.connect(server.port, '127.0.0.1');
    await once(socket, 'connect');
    setKeepAlive(socket, TUNING);
    socket.destroy();
    await once(socket, 'close');
    let seenInConnectListener: unknown;
    socket.connect(server.port, '127.0.0.1', () => {
      seenInConnectListener = getKeepAlive(socket);
    });
    await once(socket, 'connect');
    expect(seenInConnectListener).toEqual(EXPECTED);
    socket.destroy();
  });

  test('connecting by hostname ("localhost"), with the DNS lookup pending', async () => {
    const socket = net.connect({ port: server.port, host: 'localhost' });
    setKeepAlive(socket, TUNING);
    await once(socket, 'connect');
    expect(getKeepAlive(socket)).toEqual(EXPECTED);
    socket.destroy();
  });

  test('calls before connect merge, later fields winning', async () => {
    const socket = net.connect(server.port, '127.0.0.1');
    setKeepAlive(socket, { idle: 9000, count: 2 });
    setKeepAlive(socket, { count: 3, userTimeout: 1234 });
    await once(socket, 'connect');
    expect(getKeepAlive(socket)).toMatchObject({ enable: true, idle: 9000, count: 3, userTimeout: 1234 });
    socket.destroy();
  });

  test("Node's own keepAlive connect option does not overwrite the options", async () => {
    const socket = net.connect({ port: server.port, host: '127.0.0.1', keepAlive: true, keepAliveInitialDelay: 1000 });
    setKeepAlive(socket, TUNING);
    await once(socket, 'connect');
    expect(getKeepAlive(socket)).toEqual(EXPECTED);
    socket.destroy();
  });

  test('reading before connect is a clear ENOTCONN error', () => {
    const socket = new net.Socket();
    const error = captureError(() => getKeepAlive(socket));
    expect(error).toMatchObject({ code: 'ENOTCONN', syscall: 'getsockopt' });
    expect(error.message).toMatch(/after 'connect'/);
  });

  test('bad options before connect throw at once and nothing is deferred', async () => {
    const socket = net.connect(server.port, '127.0.0.1');
    expect(() => setKeepAlive(socket, { idle: 500 })).toThrow(RangeError);
    await once(socket, 'connect');
    expect(getKeepAlive(socket).idle).toBe(7_200_000);
    socket.destroy();
  });

  test("a failure at connect time is emitted as the socket's error, not swallowed", async () => {
    // A socket tuned before it has a handle that then connects to a Unix path: the
    // deferred apply cannot succeed and must say so.
    const unixPath = path.join(os.tmpdir(), `ska-deferral-${process.pid}.sock`);
    const unixServer = net.createServer().listen(unixPath);
    await once(unixServer, 'listening');
    const socket = new net.Socket();
    setKeepAlive(socket, TUNING);
    socket.connect(unixPath);
    const [error] = await once(socket, 'error');
    expect(error).toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    expect(error.message).toMatch(/Unix domain socket/);
    expect(socket.destroyed).toBe(true);
    await new Promise((resolve) => unixServer.close(resolve));
  });
});
