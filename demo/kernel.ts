/** Kernel facts the command-line tools need beyond what the library predicts. */
import fs from 'node:fs';

/**
 * How long Linux retransmits unacknowledged data before giving up, with no user
 * timeout: net.ipv4.tcp_retries2 backoffs of the RTO from its 200 ms floor, capped at
 * 120 s (retransmits_timed_out() in net/ipv4/tcp_timer.c).
 */
export function retransmissionLimitMs(): number {
  const retries = Number(fs.readFileSync('/proc/sys/net/ipv4/tcp_retries2', 'utf8'));
  const [minimum, maximum] = [200, 120_000];
  const threshold = Math.floor(Math.log2(maximum / minimum));
  return retries <= threshold
    ? ((2 << retries) - 1) * minimum
    : ((2 << threshold) - 1) * minimum + (retries - threshold) * maximum;
}
