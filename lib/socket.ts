/**
 * Sockets: options applied now when connected, or deferred to the connection attempt
 * (on Node) or 'connect'. They are kept set across Node's own `socket.setKeepAlive`
 * calls by the wrapper in lib/patches.ts, and across reconnects by the socket's
 * 'connect' hook and the attempt wrappers there. Hooks follow the rule in lib/failures.ts.
 * @packageDocumentation
 */

import type { Http2Session } from 'node:http2';
import type * as net from 'node:net';
import { addonLoaded } from './binding.js';
import { socketClosed } from './errors.js';
import { applyThroughNode, assertNodeCanSet } from './floor.js';
import { ValidatedOptions } from './options.js';
import { applyOnConnect, keepTuning, needsRestoreAtConnect, watchAttempts } from './patches.js';
import { ATTEMPTS_VISIBLE } from './runtimes.js';
import { counts } from './stats.js';
import { handleDescriptor, isSocket, socketDescriptor, tcpHandleOf, tcpSocketOf } from './target.js';
import { applyOrTakeOver, applySettings, kTuning, SocketTuning, socketTuningOf, type Tunable } from './tuning.js';

/**
 * Applies `settings` to a socket now if it is connected, or connecting with its
 * descriptor (SYN-SENT: the user timeout then bounds the attempt), and records them: a
 * socket with no descriptor yet gets them when its connection attempt starts (on Node)
 * or when it connects. All or nothing: a failure throws before anything is recorded.
 * `inKernel`: the preload library set them at connect() already. Without the addon, the
 * socket's options merged with `settings` go through Node's own call once it is
 * connected, which is asked first whether it can set them all (lib/floor.ts): it sets
 * interval and count only together with the idle time.
 */
export function tuneSocket(target: net.Socket | Http2Session, settings: ValidatedOptions, inKernel = false): void {
  if (target.destroyed) throw socketClosed();
  const socket = tcpSocketOf(target);
  if (socket !== target && socket.destroyed) throw socketClosed();
  let tuning = socketTuningOf(socket);
  let connected: boolean;
  let attempting = false;
  if (addonLoaded()) {
    const descriptor = socketDescriptor(socket);
    connected = descriptor.fd >= 0 && !socket.connecting;
    attempting = descriptor.fd >= 0 && socket.connecting && ATTEMPTS_VISIBLE;
    if (connected) applyOrTakeOver(descriptor, settings, inKernel);
    else if (attempting) {
      const merged = new ValidatedOptions();
      if (tuning !== undefined) merged.merge(tuning);
      merged.merge(settings);
      applySettings(descriptor, merged);
    }
  } else {
    const merged = new ValidatedOptions();
    if (tuning !== undefined) merged.merge(tuning);
    merged.merge(settings);
    assertNodeCanSet(merged);
    connected = !socket.pending;
    if (connected) applyThroughNode(socket, merged, merged.enable);
  }
  if (tuning === undefined) {
    tuning = new SocketTuning(socket);
    (socket as Tunable<SocketTuning>)[kTuning] = tuning;
    counts.socketsTuned++;
    keepTuning();
  }
  tuning.merge(settings);
  if (attempting) tuning.appliedHandle = tcpHandleOf(socket);
  // Also on a connected socket: a net.Socket can connect again, and its new connection gets the options too.
  if (!tuning.appliesOnConnect) {
    tuning.appliesOnConnect = true;
    socket.prependListener('connect', applyOnConnect);
  }
  watchAttempts(socket);
  // A TLS socket over another socket: its own setKeepAlive must find the tuning too.
  if (target !== socket && isSocket(target)) (target as Tunable<SocketTuning>)[kTuning] = tuning;
}

/**
 * Tunes a socket without tuning of its own whose TCP handle has just started its
 * connection attempt (the process-wide default): the options go on now, in SYN-SENT,
 * and a 'connect' hook is added only when Node will overwrite idle, interval and count
 * at connect. `inKernel`: the preload library set them at connect() already (before the
 * SYN): the socket is taken over from it with no setsockopt. Throws (recording nothing)
 * when the kernel refuses an option.
 */
export function tuneAttempt(socket: net.Socket, handle: object, settings: ValidatedOptions, inKernel: boolean): void {
  applyOrTakeOver(handleDescriptor(handle), settings, inKernel);
  const tuning = new SocketTuning(socket);
  tuning.merge(settings);
  tuning.appliedHandle = handle;
  (socket as Tunable<SocketTuning>)[kTuning] = tuning;
  counts.socketsTuned++;
  if (needsRestoreAtConnect(socket)) {
    tuning.appliesOnConnect = true;
    socket.prependListener('connect', applyOnConnect);
  }
}
