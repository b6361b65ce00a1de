import { invalidArgType, outOfRange } from './errors.js';

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

/** The numeric options, by their name in {@link KeepAliveOptions} and `SOCKET_KEEPALIVE`. */
export type NumericOption = 'idle' | 'interval' | 'count' | 'userTimeout';

/**
 * One numeric option, as every part of the package names it: the API field and the
 * `SOCKET_KEEPALIVE` field (`name`), the socket option it sets (tcp(7)), its unit, the
 * accepted values (`min` to `max` in steps of `step`, in the API's unit), the value the
 * preload and `run` give it when it is not written, and its command-line flag.
 */
export interface OptionSpec {
  readonly name: NumericOption;
  readonly kernelOption: 'TCP_KEEPIDLE' | 'TCP_KEEPINTVL' | 'TCP_KEEPCNT' | 'TCP_USER_TIMEOUT';
  /** `ms`: a time, milliseconds in the API and written with a unit in text; `probes`: a count. */
  readonly unit: 'ms' | 'probes';
  readonly min: number;
  readonly max: number;
  readonly step: number;
  readonly defaultValue: number;
  readonly flag: string;
  /** What the option does, for usage text. */
  readonly summary: string;
}

/**
 * The one table of options: validation, `SOCKET_KEEPALIVE`'s parser and formatter, the
 * commands' flags and usage text read it. The native side numbers the same options in
 * native/keepalive.h (KEEPALIVE_STEPS); a test holds the two together.
 */
export const OPTION_TABLE: readonly OptionSpec[] = Object.freeze(
  (
    [
      {
        name: 'idle',
        kernelOption: 'TCP_KEEPIDLE',
        unit: 'ms',
        min: 1000,
        max: 32_767_000,
        step: 1000,
        defaultValue: 10_000,
        flag: '--idle',
        summary: 'silence before the first probe',
      },
      {
        name: 'interval',
        kernelOption: 'TCP_KEEPINTVL',
        unit: 'ms',
        min: 1000,
        max: 32_767_000,
        step: 1000,
        defaultValue: 2000,
        flag: '--interval',
        summary: 'time between unanswered probes',
      },
      {
        name: 'count',
        kernelOption: 'TCP_KEEPCNT',
        unit: 'probes',
        min: 1,
        max: 127,
        step: 1,
        defaultValue: 3,
        flag: '--count',
        summary: 'unanswered probes before the connection is dropped',
      },
      {
        name: 'userTimeout',
        kernelOption: 'TCP_USER_TIMEOUT',
        unit: 'ms',
        min: 0,
        max: 2_147_483_647,
        step: 1,
        defaultValue: 20_000,
        flag: '--user-timeout',
        summary: 'time sent data may stay unacknowledged',
      },
    ] as const satisfies readonly OptionSpec[]
  ).map((spec) => Object.freeze(spec)),
);

/** The accepted values of each numeric option: `min` to `max` in steps of `step`. */
export const KEEPALIVE_LIMITS: Readonly<Record<NumericOption, Readonly<{ min: number; max: number; step: number }>>> =
  Object.freeze(
    Object.fromEntries(
      OPTION_TABLE.map(({ name, min, max, step }) => [name, Object.freeze({ min, max, step })]),
    ) as Record<NumericOption, { min: number; max: number; step: number }>,
  );

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
    for (let index = 0; index < OPTION_TABLE.length; index++) {
      const { name } = OPTION_TABLE[index];
      if (from[name] !== UNSET) this[name] = from[name];
    }
  }
}

const OPTION_NAMES = ['enable', ...OPTION_TABLE.map(({ name }) => name)];

/** The range text of an out-of-range error; built only when there is one. */
function rangeText({ min, max, step }: OptionSpec): string {
  return step === 1
    ? `an integer >= ${min} && <= ${max}`
    : `a whole number of seconds in milliseconds (a multiple of ${step}) >= ${min} && <= ${max}`;
}

/** `value` when it is a number in range and a multiple of the option's step; throws otherwise. */
function checkNumber(value: unknown, spec: OptionSpec, argName: string): number {
  const { name, min, max, step } = spec;
  if (typeof value !== 'number') throw invalidArgType(`${argName}.${name}`, 'of type number', value);
  if (!Number.isInteger(value) || value < min || value > max || value % step !== 0) {
    throw outOfRange(`${argName}.${name}`, rangeText(spec), value);
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
    if (OPTION_NAMES.includes(key) || !Object.hasOwn(options, key)) continue;
    throw invalidArgType(
      argName,
      `an object with only the properties ${OPTION_NAMES.join(', ')} (unknown property "${key}")`,
      options,
    );
  }
  const { enable } = options as Record<string, unknown>;
  if (enable === undefined) into.enable = UNSET;
  else if (typeof enable === 'boolean') into.enable = enable ? 1 : 0;
  else throw invalidArgType(`${argName}.enable`, 'of type boolean', enable);
  let tunes = false;
  // Indexed loops: for...of over the frozen table allocates an iterator per call (measured
  // by test/library/keepalive.allocation.test.ts), and this runs on every setKeepAlive.
  for (let index = 0; index < OPTION_TABLE.length; index++) {
    const spec = OPTION_TABLE[index];
    const value = (options as Record<string, unknown>)[spec.name];
    into[spec.name] = value === undefined ? UNSET : checkNumber(value, spec, argName);
    if (value !== undefined) tunes = true;
  }
  if (into.enable === UNSET && tunes) into.enable = 1;
}

/** Validated settings as the API's options (ms), with the fields left out absent. */
export function optionsOf(settings: KernelSettings): KeepAliveOptions {
  const options: KeepAliveOptions = {};
  if (settings.enable !== UNSET) options.enable = settings.enable === 1;
  for (const { name } of OPTION_TABLE) if (settings[name] !== UNSET) options[name] = settings[name];
  return options;
}

/**
 * The options the preload `socket-keepalive/register` applies when `SOCKET_KEEPALIVE` is
 * unset or gives no option, and that `socket-keepalive run` starts from: an idle
 * connection to a dead peer fails 20 s after the peer was last heard (the user timeout
 * ends it once a probe is out), one with data in flight 20 s after the data was sent.
 */
export const DEFAULT_PRELOAD_OPTIONS: Readonly<Required<Omit<KeepAliveOptions, 'enable'>>> = Object.freeze(
  Object.fromEntries(OPTION_TABLE.map(({ name, defaultValue }) => [name, defaultValue])) as Required<
    Omit<KeepAliveOptions, 'enable'>
  >,
);
