/**
 * What the library remembers about a tuned socket or server, and the two ways it applies
 * it: everything, and the restore after Node switched keepalive on (which makes libuv
 * overwrite idle, interval and count). Through the addon on the socket's descriptor, or,
 * where the addon is not loaded, through Node's own setKeepAlive (lib/floor.ts).
 * @packageDocumentation
 */
import type * as net from 'node:net';
import { addonLoaded, applyToFd, releaseFromPreload } from './binding.js';
import { applyThroughNode } from './floor.js';
import { ValidatedOptions } from './options.js';
import { counts } from './stats.js';
import { type Descriptor, socketDescriptor } from './target.js';

/** The options given to this library for one socket, merged over successive calls. */
export class SocketTuning extends ValidatedOptions {
  /** Whether a 'connect' hook re-applies the options when the socket (re)connects. */
  appliesOnConnect = false;
  /**
   * The TCP handle whose connection attempt got the options (set in SYN-SENT, so the user
   * timeout bounds the attempt too): the 'connect' hook then only restores what Node's
   * own keepalive call overwrote.
   */
  appliedHandle: object | undefined = undefined;
  /** The descriptor whose end was last looked at for the dead-peer report: a TLS socket and the socket under it share it. */
  reportedFd = -1;

  /** @param socket - the net.Socket that owns (or will own) the TCP connection */
  constructor(readonly socket: net.Socket) {
    super();
  }
}

/** What a tuned server does for each connection it accepts. */
export enum PerConnection {
  /** Nothing: accepted sockets inherit the listener's options from the kernel. */
  Nothing,
  /** Restore idle, interval and count after Node switched keepalive on (`{ keepAlive: true }` servers). */
  Restore,
  /** Apply every option: the listener is not this process's to tune (a cluster round-robin worker). */
  ApplyAll,
}

/** The options given to this library for one server, merged over successive calls. */
export class ServerTuning extends ValidatedOptions {
  perConnection = PerConnection.Nothing;
  /** Whether the 'connection' hook is installed. */
  hooksConnections = false;
}

/** The property under which a socket or server keeps its tuning. */
export const kTuning = Symbol('socket-keepalive tuning');

/** An object that may carry a tuning. */
export type Tunable<T> = { [kTuning]?: T };

/** The tuning of a socket, if it has one. */
export function socketTuningOf(socket: net.Socket): SocketTuning | undefined {
  return (socket as Tunable<SocketTuning>)[kTuning];
}

/** The tuning of a server, if it has one. */
export function serverTuningOf(server: net.Server): ServerTuning | undefined {
  return (server as Tunable<ServerTuning>)[kTuning];
}

/** Options left out: the settings of an apply that sets SO_KEEPALIVE alone. */
const NO_OPTIONS = new ValidatedOptions();

/** The addon's call (lib/binding.ts), counting what the kernel refuses (see keepAliveStats). */
function apply({ fd, knownTcp }: Descriptor, enable: number, settings: ValidatedOptions, keptOnly: boolean): void {
  try {
    applyToFd(fd, knownTcp, enable, settings, keptOnly);
  } catch (error) {
    counts.tuningsFailed++;
    throw error;
  }
}

/** Applies every field `settings` sets. Throws a system error naming the option that failed. */
export function applySettings(descriptor: Descriptor, settings: ValidatedOptions): void {
  apply(descriptor, settings.enable, settings, false);
}

/**
 * Applies every field `settings` sets, or, when `inKernel` says the preload library has
 * already set the same options on the socket (`SOCKET_KEEPALIVE` read by both), takes the
 * socket over from it with no setsockopt: each connection gets its options once.
 */
export function applyOrTakeOver(descriptor: Descriptor, settings: ValidatedOptions, inKernel: boolean): void {
  if (inKernel) releaseFromPreload(descriptor.fd);
  else applySettings(descriptor, settings);
}

/**
 * Sets SO_KEEPALIVE to `enable`, with, when it is on, the options of `settings` that
 * Node's own call just overwrote (the table's `kept`: idle, interval and count). Node
 * skips its syscall when its arguments repeat its last call, so its record can disagree
 * with the kernel after this library changed SO_KEEPALIVE: enable is asserted every time.
 */
export function applyRestore(descriptor: Descriptor, enable: boolean, settings: ValidatedOptions): void {
  if (enable) apply(descriptor, 1, settings, true);
  else apply(descriptor, 0, NO_OPTIONS, false);
}

/**
 * Applies every field `settings` sets to a connected socket: through the addon on its
 * descriptor (nothing while a runtime hides it; lib/runtimes.ts has warned), or without
 * the addon through Node's own call, which `settings` must be checked for
 * (lib/floor.ts `assertNodeCanSet`).
 */
export function applyToSocket(socket: net.Socket, settings: ValidatedOptions): void {
  if (!addonLoaded()) {
    applyThroughNode(socket, settings, settings.enable);
    return;
  }
  const descriptor = socketDescriptor(socket);
  if (descriptor.fd >= 0) applySettings(descriptor, settings);
}

/** {@link applyRestore} on a connected socket, through the addon or Node's own call as {@link applyToSocket}. */
export function restoreOnSocket(socket: net.Socket, enable: boolean, settings: ValidatedOptions): void {
  if (!addonLoaded()) {
    applyThroughNode(socket, settings, enable ? 1 : 0);
    return;
  }
  const descriptor = socketDescriptor(socket);
  if (descriptor.fd >= 0) applyRestore(descriptor, enable, settings);
}
