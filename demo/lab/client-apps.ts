/**
 * An application with real clients, run by the lab inside the client's network
 * namespace twice: untouched, and with the `socket-keepalive/register` preload. The
 * program is the same both times; it does not configure keepalive. It holds:
 * - `pg`: a Client running `SELECT pg_sleep(...)` when the link is cut (the query is
 *   sent and acknowledged, so TCP sees an idle connection waiting for the server);
 * - `ioredis`: a client that answered its ready check and then stays idle.
 *
 * It reads each client's socket back from the kernel (getsockopt, TCP_INFO) and talks
 * to the lab like the lab's peer: JSON lines on stdout, "cut" and "stop" on stdin.
 */
import type net from 'node:net';
import readline from 'node:readline';
import Redis from 'ioredis';
import { getKeepAlive, retransmissionLimitMs } from 'socket-keepalive';
import { type ConnectionReport, recordEnd, sampleSocket } from '../connection.js';
import type { PeerMessage } from './peer.js';
import { appRowId } from './rows.js';

export interface ClientAppConfig {
  host: string;
  postgresPort: number;
  redisPort: number;
  /** Whether this run has the preload: only the row ids it reports depend on it. */
  preload: boolean;
}

/** Longer than any lab: the query is still running when the connection dies. */
const QUERY = 'SELECT pg_sleep(600)';
/** Time for the server's ACK of the query to arrive before the lab is told it is ready. */
const QUERY_ACKNOWLEDGED_MS = 500;

/** The part of pg's Client this program uses (pg ships no type declarations). */
interface PgClient {
  connect(): Promise<void>;
  query(text: string): Promise<unknown>;
  on(event: 'error', listener: (error: Error) => void): void;
  /** Where pg keeps the connection's socket. */
  connection: { stream: net.Socket };
}
const pg = require('pg') as {
  Client: new (config: { host: string; port: number; user: string; database: string }) => PgClient;
};

const send = (message: PeerMessage) => process.stdout.write(`${JSON.stringify(message)}\n`);

/** A client's socket, watched: kernel values now, TCP_INFO on each sample, how it ends. */
function watch(id: string, socket: net.Socket): () => ConnectionReport {
  const report: ConnectionReport = { id, state: 'open', localPort: socket.localPort, effective: getKeepAlive(socket) };
  recordEnd(socket, report);
  return () => sampleSocket(socket, report);
}

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2]) as ClientAppConfig;
  const postgres = new pg.Client({
    host: config.host,
    port: config.postgresPort,
    user: 'postgres',
    database: 'postgres',
  });
  // Either client reports its connection's death as an error event: the application's to handle.
  postgres.on('error', () => {});
  const redis = new Redis({
    host: config.host,
    port: config.redisPort,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
  });
  redis.on('error', () => {});
  try {
    await postgres.connect();
    postgres.query(QUERY).catch(() => {});
    await new Promise<void>((resolve, reject) => {
      if (redis.status === 'ready') resolve();
      redis.once('ready', resolve);
      redis.once('error', (error) => reject(new Error(`ioredis: ${error.message}`)));
    });
    await new Promise((resolve) => setTimeout(resolve, QUERY_ACKNOWLEDGED_MS));
  } catch (error) {
    send({ type: 'error', message: `client application: ${(error as Error).message}` });
    process.exit(1);
  }
  // ioredis keeps its socket as the client's stream (not in its type declarations).
  const samplers = [
    watch(appRowId('pg', config.preload), postgres.connection.stream),
    watch(appRowId('ioredis', config.preload), (redis as unknown as { stream: net.Socket }).stream),
  ];
  const reports = () => samplers.map((sample) => sample());
  send({ type: 'ready', node: process.version, retransmissionLimitMs: retransmissionLimitMs(), reports: reports() });
  const ticker = setInterval(() => send({ type: 'status', reports: reports() }), 250);
  for await (const line of readline.createInterface({ input: process.stdin })) if (line === 'stop') break;
  clearInterval(ticker);
  send({ type: 'status', reports: reports() });
  process.exit(0);
}

main();
