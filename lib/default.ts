import net from 'node:net';
import { binding } from './binding.js';
import { invalidArgType } from './errors.js';
import { applyToFd, descriptorOf, isTuned, setKeepAlive } from './keepalive.js';
import { type KernelOptions, type KeepAliveOptions, validateOptions } from './options.js';

/** How the process-wide default is applied; see {@link setDefaultKeepAlive}. */
export interface DefaultKeepAliveSettings {
  /**
   * Whether servers that start listening get the options on their listening socket (and
   * so every connection they accept, which inherits them from the kernel). Default `true`.
   */
  servers?: boolean;
  /**
   * Called for each TCP client socket when it connects (`remoteAddress` and `remotePort`
   * are known): return `false` to leave that socket alone. Not called for servers.
   */
  filter?: (socket: net.Socket) => boolean;
}

/** The process-wide default as {@link setDefaultKeepAlive} last set it. */
export interface DefaultKeepAlive {
  /** The options every new TCP connection gets, as given (validated). */
  readonly options: Readonly<KeepAliveOptions>;
  /** Whether listening servers get them too. */
  readonly servers: boolean;
  /** The socket filter, if one was given. */
  readonly filter: ((socket: net.Socket) => boolean) | undefined;
}

/** Code of the process warning emitted (once) when the default cannot be applied. */
export const DEFAULT_KEEPALIVE_WARNING = 'SOCKET_KEEPALIVE_DEFAULT_FAILED';

/** A default's options as given and in the kernel's units. */
interface Tuning {
  options: KeepAliveOptions;
  kernel: KernelOptions;
}

let current: DefaultKeepAlive | null = null;
let currentTuning: Tuning = { options: {}, kernel: {} };
let hooksInstalled = false;
let warned = false;

function warnOnce(error: unknown, what: string): void {
  if (warned) return;
  warned = true;
  process.emitWarning(
    `socket-keepalive: the default keepalive options could not be applied to ${what}, which keeps the kernel's values ` +
      `(${(error as Error)?.message ?? String(error)}). Further failures are not reported.`,
    { type: 'SocketKeepAliveWarning', code: DEFAULT_KEEPALIVE_WARNING },
  );
}

/** The default's tuning, on a socket it tuned. */
const defaultTuningOf = Symbol('socket-keepalive default tuning');
type DefaultTuned = net.Socket & { [defaultTuningOf]?: Tuning };

/**
 * A 'connect' listener, prepended to every client socket's listeners when `connect()` is
 * called while a default is set. It runs before the application's own 'connect' listeners
 * and before writes queued during the connect are flushed (Node flushes them from a
 * 'connect' listener too), so the first byte already leaves a tuned socket. Per
 * connection it costs one native call doing the setsockopt(2) calls, and a mark.
 */
function tuneAtConnect(this: DefaultTuned): void {
  const active = current;
  if (active === null || isTuned(this)) return;
  let descriptor: ReturnType<typeof descriptorOf>;
  try {
    descriptor = descriptorOf(this);
  } catch {
    return; // it refuses only Unix domain sockets and pipes, which are left alone without a word
  }
  try {
    if (active.filter && !active.filter(this)) return;
    applyToFd(descriptor, currentTuning.kernel);
    this[defaultTuningOf] = currentTuning;
  } catch (error) {
    warnOnce(error, `a connection to ${this.remoteAddress}:${this.remotePort}`);
  }
}

/**
 * Replaces `net.Socket.prototype.setKeepAlive`. The first time Node's own setKeepAlive is
 * called on a socket the default tuned (by a client library, or by http.Agent when the
 * socket returns to its pool), the socket is handed over to {@link setKeepAlive}'s
 * tracking, which re-applies idle, interval and count after every such call, as libuv
 * resets them. Other sockets go straight to Node's method.
 */
function keepDefaultAcrossSetKeepAlive(nodeSetKeepAlive: net.Socket['setKeepAlive']): net.Socket['setKeepAlive'] {
  return function setKeepAliveKeepingDefault(this: DefaultTuned, ...args: Parameters<net.Socket['setKeepAlive']>) {
    const tuning = this[defaultTuningOf];
    if (tuning === undefined || this.destroyed) return nodeSetKeepAlive.apply(this, args);
    if (isTuned(this)) {
      // Reached from the method setKeepAlive installed: it re-applies only the fields it was
      // given, so the default's go back first, for fields given explicitly after connect to win.
      nodeSetKeepAlive.apply(this, args);
      const { idleSeconds, intervalSeconds, count } = tuning.kernel;
      if (args[0] && !this.connecting) applyToFd(descriptorOf(this), { idleSeconds, intervalSeconds, count });
      return this;
    }
    try {
      setKeepAlive(this, tuning.options);
    } catch (error) {
      warnOnce(error, `a connection to ${this.remoteAddress}:${this.remotePort}`);
      return nodeSetKeepAlive.apply(this, args);
    }
    // Now the socket's own method, installed by setKeepAlive: Node's call, then the tuning again.
    return this.setKeepAlive(...args);
  };
}

/** A 'listening' listener, prepended when `listen()` is called while a default covers servers. */
function tuneAtListening(this: net.Server): void {
  const active = current;
  if (active === null || !active.servers || isTuned(this)) return;
  const address = this.address();
  // A string address is a Unix domain socket or pipe: left alone.
  if (address === null || typeof address === 'string') return;
  try {
    setKeepAlive(this, active.options);
  } catch (error) {
    warnOnce(error, `a server listening on ${address.address}:${address.port}`);
  }
}

/**
 * Wraps `net.Socket.prototype.connect`, `net.Socket.prototype.setKeepAlive` and
 * `net.Server.prototype.listen` once, on the first {@link setDefaultKeepAlive} call. Every client socket in the thread goes through the
 * former: `net.connect`, `new net.Socket().connect()`, `tls.connect`, http(s) agents,
 * HTTP/2 sessions and undici (fetch) all call it, on every Node release. The
 * `net.client.socket` diagnostics channel is not used because before Node 22 (nodejs/node#58349)
 * it announces only sockets made by `net.connect()`. With no default set, the wrappers
 * only test one variable.
 */
function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  const connect = net.Socket.prototype.connect;
  net.Socket.prototype.connect = function connectWithDefaultKeepAlive(this: net.Socket, ...args: unknown[]) {
    if (current !== null) this.prependListener('connect', tuneAtConnect);
    return (connect as (...args: unknown[]) => net.Socket).apply(this, args);
  } as typeof connect;
  net.Socket.prototype.setKeepAlive = keepDefaultAcrossSetKeepAlive(net.Socket.prototype.setKeepAlive);
  const listen = net.Server.prototype.listen;
  net.Server.prototype.listen = function listenWithDefaultKeepAlive(this: net.Server, ...args: unknown[]) {
    if (current !== null && current.servers) this.prependListener('listening', tuneAtListening);
    return (listen as (...args: unknown[]) => net.Server).apply(this, args);
  } as typeof listen;
}

function validateSettings(settings: unknown): { servers: boolean; filter: DefaultKeepAlive['filter'] } {
  if (settings === undefined) return { servers: true, filter: undefined };
  if (typeof settings !== 'object' || settings === null || Array.isArray(settings)) {
    throw invalidArgType('settings', 'of type object', settings);
  }
  const { servers, filter } = settings as Record<string, unknown>;
  if (servers !== undefined && typeof servers !== 'boolean') throw invalidArgType('settings.servers', 'of type boolean', servers);
  if (filter !== undefined && typeof filter !== 'function') throw invalidArgType('settings.filter', 'of type function', filter);
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
 *   `pg-native`) are out of reach.
 * - The default never throws into the application and never destroys a socket: a failure
 *   to apply it is reported once, as a process warning with code
 *   `SOCKET_KEEPALIVE_DEFAULT_FAILED`.
 * - Calling it again replaces the default for sockets connecting afterwards; `null` stops.
 *   Sockets already tuned keep their options.
 *
 * Mechanism: the first call wraps `net.Socket.prototype.connect`, `.setKeepAlive` and
 * `net.Server.prototype.listen` of this thread (once; they stay wrapped, and test one
 * variable when no default is set). It reaches every socket made by JavaScript on Node 18
 * and later, which the `net.client.socket` diagnostics channel does only from Node 22.
 * Each thread has its own default: `socket-keepalive/register` sets it in workers too.
 *
 * Options are validated first (errors as for {@link setKeepAlive}), and the native addon
 * is loaded: a platform without it throws here rather than at the first connection.
 *
 * @example
 * ```ts
 * setDefaultKeepAlive({ idle: 10_000, interval: 2_000, count: 3, userTimeout: 20_000 });
 * ```
 */
export function setDefaultKeepAlive(options: KeepAliveOptions | null, settings?: DefaultKeepAliveSettings): void {
  const { servers, filter } = validateSettings(settings);
  if (options === null) {
    current = null;
    return;
  }
  const kernel = validateOptions(options);
  binding();
  current = Object.freeze({ options: Object.freeze({ ...options }), servers, filter });
  currentTuning = { options: current.options, kernel };
  installHooks();
}

/**
 * The default set by {@link setDefaultKeepAlive} (or `socket-keepalive/register`), or
 * `null` when new connections are left alone.
 */
export function getDefaultKeepAlive(): DefaultKeepAlive | null {
  return current;
}
