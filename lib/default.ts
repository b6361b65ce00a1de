/**
 * The process-wide default: every TCP connection of the thread tuned at connect, every
 * listening server at 'listening'.
 * @packageDocumentation
 */
import type * as net from 'node:net';
import { addonLoaded } from './binding.js';
import { invalidArgType } from './errors.js';
import { settableThroughNode } from './floor.js';
import { formatEndpoint } from './format.js';
import { type KeepAliveOptions, optionsOf, ValidatedOptions, validateInto } from './options.js';
import { onConnectAndListen } from './patches.js';
import { ATTEMPTS_VISIBLE } from './runtimes.js';
import { tuneServer } from './server.js';
import { tuneAttempt, tuneSocket } from './socket.js';
import { isUnixDomain, listenerOf, NOT_LISTENING, UNIX_LISTENER } from './target.js';
import { serverTuningOf, socketTuningOf } from './tuning.js';
import { WARNING_CODES, warn } from './warnings.js';

/** How the process-wide default is applied; see {@link setDefaultKeepAlive}. */
export interface DefaultKeepAliveSettings {
  /**
   * Whether servers that start listening get the options on their listening socket (and
   * so every connection they accept, which inherits them from the kernel). Default `true`.
   */
  servers?: boolean;
  /**
   * Called for each TCP client socket when it connects (`remoteAddress` and `remotePort`
   * are known): return `false` to leave that socket alone; any other value (`undefined`
   * included) tunes it. Not called for servers.
   */
  filter?: (socket: net.Socket) => boolean;
}

/** The process-wide default as {@link setDefaultKeepAlive} last set it. */
export interface DefaultKeepAlive {
  /** The options every new TCP connection gets, as validated: in milliseconds; `enable` is stated when any option is. */
  readonly options: Readonly<KeepAliveOptions>;
  /** Whether listening servers get them too. */
  readonly servers: boolean;
  /** The socket filter, if one was given. */
  readonly filter: ((socket: net.Socket) => boolean) | undefined;
}

/** The default in force, with its options validated into the addon's form. */
interface ActiveDefault extends DefaultKeepAlive {
  readonly validatedOptions: ValidatedOptions;
  /** The preload library sets these same options at connect() and listen(). */
  readonly inKernel: boolean;
}

let current: ActiveDefault | null = null;
let hooksInstalled = false;
function warnOnce(error: unknown, what: string): void {
  warn(
    WARNING_CODES.defaultFailed,
    `socket-keepalive: the default keepalive options could not be applied to ${what}, which keeps the kernel's values ` +
      `(${error instanceof Error ? error.message : String(error)}). Further failures are not reported.`,
    { once: true },
  );
}

/**
 * A 'connect' listener, prepended to every client socket's listeners when `connect()` is
 * called while a default is set. It runs before the application's own 'connect' listeners
 * and before writes queued during the connect are flushed (Node flushes them from a
 * 'connect' listener too), so the first byte already leaves a tuned socket. The socket is
 * then tuned like one given to {@link setKeepAlive} after connect: one native call, and
 * its options stay set when Node's own setKeepAlive runs later.
 */
function tuneAtConnect(this: net.Socket): void {
  const active = current;
  if (active === null || socketTuningOf(this) !== undefined) return;
  try {
    if (isUnixDomain(this)) return;
    if (active.filter !== undefined && active.filter(this) === false) return;
    tuneSocket(this, active.validatedOptions, active.inKernel);
  } catch (error) {
    warnOnce(error, `a connection to ${formatEndpoint(this.remoteAddress, this.remotePort)}`);
  }
}

/**
 * A TCP handle of a socket without tuning has started its connection attempt (on Node,
 * with no filter: a filter needs the peer's address, known at 'connect'): the socket is
 * tuned now, in SYN-SENT, so that the user timeout bounds the attempt too.
 */
function tuneAtAttempt(socket: net.Socket, handle: object): void {
  const active = current;
  if (active === null || active.filter !== undefined || !addonLoaded()) return;
  try {
    tuneAttempt(socket, handle, active.validatedOptions, active.inKernel);
  } catch (error) {
    warnOnce(error, 'a connection attempt');
  }
}

/** A 'listening' listener, prepended when `listen()` is called while a default covers servers. */
function tuneAtListening(this: net.Server): void {
  const active = current;
  if (active === null || !active.servers || serverTuningOf(this) !== undefined) return;
  if (addonLoaded()) {
    const listener = listenerOf(this);
    if (listener === UNIX_LISTENER || listener === NOT_LISTENING) return;
  } else if (typeof this.address() !== 'object') return; // a Unix domain socket; without the addon only its accepted sockets are tuned
  try {
    tuneServer(this, active.validatedOptions, active.inKernel);
  } catch (error) {
    warnOnce(error, 'the listening socket of a server');
  }
}

/** Marks a socket or server that has the default's hook: it is added once, whatever the number of connect() or listen() calls. */
const kHooked = Symbol('socket-keepalive default hook');
type Hookable = { [kHooked]?: true };

/**
 * Has every `connect()` of a socket without tuning and every `listen()` come here, once,
 * on the first {@link setDefaultKeepAlive} call (lib/patches.ts). Every client socket
 * in the thread goes through `net.Socket.prototype.connect`: `net.connect`,
 * `new net.Socket().connect()`, `tls.connect`, http(s) agents, HTTP/2 sessions and undici
 * (fetch) all call it, on every Node release. The `net.client.socket` diagnostics channel
 * is not used because before Node 22 (nodejs/node#58349) it announces only sockets made by
 * `net.connect()`. With no default set, the hooks only test one variable. A socket that
 * connects again (a client's reconnect loop) or a server that listens again keeps the one
 * listener it got the first time.
 */
function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  onConnectAndListen(
    (socket) => {
      if (current === null || (socket as Hookable)[kHooked]) return;
      // Without a filter, Node's sockets are tuned in SYN-SENT (tuneAtAttempt): no listener.
      // Without the addon, only Node's own call can tune them, once connected.
      if (ATTEMPTS_VISIBLE && current.filter === undefined && addonLoaded()) return;
      (socket as Hookable)[kHooked] = true;
      socket.prependListener('connect', tuneAtConnect);
    },
    tuneAtAttempt,
    (server) => {
      if (current === null || !current.servers || (server as Hookable)[kHooked]) return;
      (server as Hookable)[kHooked] = true;
      server.prependListener('listening', tuneAtListening);
    },
  );
}

function validateDefaultSettings(settings: unknown): { servers: boolean; filter: DefaultKeepAlive['filter'] } {
  if (settings === undefined) return { servers: true, filter: undefined };
  if (typeof settings !== 'object' || settings === null || Array.isArray(settings)) {
    throw invalidArgType('settings', 'of type object', settings);
  }
  const { servers, filter } = settings as Record<string, unknown>;
  if (servers !== undefined && typeof servers !== 'boolean')
    throw invalidArgType('settings.servers', 'of type boolean', servers);
  if (filter !== undefined && typeof filter !== 'function')
    throw invalidArgType('settings.filter', 'of type function', filter);
  return { servers: servers ?? true, filter: filter as DefaultKeepAlive['filter'] };
}

/**
 * Sets keepalive options for every TCP connection this thread makes from now on, like
 * `net.setDefaultAutoSelectFamily` does for address selection. See tcp(7):
 * https://man7.org/linux/man-pages/man7/tcp.7.html
 *
 * - Every TCP client socket that connects after the call (`net.connect`,
 *   `new net.Socket().connect()`, `tls.connect`, http(s) agents, `fetch()`, HTTP/2
 *   sessions, database and queue drivers) gets `options` when it connects: before the
 *   application's own 'connect' listeners and before its first byte. They stay set like
 *   those of {@link setKeepAlive}: a client library's own `socket.setKeepAlive(true, ms)`
 *   does not undo them.
 * - Every server that starts listening gets them on its listening socket, so accepted
 *   connections inherit them; `settings.servers: false` leaves servers alone.
 * - `settings.filter(socket)` is called at connect and can leave a client socket alone.
 * - Precedence: a socket or server given options with {@link setKeepAlive} (or an agent's
 *   socket with {@link tuneAgent}) before it connects or listens keeps only its own; the
 *   fields of a later explicit call win over the default's.
 * - Unix domain sockets and pipes are skipped. Sockets owned by native code (e.g.
 *   `pg-native`) are out of its reach: the preload library ({@link preloadLibrary},
 *   loaded with `LD_PRELOAD`, as `socket-keepalive run` does) reaches them.
 * - The default never throws into the application: a connection it cannot tune stays open
 *   with the kernel's values, reported once, as a process warning with code
 *   `SOCKET_KEEPALIVE_DEFAULT_FAILED`. Once tuned, a socket follows {@link setKeepAlive}'s
 *   rule: if the options cannot be put back after Node's own setKeepAlive, the socket is
 *   destroyed with that error, which it emits as 'error'.
 * - Calling it again replaces the default for sockets connecting afterwards; `null` stops.
 *   Sockets already tuned keep their options.
 *
 * Mechanism: the first call hooks `net.Socket.prototype.connect` (through the library's
 * one wrapper of it) and wraps `net.Server.prototype.listen` of this thread (once; they
 * stay so, and test one variable when no default is set); a socket the default tunes is
 * then kept tuned by the same wrapped `net.Socket.prototype.setKeepAlive` as one given to
 * {@link setKeepAlive}. It reaches every socket made by JavaScript on Node 18 and later,
 * which the `net.client.socket` diagnostics channel does only from Node 22.
 * Each thread has its own default: `socket-keepalive/register` sets it in workers too.
 *
 * Options are validated first (errors as for {@link setKeepAlive}), and the native addon
 * is loaded. Where it is not (see {@link setKeepAlive}), connections and the sockets
 * servers accept get what Node.js's own `socket.setKeepAlive` can set; the options it
 * cannot set here are named once per thread in a process warning with code
 * `SOCKET_KEEPALIVE_NO_ADDON`, and left out of {@link getDefaultKeepAlive}'s options.
 *
 * @example
 * ```ts
 * setDefaultKeepAlive({ idle: 10_000, interval: 2_000, count: 3, userTimeout: 20_000 });
 * ```
 */
export function setDefaultKeepAlive(options: KeepAliveOptions | null, settings?: DefaultKeepAliveSettings): void {
  const { servers, filter } = validateDefaultSettings(settings);
  if (options === null) {
    current = null;
    return;
  }
  const validated = new ValidatedOptions();
  validateInto(options, validated);
  useDefault(validated, servers, filter);
}

/**
 * {@link setDefaultKeepAlive} with options already validated (the preload's, read from
 * the environment). Without the addon, the options Node's own call cannot set are left
 * out, named in one warning per thread (`warn`: whether this thread warns). `inKernel`:
 * the preload library (LD_PRELOAD) sets the same options at connect() and listen(), so
 * each socket is only taken over from it (lib/tuning.ts applyOrTakeOver).
 */
export function useDefault(
  validatedOptions: ValidatedOptions,
  servers: boolean,
  filter?: DefaultKeepAlive['filter'],
  { warn: warnHere = true, inKernel = false }: { warn?: boolean; inKernel?: boolean } = {},
): void {
  let applied = validatedOptions;
  if (!addonLoaded()) {
    const floor = settableThroughNode(validatedOptions);
    applied = floor.settings;
    if (floor.warning !== '' && warnHere) warn(WARNING_CODES.noAddon, floor.warning, { once: true });
  }
  current = Object.freeze({
    options: Object.freeze(optionsOf(applied)),
    servers,
    filter,
    validatedOptions: applied,
    inKernel: inKernel && addonLoaded(),
  });
  installHooks();
}

/**
 * The default set by {@link setDefaultKeepAlive} (or `socket-keepalive/register`), or
 * `null` when new connections are left alone.
 */
export function getDefaultKeepAlive(): DefaultKeepAlive | null {
  return current === null ? null : { options: current.options, servers: current.servers, filter: current.filter };
}
