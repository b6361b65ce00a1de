/** Formatting shared by the command-line tools: durations, kernel values, tables. */
import type { KeepAliveState } from 'socket-keepalive';

/** "850 ms", "4.0 s", "2 min 5 s", "2 h 11 min"; "never" for Infinity. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return 'never';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 120_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 7_200_000) return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
  return `${Math.floor(ms / 3_600_000)} h ${Math.round((ms % 3_600_000) / 60_000)} min`;
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
