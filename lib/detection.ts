import { readFileSync } from 'node:fs';
import { type KeepAliveOptions, validateOptions } from './options.js';

/** Predicted time for the kernel to declare a silent peer dead; see {@link detectionTime}. */
export interface DetectionTime {
  /**
   * ms from the last data received until an idle connection to a dead peer fails with
   * ETIMEDOUT; `Infinity` when keepalive is off (such a connection is never dropped).
   */
  idle: number;
  /**
   * ms from sending data that is never acknowledged until the connection fails: the
   * user timeout; `null` when it is 0, as the kernel's retransmission limit
   * (net.ipv4.tcp_retries2, about 15 minutes by default) then governs, and keepalive
   * probes are not sent while data is unacknowledged.
   */
  inFlight: number | null;
}

const LINUX_DEFAULTS = { idle: 7_200_000, interval: 75_000, count: 9 };

function readSysctlSeconds(name: string, fallbackMs: number, scale: number): number {
  try {
    return Number.parseInt(readFileSync(`/proc/sys/net/ipv4/${name}`, 'utf8'), 10) * scale;
  } catch {
    return fallbackMs;
  }
}

let systemDefaults: typeof LINUX_DEFAULTS | undefined;

/** This network namespace's keepalive defaults, read once (Linux's own when unreadable). */
function keepaliveDefaults(): typeof LINUX_DEFAULTS {
  systemDefaults ??= {
    idle: readSysctlSeconds('tcp_keepalive_time', LINUX_DEFAULTS.idle, 1000),
    interval: readSysctlSeconds('tcp_keepalive_intvl', LINUX_DEFAULTS.interval, 1000),
    count: readSysctlSeconds('tcp_keepalive_probes', LINUX_DEFAULTS.count, 1),
  };
  return systemDefaults;
}

/**
 * Predicts how long Linux takes to notice a dead peer with the given settings, by the
 * rules of tcp_keepalive_timer() in net/ipv4/tcp_timer.c:
 *
 * - Idle connection, userTimeout 0: probes go out at idle, idle + interval, ...; the
 *   connection is dropped at `idle + count × interval`.
 * - Idle connection, userTimeout > 0: the probe count is ignored; the connection is
 *   dropped at the first keepalive timer tick (`idle + k × interval`, k ≥ 1, so at least
 *   one probe is outstanding) at which `userTimeout` has passed since data was last
 *   received.
 * - Data in flight: keepalive is suspended; the user timeout (if set) drops the
 *   connection that long after the unacknowledged data was sent.
 *
 * Takes the same options as {@link setKeepAlive}, validated the same way, or a
 * {@link KeepAliveState} read with getKeepAlive. Options left out take this system's
 * defaults (net.ipv4.tcp_keepalive_time, _intvl, _probes; keepalive itself is off unless
 * a field is given). Times in ms, with the kernel's timer granularity (a few ms) ignored.
 */
export function detectionTime(options: KeepAliveOptions): DetectionTime {
  const { enable, idleSeconds, intervalSeconds, count, userTimeout = 0 } = validateOptions(options);
  const inFlight = userTimeout > 0 ? userTimeout : null;
  if (!enable) return { idle: Infinity, inFlight };
  const defaults = keepaliveDefaults();
  const idle = idleSeconds === undefined ? defaults.idle : idleSeconds * 1000;
  const interval = intervalSeconds === undefined ? defaults.interval : intervalSeconds * 1000;
  if (userTimeout === 0) return { idle: idle + (count ?? defaults.count) * interval, inFlight };
  const ticks = Math.max(1, Math.ceil((userTimeout - idle) / interval));
  return { idle: idle + ticks * interval, inFlight };
}
