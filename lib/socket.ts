/**
 * Sockets: options applied now when connected, or deferred to 'connect'. They are kept
 * set across Node's own `socket.setKeepAlive` calls and reconnects by the wrappers in
 * lib/prototypes.ts. Hooks follow the rule in lib/failures.ts.
 * @packageDocumentation
 */

import type { Http2Session } from 'node:http2';
import * as net from 'node:net';
import { socketClosed } from './errors.js';
import type { KernelSettings } from './options.js';
import { applyOnConnect, wrapPrototypes } from './prototypes.js';
import { counts } from './stats.js';
import { socketDescriptor, tcpSocketOf } from './target.js';
import { applyOrTakeOver, kTuning, SocketTuning, socketTuningOf, type Tunable } from './tuning.js';

/**
 * Applies `settings` to a socket now if it is connected, and records them: a socket not
 * connected yet gets them when it connects. All or nothing: a failure throws before
 * anything is recorded. `inKernel`: the preload library set them at connect() already.
 */
export function tuneSocket(target: net.Socket | Http2Session, settings: KernelSettings, inKernel = false): void {
  if (target.destroyed) throw socketClosed();
  const socket = tcpSocketOf(target);
  if (socket !== target && socket.destroyed) throw socketClosed();
  const descriptor = socketDescriptor(socket);
  const connected = descriptor.fd >= 0 && !socket.connecting;
  if (connected) applyOrTakeOver(descriptor, settings, inKernel);
  let tuning = socketTuningOf(socket);
  if (tuning === undefined) {
    tuning = new SocketTuning(socket);
    (socket as Tunable<SocketTuning>)[kTuning] = tuning;
    counts.socketsTuned++;
    wrapPrototypes();
  }
  tuning.merge(settings);
  if (!connected && !tuning.appliesOnConnect) {
    tuning.appliesOnConnect = true;
    socket.prependListener('connect', applyOnConnect);
  }
  // A TLS socket over another socket: its own setKeepAlive must find the tuning too.
  if (target !== socket && target instanceof net.Socket) (target as Tunable<SocketTuning>)[kTuning] = tuning;
}
