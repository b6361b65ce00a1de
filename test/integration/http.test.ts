import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import type net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { nodeBinary } from '../../demo/node-release.js';
import type { InspectedSocket } from '../helpers/library.js';
import { localhostTls } from '../helpers/tls.js';
import { root } from '../helpers/tree.js';
import {
  type AppRun,
  type ClientSpec,
  connectionsOf,
  describeApp,
  esmSetups,
  expectAllTunedQuietly,
  expectTuned,
  expectUntuned,
  fetchNodeTimeout,
  otherNodeReleases,
  runApp,
  runSetup,
  setups,
} from './harness.js';

// HTTP clients built into Node: fetch() through its bundled undici, an https.Agent, an
// HTTP/2 session, against servers in this process. Each describe block runs one Node
// application holding all the clients, and reads the kernel state of every TCP socket of
// that process.

const tls = localhostTls;
const reply = (_request: unknown, response: http.ServerResponse | http2.Http2ServerResponse) => response.end('ok');

/** Starts `server` on loopback and returns its URL. */
async function listen(server: net.Server, scheme: string): Promise<string> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return `${scheme}://127.0.0.1:${(server.address() as net.AddressInfo).port}/`;
}

// Keep-alive connections outlive the test's read of them.
const servers = {
  http: http.createServer({ keepAliveTimeout: 60_000 }, reply),
  https: https.createServer({ ...tls, keepAliveTimeout: 60_000 }, reply),
  http2: http2.createSecureServer(tls, reply),
};
const urls: Partial<Record<keyof typeof servers, string>> = {};
beforeAll(async () => {
  for (const [scheme, server] of Object.entries(servers))
    urls[scheme as keyof typeof servers] = await listen(server, scheme === 'http' ? 'http' : 'https');
});
afterAll(async () => {
  for (const server of Object.values(servers)) await new Promise((resolve) => server.close(resolve));
});

const clients = [
  { name: 'fetch() over http', client: 'fetch', server: 'http' },
  { name: 'fetch() over https', client: 'fetch', server: 'https' },
  { name: 'https.Agent, its socket reused from the pool', client: 'https.Agent', server: 'https' },
  { name: 'HTTP/2 client session', client: 'HTTP/2', server: 'http2' },
] as const;
const specs = (): ClientSpec[] =>
  clients.map(({ name, client, server }) => ({ name, client, target: { url: urls[server] } }));
const peer = (server: keyof typeof servers) => `127.0.0.1:${new URL(urls[server] as string).port}`;

/** The tests of one run where every client should carry the default. */
function allTuned(run: () => AppRun): void {
  for (const { name, server } of clients) test(`${name}: tuned`, () => expectTuned(run(), name, peer(server), 1));
  test('every TCP connection of the process tuned, nothing reported', () => expectAllTunedQuietly(run()));
}

describe('HTTP clients', () => {
  describeApp(
    'no default',
    () => runApp(specs()),
    (run) => {
      for (const { name, server } of clients) {
        test(`${name}: its connection does not carry the tested values`, () =>
          expectUntuned(run(), name, peer(server)));
      }
    },
  );

  for (const [setupName, setup] of Object.entries({ ...setups, 'socket-keepalive run -- node app': runSetup })) {
    describeApp(`CommonJS app, ${setupName}`, () => runApp(specs(), setup), allTuned);
  }

  for (const [setupName, setup] of Object.entries(esmSetups)) {
    describeApp(`ES module app, ${setupName}`, () => runApp(specs(), setup, { app: 'app.mjs' }), allTuned);
  }

  for (const version of otherNodeReleases) {
    describeApp(
      `Node.js ${version}, CommonJS app, node --require register with SOCKET_KEEPALIVE`,
      () => runApp(specs(), setups['node --require register with SOCKET_KEEPALIVE'], { node: nodeBinary(version) }),
      allTuned,
      fetchNodeTimeout,
    );
  }

  const cli = path.join(root, 'dist', 'demo', 'cli.js');
  const inspectCli = (pid: number) =>
    JSON.parse(
      execFileSync(process.execPath, [cli, 'inspect', String(pid), '--json'], { encoding: 'utf8' }),
    ) as InspectedSocket[];
  describeApp(
    'socket-keepalive inspect <pid> --json, node --require register',
    () => runApp(specs(), setups['node --require register with SOCKET_KEEPALIVE'], { read: inspectCli }),
    (run) => {
      test('shows every connection tuned, each predicted to notice a dead peer in 15 s', () => {
        expectAllTunedQuietly(run());
        const connections = clients.flatMap(({ name }) => connectionsOf(run(), name));
        expect(connections.map((socket) => socket.detection)).toEqual(
          connections.map(() => ({ idleConnectionMs: 15_000, dataInFlightMs: 15_000 })),
        );
      });
    },
  );
});
