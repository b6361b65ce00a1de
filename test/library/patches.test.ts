import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import type stream from 'node:stream';
import { describe, expect, test } from 'vitest';
import { captureError } from '../helpers/errors.js';
import { getKeepAlive, libraryPath, setKeepAlive, tuneAgent } from '../helpers/library.js';
import { runNode } from '../helpers/run.js';
import { acceptedSocket, connectTo, startServer, useServer } from '../helpers/sockets.js';

const TUNING = { idle: 5000, interval: 3000, count: 4, userTimeout: 7000 };
const EXPECTED = { enable: true, ...TUNING };

describe("settings survive Node's own setKeepAlive", () => {
  const server = useServer();

  test('socket.setKeepAlive(true, 1000) leaves the tuned values in the kernel', async () => {
    const socket = await connectTo(server);
    setKeepAlive(socket, TUNING);
    socket.setKeepAlive(true, 1000);
    expect(getKeepAlive(socket)).toEqual(EXPECTED);
    socket.setKeepAlive(true, 2000);
    expect(getKeepAlive(socket)).toEqual(EXPECTED);
    socket.destroy();
  });

  test('an untuned socket shows what Node would do otherwise (the control case)', async () => {
    const socket = await connectTo(server);
    socket.setKeepAlive(true, 1000);
    // libuv >= 1.35 sets interval 1 s and count 10 with every setKeepAlive(true, ms).
    expect(getKeepAlive(socket)).toMatchObject({ enable: true, idle: 1000, interval: 1000, count: 10 });
    socket.destroy();
  });

  test('socket.setKeepAlive(false) is honoured, before connect and after, and true brings the tuning back', async () => {
    const socket = net.connect(server.port, server.host);
    setKeepAlive(socket, TUNING);
    socket.setKeepAlive(false);
    await once(socket, 'connect');
    expect(getKeepAlive(socket)).toEqual({ ...EXPECTED, enable: false });
    socket.setKeepAlive(true, 1000);
    expect(getKeepAlive(socket)).toEqual(EXPECTED);
    socket.setKeepAlive(false);
    expect(getKeepAlive(socket)).toEqual({ ...EXPECTED, enable: false });
    socket.setKeepAlive(true, 1000);
    expect(getKeepAlive(socket)).toEqual(EXPECTED);
    socket.destroy();
  });

  test("the options-object form follows Node's own reading of it, as an untuned socket shows", async () => {
    // Node >= 24.21 reads { enable: false } as off; older Node takes any object as true.
    const control = await connectTo(server);
    control.setKeepAlive(true, 1000);
    (control.setKeepAlive as unknown as (options: object) => net.Socket)({ enable: false });
    const nodeReading = getKeepAlive(control).enable;
    const socket = await connectTo(server);
    setKeepAlive(socket, TUNING);
    socket.setKeepAlive(true, 1000);
    (socket.setKeepAlive as unknown as (options: object) => net.Socket)({ enable: false });
    expect(getKeepAlive(socket)).toEqual(nodeReading ? EXPECTED : { ...EXPECTED, enable: false });
    control.destroy();
    socket.destroy();
  });

  test("Node's cache cannot hide a change made by this library", async () => {
    const socket = await connectTo(server);
    socket.setKeepAlive(true, 2000);
    setKeepAlive(socket, { enable: false });
    // Node remembers (true, 2 s) and would skip this call; keepalive must still come back on.
    socket.setKeepAlive(true, 2000);
    expect(getKeepAlive(socket).enable).toBe(true);
    socket.destroy();
  });

  test('only idle, interval and count are restored: fields never given follow Node', async () => {
    const socket = await connectTo(server);
    setKeepAlive(socket, { count: 3 });
    socket.setKeepAlive(true, 4000);
    expect(getKeepAlive(socket)).toMatchObject({ enable: true, idle: 4000, interval: 1000, count: 3 });
    socket.destroy();
  });
});

describe('servers: accepted connections inherit the listener', () => {
  test('options set after listen() are on the listener and on every accepted socket', async () => {
    const server = await startServer();
    setKeepAlive(server.server, TUNING);
    expect(getKeepAlive(server.server)).toEqual(EXPECTED);
    const clients = [await connectTo(server), await connectTo(server)];
    for (let index = 0; index < clients.length; index++) {
      expect(getKeepAlive(await acceptedSocket(server, index))).toEqual(EXPECTED);
    }
    // The client side was not tuned: inheritance is a property of the accepting side.
    expect(getKeepAlive(clients[0]).enable).toBe(false);
    for (const client of clients) client.destroy();
    await server.close();
  });

  test('options set before listen() are applied when it starts listening', async () => {
    const raw = net.createServer();
    setKeepAlive(raw, TUNING);
    expect(captureError(() => getKeepAlive(raw))).toMatchObject({ code: 'ERR_SERVER_NOT_RUNNING' });
    const server = await startServer('127.0.0.1', raw);
    expect(getKeepAlive(raw)).toEqual(EXPECTED);
    const client = await connectTo(server);
    expect(getKeepAlive(await acceptedSocket(server, 0))).toEqual(EXPECTED);
    client.destroy();
    await server.close();
  });

  test("a server created with { keepAlive: true } keeps the tuning despite Node's per-connection call", async () => {
    const server = await startServer('127.0.0.1', net.createServer({ keepAlive: true, keepAliveInitialDelay: 1000 }));
    setKeepAlive(server.server, TUNING);
    const client = await connectTo(server);
    expect(getKeepAlive(await acceptedSocket(server, 0))).toEqual(EXPECTED);
    client.destroy();
    await server.close();
  });

  test('an http.Server is a net.Server and inherits the same way', async () => {
    const httpServer = http.createServer((_request, response) => response.end('ok'));
    const server = await startServer('127.0.0.1', httpServer);
    setKeepAlive(httpServer, TUNING);
    const client = await connectTo(server);
    expect(getKeepAlive(await acceptedSocket(server, 0))).toEqual(EXPECTED);
    client.destroy();
    await server.close();
  });
});

describe('http.Agent', () => {
  const server = useServer('127.0.0.1', () => http.createServer((_request, response) => response.end('ok')));

  async function get(agent: http.Agent): Promise<net.Socket> {
    const request = http.get({ host: '127.0.0.1', port: server.port, agent, path: '/' });
    const [response] = (await once(request, 'response')) as [http.IncomingMessage];
    response.resume();
    await once(response, 'end');
    // The agent puts the socket back in its pool (calling setKeepAlive) on the next tick.
    await new Promise((resolve) => setImmediate(resolve));
    return request.socket as net.Socket;
  }

  /**
   * An agent that gives a socket a new keepalive delay each time it returns to the pool, by
   * overriding keepSocketAlive as Node's documentation allows. Node skips a setKeepAlive call
   * that repeats the socket's last one, and on Node 20 the plain agent connects with the
   * delay it later uses for the pool, so there its pool call never reaches libuv; here every
   * return does, and libuv resets idle, interval and count.
   */
  class NewDelayEachReturn extends http.Agent {
    private returns = 0;
    keepSocketAlive(socket: stream.Duplex): boolean {
      // Node returns whether the socket goes back to the pool; @types/node says void.
      const kept = super.keepSocketAlive(socket) as unknown as boolean;
      (socket as net.Socket).setKeepAlive(true, 2000 + 1000 * this.returns++);
      return kept;
    }
  }

  test('tuneAgent: three requests over one pooled socket keep the values after each', async () => {
    const agent = tuneAgent(new NewDelayEachReturn({ keepAlive: true, keepAliveMsecs: 1000 }), TUNING);
    const sockets: net.Socket[] = [];
    for (let round = 0; round < 3; round++) {
      const socket = await get(agent);
      sockets.push(socket);
      expect(getKeepAlive(socket)).toEqual(EXPECTED);
    }
    expect(new Set(sockets).size).toBe(1);
    agent.destroy();
  });

  test("without this library the pooled socket carries the agent's delay / 1 s / 10 (the control cases)", async () => {
    const agent = new http.Agent({ keepAlive: true, keepAliveMsecs: 1000 });
    const socket = await get(agent);
    expect(getKeepAlive(socket)).toMatchObject({ enable: true, idle: 1000, interval: 1000, count: 10 });
    agent.destroy();
    const newDelayAgent = new NewDelayEachReturn({ keepAlive: true, keepAliveMsecs: 1000 });
    const pooled = await get(newDelayAgent);
    expect(getKeepAlive(pooled)).toMatchObject({ enable: true, idle: 2000, interval: 1000, count: 10 });
    expect(await get(newDelayAgent)).toBe(pooled);
    expect(getKeepAlive(pooled)).toMatchObject({ enable: true, idle: 3000, interval: 1000, count: 10 });
    newDelayAgent.destroy();
  });

  test('the options are in place before the first byte of the request', async () => {
    const agent = tuneAgent(new http.Agent({ keepAlive: true }), TUNING);
    const request = http.get({ host: '127.0.0.1', port: server.port, agent, path: '/' });
    request.on('error', () => {}); // destroyed below, before the response
    const [socket] = (await once(request, 'socket')) as [net.Socket];
    const seen = await new Promise((resolve) => socket.once('connect', () => resolve(getKeepAlive(socket))));
    expect(seen).toEqual(EXPECTED);
    request.destroy();
    agent.destroy();
  });

  test('tuneAgent validates like setKeepAlive and refuses non-agents', () => {
    expect(captureError(() => tuneAgent(new http.Agent(), { idle: 1 }))).toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
    expect(captureError(() => tuneAgent({} as http.Agent, TUNING))).toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
  });
});

/** A script printing which of Node's methods are no longer Node's own after each step. */
const INSTALLS = `
const net = require('node:net');
const lib = require(${JSON.stringify(libraryPath)});
const owners = { connect: net.Socket.prototype, setKeepAlive: net.Socket.prototype, _destroy: net.Socket.prototype, listen: net.Server.prototype };
const own = Object.fromEntries(Object.entries(owners).map(([name, owner]) => [name, owner[name]]));
const patched = () => Object.keys(owners).filter((name) => owners[name][name] !== own[name]);
const seen = {};
if (process.argv[1] === 'before-connect') {
  lib.setKeepAlive(new net.Socket(), { idle: 5000 });
  console.log(JSON.stringify(patched()));
  process.exit(0);
}
const server = net.createServer().listen(0, '127.0.0.1', () => {
  lib.setKeepAlive(server, { idle: 5000 });
  seen.server = patched();
  const socket = net.connect(server.address().port, '127.0.0.1', () => {
    lib.setKeepAlive(socket, { idle: 5000 });
    seen.connectedSocket = patched();
    lib.setDefaultKeepAlive({ idle: 5000 });
    seen.default = patched();
    console.log(JSON.stringify(seen));
    socket.destroy();
    server.close();
  });
});
`;

test('each call installs only the patches of Node its feature needs (lib/patches.ts), read in a fresh process', async () => {
  const { code, stdout, stderr } = await runNode(['-e', INSTALLS]);
  expect(stderr).toBe('');
  expect(code).toBe(0);
  expect(JSON.parse(stdout)).toEqual({
    server: ['setKeepAlive', '_destroy'],
    connectedSocket: ['setKeepAlive', '_destroy'],
    default: ['connect', 'setKeepAlive', '_destroy', 'listen'],
  });
  // A socket without a handle yet: its TCP handle class is seen only inside connect().
  const beforeConnect = await runNode(['-e', INSTALLS, 'before-connect']);
  expect(beforeConnect.stderr).toBe('');
  expect(JSON.parse(beforeConnect.stdout)).toEqual(['connect', 'setKeepAlive', '_destroy']);
});
