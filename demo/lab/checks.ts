/**
 * The lab's verdict on each row: did the connection die when the kernel's timing model
 * says, and did the wire show the probes (or retransmissions) its configuration asks
 * for? Every mismatch is a sentence; a row with any fails the lab.
 */
import { type DeadPeerCause, detectionTime, type KeepAliveState } from 'socket-keepalive';
import { RTO_MAX_MS } from 'socket-keepalive/text';
import type { DeadPeerReport } from '../connection.js';
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
 * detectionTime's `idleConnectionMs` (so `count` probes without a user timeout). None with data in
 * flight, where the retransmission timer runs instead, and none with keepalive off.
 */
function expectedProbeOffsets(effective: KeepAliveState, dataInFlight: boolean, untilMs: number): number[] {
  if (dataInFlight || !effective.enable) return [];
  const dropAt = detectionTime(effective).idleConnectionMs;
  const offsets: number[] = [];
  for (let at = effective.idle; at < dropAt && at <= untilMs; at += effective.interval) offsets.push(at);
  return offsets;
}

/** Why a connection that should have failed did not fail as a dead peer does; empty when it did. */
function failureMismatches(predictedMs: number, measuredMs: number | null, errorCode: string | null): string[] {
  if (measuredMs === null) {
    return [`still open at the end of the window, predicted to fail after ${formatDuration(predictedMs)}`];
  }
  return errorCode === 'ETIMEDOUT' ? [] : [`failed with ${errorCode}, not ETIMEDOUT`];
}

/** Why the measured detection time does not fit the prediction; empty when it does. */
export function detectionMismatches(
  predictedMs: number,
  measuredMs: number | null,
  errorCode: string | null,
  waited: boolean,
): string[] {
  if (!waited) return [];
  const problems = failureMismatches(predictedMs, measuredMs, errorCode);
  if (measuredMs === null) return problems;
  const latest = predictedMs + DETECTION_LATE_MS + timerSlack(predictedMs);
  if (measuredMs < predictedMs - DETECTION_EARLY_MS || measuredMs > latest) {
    problems.push(`failed after ${formatDuration(measuredMs)}, predicted ${formatDuration(predictedMs)}`);
  }
  return problems;
}

/**
 * When the retransmission timer expires after the last retransmission, ms from the write:
 * its timeout doubles on every expiry (up to TCP_RTO_MAX, RTO_MAX_MS), so the last gap twice over.
 * Null with fewer than two retransmissions (ms from the write).
 */
export function nextRetransmissionExpiry(retransmissions: number[]): number | null {
  if (retransmissions.length < 2) return null;
  const [previous, last] = retransmissions.slice(-2);
  return last + Math.min(2 * (last - previous), RTO_MAX_MS);
}

/**
 * Why a connection with data in flight and no user timeout did not end as the kernel
 * ends it; empty when it did. The kernel compares the time since its first timed-out
 * retransmission with the retransmission limit (`limitMs`, retransmissionLimitMs())
 * only when the retransmission timer expires, and each expiry doubles the timer's
 * timeout: the connection ends at the first expiry at or past the limit, which can be
 * nearly twice the limit after the write. From the wire (`retransmissions`, ms from the
 * write; the first may be a tail loss probe, which does not start the kernel's clock):
 * - the last retransmission came less than the limit after the second one on the wire
 *   (the first timed-out one is never later), or the kernel would have ended it there;
 * - the end came at least the limit after the first one on the wire;
 * - the end is the timer's next expiry after the last retransmission.
 */
export function retransmissionLimitMismatches(
  limitMs: number,
  measuredMs: number | null,
  errorCode: string | null,
  retransmissions: number[],
  waited: boolean,
): string[] {
  if (!waited) return [];
  const problems = failureMismatches(limitMs, measuredMs, errorCode);
  const expiry = nextRetransmissionExpiry(retransmissions);
  if (measuredMs === null) return problems;
  if (expiry === null) {
    return [...problems, `${retransmissions.length} retransmission(s) on the wire, expected at least 2`];
  }
  const [first, second, last] = [retransmissions[0], retransmissions[1], retransmissions.at(-1) as number];
  if (last - second >= limitMs + EARLY_MS) {
    problems.push(
      `retransmitted ${formatDuration(last - second)} after its second retransmission, ` +
        `past the limit of ${formatDuration(limitMs)}`,
    );
  }
  if (measuredMs - first < limitMs - DETECTION_EARLY_MS) {
    problems.push(
      `failed ${formatDuration(measuredMs - first)} after its first retransmission, ` +
        `before the limit of ${formatDuration(limitMs)}`,
    );
  }
  if (measuredMs < expiry - DETECTION_EARLY_MS || measuredMs > expiry + DETECTION_LATE_MS + timerSlack(expiry - last)) {
    problems.push(
      `failed after ${formatDuration(measuredMs)}, not at the retransmission timer's next expiry ` +
        `(${formatDuration(expiry)})`,
    );
  }
  return problems;
}

/**
 * Why what the library's dead-peer channel said of a connection does not fit its row;
 * empty when it does. Only a connection that died (`detected`) is judged: one the
 * library tuned must be reported with the cause its row expects, and one it did not
 * tune must not be reported at all.
 */
export function causeMismatches(
  expected: DeadPeerCause | undefined,
  reported: DeadPeerReport | undefined,
  detected: boolean,
): string[] {
  if (!detected) return [];
  if (expected === undefined) {
    if (!reported) return [];
    return [`the dead-peer channel reported ${reported.cause} for a connection the library did not tune`];
  }
  if (!reported) return [`nothing on the dead-peer channel, expected cause ${expected}`];
  if (reported.cause === expected) return [];
  return [`the dead-peer channel reported cause ${reported.cause}, expected ${expected}`];
}

/**
 * Why the wire does not show what the configuration asks for; empty when it does.
 * `closedAt` is when the connection died, `captureEndedAt` when the capture ended (epoch ms).
 */
export function wireMismatches(
  effective: KeepAliveState,
  dataInFlight: boolean,
  trace: WireTrace,
  closedAt: number | undefined,
  captureEndedAt: number,
): string[] {
  if (trace.lastReceivedAt === null) return ['no segment from the server was captured'];
  const observedMs = (closedAt ?? captureEndedAt) - trace.lastReceivedAt;
  const expected = expectedProbeOffsets(effective, dataInFlight, observedMs);
  // A connection that died sent all its probes first. On one still open when the capture
  // ended, a probe due within its timer's slack of that end may or may not be there.
  const certain =
    closedAt === undefined ? expected.filter((offset) => offset + timerSlack(offset) < observedMs) : expected;
  const seen = trace.probes.map((at) => at - (trace.lastReceivedAt as number));
  const problems: string[] = [];
  if (seen.length < certain.length || seen.length > expected.length) {
    const count = certain.length === expected.length ? `${expected.length}` : `${certain.length} to ${expected.length}`;
    problems.push(`${seen.length} keepalive probe(s) on the wire, expected ${count}`);
  }
  const firstOff = seen[0] < effective.idle - EARLY_MS || seen[0] > effective.idle + timerSlack(effective.idle);
  if (seen.length > 0 && expected.length > 0 && firstOff) {
    problems.push(
      `first probe ${formatDuration(seen[0])} after the last segment, expected ${formatDuration(effective.idle)}`,
    );
  }
  const spacing = seen.slice(1).map((at, index) => at - seen[index]);
  const { interval } = effective;
  const off = spacing.filter((gap) => gap < interval - EARLY_MS || gap > interval + timerSlack(interval));
  if (off.length > 0) {
    problems.push(`probes ${off.map(formatDuration).join(', ')} apart, expected ${formatDuration(interval)}`);
  }
  if (dataInFlight && trace.retransmissions.length === 0) problems.push('no retransmission of the data in flight');
  return problems;
}
