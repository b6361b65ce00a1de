import fs from 'node:fs';
import { addonLoaded, pidfdGetfd, pidfdOpen } from './binding.js';
import { type DetectionTime, detectionTime } from './detection.js';
import { invalidArgType, outOfRange, systemError } from './errors.js';
import { needsAddon } from './floor.js';
import { getKeepAlive, type KeepAliveState } from './keepalive.js';
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
  lastDataReceived: number;
  /** Predicted time to notice a dead peer; see {@link detectionTime}. */
  detection: DetectionTime;
}

/** `/proc/<pid>/net/tcp{,6}` addresses: hex, in host (little-endian) byte order per 32-bit word. */
function decodeAddress(hex: string): string {
  const [address, port] = hex.split(':');
  const bytes = Buffer.from(address, 'hex');
  for (let word = 0; word < bytes.length; word += 4) bytes.subarray(word, word + 4).reverse();
  const portNumber = Number.parseInt(port, 16);
  if (bytes.length === 4) return `${[...bytes].join('.')}:${portNumber}`;
  const groups: string[] = [];
  for (let group = 0; group < 16; group += 2) groups.push(bytes.readUInt16BE(group).toString(16));
  // The URL parser prints IPv6 in its canonical compressed form, brackets included.
  return `${new URL(`http://[${groups.join(':')}]`).hostname}:${portNumber}`;
}

/** Local and peer address of every TCP socket in the process's network namespace, by inode. */
function addressesByInode(pid: number): Map<string, { local: string; peer: string }> {
  const addresses = new Map<string, { local: string; peer: string }>();
  for (const table of ['tcp', 'tcp6']) {
    let text: string;
    try {
      text = fs.readFileSync(`/proc/${pid}/net/${table}`, 'utf8');
    } catch {
      continue; // no IPv6 in this kernel
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields.length < 10) continue;
      const peer = decodeAddress(fields[2]);
      addresses.set(fields[9], {
        local: decodeAddress(fields[1]),
        peer: /:0$/.test(peer) && fields[3] === '0A' ? '*:0' : peer,
      });
    }
  }
  return addresses;
}

function ptraceHint(): string {
  let scope = '';
  try {
    scope = ` (kernel.yama.ptrace_scope is ${fs.readFileSync('/proc/sys/kernel/yama/ptrace_scope', 'utf8').trim()})`;
  } catch {
    // no Yama
  }
  return `run as root, or as the process's own user where ptrace is allowed${scope}`;
}

/** Maps a failure to reach the process to an error that says what to do. */
function accessError(error: NodeJS.ErrnoException, pid: number, syscall: string): Error {
  switch (error.code) {
    case 'ENOENT':
    case 'ESRCH':
      return systemError('ESRCH', syscall, `no process with pid ${pid}`);
    case 'EACCES':
    case 'EPERM':
      return systemError('EPERM', syscall, `no permission to read the sockets of process ${pid}: ${ptraceHint()}`);
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

/** The fd number and socket inode of each socket the process holds. */
function socketsOf(pid: number): { fd: number; inode: string }[] {
  const sockets: { fd: number; inode: string }[] = [];
  try {
    for (const name of fs.readdirSync(`/proc/${pid}/fd`)) {
      const inode = /^socket:\[(\d+)\]$/.exec(readLinkUnlessClosed(`/proc/${pid}/fd/${name}`))?.[1];
      if (inode) sockets.push({ fd: Number(name), inode });
    }
  } catch (error) {
    throw accessError(error as NodeJS.ErrnoException, pid, 'readdir');
  }
  return sockets;
}

/** The target of a /proc fd link; '' for an fd closed meanwhile. */
function readLinkUnlessClosed(link: string): string {
  try {
    return fs.readlinkSync(link);
  } catch (error) {
    // Closed meanwhile; any other failure (EACCES without ptrace permission) is not.
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    return '';
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
      lastDataReceived: info.lastDataReceived,
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
  if (!addonLoaded()) throw needsAddon('inspectProcess (pidfd_getfd(2) and getsockopt(2))');
  const sockets = socketsOf(pid);
  const addresses = addressesByInode(pid);
  const pidfd = openProcess(pid);
  try {
    const found: InspectedSocket[] = [];
    for (const { fd, inode } of sockets) {
      const address = addresses.get(inode);
      if (!address) continue; // not TCP: UDP, Unix domain, netlink, ...
      const copy = duplicate(pidfd, fd, pid);
      if (copy !== undefined) found.push(readCopy(copy, fd, address));
    }
    return found;
  } finally {
    fs.closeSync(pidfd);
  }
}
