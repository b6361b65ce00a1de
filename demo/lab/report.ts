/** The lab's results: one per row, the heal check, and the final table. */
import type { KeepAliveState } from 'socket-keepalive';
import type { ConnectionReport } from '../connection.js';
import { formatDuration, formatState, formatTable } from '../format.js';
import type { HealResult } from './peer.js';
import { HEAL, type LabRow, measure, OLD_NODE } from './rows.js';

/** One row of the lab's results. Times in ms. */
export interface LabResult {
  id: string;
  label: string;
  node: string | null;
  inFlight: boolean;
  effective: KeepAliveState | null;
  /** Predicted detection time; for data in flight without a user timeout, the retransmission limit. */
  predictedMs: number | null;
  /** From the last segment received (idle) or from the unacknowledged write (in flight) to the error. */
  measuredMs: number | null;
  outcome: 'detected' | 'open' | 'not-waited' | 'unavailable';
  errorCode: string | null;
  note?: string;
}

export interface LabReport {
  windowMs: number;
  durationMs: number;
  rows: LabResult[];
  heal: HealResult | null;
  /** What setKeepAlive before connect leaves on Node {@link OLD_NODE} and on this Node. */
  beforeConnect: string;
}

/** A row that could not run (its Node could not be fetched). */
export function unavailableResult(row: LabRow, note: string | undefined): LabResult {
  return { id: row.id, label: row.label, node: `v${OLD_NODE}`, inFlight: false, effective: null, predictedMs: null, measuredMs: null, outcome: 'unavailable', errorCode: null, note };
}

/** A row's result from its connection's last report and its prediction. */
export function rowResult(row: LabRow, node: string, report: ConnectionReport, predictedMs: number, windowMs: number): LabResult {
  const measuredMs = measure(row, report);
  const outcome = measuredMs !== null ? 'detected' : predictedMs > windowMs ? 'not-waited' : 'open';
  return { id: row.id, label: row.label, node, inFlight: Boolean(row.inFlight), effective: report.effective ?? null, predictedMs, measuredMs, outcome, errorCode: report.errorCode ?? null };
}

/** A sentence comparing the 30 s delay the pattern is said to leave with what each Node measured. */
export function beforeConnectFinding(results: LabResult[]): string {
  const old = results.find((row) => row.id === 'before-connect-old');
  const current = results.find((row) => row.id === 'before-connect') as LabResult;
  const claim = 'setKeepAlive called before connect is said to leave "a default initialDelay of 30 seconds"';
  const now = `On Node ${current.node} the pattern works: idle ${(current.effective?.idle ?? 0) / 1000} s, as asked (fixed in Node 16.15 and 17.7).`;
  if (!old?.effective) return `${claim}; not checked (${old?.note ?? 'no Node 16 row'}). ${now}`;
  const detected = old.measuredMs === null ? 'the dead peer was not detected within the window' : `the dead peer was detected after ${formatDuration(old.measuredMs)}`;
  return (
    `${claim}. Measured on Node ${OLD_NODE}: the kernel has idle ${old.effective.idle / 1000} s, not 30 s, and ${detected} ` +
    `(predicted ${formatDuration(old.predictedMs as number)}). ${now}`
  );
}

export function printReport(report: LabReport): void {
  const measuredText = (row: LabResult) =>
    row.outcome === 'detected'
      ? formatDuration(row.measuredMs as number)
      : row.outcome === 'open'
        ? `still open at ${formatDuration(report.windowMs)}`
        : row.outcome === 'not-waited'
          ? 'not waited for'
          : 'not run';
  const rows = report.rows.map((row, index) => [
    String(index + 1),
    row.label,
    row.node ?? '-',
    row.effective ? formatState(row.effective) : '-',
    row.predictedMs === null ? '-' : `${formatDuration(row.predictedMs)}${row.inFlight && row.effective?.userTimeout === 0 ? ' (tcp_retries2)' : ''}`,
    measuredText(row),
    row.errorCode ?? (row.outcome === 'unavailable' ? (row.note ?? '') : '-'),
  ]);
  console.log(`\n${formatTable(['#', 'configuration', 'Node', 'kernel values', 'predicted', 'measured', 'error'], rows)}`);
  console.log(
    '\nkernel values: keepalive on/off idle/interval/xcount, ut = TCP_USER_TIMEOUT. Measured from the last segment the client\n' +
      'received (the kernel\'s idle clock) or, with data in flight, from the unacknowledged write, to the socket\'s error.',
  );
  const heal = report.heal;
  if (heal) {
    console.log(
      `\nheal: link cut for ${HEAL.cutMs / 1000} s then restored: ${heal.survived ? 'the connection survived' : `the connection died (${heal.errorCode})`}, ` +
        `${heal.echoed} of ${heal.written} bytes written during the cut came back${heal.inOrder ? ', in order' : ', NOT in order'}.`,
    );
  }
  console.log(`\n${report.beforeConnect}`);
  console.log(`\nlab finished in ${formatDuration(report.durationMs)}; namespaces and rules removed.`);
}
