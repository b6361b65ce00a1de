import { once } from 'node:events';
import fs from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { afterEach, describe, expect, test } from 'vitest';
import { captureError } from '../helpers/errors.js';
import {
  getDefaultKeepAlive,
  getKeepAlive,
  inspectProcess,
  type KeepAliveState,
  setDefaultKeepAlive,
  setKeepAlive,
  tuneAgent,
} from '../helpers/library.js';
import { startServer, useServer } from '../helpers/sockets.js';
import { localhostTls } from '../helpers/tls.js';

const DEFAULT = { idle: 6000, interval: 2000, count: 3, userTimeout: 9000 };
const TUNED = { enable: true, ...DEFAULT };
const { key, cert } = localhostTls;

/** What the kernel has for this process's socket bound to local port `port`. */
function kernelStateOfLocalPort(port: number): KeepAliveState {
  const socket = inspectProcess(process.pid).find(
    (entry) => entry.local.endsWith(`:${port}`) && entry.state !== 'LISTEN',
  );
  if (!socket) throw new Error(`no socket of this process on local port ${port}`);
  return socket.keepAlive;
}

/** The keepalive state of a connection as seen at its first 'connect' listener. */
function stateAtConnect(socket: net.Socket): Promise<KeepAliveState> {
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(getKeepAlive(socket)));
    socket.once('error', reject);
  });
}

afterEach(() => setDefaultKeepAlive(null));

describe('setDefaultKeepAlive: client sockets', () => {
  const server = useServer();

  test('without a default, a new connection has keepalive off (the control case)', async () => {
    const socket = net.connect(server.port, server.host);
    expect((await stateAtConnect(socket)).enable).toBe(false);
    socket.destroy();
  });

  test("net.connect: the options are set before the application's first 'connect' listener runs", async () => {
    setDefaultKeepAlive(DEFAULT);
    const socket = net.connect(server.port, server.host);
    expect(await stateAtConnect(socket)).toEqual(TUNED);
    socket.destroy();
  });

  test("new net.Socket().connect(), with a 'connect' listener added before connect()", async () => {
    setDefaultKeepAlive(DEFAULT);
    const socket = new net.Socket();
    const seen = stateAtConnect(socket);
    socket.connect(server.port, server.host);
    expect(await seen).toEqual(TUNED);
    socket.destroy();
  });

  test('a write made while connecting leaves a tuned socket: the first byte already carries the options', async () => {
    setDefaultKeepAlive(DEFAULT);
    const socket = net.connect(server.port, server.host);
    socket.write(Buffer.from('first'));
    // The libuv handle exists from connect(); Node hands it the queued write after 'connect'.
    const handle = (socket as unknown as { _handle: { writeBuffer: (...args: unknown[]) => unknown } })._handle;
    const writeBuffer = handle.writeBuffer;
    let atFirstWrite: KeepAliveState | undefined;
    handle.writeBuffer = function (this: unknown, ...args: unknown[]) {
      atFirstWrite ??= getKeepAlive(socket);
      return writeBuffer.apply(this, args);
    };
    await once(socket, 'connect');
    await new Promise((resolve) => setImmediate(resolve));
    expect(atFirstWrite).toEqual(TUNED);
    socket.destroy();
  });

  test("a client library's own socket.setKeepAlive(true, ms) does not undo the default; setKeepAlive(false) is honoured", async () => {
    setDefaultKeepAlive(DEFAULT);
    const socket = net.connect(server.port, server.host);
    await once(socket, 'connect');
    socket.setKeepAlive(true, 1000);
    expect(getKeepAlive(socket)).toEqual(TUNED);
    socket.setKeepAlive(true, 30_000);
    expect(getKeepAlive(socket)).toEqual(TUNED);
    socket.setKeepAlive(false);
    expect(getKeepAlive(socket).enable).toBe(false);
    socket.setKeepAlive(true, 1000);
    expect(getKeepAlive(socket)).toEqual(TUNED);
    socket.destroy();
  });

  test("a socket that the default left alone keeps Node's own setKeepAlive behaviour", async () => {
    setDefaultKeepAlive(DEFAULT, { filter: () => false });
    const socket = net.connect(server.port, server.host);
    await once(socket, 'connect');
    socket.setKeepAlive(true, 3000);
    // libuv >= 1.35 sets interval 1 s and count 10 with every setKeepAlive(true, ms).
    expect(getKeepAlive(socket)).toMatchObject({ enable: true, idle: 3000, interval: 1000, count: 10, userTimeout: 0 });
    socket.destroy();
  });

  test('a socket tuned with setKeepAlive before it connects keeps only its own options', async () => {
    setDefaultKeepAlive(DEFAULT);
    const socket = setKeepAlive(net.connect(server.port, server.host), { idle: 3000 });
    expect(await stateAtConnect(socket)).toMatchObject({
      enable: true,
      idle: 3000,
      interval: 75_000,
      count: 9,
      userTimeout: 0,
    });
    socket.destroy();
  });

  test("setKeepAlive after connect wins for the fields it names, also after a client library's setKeepAlive(true, ms)", async () => {
    setDefaultKeepAlive(DEFAULT);
    const socket = net.connect(server.port, server.host);
    await once(socket, 'connect');
    setKeepAlive(socket, { count: 7 });
    expect(getKeepAlive(socket)).toEqual({ ...TUNED, count: 7 });
    socket.setKeepAlive(true, 1000);
    expect(getKeepAlive(socket)).toEqual({ ...TUNED, count: 7 });
    socket.setKeepAlive(false);
    expect(getKeepAlive(socket)).toEqual({ ...TUNED, enable: false, count: 7 });
    socket.setKeepAlive(true, 1000);
    expect(getKeepAlive(socket)).toEqual({ ...TUNED, count: 7 });
    socket.destroy();
  });

  test('filter sees the remote address and port, and can leave a socket alone', async () => {
    const seen: string[] = [];
    setDefaultKeepAlive(DEFAULT, {
      filter: (socket) => {
        seen.push(`${socket.remoteAddress}:${socket.remotePort}`);
        return seen.length === 1;
      },
    });
    const first = net.connect(server.port, server.host);
    expect(await stateAtConnect(first)).toEqual(TUNED);
    const second = net.connect(server.port, server.host);
    expect((await stateAtConnect(second)).enable).toBe(false);
    expect(seen).toEqual([`${server.host}:${server.port}`, `${server.host}:${server.port}`]);
    first.destroy();
    second.destroy();
  });

  test('calling it again replaces the options; null stops tuning new sockets; old sockets keep theirs', async () => {
    setDefaultKeepAlive(DEFAULT);
    const first = net.connect(server.port, server.host);
    expect(await stateAtConnect(first)).toEqual(TUNED);
    setDefaultKeepAlive({ idle: 4000, interval: 1000, count: 5 });
    const second = net.connect(server.port, server.host);
    expect(await stateAtConnect(second)).toEqual({
      enable: true,
      idle: 4000,
      interval: 1000,
      count: 5,
      userTimeout: 0,
    });
    setDefaultKeepAlive(null);
    expect(getDefaultKeepAlive()).toBeNull();
    const third = net.connect(server.port, server.host);
    expect((await stateAtConnect(third)).enable).toBe(false);
    expect(getKeepAlive(first)).toEqual(TUNED);
    for (const socket of [first, second, third]) socket.destroy();
  });

  test('getDefaultKeepAlive reports what was set', () => {
    const filter = () => true;
    setDefaultKeepAlive(DEFAULT, { servers: false, filter });
    expect(getDefaultKeepAlive()).toEqual({ options: TUNED, servers: false, filter });
    setDefaultKeepAlive(DEFAULT);
    expect(getDefaultKeepAlive()).toEqual({ options: TUNED, servers: true, filter: undefined });
    // Nothing given: nothing to report, not keepalive off.
    setDefaultKeepAlive({});
    expect(getDefaultKeepAlive()?.options).toEqual({});
  });

  test('bad options or settings throw like setKeepAlive and leave the previous default in place', () => {
    setDefaultKeepAlive(DEFAULT);
    const range = captureError(() => setDefaultKeepAlive({ idle: 1500 }));
    expect(range).toBeInstanceOf(RangeError);
    expect(range.code).toBe('ERR_OUT_OF_RANGE');
    expect(range.message).toMatch(/"options.idle".*>= 1000 && <= 32767000. Received 1500/);
    const type = captureError(() => setDefaultKeepAlive(DEFAULT, { servers: 'no' as unknown as boolean }));
    expect(type.code).toBe('ERR_INVALID_ARG_TYPE');
    expect(type.message).toMatch(/"settings.servers" property must be of type boolean/);
    expect(captureError(() => setDefaultKeepAlive(DEFAULT, { filter: 1 as unknown as () => boolean })).code).toBe(
      'ERR_INVALID_ARG_TYPE',
    );
    expect(captureError(() => setDefaultKeepAlive(undefined as unknown as null)).code).toBe('ERR_INVALID_ARG_TYPE');
    expect(getDefaultKeepAlive()?.options).toEqual(TUNED);
  });
});

describe('setDefaultKeepAlive: TLS, HTTP, HTTP/2 and fetch clients', () => {
  test('tls.connect', async () => {
    const server = await startServer('127.0.0.1', tls.createServer({ key, cert }));
    setDefaultKeepAlive(DEFAULT, { servers: false });
    const socket = tls.connect({ port: server.port, host: server.host, rejectUnauthorized: false });
    expect(await stateAtConnect(socket)).toEqual(TUNED);
    await once(socket, 'secureConnect');
    socket.destroy();
    await server.close();
  });

  test('an http.Agent socket stays tuned after it returns to the pool and is reused', async () => {
    const server = http.createServer((_request, response) => response.end('ok'));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    setDefaultKeepAlive(DEFAULT, { servers: false });
    const agent = new http.Agent({ keepAlive: true, keepAliveMsecs: 1000 });
    const sockets: net.Socket[] = [];
    for (let i = 0; i < 2; i++) {
      await new Promise<void>((resolve, reject) => {
        http
          .get({ port: (server.address() as net.AddressInfo).port, host: '127.0.0.1', agent }, (response) => {
            sockets.push(response.socket);
            response.resume().on('end', resolve);
          })
          .on('error', reject);
      });
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(sockets[1]).toBe(sockets[0]);
    expect(getKeepAlive(sockets[0])).toEqual(TUNED);
    agent.destroy();
    server.close();
  });

  test('an agent tuned with tuneAgent keeps its own options', async () => {
    const server = await startServer();
    setDefaultKeepAlive(DEFAULT, { servers: false });
    const agent = tuneAgent(new http.Agent(), { idle: 8000 });
    const socket = agent.createConnection({ port: server.port, host: server.host }) as net.Socket;
    expect(await stateAtConnect(socket)).toMatchObject({
      enable: true,
      idle: 8000,
      interval: 75_000,
      count: 9,
      userTimeout: 0,
    });
    socket.destroy();
    await server.close();
  });

  test('an HTTP/2 client session', async () => {
    const server = http2.createServer();
    server.on('stream', (stream) => {
      stream.respond();
      stream.end();
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    setDefaultKeepAlive(DEFAULT, { servers: false });
    const session = http2.connect(`http://127.0.0.1:${(server.address() as net.AddressInfo).port}`);
    await once(session, 'connect');
    expect(kernelStateOfLocalPort(session.socket.localPort as number)).toEqual(TUNED);
    session.close();
    server.close();
  });

  test('fetch() (undici, no http.Agent)', async () => {
    const ports: number[] = [];
    const server = http.createServer((request, response) => {
      ports.push(request.socket.remotePort as number);
      response.end('ok');
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    setDefaultKeepAlive(DEFAULT, { servers: false });
    const response = await fetch(`http://127.0.0.1:${(server.address() as net.AddressInfo).port}/`);
    expect(await response.text()).toBe('ok');
    expect(kernelStateOfLocalPort(ports[0])).toEqual(TUNED);
    server.closeAllConnections();
    server.close();
  });
});

describe('setDefaultKeepAlive: servers', () => {
  test('a server that starts listening gets the options, and its accepted connections inherit them', async () => {
    setDefaultKeepAlive(DEFAULT, { filter: () => false });
    const server = await startServer();
    expect(getKeepAlive(server.server)).toEqual(TUNED);
    const client = net.connect(server.port, server.host);
    await once(server.server, 'connection');
    expect(getKeepAlive(server.accepted[0])).toEqual(TUNED);
    client.destroy();
    await server.close();
  });

  test('servers: false leaves listeners alone', async () => {
    setDefaultKeepAlive(DEFAULT, { servers: false });
    const server = await startServer();
    expect(getKeepAlive(server.server).enable).toBe(false);
    await server.close();
  });

  test('a server tuned with setKeepAlive before it listens keeps only its own options', async () => {
    setDefaultKeepAlive(DEFAULT);
    const server = await startServer('127.0.0.1', setKeepAlive(net.createServer(), { count: 5 }));
    expect(getKeepAlive(server.server)).toMatchObject({ enable: true, idle: 7_200_000, count: 5, userTimeout: 0 });
    await server.close();
  });
});

describe('setDefaultKeepAlive: Unix domain sockets and failures', () => {
  test('a client and a server over a Unix socket work as without the default, with no warning and no call to the filter', async () => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    const filtered: net.Socket[] = [];
    setDefaultKeepAlive(DEFAULT, { filter: (socket) => filtered.push(socket) > 0 });
    const socketPath = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ska-default-')), 'echo.sock');
    const server = net.createServer((socket) => socket.pipe(socket)).listen(socketPath);
    await once(server, 'listening');
    const client = net.connect(socketPath);
    await once(client, 'connect');
    client.write('ping');
    const [reply] = await once(client, 'data');
    expect(String(reply)).toBe('ping');
    expect(captureError(() => getKeepAlive(client)).code).toBe('ERR_INVALID_ARG_VALUE');
    client.destroy();
    await new Promise((resolve) => server.close(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    process.off('warning', onWarning);
    expect(warnings).toEqual([]);
    expect(filtered).toEqual([]);
  });

  test('a failure is one process warning with a code; the socket stays open and the application sees no error', async () => {
    const server = await startServer();
    const warnings: (Error & { code?: string })[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    setDefaultKeepAlive(DEFAULT, {
      filter: () => {
        throw new Error('filter failed');
      },
    });
    const sockets: net.Socket[] = [];
    for (let i = 0; i < 2; i++) {
      const socket = net.connect(server.port, server.host);
      socket.on('error', (error) => expect.unreachable(String(error)));
      await once(socket, 'connect');
      sockets.push(socket);
    }
    await new Promise((resolve) => setImmediate(resolve));
    process.off('warning', onWarning);
    expect(warnings).toHaveLength(1);
    expect(warnings[0].code).toBe('SOCKET_KEEPALIVE_DEFAULT_FAILED');
    expect(warnings[0].message).toMatch(/filter failed/);
    for (const socket of sockets) {
      expect(socket.destroyed).toBe(false);
      socket.destroy();
    }
    await server.close();
  });
});
