// lib/duration.ts: a time as SOCKET_KEEPALIVE and the command-line flags take it, read
// (parseDuration) and written back (writeDuration), both from socket-keepalive/text.
import { describe, expect, test } from 'vitest';
import { captureError } from '../helpers/errors.js';
import { parseDuration, writeDuration } from '../helpers/text.js';

describe('parseDuration', () => {
  test.each([
    ['0', 0],
    ['0s', 0],
    ['1500ms', 1500],
    ['10s', 10_000],
    ['2m', 120_000],
    ['1h', 3_600_000],
  ])('%s is %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  test.each([
    ['8', /'--idle' needs a unit: write 8s or 8ms/],
    ['1.5s', /'--idle' must be a duration/],
    ['-1s', /'--idle' must be a duration/],
    [' 1s', /'--idle' must be a duration/],
    ['1d', /'--idle' must be a duration/],
  ])('%j is refused, naming the value', (text, message) => {
    const error = captureError(() => parseDuration(text, '--idle'));
    expect(error.code).toBe('ERR_INVALID_ARG_VALUE');
    expect(error.message).toMatch(message);
  });
});

describe('writeDuration', () => {
  test.each([
    [0, '0ms'],
    [1500, '1500ms'],
    [10_000, '10s'],
    [90_000, '90s'],
    [120_000, '2m'],
    [5_400_000, '90m'],
    [7_200_000, '2h'],
  ])('%d ms is %s, in the largest unit that keeps it whole', (ms, text) => {
    expect(writeDuration(ms)).toBe(text);
  });

  test('parseDuration reads back every whole number of ms it writes', () => {
    for (const ms of [0, 1, 999, 1000, 1001, 59_000, 60_000, 61_000, 3_599_000, 3_600_000, 2_147_483_647]) {
      expect(parseDuration(writeDuration(ms))).toBe(ms);
    }
  });
});
