/**
 * The connections the lab compares, and what the kernel's timing model predicts for
 * each: one row per way of configuring keepalive.
 */
import { type DeadPeerCause, detectionTime, type KeepAliveState } from 'socket-keepalive';
import type { ConnectionReport } from '../connection.js';
import type { PeerRow } from './peer.js';

/** The port of the connections compared. */
export const MAIN_PORT = 7654;

/** The heal check: its own connection and port, cut for `cutMs` and restored; it must lose nothing. */
export const HEAL = {
  port: 7655,
  cutMs: 2500,
  options: { idle: 1000, interval: 1000, count: 10, userTimeout: 10_000 },
};

/** The Node release on which setKeepAlive before connect still loses its delay. */
export const OLD_NODE = '16.14.0';

export interface LabRow extends PeerRow {
  label: string;
  /** Runs under Node {@link OLD_NODE} instead of this Node. */
  oldNode?: boolean;
  /**
   * A connection of the client application (client-apps.ts) rather than of the peer,
   * run untouched or with the register preload ({@link PRELOAD_SETTING}).
   */
  app?: { client: 'pg' | 'ioredis'; preload: boolean };
  /**
   * The cause the library's dead-peer channel must report when the connection dies; a row
   * without one is not tuned by the library, and the channel must say nothing about it.
   */
  expectedCause?: DeadPeerCause;
}

/** Where the client application's servers listen in the server's namespace. */
export const APP_PORTS = { postgres: 5432, redis: 6379 };

/** SOCKET_KEEPALIVE for the client application run with the preload. */
export const PRELOAD_SETTING = 'idle=2s,interval=1s,count=3,userTimeout=5s';

/** The id of a client application's row: `<client>-<untouched|preload>`. */
export const appRowId = (client: 'pg' | 'ioredis', preload: boolean) =>
  `${client}-${preload ? 'preload' : 'untouched'}`;

export const ROWS: LabRow[] = [
  {
    id: 'lib-count2',
    label: 'library: idle 2 s, interval 1 s, count 2',
    mode: 'library',
    options: { idle: 2000, interval: 1000, count: 2 },
    expectedCause: 'keepalive',
  },
  {
    id: 'lib-count5',
    label: 'library: idle 2 s, interval 1 s, count 5',
    mode: 'library',
    options: { idle: 2000, interval: 1000, count: 5 },
    expectedCause: 'keepalive',
  },
  {
    id: 'lib-usertimeout',
    label: 'library: userTimeout 3000 ms, data in flight',
    mode: 'library',
    options: { userTimeout: 3000 },
    dataInFlight: true,
    expectedCause: 'userTimeout',
  },
  {
    id: 'lib-retransmissions',
    label: 'library: idle 2 s, interval 1 s, count 2, data in flight',
    mode: 'library',
    options: { idle: 2000, interval: 1000, count: 2 },
    dataInFlight: true,
    expectedCause: 'retransmissions',
  },
  { id: 'node', label: 'Node setKeepAlive(true, 2000)', mode: 'node', nodeDelay: 2000 },
  {
    id: 'node-inflight',
    label: 'Node setKeepAlive(true, 2000), data in flight',
    mode: 'node',
    nodeDelay: 2000,
    dataInFlight: true,
  },
  {
    id: 'before-connect',
    label: 'Node setKeepAlive(true, 2000) before connect',
    mode: 'before-connect',
    nodeDelay: 2000,
  },
  {
    id: 'before-connect-old',
    label: 'Node setKeepAlive(true, 2000) before connect',
    mode: 'before-connect',
    nodeDelay: 2000,
    oldNode: true,
  },
  { id: 'node-500', label: 'Node setKeepAlive(true, 500)', mode: 'node', nodeDelay: 500 },
  ...(['pg', 'ioredis'] as const).flatMap((client) =>
    [false, true].map((preload): LabRow => {
      const what = client === 'pg' ? 'pg Client, query running' : 'ioredis, idle';
      return {
        id: appRowId(client, preload),
        label: `${what}, ${preload ? 'register preload' : 'untouched'}`,
        mode: 'off',
        app: { client, preload },
        // The running query was sent and acknowledged before the cut: to TCP the connection is idle.
        ...(preload ? { expectedCause: 'keepalive' as const } : {}),
      };
    }),
  ),
];

/**
 * The predicted detection time of a row with the kernel values it has: detectionTime,
 * or for data in flight without a user timeout, the retransmission limit of the client's
 * namespace (`retransmissionLimitMs`, as the peer there read it with retransmissionLimitMs()).
 */
export function predict(row: LabRow, effective: KeepAliveState, retransmissionLimitMs: number): number {
  const predicted = detectionTime(effective);
  return row.dataInFlight ? (predicted.dataInFlightMs ?? retransmissionLimitMs) : predicted.idleConnectionMs;
}

/** Whether a row's connection ends at the kernel's retransmission limit: data in flight, no user timeout. */
export function endsAtRetransmissionLimit(
  row: { dataInFlight?: boolean },
  effective: KeepAliveState | null | undefined,
): boolean {
  return Boolean(row.dataInFlight) && effective?.userTimeout === 0;
}

/**
 * How long after the cut the lab must wait to see a row fail, ms: its prediction; for
 * the retransmission limit, which the kernel checks only when its doubling timer expires
 * (checks.ts), twice the limit, and 2 s for the first timeouts before its clock starts
 * and the lateness of the last.
 */
export function longestWaitMs(row: LabRow, effective: KeepAliveState, predictedMs: number): number {
  return endsAtRetransmissionLimit(row, effective) ? 2 * predictedMs + 2000 : predictedMs;
}

/**
 * The measured detection time: from the last segment received (the kernel's idle
 * clock) or, with data in flight, from the unacknowledged write, to the socket's
 * error; `null` when it did not fail.
 */
export function measure(row: LabRow, report: ConnectionReport | undefined): number | null {
  if (!report?.closedAt || !report.errorCode) return null;
  const from = row.dataInFlight ? report.wroteAt : report.lastHeardAt;
  return from === undefined ? null : report.closedAt - from;
}
