import { invalidArgType, outOfRange } from './errors.js';

/**
 * Keepalive settings for one socket or listener. Times are in milliseconds, like Node's
 * own `socket.setKeepAlive()`. Fields left out are not touched. See tcp(7):
 * https://man7.org/linux/man-pages/man7/tcp.7.html
 */
export interface KeepAliveOptions {
  /**
   * SO_KEEPALIVE: send keepalive probes on an idle connection. Defaults to `true` when
   * any other field is given; `false` switches keepalive off.
   */
  enable?: boolean;
  /**
   * TCP_KEEPIDLE: milliseconds of silence before the first probe. Whole seconds only
   * (the kernel's resolution): a multiple of 1000 from 1000 to 32767000.
   */
  idle?: number;
  /**
   * TCP_KEEPINTVL: milliseconds between unanswered probes. Whole seconds only: a
   * multiple of 1000 from 1000 to 32767000.
   */
  interval?: number;
  /** TCP_KEEPCNT: unanswered probes before the connection is dropped, 1 to 127. */
  count?: number;
  /**
   * TCP_USER_TIMEOUT: milliseconds that sent data may stay unacknowledged (and, with
   * keepalive on, that probes may go unanswered) before the connection is dropped with
   * ETIMEDOUT. An integer from 0 to 2147483647; 0 means the system default. When it is
   * not 0 it replaces `count` as the keepalive limit.
   */
  userTimeout?: number;
}

/** The accepted values of each numeric option: `min` to `max` in steps of `step`. */
export const KEEPALIVE_LIMITS = Object.freeze({
  idle: Object.freeze({ min: 1000, max: 32_767_000, step: 1000 }),
  interval: Object.freeze({ min: 1000, max: 32_767_000, step: 1000 }),
  count: Object.freeze({ min: 1, max: 127, step: 1 }),
  userTimeout: Object.freeze({ min: 0, max: 2_147_483_647, step: 1 }),
});

/** Validated options in the kernel's units: seconds for idle and interval. */
export interface KernelOptions {
  enable?: boolean;
  idleSeconds?: number;
  intervalSeconds?: number;
  count?: number;
  userTimeout?: number;
}

const OPTION_NAMES: ReadonlySet<string> = new Set(['enable', 'idle', 'interval', 'count', 'userTimeout']);

function validateNumber(name: keyof typeof KEEPALIVE_LIMITS, value: unknown, argName: string): number {
  const property = `${argName}.${name}`;
  if (typeof value !== 'number') throw invalidArgType(property, 'of type number', value);
  const { min, max, step } = KEEPALIVE_LIMITS[name];
  if (!Number.isInteger(value) || value < min || value > max || value % step !== 0) {
    const range =
      step === 1
        ? `an integer >= ${min} && <= ${max}`
        : `a whole number of seconds in milliseconds (a multiple of ${step}) >= ${min} && <= ${max}`;
    throw outOfRange(property, range, value);
  }
  return value;
}

/**
 * Checks every field of `options` and converts it to kernel units, throwing a
 * `TypeError` (`ERR_INVALID_ARG_TYPE`) or `RangeError` (`ERR_OUT_OF_RANGE`) for the first
 * bad one. Nothing is truncated, rounded or clamped. A field that is `undefined` counts
 * as left out.
 */
export function validateOptions(options: unknown, argName = 'options'): KernelOptions {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw invalidArgType(argName, 'of type object', options);
  }
  for (const key of Object.keys(options)) {
    if (!OPTION_NAMES.has(key)) {
      throw invalidArgType(
        argName,
        `an object with only the properties ${[...OPTION_NAMES].join(', ')} (unknown property "${key}")`,
        options,
      );
    }
  }
  const { enable, idle, interval, count, userTimeout } = options as Record<string, unknown>;
  const result: KernelOptions = {};
  if (enable !== undefined) {
    if (typeof enable !== 'boolean') throw invalidArgType(`${argName}.enable`, 'of type boolean', enable);
    result.enable = enable;
  }
  if (idle !== undefined) result.idleSeconds = validateNumber('idle', idle, argName) / 1000;
  if (interval !== undefined) result.intervalSeconds = validateNumber('interval', interval, argName) / 1000;
  if (count !== undefined) result.count = validateNumber('count', count, argName);
  if (userTimeout !== undefined) result.userTimeout = validateNumber('userTimeout', userTimeout, argName);
  if (result.enable === undefined && Object.keys(result).length > 0) result.enable = true;
  return result;
}
