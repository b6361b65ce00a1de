import { invalidArgType, outOfRange } from './errors.js';
import { platform } from './platform/index.js';
import type { Limit, PlatformName } from './platform/platform.js';

/** The unit of an option's value: `ms` a time, `s` whole seconds (a kernel unit only), `probes` a count. */
export type OptionUnit = 'ms' | 's' | 'probes';

/** One option as written in {@link OPTIONS}, the source of every part of its row. */
interface OptionRow {
  /** The socket option it sets (tcp(7)). */
  readonly kernelOption: string;
  /** Its unit in the API and in text: `ms`, milliseconds written with a unit; `probes`, a count. */
  readonly unit: 'ms' | 'probes';
  /** The unit the kernel takes and returns it in; the addon's values are converted from {@link OptionRow.unit}. */
  readonly kernelUnit: OptionUnit;
  /** The accepted values on each platform, in {@link OptionRow.unit}: the kernel's ranges. */
  readonly limits: Readonly<Record<PlatformName, Limit>>;
  /** The value the preload and `run` give it when it is not written. */
  readonly defaultValue: number;
  /** Its command-line flag (`run`, `server`, `client`). */
  readonly flag: string;
  /** What the option does, for usage text. */
  readonly summary: string;
  /**
   * Whether a program's own keepalive switch overwrites it (libuv sets TCP_KEEPIDLE, and
   * on Node.js 24.19+ and 26.4+ TCP_KEEPINTVL and TCP_KEEPCNT, with SO_KEEPALIVE): the
   * library sets it again after Node's `setKeepAlive`, the preload library after the
   * program's setsockopt.
   */
  readonly kept: boolean;
  /**
   * The value that asks for the system's own behaviour, which a socket has until native
   * code sets another (TCP_USER_TIMEOUT's 0): where Node's own call cannot set the option
   * (lib/floor.ts), asking for it is no refusal.
   */
  readonly systemDefault?: number;
}

/**
 * The options, one row each, written once: the API's types ({@link KeepAliveOptions},
 * {@link ValidatedOptions}, `KeepAliveState`, each field with its row's TSDoc), validation
 * and its messages, {@link KEEPALIVE_LIMITS}, {@link DEFAULT_PRELOAD_OPTIONS},
 * `SOCKET_KEEPALIVE`'s parser and writer, the commands' flags and usage text, the
 * addon's slots and unit conversion (lib/binding.ts) and what Node's own call cannot set
 * (lib/floor.ts) read it. The native side has the same rows in native/options.h; tests
 * hold the two together (test/library/binding.test.ts, test/native-preload/library.test.ts).
 */
const OPTIONS = {
  /**
   * TCP_KEEPIDLE: milliseconds of silence before the first probe. Whole seconds only
   * (the kernel's resolution): a multiple of 1000 from 1000 to 32767000.
   */
  idle: {
    kernelOption: 'TCP_KEEPIDLE',
    unit: 'ms',
    kernelUnit: 's',
    limits: { linux: { min: 1000, max: 32_767_000, step: 1000 } }, // include/net/tcp.h MAX_TCP_KEEPIDLE
    defaultValue: 10_000,
    flag: '--idle',
    summary: 'silence before the first probe',
    kept: true,
  },
  /**
   * TCP_KEEPINTVL: milliseconds between unanswered probes. Whole seconds only: a
   * multiple of 1000 from 1000 to 32767000.
   */
  interval: {
    kernelOption: 'TCP_KEEPINTVL',
    unit: 'ms',
    kernelUnit: 's',
    limits: { linux: { min: 1000, max: 32_767_000, step: 1000 } }, // MAX_TCP_KEEPINTVL
    defaultValue: 2000,
    flag: '--interval',
    summary: 'time between unanswered probes',
    kept: true,
  },
  /** TCP_KEEPCNT: unanswered probes before the connection is dropped, 1 to 127. */
  count: {
    kernelOption: 'TCP_KEEPCNT',
    unit: 'probes',
    kernelUnit: 'probes',
    limits: { linux: { min: 1, max: 127, step: 1 } }, // MAX_TCP_KEEPCNT
    defaultValue: 3,
    flag: '--count',
    summary: 'unanswered probes before the connection is dropped',
    kept: true,
  },
  /**
   * TCP_USER_TIMEOUT: milliseconds that sent data may stay unacknowledged (and, with
   * keepalive on, that probes may go unanswered) before the connection is dropped with
   * ETIMEDOUT. An integer from 0 to 2147483647; 0 means the system default. When it is
   * not 0 it replaces `count` as the keepalive limit.
   */
  userTimeout: {
    kernelOption: 'TCP_USER_TIMEOUT',
    unit: 'ms',
    kernelUnit: 'ms',
    limits: { linux: { min: 0, max: 2_147_483_647, step: 1 } }, // an int
    defaultValue: 20_000,
    flag: '--user-timeout',
    summary: 'time sent data may stay unacknowledged',
    kept: false,
    systemDefault: 0,
  },
} as const satisfies Readonly<Record<string, OptionRow>>;

/** The numeric options, by their name in {@link KeepAliveOptions} and `SOCKET_KEEPALIVE`. */
export type NumericOption = keyof typeof OPTIONS;

/**
 * A number for each numeric option, under its name. A homomorphic mapped type over
 * {@link OPTIONS}: each field keeps its row's TSDoc, in the emitted declarations too. It
 * maps `keyof typeof OPTIONS` itself: over the {@link NumericOption} alias it would not be
 * homomorphic, and the docs would be lost (test/library/options.test.ts checks the hover).
 */
export type OptionNumbers = { -readonly [Name in keyof typeof OPTIONS]: number };

/**
 * Keepalive settings for one socket or listener. Times are in milliseconds, like Node's
 * own `socket.setKeepAlive()`. Fields left out are not touched. Fields are read by
 * property access, once each: a getter (own or inherited, as on a configuration class)
 * counts like a plain field; an own enumerable property of any other name is refused.
 * See tcp(7): https://man7.org/linux/man-pages/man7/tcp.7.html
 */
export interface KeepAliveOptions extends Partial<OptionNumbers> {
  /**
   * SO_KEEPALIVE: send keepalive probes on an idle connection. Defaults to `true` when
   * any other field is given; `false` switches keepalive off.
   */
  enable?: boolean;
}

/**
 * One numeric option, as every part of the package names it: its row of {@link OPTIONS}
 * with the accepted values of this platform (`min` to `max` in steps of `step`, in the
 * API's unit) in place of the platform columns.
 */
export interface OptionSpec extends Omit<OptionRow, 'limits'>, Limit {
  /** The API field and the `SOCKET_KEEPALIVE` field. */
  readonly name: NumericOption;
  /** The socket option it sets (tcp(7)). */
  readonly kernelOption: (typeof OPTIONS)[NumericOption]['kernelOption'];
  /** Milliseconds per unit of the kernel's value: 1000 for `s`, else 1. */
  readonly kernelScale: number;
}

/** Milliseconds per unit of each kernel unit. */
const KERNEL_SCALE: Readonly<Record<OptionUnit, number>> = { ms: 1, s: 1000, probes: 1 };

/**
 * The option table: {@link OPTIONS} in its order, one frozen {@link OptionSpec} per row,
 * with this platform's limits. Every part of the package that handles the options loops
 * over it.
 */
export const OPTION_TABLE: readonly OptionSpec[] = Object.freeze(
  (Object.keys(OPTIONS) as NumericOption[]).map((name): OptionSpec => {
    const { limits, ...row } = OPTIONS[name];
    return Object.freeze({ name, ...row, ...limits[platform.name], kernelScale: KERNEL_SCALE[row.kernelUnit] });
  }),
);

/**
 * The accepted values of each numeric option: `min` to `max` in steps of `step`, the
 * kernel's own ranges (this platform's column of the option table), in ms for times.
 */
export const KEEPALIVE_LIMITS: { readonly [Name in keyof typeof OPTIONS]: Limit } = Object.freeze(
  Object.fromEntries(
    OPTION_TABLE.map(({ name, min, max, step }) => [name, Object.freeze({ min, max, step })]),
  ) as Record<NumericOption, Limit>,
);

/** Marks a field of {@link ValidatedOptions} that is left untouched. */
export const UNSET = -1;

// The numeric fields of ValidatedOptions, one per row of the option table, each with its
// TSDoc: accessors of its `values`, defined on the prototype below.
export interface ValidatedOptions extends OptionNumbers {}

/** {@link UNSET} for every row of the option table: the values of settings that set nothing. */
const NOTHING_SET: readonly number[] = OPTION_TABLE.map(() => UNSET);

/**
 * Validated options as the library keeps them: milliseconds like the API (whole seconds
 * for idle and interval, checked), 0/1 for enable, {@link UNSET} for a field left out.
 * One shape for the validation scratch and for every piece of stored state, so they merge
 * field by field; the kernel's units are computed only where the addon is called
 * (lib/binding.ts `applyToFd`). Each numeric option is a named field (`settings.idle`)
 * and an element of {@link ValidatedOptions.values}, the form the hot path loops over.
 */
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: the prototype's accessors, defined from the table below, are every field the interface above adds
export class ValidatedOptions {
  /** SO_KEEPALIVE: 1 on, 0 off. */
  enable = UNSET;
  /**
   * The numeric options, one element per row of {@link OPTION_TABLE} in its order, which
   * the named fields read and write. Indexed, so that validation, merging and the apply
   * loop over the table never look a property up by a name that varies (a megamorphic
   * keyed access; docs/benchmarks.md, "The validation").
   */
  readonly values: number[] = NOTHING_SET.slice();

  /** Copies the fields `from` sets over this one's. */
  merge(from: ValidatedOptions): void {
    if (from.enable !== UNSET) this.enable = from.enable;
    const { values } = this;
    for (let index = 0; index < values.length; index++) {
      const value = from.values[index];
      if (value !== UNSET) values[index] = value;
    }
  }
}

for (let index = 0; index < OPTION_TABLE.length; index++) {
  Object.defineProperty(ValidatedOptions.prototype, OPTION_TABLE[index].name, {
    get(this: ValidatedOptions): number {
      return this.values[index];
    },
    set(this: ValidatedOptions, value: number) {
      this.values[index] = value;
    },
  });
}

/** The numeric options' names, in the table's order. */
const OPTION_KEYS: readonly string[] = OPTION_TABLE.map(({ name }) => name);
const OPTION_NAMES = ['enable', ...OPTION_KEYS];

/** The range text of an out-of-range error; built only when there is one. */
function rangeText({ min, max, step }: OptionSpec): string {
  return step === 1
    ? `an integer >= ${min} && <= ${max}`
    : `a whole number of seconds in milliseconds (a multiple of ${step}) >= ${min} && <= ${max}`;
}

/** `value` when it is a number in range and a multiple of the option's step; throws otherwise. */
function checkNumber(value: unknown, spec: OptionSpec, argName: string): number {
  const { name } = spec;
  if (typeof value !== 'number') throw invalidArgType(`${argName}.${name}`, 'of type number', value);
  if (!isValid(value, spec)) throw outOfRange(`${argName}.${name}`, rangeText(spec), value);
  return value;
}

/**
 * Checks every field of `options` and writes it to `into` (which it
 * resets first), throwing a `TypeError` (`ERR_INVALID_ARG_TYPE`) or `RangeError`
 * (`ERR_OUT_OF_RANGE`) for the first bad one. Nothing is truncated, rounded or clamped.
 * A field that is `undefined` counts as left out. Allocates nothing unless it throws.
 */
export function validateInto(options: unknown, into: ValidatedOptions, argName = 'options'): void {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw invalidArgType(argName, 'of type object', options);
  }
  if (!readEnumerated(options, into)) validateByName(options, into, argName);
}

/**
 * The common case of {@link validateInto}: every own enumerable key is an option and every
 * value is valid. One for...in pass reads each value with the key it enumerates, V8's
 * fast path, where a read by a name taken from the table (which varies) is a megamorphic
 * keyed access (docs/benchmarks.md, "The validation"); a key is found in the
 * table by a scan that starts after the last key found, so that options written in the
 * table's order match at once. An option not enumerated (a non-enumerable getter) is
 * read by name. Returns false, with `into` partly written, when anything is wrong or
 * unusual: {@link validateByName} then checks the object again and throws the error it
 * names, the same as for any other object.
 */
function readEnumerated(options: object, into: ValidatedOptions): boolean {
  let enumerated = 0;
  let enable: unknown;
  let slot = 0;
  for (const key in options) {
    if (key === 'enable') {
      enable = (options as Record<string, unknown>)[key];
      continue;
    }
    let tried = 0;
    while (tried < OPTION_KEYS.length && OPTION_KEYS[slot] !== key) {
      slot = slot + 1 === OPTION_KEYS.length ? 0 : slot + 1;
      tried++;
    }
    if (tried === OPTION_KEYS.length || !store(into, slot, (options as Record<string, unknown>)[key])) return false;
    enumerated |= 1 << slot;
  }
  let tunes = false;
  for (let index = 0; index < OPTION_TABLE.length; index++) {
    const read = (enumerated & (1 << index)) !== 0;
    if (!read && !store(into, index, (options as Record<string, unknown>)[OPTION_KEYS[index]])) return false;
    if (into.values[index] !== UNSET) tunes = true;
  }
  if (enable === undefined) enable = (options as Record<string, unknown>).enable;
  if (enable === undefined) into.enable = tunes ? 1 : UNSET;
  else if (typeof enable === 'boolean') into.enable = enable ? 1 : 0;
  else return false;
  return true;
}

/** Writes `value` to slot `index` of `into` ({@link UNSET} for `undefined`); false, writing nothing, when it is not valid. */
function store(into: ValidatedOptions, index: number, value: unknown): boolean {
  if (value === undefined) into.values[index] = UNSET;
  else if (isValid(value, OPTION_TABLE[index])) into.values[index] = value;
  else return false;
  return true;
}

/** Whether `value` is a number in range and a multiple of the option's step. */
function isValid(value: unknown, { min, max, step }: OptionSpec): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max && value % step === 0;
}

/** {@link validateInto} field by field in a fixed order, so that the first bad field is the one it names. */
function validateByName(options: object, into: ValidatedOptions, argName: string): void {
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
  // by test/library/keepalive.allocation.test.ts).
  for (let index = 0; index < OPTION_TABLE.length; index++) {
    const spec = OPTION_TABLE[index];
    const value = (options as Record<string, unknown>)[spec.name];
    into.values[index] = value === undefined ? UNSET : checkNumber(value, spec, argName);
    if (value !== undefined) tunes = true;
  }
  if (into.enable === UNSET && tunes) into.enable = 1;
}

/** Validated settings as the API's options (ms), with the fields left out absent. */
export function optionsOf(settings: ValidatedOptions): KeepAliveOptions {
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
