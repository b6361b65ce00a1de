// lib/keepalive-variable.ts: SOCKET_KEEPALIVE's text form, read by parseKeepAliveSetting
// (socket-keepalive/text): the fields written, the defaults for the rest, and each refusal.
import { describe, expect, test } from 'vitest';
import { captureError } from '../helpers/errors.js';
import { DEFAULT_PRELOAD_OPTIONS } from '../helpers/library.js';
import { REFUSED_SETTINGS } from '../helpers/refused-settings.js';
import { parseKeepAliveSetting } from '../helpers/text.js';

describe('SOCKET_KEEPALIVE parsing', () => {
  test.each([
    [
      'idle=10s,interval=2s,count=3,userTimeout=20s',
      { idle: 10_000, interval: 2000, count: 3, userTimeout: 20_000 },
      ['idle', 'interval', 'count', 'userTimeout'],
      true,
    ],
    [
      'idle=1h, interval=2m ,userTimeout=1500ms',
      { idle: 3_600_000, interval: 120_000, userTimeout: 1500 },
      ['idle', 'interval', 'userTimeout'],
      true,
    ],
    ['idle=5000ms,servers=off', { idle: 5000 }, ['idle', 'servers'], false],
    ['count=4,servers=on,', { count: 4 }, ['count', 'servers'], true],
    ['userTimeout=0', { userTimeout: 0 }, ['userTimeout'], true],
  ])('%s: the fields written, the defaults for the rest', (text, written, fields, servers) => {
    expect(parseKeepAliveSetting(text)).toStrictEqual({
      options: { ...DEFAULT_PRELOAD_OPTIONS, ...written },
      written: fields,
      servers,
      report: undefined,
    });
  });

  test.each([
    [undefined, []],
    ['', []],
    [' ', []],
    [',', []],
    ['servers=on', ['servers']],
  ])('%j stands for the default options', (text, written) => {
    expect(DEFAULT_PRELOAD_OPTIONS).toEqual({ idle: 10_000, interval: 2000, count: 3, userTimeout: 20_000 });
    expect(parseKeepAliveSetting(text)).toStrictEqual({
      options: DEFAULT_PRELOAD_OPTIONS,
      written,
      servers: true,
      report: undefined,
    });
  });

  test('servers=off alone: the default options, listeners left alone', () => {
    expect(parseKeepAliveSetting('servers=off')).toStrictEqual({
      options: DEFAULT_PRELOAD_OPTIONS,
      written: ['servers'],
      servers: false,
      report: undefined,
    });
  });

  test.each([
    ['report=text', 'text'],
    ['idle=5s,report=json', 'json'],
    ['report=off', undefined],
  ])('%s', (text, report) => {
    expect(parseKeepAliveSetting(text)?.report).toBe(report);
  });

  test.each(['off', ' off '])('%j sets nothing', (text) => {
    expect(parseKeepAliveSetting(text)).toBeNull();
  });

  test.each(REFUSED_SETTINGS)('%s is refused', (text, code, message) => {
    const error = captureError(() => parseKeepAliveSetting(text));
    expect(error.code).toBe(code);
    expect(error.message).toMatch(message);
  });
});
