/** Formatting shared by the command-line tools: durations, kernel values, tables. */
import type { KeepAliveState } from 'socket-keepalive';

/**
 * "850 ms", "4.0 s", "2 min 5 s", "2 h 11 min"; "never" for Infinity. Rounded to the unit
 * it is written in before it is split, so a remainder is never 60 s or 60 min
 * (539_700 ms is "9 min 0 s", not "8 min 60 s").
 */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return 'never';
  if (Math.round(ms) < 1000) return `${Math.round(ms)} ms`;
  const tenths = Math.round(ms / 100);
  if (tenths < 1200) return `${(tenths / 10).toFixed(1)} s`;
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

/** A plain-text table with a header rule; columns padded to their widest cell. */
export function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, column) => (cell ?? '').padEnd(widths[column]))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((width) => '-'.repeat(width)).join('  '), ...rows.map(line)].join('\n');
}

/** "127.0.0.1:7654", "[::1]:7654": an address and port as a URL writes them. */
export function formatAddress(host: string | undefined, port: number | undefined): string {
  return `${host?.includes(':') ? `[${host}]` : host}:${port}`;
}
