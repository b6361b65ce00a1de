/** The keepalive flags `server`, `client` and `run` share: --idle, --interval, --count, --user-timeout. */
import { KEEPALIVE_LIMITS, type KeepAliveOptions } from 'socket-keepalive';
import { duration, integer } from './args.js';

export const KEEPALIVE_FLAG_SPEC = {
  idle: { type: 'string' },
  interval: { type: 'string' },
  count: { type: 'string' },
  'user-timeout': { type: 'string' },
} as const;

type KeepAliveFlag = keyof typeof KEEPALIVE_FLAG_SPEC;

/** Each flag's option. */
export const FLAG_OPTIONS: Readonly<Record<KeepAliveFlag, keyof typeof KEEPALIVE_LIMITS>> = {
  idle: 'idle',
  interval: 'interval',
  count: 'count',
  'user-timeout': 'userTimeout',
};

/**
 * One flag's value, checked against the range the library accepts for its option
 * (KEEPALIVE_LIMITS), the error naming the flag: times as `10s`, `1500ms`, `2m` or
 * plain ms, the count as a whole number. `undefined` when absent.
 */
export function keepAliveFlag(flag: KeepAliveFlag, text: string | undefined): number | undefined {
  const { min, max, step } = KEEPALIVE_LIMITS[FLAG_OPTIONS[flag]];
  return flag === 'count' ? integer(`--${flag}`, text, min, max) : duration(`--${flag}`, text, min, max, step);
}

/** Keepalive options from --idle/--interval/--count/--user-timeout, as given. */
export function keepAliveFlags(values: Record<string, string | boolean | undefined>): KeepAliveOptions {
  const options: Record<string, number> = {};
  for (const flag of Object.keys(KEEPALIVE_FLAG_SPEC) as KeepAliveFlag[]) {
    const value = keepAliveFlag(flag, values[flag] as string | undefined);
    if (value !== undefined) options[FLAG_OPTIONS[flag]] = value;
  }
  return options;
}
