/**
 * What crossed the wire: tcpdump on the client's end of the veth, its pcap output
 * decoded to the TCP header fields the lab reads. Only the lab's own namespace is
 * captured; nothing outside it is seen.
 */
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import type { Hosts } from './netns.js';

/** One TCP segment as captured. `at` is epoch ms (microsecond resolution). */
export interface Segment {
  at: number;
  sourcePort: number;
  destinationPort: number;
  seq: number;
  ack: number;
  flags: { syn: boolean; ack: boolean; fin: boolean; rst: boolean };
  /** TCP payload length (from the IP header, so right even when the capture is truncated). */
  length: number;
}

/** tcpdump's headers only: enough for Ethernet, IPv4 and TCP with every option. */
const SNAPSHOT_BYTES = 128;
const LINKTYPE_ETHERNET = 1;
const DRAIN_MS = 250;

export class Capture {
  private readonly chunks: Buffer[] = [];
  private readonly process: ChildProcess;
  private readonly exited: Promise<number | null>;
  private errors = '';

  /** Starts tcpdump on the client's end of the veth for the TCP `ports`; see {@link ready}. */
  constructor(hosts: Hosts, ports: number[]) {
    const filter = ports.map((port) => `tcp port ${port}`).join(' or ');
    // --immediate-mode: each packet as it comes, not a buffer block later, so that none
    // is still in the kernel's ring when tcpdump is stopped.
    const tcpdump = ['tcpdump', '-i', hosts.clientLink, '-n', '--immediate-mode', '-U'];
    tcpdump.push('-s', String(SNAPSHOT_BYTES), '-w', '-', filter);
    const args = ['netns', 'exec', hosts.client, ...tcpdump];
    this.process = spawn('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.process.stdout?.on('data', (chunk: Buffer) => this.chunks.push(chunk));
    this.process.stderr?.on('data', (chunk: Buffer) => {
      this.errors += chunk.toString();
    });
    this.exited = new Promise((resolve) => this.process.on('exit', resolve));
  }

  /** Resolves once tcpdump captures (it says "listening on"); rejects if it exits first. */
  ready(): Promise<void> {
    return new Promise((resolve, reject) => {
      const listening = () => {
        if (!this.errors.includes('listening on')) return;
        this.process.stderr?.off('data', listening);
        this.process.off('exit', failed);
        resolve();
      };
      const failed = (code: number | null) => reject(new Error(`tcpdump exited with ${code}: ${this.errors.trim()}`));
      this.process.stderr?.on('data', listening);
      this.process.once('exit', failed);
      listening();
    });
  }

  /** Stops tcpdump, after a moment to write out what it has read, and returns every segment captured, in order. */
  async stop(): Promise<Segment[]> {
    await new Promise((resolve) => setTimeout(resolve, DRAIN_MS));
    this.process.kill('SIGINT');
    await this.exited;
    return decodePcap(Buffer.concat(this.chunks));
  }

  /** Ends tcpdump at once (cleanup after a failure or a signal). */
  kill(): void {
    this.process.kill('SIGKILL');
  }
}

/**
 * Decodes a pcap stream (https://www.tcpdump.org/manpages/pcap-savefile.5.html) of
 * Ethernet frames; anything but IPv4 TCP is skipped, and so is a truncated last record.
 */
function decodePcap(data: Buffer): Segment[] {
  if (data.length < 24) return [];
  const magic = data.readUInt32LE(0);
  const littleEndian = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  const read32 = (offset: number) => (littleEndian ? data.readUInt32LE(offset) : data.readUInt32BE(offset));
  const fractionPerMs = magic === 0xa1b23c4d || magic === 0x4d3cb2a1 ? 1e6 : 1e3;
  if (read32(20) !== LINKTYPE_ETHERNET) throw new Error(`tcpdump wrote link type ${read32(20)}, not Ethernet`);
  const segments: Segment[] = [];
  for (let record = 24; record + 16 <= data.length; ) {
    const captured = read32(record + 8);
    const frame = record + 16;
    if (frame + captured > data.length) break;
    const at = read32(record) * 1000 + read32(record + 4) / fractionPerMs;
    const segment = decodeFrame(data.subarray(frame, frame + captured), at);
    if (segment) segments.push(segment);
    record = frame + captured;
  }
  return segments;
}

const ETHERTYPE_IPV4 = 0x0800;
const PROTOCOL_TCP = 6;

function decodeFrame(frame: Buffer, at: number): Segment | undefined {
  if (frame.length < 14 + 20 || frame.readUInt16BE(12) !== ETHERTYPE_IPV4) return undefined;
  const ip = frame.subarray(14);
  const ipHeader = (ip[0] & 0x0f) * 4;
  if (ip[9] !== PROTOCOL_TCP || ip.length < ipHeader + 20) return undefined;
  const tcp = ip.subarray(ipHeader);
  const tcpHeader = (tcp[12] >> 4) * 4;
  const flags = tcp[13];
  return {
    at,
    sourcePort: tcp.readUInt16BE(0),
    destinationPort: tcp.readUInt16BE(2),
    seq: tcp.readUInt32BE(4),
    ack: tcp.readUInt32BE(8),
    flags: {
      fin: (flags & 0x01) !== 0,
      syn: (flags & 0x02) !== 0,
      rst: (flags & 0x04) !== 0,
      ack: (flags & 0x10) !== 0,
    },
    length: ip.readUInt16BE(2) - ipHeader - tcpHeader,
  };
}
