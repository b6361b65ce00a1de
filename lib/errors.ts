import { getSystemErrorName, inspect } from 'node:util';
import { constants } from 'node:os';

/** An error carrying a Node.js-style `code`, like the errors Node's own APIs throw. */
export type CodedError<E extends Error = Error> = E & { code: string };

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

/** A system error shaped like the addon's (and Node's): `code`, negative `errno`, `syscall`. */
export function systemError(code: keyof typeof constants.errno, syscall: string, detail: string): CodedError {
  return Object.assign(new Error(`${syscall} ${code} (${detail})`), {
    code,
    errno: -constants.errno[code],
    syscall,
  });
}

/** What each addon step code names: the syscall (when fixed) and the option. */
const ADDON_STEPS: readonly { syscall?: string; option?: string; notTcp?: string }[] = [
  { option: 'SO_KEEPALIVE' },
  { option: 'TCP_KEEPIDLE' },
  { option: 'TCP_KEEPINTVL' },
  { option: 'TCP_KEEPCNT' },
  { option: 'TCP_USER_TIMEOUT' },
  { option: 'TCP_INFO' },
  { syscall: 'getsockopt', option: 'SO_TYPE' },
  { syscall: 'getsockname' },
  { notTcp: 'a Unix domain socket' },
  { notTcp: 'a datagram (UDP) socket' },
  { notTcp: 'a non-TCP socket' },
  { syscall: 'pidfd_open' },
  { syscall: 'pidfd_getfd' },
];

/**
 * The system error for a negative addon result -(errno * 32 + step), shaped like Node's:
 * message `${syscall} ${CODE}[ ${OPTION}][ (${detail})]`, `code`, negative `errno`,
 * `syscall`, and `option` where there is one.
 * @param syscall - setsockopt or getsockopt, for the steps that do not fix it
 */
export function addonFailure(result: number, syscall: string, fd: number): CodedError {
  const errno = Math.floor(-result / 32);
  const step = ADDON_STEPS[-result % 32];
  const code = getSystemErrorName(-errno);
  const detail = step.notTcp
    ? `fd ${fd} is not a TCP socket: ${step.notTcp}`
    : step.option && errno === constants.errno.ENOTSUP && !step.syscall
      ? 'not supported on this platform'
      : undefined;
  const name = step.syscall ?? syscall;
  let message = `${name} ${code}`;
  if (step.option) message += ` ${step.option}`;
  if (detail) message += ` (${detail})`;
  const error = Object.assign(new Error(message), { code, errno: -errno, syscall: name });
  return step.option ? Object.assign(error, { option: step.option }) : error;
}
