import path from 'node:path';
import nodeGypBuild from 'node-gyp-build';
import { systemError } from './errors.js';

/**
 * The addon's functions. Kernel units; a negative value leaves an option untouched.
 * Each checks that the fd is a TCP socket first, unless `knownTcp` says it belongs to a
 * libuv TCP handle. Every function returns a number: >= 0 on success, or
 * -(errno * 32 + step) on failure (see `addonFailure` in errors.ts).
 */
export interface Binding {
  setKeepAlive(
    fd: number,
    enable: number,
    idleSeconds: number,
    intervalSeconds: number,
    count: number,
    userTimeoutMs: number,
    knownTcp: boolean,
  ): number;
  /** Fills `out` with SO_KEEPALIVE, TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT, TCP_USER_TIMEOUT. */
  getKeepAlive(fd: number, out: Int32Array, knownTcp: boolean): number;
  /**
   * Fills `out` with state, probes, backoff, retransmits, rto (us), rtt (us), rttvar (us),
   * last_data_sent, last_data_recv, last_ack_recv (ms), unacked, total_retrans.
   */
  getTcpInfo(fd: number, out: Uint32Array, knownTcp: boolean): number;
  /** pidfd_open(2): an fd referring to process `pid`. */
  pidfdOpen(pid: number): number;
  /** pidfd_getfd(2): a duplicate, in this process, of `targetFd` of the pidfd's process. */
  pidfdGetfd(pidfd: number, targetFd: number): number;
  /** How setKeepAlive reaches the kernel in this thread. */
  kernelPath(): 'io_uring' | 'syscalls';
}

let loaded: Binding | undefined;

/**
 * The native addon, loaded on first use so that merely importing the package never
 * fails, even on a platform where the addon could not be built.
 */
export function binding(): Binding {
  if (loaded) return loaded;
  if (process.platform === 'win32') {
    throw systemError('ENOTSUP', 'setsockopt', 'socket-keepalive needs file descriptors; Windows is not supported');
  }
  try {
    loaded = nodeGypBuild(path.join(__dirname, '..')) as Binding;
  } catch (cause) {
    throw new Error(
      `socket-keepalive: no native addon for ${process.platform}-${process.arch} ` +
        `(${(cause as Error).message}). Linux is the supported platform; reinstall to build it.`,
      { cause },
    );
  }
  return loaded;
}
