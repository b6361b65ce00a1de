import { invalidArgValue } from './errors.js';

const DURATION_UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * Reads a time written for people, as `SOCKET_KEEPALIVE` and the command-line tool take
 * it: a whole number followed by `ms`, `s`, `m` or `h`, a bare number being milliseconds
 * (`10s`, `1500ms`, `2m`, `1500`). Returns milliseconds. The range is not checked here:
 * each option's own range applies to the result (see {@link KEEPALIVE_LIMITS}).
 *
 * @param text - the duration as written
 * @param name - what the value is, for the error: a variable's field or a flag
 * @throws TypeError `ERR_INVALID_ARG_VALUE` naming `name`, for anything else (a sign,
 *   a fraction, an unknown unit, spaces)
 */
export function parseDuration(text: string, name = 'duration'): number {
  const match = /^(\d+)(ms|s|m|h)?$/.exec(text);
  if (!match) {
    throw invalidArgValue(
      name,
      'must be a duration: a whole number followed by ms, s, m or h (a bare number is ms), e.g. 10s',
      text,
    );
  }
  return Number(match[1]) * DURATION_UNITS[match[2] ?? 'ms'];
}
