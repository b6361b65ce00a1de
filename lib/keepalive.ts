import http from 'node:http';
import net from 'node:net';
import { binding } from './binding.js';
import {
  addonFailure,
  invalidArgType,
  invalidArgValue,
  outOfRange,
  serverNotRunning,
  socketClosed,
  systemError,
} from './errors.js';
import { type KernelOptions, type KeepAliveOptions, validateOptions } from './options.js';

/**
 * What the functions of this library act on: a `net.Socket` (a `tls.TLSSocket` is one),
 * a `net.Server` (`tls.Server`, `http.Server` and `https.Server` are ones), or the file
 * descriptor number of a TCP socket.
 */
export type KeepAliveTarget = net.Socket | net.Server | number;

/**
 * A socket's keepalive settings as the kernel has them, read back with getsockopt(2).
 * Times in milliseconds. Options never set report the system defaults
 * (net.ipv4.tcp_keepalive_time, _intvl, _probes). See tcp(7).
 */
export interface KeepAliveState {
  /** SO_KEEPALIVE. */
  enable: boolean;
  /** TCP_KEEPIDLE, ms (the kernel keeps whole seconds). */
  idle: number;
  /** TCP_KEEPINTVL, ms (the kernel keeps whole seconds). */
  interval: number;
  /** TCP_KEEPCNT, probes. */
  count: number;
  /** TCP_USER_TIMEOUT, ms; 0 is the system default. */
  userTimeout: number;
}

/** The libuv handle Node keeps in `_handle`; only what this library reads. */
interface NodeHandle {
  fd?: number;
  /** Set on a TLSWrap: the TCP handle it encrypts. */
  _parent?: NodeHandle;
  setKeepAlive?: unknown;
}

const TARGET_TYPES = 'an instance of net.Socket, tls.TLSSocket or net.Server, or a file descriptor number';

/** Throws unless `target` is one of the accepted types; checks an fd number's range. */
function checkTarget(target: unknown): asserts target is KeepAliveTarget {
  if (typeof target === 'number') {
    if (!Number.isInteger(target) || target < 0 || target > 2_147_483_647) {
      throw outOfRange('target', 'a file descriptor: an integer >= 0 && <= 2147483647', target);
    }
  } else if (!(target instanceof net.Socket) && !(target instanceof net.Server)) {
    throw invalidArgType('target', TARGET_TYPES, target);
  }
}

/** The handle that owns the file descriptor, or null before there is one. */
function fdHandleOf(owner: net.Socket | net.Server): NodeHandle | null {
  const handle = (owner as unknown as { _handle?: NodeHandle | null })._handle ?? null;
  const fdOwner = handle?._parent ?? handle;
  if (fdOwner && fdOwner.constructor.name === 'Pipe') {
    throw invalidArgValue('target', 'is a Unix domain socket or pipe; TCP keepalive applies only to TCP sockets', owner);
  }
  return fdOwner;
}

/** A file descriptor to act on, and whether a libuv TCP handle vouches that it is TCP. */
interface Descriptor {
  fd: number;
  knownTcp: boolean;
}

/**
 * The socket's or server's fd (-1 while it has none: not connected, not listening). A
 * libuv TCP handle only ever holds an AF_INET/AF_INET6 stream socket, so the addon may
 * skip its own check for it.
 */
function descriptorOf(owner: net.Socket | net.Server): Descriptor {
  const handle = fdHandleOf(owner);
  const fd = handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? { fd, knownTcp: handle?.constructor.name === 'TCP' } : { fd: -1, knownTcp: false };
}

function applyToFd({ fd, knownTcp }: Descriptor, options: KernelOptions): void {
  const { enable, idleSeconds, intervalSeconds, count, userTimeout } = options;
  const result = binding().setKeepAlive(
    fd,
    enable === undefined ? -1 : Number(enable),
    idleSeconds ?? -1,
    intervalSeconds ?? -1,
    count ?? -1,
    userTimeout ?? -1,
    knownTcp,
  );
  if (result < 0) throw addonFailure(result, 'setsockopt', fd);
}

/** The options libuv overwrites whenever Node switches keepalive on. */
function tuningOf(options: KernelOptions): KernelOptions {
  return { idleSeconds: options.idleSeconds, intervalSeconds: options.intervalSeconds, count: options.count };
}

/** Options given to this library for a socket or server, merged over successive calls. */
interface Tuned {
  options: KernelOptions;
}

const tunedSockets = new WeakMap<net.Socket, Tuned>();
const tunedServers = new WeakMap<net.Server, Tuned>();

/**
 * Starts tracking a socket: its options are applied on every 'connect' (before any
 * listener of the application, and before queued writes are flushed), and its
 * `setKeepAlive` method is wrapped so that Node (http.Agent, or the application)
 * switching keepalive on again re-applies the tuning libuv would otherwise reset.
 */
function trackSocket(socket: net.Socket): Tuned {
  const tuned: Tuned = { options: {} };
  socket.prependListener('connect', () => {
    try {
      applyToFd(descriptorOf(socket), tuned.options);
    } catch (error) {
      socket.destroy(error as Error);
    }
  });
  const nodeSetKeepAlive = socket.setKeepAlive;
  Object.defineProperty(socket, 'setKeepAlive', {
    configurable: true,
    writable: true,
    value: function setKeepAliveKeepingTuning(this: net.Socket, ...args: Parameters<net.Socket['setKeepAlive']>) {
      nodeSetKeepAlive.apply(this, args);
      const descriptor = descriptorOf(this);
      if (this.connecting || descriptor.fd < 0) return this;
      // Node skips the syscalls when the arguments repeat its last call, so its cache can
      // disagree with the kernel after this library changed SO_KEEPALIVE: assert it here.
      const enable = Boolean(args[0]);
      try {
        applyToFd(descriptor, enable ? { enable, ...tuningOf(tuned.options) } : { enable });
      } catch (error) {
        this.destroy(error as Error);
      }
      return this;
    },
  });
  tunedSockets.set(socket, tuned);
  return tuned;
}

function tuneSocket(socket: net.Socket, options: KernelOptions): void {
  if (socket.destroyed) throw socketClosed();
  const descriptor = descriptorOf(socket);
  if (!socket.connecting && descriptor.fd >= 0) applyToFd(descriptor, options);
  const tuned = tunedSockets.get(socket) ?? trackSocket(socket);
  Object.assign(tuned.options, options);
}

/**
 * Starts tracking a server: its options are applied to the listening socket on every
 * 'listening', and accepted sockets inherit them from the listener. A server created
 * with `keepAlive: true` makes Node call setKeepAlive on each accepted socket, which
 * resets idle, interval and count: for such a server they are restored per connection.
 */
function trackServer(server: net.Server): Tuned {
  const tuned: Tuned = { options: {} };
  server.prependListener('listening', () => {
    try {
      applyToFd(descriptorOf(server), tuned.options);
    } catch (error) {
      server.emit('error', error);
    }
  });
  if ((server as net.Server & { keepAlive?: boolean }).keepAlive) {
    server.prependListener('connection', (socket: net.Socket) => {
      try {
        applyToFd(descriptorOf(socket), tuningOf(tuned.options));
      } catch (error) {
        socket.destroy(error as Error);
      }
    });
  }
  tunedServers.set(server, tuned);
  return tuned;
}

function tuneServer(server: net.Server, options: KernelOptions): void {
  const descriptor = descriptorOf(server);
  if (descriptor.fd >= 0) applyToFd(descriptor, options);
  const tuned = tunedServers.get(server) ?? trackServer(server);
  Object.assign(tuned.options, options);
}

/**
 * Sets TCP keepalive options (SO_KEEPALIVE, TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT,
 * TCP_USER_TIMEOUT; see tcp(7)) on a socket, a listening server or a raw fd.
 *
 * - Every argument is validated before the first syscall: bad input throws a
 *   `TypeError` (`ERR_INVALID_ARG_TYPE`, `ERR_INVALID_ARG_VALUE`) or `RangeError`
 *   (`ERR_OUT_OF_RANGE`) and changes nothing. A failing syscall throws a system error
 *   (`code`, `errno`, `syscall`, e.g. `setsockopt EBADF`).
 * - A socket that is not connected yet gets the options when it connects, before the
 *   application's own 'connect' listeners run; a failure then is emitted as its 'error'.
 * - The options stay set: when Node later calls `socket.setKeepAlive(true, ms)` (as
 *   http.Agent does each time a socket returns to its pool) idle, interval and count are
 *   re-applied. `socket.setKeepAlive(false)` still switches keepalive off.
 * - On a server the options go on the listening socket (now, or when it starts
 *   listening), and every accepted connection inherits them from the kernel.
 *
 * @returns `target`, for chaining
 * @example
 * ```ts
 * const socket = setKeepAlive(net.connect(5432, 'db'), { idle: 10_000, interval: 2_000, count: 3 });
 * ```
 */
export function setKeepAlive<T extends KeepAliveTarget>(target: T, options: KeepAliveOptions): T {
  checkTarget(target);
  const validated = validateOptions(options);
  if (typeof target === 'number') applyToFd({ fd: target, knownTcp: false }, validated);
  else if (target instanceof net.Socket) tuneSocket(target, validated);
  else tuneServer(target, validated);
  return target;
}

/** The fd to read from, or a clear error saying why there is none. */
function readableDescriptor(target: unknown): Descriptor {
  checkTarget(target);
  if (typeof target === 'number') return { fd: target, knownTcp: false };
  if (target instanceof net.Socket && target.destroyed) throw socketClosed();
  const descriptor = descriptorOf(target);
  if (descriptor.fd >= 0) return descriptor;
  if (target instanceof net.Server) throw serverNotRunning();
  throw systemError('ENOTCONN', 'getsockopt', "the socket has no file descriptor until it connects; read it after 'connect'");
}

/**
 * Reads a socket's or listener's keepalive settings back from the kernel with
 * getsockopt(2). Times in ms. Throws for a socket that is destroyed or not connected
 * yet, and for a server that is not listening.
 */
export function getKeepAlive(target: KeepAliveTarget): KeepAliveState {
  const { fd, knownTcp } = readableDescriptor(target);
  const values = new Int32Array(5);
  const result = binding().getKeepAlive(fd, values, knownTcp);
  if (result < 0) throw addonFailure(result, 'getsockopt', fd);
  return {
    enable: values[0] !== 0,
    idle: values[1] * 1000,
    interval: values[2] * 1000,
    count: values[3],
    userTimeout: values[4],
  };
}

/** A TCP state name, as in the kernel's include/net/tcp_states.h. */
export type TcpState =
  | 'ESTABLISHED'
  | 'SYN_SENT'
  | 'SYN_RECV'
  | 'FIN_WAIT1'
  | 'FIN_WAIT2'
  | 'TIME_WAIT'
  | 'CLOSE'
  | 'CLOSE_WAIT'
  | 'LAST_ACK'
  | 'LISTEN'
  | 'CLOSING'
  | 'NEW_SYN_RECV'
  | 'UNKNOWN';

const TCP_STATES: readonly TcpState[] = [
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
];

/**
 * What the kernel knows of a connection's liveness (struct tcp_info, TCP_INFO in
 * tcp(7)). Durations in ms; rto, rtt and rttVar keep the kernel's microsecond
 * resolution as fractions.
 */
export interface TcpInfo {
  /** Connection state. */
  state: TcpState;
  /** Keepalive (or zero-window) probes sent and not answered yet. */
  probes: number;
  /** Exponential backoff of the retransmission timer. */
  backoff: number;
  /** Retransmissions of the oldest unacknowledged segment so far. */
  retransmits: number;
  /** Current retransmission timeout, ms. */
  rto: number;
  /** Smoothed round-trip time, ms. */
  rtt: number;
  /** Round-trip time variation, ms. */
  rttVar: number;
  /** ms since data was last sent. */
  lastDataSent: number;
  /** ms since data was last received. */
  lastDataReceived: number;
  /** ms since an ACK was last received. */
  lastAckReceived: number;
  /** Segments sent and not acknowledged. */
  unacked: number;
  /** Retransmissions over the connection's life. */
  totalRetransmits: number;
}

/** Reads TCP_INFO of a connected socket (or a listener); see tcp(7). Linux only. */
export function getTcpInfo(target: KeepAliveTarget): TcpInfo {
  const { fd, knownTcp } = readableDescriptor(target);
  const raw = new Uint32Array(12);
  const result = binding().getTcpInfo(fd, raw, knownTcp);
  if (result < 0) throw addonFailure(result, 'getsockopt', fd);
  return {
    state: TCP_STATES[raw[0]] ?? 'UNKNOWN',
    probes: raw[1],
    backoff: raw[2],
    retransmits: raw[3],
    rto: raw[4] / 1000,
    rtt: raw[5] / 1000,
    rttVar: raw[6] / 1000,
    lastDataSent: raw[7],
    lastDataReceived: raw[8],
    lastAckReceived: raw[9],
    unacked: raw[10],
    totalRetransmits: raw[11],
  };
}

const agentOptions = new WeakMap<http.Agent, KeepAliveOptions>();

type CreateConnection = (
  this: http.Agent,
  options: object,
  callback?: (error: Error | null, socket?: net.Socket) => void,
) => net.Socket | undefined;

/**
 * Makes every socket an `http.Agent` or `https.Agent` creates carry `options` from
 * before its first byte, and keep them across pool reuse (see {@link setKeepAlive}).
 * Calling it again replaces the options for sockets created afterwards.
 *
 * @returns `agent`, for chaining
 * @example
 * ```ts
 * const agent = tuneAgent(new http.Agent({ keepAlive: true }), { idle: 5000, interval: 1000, count: 3 });
 * ```
 */
export function tuneAgent<A extends http.Agent>(agent: A, options: KeepAliveOptions): A {
  if (!(agent instanceof http.Agent)) throw invalidArgType('agent', 'an instance of http.Agent or https.Agent', agent);
  validateOptions(options);
  const alreadyTuned = agentOptions.has(agent);
  agentOptions.set(agent, { ...options });
  if (alreadyTuned) return agent;

  const tune = (socket: net.Socket | undefined) => {
    if (socket instanceof net.Socket && !tunedSockets.has(socket)) {
      setKeepAlive(socket, agentOptions.get(agent) as KeepAliveOptions);
    }
  };
  const createConnection = (agent as unknown as { createConnection: CreateConnection }).createConnection;
  (agent as unknown as { createConnection: CreateConnection }).createConnection = function (options, callback) {
    // A custom createConnection may hand its socket over through the callback only.
    const socket = createConnection.call(
      this,
      options,
      callback &&
        ((error, created) => {
          if (!error) tune(created);
          callback(error, created);
        }),
    );
    tune(socket);
    return socket;
  };
  return agent;
}
