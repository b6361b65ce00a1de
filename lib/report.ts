/**
 * The dead-peer report of `SOCKET_KEEPALIVE=...,report=text|json` (and
 * `socket-keepalive run --report`): one line on stderr per message of the dead-peer channel.
 * @packageDocumentation
 */
import diagnosticsChannel from 'node:diagnostics_channel';
import { DEAD_PEER_CHANNEL, type DeadPeer } from './dead-peer.js';
import type { DeadPeerCause } from './stats.js';

/** The report's two forms: a sentence, or one JSON object per line. */
export type ReportFormat = 'text' | 'json';

const CAUSE_WORDS: Readonly<Record<DeadPeerCause, string>> = {
  keepalive: 'keepalive probes unanswered',
  'user-timeout': 'user timeout',
  retransmissions: 'retransmission limit',
};

function endpoint(address: string | undefined, port: number | undefined): string {
  if (address === undefined) return 'an unknown address';
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/**
 * One report line, without its newline, e.g.
 * `socket-keepalive: dead peer 10.0.0.5:5432 (from 10.0.0.9:41234): user timeout, 8.0 s silent, predicted 8.0 s`,
 * or the message as JSON, every field but the socket.
 */
export function formatDeadPeer(message: DeadPeer, format: ReportFormat): string {
  const { socket: _socket, ...fields } = message;
  if (format === 'json') return JSON.stringify(fields);
  const remote = endpoint(message.remoteAddress, message.remotePort);
  const local = endpoint(message.localAddress, message.localPort);
  if (message.cause === undefined)
    return `socket-keepalive: dead peer ${remote} (from ${local}): timed out (cause unknown without the native addon)`;
  return `socket-keepalive: dead peer ${remote} (from ${local}): ${CAUSE_WORDS[message.cause]}, ${seconds(message.silentMs as number)} silent, predicted ${seconds(message.predictedMs as number)}`;
}

/** Writes a report line to stderr for each dead peer this thread finds from now on. */
export function reportDeadPeersTo(format: ReportFormat, stream: NodeJS.WritableStream = process.stderr): void {
  diagnosticsChannel.subscribe(DEAD_PEER_CHANNEL, (message) => {
    stream.write(`${formatDeadPeer(message as DeadPeer, format)}\n`);
  });
}
