import { describe, expect, test } from 'vitest';
import { formatDuration, formatFoldedTable, formatTable, wrapText } from '../../demo/format.js';

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

describe('formatFoldedTable', () => {
  const header = ['#', 'name', 'a', 'b', 'c'];
  const rows = [
    ['1', 'first', 'x'.repeat(30), 'y'.repeat(30), 'z'.repeat(30)],
    ['2', 'second', 'x', 'y', 'z'],
  ];

  test('a table that fits is formatTable as it is', () => {
    expect(formatFoldedTable(header, rows, 200)).toBe(formatTable(header, rows));
  });

  test('a wider table is split into tables that fit, each led by the kept column, every cell kept whole', () => {
    const folded = formatFoldedTable(header, rows, 60);
    for (const line of folded.split('\n')) expect(line.length).toBeLessThanOrEqual(60);
    const tables = folded.split('\n\n');
    // # + name + a fits in 60 (1 + 2 + 6 + 2 + 30 = 41); b would make it 73: a second table, then a third.
    expect(tables.map((table) => table.split('\n')[0])).toEqual([
      `#  name    a${' '.repeat(29)}`.trimEnd(),
      '#  b',
      '#  c',
    ]);
    for (const table of tables)
      expect(
        table
          .split('\n')
          .slice(2)
          .map((line) => line[0]),
      ).toEqual(['1', '2']);
    for (const cell of rows.flat()) expect(folded).toContain(cell);
  });

  test('a column wider than the width on its own gets a table of its own, not cut', () => {
    const folded = formatFoldedTable(['#', 'wide'], [['1', 'w'.repeat(150)]], 120);
    expect(folded).toContain(`1  ${'w'.repeat(150)}`);
  });
});

describe('wrapText', () => {
  test('breaks at spaces within the width, keeps every word, and leaves a longer word whole', () => {
    const text = 'one two three four five six seven';
    expect(wrapText(text, 10)).toBe('one two\nthree four\nfive six\nseven');
    expect(wrapText(text, 100)).toBe(text);
    expect(wrapText(`a ${'w'.repeat(20)} b`, 10)).toBe(`a\n${'w'.repeat(20)}\nb`);
    // Not between a number and its unit: "3.3 s" moves to the next line whole.
    expect(wrapText('the next expiry at 3.3 s + 2 x 1.7 s', 22)).toBe('the next expiry at\n3.3 s + 2 x 1.7 s');
  });
});
