/** Command-line argument handling shared by the subcommands. */
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { parseDuration, writeDuration } from 'socket-keepalive/text';

/** A bad command line: reported with the command's usage, exit code 2. */
export class UsageError extends Error {}

type OptionTable = NonNullable<ParseArgsConfig['options']>;

/**
 * The command line read against `options`, refusing in plain words what util.parseArgs
 * would refuse in its own: an unknown option (with the closest known one), an option
 * missing its value, a value given to a switch. A value may start with "-", so that
 * `--user-timeout -1` reaches the range check instead of being taken for an option.
 */
export function parse<T extends OptionTable>(argv: string[], options: T) {
  const { tokens } = parseArgs({ args: argv, options, strict: false, allowPositionals: true, tokens: true });
  for (const token of tokens) {
    if (token.kind !== 'option') continue;
    const option = options[token.name];
    if (!option) throw new UsageError(unknownOption(token.rawName, options));
    if (option.type === 'string' && token.value === undefined) throw new UsageError(`${token.rawName} needs a value`);
    if (option.type === 'boolean' && token.value !== undefined) {
      throw new UsageError(`${token.rawName} is a switch and takes no value, got "${token.value}"`);
    }
  }
  return parseArgs({ args: argv, options, strict: false, allowPositionals: true }) as ReturnType<
    typeof parseArgs<{ args: string[]; options: T; strict: true; allowPositionals: true }>
  >;
}

/** "unknown option --user-timout; did you mean --user-timeout?", or the list when nothing is close. */
function unknownOption(given: string, options: OptionTable): string {
  const known = Object.keys(options).map((name) => `--${name}`);
  const [closest] = known
    .map((name) => ({ name, distance: editDistance(given.split('=')[0], name) }))
    .sort((a, b) => a.distance - b.distance);
  if (closest && closest.distance <= Math.max(2, Math.floor(closest.name.length / 3))) {
    return `unknown option ${given}; did you mean ${closest.name}?`;
  }
  return `unknown option ${given}; the options are ${known.join(', ')}`;
}

/** The Levenshtein distance between `a` and `b`: edits to turn one into the other. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length];
}

/** A whole number in [min, max]; `undefined` when absent. `label` names it: "--port". */
export function integer(label: string, text: string | undefined, min: number, max: number): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!/^-?\d+$/.test(text.trim()) || value < min || value > max) {
    throw new UsageError(`${label} must be a whole number from ${min} to ${max}, got "${text}"`);
  }
  return value;
}

/**
 * A time in ms from `text` written as every command and SOCKET_KEEPALIVE write times
 * (`10s`, `1500ms`, `2m`; a bare number other than 0 is refused, naming both readings), in [minMs, maxMs] and, when `step`
 * is 1000, whole seconds; `undefined` when absent. `label` names it: "--idle".
 */
export function duration(
  label: string,
  text: string | undefined,
  minMs: number,
  maxMs: number,
  step = 1,
): number | undefined {
  if (text === undefined) return undefined;
  const inSeconds = `from ${writeDuration(minMs)} to ${writeDuration(maxMs)}`;
  const range =
    step === 1000
      ? `${inSeconds} in whole seconds (${minMs} to ${maxMs} ms)`
      : minMs % 1000 === 0 && maxMs % 1000 === 0
        ? `${inSeconds} (${minMs} to ${maxMs} ms)`
        : `from ${minMs} to ${maxMs} ms`;
  if (/^-\d/.test(text.trim())) throw new UsageError(`${label} must be ${range}, got "${text}"`);
  const trimmed = text.trim();
  if (/^\d+$/.test(trimmed) && Number(trimmed) !== 0) {
    throw new UsageError(`${label} needs a unit: write ${trimmed}s or ${trimmed}ms`);
  }
  let value: number;
  try {
    value = parseDuration(trimmed, label);
  } catch {
    throw new UsageError(`${label} must be a time such as 10s, 1500ms or 2m, got "${text}"`);
  }
  if (value < minMs || value > maxMs || value % step !== 0) {
    throw new UsageError(`${label} must be ${range}, got "${text}"`);
  }
  return value;
}

/**
 * A comma-separated per-socket list ("2000" or "2000,5000,9000"): one value for every
 * socket, or exactly one per socket, where an empty item ("2000,,9000") leaves that
 * socket's value unset. Values are converted by `convert`.
 */
export function perSocket<T>(
  name: string,
  text: string | undefined,
  sockets: number,
  convert: (item: string) => T,
): (T | undefined)[] {
  if (text === undefined) return new Array<T | undefined>(sockets).fill(undefined);
  const items = text.split(',').map((item) => (item.trim() === '' ? undefined : convert(item.trim())));
  if (items.length === 1) return new Array<T | undefined>(sockets).fill(items[0]);
  if (items.length !== sockets) {
    throw new UsageError(
      `--${name} lists ${items.length} values for ${sockets} sockets: give one value, or one per socket`,
    );
  }
  return items;
}
