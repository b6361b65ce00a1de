/**
 * The one way this library speaks outside an error: process warnings of type
 * `SocketKeepAliveWarning`, each with one of {@link WARNING_CODES}.
 * @packageDocumentation
 */

/**
 * The `code` of every process warning this library emits (type `SocketKeepAliveWarning`),
 * for `process.on('warning')` handlers and `--disable-warning`:
 *
 * - `defaultFailed`: the process-wide default could not be applied to a connection or a
 *   listener, which keeps the kernel's values (once per thread).
 * - `notApplied`: options could not be applied where no application code can catch the
 *   error (a listening socket after 'listening'; a socket whose runtime hides its
 *   descriptor, once per thread).
 * - `noAddon`: the native addon is not loaded, and the default or the preload has options
 *   Node's own `socket.setKeepAlive` cannot set; it names them (once per thread).
 * - `noOtel`: `SOCKET_KEEPALIVE=...,report=otel` where `@opentelemetry/api` cannot be
 *   loaded: the metrics are not registered.
 */
export const WARNING_CODES = Object.freeze({
  defaultFailed: 'SOCKET_KEEPALIVE_DEFAULT_FAILED',
  notApplied: 'SOCKET_KEEPALIVE_NOT_APPLIED',
  noAddon: 'SOCKET_KEEPALIVE_NO_ADDON',
  noOtel: 'SOCKET_KEEPALIVE_NO_OTEL',
} as const);

/** One of {@link WARNING_CODES}. */
export type WarningCode = (typeof WARNING_CODES)[keyof typeof WARNING_CODES];

/** The `once` keys already warned for in this thread. */
const warned = new Set<string>();

/**
 * Emits a process warning with `code`. With `once`, only the first warning of that key is
 * emitted in this thread (`true`: the code is the key). Returns whether it was emitted.
 */
export function warn(code: WarningCode, message: string, { once = false }: { once?: boolean | string } = {}): boolean {
  if (once !== false) {
    const key = once === true ? code : once;
    if (warned.has(key)) return false;
    warned.add(key);
  }
  process.emitWarning(message, { type: 'SocketKeepAliveWarning', code });
  return true;
}
