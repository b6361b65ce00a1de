/**
 * Servers: options go on the listening socket (now, or on every 'listening'), and
 * accepted connections inherit them from the kernel, with no syscall per connection.
 * Per-connection work only where inheritance cannot do it: a `{ keepAlive: true }`
 * server (Node resets idle, interval and count on each accepted socket) and a cluster
 * worker under round-robin scheduling (the primary owns the listener). Without the native
 * addon, Node's own setKeepAlive cannot reach a listening socket: the options go on each
 * accepted connection, in JS, as in that cluster worker. Hooks follow the rule in
 * lib/failures.ts.
 * @packageDocumentation
 */
import type * as net from 'node:net';
import { addonLoaded } from './binding.js';
import { failSocket, warnNotApplied } from './failures.js';
import { assertNodeCanSet } from './floor.js';
import { ValidatedOptions } from './options.js';
import { keepTuning } from './patches.js';
import { counts } from './stats.js';
import { LISTENER_IN_PRIMARY, listenerError, listenerOf, switchesKeepAliveOn, UNIX_LISTENER } from './target.js';
import {
  applyOrTakeOver,
  applySettings,
  applyToSocket,
  kTuning,
  PerConnection,
  restoreOnSocket,
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
export function tuneServer(server: net.Server, settings: ValidatedOptions, inKernel = false): void {
  if (!addonLoaded()) {
    tuneConnectionsThroughNode(server, settings);
    return;
  }
  const listener = listenerOf(server);
  if (listener === UNIX_LISTENER) throw listenerError(server, listener);
  if (listener >= 0) {
    listening.fd = listener;
    applyOrTakeOver(listening, settings, inKernel);
  }
  const first = serverTuningOf(server) === undefined;
  const tuning = recordTuning(server, settings);
  // Listeners go on after the merge: adding one emits 'newListener' into application code.
  if (first) {
    server.prependListener('listening', applyOnListening);
    if (switchesKeepAliveOn(server)) perConnection(server, tuning, PerConnection.Restore);
  }
  if (listener === LISTENER_IN_PRIMARY) perConnection(server, tuning, PerConnection.ApplyAll);
}

/**
 * {@link tuneServer} without the addon: the options, checked against what Node's own call
 * can set, are recorded for each connection the server accepts from now on. A server
 * listening on a Unix domain socket is refused as with the addon.
 */
function tuneConnectionsThroughNode(server: net.Server, settings: ValidatedOptions): void {
  if (typeof server.address() === 'string') throw listenerError(server, UNIX_LISTENER);
  const merged = new ValidatedOptions();
  const recorded = serverTuningOf(server);
  if (recorded !== undefined) merged.merge(recorded);
  merged.merge(settings);
  assertNodeCanSet(merged);
  perConnection(server, recordTuning(server, settings), PerConnection.ApplyAll);
}

/** `settings` merged into the server's tuning, made (and counted) on its first tuning. */
function recordTuning(server: net.Server, settings: ValidatedOptions): ServerTuning {
  let tuning = serverTuningOf(server);
  if (tuning === undefined) {
    tuning = new ServerTuning();
    (server as Tunable<ServerTuning>)[kTuning] = tuning;
    counts.listenersTuned++;
    keepTuning();
  }
  tuning.merge(settings);
  return tuning;
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
    if (tuning.perConnection === PerConnection.ApplyAll) applyToSocket(socket, tuning);
    else restoreOnSocket(socket, true, tuning);
  } catch (error) {
    failSocket(socket, error);
  }
}
