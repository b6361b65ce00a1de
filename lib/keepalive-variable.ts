/**
 * `SOCKET_KEEPALIVE`, the variable a process-wide default is written in: its text form,
 * read ({@link parseKeepAliveSetting}) and written ({@link formatKeepAliveSetting}).
 * The preload library (native/preload.c, its fields in native/keepalive-format.h) reads
 * the same form, byte for byte (test/native-preload/parser.test.ts).
 * @packageDocumentation
 */
import { parseDuration, writeDuration } from './duration.js';
import { invalidArgValue } from './errors.js';
import {
  DEFAULT_PRELOAD_OPTIONS,
  type KeepAliveOptions,
  OPTION_TABLE,
  optionsOf,
  ValidatedOptions,
  validateInto,
} from './options.js';
import type { ReportFormat } from './report.js';

/** The environment variable `socket-keepalive/register` reads. */
export const KEEPALIVE_VARIABLE = 'SOCKET_KEEPALIVE';

/** A process-wide default as written in {@link KEEPALIVE_VARIABLE}. */
export interface KeepAliveSetting {
  /** Every numeric option, validated, in ms: those written, and {@link DEFAULT_PRELOAD_OPTIONS}' for the rest. */
  options: Readonly<Required<Omit<KeepAliveOptions, 'enable'>>>;
  /** The fields the text gives, in its order (`servers` and `report` included). */
  written: readonly string[];
  /** `false` for `servers=off`: listeners are left alone. */
  servers: boolean;
  /**
   * `report=text` or `report=json`: a line on stderr for each dead peer; `report=otel`: the
   * library's OpenTelemetry metrics (`socket-keepalive/otel`) on the application's global
   * meter provider; `undefined` for none (`report=off`, the default).
   */
  report: ReportFormat | 'otel' | undefined;
}

const FIELDS = [...OPTION_TABLE.map(({ name }) => name as string), 'servers', 'report'];

/**
 * Parses a default written as `idle=10s,interval=2s,count=3,userTimeout=20s` (durations
 * with their unit, ms, s, m or h: a bare number other than 0 is refused, since `8` may
 * mean 8 s or 8 ms; `servers=off` leaves listeners alone; `report=text` or `report=json`
 * writes a line on stderr for each dead peer, `report=otel` registers the OpenTelemetry
 * metrics of `socket-keepalive/otel`), or `off`. Returns `null` for `off`. A field
 * not written takes its value from {@link DEFAULT_PRELOAD_OPTIONS} (idle 10 s, interval
 * 2 s, count 3, user timeout 20 s), so unset or empty means those four. Throws, naming
 * the variable and the field, for anything else: an unknown field, a malformed value, or
 * one out of the range {@link setKeepAlive} accepts (the same checks, the same messages).
 *
 * @example
 * ```ts
 * parseKeepAliveSetting('idle=5s,report=json');
 * // { options: { idle: 5000, interval: 2000, count: 3, userTimeout: 20000 },
 * //   written: ['idle', 'report'], servers: true, report: 'json' }
 * ```
 */
export function parseKeepAliveSetting(
  text: string | undefined,
  variable = KEEPALIVE_VARIABLE,
): KeepAliveSetting | null {
  return readKeepAliveSetting(text, variable)?.setting ?? null;
}

/** {@link parseKeepAliveSetting}, with the options also in the validated form the default is set from. */
export function readKeepAliveSetting(
  text: string | undefined,
  variable = KEEPALIVE_VARIABLE,
): { setting: KeepAliveSetting; validatedOptions: ValidatedOptions } | null {
  if (text?.trim() === 'off') return null;
  const options: Record<string, number> = {};
  let servers = true;
  let report: KeepAliveSetting['report'];
  const seen = new Set<string>();
  for (const item of (text ?? '').split(',')) {
    if (item.trim() === '') continue;
    const separator = item.indexOf('=');
    const name = (separator < 0 ? item : item.slice(0, separator)).trim();
    const value = separator < 0 ? '' : item.slice(separator + 1).trim();
    const field = `${variable}.${name}`;
    if (!FIELDS.includes(name)) {
      throw invalidArgValue(
        variable,
        `has an unknown field "${name}": write name=value pairs of ${FIELDS.join(', ')}, separated by commas, or off`,
        text,
      );
    }
    if (seen.has(name)) throw invalidArgValue(variable, `gives the field "${name}" twice`, text);
    seen.add(name);
    if (name === 'servers') {
      if (value !== 'on' && value !== 'off') throw invalidArgValue(field, 'must be on or off', value);
      servers = value === 'on';
    } else if (name === 'report') {
      if (value !== 'text' && value !== 'json' && value !== 'otel' && value !== 'off')
        throw invalidArgValue(field, 'must be text, json, otel or off', value);
      report = value === 'off' ? undefined : value;
    } else if (OPTION_TABLE.find((spec) => spec.name === name)?.unit === 'ms') {
      options[name] = parseDuration(value, field);
    } else {
      if (!/^\d+$/.test(value)) throw invalidArgValue(field, 'must be a whole number', value);
      options[name] = Number(value);
    }
  }
  const validatedOptions = new ValidatedOptions();
  validateInto({ ...DEFAULT_PRELOAD_OPTIONS, ...options }, validatedOptions, variable);
  const { enable: _on, ...all } = optionsOf(validatedOptions);
  return {
    setting: {
      options: Object.freeze(all) as KeepAliveSetting['options'],
      written: Object.freeze([...seen]),
      servers,
      report,
    },
    validatedOptions,
  };
}

/** Writes a default the way {@link parseKeepAliveSetting} reads it. `options` must be valid. */
export function formatKeepAliveSetting(
  options: KeepAliveOptions,
  servers: boolean,
  report: KeepAliveSetting['report'],
): string {
  const fields: string[] = [];
  for (const { name, unit } of OPTION_TABLE) {
    const value = options[name];
    if (value !== undefined) fields.push(`${name}=${unit === 'ms' ? writeDuration(value) : value}`);
  }
  if (!servers) fields.push('servers=off');
  if (report !== undefined) fields.push(`report=${report}`);
  return fields.join(',');
}
