/**
 * TCP_INFO: what the kernel knows of a connection's liveness (struct tcp_info, tcp(7)).
 * @packageDocumentation
 */
import { addonLoaded, binding, readTcpInfo } from './binding.js';
import { needsAddon } from './floor.js';
import { platform } from './platform/index.js';
import { type KeepAliveTarget, readableDescriptor, targetKind } from './target.js';

/** A TCP state name, as in the kernel's include/net/tcp_states.h. */
export type TcpState =
  | 'ESTABLISHED'
  | 'SYN_SENT'
  | 'SYN_RECV'
  | 'FIN_WAIT1'
  | 'FIN_WAIT2'
  | 'TIME_WAIT'
  | 'CLOSE'
  | 'CLOSE_WAIT'
  | 'LAST_ACK'
  | 'LISTEN'
  | 'CLOSING'
  | 'NEW_SYN_RECV'
  | 'UNKNOWN';

/**
 * What the kernel knows of a connection's liveness (struct tcp_info, TCP_INFO in
 * tcp(7)). Durations in ms, each named with `Ms` (the kernel's tcpi_rto, tcpi_rtt and
 * tcpi_rttvar are in µs: `rtoMs`, `rttMs` and `rttVarMs` keep that resolution as
 * fractions).
 */
export interface TcpInfo {
  /** Connection state. */
  state: TcpState;
  /** Keepalive (or zero-window) probes sent and not answered yet. */
  probes: number;
  /** Exponential backoff of the retransmission timer. */
  backoff: number;
  /** Retransmissions of the oldest unacknowledged segment so far. */
  retransmits: number;
  /** Current retransmission timeout, ms. */
  rtoMs: number;
  /** Smoothed round-trip time, ms. */
  rttMs: number;
  /** Round-trip time variation, ms. */
  rttVarMs: number;
  /** ms since data was last sent. */
  lastDataSentMs: number;
  /** ms since data was last received. */
  lastDataReceivedMs: number;
  /** ms since an ACK was last received. */
  lastAckReceivedMs: number;
  /** Segments sent and not acknowledged. */
  unacked: number;
  /** Retransmissions over the connection's life. */
  totalRetransmits: number;
}

/**
 * The kernel's unit of each field; a field in `'us'` is converted to ms. Their order in
 * the addon's Uint32Array is the addon's own (its `tcpInfoFields`, from
 * native/keepalive.h); a test checks that both sides name the same fields.
 */
export const TCP_INFO_UNITS: Readonly<Record<keyof TcpInfo, 'state' | 'count' | 'us' | 'ms'>> = {
  state: 'state',
  probes: 'count',
  backoff: 'count',
  retransmits: 'count',
  rtoMs: 'us',
  rttMs: 'us',
  rttVarMs: 'us',
  lastDataSentMs: 'ms',
  lastDataReceivedMs: 'ms',
  lastAckReceivedMs: 'ms',
  unacked: 'count',
  totalRetransmits: 'count',
};

/**
 * Reads TCP_INFO of a connected socket (or a listener); see tcp(7). Linux only. Without
 * the native addon it throws an error with code `ERR_SOCKET_KEEPALIVE_UNSUPPORTED`.
 */
export function getTcpInfo(target: KeepAliveTarget): TcpInfo {
  if (!addonLoaded()) {
    targetKind(target);
    throw needsAddon('getTcpInfo', 'getsockopt(2) TCP_INFO');
  }
  const { fd, knownTcp } = readableDescriptor(target);
  return tcpInfoOf(fd, knownTcp);
}

/**
 * TCP_INFO of a descriptor, without the checks of {@link getTcpInfo} on its owner (the
 * dead-peer report reads a socket Node has already marked destroyed).
 */
export function tcpInfoOf(fd: number, knownTcp: boolean): TcpInfo {
  const raw = readTcpInfo(fd, knownTcp);
  const fields = binding().tcpInfoFields as readonly (keyof TcpInfo)[];
  const info = {} as Record<keyof TcpInfo, number | TcpState>;
  for (let index = 0; index < fields.length; index++) {
    const name = fields[index];
    const unit = TCP_INFO_UNITS[name];
    const value = raw[index];
    info[name] =
      unit === 'state'
        ? ((platform.tcpStates[value] as TcpState | undefined) ?? 'UNKNOWN')
        : unit === 'us'
          ? value / 1000
          : value;
  }
  return info as TcpInfo;
}
