import dgram from 'node:dgram';
import { once } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { Worker } from 'node:worker_threads';
import { describe, expect, test } from 'vitest';
import { captureError } from '../helpers/errors.js';
import { getKeepAlive, getTcpInfo, libraryPath, setKeepAlive } from '../helpers/library.js';
import { acceptedSocket, connectTo, fdOf, startServer, useServer } from '../helpers/sockets.js';
import { localhostTls } from '../helpers/tls.js';

const TUNING = { idle: 3000, interval: 2000, count: 5, userTimeout: 6000 };
const EXPECTED = { enable: true, ...TUNING };

describe('TLS', () => {
  test('a tls.TLSSocket is tuned before connect, and its server side inherits from a tls.Server', async () => {
    const tlsServer = tls.createServer(localhostTls, (socket) => socket.end('hello'));
    const server = await startServer('127.0.0.1', tlsServer);
    setKeepAlive(tlsServer, { idle: 8000, count: 2 });
    const socket = tls.connect({
      port: server.port,
      host: '127.0.0.1',
      ca: localhostTls.cert,
      servername: 'localhost',
    });
    setKeepAlive(socket, TUNING);
    await once(socket, 'secureConnect');
    expect(getKeepAlive(socket)).toEqual(EXPECTED);
    socket.setKeepAlive(true, 1000);
    expect(getKeepAlive(socket)).toEqual(EXPECTED);
    expect(getTcpInfo(socket).state).toBe('ESTABLISHED');
    expect(getKeepAlive(await acceptedSocket(server, 0))).toMatchObject({ enable: true, idle: 8000, count: 2 });
    socket.destroy();
    await server.close();
  });
});

describe('targets that are refused', () => {
  const server = useServer();

  test('a UDP socket is the wrong type; its fd is refused by the kernel check', async () => {
    const udp = dgram.createSocket('udp4');
    udp.bind(0, '127.0.0.1');
    await once(udp, 'listening');
    expect(captureError(() => setKeepAlive(udp as never, TUNING))).toMatchObject({
      code: 'ERR_INVALID_ARG_TYPE',
      message:
        'The "target" argument must be an instance of net.Socket, tls.TLSSocket, net.Server or an HTTP/2 session, ' +
        'or a file descriptor number. Received an instance of Socket',
    });
    // dgram has no public fd accessor (and a deprecated _handle): read its state symbol.
    const state = Object.getOwnPropertySymbols(udp).find((symbol) => symbol.description === 'state symbol');
    const udpFd = (udp as unknown as Record<symbol, { handle: { fd: number } }>)[state as symbol].handle.fd;
    const error = captureError(() => setKeepAlive(udpFd, TUNING));
    expect(error).toMatchObject({ code: 'EPROTOTYPE', syscall: 'setsockopt', errno: -os.constants.errno.EPROTOTYPE });
    expect(error.message).toMatch(/^setsockopt EPROTOTYPE \(fd \d+ is not a TCP socket: a datagram \(UDP\) socket\)$/);
    expect(captureError(() => getKeepAlive(udpFd))).toMatchObject({ code: 'EPROTOTYPE', syscall: 'getsockopt' });
    udp.close();
  });

  test('a Unix domain socket is refused, as a socket and as an fd', async () => {
    const unixPath = path.join(os.tmpdir(), `ska-targets-${process.pid}.sock`);
    const unixServer = net.createServer().listen(unixPath);
    await once(unixServer, 'listening');
    const client = net.connect(unixPath);
    await once(client, 'connect');
    const error = captureError(() => setKeepAlive(client, TUNING));
    expect(error).toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    expect(error.message).toMatch(/Unix domain socket/);
    expect(captureError(() => setKeepAlive(unixServer, TUNING))).toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    expect(captureError(() => getKeepAlive(fdOf(client)))).toMatchObject({ code: 'EPROTOTYPE' });
    expect(captureError(() => getKeepAlive(fdOf(client))).message).toMatch(/a Unix domain socket/);
    client.destroy();
    await new Promise((resolve) => unixServer.close(resolve));
  });

  test('a destroyed socket throws ERR_SOCKET_CLOSED', async () => {
    const socket = await connectTo(server);
    socket.destroy();
    expect(captureError(() => setKeepAlive(socket, TUNING))).toMatchObject({
      code: 'ERR_SOCKET_CLOSED',
      message: 'Socket is closed',
    });
    expect(captureError(() => getKeepAlive(socket))).toMatchObject({ code: 'ERR_SOCKET_CLOSED' });
    expect(captureError(() => getTcpInfo(socket))).toMatchObject({ code: 'ERR_SOCKET_CLOSED' });
  });

  test('a closed fd throws EBADF, a non-socket fd ENOTSOCK, a bad number ERR_OUT_OF_RANGE', () => {
    const closedFd = fs.openSync(__filename, 'r');
    fs.closeSync(closedFd);
    expect(captureError(() => setKeepAlive(closedFd, TUNING))).toMatchObject({
      code: 'EBADF',
      errno: -os.constants.errno.EBADF,
      syscall: 'getsockopt',
      message: 'getsockopt EBADF SO_TYPE',
    });
    const fileFd = fs.openSync(__filename, 'r');
    expect(captureError(() => setKeepAlive(fileFd, TUNING))).toMatchObject({ code: 'ENOTSOCK' });
    fs.closeSync(fileFd);
    for (const bad of [-1, 1.5, 2 ** 31, Number.NaN]) {
      expect(captureError(() => setKeepAlive(bad, TUNING))).toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
    }
    for (const bad of [null, undefined, '3', {}, new net.BlockList()]) {
      expect(captureError(() => getKeepAlive(bad as never))).toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
    }
  });
});

describe('TCP_INFO', () => {
  const server = useServer();

  test('reports state, timers and probes of a live connection in ms', async () => {
    const socket = await connectTo(server);
    socket.write('ping');
    await once(await acceptedSocket(server, 0), 'data');
    await new Promise((resolve) => setTimeout(resolve, 50));
    const info = getTcpInfo(socket);
    expect(info).toMatchObject({ state: 'ESTABLISHED', probes: 0, retransmits: 0, unacked: 0, totalRetransmits: 0 });
    expect(info.rtoMs).toBeGreaterThanOrEqual(200); // Linux's minimum RTO is 200 ms
    expect(info.rttMs).toBeGreaterThan(0);
    expect(info.rttMs).toBeLessThan(50);
    expect(info.lastDataSentMs).toBeGreaterThanOrEqual(40);
    expect(info.lastDataSentMs).toBeLessThan(5000);
    expect(getTcpInfo(server.server).state).toBe('LISTEN');
    socket.destroy();
  });
});

describe('worker_threads', () => {
  const server = useServer();

  test('the addon works in several Workers at once, and again after they exit', async () => {
    const source = `
      const net = require('node:net');
      const { parentPort, workerData } = require('node:worker_threads');
      const { setKeepAlive, getKeepAlive } = require(workerData.libraryPath);
      const socket = net.connect(workerData.port, '127.0.0.1');
      setKeepAlive(socket, workerData.tuning);
      socket.on('connect', () => { parentPort.postMessage(getKeepAlive(socket)); socket.destroy(); });`;
    const runWorker = async (count: number) => {
      const tuning = { ...TUNING, count };
      const worker = new Worker(source, { eval: true, workerData: { libraryPath, port: server.port, tuning } });
      // Both listeners go on before the first await: when this thread is busy, Node delivers the
      // message and emits 'exit' in the same tick, so a later once(worker, 'exit') would wait forever.
      const [message, exit] = [once(worker, 'message'), once(worker, 'exit')];
      const [state] = await message;
      expect(state).toEqual({ enable: true, ...tuning });
      expect(await exit).toEqual([0]);
    };
    await Promise.all([1, 2, 3, 4].map(runWorker)); // each with its own count, concurrently
    await runWorker(9); // a fresh Worker after all of them exited
    const socket = await connectTo(server); // and the main thread still works
    setKeepAlive(socket, TUNING);
    expect(getKeepAlive(socket)).toEqual(EXPECTED);
    socket.destroy();
  });
});
