/**
 * The lab's verdict on each row: did the connection die when the kernel's timing model
 * says, and did the wire show the probes (or retransmissions) its configuration asks
 * for? Every mismatch is a sentence; a row with any fails the lab.
 */
import { detectionTime, type KeepAliveState } from 'socket-keepalive';
import { formatDuration } from '../format.js';
import type { WireTrace } from './wire.js';

/**
 * How late a kernel timer of `ms` may fire: the timer wheel rounds a timeout up to its
 * level's granularity, at most about 1/8 of the timeout (kernel/time/timer.c), plus
 * 100 ms for the scheduling of the measuring process.
 */
const timerSlack = (ms: number) => 100 + ms / 8;
/** How early a measured time may look: the kernel counts in jiffies (4 ms here), the lab samples. */
const EARLY_MS = 50;
/** The detection time is measured by the client process (TCP_INFO, 'close'), not on the wire. */
const DETECTION_EARLY_MS = 250;
const DETECTION_LATE_MS = 500;

/**
 * When keepalive probes go out after the last segment received, ms, up to `untilMs`:
 * at idle, idle + interval, ... until the keepalive timer drops the connection at
 * detectionTime's `idle` (so `count` probes without a user timeout). None with data in
 * flight, where the retransmission timer runs instead, and none with keepalive off.
 */
function expectedProbeOffsets(effective: KeepAliveState, inFlight: boolean, untilMs: number): number[] {
  if (inFlight || !effective.enable) return [];
  const dropAt = detectionTime(effective).idle;
  const offsets: number[] = [];
  for (let at = effective.idle; at < dropAt && at <= untilMs; at += effective.interval) offsets.push(at);
  return offsets;
}

/** Why the measured detection time does not fit the prediction; empty when it does. */
export function detectionMismatches(predictedMs: number, measuredMs: number | null, errorCode: string | null, waited: boolean): string[] {
  if (!waited) return [];
  if (measuredMs === null) return [`still open at the end of the window, predicted to fail after ${formatDuration(predictedMs)}`];
  const problems: string[] = [];
  if (errorCode !== 'ETIMEDOUT') problems.push(`failed with ${errorCode}, not ETIMEDOUT`);
  if (measuredMs < predictedMs - DETECTION_EARLY_MS || measuredMs > predictedMs + DETECTION_LATE_MS + timerSlack(predictedMs)) {
    problems.push(`failed after ${formatDuration(measuredMs)}, predicted ${formatDuration(predictedMs)}`);
  }
  return problems;
}

/**
 * Why the wire does not show what the configuration asks for; empty when it does.
 * `closedAt` is when the connection died, `captureEndedAt` when the capture ended (epoch ms).
 */
export function wireMismatches(effective: KeepAliveState, inFlight: boolean, trace: WireTrace, closedAt: number | undefined, captureEndedAt: number): string[] {
  if (trace.lastReceivedAt === null) return ['no segment from the server was captured'];
  const observedMs = (closedAt ?? captureEndedAt) - trace.lastReceivedAt;
  const expected = expectedProbeOffsets(effective, inFlight, observedMs);
  // A connection that died sent all its probes first. On one still open when the capture
  // ended, a probe due within its timer's slack of that end may or may not be there.
  const certain = closedAt === undefined ? expected.filter((offset) => offset + timerSlack(offset) < observedMs) : expected;
  const seen = trace.probes.map((at) => at - (trace.lastReceivedAt as number));
  const problems: string[] = [];
  if (seen.length < certain.length || seen.length > expected.length) {
    const count = certain.length === expected.length ? `${expected.length}` : `${certain.length} to ${expected.length}`;
    problems.push(`${seen.length} keepalive probe(s) on the wire, expected ${count}`);
  }
  if (seen.length > 0 && expected.length > 0 && (seen[0] < effective.idle - EARLY_MS || seen[0] > effective.idle + timerSlack(effective.idle))) {
    problems.push(`first probe ${formatDuration(seen[0])} after the last segment, expected ${formatDuration(effective.idle)}`);
  }
  const spacing = seen.slice(1).map((at, index) => at - seen[index]);
  const off = spacing.filter((gap) => gap < effective.interval - EARLY_MS || gap > effective.interval + timerSlack(effective.interval));
  if (off.length > 0) problems.push(`probes ${off.map(formatDuration).join(', ')} apart, expected ${formatDuration(effective.interval)}`);
  if (inFlight && trace.retransmissions.length === 0) problems.push('no retransmission of the data in flight');
  return problems;
}
