/**
 * What the library needs to know of an operating system's TCP: the interface each file of
 * lib/platform/ implements (only linux.ts exists), chosen once in lib/platform/index.ts.
 * Its native counterpart is native/keepalive.h, implemented by native/platform-<os>.cc.
 * @packageDocumentation
 */

/**
 * The operating systems a platform file is written for: the name of each one's column of
 * limits in the option table (lib/options.ts), and of its file here.
 */
export type PlatformName = 'linux';

/** The accepted values of one numeric option: `min` to `max` in steps of `step`. */
export interface Limit {
  readonly min: number;
  readonly max: number;
  readonly step: number;
}

/** One TCP socket a process holds, with its addresses as the system lists them. */
export interface ListedSocket {
  /** The descriptor number in that process. */
  fd: number;
  /** Local address and port, e.g. `10.0.0.5:41822` or `[::1]:8080`. */
  local: string;
  /** Peer address and port; `*:0` for a listener. */
  peer: string;
}

export interface Platform {
  /** Which column of the option table's limits (lib/options.ts) holds this kernel's ranges. */
  readonly name: PlatformName;
  /** The name of each TCP state number of TCP_INFO, indexed by that number. */
  readonly tcpStates: readonly string[];
  /** The keepalive defaults a socket has until they are set (ms, ms, probes). */
  keepaliveDefaults(): { idle: number; interval: number; count: number };
  /**
   * When an idle connection to a dead peer fails, in ms after the peer was last heard,
   * for keepalive on with these values (ms; `userTimeout` 0 for none).
   */
  idleDetection(idle: number, interval: number, count: number, userTimeout: number): number;
  /** The retransmission timeout's floor and ceiling, ms (Linux: TCP_RTO_MIN, TCP_RTO_MAX). */
  readonly rtoMinMs: number;
  readonly rtoMaxMs: number;
  /** How long unacknowledged data is retransmitted before the connection fails with no user timeout, ms. */
  retransmissionLimitMs(): number;
  /**
   * The TCP sockets process `pid` holds. Throws what reading the system's tables threw
   * (with `code`: ENOENT, ESRCH, EACCES, EPERM) for the caller to explain.
   */
  tcpSocketsOf(pid: number): ListedSocket[];
  /** What to do when reading another process's sockets is not permitted. */
  permissionHint(): string;
}
