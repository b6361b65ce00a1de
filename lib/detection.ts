import { type KeepAliveOptions, UNSET, ValidatedOptions, validateInto } from './options.js';
import { platform } from './platform/index.js';

/** Predicted time for the kernel to declare a silent peer dead; see {@link detectionTime}. */
export interface DetectionTime {
  /**
   * ms from the last data received until an idle connection to a dead peer fails with
   * ETIMEDOUT (the dead-peer report's `silentMs` is the measured counterpart); `Infinity`
   * when keepalive is off (such a connection is never dropped).
   */
  idleConnectionMs: number;
  /**
   * ms from sending data that is never acknowledged until the connection fails: the
   * user timeout (the dead-peer report's `inFlightMs` is the measured counterpart); `null`
   * when it is 0, as the kernel's retransmission limit ({@link retransmissionLimitMs}:
   * net.ipv4.tcp_retries2, about 15 minutes by default) then governs, and keepalive probes
   * are not sent while data is unacknowledged.
   */
  dataInFlightMs: number | null;
}

/** This network namespace's keepalive interval (net.ipv4.tcp_keepalive_intvl), ms. */
export function keepaliveIntervalDefault(): number {
  return platform.keepaliveDefaults().interval;
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
  const settings = new ValidatedOptions();
  validateInto(options, settings);
  return predictDetection(settings);
}

/** {@link detectionTime} of options already validated (a socket's or server's tuning). */
export function predictDetection({ enable, idle, interval, count, userTimeout }: ValidatedOptions): DetectionTime {
  const dataInFlightMs = userTimeout > 0 ? userTimeout : null;
  if (enable !== 1) return { idleConnectionMs: Infinity, dataInFlightMs };
  const defaults = platform.keepaliveDefaults();
  return {
    idleConnectionMs: platform.idleDetection(
      idle === UNSET ? defaults.idle : idle,
      interval === UNSET ? defaults.interval : interval,
      count === UNSET ? defaults.count : count,
      dataInFlightMs ?? 0,
    ),
    dataInFlightMs,
  };
}

/** The retransmission timeout's floor and ceiling (TCP_RTO_MIN, TCP_RTO_MAX), ms. */
export const { rtoMinMs: RTO_MIN_MS, rtoMaxMs: RTO_MAX_MS } = platform;

/**
 * How long Linux keeps retransmitting unacknowledged data before it drops the
 * connection with ETIMEDOUT when no user timeout is set: the time the RTO, doubling
 * from its 200 ms floor and capped at 120 s, takes to back off net.ipv4.tcp_retries2
 * times (tcp_model_timeout() and retransmits_timed_out() in net/ipv4/tcp_timer.c).
 * With the default of 15 retries that is 924.6 s, about 15 minutes. This is what
 * governs a connection with data in flight when {@link DetectionTime.dataInFlightMs} is
 * `null`. Reads this network namespace's sysctl on every call (Linux's default 15 when
 * unreadable). See tcp(7): https://man7.org/linux/man-pages/man7/tcp.7.html
 *
 * It is the bound the kernel compares with, not the moment the connection fails: the
 * kernel measures from its first timed-out retransmission (a tail loss probe before it
 * does not count) and compares only when the retransmission timer expires, so the
 * connection fails at the first expiry at or past the bound. The timer doubles, so that
 * expiry can come up to about twice the bound after the write: with tcp_retries2 3
 * (bound 3.0 s) and an RTO of about 207 ms, `socket-keepalive lab` measured retransmissions
 * 0.2 (the tail loss probe), 0.4, 0.8, 1.7 and 3.3 s after the write (2.9 s after the first
 * timed-out one: under the bound) and the failure at the next expiry, 6.8 s.
 */
export function retransmissionLimitMs(): number {
  return platform.retransmissionLimitMs();
}
