import path from 'node:path';
import nodeGypBuild from 'node-gyp-build';
import { addonError, systemError } from './errors.js';

/**
 * The native addon's functions (native/keepalive.cc). Kernel units: seconds for idle and
 * interval, ms for the user timeout; a negative value leaves an option untouched. Each
 * returns `>= 0` on success (for the pidfd functions: the new fd) and
 * `-(errno * 32 + step)` on failure, decoded by {@link addonError}. Each checks that the
 * fd is a TCP socket first, unless `knownTcp` says a libuv TCP handle owns it.
 */
export interface Binding {
  /** Sets idle, interval, count, user timeout, then SO_KEEPALIVE last; stops at the first failure. */
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
  /** Fills `out` with the struct tcp_info fields of TCP_INFO_FIELDS (lib/tcp-info.ts), in that order. */
  getTcpInfo(fd: number, out: Uint32Array, knownTcp: boolean): number;
  /** pidfd_open(2): an fd referring to process `pid`. */
  pidfdOpen(pid: number): number;
  /** pidfd_getfd(2): a duplicate, in this process, of `targetFd` of the pidfd's process. */
  pidfdGetfd(pidfd: number, targetFd: number): number;
}

let loaded: Binding | undefined;

/**
 * The native addon, loaded on first use so that merely importing the package never
 * fails, even on a platform where the addon could not be built.
 */
export function binding(): Binding {
  if (loaded !== undefined) return loaded;
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

/**
 * Applies kernel-unit values to `fd` (a negative value leaves that option untouched),
 * throwing a system error naming the option that failed.
 */
export function applyToFd(
  fd: number,
  knownTcp: boolean,
  enable: number,
  idleSeconds: number,
  intervalSeconds: number,
  count: number,
  userTimeout: number,
): void {
  const result = binding().setKeepAlive(fd, enable, idleSeconds, intervalSeconds, count, userTimeout, knownTcp);
  if (result < 0) throw addonError(result, 'setsockopt', fd);
}

/** Reads SO_KEEPALIVE, TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT, TCP_USER_TIMEOUT of `fd` into `out`. */
export function readKeepAlive(fd: number, knownTcp: boolean, out: Int32Array): void {
  const result = binding().getKeepAlive(fd, out, knownTcp);
  if (result < 0) throw addonError(result, 'getsockopt', fd);
}

/** Reads TCP_INFO of `fd` into `out`, in the order of TCP_INFO_FIELDS. */
export function readTcpInfo(fd: number, knownTcp: boolean, out: Uint32Array): void {
  const result = binding().getTcpInfo(fd, out, knownTcp);
  if (result < 0) throw addonError(result, 'getsockopt', fd);
}

/** pidfd_open(2), throwing a system error on failure. */
export function pidfdOpen(pid: number): number {
  const result = binding().pidfdOpen(pid);
  if (result < 0) throw addonError(result, 'pidfd_open', -1);
  return result;
}

/** pidfd_getfd(2), throwing a system error on failure. */
export function pidfdGetfd(pidfd: number, targetFd: number): number {
  const result = binding().pidfdGetfd(pidfd, targetFd);
  if (result < 0) throw addonError(result, 'pidfd_getfd', targetFd);
  return result;
}
