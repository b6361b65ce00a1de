import fs from 'node:fs';
import { addonLoaded, pidfdGetfd, pidfdOpen } from './binding.js';
import { type DetectionTime, detectionTime } from './detection.js';
import { invalidArgType, outOfRange, systemError } from './errors.js';
import { needsAddon } from './floor.js';
import { getKeepAlive, type KeepAliveState } from './keepalive.js';
import { platform } from './platform/index.js';
import type { ListedSocket } from './platform/platform.js';
import { getTcpInfo, type TcpState } from './tcp-info.js';

/** One TCP socket of an inspected process, as its kernel has it. Times in ms. */
export interface InspectedSocket {
  /** The file descriptor number in the inspected process. */
  fd: number;
  /** Local address and port, e.g. `10.0.0.5:41822` or `[::1]:8080`. */
  local: string;
  /** Peer address and port; `*:0` for a listener. */
  peer: string;
  state: TcpState;
  /** SO_KEEPALIVE, TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT, TCP_USER_TIMEOUT. */
  keepAlive: KeepAliveState;
  /** Keepalive probes sent and unanswered (TCP_INFO). */
  probes: number;
  /** Retransmissions of the oldest unacknowledged segment (TCP_INFO). */
  retransmits: number;
  /** ms since data was last received (TCP_INFO). */
  lastDataReceivedMs: number;
  /** Predicted time to notice a dead peer; see {@link detectionTime}. */
  detection: DetectionTime;
}

/** Maps a failure to reach the process to an error that says what to do. */
function accessError(error: NodeJS.ErrnoException, pid: number, syscall: string): Error {
  switch (error.code) {
    case 'ENOENT':
    case 'ESRCH':
      return systemError('ESRCH', syscall, `no process with pid ${pid}`);
    case 'EACCES':
    case 'EPERM':
      return systemError(
        'EPERM',
        syscall,
        `no permission to read the sockets of process ${pid}: ${platform.permissionHint()}`,
      );
    case 'ENOSYS':
      return systemError(
        'ENOSYS',
        syscall,
        'this kernel has no pidfd_getfd(2); inspecting another process needs Linux 5.6 or later',
      );
    default:
      return error;
  }
}

/** A pidfd for the process, or an error that says what to do. */
function openProcess(pid: number): number {
  try {
    return pidfdOpen(pid);
  } catch (error) {
    throw accessError(error as NodeJS.ErrnoException, pid, 'pidfd_open');
  }
}

/** A copy, in this process, of the process's fd; undefined for an fd closed meanwhile. */
function duplicate(pidfd: number, fd: number, pid: number): number | undefined {
  try {
    return pidfdGetfd(pidfd, fd);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EBADF') return undefined;
    throw accessError(error as NodeJS.ErrnoException, pid, 'pidfd_getfd');
  }
}

/** Reads one duplicated socket, then closes the copy. */
function readCopy(copy: number, fd: number, address: { local: string; peer: string }): InspectedSocket {
  try {
    const keepAlive = getKeepAlive(copy);
    const info = getTcpInfo(copy);
    return {
      fd,
      ...address,
      state: info.state,
      keepAlive,
      probes: info.probes,
      retransmits: info.retransmits,
      lastDataReceivedMs: info.lastDataReceivedMs,
      detection: detectionTime(keepAlive),
    };
  } finally {
    fs.closeSync(copy);
  }
}

/**
 * Lists every TCP socket of a running process, any program, not only Node, with the
 * keepalive settings and TCP_INFO its kernel has, and the predicted time to notice a
 * dead peer. Each socket is duplicated with pidfd_getfd(2) (Linux 5.6+), read with
 * getsockopt(2) and closed again; the process's sockets are never changed. Needs
 * ptrace permission over the process (root, or the same user where
 * kernel.yama.ptrace_scope allows it): otherwise throws a system error with
 * `code: 'EPERM'`; `ESRCH` for no such process, `ENOSYS` for a kernel without pidfd_getfd.
 * Without the native addon it throws an error with code `ERR_SOCKET_KEEPALIVE_UNSUPPORTED`
 * (run it from a process that has the addon: any process can be inspected).
 */
export function inspectProcess(pid: number): InspectedSocket[] {
  if (typeof pid !== 'number') throw invalidArgType('pid', 'of type number', pid);
  if (!Number.isInteger(pid) || pid < 1 || pid > 2_147_483_647)
    throw outOfRange('pid', 'an integer >= 1 && <= 2147483647', pid);
  if (!addonLoaded()) throw needsAddon('inspectProcess', 'pidfd_getfd(2) and getsockopt(2)');
  let sockets: ListedSocket[];
  try {
    sockets = platform.tcpSocketsOf(pid);
  } catch (error) {
    throw accessError(error as NodeJS.ErrnoException, pid, 'readdir');
  }
  const pidfd = openProcess(pid);
  try {
    const found: InspectedSocket[] = [];
    for (const { fd, local, peer } of sockets) {
      const copy = duplicate(pidfd, fd, pid);
      if (copy !== undefined) found.push(readCopy(copy, fd, { local, peer }));
    }
    return found;
  } finally {
    fs.closeSync(pidfd);
  }
}
