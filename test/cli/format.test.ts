import { describe, expect, test } from 'vitest';
import { formatDuration } from '../../demo/format.js';

describe('formatDuration', () => {
  test.each([
    [850, '850 ms'],
    [999.6, '1.0 s'],
    [4000, '4.0 s'],
    [119_960, '2 min 0 s'],
    [125_000, '2 min 5 s'],
    // inspect --watch printed "8 min 60 s" for a time just short of 9 minutes.
    [539_700, '9 min 0 s'],
    [539_400, '8 min 59 s'],
    [925_000, '15 min 25 s'],
    [7_199_600, '2 h 0 min'],
    [7_860_000, '2 h 11 min'],
    [10_770_000, '3 h 0 min'],
    [Infinity, 'never'],
  ])('%d ms is "%s"', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  test('no remainder is ever 60 s or 60 min, from 1 s to 3 h in 100 ms steps', () => {
    for (let ms = 1000; ms < 10_800_000; ms += 100) expect(formatDuration(ms)).not.toMatch(/\b60 (s|min)$/);
  });
});
