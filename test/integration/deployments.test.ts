import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { Duplex } from 'node:stream';
import tls from 'node:tls';
import { describe, expect, test } from 'vitest';
import { captureError } from '../helpers/errors.js';
import { getKeepAlive, libraryPath, setKeepAlive, tuneAgent } from '../helpers/library.js';
import { acceptedSocket, connectTo, startServer, useServer } from '../helpers/sockets.js';
import { localhostTls } from '../helpers/tls.js';

// The ways Node servers and clients are deployed beyond a plain net.connect(): cluster
// workers, TLS and HTTP/2 layered over TCP, Unix paths, agents, Node's own keepalive
// calls. Every value is read back from the kernel.
const TUNING = { idle: 4000, interval: 3000, count: 5, userTimeout: 9000 };
const EXPECTED = { enable: true, ...TUNING };
const OTHER = { idle: 7000, interval: 2000, count: 2, userTimeout: 4000 };
/** A stream that accepts writes and never answers: no TCP socket underneath. */
const inertStream = () =>
  new Duplex({ read() {}, write: (_chunk, _encoding, done) => done() }) as unknown as net.Socket;
const unixPath = (name: string) => path.join(os.tmpdir(), `ska-deploy-${name}-${process.pid}.sock`);

/** Listens on a fresh Unix path; resolves once listening. */
async function listenOnPath(server: net.Server, name: string): Promise<string> {
  const socketPath = unixPath(name);
  fs.rmSync(socketPath, { force: true });
  server.listen(socketPath);
  await once(server, 'listening');
  return socketPath;
}

/** Makes a GET request through `agent`, reads the whole response, and returns the socket it used. */
async function requestSocket(agent: http.Agent, options: https.RequestOptions): Promise<net.Socket> {
  const request = (agent instanceof https.Agent ? https : http).get({ ...options, agent, path: '/' });
  const [response] = (await once(request, 'response')) as [http.IncomingMessage];
  response.resume();
  await once(response, 'end');
  return request.socket as net.Socket;
}

describe('cluster', () => {
  type Message = {
    type: string;
    port?: number;
    server?: unknown;
    inherited?: unknown;
    afterNodeCall?: unknown;
    message?: string;
  };

  /** Runs the cluster fixture and returns the worker's messages about one accepted connection. */
  async function runCluster(policy: 'rr' | 'none', tune: 'before-listen' | 'after-listening'): Promise<Message[]> {
    const child = spawn(process.execPath, [path.join(__dirname, 'apps', 'cluster-server.cjs')], {
      env: {
        ...process.env,
        LIBRARY: libraryPath,
        POLICY: policy,
        TUNE: tune,
        TUNING: JSON.stringify(TUNING),
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const messages: Message[] = [];
    try {
      for await (const line of readline.createInterface({ input: child.stdout })) {
        const message = JSON.parse(line) as Message;
        messages.push(message);
        if (message.type === 'listening') {
          const client = net.connect(message.port as number, '127.0.0.1');
          client.on('error', () => {});
        }
        if (message.type !== 'listening') break;
      }
    } finally {
      child.kill();
    }
    return messages;
  }

  const inPrimary = { code: 'ERR_INVALID_ARG_VALUE', message: expect.stringMatching(/belongs to the primary process/) };

  test.each([
    ['round-robin (the default), tuned before listen()', 'rr', 'before-listen', inPrimary],
    ['round-robin, tuned in the listen callback', 'rr', 'after-listening', inPrimary],
    ['SCHED_NONE, tuned before listen()', 'none', 'before-listen', EXPECTED],
    ['SCHED_NONE, tuned in the listen callback', 'none', 'after-listening', EXPECTED],
  ] as const)('%s: accepted sockets in the worker carry the options', async (_name, policy, tune, serverRead) => {
    const [listening, accepted] = await runCluster(policy, tune);
    expect(listening).toMatchObject({ type: 'listening', server: serverRead });
    expect(accepted).toEqual({ type: 'accepted', inherited: EXPECTED, afterNodeCall: EXPECTED });
  });
});

describe('http.Agent over a Unix path', () => {
  test('tuneAgent + socketPath: requests work, the Unix socket is left alone, agent.destroy() works', async () => {
    const httpServer = http.createServer((_request, response) => response.end('ok'));
    const socketPath = await listenOnPath(httpServer, 'agent');
    const tcp = await startServer(
      '127.0.0.1',
      http.createServer((_request, response) => response.end('ok')),
    );
    const agent = tuneAgent(new http.Agent({ keepAlive: true }), TUNING);
    for (let round = 0; round < 2; round++) await requestSocket(agent, { socketPath });
    // The same agent still tunes its TCP sockets.
    const tcpSocket = await requestSocket(agent, { host: '127.0.0.1', port: tcp.port });
    expect(getKeepAlive(tcpSocket)).toEqual(EXPECTED);
    expect(() => agent.destroy()).not.toThrow();
    httpServer.close();
    await tcp.close();
  });

  test('a socket the library cannot tune is destroyed with the error, which the request emits', async () => {
    const agent = new http.Agent();
    // A custom createConnection handing out TLS over an in-memory stream: no TCP underneath.
    (agent as unknown as { createConnection: () => net.Socket }).createConnection = () =>
      tls.connect({ socket: inertStream() });
    tuneAgent(agent, TUNING);
    const request = http.get({ host: '127.0.0.1', port: 9, agent, path: '/' });
    const [error] = await once(request, 'error');
    expect(error).toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    expect(error.message).toMatch(/TLS socket over a stream that is not a net\.Socket/);
    expect(() => agent.destroy()).not.toThrow();
  });
});

describe('TLS layered over a TCP socket', () => {
  const server = useServer('127.0.0.1', () => tls.createServer(localhostTls, (socket) => socket.on('error', () => {})));
  const clientOptions = () => ({ ca: localhostTls.cert, servername: 'localhost' });

  test('tls.connect({ socket }) over a socket that connects later is tuned when that socket connects', async () => {
    const raw = new net.Socket();
    const secure = tls.connect({ socket: raw, ...clientOptions() });
    setKeepAlive(secure, TUNING);
    raw.connect(server.port, '127.0.0.1');
    await once(secure, 'secureConnect');
    expect(getKeepAlive(secure)).toEqual(EXPECTED);
    expect(getKeepAlive(raw)).toEqual(EXPECTED);
    raw.setKeepAlive(true, 1000);
    secure.setKeepAlive(true, 1000);
    expect(getKeepAlive(secure)).toEqual(EXPECTED);
    secure.destroy();
  });

  test('tls.connect({ socket }) over a connecting socket: tuned at connect, kept across Node calls on either', async () => {
    const raw = net.connect(server.port, '127.0.0.1');
    const secure = tls.connect({ socket: raw, ...clientOptions() });
    setKeepAlive(secure, TUNING);
    await once(secure, 'secureConnect');
    expect(getKeepAlive(secure)).toEqual(EXPECTED);
    secure.setKeepAlive(true, 1000); // goes through the TLS handle straight to the TCP handle
    expect(getKeepAlive(raw)).toEqual(EXPECTED);
    raw.setKeepAlive(true, 2000);
    expect(getKeepAlive(secure)).toEqual(EXPECTED);
    secure.setKeepAlive(false);
    expect(getKeepAlive(raw)).toEqual({ ...EXPECTED, enable: false });
    secure.destroy();
  });

  test('an https.Agent tunes its TLS sockets, and a tls.Server keeps the tuning across setKeepAlive in its handler', async () => {
    const seen: unknown[] = [];
    const httpsServer = https.createServer(localhostTls, (request, response) => {
      request.socket.setKeepAlive(true, 1000);
      seen.push(getKeepAlive(request.socket));
      response.end('ok');
    });
    const server = await startServer('127.0.0.1', httpsServer);
    setKeepAlive(httpsServer, OTHER);
    const agent = tuneAgent(new https.Agent({ keepAlive: true, ...clientOptions() }), TUNING);
    const socket = await requestSocket(agent as http.Agent, {
      host: '127.0.0.1',
      port: server.port,
      ...clientOptions(),
    });
    await new Promise((resolve) => setImmediate(resolve)); // back in the pool, after the agent's setKeepAlive
    expect(getKeepAlive(socket)).toEqual(EXPECTED);
    expect(seen).toEqual([{ enable: true, ...OTHER }]);
    agent.destroy();
    await server.close();
  });

  test('TLS over a stream that is not a socket is refused with a clear error, for set and get', () => {
    const secure = tls.connect({ socket: inertStream(), ...clientOptions() });
    secure.on('error', () => {});
    for (const call of [() => setKeepAlive(secure, TUNING), () => getKeepAlive(secure)]) {
      const error = captureError(call);
      expect(error).toMatchObject({ code: 'ERR_INVALID_ARG_VALUE', name: 'TypeError' });
      expect(error.message).toMatch(
        /TLS socket over a stream that is not a net\.Socket; TCP keepalive applies only to TCP sockets/,
      );
    }
    secure.destroy();
  });
});

describe('HTTP/2 sessions', () => {
  test('client and server sessions, and session.socket, resolve to the TCP socket; before connect is deferred', async () => {
    const h2server = http2.createServer();
    const sessions: http2.ServerHttp2Session[] = [];
    h2server.on('session', (session) => sessions.push(session));
    const server = await startServer('127.0.0.1', h2server as unknown as net.Server);
    const client = http2.connect(`http://127.0.0.1:${server.port}`);
    setKeepAlive(client, TUNING); // before connect
    await once(client, 'connect');
    expect(getKeepAlive(client)).toEqual(EXPECTED);
    expect(getKeepAlive(client.socket as net.Socket)).toEqual(EXPECTED);
    setKeepAlive(client.socket as net.Socket, { count: 9 });
    expect(getKeepAlive(client)).toEqual({ ...EXPECTED, count: 9 });
    // All or nothing: a bad value changes nothing.
    expect(() => setKeepAlive(client, { ...OTHER, idle: 500 })).toThrow(RangeError);
    expect(getKeepAlive(client)).toEqual({ ...EXPECTED, count: 9 });

    while (sessions.length === 0) await once(h2server, 'session');
    setKeepAlive(sessions[0], OTHER);
    expect(getKeepAlive(sessions[0])).toEqual({ enable: true, ...OTHER });
    expect(getKeepAlive(sessions[0].socket as net.Socket)).toEqual({ enable: true, ...OTHER });

    client.destroy();
    await once(client, 'close');
    expect(captureError(() => setKeepAlive(client, TUNING))).toMatchObject({ code: 'ERR_SOCKET_CLOSED' });
    expect(captureError(() => getKeepAlive(client))).toMatchObject({ code: 'ERR_SOCKET_CLOSED' });
    await server.close();
  });
});

describe('servers', () => {
  test('tuned before listen(), then listening on a Unix path: skipped, the listen callback runs, connections work', async () => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    const server = net.createServer((socket) => socket.end('hi'));
    setKeepAlive(server, TUNING);
    let listenCallbackRan = false;
    const socketPath = unixPath('server');
    fs.rmSync(socketPath, { force: true });
    server.listen(socketPath, () => {
      listenCallbackRan = true;
    });
    await once(server, 'listening');
    expect(listenCallbackRan).toBe(true);
    const client = net.connect(socketPath);
    const [data] = await once(client, 'data');
    expect(String(data)).toBe('hi');
    client.destroy();
    await new Promise((resolve) => server.close(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    process.off('warning', onWarning);
    expect(warnings).toEqual([]);
  });

  test("a listening socket that refuses the options at 'listening' is a process warning, not an exception", () => {
    // In a child process, as the listener's fd is closed under libuv: setsockopt then fails
    // with EBADF. The child exits before libuv polls that fd again.
    const script = `
      const fs = require('node:fs');
      const net = require('node:net');
      const { setKeepAlive } = require(${JSON.stringify(libraryPath)});
      process.on('warning', (warning) => console.log(JSON.stringify({ name: warning.name, code: warning.code, message: warning.message })));
      const server = net.createServer();
      setKeepAlive(server, { idle: 4000 });
      server.listen(0, () => {
        console.log(JSON.stringify({ listenCallbackRan: true }));
        process.nextTick(() => process.exit(0));
      });
      fs.closeSync(server._handle.fd);`;
    const lines = execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(lines).toEqual([
      { listenCallbackRan: true },
      {
        name: 'SocketKeepAliveWarning',
        code: 'SOCKET_KEEPALIVE_NOT_APPLIED',
        message:
          'socket-keepalive could not apply the options to the listening socket of a server: setsockopt EBADF TCP_KEEPIDLE',
      },
    ]);
  });

  test("accepted sockets keep the tuning when the application calls socket.setKeepAlive in 'connection'", async () => {
    const calls: [boolean, number?][] = [[true, 1000], [true, 30_000], [false]];
    const seen: unknown[] = [];
    const server = await startServer(
      '127.0.0.1',
      net.createServer((socket) => {
        const [enable, delay] = calls[seen.length];
        socket.setKeepAlive(enable, delay);
        seen.push(getKeepAlive(socket));
      }),
    );
    setKeepAlive(server.server, TUNING);
    // No per-connection work on a plain server: accepted sockets inherit from the kernel.
    expect(server.server.listenerCount('connection')).toBe(2);
    const clients = [];
    for (let index = 0; index < calls.length; index++) {
      clients.push(await connectTo(server));
      await acceptedSocket(server, index);
    }
    expect(seen).toEqual([EXPECTED, EXPECTED, { ...EXPECTED, enable: false }]);
    for (const client of clients) client.destroy();
    await server.close();
  });
});

describe('tuneAgent reads the options once and keeps the validated copy', () => {
  const server = useServer('127.0.0.1', () => http.createServer((_request, response) => response.end('ok')));

  test('a configuration class with prototype getters is honoured, each getter read once', async () => {
    const reads: string[] = [];
    class KeepAliveConfig {
      get idle() {
        reads.push('idle');
        return TUNING.idle;
      }
      get interval() {
        reads.push('interval');
        return TUNING.interval;
      }
      get count() {
        reads.push('count');
        return TUNING.count;
      }
      get userTimeout() {
        reads.push('userTimeout');
        return TUNING.userTimeout;
      }
    }
    const agent = tuneAgent(new http.Agent({ keepAlive: true }), new KeepAliveConfig());
    expect(getKeepAlive(await requestSocket(agent, { host: '127.0.0.1', port: server.port }))).toEqual(EXPECTED);
    agent.destroy();
    expect(reads).toEqual(['idle', 'interval', 'count', 'userTimeout']);
  });

  test('a getter that later returns a bad value cannot reach a request', async () => {
    let reads = 0;
    const options = {
      get count() {
        reads += 1;
        return reads === 1 ? 4 : -1;
      },
    };
    const agent = tuneAgent(new http.Agent(), options);
    expect(getKeepAlive(await requestSocket(agent, { host: '127.0.0.1', port: server.port }))).toMatchObject({
      enable: true,
      count: 4,
    });
    expect(getKeepAlive(await requestSocket(agent, { host: '127.0.0.1', port: server.port }))).toMatchObject({
      enable: true,
      count: 4,
    });
    agent.destroy();
  });
});
