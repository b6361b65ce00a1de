/**
 * One instrumented client connection, as the `client` command and the lab open them:
 * keepalive configured one of several ways, liveness sampled from TCP_INFO, and the
 * moment and cause of its death recorded.
 */
import diagnosticsChannel from 'node:diagnostics_channel';
import net from 'node:net';
import {
  DEAD_PEER_CHANNEL,
  type DeadPeer,
  getKeepAlive,
  getTcpInfo,
  type KeepAliveOptions,
  type KeepAliveState,
  setKeepAlive,
} from 'socket-keepalive';

/**
 * How keepalive is configured:
 * - `library`: this library's setKeepAlive with `options`, called before connect;
 * - `node`: Node's own `socket.setKeepAlive(true, nodeDelay)` after 'connect';
 * - `before-connect`: the same call right after net.connect(), before the socket has connected;
 * - `off`: nothing.
 */
export type Mode = 'library' | 'node' | 'before-connect' | 'off';
export const MODES: readonly Mode[] = ['library', 'node', 'before-connect', 'off'];

export interface ConnectionSpec {
  id: string;
  mode: Mode;
  /** For `library`. */
  options?: KeepAliveOptions;
  /** For `node` and `before-connect`, ms. */
  nodeDelay?: number;
}

/** What a connection reports: JSON-serialisable, times as epoch ms. */
export interface ConnectionReport {
  id: string;
  state: 'connecting' | 'open' | 'closed';
  /** The connection's local port, once connected: what tells it apart on the wire. */
  localPort?: number;
  /** Kernel values read back after connect. */
  effective?: KeepAliveState;
  /** Keepalive probes outstanding, from TCP_INFO. */
  probes?: number;
  /** Unacknowledged segments, from TCP_INFO. */
  unacked?: number;
  /** When the kernel last received a segment (data or ACK) on it: its idle clock starts there. */
  lastHeardAt?: number;
  /** When the last unacknowledged write was made. */
  wroteAt?: number;
  closedAt?: number;
  /** The error code it died with ('ETIMEDOUT', ...), or undefined for a clean close. */
  errorCode?: string;
  /** What the library published on its dead-peer channel for this connection, if anything. */
  deadPeer?: DeadPeerReport;
}

/** The part of a dead-peer message ({@link DeadPeer}) a report carries: JSON, no socket or addresses. */
export type DeadPeerReport = Pick<DeadPeer, 'cause' | 'silentMs' | 'probes' | 'retransmits' | 'predictedMs'>;

export class Connection {
  readonly report: ConnectionReport;
  readonly socket: net.Socket;

  constructor(
    readonly spec: ConnectionSpec,
    host: string,
    port: number,
    onData?: (data: Buffer) => void,
  ) {
    this.report = { id: spec.id, state: 'connecting' };
    const socket = net.connect(port, host);
    this.socket = socket;
    if (spec.mode === 'library') setKeepAlive(socket, spec.options ?? {});
    if (spec.mode === 'before-connect') socket.setKeepAlive(true, spec.nodeDelay);
    socket.on('connect', () => {
      if (spec.mode === 'node') socket.setKeepAlive(true, spec.nodeDelay);
      this.report.state = 'open';
      this.report.localPort = socket.localPort;
      this.report.effective = getKeepAlive(socket);
      this.sample();
    });
    if (onData) socket.on('data', onData);
    recordEnd(socket, this.report);
  }

  /** Refreshes probes and the time last heard from TCP_INFO; a no-op once closed. */
  sample(): ConnectionReport {
    return sampleSocket(this.socket, this.report);
  }

  /** Writes `data` and records when, for measuring how long it stays unacknowledged. */
  write(data: string): void {
    this.report.wroteAt = Date.now();
    this.socket.write(data);
  }
}

/** The reports of the sockets recordEnd watches, for the dead-peer channel's messages. */
const reportsBySocket = new WeakMap<net.Socket, ConnectionReport>();
let subscribed = false;

/**
 * Records in `report` how `socket` ends: the dead-peer channel's message about it (sent
 * before 'close'), the error it dies with, and when it closes.
 */
export function recordEnd(socket: net.Socket, report: ConnectionReport): void {
  reportsBySocket.set(socket, report);
  if (!subscribed) {
    subscribed = true;
    // channel().subscribe, not diagnosticsChannel.subscribe: the lab's peer also runs on Node 16.14.
    diagnosticsChannel.channel(DEAD_PEER_CHANNEL).subscribe((message) => {
      const { socket: deadSocket, cause, silentMs, probes, retransmits, predictedMs } = message as DeadPeer;
      const deadReport = reportsBySocket.get(deadSocket);
      if (deadReport) deadReport.deadPeer = { cause, silentMs, probes, retransmits, predictedMs };
    });
  }
  socket.on('error', (error: NodeJS.ErrnoException) => {
    report.errorCode = error.code ?? error.message;
  });
  socket.on('close', () => {
    report.state = 'closed';
    report.closedAt = Date.now();
  });
}

/** Refreshes `report`'s probes and time last heard from `socket`'s TCP_INFO; a no-op once closed. */
export function sampleSocket(socket: net.Socket, report: ConnectionReport): ConnectionReport {
  if (report.state === 'open' && !socket.destroyed) {
    const info = getTcpInfo(socket);
    report.probes = info.probes;
    report.unacked = info.unacked;
    // The kernel's keepalive clock: time since the last data or ACK received.
    report.lastHeardAt = Date.now() - Math.min(info.lastDataReceivedMs, info.lastAckReceivedMs);
  }
  return report;
}
