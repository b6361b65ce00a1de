import { constants } from 'node:os';
import path from 'node:path';
import { getSystemErrorName } from 'node:util';
import nodeGypBuild from 'node-gyp-build';
import { type SystemError, systemError } from './errors.js';
import type { KeepAliveState } from './keepalive.js';
import { OPTION_TABLE, type OptionNumbers, UNSET, type ValidatedOptions } from './options.js';

/**
 * The native addon (native/keepalive.cc). Values are in the kernel's units (the option
 * table's `kernelUnit`: seconds for idle and interval, ms for the user timeout). Each function returns `>= 0` on success (for the pidfd functions:
 * the new fd) and `-(errno * stepCodes + step)` on failure, decoded by {@link failure}.
 * The fd functions check that the fd is a TCP socket first, unless `knownTcp` says a
 * libuv TCP handle owns it. Values travel through the two arrays the addon exports, one
 * pair per thread, so that a call passes no array.
 */
interface Addon {
  /**
   * Sets the options of `options` in the table's order (idle, interval, count, user
   * timeout), then SO_KEEPALIVE last (a negative value leaves that option untouched);
   * stops at the first failure.
   */
  setKeepAlive(fd: number, knownTcp: boolean): number;
  /** Fills `options` with the kernel's values. */
  getKeepAlive(fd: number, knownTcp: boolean): number;
  /** Fills `tcpInfo` with the struct tcp_info fields named by `tcpInfoFields`, in that order. */
  getTcpInfo(fd: number, knownTcp: boolean): number;
  /** pidfd_open(2): an fd referring to process `pid`. */
  pidfdOpen(pid: number): number;
  /** pidfd_getfd(2): a duplicate, in this process, of `targetFd` of the pidfd's process. */
  pidfdGetfd(pidfd: number, targetFd: number): number;
  /**
   * The fd of this process's TCP socket with these addresses (`remoteAddress` '' for a
   * listener), or a failure (ENOENT: none matches); native/socket-lookup.h.
   */
  findSocket(localAddress: string, localPort: number, remoteAddress: string, remotePort: number): number;
  /** Frees an fd number found by findSocket, for the next lookups, when its socket closes. */
  forgetSocket(fd: number): void;
  /** The peer's address and port (SO_PEERNAME: also once the kernel closed the connection), or a failure. */
  peerAddress(fd: number): { address: string; port: number } | number;
  /** 1 when the preload library (native/preload.c) is loaded into this process and tunes its sockets. */
  preloadActive(): number;
  /** The preload library stops keeping its values on `fd` and reporting it: lib/ has taken the socket over. */
  releaseFromPreload(fd: number): void;
  /**
   * The option table as native/options.h writes it, the rows the addon's slots, the
   * preload library's `SOCKET_KEEPALIVE` fields and its apply come from; a test holds it
   * equal to lib/options.ts's.
   */
  readonly optionTable: readonly {
    name: string;
    kernelOption: string;
    unit: string;
    kernelScale: number;
    min: number;
    max: number;
    step: number;
    defaultValue: number;
    kept: boolean;
  }[];
  /** SO_KEEPALIVE and each option of the table, indexed as {@link OPTION_SLOTS}: what setKeepAlive applies and getKeepAlive reads. */
  readonly options: Int32Array;
  /** What getTcpInfo reads, one element per name of `tcpInfoFields`. */
  readonly tcpInfo: Uint32Array;
  /** The name of each step a failure can name, indexed by step number. */
  readonly steps: readonly string[];
  /** The multiplier of errno in a failure code. */
  readonly stepCodes: number;
  /** The names, as lib/tcp-info.ts's `TcpInfo` has them, of the fields getTcpInfo writes, in order. */
  readonly tcpInfoFields: readonly string[];
}

/**
 * The options in the order of the addon's `options` array: its first steps, which a test
 * holds equal to the option table's (SO_KEEPALIVE, then each row's kernel option).
 */
export const OPTION_SLOTS: readonly string[] = [
  'SO_KEEPALIVE',
  ...OPTION_TABLE.map(({ kernelOption }) => kernelOption),
];

/**
 * What each step the addon names means: the option or check that failed. `syscall` is set
 * where the step fixes it; otherwise it is the operation's own (setsockopt when applying,
 * getsockopt when reading). The step numbers are the addon's alone; a test checks that
 * both sides name the same steps.
 */
export const STEP_MEANINGS: Readonly<Record<string, { option?: string; syscall?: string; notTcp?: string }>> = {
  ...Object.fromEntries(OPTION_SLOTS.map((option) => [option, { option }])),
  TCP_INFO: { option: 'TCP_INFO' },
  SO_TYPE: { syscall: 'getsockopt', option: 'SO_TYPE' },
  getsockname: { syscall: 'getsockname' },
  'not TCP: Unix domain': { notTcp: 'a Unix domain socket' },
  'not TCP: datagram': { notTcp: 'a datagram (UDP) socket' },
  'not TCP: other': { notTcp: 'a non-TCP socket' },
  pidfd_open: { syscall: 'pidfd_open' },
  pidfd_getfd: { syscall: 'pidfd_getfd' },
  SO_PEERNAME: { syscall: 'getsockopt', option: 'SO_PEERNAME' },
  'socket lookup': { syscall: 'findSocket' },
};

let loaded: Addon | undefined;
/** Why the addon did not load, once it failed: it is not tried again. */
let loadFailure: Error | undefined;

/**
 * The environment variable that rules the native addon out: set (to anything but `''` or
 * `0`), the library does what Node.js's own `socket.setKeepAlive` can (lib/floor.ts), as
 * where the addon cannot load.
 */
const NO_ADDON_VARIABLE = 'SOCKET_KEEPALIVE_NO_ADDON';

function load(): Addon {
  const ruledOut = process.env[NO_ADDON_VARIABLE];
  if (ruledOut !== undefined && ruledOut !== '' && ruledOut !== '0') {
    throw new Error(`socket-keepalive: the native addon is ruled out by ${NO_ADDON_VARIABLE}=${ruledOut}.`);
  }
  if (process.platform === 'win32') {
    throw new Error('socket-keepalive: the native addon needs file descriptors, which Node.js has none of on Windows.');
  }
  try {
    return nodeGypBuild(path.join(__dirname, '..')) as Addon;
  } catch (cause) {
    const { name, message } = cause as Error;
    // Deno refuses to load any addon without the ffi permission: reinstalling would not help.
    const remedy =
      name === 'NotCapable' || message.includes('--allow-ffi')
        ? 'Deno loads native addons only with --allow-ffi (or -A).'
        : 'Linux is the supported platform; reinstall to build it.';
    throw new Error(
      `socket-keepalive: no native addon for ${process.platform}-${process.arch} (${message}). ${remedy}`,
      {
        cause,
      },
    );
  }
}

/**
 * The native addon, loaded on first use so that merely importing the package never
 * fails, even on a platform where the addon could not be built. Throws why it is not
 * there (the same error each time); {@link addonLoaded} asks without throwing.
 */
export function binding(): Addon {
  if (loaded !== undefined) return loaded;
  if (loadFailure !== undefined) throw loadFailure;
  try {
    loaded = load();
  } catch (error) {
    loadFailure = error as Error;
    throw error;
  }
  return loaded;
}

/**
 * Whether the native addon is loaded (loading it on first use). The one question that
 * selects between the addon and Node.js's own `socket.setKeepAlive` (lib/floor.ts).
 */
export function addonLoaded(): boolean {
  if (loaded !== undefined) return true;
  if (loadFailure !== undefined) return false;
  try {
    binding();
    return true;
  } catch {
    return false;
  }
}

/** Why the native addon is not loaded: the message of its load failure, e.g. `... ruled out by SOCKET_KEEPALIVE_NO_ADDON=1.` */
export function addonFailure(): string {
  return loadFailure === undefined ? '' : loadFailure.message;
}

/**
 * Turns a failure returned by the addon into a system error, in the format of
 * {@link systemError}.
 * @param operation - the syscall of the operation, for the steps that do not fix one
 * @param fd - the file descriptor acted on, named when it is not a TCP socket
 */
function failure(result: number, operation: string, fd: number): SystemError {
  const { steps, stepCodes } = binding();
  const errno = Math.floor(-result / stepCodes);
  const meaning = STEP_MEANINGS[steps[-result % stepCodes]] ?? {};
  let detail: string | undefined;
  if (meaning.notTcp !== undefined) detail = `fd ${fd} is not a TCP socket: ${meaning.notTcp}`;
  else if (meaning.syscall === undefined && errno === constants.errno.EOPNOTSUPP)
    detail = 'not supported on this platform';
  const error = systemError(getSystemErrorName(-errno), meaning.syscall ?? operation, detail, meaning.option);
  error.errno = -errno;
  return error;
}

/**
 * Applies `settings` (ms, {@link UNSET} for an option left untouched) to `fd` through the
 * addon, each option converted to the kernel's unit, with SO_KEEPALIVE set to `enable`
 * (UNSET: untouched) last; `keptOnly` applies only the options a program's own keepalive
 * switch overwrites (the table's `kept`). Throws a system error naming the option that
 * failed. One indexed loop over the table: no allocation.
 */
export function applyToFd(
  fd: number,
  knownTcp: boolean,
  enable: number,
  settings: ValidatedOptions,
  keptOnly: boolean,
): void {
  const addon = binding();
  const { options } = addon;
  options[0] = enable;
  for (let index = 0; index < OPTION_TABLE.length; index++) {
    const { kernelScale, kept } = OPTION_TABLE[index];
    const value = keptOnly && !kept ? UNSET : settings.values[index];
    options[index + 1] = value === UNSET ? UNSET : value / kernelScale;
  }
  const result = addon.setKeepAlive(fd, knownTcp);
  if (result < 0) throw failure(result, 'setsockopt', fd);
}

/**
 * Takes `fd` over from the preload library, which set the same options on it at connect()
 * or listen(): it stops keeping its values there and leaves the socket's dead-peer report
 * to lib/. Nothing happens where the preload library is not loaded.
 */
export function releaseFromPreload(fd: number): void {
  binding().releaseFromPreload(fd);
}

/**
 * A {@link KeepAliveState} with every field, in the table's order: each read copies it,
 * which makes an object of its final shape at once (adding the fields one by one costs
 * more per read). Not frozen: a copy of a frozen object takes V8's slow path.
 */
const STATE_SHAPE: Readonly<KeepAliveState> = {
  enable: false,
  ...(Object.fromEntries(OPTION_TABLE.map(({ name }) => [name, 0])) as OptionNumbers),
};

/**
 * Reads SO_KEEPALIVE and every option of the table from `fd` with getsockopt(2), each
 * converted from the kernel's unit to the API's (ms for times).
 */
export function readKeepAlive(fd: number, knownTcp: boolean): KeepAliveState {
  const addon = binding();
  const result = addon.getKeepAlive(fd, knownTcp);
  if (result < 0) throw failure(result, 'getsockopt', fd);
  const { options } = addon;
  const state = { ...STATE_SHAPE };
  state.enable = options[0] !== 0;
  for (let index = 0; index < OPTION_TABLE.length; index++) {
    const { name, kernelScale } = OPTION_TABLE[index];
    state[name] = options[index + 1] * kernelScale;
  }
  return state;
}

/**
 * Reads TCP_INFO of `fd`: the addon's `tcpInfo` array, in the order of its
 * `tcpInfoFields`, valid until the next read in this thread.
 */
export function readTcpInfo(fd: number, knownTcp: boolean): Uint32Array {
  const addon = binding();
  const result = addon.getTcpInfo(fd, knownTcp);
  if (result < 0) throw failure(result, 'getsockopt', fd);
  return addon.tcpInfo;
}

/** pidfd_open(2), throwing a system error on failure. */
export function pidfdOpen(pid: number): number {
  const result = binding().pidfdOpen(pid);
  if (result < 0) throw failure(result, 'pidfd_open', -1);
  return result;
}

/** pidfd_getfd(2), throwing a system error on failure. */
export function pidfdGetfd(pidfd: number, targetFd: number): number {
  const result = binding().pidfdGetfd(pidfd, targetFd);
  if (result < 0) throw failure(result, 'pidfd_getfd', targetFd);
  return result;
}

/**
 * The peer's address and port of the TCP socket `fd`, read with SO_PEERNAME, which still
 * answers once the kernel has closed the connection (getpeername(2) then fails with
 * ENOTCONN). Throws a system error on failure.
 */
export function readPeerAddress(fd: number): { address: string; port: number } {
  const result = binding().peerAddress(fd);
  if (typeof result === 'number') throw failure(result, 'getsockopt', fd);
  return result;
}
