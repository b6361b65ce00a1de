import { invalidArgValue } from './errors.js';

const DURATION_UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Why a bare number is refused as a time: it names the two readings a person may have meant. */
function unitNeeded(digits: string): string {
  return `needs a unit: write ${digits}s or ${digits}ms`;
}

/**
 * Reads a time written for people, as `SOCKET_KEEPALIVE` and the command-line tool take
 * it: a whole number followed by `ms`, `s`, `m` or `h` (`10s`, `1500ms`, `2m`). A bare
 * number is refused, since `8` may mean 8 s or 8 ms; only `0` may stand alone. Returns
 * milliseconds. The range is not checked here: each option's own range applies to the
 * result (see {@link KEEPALIVE_LIMITS}).
 *
 * @param text - the duration as written
 * @param name - what the value is, for the error: a variable's field or a flag
 * @throws TypeError `ERR_INVALID_ARG_VALUE` naming `name`: for a bare number other than 0
 *   ("needs a unit: write 8s or 8ms"), and for anything else that is not a duration (a
 *   sign, a fraction, an unknown unit, spaces)
 */
export function parseDuration(text: string, name = 'duration'): number {
  const match = /^(\d+)(ms|s|m|h)?$/.exec(text);
  if (!match) {
    throw invalidArgValue(name, 'must be a duration: a whole number followed by ms, s, m or h, e.g. 10s', text);
  }
  if (match[2] === undefined) {
    if (Number(match[1]) !== 0) throw invalidArgValue(name, unitNeeded(match[1]), text);
    return 0;
  }
  return Number(match[1]) * DURATION_UNITS[match[2]];
}

/** Writes `ms` the way {@link parseDuration} reads it, in the largest unit that keeps it whole: `10s`, `1500ms`, `2m`. */
export function writeDuration(ms: number): string {
  if (ms !== 0 && ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms !== 0 && ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms !== 0 && ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}
