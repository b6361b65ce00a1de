import { invalidArgType, outOfRange } from './errors.js';
import { platform } from './platform/index.js';

/**
 * Keepalive settings for one socket or listener. Times are in milliseconds, like Node's
 * own `socket.setKeepAlive()`. Fields left out are not touched. Fields are read by
 * property access, once each: a getter (own or inherited, as on a configuration class)
 * counts like a plain field; an own enumerable property of any other name is refused.
 * See tcp(7): https://man7.org/linux/man-pages/man7/tcp.7.html
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

/**
 * The accepted values of each numeric option: `min` to `max` in steps of `step`, the
 * kernel's own ranges (Linux's, lib/platform/linux.ts).
 */
export const KEEPALIVE_LIMITS = platform.limits;

/** Marks a field of {@link KernelSettings} that is left untouched. */
export const UNSET = -1;

/**
 * Validated options as the library keeps them: milliseconds like the API (whole seconds
 * for idle and interval, checked), 0/1 for enable, {@link UNSET} for a field left out.
 * One shape for the validation scratch and for every piece of stored state, so they merge
 * field by field; the kernel's seconds are computed only where the addon is called
 * (lib/tuning.ts).
 */
export class KernelSettings {
  enable = UNSET;
  idle = UNSET;
  interval = UNSET;
  count = UNSET;
  userTimeout = UNSET;

  /** Copies the fields `from` sets over this one's. */
  merge(from: KernelSettings): void {
    if (from.enable !== UNSET) this.enable = from.enable;
    if (from.idle !== UNSET) this.idle = from.idle;
    if (from.interval !== UNSET) this.interval = from.interval;
    if (from.count !== UNSET) this.count = from.count;
    if (from.userTimeout !== UNSET) this.userTimeout = from.userTimeout;
  }
}

const OPTION_NAMES = 'enable, idle, interval, count, userTimeout';

/** The range text of an out-of-range error; built only when there is one. */
function rangeText(min: number, max: number, step: number): string {
  return step === 1
    ? `an integer >= ${min} && <= ${max}`
    : `a whole number of seconds in milliseconds (a multiple of ${step}) >= ${min} && <= ${max}`;
}

/** `value` when it is a number in range and a multiple of `step`; throws otherwise. */
function checkNumber(value: unknown, name: keyof typeof KEEPALIVE_LIMITS, argName: string): number {
  const { min, max, step } = KEEPALIVE_LIMITS[name];
  if (typeof value !== 'number') throw invalidArgType(`${argName}.${name}`, 'of type number', value);
  if (!Number.isInteger(value) || value < min || value > max || value % step !== 0) {
    throw outOfRange(`${argName}.${name}`, rangeText(min, max, step), value);
  }
  return value;
}

/**
 * Checks every field of `options` and writes it to `into` (which it
 * resets first), throwing a `TypeError` (`ERR_INVALID_ARG_TYPE`) or `RangeError`
 * (`ERR_OUT_OF_RANGE`) for the first bad one. Nothing is truncated, rounded or clamped.
 * A field that is `undefined` counts as left out. Allocates nothing unless it throws.
 */
export function validateInto(options: unknown, into: KernelSettings, argName = 'options'): void {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw invalidArgType(argName, 'of type object', options);
  }
  for (const key in options) {
    if (key === 'enable' || key === 'idle' || key === 'interval' || key === 'count' || key === 'userTimeout') continue;
    if (!Object.hasOwn(options, key)) continue;
    throw invalidArgType(
      argName,
      `an object with only the properties ${OPTION_NAMES} (unknown property "${key}")`,
      options,
    );
  }
  const { enable, idle, interval, count, userTimeout } = options as Record<string, unknown>;
  if (enable === undefined) into.enable = UNSET;
  else if (typeof enable === 'boolean') into.enable = enable ? 1 : 0;
  else throw invalidArgType(`${argName}.enable`, 'of type boolean', enable);
  into.idle = idle === undefined ? UNSET : checkNumber(idle, 'idle', argName);
  into.interval = interval === undefined ? UNSET : checkNumber(interval, 'interval', argName);
  into.count = count === undefined ? UNSET : checkNumber(count, 'count', argName);
  into.userTimeout = userTimeout === undefined ? UNSET : checkNumber(userTimeout, 'userTimeout', argName);
  if (
    into.enable === UNSET &&
    (into.idle !== UNSET || into.interval !== UNSET || into.count !== UNSET || into.userTimeout !== UNSET)
  ) {
    into.enable = 1;
  }
}

/** Validated settings as the API's options (ms), with the fields left out absent. */
export function optionsOf(settings: KernelSettings): KeepAliveOptions {
  const options: KeepAliveOptions = {};
  if (settings.enable !== UNSET) options.enable = settings.enable === 1;
  if (settings.idle !== UNSET) options.idle = settings.idle;
  if (settings.interval !== UNSET) options.interval = settings.interval;
  if (settings.count !== UNSET) options.count = settings.count;
  if (settings.userTimeout !== UNSET) options.userTimeout = settings.userTimeout;
  return options;
}

/**
 * The options the preload `socket-keepalive/register` applies when `SOCKET_KEEPALIVE` is
 * unset or gives no option, and that `socket-keepalive run` starts from: an idle
 * connection to a dead peer fails 20 s after the peer was last heard (the user timeout
 * ends it once a probe is out), one with data in flight 20 s after the data was sent.
 */
export const DEFAULT_PRELOAD_OPTIONS: Readonly<KeepAliveOptions> = Object.freeze({
  idle: 10_000,
  interval: 2000,
  count: 3,
  userTimeout: 20_000,
});
