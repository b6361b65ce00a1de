/**
 * Target resolution: from what an application passes (a socket, a TLS socket over
 * another stream, an HTTP/2 session or its socket proxy, a server, an fd number) to the
 * file descriptor of the TCP socket underneath. This is the only module that reads
 * Node's internals (`_handle`, a TLS handle's `_parent`/`_parentWrap`, the libuv handle
 * classes, `socket.server`, `server.keepAlive`, Node's keepalive flag, the cluster
 * round-robin handle); everything else asks it. Where a handle shows no descriptor (Bun's
 * http.Server and the sockets it accepts, Deno), it asks lib/runtimes.ts, which finds
 * it from the socket's addresses. What a listener that cannot be read is, and the error
 * for it (`listenerError`), stay beside `listenerOf`, which tells them apart, and
 * `readableDescriptor`, which throws it.
 * @packageDocumentation
 */
import cluster from 'node:cluster';
import type { Http2Session } from 'node:http2';
import type * as net from 'node:net';
import { Server as NetServer, Socket as NetSocket } from 'node:net';
import { invalidArgType, invalidArgValue, outOfRange, serverNotRunning, socketClosed, systemError } from './errors.js';
import {
  FINDS_BY_ADDRESS,
  type FoundFdHolder,
  isOtherServer,
  listenerFdByAddress,
  RUNTIME,
  socketFdByAddress,
  unreachable,
} from './runtimes.js';

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

/** A handle, or a socket or server without one, that may hold a descriptor found by address (lib/runtimes.ts). */
type Holder = NodeHandle & FoundFdHolder;

// Node's classes, read once: TypeScript's CommonJS output reads an import from the
// `node:net` module object at each use, and `instanceof` on such a read costs a few ns
// more than on a constant (docs/benchmarks.md, "The validation"); a socket is checked
// twice per setKeepAlive.
const Socket = NetSocket;
const Server = NetServer;

/** Whether `value` is a `net.Socket` (a `tls.TLSSocket` is one). */
export function isSocket(value: unknown): value is net.Socket {
  return value instanceof Socket;
}

const TARGET_TYPES =
  'an instance of net.Socket, tls.TLSSocket, net.Server or an HTTP/2 session, or a file descriptor number';

/** {@link targetKind}: a socket: a net.Socket (a TLS socket, an HTTP/2 `session.socket` proxy) or an HTTP/2 session. */
const SOCKET = 0;
/** {@link targetKind}: a net.Server. */
export const SERVER = 1;
/** {@link targetKind}: a file descriptor number. */
export const FD = 2;

/**
 * Which kind of target `target` is; throws unless it is one of the accepted types, and
 * checks an fd number's range. Sockets are tested first: they are the common case, and
 * `instanceof Server` on a socket walks its whole prototype chain. An HTTP/2 session
 * counts as a socket: everything reaches it through its socket ({@link tcpSocketOf}).
 */
export function targetKind(target: unknown): number {
  if (target instanceof Socket) return SOCKET;
  if (typeof target === 'number') {
    if (!Number.isInteger(target) || target < 0 || target > 2_147_483_647) {
      throw outOfRange('target', 'a file descriptor: an integer >= 0 && <= 2147483647', target);
    }
    return FD;
  }
  if (target instanceof Server) return SERVER;
  if (isHttp2Session(target)) return SOCKET;
  if (FINDS_BY_ADDRESS && isOtherServer(target)) return SERVER;
  throw invalidArgType('target', TARGET_TYPES, target);
}

/** True for a ClientHttp2Session or ServerHttp2Session (node:http2 exports neither class). */
function isHttp2Session(value: unknown): value is Http2Session {
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
  // Deno calls its pipe handle class PipeWrap.
  if (PipeHandle === undefined && (handleClass.name === 'Pipe' || handleClass.name === 'PipeWrap')) {
    PipeHandle = handleClass;
    return PIPE;
  }
  return OTHER;
}

/** A TCP handle's fd, cached on the handle: Node's `fd` accessor is a call into C++. */
const kFd = Symbol('socket-keepalive fd');

/** Node's `owner_symbol`: a libuv handle's property holding the net.Socket that owns it. */
let ownerSymbol: symbol | null | undefined;

/**
 * The net.Socket that owns a TCP handle (Node's `handle[owner_symbol]`: the socket
 * itself, or the TLS socket that created the handle), `undefined` if this Node keeps no
 * such record on it.
 */
export function ownerOfHandle(handle: object): net.Socket | undefined {
  if (ownerSymbol === undefined)
    ownerSymbol = Object.getOwnPropertySymbols(handle).find((symbol) => symbol.description === 'owner_symbol') ?? null;
  if (ownerSymbol === null) return undefined;
  const owner = (handle as Record<symbol, unknown>)[ownerSymbol];
  return owner instanceof Socket ? owner : undefined;
}

/**
 * The prototype of Node's libuv TCP handle class (`TCP` of tcp_wrap, whose `connect` and
 * `connect6` create the descriptor and start the connection), found from the handle of a
 * socket that has just been asked to connect; `undefined` before, or on a runtime whose
 * handles expose no descriptor (Bun, Deno).
 */
export function tcpHandlePrototypeOf(socket: net.Socket): object | undefined {
  if (FINDS_BY_ADDRESS) return undefined;
  let handle = (socket as Internals)._handle;
  if (handle == null) return undefined;
  if (handle.constructor !== TcpHandle && handle._parent !== undefined) handle = handle._parent;
  return handleKind(handle) === TCP ? Object.getPrototypeOf(handle) : undefined;
}

/** The TCP handle under a socket (its own, or the one its TLS handle encrypts), `undefined` without one. */
export function tcpHandleOf(socket: net.Socket): object | undefined {
  const handle = (socket as Internals)._handle;
  if (handle == null) return undefined;
  return handle.constructor !== TcpHandle && handle._parent !== undefined ? handle._parent : handle;
}

/**
 * The descriptor of a TCP handle Node has just connected (in SYN-SENT), in the shared
 * result of {@link socketDescriptor}.
 */
export function handleDescriptor(handle: object): Descriptor {
  found.fd = fdOf(handle as NodeHandle);
  found.knownTcp = found.fd >= 0;
  return found;
}

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
  if (!(target instanceof Socket)) {
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
    if (wrapped instanceof Socket) return tcpSocketOf(wrapped);
  } else if (stream instanceof Socket) return tcpSocketOf(stream);
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
  if (handle == null) {
    if (FINDS_BY_ADDRESS) found.fd = socketFdByAddress(socket, socket as Holder);
    return found;
  }
  if (handle.constructor !== TcpHandle && handle._parent !== undefined) handle = handle._parent;
  const kind = handleKind(handle);
  if (kind === PIPE) throw notTcp(socket);
  // FINDS_BY_ADDRESS first: on Node, reading `fd` is a call into C++ that fdOf caches.
  found.fd =
    FINDS_BY_ADDRESS && typeof handle.fd !== 'number' ? socketFdByAddress(socket, handle as Holder) : fdOf(handle);
  found.knownTcp = found.fd >= 0 && kind === TCP;
  return found;
}

/**
 * True when `socket` (or the socket under it) is a Unix domain socket or pipe. On Bun,
 * whose handles are all plain objects, that is a connected socket without an IP peer.
 */
export function isUnixDomain(socket: net.Socket): boolean {
  const tcpSocket = tcpSocketOf(socket);
  const handle = (tcpSocket as Internals)._handle;
  if (handle != null && handleKind(handle._parent ?? handle) === PIPE) return true;
  return RUNTIME === 'Bun' && !tcpSocket.connecting && typeof tcpSocket.remoteAddress !== 'string';
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
/**
 * {@link listenerOf}: the runtime hides the listening socket's descriptor and none of
 * the process's descriptors listens on the server's address (reported once as a warning).
 */
const UNREACHABLE_LISTENER = -4;

/**
 * The fd of a server's listening TCP socket, or one of the negative kinds above. Besides
 * Node's libuv handles: Bun's server handle, a plain object with an `fd`, and Deno's,
 * whose descriptor is found by the server's address.
 */
export function listenerOf(server: net.Server): number {
  const handle = (server as unknown as Internals)._handle;
  if (handle == null) return FINDS_BY_ADDRESS ? otherRuntimeListener(server, server as Holder) : NOT_LISTENING;
  const kind = handleKind(handle);
  if (kind === TCP) return fdOf(handle); // NOT_LISTENING while it has none
  if (kind === PIPE) return UNIX_LISTENER;
  if (FINDS_BY_ADDRESS) return otherRuntimeListener(server, handle);
  return cluster.isWorker ? LISTENER_IN_PRIMARY : NOT_LISTENING;
}

/**
 * {@link listenerOf} on Bun and Deno: the `fd` of the handle where it has one (Bun's
 * net.Server), else the descriptor listening on the server's address, cached on
 * `holder` (the handle, or the server where it has none: Bun's http.Server).
 */
function otherRuntimeListener(server: net.Server, holder: Holder): number {
  const address = server.address();
  if (address === null) return NOT_LISTENING;
  if (typeof address === 'string') return UNIX_LISTENER;
  if (typeof holder.fd === 'number') return fdOf(holder);
  const fd = listenerFdByAddress(server, holder, address);
  return fd < 0 ? UNREACHABLE_LISTENER : fd;
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
  if (listener === UNREACHABLE_LISTENER) return unreachable('the listening socket of this server');
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
  if (FINDS_BY_ADDRESS && !socket.connecting && socket.remoteAddress !== undefined) throw unreachable('this socket');
  throw systemError(
    'ENOTCONN',
    'getsockopt',
    "the socket has no file descriptor until it connects; read it after 'connect'",
  );
}

/**
 * Whether a socket is being destroyed by the read guard Node's `http.Agent` (Node 22 and
 * later) puts on a pooled socket's handle (`freeSocketOnReadGuard` in _http_agent.js):
 * it destroys the socket, without an error, on any read result, ETIMEDOUT included.
 */
export function destroyedByAgentReadGuard(socket: net.Socket): boolean {
  const onread = ((socket as Internals)._handle as { onread?: { name?: string } } | null | undefined)?.onread;
  return onread?.name === 'freeSocketOnReadGuard';
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
export function nodeKeepAliveEnabled(socket: net.Socket): boolean | undefined {
  if (keepAliveFlag === undefined) {
    keepAliveFlag =
      Object.getOwnPropertySymbols(socket).find((symbol) => symbol.description === 'kSetKeepAlive') ?? null;
  }
  if (keepAliveFlag === null) return undefined;
  const value = (socket as unknown as Record<symbol, unknown>)[keepAliveFlag];
  return typeof value === 'boolean' ? value : undefined;
}

/**
 * Whether `setKeepAlive` (Node's own, unwrapped) takes an interval and a count, as Node.js
 * 24.19+ and 26.4+ do (nodejs/node#63825): asked of a socket that has no handle, which
 * only records the values (as Node's `kSetKeepAliveInterval`), so nothing reaches the
 * kernel. A runtime that records no interval (older Node.js, Bun, Deno) is taken to set
 * the idle time only.
 */
export function recordsKeepAliveInterval(setKeepAlive: net.Socket['setKeepAlive']): boolean {
  const probe = new Socket();
  Reflect.apply(setKeepAlive, probe, [true, 1000, 2000, 3]);
  return Object.getOwnPropertySymbols(probe).some(
    (symbol) =>
      symbol.description === 'kSetKeepAliveInterval' && (probe as unknown as Record<symbol, unknown>)[symbol] === 2,
  );
}
