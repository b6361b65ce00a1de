/** The keepalive flags `server`, `client` and `run` share, one per row of the library's option table. */
import type { KeepAliveOptions } from 'socket-keepalive';
import { type NumericOption, OPTION_TABLE, type OptionSpec, writeDuration } from 'socket-keepalive/text';
import { duration, integer } from './args.js';

/** util.parseArgs' spec of the keepalive flags: `idle`, `interval`, `count`, `user-timeout`. */
export const KEEPALIVE_FLAG_SPEC: Readonly<Record<string, { type: 'string' }>> = Object.fromEntries(
  OPTION_TABLE.map(({ flag }) => [flag.slice(2), { type: 'string' }]),
);

/**
 * One option's value from its flag, checked against the range the library accepts for it,
 * the error naming the flag: times with their unit (`10s`, `1500ms`, `2m`), the count as
 * a whole number. `undefined` when absent.
 */
export function keepAliveFlag(spec: OptionSpec, text: string | undefined): number | undefined {
  const { flag, unit, min, max, step } = spec;
  return unit === 'ms' ? duration(flag, text, min, max, step) : integer(flag, text, min, max);
}

/** Keepalive options from the flags given (util.parseArgs' `values`). */
export function keepAliveFlags(values: Record<string, string | boolean | undefined>): KeepAliveOptions {
  const options: Partial<Record<NumericOption, number>> = {};
  for (const spec of OPTION_TABLE) {
    const value = keepAliveFlag(spec, values[spec.flag.slice(2)] as string | undefined);
    if (value !== undefined) options[spec.name] = value;
  }
  return options;
}

/** The value a usage line shows for a flag: TIME or N. */
const placeholder = ({ unit }: OptionSpec) => (unit === 'ms' ? 'TIME' : 'N');

/** The accepted values as a usage line states them: "1s-32767s, whole seconds", "1-127". */
function rangeWords({ unit, min, max, step }: OptionSpec): string {
  if (unit !== 'ms') return `${min}-${max}`;
  if (step === 1000) return `${writeDuration(min)}-${writeDuration(max)}, whole seconds`;
  return min === 0 ? `0 = the system default, at most ${max}ms` : `${min}ms-${max}ms`;
}

/**
 * The usage lines of the keepalive flags, `--idle TIME   silence before ... (1s-32767s, whole
 * seconds)`, each followed by `suffix(spec)` when it gives one (a default, the modes it applies to).
 */
export function keepAliveFlagUsage(
  suffix: (spec: OptionSpec) => string = () => '',
  value: (spec: OptionSpec) => string = placeholder,
): string {
  return OPTION_TABLE.map((spec) => {
    const left = `  ${spec.flag} ${value(spec)}`.padEnd(25);
    return `${left}${spec.summary} (${rangeWords(spec)}${suffix(spec)})`;
  }).join('\n');
}
