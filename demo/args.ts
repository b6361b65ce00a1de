/** Command-line argument handling shared by the subcommands. */
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** A bad command line: reported with the command's usage, exit code 2. */
export class UsageError extends Error {}

/** util.parseArgs in strict mode, with its errors turned into UsageErrors. */
export function parse<T extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: T) {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** An integer option in [min, max]; `undefined` when absent. */
export function integer(name: string, text: string | undefined, min: number, max: number): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!/^-?\d+$/.test(text.trim()) || value < min || value > max) {
    throw new UsageError(`--${name} must be an integer from ${min} to ${max}, got "${text}"`);
  }
  return value;
}

/**
 * A comma-separated per-socket list ("2000" or "2000,5000,9000"): one value for every
 * socket, or exactly one per socket, where an empty item ("2000,,9000") leaves that
 * socket's value unset. Values are converted by `convert`.
 */
export function perSocket<T>(name: string, text: string | undefined, sockets: number, convert: (item: string) => T): (T | undefined)[] {
  if (text === undefined) return new Array<T | undefined>(sockets).fill(undefined);
  const items = text.split(',').map((item) => (item.trim() === '' ? undefined : convert(item.trim())));
  if (items.length === 1) return new Array<T | undefined>(sockets).fill(items[0]);
  if (items.length !== sockets) {
    throw new UsageError(`--${name} lists ${items.length} values for ${sockets} sockets: give one value, or one per socket`);
  }
  return items;
}
