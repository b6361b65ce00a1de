/**
 * The dead-peer channel: one message for each connection of a tuned socket that the
 * kernel ended because the peer stopped answering.
 * @packageDocumentation
 */
import diagnosticsChannel from 'node:diagnostics_channel';
import type * as net from 'node:net';
import { constants } from 'node:os';
import { addonLoaded, readPeerAddress } from './binding.js';
import {
  keepaliveIntervalDefault,
  predictDetection,
  RTO_MAX_MS,
  RTO_MIN_MS,
  retransmissionLimitMs,
} from './detection.js';
import { type KeepAliveOptions, optionsOf, UNSET, type ValidatedOptions } from './options.js';
import { counts, type DeadPeerCause } from './stats.js';
import { acceptingServerOf, socketDescriptor, tcpSocketOf } from './target.js';
import { type TcpInfo, tcpInfoOf } from './tcp-info.js';
import { type SocketTuning, serverTuningOf, socketTuningOf } from './tuning.js';

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
 * connection of a tuned socket because the peer stopped answering (or, `'zeroWindow'`,
 * answered but took nothing for the user timeout). Sent once per connection, before the
 * socket's 'close' (and after its 'error' is decided: Node emits that `read ETIMEDOUT`
 * to the application next).
 *
 * A socket counts as tuned when it has options from {@link setKeepAlive}, a tuned agent,
 * the process-wide default, or a tuned server that accepted it; a TLS socket counts as
 * tuned when the socket it runs over is. The message is published when such a socket is
 * destroyed with `ETIMEDOUT` (or, for a socket an `http.Agent` pools, destroyed by the
 * agent's read guard, which passes no error) and TCP_INFO (tcp(7)) says the kernel ended
 * an opened connection by its timers: state CLOSE, a round-trip time measured (the
 * handshake completed), and keepalive probes or retransmissions outstanding, or unsent
 * data waiting on a zero window. Nothing is published for a socket the application ends,
 * one reset by its peer (also while the application paused reading and then destroyed it
 * with an `ETIMEDOUT` of its own), an `ETIMEDOUT` of the application's making, a refused
 * connect, or a connection attempt that timed out (`connect ETIMEDOUT`: the connection
 * never opened, so no peer died; the error itself says which address did not answer).
 *
 * Without the native addon there is no TCP_INFO: the message is published when the
 * socket is destroyed with the kernel's own ETIMEDOUT (Node's `read` or `write` error,
 * errno ETIMEDOUT; one of the application's making has neither), with the addresses Node
 * read when the socket was tuned, and `cause`, `silentMs`, `inFlightMs`, `probes`,
 * `retransmits`, `predictedMs` and `predictedMaxMs` undefined; {@link keepAliveStats}
 * does not count it, as it counts by cause.
 */
export interface DeadPeer {
  /** The socket, already destroyed; its 'close' follows. */
  socket: net.Socket;
  /** When the library saw the kernel's verdict, as an ISO 8601 timestamp (UTC). */
  at: string;
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
   * `'userTimeout'`: data was in flight, unacknowledged past TCP_USER_TIMEOUT (the
   * `userTimeout` option). `'retransmissions'`: data was in flight and no user timeout is
   * set: the kernel's retransmission limit (net.ipv4.tcp_retries2) ended it.
   * `'zeroWindow'`: the peer is alive (it acknowledged the kernel's window probes) but
   * took no data for the user timeout: its receive window stayed closed, so the data
   * waiting to be sent never left (a peer stuck, or not reading).
   */
  cause: DeadPeerCause | undefined;
  /**
   * ms since the peer was last heard (TCP_INFO last data or ACK received) when the kernel
   * gave up. Small for `'zeroWindow'`: the peer kept answering.
   */
  silentMs: number | undefined;
  /**
   * For data in flight (`'userTimeout'`, `'retransmissions'`): ms the oldest
   * unacknowledged data had waited for its acknowledgement when the kernel gave up,
   * counted from its first transmission. Estimated from TCP_INFO: the time since the last
   * retransmission plus the backed-off retransmission timeouts before it and the tail
   * loss probe, which is within the kernel's timer slack (tens of ms). `undefined` for the
   * other causes.
   */
  inFlightMs: number | undefined;
  /** Keepalive probes sent and unanswered (TCP_INFO tcpi_probes). */
  probes: number | undefined;
  /** Retransmissions of the oldest unacknowledged segment (TCP_INFO tcpi_retransmits). */
  retransmits: number | undefined;
  /** The socket's options in force, in ms as the API takes them; fields never set are absent (the system's values applied). */
  options: KeepAliveOptions;
  /**
   * When the library predicted the kernel would give up, in ms, counted from the same
   * moment as the figure it compares with: for `'keepalive'`, {@link detectionTime}'s
   * `idleConnectionMs`, from the last data received (compare with `silentMs`); for
   * `'userTimeout'` and `'zeroWindow'`, the user timeout, its `dataInFlightMs` (compare
   * with `inFlightMs` and, for a zero window, the time the data waited); for `'retransmissions'`,
   * {@link retransmissionLimitMs}, the bound the kernel compares with (compare with
   * `inFlightMs`). The earliest the kernel may give up; see `predictedMaxMs`.
   */
  predictedMs: number | undefined;
  /**
   * The latest the kernel may give up, in ms from the same moment as `predictedMs`: the
   * kernel checks its bound only when a timer fires, and its timer wheel may fire a timer
   * up to 1/8 of its length late. For `'keepalive'`, `predictedMs` plus one keepalive
   * interval (and its lateness); for `'userTimeout'`, the user timeout (and its lateness)
   * plus the tail loss probe and the first retransmission timeout, since the kernel
   * counts it from its first timed-out retransmission; for `'zeroWindow'`, the user
   * timeout and its lateness; for `'retransmissions'`, the first expiry of the doubling
   * retransmission timer past the bound, which can be about twice the bound.
   */
  predictedMaxMs: number | undefined;
}

const channel = diagnosticsChannel.channel(DEAD_PEER_CHANNEL);

/** The options of a tuned socket, of the socket a TLS socket runs over, or of the tuned server that accepted it. */
function tuningOf(socket: net.Socket): { settings: ValidatedOptions; tuning: SocketTuning | undefined } | undefined {
  let tuning = socketTuningOf(socket);
  if (tuning === undefined) {
    const under = tcpSocketOf(socket);
    if (under !== socket) tuning = socketTuningOf(under);
  }
  if (tuning !== undefined) return { settings: tuning, tuning };
  const server = acceptingServerOf(socket);
  const serverTuning = server === undefined ? undefined : serverTuningOf(server);
  return serverTuning === undefined ? undefined : { settings: serverTuning, tuning: undefined };
}

/** The peer of a socket whose connection the kernel closed; `undefined` if the kernel cannot tell. */
function peerOf(fd: number): { address: string; port: number } | undefined {
  try {
    return readPeerAddress(fd);
  } catch {
    return undefined;
  }
}

// The figures and the cause rule below have a twin in C, for the sockets the preload library
// tunes: native/preload.c figures_of (first_rto, loss_probe, in_flight_of, retransmission_end).

/** The first retransmission timeout of a connection, ms, from TCP_INFO after `retransmits` doublings. */
function firstRto({ rtoMs, rttMs, rttVarMs, retransmits }: TcpInfo): number {
  const unbacked = rtoMs / 2 ** retransmits;
  // Past the ceiling the doublings no longer tell: Linux's own formula (srtt + max(4 x rttvar, TCP_RTO_MIN)).
  return rtoMs < RTO_MAX_MS ? unbacked : rttMs + Math.max(4 * rttVarMs, RTO_MIN_MS);
}

/** The tail loss probe's timeout before the first retransmission timeout (tcp_schedule_loss_probe()): 2 x srtt + TCP_RTO_MIN. */
const lossProbe = ({ rttMs }: TcpInfo) => 2 * rttMs + RTO_MIN_MS;

/**
 * ms the oldest unacknowledged data had waited when the kernel gave up: since the last
 * retransmission, plus the timeouts before it (doubling from the first, capped at
 * TCP_RTO_MAX) and the tail loss probe when one was sent (counted in total retransmits).
 */
function inFlightOf(info: TcpInfo): number {
  const first = firstRto(info);
  let waited = info.lastDataSentMs;
  for (let step = 0; step < info.retransmits; step++) waited += Math.min(first * 2 ** step, RTO_MAX_MS);
  if (info.totalRetransmits > info.retransmits) waited += lossProbe(info);
  return Math.round(waited);
}

/**
 * The first expiry of the retransmission timer at or past the bound, ms after the data
 * was sent: the kernel measures the bound from its first timed-out retransmission and
 * compares only when the timer expires (see {@link retransmissionLimitMs}).
 */
function retransmissionEnd(info: TcpInfo, bound: number): number {
  const first = firstRto(info);
  const firstTimeout = lossProbe(info) + first;
  let expiry = firstTimeout;
  let timeout = first;
  for (let step = 1; expiry - firstTimeout < bound; step++) {
    timeout = Math.min(first * 2 ** step, RTO_MAX_MS);
    expiry += timeout;
  }
  return Math.round(expiry + timeout * TIMER_WHEEL_LATENESS);
}

/**
 * How late, as a share of its length, the kernel's timer wheel may fire a timer: a
 * timeout lands in a wheel level whose granularity is at most 1/8 of it (kernel/time/timer.c).
 */
const TIMER_WHEEL_LATENESS = 1 / 8;

/** Why the kernel ended an opened connection by its timers, from TCP_INFO at close; `undefined` when it did not. */
function causeOf(info: TcpInfo, settings: ValidatedOptions, socket: net.Socket): DeadPeerCause | undefined {
  if (info.state !== 'CLOSE' || info.rttMs === 0) return undefined; // open still, or never opened
  if (info.retransmits > 0) return settings.userTimeout > 0 ? 'userTimeout' : 'retransmissions';
  if (info.probes > 0) return 'keepalive';
  // Nothing outstanding: a reset, unless data waited on a closed window until the user timeout
  // (Node still holds what the kernel's full send buffer could not take; data that all fit
  // in the kernel leaves nothing to tell a zero window from a reset, and is not reported).
  return settings.userTimeout > 0 && socket.writableLength > 0 ? 'zeroWindow' : undefined;
}

/**
 * Without the addon: publishes what Node knows of a tuned socket that the kernel's
 * ETIMEDOUT ended (see {@link DeadPeer}).
 */
function reportWithoutTcpInfo(socket: net.Socket, settings: ValidatedOptions, error: Error): void {
  const { errno, syscall } = error as NodeJS.ErrnoException;
  if (errno !== -constants.errno.ETIMEDOUT || (syscall !== 'read' && syscall !== 'write')) return;
  if (!channel.hasSubscribers) return;
  channel.publish({
    socket,
    at: new Date().toISOString(),
    localAddress: socket.localAddress,
    localPort: socket.localPort,
    remoteAddress: socket.remoteAddress,
    remotePort: socket.remotePort,
    cause: undefined,
    silentMs: undefined,
    inFlightMs: undefined,
    probes: undefined,
    retransmits: undefined,
    options: optionsOf(settings),
    predictedMs: undefined,
    predictedMaxMs: undefined,
  } satisfies DeadPeer);
}

/**
 * Called from `socket._destroy(error)` for an `ETIMEDOUT`, or for a pooled socket
 * destroyed by Node's agent without an error (lib/patches.ts): counts and publishes a
 * dead peer when the socket is tuned and the kernel ended the connection by its timers.
 * TCP_INFO, then the peer's address (SO_PEERNAME), read on the descriptor, still open;
 * never throws.
 */
export function reportDeadPeer(socket: net.Socket, error?: Error): void {
  let message: DeadPeer;
  try {
    const tuned = tuningOf(socket);
    if (tuned === undefined) return;
    const { settings, tuning } = tuned;
    if (!addonLoaded()) {
      if (error !== undefined) reportWithoutTcpInfo(socket, settings, error);
      return;
    }
    const { fd, knownTcp } = socketDescriptor(tcpSocketOf(socket));
    if (fd < 0) return;
    if (tuning !== undefined) {
      // A TLS socket and the socket under it are destroyed with the same connection.
      if (tuning.reportedFd === fd) return;
      tuning.reportedFd = fd;
    }
    const info = tcpInfoOf(fd, knownTcp);
    const cause = causeOf(info, settings, socket);
    if (cause === undefined) return;
    const predicted = predictDetection(settings);
    const interval = settings.interval === UNSET ? keepaliveIntervalDefault() : settings.interval;
    let predictedMs: number;
    let predictedMaxMs: number;
    if (cause === 'keepalive') {
      predictedMs = predicted.idleConnectionMs;
      predictedMaxMs = predicted.idleConnectionMs + Math.round(interval * (1 + TIMER_WHEEL_LATENESS));
    } else if (cause === 'retransmissions') {
      predictedMs = retransmissionLimitMs();
      predictedMaxMs = retransmissionEnd(info, predictedMs);
    } else {
      predictedMs = settings.userTimeout;
      // Counted from the first timed-out retransmission, a loss probe and a timeout after the write; the last timer may be late.
      predictedMaxMs = Math.round(
        settings.userTimeout * (1 + TIMER_WHEEL_LATENESS) +
          (cause === 'zeroWindow' ? 0 : lossProbe(info) + firstRto(info)),
      );
    }
    const peer = peerOf(fd);
    message = {
      socket,
      at: new Date().toISOString(),
      localAddress: socket.localAddress,
      localPort: socket.localPort,
      remoteAddress: peer?.address,
      remotePort: peer?.port,
      cause,
      silentMs: Math.min(info.lastDataReceivedMs, info.lastAckReceivedMs),
      inFlightMs: cause === 'userTimeout' || cause === 'retransmissions' ? inFlightOf(info) : undefined,
      probes: info.probes,
      retransmits: info.retransmits,
      options: optionsOf(settings),
      predictedMs,
      predictedMaxMs,
    };
  } catch {
    return; // the descriptor is gone after all (a socket of another runtime): nothing to say
  }
  counts[message.cause as DeadPeerCause]++;
  if (channel.hasSubscribers) channel.publish(message);
}
