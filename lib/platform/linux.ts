/**
 * Linux (include/net/tcp.h, include/net/tcp_states.h, net/ipv4/tcp_timer.c, /proc): the
 * TCP_INFO states, the keepalive and retransmission timer model, and the /proc tables
 * that list a process's sockets. Its option limits are the `linux` column of the option
 * table (lib/options.ts). The native side is native/platform-linux.cc.
 * @packageDocumentation
 */
import fs from 'node:fs';
import { formatEndpoint } from '../format.js';
import type { ListedSocket, Platform } from './platform.js';

/** Linux's own keepalive defaults (net.ipv4.tcp_keepalive_time, _intvl, _probes), ms, ms, probes. */
const LINUX_DEFAULTS = { idle: 7_200_000, interval: 75_000, count: 9 };

/** A net.ipv4 sysctl of this network namespace times `scale`; `fallback` when unreadable. */
function readSysctl(name: string, fallback: number, scale: number): number {
  try {
    return Number.parseInt(fs.readFileSync(`/proc/sys/net/ipv4/${name}`, 'utf8'), 10) * scale;
  } catch {
    return fallback;
  }
}

let systemDefaults: typeof LINUX_DEFAULTS | undefined;

/** Linux's net.ipv4.tcp_retries2 default (include/net/tcp.h TCP_RETR2). */
const DEFAULT_RETRIES = 15;
/** The retransmission timeout's floor and ceiling (TCP_RTO_MIN, TCP_RTO_MAX), ms. */
const [RTO_MIN, RTO_MAX] = [200, 120_000];

/** `/proc/<pid>/net/tcp{,6}` addresses: hex, in host (little-endian) byte order per 32-bit word. */
function decodeAddress(hex: string): string {
  const [address, port] = hex.split(':');
  const bytes = Buffer.from(address, 'hex');
  for (let word = 0; word < bytes.length; word += 4) bytes.subarray(word, word + 4).reverse();
  const portNumber = Number.parseInt(port, 16);
  if (bytes.length === 4) return formatEndpoint([...bytes].join('.'), portNumber);
  const groups: string[] = [];
  for (let group = 0; group < 16; group += 2) groups.push(bytes.readUInt16BE(group).toString(16));
  // The URL parser prints IPv6 in its canonical compressed form, in brackets.
  return formatEndpoint(new URL(`http://[${groups.join(':')}]`).hostname.slice(1, -1), portNumber);
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

/** The fd number and socket inode of each socket the process holds. */
function socketsOf(pid: number): { fd: number; inode: string }[] {
  const sockets: { fd: number; inode: string }[] = [];
  for (const name of fs.readdirSync(`/proc/${pid}/fd`)) {
    const inode = /^socket:\[(\d+)\]$/.exec(readLinkUnlessClosed(`/proc/${pid}/fd/${name}`))?.[1];
    if (inode) sockets.push({ fd: Number(name), inode });
  }
  return sockets;
}

export const linux: Platform = {
  name: 'linux',

  rtoMinMs: RTO_MIN,
  rtoMaxMs: RTO_MAX,

  tcpStates: [
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
  ],

  /** This network namespace's keepalive defaults, read once (Linux's own when unreadable). */
  keepaliveDefaults() {
    systemDefaults ??= {
      idle: readSysctl('tcp_keepalive_time', LINUX_DEFAULTS.idle, 1000),
      interval: readSysctl('tcp_keepalive_intvl', LINUX_DEFAULTS.interval, 1000),
      count: readSysctl('tcp_keepalive_probes', LINUX_DEFAULTS.count, 1),
    };
    return systemDefaults;
  },

  /** tcp_keepalive_timer(): see detectionTime in lib/detection.ts for the rules. */
  idleDetection(idle, interval, count, userTimeout) {
    if (userTimeout === 0) return idle + count * interval;
    return idle + Math.max(1, Math.ceil((userTimeout - idle) / interval)) * interval;
  },

  /** tcp_model_timeout() and retransmits_timed_out(); see retransmissionLimitMs in lib/detection.ts. */
  retransmissionLimitMs() {
    const retries = readSysctl('tcp_retries2', DEFAULT_RETRIES, 1);
    const linearBackoffThreshold = Math.floor(Math.log2(RTO_MAX / RTO_MIN));
    return retries <= linearBackoffThreshold
      ? ((2 << retries) - 1) * RTO_MIN
      : ((2 << linearBackoffThreshold) - 1) * RTO_MIN + (retries - linearBackoffThreshold) * RTO_MAX;
  },

  tcpSocketsOf(pid) {
    const sockets = socketsOf(pid);
    const addresses = addressesByInode(pid);
    const listed: ListedSocket[] = [];
    for (const { fd, inode } of sockets) {
      const address = addresses.get(inode);
      if (address) listed.push({ fd, ...address }); // else not TCP: UDP, Unix domain, netlink, ...
    }
    return listed;
  },

  permissionHint() {
    let scope = '';
    try {
      scope = ` (kernel.yama.ptrace_scope is ${fs.readFileSync('/proc/sys/kernel/yama/ptrace_scope', 'utf8').trim()})`;
    } catch {
      // no Yama
    }
    return `run as root, or as the process's own user where ptrace is allowed${scope}`;
  },
};
