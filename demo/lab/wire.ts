/**
 * One connection's story on the wire, read from the client's side of a cut link: the
 * last segment it received, the keepalive probes it sent after that, its data
 * retransmissions, and how it ended (a reset, or silence).
 */
import type { Segment } from './capture.js';

/** What one connection did on the wire. Times are epoch ms. */
export interface WireTrace {
  /** The last segment the client received: where the kernel's keepalive clock starts. */
  lastReceivedAt: number | null;
  /** Keepalive probes sent since then: zero-length ACKs carrying seq = snd_una - 1. */
  probes: number[];
  /** Segments of data sent again (their bytes had been sent before). */
  retransmissions: number[];
  /** The reset the client sent when its kernel gave up, or null: it fell silent. */
  resetAt: number | null;
}

/** `a - b` for TCP sequence numbers, which wrap at 2^32. */
const sequenceDistance = (a: number, b: number) => (a - b) | 0;

/** The trace of the connection from local port `clientPort`, given every segment captured. */
export function traceConnection(segments: Segment[], clientPort: number): WireTrace {
  const trace: WireTrace = { lastReceivedAt: null, probes: [], retransmissions: [], resetAt: null };
  let unacknowledged: number | undefined; // snd_una: the highest ACK received
  let sentUpTo: number | undefined; // snd_nxt: the end of the highest byte sent
  for (const segment of segments) {
    if (segment.destinationPort === clientPort) {
      trace.lastReceivedAt = segment.at;
      trace.probes = []; // a probe answered (or anything received) restarts the clock
      if (segment.flags.ack && (unacknowledged === undefined || sequenceDistance(segment.ack, unacknowledged) > 0)) {
        unacknowledged = segment.ack;
      }
      continue;
    }
    if (segment.sourcePort !== clientPort) continue;
    const end = (segment.seq + segment.length + (segment.flags.syn || segment.flags.fin ? 1 : 0)) >>> 0;
    const retransmitted = segment.length > 0 && sentUpTo !== undefined && sequenceDistance(end, sentUpTo) <= 0;
    if (segment.flags.rst) trace.resetAt = segment.at;
    else if (retransmitted) trace.retransmissions.push(segment.at);
    else if (isKeepaliveProbe(segment, unacknowledged)) trace.probes.push(segment.at);
    if (sentUpTo === undefined || sequenceDistance(end, sentUpTo) > 0) sentUpTo = end;
  }
  return trace;
}

function isKeepaliveProbe(segment: Segment, unacknowledged: number | undefined): boolean {
  const { syn, fin, rst, ack } = segment.flags;
  if (unacknowledged === undefined || segment.length !== 0) return false;
  return ack && !syn && !fin && !rst && segment.seq === (unacknowledged - 1) >>> 0;
}
