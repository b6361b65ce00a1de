/**
 * Target resolution: from what an application passes (a socket, a TLS socket over
 * another stream, an HTTP/2 session or its socket proxy, a server, an fd number) to the
 * file descriptor of the TCP socket underneath. This is the only module that reads
 * Node's internals (`_handle`, a TLS handle's `_parent`/`_parentWrap`, the libuv handle
 * classes, `socket.server`, `server.keepAlive`, Node's keepalive flag, the cluster
 * round-robin handle); everything else asks it.
 * @packageDocumentation
 */
import cluster from 'node:cluster';
import * as net from 'node:net';
import type { Http2Session } from 'node:http2';
import { invalidArgType, invalidArgValue, outOfRange, serverNotRunning, socketClosed, systemError } from './errors.js';

/**
 * What the functions of this library act on: a `net.Socket` (a `tls.TLSSocket` is one,
 * also over a socket that connects later), an HTTP/2 session (`ClientHttp2Session`,
 * `ServerHttp2Session`) or its `session.socket`, a `net.Server` (`tls.Server`,
 * `http.Server`, `https.Server` and HTTP/2 servers are ones), or the file descriptor
 * number of a TCP socket.
 */
export type KeepAliveTarget = net.Socket | net.Server | Http2Session | number;

/** The libuv handle Node keeps in `_handle`; only what this module reads. */
interface NodeHandle {
  fd?: number;
  /** Set on a TLSWrap: the handle it encrypts. */
  _parent?: NodeHandle;
  /** Set on a TLSWrap: the JS stream it encrypts (a net.Socket, or a JSStreamSocket over any `stream`). */
  _parentWrap?: { stream?: unknown } | null;
}

type Internals = { _handle?: NodeHandle | null };

const TARGET_TYPES = 'an instance of net.Socket, tls.TLSSocket, net.Server or an HTTP/2 session, or a file descriptor number';

/** {@link targetKind}: a net.Socket (a TLS socket, an HTTP/2 `session.socket` proxy). */
export const SOCKET = 0;
/** {@link targetKind}: a net.Server. */
export const SERVER = 1;
/** {@link targetKind}: a file descriptor number. */
export const FD = 2;
/** {@link targetKind}: an HTTP/2 session. */
export const SESSION = 3;

/**
 * Which kind of target `target` is; throws unless it is one of the accepted types, and
 * checks an fd number's range. Sockets are tested first: they are the common case, and
 * `instanceof net.Server` on a socket walks its whole prototype chain.
 */
export function targetKind(target: unknown): number {
  if (target instanceof net.Socket) return SOCKET;
  if (typeof target === 'number') {
    if (!Number.isInteger(target) || target < 0 || target > 2_147_483_647) {
      throw outOfRange('target', 'a file descriptor: an integer >= 0 && <= 2147483647', target);
    }
    return FD;
  }
  if (target instanceof net.Server) return SERVER;
  if (isHttp2Session(target)) return SESSION;
  throw invalidArgType('target', TARGET_TYPES, target);
}

/** True for a ClientHttp2Session or ServerHttp2Session (node:http2 exports neither class). */
export function isHttp2Session(value: unknown): value is Http2Session {
  if (typeof value !== 'object' || value === null) return false;
  for (let proto = Object.getPrototypeOf(value); proto !== null; proto = Object.getPrototypeOf(proto)) {
    if (proto.constructor?.name === 'Http2Session') return true;
  }
  return false;
}

// libuv handle classes, compared by identity; captured from the first handle seen of each.
let TcpHandle: unknown;
let PipeHandle: unknown;

const TCP = 0;
const PIPE = 1;
const OTHER = 2;

function handleKind(handle: NodeHandle): number {
  const handleClass = handle.constructor;
  if (handleClass === TcpHandle) return TCP;
  if (handleClass === PipeHandle) return PIPE;
  if (TcpHandle === undefined && handleClass.name === 'TCP') {
    TcpHandle = handleClass;
    return TCP;
  }
  if (PipeHandle === undefined && handleClass.name === 'Pipe') {
    PipeHandle = handleClass;
    return PIPE;
  }
  return OTHER;
}

/** A TCP handle's fd, cached on the handle: Node's `fd` accessor is a call into C++. */
const kFd = Symbol('socket-keepalive fd');

/**
 * The fd of a libuv handle, -1 while it has none. A non-negative fd is cached: it stays
 * the handle's until the handle is closed, and Node drops a closed handle.
 */
function fdOf(handle: NodeHandle & { [kFd]?: number }): number {
  const cached = handle[kFd];
  if (cached !== undefined) return cached;
  const fd = handle.fd;
  if (typeof fd !== 'number' || fd < 0) return -1;
  handle[kFd] = fd;
  return fd;
}

function notTcp(owner: object): Error {
  return invalidArgValue('target', 'is a Unix domain socket or pipe; TCP keepalive applies only to TCP sockets', owner);
}

/**
 * The net.Socket whose handle holds (or will hold once it connects) the TCP connection
 * carrying `target`: the socket itself; for a TLS socket over another socket, that
 * socket; for an HTTP/2 session, its socket. Throws for a destroyed session and for TLS
 * over a stream that is not a net.Socket. An HTTP/2 `session.socket` proxy is usable as
 * it is: it forwards property reads and writes to the socket.
 */
export function tcpSocketOf(target: net.Socket | Http2Session): net.Socket {
  if (!(target instanceof net.Socket)) {
    if (target.destroyed) throw socketClosed(); // an HTTP/2 session
    return tcpSocketOf(target.socket as net.Socket);
  }
  const handle = (target as Internals)._handle;
  if (handle == null || handle.constructor === TcpHandle || handle._parent === undefined) return target;
  const wrapped = handle._parentWrap;
  if (wrapped == null) return target; // a TLS socket that made its own TCP handle
  // TLS puts a JSStreamSocket (itself a net.Socket) over a socket without a handle yet, or over any Duplex.
  const stream = wrapped.stream;
  if (stream === undefined) {
    if (wrapped instanceof net.Socket) return tcpSocketOf(wrapped);
  } else if (stream instanceof net.Socket) return tcpSocketOf(stream);
  throw invalidArgValue(
    'target',
    'is a TLS socket over a stream that is not a net.Socket; TCP keepalive applies only to TCP sockets',
    target,
  );
}

/** A file descriptor, and whether a libuv TCP handle vouches that it is a TCP socket. */
export interface Descriptor {
  fd: number;
  knownTcp: boolean;
}

/** What {@link socketDescriptor} and {@link readableDescriptor} return: one object, rewritten by each call. */
const found: Descriptor = { fd: -1, knownTcp: false };

/**
 * The fd of a socket from {@link tcpSocketOf} (-1 while it has none: not connected yet),
 * and whether a libuv TCP handle owns it (which only ever holds an AF_INET/AF_INET6
 * stream socket, so the addon may skip its own check). Throws for a Unix domain socket.
 * The result is shared: read it before the next call.
 */
export function socketDescriptor(socket: net.Socket): Descriptor {
  let handle = (socket as Internals)._handle;
  found.fd = -1;
  found.knownTcp = false;
  if (handle == null) return found;
  if (handle.constructor !== TcpHandle && handle._parent !== undefined) handle = handle._parent;
  const kind = handleKind(handle);
  if (kind === PIPE) throw notTcp(socket);
  found.fd = fdOf(handle);
  found.knownTcp = found.fd >= 0 && kind === TCP;
  return found;
}

/** True when `socket` (or the socket under it) is a Unix domain socket or pipe. */
export function isUnixDomain(socket: net.Socket): boolean {
  const handle = (tcpSocketOf(socket) as Internals)._handle;
  return handle != null && handleKind(handle._parent ?? handle) === PIPE;
}

/** {@link listenerOf}: the server is not listening. */
export const NOT_LISTENING = -1;
/** {@link listenerOf}: the server listens on a Unix domain socket or pipe. */
export const UNIX_LISTENER = -2;
/**
 * {@link listenerOf}: a server in a cluster worker under round-robin scheduling
 * (cluster.SCHED_RR, the default): the primary process owns the listening socket and
 * hands each accepted connection to a worker.
 */
export const LISTENER_IN_PRIMARY = -3;

/** The fd of a server's listening TCP socket, or one of the negative kinds above. */
export function listenerOf(server: net.Server): number {
  const handle = (server as unknown as Internals)._handle;
  if (handle == null) return NOT_LISTENING;
  const kind = handleKind(handle);
  if (kind === TCP) return fdOf(handle); // NOT_LISTENING while it has none
  if (kind === PIPE) return UNIX_LISTENER;
  return cluster.isWorker ? LISTENER_IN_PRIMARY : NOT_LISTENING;
}

/** The error for reading a server whose listener is not a TCP socket of this process. */
export function listenerError(server: net.Server, listener: number): Error {
  if (listener === UNIX_LISTENER) return notTcp(server);
  if (listener === LISTENER_IN_PRIMARY) {
    return invalidArgValue(
      'target',
      'is a server in a cluster worker under round-robin scheduling: its listening socket belongs to the primary ' +
        'process. Read an accepted socket instead, or the server in the primary',
      server,
    );
  }
  return serverNotRunning();
}

/**
 * The fd to read from, or a clear error saying why there is none. The result is shared:
 * read it before the next call.
 */
export function readableDescriptor(target: unknown): Descriptor {
  const kind = targetKind(target);
  if (kind === FD) {
    found.fd = target as number;
    found.knownTcp = false;
    return found;
  }
  if (kind === SERVER) {
    const listener = listenerOf(target as net.Server);
    if (listener < 0) throw listenerError(target as net.Server, listener);
    found.fd = listener;
    found.knownTcp = true;
    return found;
  }
  const socketOrSession = target as net.Socket | Http2Session;
  if (socketOrSession.destroyed) throw socketClosed();
  const socket = tcpSocketOf(socketOrSession);
  if (socket.destroyed) throw socketClosed();
  const descriptor = socketDescriptor(socket);
  if (descriptor.fd >= 0) return descriptor;
  throw systemError('ENOTCONN', 'getsockopt', "the socket has no file descriptor until it connects; read it after 'connect'");
}

/** The server that accepted `socket`, if it is an accepted one. */
export function acceptingServerOf(socket: net.Socket): net.Server | undefined {
  return (socket as net.Socket & { server?: net.Server | null }).server ?? undefined;
}

/**
 * True for a server created with `{ keepAlive: true }`: Node switches keepalive on for
 * every accepted socket, which resets idle, interval and count.
 */
export function switchesKeepAliveOn(server: net.Server): boolean {
  return (server as net.Server & { keepAlive?: boolean }).keepAlive === true;
}

let keepAliveFlag: symbol | null | undefined;

/**
 * Whether Node, after a call of `socket.setKeepAlive(...)`, takes keepalive to be on: its
 * own record of the call. This follows every call form of every Node version (Node 24+
 * also takes an options object). `undefined` when this Node keeps no such record.
 */
export function nodeKeepAliveSetting(socket: net.Socket): boolean | undefined {
  if (keepAliveFlag === undefined) {
    keepAliveFlag = Object.getOwnPropertySymbols(socket).find((symbol) => symbol.description === 'kSetKeepAlive') ?? null;
  }
  if (keepAliveFlag === null) return undefined;
  const value = (socket as unknown as Record<symbol, unknown>)[keepAliveFlag];
  return typeof value === 'boolean' ? value : undefined;
}
