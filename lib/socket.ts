/**
 * Sockets: options applied now when connected, or deferred to 'connect'; and kept set
 * when Node (http.Agent, or the application) calls `socket.setKeepAlive` again, which
 * makes libuv overwrite idle, interval and count. Hooks follow the rule in lib/hooks.ts.
 * @packageDocumentation
 */
import * as net from 'node:net';
import type { Http2Session } from 'node:http2';
import { socketClosed } from './errors.js';
import { failSocket } from './hooks.js';
import type { KernelSettings } from './options.js';
import { acceptingServerOf, nodeKeepAliveSetting, socketDescriptor, tcpSocketOf } from './target.js';
import {
  applyRestore,
  applySettings,
  kTuning,
  serverTuningOf,
  SocketTuning,
  socketTuningOf,
  type Tunable,
} from './tuning.js';

/**
 * Applies `settings` to a socket now if it is connected, and records them: a socket not
 * connected yet gets them when it connects. All or nothing: a failure throws before
 * anything is recorded.
 */
export function tuneSocket(target: net.Socket | Http2Session, settings: KernelSettings): void {
  if (target.destroyed) throw socketClosed();
  const socket = tcpSocketOf(target);
  if (socket !== target && socket.destroyed) throw socketClosed();
  const descriptor = socketDescriptor(socket);
  const connected = descriptor.fd >= 0 && !socket.connecting;
  if (connected) applySettings(descriptor, settings);
  let tuning = socketTuningOf(socket);
  if (tuning === undefined) {
    tuning = new SocketTuning(socket);
    (socket as Tunable<SocketTuning>)[kTuning] = tuning;
    keepTuningAcrossNodeCalls();
  }
  tuning.merge(settings);
  if (!connected && !tuning.appliesOnConnect) {
    tuning.appliesOnConnect = true;
    socket.prependListener('connect', applyOnConnect);
  }
  // A TLS socket over another socket: its own setKeepAlive must find the tuning too.
  if (target !== socket && target instanceof net.Socket) (target as Tunable<SocketTuning>)[kTuning] = tuning;
}

/**
 * 'connect' hook: applies the recorded options before any listener of the application
 * runs, and before queued writes are flushed.
 */
function applyOnConnect(this: net.Socket): void {
  try {
    applySettings(socketDescriptor(this), socketTuningOf(this) as SocketTuning);
  } catch (error) {
    failSocket(this, error);
  }
}

let nodeSetKeepAlive: net.Socket['setKeepAlive'] | undefined;
let nodeConnect: net.Socket['connect'] | undefined;
let untunedConnectHook: ((socket: net.Socket) => void) | undefined;

/**
 * Wraps `net.Socket.prototype.setKeepAlive` and `.connect` once, on the first tuning of a
 * socket or server: a socket without tuning pays a property read per call, a fresh
 * socket pays nothing to be tracked.
 */
export function keepTuningAcrossNodeCalls(): void {
  if (nodeSetKeepAlive !== undefined) return;
  nodeSetKeepAlive = net.Socket.prototype.setKeepAlive;
  net.Socket.prototype.setKeepAlive = setKeepAliveKeepingTuning;
  wrapConnect();
}

function wrapConnect(): void {
  if (nodeConnect !== undefined) return;
  nodeConnect = net.Socket.prototype.connect;
  net.Socket.prototype.connect = connectKeepingTuning as net.Socket['connect'];
}

/**
 * Has `hook` called for every socket without tuning of its own when its `connect()` is
 * called (the process-wide default, lib/default.ts), through the same one wrapper of
 * `net.Socket.prototype.connect`.
 */
export function onUntunedConnect(hook: (socket: net.Socket) => void): void {
  untunedConnectHook = hook;
  wrapConnect();
}

/**
 * `net.Socket.prototype.connect`: a socket tuned while it was connected (which gets no
 * 'connect' hook then) has its options applied to a new connection after it closed, as
 * to the first; a socket without tuning goes to {@link onUntunedConnect}'s hook.
 */
function connectKeepingTuning(this: net.Socket): net.Socket {
  const tuning = socketTuningOf(this);
  if (tuning === undefined) {
    if (untunedConnectHook !== undefined) untunedConnectHook(this);
  } else if (!tuning.appliesOnConnect) {
    tuning.appliesOnConnect = true;
    this.prependListener('connect', applyOnConnect);
  }
  // eslint-disable-next-line prefer-rest-params -- every call form passes through unchanged
  return Reflect.apply(nodeConnect as net.Socket['connect'], this, arguments) as net.Socket;
}

/** Whether a call of Node's setKeepAlive asks for keepalive on, in Node's own reading of its arguments. */
function requestedEnable(socket: net.Socket, firstArgument: unknown): boolean {
  const recorded = nodeKeepAliveSetting(socket);
  if (recorded !== undefined) return recorded;
  if (typeof firstArgument === 'object' && firstArgument !== null) return Boolean((firstArgument as { enable?: unknown }).enable);
  return Boolean(firstArgument);
}

/**
 * `net.Socket.prototype.setKeepAlive`, keeping this library's options: after Node's own
 * call, a tuned socket (or one accepted by a tuned server) gets back the idle, interval
 * and count libuv just overwrote; `false` switches keepalive off, also when called before
 * connect (the options then go on with keepalive off).
 */
function setKeepAliveKeepingTuning(this: net.Socket, enable?: unknown): net.Socket {
  // eslint-disable-next-line prefer-rest-params -- every call form of every Node version passes through
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
  if (socket.connecting) return;
  const descriptor = socketDescriptor(socket);
  if (descriptor.fd >= 0) applyRestore(descriptor, enable, settings);
}
