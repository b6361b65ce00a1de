import { constants } from 'node:os';
import { inspect } from 'node:util';

/** An error carrying a Node.js-style `code`, like the errors Node's own APIs throw. */
export type CodedError<E extends Error = Error> = E & { code: string };

/** A system error shaped like Node's own: `code`, negative `errno`, `syscall`, and the option when one failed. */
export type SystemError = CodedError & { errno: number; syscall: string; option?: string };

/** Describes a received value the way Node's own argument errors do. */
function describeReceived(value: unknown): string {
  if (value === null || value === undefined) return `Received ${value}`;
  if (typeof value === 'function') return `Received function ${value.name || '<anonymous>'}`;
  if (typeof value === 'object') {
    const name = (value as { constructor?: { name?: string } }).constructor?.name;
    return name ? `Received an instance of ${name}` : `Received ${inspect(value, { depth: -1 })}`;
  }
  return `Received type ${typeof value} (${inspect(value)})`;
}

function withCode<E extends Error>(error: E, code: string): CodedError<E> {
  return Object.assign(error, { code });
}

/**
 * `TypeError` with code `ERR_INVALID_ARG_TYPE`.
 * @param name - the argument, or `options.field` for a property
 * @param expected - what was expected, e.g. "of type number"
 */
export function invalidArgType(name: string, expected: string, value: unknown): CodedError<TypeError> {
  const what = name.includes('.') ? 'property' : 'argument';
  return withCode(
    new TypeError(`The "${name}" ${what} must be ${expected}. ${describeReceived(value)}`),
    'ERR_INVALID_ARG_TYPE',
  );
}

/** `TypeError` with code `ERR_INVALID_ARG_VALUE`: the right type, but a value that cannot be used. */
export function invalidArgValue(name: string, reason: string, value: unknown): CodedError<TypeError> {
  return withCode(
    new TypeError(`The argument '${name}' ${reason}. ${describeReceived(value)}`),
    'ERR_INVALID_ARG_VALUE',
  );
}

/** `RangeError` with code `ERR_OUT_OF_RANGE`; `range` completes "It must be ...". */
export function outOfRange(name: string, range: string, value: unknown): CodedError<RangeError> {
  const received = typeof value === 'number' ? String(value) : inspect(value);
  return withCode(
    new RangeError(`The value of "${name}" is out of range. It must be ${range}. Received ${received}`),
    'ERR_OUT_OF_RANGE',
  );
}

/** Node's `ERR_SOCKET_CLOSED`, for a destroyed socket. */
export function socketClosed(): CodedError {
  return withCode(new Error('Socket is closed'), 'ERR_SOCKET_CLOSED');
}

/** Node's `ERR_SERVER_NOT_RUNNING`, for reading a server that is not listening. */
export function serverNotRunning(): CodedError {
  return withCode(new Error('Server is not running.'), 'ERR_SERVER_NOT_RUNNING');
}

/**
 * A system error in the one format of this library, which is Node's own:
 * message `<syscall> <CODE>[ <OPTION>][ (<detail>)]`, e.g. `setsockopt EINVAL TCP_KEEPIDLE`,
 * with properties `code`, `errno` (negative), `syscall`, and `option` when there is one.
 */
export function systemError(code: string, syscall: string, detail?: string, option?: string): SystemError {
  let message = `${syscall} ${code}`;
  if (option !== undefined) message += ` ${option}`;
  if (detail !== undefined) message += ` (${detail})`;
  const errno = (constants.errno as Record<string, number | undefined>)[code];
  const error: SystemError = Object.assign(new Error(message), {
    code,
    errno: errno === undefined ? 0 : -errno,
    syscall,
  });
  if (option !== undefined) error.option = option;
  return error;
}

/**
 * The `code` of the error the library throws for what cannot be done in this process:
 * an option that Node.js's own `socket.setKeepAlive` cannot set where the native addon
 * is not loaded (`userTimeout` on every release; `interval` and `count` before Node.js
 * 24.19 and 26.4), a raw file descriptor, and the reads (`getKeepAlive`, `getTcpInfo`,
 * `inspectProcess`) that need getsockopt(2). Thrown before any syscall; the message names
 * the platform, the runtime and what is missing, and `missing` lists the options.
 */
export const ERR_SOCKET_KEEPALIVE_UNSUPPORTED = 'ERR_SOCKET_KEEPALIVE_UNSUPPORTED';

/** An error with code {@link ERR_SOCKET_KEEPALIVE_UNSUPPORTED}. */
export type UnsupportedError = CodedError & {
  /** The options (`userTimeout`, `interval`, `count`) or the operation that cannot be done here. */
  missing: string[];
};

/** An {@link UnsupportedError}. */
export function unsupported(message: string, missing: string[]): UnsupportedError {
  return Object.assign(withCode(new Error(message), ERR_SOCKET_KEEPALIVE_UNSUPPORTED), { missing });
}
