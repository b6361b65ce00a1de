/**
 * The two core calls: set keepalive options on any target, and read them back.
 * @packageDocumentation
 */

import type { Http2Session } from 'node:http2';
import type * as net from 'node:net';
import { addonLoaded, readKeepAlive } from './binding.js';
import { needsAddon } from './floor.js';
import { type KeepAliveOptions, type OptionNumbers, ValidatedOptions, validateInto } from './options.js';
import { tuneServer } from './server.js';
import { tuneSocket } from './socket.js';
import { FD, type KeepAliveTarget, readableDescriptor, SERVER, targetKind } from './target.js';
import { applySettings } from './tuning.js';

/**
 * A socket's keepalive settings as the kernel has them, read back with getsockopt(2):
 * SO_KEEPALIVE and every option of the option table (lib/options.ts), each field with its
 * row's TSDoc. Times in milliseconds. Options never set report the system defaults
 * (net.ipv4.tcp_keepalive_time, _intvl, _probes; a user timeout of 0). See tcp(7).
 */
export interface KeepAliveState extends OptionNumbers {
  /** SO_KEEPALIVE: whether keepalive probes are sent on an idle connection. */
  enable: boolean;
}

/**
 * Validated options of the call in progress; merged into stored state, never kept. One
 * object, so that a call allocates nothing (keepalive.allocation.test.ts: a fresh one per
 * call costs scavenges); a call made while it is in use (from a getter of the options)
 * validates into a fresh one instead.
 */
const validated = new ValidatedOptions();
let validatedInUse = false;
/** An fd number given as the target: nothing vouches that it is a TCP socket. */
const rawFd = { fd: -1, knownTcp: false };

/**
 * Sets TCP keepalive options (SO_KEEPALIVE, TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT,
 * TCP_USER_TIMEOUT; see tcp(7)) on a socket, a listening server or a raw fd.
 *
 * - Every argument is validated before the first syscall: bad input throws a
 *   `TypeError` (`ERR_INVALID_ARG_TYPE`, `ERR_INVALID_ARG_VALUE`) or `RangeError`
 *   (`ERR_OUT_OF_RANGE`) and changes nothing. A failing syscall throws a system error
 *   (`code`, `errno`, `syscall`, `option`, e.g. `setsockopt EBADF`).
 * - A socket that is not connected yet gets the options when it connects, before the
 *   application's own 'connect' listeners run; a failure then is emitted as its 'error'.
 *   A TLS socket over a socket that connects later is tuned when that socket connects;
 *   an HTTP/2 session (or its `session.socket`) is tuned through its socket.
 * - The options stay set: when Node later calls `socket.setKeepAlive(true, ms)` (as
 *   http.Agent does each time a socket returns to its pool, or an application in its
 *   'connection' handler) idle, interval and count are re-applied.
 *   `socket.setKeepAlive(false)`, in any of Node's call forms, still switches keepalive
 *   off, also before connect.
 * - On a server the options go on the listening socket (now, or when it starts
 *   listening), and every accepted connection inherits them from the kernel. In a
 *   cluster worker under round-robin scheduling, where the primary owns the listening
 *   socket, they go on each connection the worker accepts. A server that ends up
 *   listening on a Unix domain socket is left as it is.
 * - What the library installs into Node's objects never throws into Node's events; see
 *   the rule in lib/failures.ts.
 * - Where the native addon is not loaded (no prebuild and no compiler, another platform,
 *   or `SOCKET_KEEPALIVE_NO_ADDON=1`), the options go through Node.js's own
 *   `socket.setKeepAlive`: `enable` and `idle` on every release (libuv then also sets
 *   interval 1 s and count 10 on Linux), `interval` and `count` given with `idle` on
 *   Node.js 24.19+ and 26.4+; a server's go on each connection it accepts. What that call
 *   cannot set (`userTimeout` other than 0 on every release, `interval` and `count` on
 *   older ones or without `idle`), and a raw fd, throw an error with code
 *   `ERR_SOCKET_KEEPALIVE_UNSUPPORTED` before anything is applied.
 *
 * @returns `target`, for chaining
 * @example
 * ```ts
 * const socket = setKeepAlive(net.connect(5432, 'db'), { idle: 10_000, interval: 2_000, count: 3 });
 * ```
 */
export function setKeepAlive<T extends KeepAliveTarget>(target: T, options: KeepAliveOptions): T {
  const kind = targetKind(target);
  const reentered = validatedInUse;
  const settings = reentered ? new ValidatedOptions() : validated;
  validatedInUse = true;
  try {
    validateInto(options, settings);
  } finally {
    validatedInUse = reentered;
  }
  if (kind === FD) {
    if (!addonLoaded()) throw needsAddon('setKeepAlive', 'setsockopt(2) on a file descriptor');
    rawFd.fd = target as number;
    applySettings(rawFd, settings);
  } else if (kind === SERVER) tuneServer(target as net.Server, settings);
  else tuneSocket(target as net.Socket | Http2Session, settings);
  return target;
}

/**
 * Reads a socket's or listener's keepalive settings back from the kernel with
 * getsockopt(2). Times in ms. Throws for a socket that is destroyed or not connected
 * yet, and for a server that is not listening (or, in a cluster worker under
 * round-robin scheduling, whose listening socket belongs to the primary). Without the
 * native addon it throws an error with code `ERR_SOCKET_KEEPALIVE_UNSUPPORTED`: Node.js
 * has no call that reads the options back.
 */
export function getKeepAlive(target: KeepAliveTarget): KeepAliveState {
  if (!addonLoaded()) {
    targetKind(target);
    throw needsAddon('getKeepAlive', 'getsockopt(2)');
  }
  const { fd, knownTcp } = readableDescriptor(target);
  return readKeepAlive(fd, knownTcp);
}
