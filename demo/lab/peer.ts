/**
 * The client side of the lab, run inside the client's network namespace by the lab
 * (under the Node release being compared, so it uses no API newer than Node 16). It
 * takes its configuration as one JSON argument, talks JSON lines on stdout, and obeys
 * commands on stdin: "cut" (write on the in-flight connections), "heal-cut" and
 * "healed" (drive the heal check), "stop".
 */
import readline from 'node:readline';
import { type KeepAliveOptions, retransmissionLimitMs } from 'socket-keepalive';
import { Connection, type ConnectionReport, type ConnectionSpec } from '../connection.js';

export interface PeerRow extends ConnectionSpec {
  /** Write once when the link is cut, so data is unacknowledged while the peer is gone. */
  dataInFlight?: boolean;
}

export interface PeerConfig {
  host: string;
  port: number;
  rows: PeerRow[];
  /** The heal check: one tuned connection to its own port, cut and healed separately. */
  heal?: { port: number; options: KeepAliveOptions };
}

/** What the heal check found: bytes written during the cut, and what the echo server sent back. */
export interface HealResult {
  written: number;
  echoed: number;
  inOrder: boolean;
  survived: boolean;
  errorCode?: string;
}

export type PeerMessage =
  /** `retransmissionLimitMs`: retransmissionLimitMs() in the client's namespace, where the peer runs. */
  | { type: 'ready'; node: string; retransmissionLimitMs: number; reports: ConnectionReport[] }
  | { type: 'status'; reports: ConnectionReport[] }
  | { type: 'heal'; result: HealResult }
  | { type: 'error'; message: string };

const send = (message: PeerMessage) => process.stdout.write(`${JSON.stringify(message)}\n`);
const GREETING = 'hello\n';

/** Opens a connection and resolves once the server has echoed a greeting on it. */
function greeted(connection: Connection): Promise<void> {
  return new Promise((resolve, reject) => {
    let received = '';
    const onData = (data: Buffer) => {
      received += data.toString();
      if (received.length >= GREETING.length) {
        connection.socket.off('data', onData);
        resolve();
      }
    };
    connection.socket.on('data', onData);
    connection.socket.once('connect', () => connection.socket.write(GREETING));
    connection.socket.once('error', reject);
  });
}

class HealCheck {
  private written = '';
  private echoed = '';
  private writer?: NodeJS.Timeout;

  constructor(readonly connection: Connection) {}

  start(): void {
    this.connection.socket.on('data', (data: Buffer) => {
      this.echoed += data.toString();
    });
    let sequence = 0;
    this.writer = setInterval(() => {
      const line = `${++sequence} ${'x'.repeat(100)}\n`;
      this.written += line;
      this.connection.write(line);
    }, 100);
  }

  /** After the link is back: write a little longer, then wait for the echo of everything. */
  async finish(): Promise<HealResult> {
    await new Promise((resolve) => setTimeout(resolve, 500));
    clearInterval(this.writer);
    const deadline = Date.now() + 5000;
    while (this.echoed.length < this.written.length && Date.now() < deadline && !this.connection.socket.destroyed) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return {
      written: this.written.length,
      echoed: this.echoed.length,
      inOrder: this.echoed === this.written,
      survived: !this.connection.socket.destroyed,
      errorCode: this.connection.report.errorCode,
    };
  }
}

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2]) as PeerConfig;
  const connections = config.rows.map((row) => new Connection(row, config.host, config.port));
  const healSpec = { id: 'heal', mode: 'library' as const, options: config.heal?.options };
  const heal = config.heal && new HealCheck(new Connection(healSpec, config.host, config.heal.port));
  try {
    await Promise.all([...connections, ...(heal ? [heal.connection] : [])].map(greeted));
  } catch (error) {
    send({ type: 'error', message: (error as Error).message });
    process.exit(1);
  }
  const reports = () => connections.map((connection) => connection.sample());
  send({ type: 'ready', node: process.version, retransmissionLimitMs: retransmissionLimitMs(), reports: reports() });
  const ticker = setInterval(() => send({ type: 'status', reports: reports() }), 250);

  for await (const line of readline.createInterface({ input: process.stdin })) {
    if (line === 'cut') {
      connections.forEach((connection, index) => {
        if (config.rows[index].dataInFlight) connection.write('in flight\n');
      });
    } else if (line === 'heal-cut') {
      heal?.start();
    } else if (line === 'healed' && heal) {
      heal.finish().then((result) => send({ type: 'heal', result }));
    } else if (line === 'stop') {
      break;
    }
  }
  clearInterval(ticker);
  send({ type: 'status', reports: reports() });
  for (const connection of [...connections, ...(heal ? [heal.connection] : [])]) connection.socket.destroy();
}

main();
