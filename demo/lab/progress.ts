/**
 * What the lab shows while it waits, through `log` (stdout, or stderr under --json): on a
 * terminal, one live line per connection redrawn in place; otherwise a line when a
 * connection dies and one every 10 s.
 */
import type { ConnectionReport } from '../connection.js';
import { formatDuration, formatState } from '../format.js';
import { type LabRow, OLD_NODE } from './rows.js';

const PLAIN_EVERY_MS = 10_000;

export class Progress {
  private drawn = 0;
  private lastPlainLine: number;
  private readonly announced = new Set<string>();

  constructor(
    private readonly rows: LabRow[],
    private readonly predictions: Map<string, number>,
    private readonly expected: LabRow[],
    private readonly cutAt: number,
    private readonly windowMs: number,
    private readonly live: boolean,
    private readonly log: (line: string) => void,
  ) {
    this.lastPlainLine = cutAt;
  }

  show(reports: Map<string, ConnectionReport>, now: number): void {
    if (this.live) this.redraw(reports, now);
    else this.announce(reports, now);
  }

  private redraw(reports: Map<string, ConnectionReport>, now: number): void {
    const lines = this.rows.map((row) => {
      return liveLine(row, reports.get(row.id), this.predictions.get(row.id) as number, now);
    });
    const header = `${formatDuration(now - this.cutAt)} since the cut (waiting up to ${formatDuration(this.windowMs)})`;
    this.log((this.drawn ? `\x1b[${this.drawn}A` : '') + [header, ...lines].map((line) => `\x1b[2K${line}`).join('\n'));
    this.drawn = lines.length + 1;
  }

  private announce(reports: Map<string, ConnectionReport>, now: number): void {
    for (const row of this.rows) {
      const report = reports.get(row.id);
      if (report?.closedAt && !this.announced.has(row.id)) {
        this.announced.add(row.id);
        const after = formatDuration(report.closedAt - this.cutAt);
        const reported = report.deadPeer ? `, dead-peer channel: ${report.deadPeer.cause}` : '';
        this.log(`${after} after the cut: ${labelOf(row)} closed with ${report.errorCode}${reported}`);
      }
    }
    if (now - this.lastPlainLine >= PLAIN_EVERY_MS) {
      this.lastPlainLine = now;
      const open = this.expected.filter((row) => !reports.get(row.id)?.closedAt).length;
      this.log(`${formatDuration(now - this.cutAt)} since the cut, ${open} connection(s) still expected to fail`);
    }
  }
}

function labelOf(row: LabRow): string {
  return `${row.label}${row.oldNode ? ` (Node ${OLD_NODE})` : ''}`;
}

function liveLine(row: LabRow, report: ConnectionReport | undefined, predictedMs: number, now: number): string {
  const values = (report?.effective ? formatState(report.effective) : '-').padEnd(24);
  const heard = report?.lastHeardAt;
  const silent = heard === undefined ? '-' : formatDuration((report?.closedAt ?? now) - heard);
  const state = report?.closedAt
    ? `closed ${report.errorCode ?? ''}`
    : `open, probes ${report?.probes ?? '-'}, unacked ${report?.unacked ?? '-'}`;
  const predicted = formatDuration(predictedMs).padEnd(11);
  return `${labelOf(row).padEnd(56)} ${values} predicted ${predicted} silent ${silent.padEnd(8)} ${state}`;
}
