/**
 * Cumulative counts of what the library did in this thread, for metrics exporters.
 * @packageDocumentation
 */

/** Why the kernel ended a connection to a dead peer; see {@link DeadPeer.cause}. */
export type DeadPeerCause = 'keepalive' | 'userTimeout' | 'retransmissions' | 'zeroWindow';

/** What {@link keepAliveStats} returns: counts since this thread loaded the library. */
export interface KeepAliveStats {
  /**
   * Sockets given options of their own: by {@link setKeepAlive}, a tuned agent, or the
   * process-wide default at connect. Connections accepted by a tuned listener inherit its
   * options from the kernel and are not counted here.
   */
  socketsTuned: number;
  /** Servers given options for their listening socket (by {@link setKeepAlive} or the default). */
  listenersTuned: number;
  /**
   * Times the kernel refused options (a system error from setsockopt), whether that was
   * thrown to the caller, emitted as the socket's 'error', or reported as a process warning.
   */
  tuningsFailed: number;
  /** Connections of tuned sockets the kernel ended because the peer stopped answering (or taking data), by cause. */
  deadPeers: Record<DeadPeerCause, number>;
}

/** The counters; modules of the library add to them, {@link keepAliveStats} copies them. */
export const counts = {
  socketsTuned: 0,
  listenersTuned: 0,
  tuningsFailed: 0,
  keepalive: 0,
  userTimeout: 0,
  retransmissions: 0,
  zeroWindow: 0,
};

/**
 * Cumulative counts since this thread loaded the library: sockets and listeners tuned,
 * tunings the kernel refused, and dead peers found, by cause (see the
 * `socket-keepalive:dead-peer` diagnostics channel, {@link DEAD_PEER_CHANNEL}). A new
 * object of plain numbers on each call, cheap enough to poll from a metrics exporter.
 * Each thread (worker) counts its own.
 *
 * @example
 * ```ts
 * const { deadPeers } = keepAliveStats();
 * console.log(deadPeers.keepalive + deadPeers.userTimeout + deadPeers.retransmissions);
 * ```
 */
export function keepAliveStats(): KeepAliveStats {
  return {
    socketsTuned: counts.socketsTuned,
    listenersTuned: counts.listenersTuned,
    tuningsFailed: counts.tuningsFailed,
    deadPeers: {
      keepalive: counts.keepalive,
      userTimeout: counts.userTimeout,
      retransmissions: counts.retransmissions,
      zeroWindow: counts.zeroWindow,
    },
  };
}
