/**
 * Every patch this library makes to Node: the wrappers it puts on Node's prototypes,
 * each installed once, when the first caller that needs it comes, and never removed,
 * and the replacement of `worker_threads.Worker` by the `socket-keepalive/register`
 * preload. A tuned socket or server installs the `setKeepAlive` and `_destroy` wrappers
 * ({@link keepTuning}); a socket tuned on Node with the addon, the TCP handle's
 * `connect` wrappers too ({@link watchAttempts}, through the `connect` wrapper when the
 * socket has no handle yet); the process-wide default, all of them and `listen`
 * ({@link onConnectAndListen}):
 *
 * - `net.Socket.prototype.setKeepAlive`: a tuned socket keeps its idle, interval and
 *   count when Node (http.Agent, a client library, the application) calls it again, which
 *   makes libuv overwrite them.
 * - `net.Socket.prototype.connect`: where a socket tuned before it has a handle connects,
 *   the TCP handle class is found (Node creates the handle and starts the attempt in this
 *   one call); a socket tuned by the default gets its options again on each new
 *   connection; a socket without tuning goes to the process-wide default's hook.
 * - `connect` and `connect6` of Node's libuv TCP handle class (wrapped on Node from the
 *   handle of the first socket tuned, or in its `connect()`): they create the descriptor and
 *   start the connection, so a tuned socket gets its options right after, in SYN-SENT,
 *   and the user timeout bounds the connection attempt too (the kernel honours
 *   TCP_USER_TIMEOUT there: a connect to a port that drops packets fails with ETIMEDOUT
 *   at the user timeout instead of after net.ipv4.tcp_syn_retries, about 130 s). The
 *   'connect' hook then only puts back what Node's own keepalive call at connect
 *   overwrote, if it made one.
 * - `net.Server.prototype.listen`: a server goes to the process-wide default's hook
 *   (installed by the default only).
 * - `net.Socket.prototype._destroy`: a tuned socket the kernel ended with ETIMEDOUT is
 *   reported on the dead-peer channel (lib/dead-peer.ts) while its descriptor is still open.
 * - `worker_threads.Worker` (for require and import alike), replaced by a subclass that
 *   gives every new thread the preload (lib/register.ts says how).
 *
 * A socket without tuning pays a property read per `setKeepAlive` or `connect` call and
 * one comparison per destroy; a fresh socket pays nothing to be tracked. Each wrapper
 * passes every call form of every Node version through unchanged, and follows the rule
 * in lib/failures.ts: it never throws into Node.
 * @packageDocumentation
 */
import * as net from 'node:net';
import { addonLoaded } from './binding.js';
import { reportDeadPeer } from './dead-peer.js';
import { failSocket, failSocketSoon } from './failures.js';
import type { ValidatedOptions } from './options.js';
import { ATTEMPTS_VISIBLE, serverClasses } from './runtimes.js';
import {
  acceptingServerOf,
  destroyedByAgentReadGuard,
  handleDescriptor,
  nodeKeepAliveEnabled,
  ownerOfHandle,
  socketDescriptor,
  tcpHandleOf,
  tcpHandlePrototypeOf,
  tcpSocketOf,
} from './target.js';
import {
  applyRestore,
  applySettings,
  applyToSocket,
  restoreOnSocket,
  type SocketTuning,
  serverTuningOf,
  socketTuningOf,
} from './tuning.js';

let nodeSetKeepAlive: net.Socket['setKeepAlive'] | undefined;
let nodeConnect: net.Socket['connect'] | undefined;
let nodeDestroy: ((error: Error | null, callback: (error?: Error | null) => void) => void) | undefined;
/** Each server class's own `listen` (Bun's http.Server is not a net.Server). */
const nodeListens = new Map<object, net.Server['listen']>();
let untunedConnectHook: ((socket: net.Socket) => void) | undefined;
let untunedAttemptHook: ((socket: net.Socket, handle: object) => void) | undefined;
/** Whether the TCP handle class's `connect` and `connect6` are wrapped (on Node, from the first `connect()`). */
let attemptsWrapped = false;
let listenHook: ((server: net.Server) => void) | undefined;

type Destroyable = { _destroy: NonNullable<typeof nodeDestroy> };

/** The options of a new `worker_threads.Worker`. */
export type WorkerOptions = ConstructorParameters<typeof import('node:worker_threads').Worker>[1];

/**
 * Replaces `worker_threads.Worker`, for `require` and `import` alike, by a subclass
 * whose threads start with the options `withOptions` makes of those given.
 */
export function patchWorkers(withOptions: (options?: WorkerOptions) => WorkerOptions): void {
  // Loaded only by the preload, which patches them.
  const workerThreads = require('node:worker_threads') as typeof import('node:worker_threads');
  const { syncBuiltinESMExports } = require('node:module') as typeof import('node:module');
  const BaseWorker = workerThreads.Worker;
  class Worker extends BaseWorker {
    constructor(filename: string | URL, options?: WorkerOptions) {
      super(filename, withOptions(options));
    }
  }
  workerThreads.Worker = Worker;
  syncBuiltinESMExports();
}

/**
 * Installs what every tuned socket or server needs (once): the `setKeepAlive` wrapper
 * that keeps its options across Node's own calls, and the `_destroy` hook of the
 * dead-peer report.
 */
export function keepTuning(): void {
  if (nodeSetKeepAlive !== undefined) return;
  nodeSetKeepAlive = net.Socket.prototype.setKeepAlive;
  nodeDestroy = (net.Socket.prototype as unknown as Destroyable)._destroy;
  net.Socket.prototype.setKeepAlive = setKeepAliveKeepingTuning;
  (net.Socket.prototype as unknown as Destroyable)._destroy = destroyReportingDeadPeer;
}

/** Installs the `connect` wrapper (once). */
function wrapConnect(): void {
  if (nodeConnect !== undefined) return;
  nodeConnect = net.Socket.prototype.connect;
  net.Socket.prototype.connect = connectKeepingTuning as net.Socket['connect'];
}

/**
 * Has `hook` called for every socket without tuning of its own when its `connect()` is
 * called, and `onListen` for every server when its `listen()` is (the process-wide
 * default, lib/default.ts).
 */
export function onConnectAndListen(
  onUntunedConnect: (socket: net.Socket) => void,
  onUntunedAttempt: (socket: net.Socket, handle: object) => void,
  onListen: (server: net.Server) => void,
): void {
  untunedConnectHook = onUntunedConnect;
  untunedAttemptHook = onUntunedAttempt;
  listenHook = onListen;
  keepTuning();
  wrapConnect();
  if (nodeListens.size > 0) return;
  for (const { prototype } of serverClasses()) {
    nodeListens.set(prototype, prototype.listen);
    prototype.listen = listenWithHook as net.Server['listen'];
  }
}

/**
 * 'connect' hook of a tuned socket: applies the recorded options before any listener of
 * the application runs, and before queued writes are flushed.
 */
export function applyOnConnect(this: net.Socket): void {
  try {
    const tuning = socketTuningOf(this) as SocketTuning;
    if (!addonLoaded()) {
      applyToSocket(this, tuning);
      return;
    }
    const attempt = tuning.appliedHandle;
    const descriptor = socketDescriptor(this);
    if (descriptor.fd < 0) return; // a runtime that hides it; lib/runtimes.ts has warned
    if (attempt === undefined || attempt !== tcpHandleOf(this)) applySettings(descriptor, tuning);
    // Applied in SYN-SENT: Node's connect switched keepalive on with its own idle, interval and count.
    else if (nodeKeepAliveEnabled(this) !== false) applyRestore(descriptor, true, tuning);
  } catch (error) {
    failSocket(this, error);
  }
}

/**
 * Whether a socket tuned in SYN-SENT needs the 'connect' hook: Node, when it takes
 * keepalive to be on, calls the handle's setKeepAlive at connect, which overwrites idle,
 * interval and count.
 */
export function needsRestoreAtConnect(socket: net.Socket): boolean {
  return nodeKeepAliveEnabled(socket) !== false;
}

/**
 * Has the connection attempts of Node's TCP handles come to this module from now on
 * (once: the handle class is found from the handle of `socket`, connected or asked to
 * connect, or, for a socket that has none yet, at its `connect()`, which the `connect`
 * wrapper then sees). Nothing on Bun and Deno, whose handles hide the attempt.
 */
export function watchAttempts(socket: net.Socket): void {
  // Without the addon only Node's own call tunes, and only a connected socket.
  if (attemptsWrapped || !ATTEMPTS_VISIBLE || !addonLoaded()) return;
  if (tcpHandleOf(socket) === undefined) wrapConnect();
  else wrapAttempts(socket);
}

/** Wraps `connect` and `connect6` of Node's TCP handle class, once, from the first socket asked to connect. */
function wrapAttempts(socket: net.Socket): void {
  const prototype = tcpHandlePrototypeOf(socket) as Record<string, (...args: unknown[]) => unknown> | undefined;
  if (prototype === undefined) return;
  attemptsWrapped = true;
  for (const name of ['connect', 'connect6']) {
    const nodeHandleConnect = prototype[name];
    if (typeof nodeHandleConnect !== 'function') continue;
    prototype[name] = function connectTuningAttempt(this: object): unknown {
      // biome-ignore lint/complexity/noArguments: every call form passes through unchanged
      const result = Reflect.apply(nodeHandleConnect, this, arguments);
      if (result === 0) attemptStarted(this);
      return result;
    };
  }
  // A lookup that answered synchronously has already started this socket's attempt.
  const handle = tcpHandleOf(socket);
  const tuning = socketTuningOf(socket);
  if (
    socket.connecting &&
    handle !== undefined &&
    (tuning === undefined || tuning.appliedHandle !== handle) &&
    handleDescriptor(handle).fd >= 0
  )
    attemptStarted(handle);
}

/**
 * A TCP handle has its descriptor and its SYN is on the way: a tuned owner gets its
 * options now; an untuned one goes to the process-wide default's attempt hook.
 */
function attemptStarted(handle: object): void {
  const socket = ownerOfHandle(handle);
  if (socket === undefined) return;
  const tuning = socketTuningOf(socket);
  if (tuning === undefined) {
    if (untunedAttemptHook !== undefined) untunedAttemptHook(socket, handle);
    return;
  }
  try {
    applySettings(handleDescriptor(handle), tuning);
    tuning.appliedHandle = handle;
  } catch (error) {
    failSocketSoon(socket, error); // inside Node's connect: the socket errors once it returns
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
  } else if (!tuning.appliesOnConnect && !(attemptsWrapped && !needsRestoreAtConnect(this))) {
    // Where attempts are seen, the attempt gets the options: the hook is needed only to restore.
    tuning.appliesOnConnect = true;
    this.prependListener('connect', applyOnConnect);
  }
  // biome-ignore lint/complexity/noArguments: every call form passes through unchanged
  const result = Reflect.apply(nodeConnect as net.Socket['connect'], this, arguments) as net.Socket;
  watchAttempts(this);
  return result;
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
 * moment TCP_INFO still says why the kernel ended the connection. Node 22 and later
 * destroy a socket pooled by `http.Agent` without an error whatever its read returned
 * (the agent's read guard, which takes any read on an idle socket for a poisoned one),
 * ETIMEDOUT included: such a tuned socket is looked at too (one TCP_INFO read when a
 * pooled socket is destroyed without an error).
 */
function destroyReportingDeadPeer(this: net.Socket, error: Error | null): void {
  if (error != null) {
    if ((error as { code?: unknown }).code === 'ETIMEDOUT') reportDeadPeer(this, error);
  } else if (socketTuningOf(this) !== undefined && destroyedByAgentReadGuard(this)) reportDeadPeer(this);
  // biome-ignore lint/complexity/noArguments: every call form passes through unchanged
  Reflect.apply(nodeDestroy as NonNullable<typeof nodeDestroy>, this, arguments);
}

/** Whether a call of Node's setKeepAlive asks for keepalive on, in Node's own reading of its arguments. */
function requestedEnable(socket: net.Socket, firstArgument: unknown): boolean {
  const recorded = nodeKeepAliveEnabled(socket);
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
    // A TLS socket started over a tuned socket (pg and postgres.js with ssl) shares its connection.
    const tuning = socketTuningOf(this) ?? tuningUnder(this);
    if (tuning !== undefined) {
      const on = requestedEnable(this, enable);
      tuning.enable = on ? 1 : 0;
      if (tuning.socket.connecting && !tuning.appliesOnConnect) {
        tuning.appliesOnConnect = true;
        tuning.socket.prependListener('connect', applyOnConnect);
      }
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

/** The tuning of the socket a TLS socket runs over; `undefined` for any other socket, or a TLS socket over another kind of stream. */
function tuningUnder(socket: net.Socket): SocketTuning | undefined {
  try {
    const under = tcpSocketOf(socket);
    return under === socket ? undefined : socketTuningOf(under);
  } catch {
    return undefined;
  }
}

/** Restores `settings` on the TCP connection under `target`, once it has one. */
function keep(target: net.Socket, enable: boolean, settings: ValidatedOptions): void {
  const socket = tcpSocketOf(target);
  if (!socket.connecting) restoreOnSocket(socket, enable, settings);
}
