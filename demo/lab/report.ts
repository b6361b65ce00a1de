/** The lab's results: one per row, the heal check, and the final table. */
import type { DeadPeerCause, KeepAliveState } from 'socket-keepalive';
import { formatSeconds as seconds } from 'socket-keepalive/text';
import type { ConnectionReport, DeadPeerReport } from '../connection.js';
import { formatDuration, formatFoldedTable, formatState, wrapText } from '../format.js';
import {
  causeMismatches,
  detectionMismatches,
  nextRetransmissionExpiry,
  retransmissionLimitMismatches,
  wireMismatches,
} from './checks.js';
import { CLIENT_TCP_RETRIES2 } from './netns.js';
import type { HealResult } from './peer.js';
import { endsAtRetransmissionLimit, HEAL, type LabRow, longestWaitMs, measure, OLD_NODE } from './rows.js';
import type { WireTrace } from './wire.js';

/** A connection's segments on the wire, in ms from the cut (negative: before it). */
export interface WireResult {
  /** The last segment the client received; the keepalive clock starts there. */
  lastReceivedMs: number | null;
  /** The keepalive probes the client sent after it, each one's time. */
  probesMs: number[];
  /** The data the client sent again, each retransmission's time. */
  retransmissionsMs: number[];
  /** The reset the client sent when it gave up; null when it fell silent (or was still open). */
  resetMs: number | null;
}

/** One row of the lab's results. Times in ms. */
export interface LabResult {
  id: string;
  label: string;
  node: string | null;
  dataInFlight: boolean;
  effective: KeepAliveState | null;
  /** Predicted detection time; for data in flight without a user timeout, the retransmission limit. */
  predictedMs: number | null;
  /** From the last segment received (idle) or from the unacknowledged write (in flight) to the error. */
  measuredMs: number | null;
  outcome: 'detected' | 'open' | 'not-waited' | 'unavailable';
  errorCode: string | null;
  /** From the cut to where measuredMs starts (the last segment received, or the write), and to the error. */
  startedMs: number | null;
  closedMs: number | null;
  wire: WireResult | null;
  /** The cause the library's dead-peer channel must report; null for a connection it does not tune. */
  expectedCause: DeadPeerCause | null;
  /** What the dead-peer channel reported when the connection died, or null: nothing. */
  deadPeer: DeadPeerReport | null;
  /**
   * Where the detection time, the wire or the dead-peer channel disagrees with the
   * configuration; any fails the lab.
   */
  mismatches: string[];
  /** Why a row could not run, or the model a row's detection time is checked against. */
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

/** A row that could not run (its Node could not be fetched, its client packages are not installed). */
export function unavailableResult(row: LabRow, note: string | undefined): LabResult {
  return {
    id: row.id,
    label: row.label,
    node: row.oldNode ? `v${OLD_NODE}` : process.version,
    dataInFlight: false,
    effective: null,
    predictedMs: null,
    measuredMs: null,
    outcome: 'unavailable',
    errorCode: null,
    startedMs: null,
    closedMs: null,
    wire: null,
    expectedCause: row.expectedCause ?? null,
    deadPeer: null,
    mismatches: [],
    note,
  };
}

/** What the lab saw of one row: its peer's last report, its prediction, its segments. */
export interface RowObservation {
  node: string;
  report: ConnectionReport;
  predictedMs: number;
  trace: WireTrace;
}

/**
 * The note of a row that ends at the retransmission limit: the kernel's model, and the
 * end it gives for the retransmissions on the wire (ms from the write).
 */
function retransmissionLimitNote(limitMs: number, retransmissions: number[]): string {
  const expiry = nextRetransmissionExpiry(retransmissions);
  const model =
    `the kernel compares the time since its first timed-out retransmission with the limit of ` +
    `tcp_retries2 ${CLIENT_TCP_RETRIES2} (retransmissionLimitMs(): ${seconds(limitMs)}) only when its ` +
    'retransmission timer expires, and the timer doubles: the connection ends at the first expiry past the limit';
  if (expiry === null) return model;
  const [previous, last] = retransmissions.slice(-2);
  return (
    `${model}; here after the write: retransmissions at ${retransmissions.map(seconds).join(', ')} ` +
    '(the first may be a tail loss probe, which does not start the clock), ' +
    `the next expiry at ${seconds(last)} + 2 x ${seconds(last - previous)} = ${seconds(expiry)}`
  );
}

/** The moments a row's times are relative to, epoch ms, and how long the lab waited. */
export interface LabClock {
  cutAt: number;
  captureEndedAt: number;
  windowMs: number;
}

/** A row's result, with its verdict. */
export function rowResult(row: LabRow, observation: RowObservation, clock: LabClock): LabResult {
  const { node, report, predictedMs, trace } = observation;
  const effective = report.effective as KeepAliveState;
  const dataInFlight = Boolean(row.dataInFlight);
  const measuredMs = measure(row, report);
  const waited = longestWaitMs(row, effective, predictedMs) <= clock.windowMs;
  const outcome = measuredMs !== null ? 'detected' : waited ? 'open' : 'not-waited';
  const errorCode = report.errorCode ?? null;
  const fromCut = (at: number | null | undefined) =>
    at === null || at === undefined ? null : Math.round(at - clock.cutAt);
  const retransmissionLimit = endsAtRetransmissionLimit(row, effective);
  const retransmittedAfterWrite = trace.retransmissions.map((at) => at - (report.wroteAt as number));
  return {
    id: row.id,
    label: row.label,
    node,
    dataInFlight,
    effective,
    predictedMs,
    measuredMs,
    outcome,
    errorCode,
    startedMs: fromCut(dataInFlight ? report.wroteAt : report.lastHeardAt),
    closedMs: fromCut(report.closedAt),
    wire: {
      lastReceivedMs: fromCut(trace.lastReceivedAt),
      probesMs: trace.probes.map((at) => Math.round(at - clock.cutAt)),
      retransmissionsMs: trace.retransmissions.map((at) => Math.round(at - clock.cutAt)),
      resetMs: fromCut(trace.resetAt),
    },
    expectedCause: row.expectedCause ?? null,
    deadPeer: report.deadPeer ?? null,
    mismatches: [
      ...(retransmissionLimit
        ? retransmissionLimitMismatches(predictedMs, measuredMs, errorCode, retransmittedAfterWrite, waited)
        : detectionMismatches(predictedMs, measuredMs, errorCode, waited)),
      ...wireMismatches(effective, dataInFlight, trace, report.closedAt, clock.captureEndedAt),
      ...causeMismatches(row.expectedCause, report.deadPeer, measuredMs !== null),
    ],
    ...(retransmissionLimit && waited ? { note: retransmissionLimitNote(predictedMs, retransmittedAfterWrite) } : {}),
  };
}

/** The dead-peer channel column: the cause reported and the silence, or "-" when nothing was. */
function formatDeadPeerColumn(row: LabResult): string {
  return row.deadPeer ? `${row.deadPeer.cause}, ${seconds(row.deadPeer.silentMs as number)} silent` : '-';
}

/**
 * The probes column: "2 @ 2.0 s, 3.0 s" (count, then each probe's time after the last
 * segment received; the middle of a long run elided), data retransmissions, and the end.
 */
export function formatWire(row: LabResult): string {
  const wire = row.wire;
  if (!wire) return '-';
  const parts: string[] = [];
  if (wire.probesMs.length === 0) parts.push('none');
  else {
    const offsets = wire.probesMs.map((at) => seconds(at - (wire.lastReceivedMs as number)));
    const shown = offsets.length > 4 ? `${offsets.slice(0, 2).join(', ')} ... ${offsets.at(-1)}` : offsets.join(', ');
    parts.push(`${offsets.length} @ ${shown}`);
  }
  if (wire.retransmissionsMs.length > 0) parts.push(`${wire.retransmissionsMs.length} retransmissions`);
  if (wire.resetMs !== null) parts.push('then RST');
  else if (row.outcome === 'detected') parts.push('then silence');
  return parts.join(', ');
}

/** The delay setKeepAlive before connect is said to leave (the claim the lab checks). */
const CLAIMED_DELAY_MS = 30_000;

/** A sentence comparing the 30 s delay the pattern is said to leave with what each Node measured. */
export function beforeConnectFinding(results: LabResult[]): string {
  const old = results.find((row) => row.id === 'before-connect-old');
  const current = results.find((row) => row.id === 'before-connect') as LabResult;
  const claim = 'setKeepAlive called before connect is said to leave "a default initialDelay of 30 seconds"';
  const now =
    `On Node ${current.node} the pattern works: idle ${formatDuration(current.effective?.idle ?? 0)}, as asked ` +
    '(fixed in Node 16.15 and 17.7).';
  if (!old?.effective) return `${claim}; not checked (${old?.note ?? 'no Node 16 row'}). ${now}`;
  const detected =
    old.measuredMs === null
      ? 'the dead peer was not detected within the window'
      : `the dead peer was detected after ${formatDuration(old.measuredMs)}`;
  return (
    `${claim}. Measured on Node ${OLD_NODE}: the kernel has idle ${formatDuration(old.effective.idle)}, not ${formatDuration(CLAIMED_DELAY_MS)}, ` +
    `and ${detected} ` +
    `(predicted ${formatDuration(old.predictedMs as number)}). ${now}`
  );
}

/** After a prediction that is the retransmission limit: the client namespace's tcp_retries2 it comes from. */
const retriesNote = (row: LabResult) =>
  endsAtRetransmissionLimit(row, row.effective) ? ` (tcp_retries2 ${CLIENT_TCP_RETRIES2})` : '';

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
    row.predictedMs === null ? '-' : `${formatDuration(row.predictedMs)}${retriesNote(row)}`,
    measuredText(row),
    row.errorCode ?? (row.outcome === 'unavailable' ? (row.note ?? '') : '-'),
    formatDeadPeerColumn(row),
    formatWire(row),
  ]);
  const header = ['#', 'configuration', 'Node', 'kernel values', 'predicted', 'measured', 'error'];
  header.push('dead-peer channel', 'probes on the wire');
  console.log(`\n${formatFoldedTable(header, rows)}`);
  console.log(
    [
      '',
      'kernel values: keepalive on/off idle/interval/xcount, ut = TCP_USER_TIMEOUT. Measured from the last',
      "segment the client received (the kernel's idle clock) or, with data in flight, from the unacknowledged",
      "write, to the socket's error. Dead-peer channel: the cause the library published on",
      'socket-keepalive:dead-peer for the connection, and its silentMs (since the server was last heard: with',
      'data in flight, the quiet before the write too); - for nothing. Probes on the wire: keepalive probes the',
      'client sent after the last segment it received (zero-length ACKs with seq = snd_una - 1, captured on its',
      'side of the link), each as its time after that segment; then its data retransmissions, and the reset it',
      'sent on giving up, or silence.',
    ].join('\n'),
  );
  for (const row of report.rows.filter((candidate) => candidate.note && candidate.outcome !== 'unavailable')) {
    console.log(`\n${wrapText(`#${report.rows.indexOf(row) + 1} ${row.label}: ${row.note}.`)}`);
  }
  const heal = report.heal;
  if (heal) {
    const survived = heal.survived ? 'the connection survived' : `the connection died (${heal.errorCode})`;
    const healed =
      `heal: link cut for ${formatDuration(HEAL.cutMs)} then restored: ${survived}, ` +
      `${heal.echoed} of ${heal.written} bytes written during the cut came back` +
      `${heal.inOrder ? ', in order' : ', NOT in order'}.`;
    console.log(`\n${wrapText(healed)}`);
  }
  console.log(`\n${wrapText(report.beforeConnect)}`);
  const mismatched = report.rows.filter((row) => row.mismatches.length > 0);
  if (mismatched.length === 0) {
    console.log('\nEvery detection time, wire trace and dead-peer report matches its configuration.');
  }
  for (const row of mismatched) {
    // One line per row, whatever its length, so that a search for MISMATCH finds each whole.
    console.log(`\nMISMATCH #${report.rows.indexOf(row) + 1} ${row.label} (${row.node}): ${row.mismatches.join('; ')}`);
  }
  console.log(`\nlab finished in ${formatDuration(report.durationMs)}; namespaces and rules removed.`);
}
