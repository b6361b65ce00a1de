/**
 * The dead-peer channel: one message for each connection of a tuned socket that the
 * kernel ended because the peer stopped answering.
 * @packageDocumentation
 */
import diagnosticsChannel from 'node:diagnostics_channel';
import type * as net from 'node:net';
import { constants } from 'node:os';
import { addonLoaded, readPeerAddress } from './binding.js';
import { predictDetection, retransmissionLimitMs } from './detection.js';
import { type KeepAliveOptions, type KernelSettings, optionsOf } from './options.js';
import { counts, type DeadPeerCause } from './stats.js';
import { acceptingServerOf, socketDescriptor } from './target.js';
import { tcpInfoOf } from './tcp-info.js';
import { serverTuningOf, socketTuningOf } from './tuning.js';

/**
 * The name of the `diagnostics_channel` on which the library publishes a {@link DeadPeer}
 * message: `'socket-keepalive:dead-peer'`.
 *
 * @example
 * ```ts
 * import diagnosticsChannel from 'node:diagnostics_channel';
 * diagnosticsChannel.subscribe(DEAD_PEER_CHANNEL, (message) => {
 *   const { remoteAddress, remotePort, cause, silentMs } = message as DeadPeer;
 *   log.warn({ remoteAddress, remotePort, cause, silentMs }, 'dead peer');
 * });
 * ```
 */
export const DEAD_PEER_CHANNEL = 'socket-keepalive:dead-peer';

/**
 * What the library publishes on {@link DEAD_PEER_CHANNEL} when the kernel ends a
 * connection of a tuned socket because the peer stopped answering. Sent once per
 * connection, before the socket's 'close' (and after its 'error' is decided: Node emits
 * that `read ETIMEDOUT` to the application next).
 *
 * A socket counts as tuned when it has options from {@link setKeepAlive}, a tuned agent,
 * the process-wide default, or a tuned server that accepted it. The message is published
 * when such a socket is destroyed with `ETIMEDOUT` and TCP_INFO reports its connection
 * closed (state CLOSE): a socket the application ends, one reset by its peer and one
 * destroyed with an `ETIMEDOUT` of the application's making publish nothing.
 *
 * The cause is read from TCP_INFO (tcp(7)): keepalive probes unanswered and nothing
 * retransmitted is `'keepalive'`; otherwise data was in flight, which is
 * `'user-timeout'` when the socket has a user timeout and `'retransmissions'` when not.
 *
 * Without the native addon there is no TCP_INFO: the message is published when the
 * socket is destroyed with the kernel's own ETIMEDOUT (Node's `read` or `write` error,
 * errno ETIMEDOUT; one of the application's making has neither), with the addresses Node
 * read when the socket was tuned, and `cause`, `silentMs`, `probes`, `retransmits` and
 * `predictedMs` undefined; {@link keepAliveStats} does not count it, as it counts by cause.
 */
export interface DeadPeer {
  /** The socket, already destroyed; its 'close' follows. */
  socket: net.Socket;
  localAddress: string | undefined;
  localPort: number | undefined;
  /**
   * The peer's address, read from the kernel when the connection died (SO_PEERNAME, which
   * still answers once getpeername(2) no longer does). `undefined` only if even that fails.
   */
  remoteAddress: string | undefined;
  remotePort: number | undefined;
  /**
   * `'keepalive'`: the connection was idle and keepalive probes went unanswered (with a
   * user timeout set, the kernel ends it at the user timeout once a probe is out).
   * `'user-timeout'`: data was in flight, unacknowledged past TCP_USER_TIMEOUT.
   * `'retransmissions'`: data was in flight and no user timeout is set: the kernel's
   * retransmission limit (net.ipv4.tcp_retries2) ended it. `undefined` without the
   * native addon (no TCP_INFO), as are the four fields that follow it and `predictedMs`.
   */
  cause: DeadPeerCause | undefined;
  /** ms since the peer was last heard (TCP_INFO last data or ACK received) when the kernel gave up. */
  silentMs: number | undefined;
  /** Keepalive probes sent and unanswered (TCP_INFO tcpi_probes). */
  probes: number | undefined;
  /** Retransmissions of the oldest unacknowledged segment (TCP_INFO tcpi_retransmits). */
  retransmits: number | undefined;
  /** The socket's options in force, in ms as the API takes them; fields never set are absent (the system's values applied). */
  options: KeepAliveOptions;
  /**
   * What the library predicted for this cause, in ms: {@link detectionTime}'s `idle` for
   * `'keepalive'`, its `inFlight` for `'user-timeout'`, {@link retransmissionLimitMs} for
   * `'retransmissions'`.
   */
  predictedMs: number | undefined;
}

const channel = diagnosticsChannel.channel(DEAD_PEER_CHANNEL);

/** The options of a tuned socket, or of the tuned server that accepted it. */
function settingsOf(socket: net.Socket): KernelSettings | undefined {
  const tuning = socketTuningOf(socket);
  if (tuning !== undefined) return tuning;
  const server = acceptingServerOf(socket);
  return server === undefined ? undefined : serverTuningOf(server);
}

/** The peer of a socket whose connection the kernel closed; `undefined` if the kernel cannot tell. */
function peerOf(fd: number): { address: string; port: number } | undefined {
  try {
    return readPeerAddress(fd);
  } catch {
    return undefined;
  }
}

/**
 * Without the addon: publishes what Node knows of a tuned socket that the kernel's
 * ETIMEDOUT ended (see {@link DeadPeer}).
 */
function reportWithoutTcpInfo(socket: net.Socket, settings: KernelSettings, error: Error): void {
  const { errno, syscall } = error as NodeJS.ErrnoException;
  if (errno !== -constants.errno.ETIMEDOUT || (syscall !== 'read' && syscall !== 'write')) return;
  if (!channel.hasSubscribers) return;
  channel.publish({
    socket,
    localAddress: socket.localAddress,
    localPort: socket.localPort,
    remoteAddress: socket.remoteAddress,
    remotePort: socket.remotePort,
    cause: undefined,
    silentMs: undefined,
    probes: undefined,
    retransmits: undefined,
    options: optionsOf(settings),
    predictedMs: undefined,
  } satisfies DeadPeer);
}

/**
 * Called from `socket._destroy(error)` for an `ETIMEDOUT` (lib/prototypes.ts): counts and
 * publishes a dead peer when the socket is tuned and the kernel closed the connection.
 * TCP_INFO, then the peer's address (SO_PEERNAME), read on the descriptor, still open; never throws.
 */
export function reportDeadPeer(socket: net.Socket, error: Error): void {
  const settings = settingsOf(socket);
  if (settings === undefined) return;
  if (!addonLoaded()) {
    reportWithoutTcpInfo(socket, settings, error);
    return;
  }
  let message: DeadPeer;
  try {
    const { fd, knownTcp } = socketDescriptor(socket);
    if (fd < 0) return;
    const info = tcpInfoOf(fd, knownTcp);
    if (info.state !== 'CLOSE') return;
    const idle = info.probes > 0 && info.retransmits === 0;
    const cause: DeadPeerCause = idle ? 'keepalive' : settings.userTimeout > 0 ? 'user-timeout' : 'retransmissions';
    const predicted = predictDetection(settings);
    const peer = peerOf(fd);
    message = {
      socket,
      localAddress: socket.localAddress,
      localPort: socket.localPort,
      remoteAddress: peer?.address,
      remotePort: peer?.port,
      cause,
      silentMs: Math.min(info.lastDataReceived, info.lastAckReceived),
      probes: info.probes,
      retransmits: info.retransmits,
      options: optionsOf(settings),
      predictedMs:
        cause === 'keepalive'
          ? predicted.idle
          : cause === 'user-timeout'
            ? (predicted.inFlight as number)
            : retransmissionLimitMs(),
    };
  } catch {
    return; // the descriptor is gone after all (a socket of another runtime): nothing to say
  }
  counts[message.cause as DeadPeerCause]++;
  if (channel.hasSubscribers) channel.publish(message);
}
