/** Formatting shared by the command-line tools: durations, kernel values, tables. */
import type { KeepAliveState } from 'socket-keepalive';
import { formatSeconds } from 'socket-keepalive/text';

/**
 * A time for people, in the unit that fits it: "850 ms", "4.0 s", "2 min 5 s", "2 h 11 min";
 * "never" for Infinity. From 1 s to 2 min it is {@link formatSeconds}, the dead-peer
 * report's form. Rounded to the unit it is written in before it is split, so a remainder is
 * never 60 s or 60 min (539_700 ms is "9 min 0 s", not "8 min 60 s").
 */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return 'never';
  if (Math.round(ms) < 1000) return `${Math.round(ms)} ms`;
  if (Math.round(ms / 100) < 1200) return formatSeconds(ms);
  const seconds = Math.round(ms / 1000);
  if (seconds < 7200) return `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
  const minutes = Math.round(ms / 60_000);
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/** "on 2s/1s/x10 ut 3000ms": keepalive switch, idle/interval/count, user timeout. */
export function formatState(state: KeepAliveState): string {
  const keepalive = `${state.enable ? 'on ' : 'off'} ${state.idle / 1000}s/${state.interval / 1000}s/x${state.count}`;
  return state.userTimeout > 0 ? `${keepalive} ut ${state.userTimeout}ms` : keepalive;
}

/** Each column's width: its widest cell, header included. */
function columnWidths(header: string[], rows: string[][]): number[] {
  return header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
}

/** A plain-text table with a header rule; columns padded to their widest cell. */
export function formatTable(header: string[], rows: string[][]): string {
  const widths = columnWidths(header, rows);
  const line = (cells: string[]) =>
    cells
      .map((cell, column) => (cell ?? '').padEnd(widths[column]))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((width) => '-'.repeat(width)).join('  '), ...rows.map(line)].join('\n');
}

/**
 * {@link formatTable} folded to `width` columns: when the table is wider, the columns
 * after the first `keep` are split, in order, into as few groups as fit, and each group
 * is printed as a table of its own with the first `keep` columns in front, so that each
 * row can still be told apart. A column too wide to fit even beside the `keep` ones gets a
 * table of its own, whole: nothing is cut.
 */
export function formatFoldedTable(header: string[], rows: string[][], width = 120, keep = 1): string {
  const widths = columnWidths(header, rows);
  const kept = [...widths.keys()].slice(0, keep);
  const keptWidth = kept.reduce((sum, column) => sum + widths[column] + 2, 0);
  const groups: number[][] = [];
  let used = width;
  for (let column = keep; column < header.length; column++) {
    if (used + widths[column] > width) {
      groups.push([]);
      used = keptWidth;
    }
    groups[groups.length - 1].push(column);
    used += widths[column] + 2;
  }
  return groups
    .map((group) => {
      const columns = [...kept, ...group];
      const pick = (cells: string[]) => columns.map((column) => cells[column] ?? '');
      return formatTable(pick(header), rows.map(pick));
    })
    .join('\n\n');
}

/**
 * `text` broken at spaces into lines of at most `width` characters, never between a number
 * and its unit ("3.3 s"); a longer word keeps a line of its own, whole.
 */
export function wrapText(text: string, width = 120): string {
  const words = text.split(' ').reduce<string[]>((joined, word, index, all) => {
    const unit = /^(ms|s|min|h)\b/.test(word) && /\d$/.test(all[index - 1] ?? '');
    if (unit) joined[joined.length - 1] += ` ${word}`;
    else joined.push(word);
    return joined;
  }, []);
  const lines: string[] = [];
  let line = '';
  for (const word of words) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  return [...lines, line].join('\n');
}
