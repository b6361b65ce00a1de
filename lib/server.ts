/**
 * Servers: options go on the listening socket (now, or on every 'listening'), and
 * accepted connections inherit them from the kernel, with no syscall per connection.
 * Per-connection work only where inheritance cannot do it: a `{ keepAlive: true }`
 * server (Node resets idle, interval and count on each accepted socket) and a cluster
 * worker under round-robin scheduling (the primary owns the listener). Hooks follow the
 * rule in lib/failures.ts.
 * @packageDocumentation
 */
import type * as net from 'node:net';
import { failSocket, warnNotApplied } from './failures.js';
import type { KernelSettings } from './options.js';
import { wrapPrototypes } from './prototypes.js';
import { counts } from './stats.js';
import {
  LISTENER_IN_PRIMARY,
  listenerError,
  listenerOf,
  socketDescriptor,
  switchesKeepAliveOn,
  UNIX_LISTENER,
} from './target.js';
import {
  applyOrTakeOver,
  applyRestore,
  applySettings,
  kTuning,
  PerConnection,
  ServerTuning,
  serverTuningOf,
  type Tunable,
} from './tuning.js';

/** The descriptor of a listening socket: a libuv TCP handle owns it. */
const listening = { fd: -1, knownTcp: true };

/**
 * Applies `settings` to a listening server's socket now, and records them for every
 * later 'listening'. Throws for a server listening on a Unix domain socket; in a cluster
 * worker under round-robin scheduling the options go on each accepted socket instead.
 * `inKernel`: the preload library set them at listen() already.
 */
export function tuneServer(server: net.Server, settings: KernelSettings, inKernel = false): void {
  const listener = listenerOf(server);
  if (listener === UNIX_LISTENER) throw listenerError(server, listener);
  if (listener >= 0) {
    listening.fd = listener;
    applyOrTakeOver(listening, settings, inKernel);
  }
  let tuning = serverTuningOf(server);
  const first = tuning === undefined;
  if (tuning === undefined) {
    tuning = new ServerTuning();
    (server as Tunable<ServerTuning>)[kTuning] = tuning;
    counts.listenersTuned++;
    wrapPrototypes();
  }
  tuning.merge(settings);
  // Listeners go on after the merge: adding one emits 'newListener' into application code.
  if (first) {
    server.prependListener('listening', applyOnListening);
    if (switchesKeepAliveOn(server)) perConnection(server, tuning, PerConnection.Restore);
  }
  if (listener === LISTENER_IN_PRIMARY) perConnection(server, tuning, PerConnection.ApplyAll);
}

function perConnection(server: net.Server, tuning: ServerTuning, what: PerConnection): void {
  if (what > tuning.perConnection) tuning.perConnection = what;
  if (tuning.hooksConnections) return;
  tuning.hooksConnections = true;
  server.prependListener('connection', applyOnConnection);
}

/**
 * 'listening' hook: applies the options to the new listening socket. A server listening
 * on a Unix domain socket is left as it is (keepalive has no meaning there); a cluster
 * round-robin worker applies them per accepted connection instead.
 */
function applyOnListening(this: net.Server): void {
  try {
    const tuning = serverTuningOf(this) as ServerTuning;
    const listener = listenerOf(this);
    if (listener === LISTENER_IN_PRIMARY) perConnection(this, tuning, PerConnection.ApplyAll);
    if (listener < 0) return;
    listening.fd = listener;
    applySettings(listening, tuning);
  } catch (error) {
    warnNotApplied('the listening socket of a server', error);
  }
}

/** 'connection' hook, only on servers that need per-connection work (see the module's description). */
function applyOnConnection(this: net.Server, socket: net.Socket): void {
  try {
    const tuning = serverTuningOf(this) as ServerTuning;
    const descriptor = socketDescriptor(socket);
    if (descriptor.fd < 0) return;
    if (tuning.perConnection === PerConnection.ApplyAll) applySettings(descriptor, tuning);
    else applyRestore(descriptor, true, tuning);
  } catch (error) {
    failSocket(socket, error);
  }
}
