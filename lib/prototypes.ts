/**
 * Every wrapper this library puts on Node's prototypes, installed once, on the first
 * tuning of any socket or server (or the first process-wide default), and never removed:
 *
 * - `net.Socket.prototype.setKeepAlive`: a tuned socket keeps its idle, interval and
 *   count when Node (http.Agent, a client library, the application) calls it again, which
 *   makes libuv overwrite them.
 * - `net.Socket.prototype.connect`: a tuned socket gets its options again on each new
 *   connection; a socket without tuning goes to the process-wide default's hook.
 * - `net.Server.prototype.listen`: a server goes to the process-wide default's hook.
 * - `net.Socket.prototype._destroy`: a tuned socket the kernel ended with ETIMEDOUT is
 *   reported on the dead-peer channel (lib/dead-peer.ts) while its descriptor is still open.
 *
 * A socket without tuning pays a property read per `setKeepAlive` or `connect` call and
 * one comparison per destroy; a fresh socket pays nothing to be tracked. Each wrapper
 * passes every call form of every Node version through unchanged, and follows the rule
 * in lib/failures.ts: it never throws into Node.
 * @packageDocumentation
 */
import * as net from 'node:net';
import { reportDeadPeer } from './dead-peer.js';
import { failSocket } from './failures.js';
import type { KernelSettings } from './options.js';
import { acceptingServerOf, nodeKeepAliveSetting, serverClasses, tcpSocketOf } from './target.js';
import { applyToSocket, restoreOnSocket, type SocketTuning, serverTuningOf, socketTuningOf } from './tuning.js';

let nodeSetKeepAlive: net.Socket['setKeepAlive'] | undefined;
let nodeConnect: net.Socket['connect'] | undefined;
let nodeDestroy: ((error: Error | null, callback: (error?: Error | null) => void) => void) | undefined;
/** Each server class's own `listen` (Bun's http.Server is not a net.Server). */
const nodeListens = new Map<object, net.Server['listen']>();
let untunedConnectHook: ((socket: net.Socket) => void) | undefined;
let listenHook: ((server: net.Server) => void) | undefined;

type Destroyable = { _destroy: NonNullable<typeof nodeDestroy> };

/** Installs the wrappers (once). */
export function wrapPrototypes(): void {
  if (nodeSetKeepAlive !== undefined) return;
  nodeSetKeepAlive = net.Socket.prototype.setKeepAlive;
  nodeConnect = net.Socket.prototype.connect;
  nodeDestroy = (net.Socket.prototype as unknown as Destroyable)._destroy;
  net.Socket.prototype.setKeepAlive = setKeepAliveKeepingTuning;
  net.Socket.prototype.connect = connectKeepingTuning as net.Socket['connect'];
  (net.Socket.prototype as unknown as Destroyable)._destroy = destroyReportingDeadPeer;
  for (const { prototype } of serverClasses()) {
    nodeListens.set(prototype, prototype.listen);
    prototype.listen = listenWithHook as net.Server['listen'];
  }
}

/**
 * Has `hook` called for every socket without tuning of its own when its `connect()` is
 * called, and `onListen` for every server when its `listen()` is (the process-wide
 * default, lib/default.ts).
 */
export function onConnectAndListen(
  onUntunedConnect: (socket: net.Socket) => void,
  onListen: (server: net.Server) => void,
): void {
  untunedConnectHook = onUntunedConnect;
  listenHook = onListen;
  wrapPrototypes();
}

/**
 * 'connect' hook of a tuned socket: applies the recorded options before any listener of
 * the application runs, and before queued writes are flushed.
 */
export function applyOnConnect(this: net.Socket): void {
  try {
    applyToSocket(this, socketTuningOf(this) as SocketTuning);
  } catch (error) {
    failSocket(this, error);
  }
}

/**
 * `net.Socket.prototype.connect`: a socket tuned while it was connected (which gets no
 * 'connect' hook then) has its options applied to a new connection after it closed, as
 * to the first; a socket without tuning goes to the process-wide default's hook.
 */
function connectKeepingTuning(this: net.Socket): net.Socket {
  const tuning = socketTuningOf(this);
  if (tuning === undefined) {
    if (untunedConnectHook !== undefined) untunedConnectHook(this);
  } else if (!tuning.appliesOnConnect) {
    tuning.appliesOnConnect = true;
    this.prependListener('connect', applyOnConnect);
  }
  // biome-ignore lint/complexity/noArguments: every call form passes through unchanged
  return Reflect.apply(nodeConnect as net.Socket['connect'], this, arguments) as net.Socket;
}

/** `net.Server.prototype.listen` (and each other server class's): the process-wide default's hook, then the runtime's own. */
function listenWithHook(this: net.Server): net.Server {
  if (listenHook !== undefined) listenHook(this);
  let prototype = Object.getPrototypeOf(this);
  while (!nodeListens.has(prototype)) prototype = Object.getPrototypeOf(prototype);
  // biome-ignore lint/complexity/noArguments: every call form passes through unchanged
  return Reflect.apply(nodeListens.get(prototype) as net.Server['listen'], this, arguments) as net.Server;
}

/**
 * `net.Socket.prototype._destroy`, which Node runs with the socket's error while the
 * descriptor is still open (before the handle is closed and 'close' is emitted): the only
 * moment TCP_INFO still says why the kernel ended the connection.
 */
function destroyReportingDeadPeer(this: net.Socket, error: Error | null): void {
  if (error != null && (error as { code?: unknown }).code === 'ETIMEDOUT') reportDeadPeer(this, error);
  // biome-ignore lint/complexity/noArguments: every call form passes through unchanged
  Reflect.apply(nodeDestroy as NonNullable<typeof nodeDestroy>, this, arguments);
}

/** Whether a call of Node's setKeepAlive asks for keepalive on, in Node's own reading of its arguments. */
function requestedEnable(socket: net.Socket, firstArgument: unknown): boolean {
  const recorded = nodeKeepAliveSetting(socket);
  if (recorded !== undefined) return recorded;
  if (typeof firstArgument === 'object' && firstArgument !== null)
    return Boolean((firstArgument as { enable?: unknown }).enable);
  return Boolean(firstArgument);
}

/**
 * `net.Socket.prototype.setKeepAlive`, keeping this library's options: after Node's own
 * call, a tuned socket (or one accepted by a tuned server) gets back the idle, interval
 * and count libuv just overwrote; `false` switches keepalive off, also when called before
 * connect (the options then go on with keepalive off).
 */
function setKeepAliveKeepingTuning(this: net.Socket, enable?: unknown): net.Socket {
  // biome-ignore lint/complexity/noArguments: every call form of every Node version passes through
  const result = Reflect.apply(nodeSetKeepAlive as net.Socket['setKeepAlive'], this, arguments) as net.Socket;
  try {
    const tuning = socketTuningOf(this);
    if (tuning !== undefined) {
      const on = requestedEnable(this, enable);
      tuning.enable = on ? 1 : 0;
      keep(tuning.socket, on, tuning);
    } else {
      const server = acceptingServerOf(this);
      const serverTuning = server === undefined ? undefined : serverTuningOf(server);
      if (serverTuning !== undefined) keep(this, requestedEnable(this, enable), serverTuning);
    }
  } catch (error) {
    failSocket(this, error);
  }
  return result;
}

/** Restores `settings` on the TCP connection under `target`, once it has one. */
function keep(target: net.Socket, enable: boolean, settings: KernelSettings): void {
  const socket = tcpSocketOf(target);
  if (!socket.connecting) restoreOnSocket(socket, enable, settings);
}
