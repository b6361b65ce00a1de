/**
 * Where a failure inside Node's events goes. The rule for everything this library
 * installs into Node's objects: the wrapped prototype methods (lib/patches.ts), the
 * 'connect' hook of a socket tuned before it connects (lib/socket.ts), a tuned server's
 * 'listening' and 'connection' hooks (lib/server.ts), a tuned agent's `createConnection`
 * (lib/agent.ts).
 *
 * Nothing the library installs ever throws into Node's event emission or leaves Node's
 * objects half-built. A failure that belongs to a socket goes to that socket: it is
 * destroyed with the error (`socket.destroy(error)`), which it emits as 'error' to the
 * application, as a failed connect would be. A failure the application cannot act on (a
 * listening socket that refuses an option after 'listening') is a process warning:
 * `warn` (lib/warnings.ts) with code `SOCKET_KEEPALIVE_NOT_APPLIED`. Options are validated once, when the application passes
 * them, and the validated copy, in kernel units, is what is stored and applied later.
 * @packageDocumentation
 */
import type * as net from 'node:net';
import { WARNING_CODES, warn } from './warnings.js';

/** Hands a failure to the socket it belongs to: the socket emits it as 'error'. */
export function failSocket(socket: net.Socket, error: unknown): void {
  socket.destroy(error instanceof Error ? error : new Error(String(error)));
}

/**
 * {@link failSocket} for a socket not handed to the application yet (inside an agent's
 * createConnection): one turn of the event loop later, once the request listens for
 * the socket's 'error'.
 */
export function failSocketSoon(socket: net.Socket, error: unknown): void {
  setImmediate(failSocket, socket, error);
}

/**
 * Reports a failure the application cannot act on as a process warning
 * (`WARNING_CODES.notApplied`); `once` as for {@link warn}.
 */
export function warnNotApplied(what: string, error: unknown, once: string | false = false): void {
  const message = error instanceof Error ? error.message : String(error);
  warn(WARNING_CODES.notApplied, `socket-keepalive could not apply the options to ${what}: ${message}`, { once });
}
