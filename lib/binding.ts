import path from 'node:path';
import nodeGypBuild from 'node-gyp-build';
import { systemError } from './errors.js';

/** Raw struct tcp_info fields, in the kernel's units (see native/keepalive.cc). */
export interface RawTcpInfo {
  state: number;
  probes: number;
  backoff: number;
  retransmits: number;
  rto: number;
  rtt: number;
  rttvar: number;
  last_data_sent: number;
  last_data_recv: number;
  last_ack_recv: number;
  unacked: number;
  total_retrans: number;
}

/**
 * The addon's functions. Kernel units; a negative value leaves an option untouched.
 * Each checks that the fd is a TCP socket first, unless `knownTcp` says it belongs to a
 * libuv TCP handle.
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
  ): void;
  /** Fills `out` with SO_KEEPALIVE, TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT, TCP_USER_TIMEOUT. */
  getKeepAlive(fd: number, out: Int32Array, knownTcp: boolean): void;
  getTcpInfo(fd: number, knownTcp: boolean): RawTcpInfo;
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
