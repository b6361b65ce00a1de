/**
 * TCP_INFO: what the kernel knows of a connection's liveness (struct tcp_info, tcp(7)).
 * @packageDocumentation
 */
import { readTcpInfo } from './binding.js';
import { type KeepAliveTarget, readableDescriptor } from './target.js';

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

const TCP_STATES: readonly TcpState[] = [
  'UNKNOWN',
  'ESTABLISHED',
  'SYN_SENT',
  'SYN_RECV',
  'FIN_WAIT1',
  'FIN_WAIT2',
  'TIME_WAIT',
  'CLOSE',
  'CLOSE_WAIT',
  'LAST_ACK',
  'LISTEN',
  'CLOSING',
  'NEW_SYN_RECV',
];

/**
 * What the kernel knows of a connection's liveness (struct tcp_info, TCP_INFO in
 * tcp(7)). Durations in ms; rto, rtt and rttVar keep the kernel's microsecond
 * resolution as fractions.
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
  rto: number;
  /** Smoothed round-trip time, ms. */
  rtt: number;
  /** Round-trip time variation, ms. */
  rttVar: number;
  /** ms since data was last sent. */
  lastDataSent: number;
  /** ms since data was last received. */
  lastDataReceived: number;
  /** ms since an ACK was last received. */
  lastAckReceived: number;
  /** Segments sent and not acknowledged. */
  unacked: number;
  /** Retransmissions over the connection's life. */
  totalRetransmits: number;
}

/**
 * The struct tcp_info fields reported, in the order the addon fills its Uint32Array
 * (native/keepalive.cc follows this table), with the kernel's unit of each.
 */
const TCP_INFO_FIELDS: readonly { name: keyof TcpInfo; kernelField: string; unit: 'state' | 'count' | 'us' | 'ms' }[] = [
  { name: 'state', kernelField: 'tcpi_state', unit: 'state' },
  { name: 'probes', kernelField: 'tcpi_probes', unit: 'count' },
  { name: 'backoff', kernelField: 'tcpi_backoff', unit: 'count' },
  { name: 'retransmits', kernelField: 'tcpi_retransmits', unit: 'count' },
  { name: 'rto', kernelField: 'tcpi_rto', unit: 'us' },
  { name: 'rtt', kernelField: 'tcpi_rtt', unit: 'us' },
  { name: 'rttVar', kernelField: 'tcpi_rttvar', unit: 'us' },
  { name: 'lastDataSent', kernelField: 'tcpi_last_data_sent', unit: 'ms' },
  { name: 'lastDataReceived', kernelField: 'tcpi_last_data_recv', unit: 'ms' },
  { name: 'lastAckReceived', kernelField: 'tcpi_last_ack_recv', unit: 'ms' },
  { name: 'unacked', kernelField: 'tcpi_unacked', unit: 'count' },
  { name: 'totalRetransmits', kernelField: 'tcpi_total_retrans', unit: 'count' },
];

const raw = new Uint32Array(TCP_INFO_FIELDS.length);

/** Reads TCP_INFO of a connected socket (or a listener); see tcp(7). Linux only. */
export function getTcpInfo(target: KeepAliveTarget): TcpInfo {
  const { fd, knownTcp } = readableDescriptor(target);
  readTcpInfo(fd, knownTcp, raw);
  const info = {} as Record<keyof TcpInfo, number | TcpState>;
  for (let index = 0; index < TCP_INFO_FIELDS.length; index++) {
    const { name, unit } = TCP_INFO_FIELDS[index];
    const value = raw[index];
    info[name] = unit === 'state' ? (TCP_STATES[value] ?? 'UNKNOWN') : unit === 'us' ? value / 1000 : value;
  }
  return info as TcpInfo;
}
