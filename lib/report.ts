/**
 * The dead-peer report of `SOCKET_KEEPALIVE=...,report=text|json` (and
 * `socket-keepalive run --report`): one line on stderr per message of the dead-peer channel.
 * @packageDocumentation
 */
import diagnosticsChannel from 'node:diagnostics_channel';
import { DEAD_PEER_CHANNEL, type DeadPeer } from './dead-peer.js';
import { formatEndpoint as endpoint, formatSeconds as seconds } from './format.js';

/** The report's two forms: a sentence, or one JSON object per line. */
export type ReportFormat = 'text' | 'json';

/**
 * What happened, in words for someone who has not read the documentation. The preload
 * library writes the same words (native/preload.c put_what_happened, its twin) and the same
 * line (report_if_dead) for the causes it can tell.
 */
function whatHappened(message: DeadPeer): string {
  const expected = `expected ${seconds(message.predictedMs as number)} to ${seconds(message.predictedMaxMs as number)}`;
  const silent = `peer silent ${seconds(message.silentMs as number)}`;
  switch (message.cause) {
    case 'keepalive':
      return `idle, keepalive probes unanswered; ${silent}, ${expected}`;
    case 'userTimeout':
      return `data unacknowledged for ${seconds(message.inFlightMs as number)}, past the user timeout; ${expected}; ${silent}`;
    case 'retransmissions':
      return `data unacknowledged for ${seconds(message.inFlightMs as number)}, retransmission limit reached (no user timeout set); ${expected}; ${silent}`;
    case undefined:
      return 'timed out (cause unknown without the native addon)';
    case 'zeroWindow':
      return `peer alive but took no data for the user timeout, ${seconds(message.predictedMs as number)} (zero window); last heard ${seconds(message.silentMs as number)} before`;
  }
}

/**
 * One report line, without its newline, e.g.
 * `socket-keepalive: dead peer 10.0.0.5:5432 (from 10.0.0.9:41234) at 2026-12-07T11:20:03.512Z: data unacknowledged for 5.6 s, past the user timeout; expected 5.0 s to 5.4 s; peer silent 7.1 s`,
 * or the message as JSON, every field but the socket.
 */
export function formatDeadPeer(message: DeadPeer, format: ReportFormat): string {
  const { socket: _socket, ...fields } = message;
  if (format === 'json') return JSON.stringify(fields);
  const remote = endpoint(message.remoteAddress, message.remotePort);
  const local = endpoint(message.localAddress, message.localPort);
  return `socket-keepalive: dead peer ${remote} (from ${local}) at ${message.at}: ${whatHappened(message)}`;
}

/** Writes a report line to stderr for each dead peer this thread finds from now on. */
export function reportDeadPeersTo(format: ReportFormat, stream: NodeJS.WritableStream = process.stderr): void {
  diagnosticsChannel.subscribe(DEAD_PEER_CHANNEL, (message) => {
    stream.write(`${formatDeadPeer(message as DeadPeer, format)}\n`);
  });
}
