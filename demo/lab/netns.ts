/**
 * Two hosts on one machine for the lab: network namespaces joined by a veth pair, and
 * iptables DROP rules for the lab's port applied inside the server's namespace (the
 * machine's own firewall is never touched). Every name carries the lab's prefix and the
 * pid of the lab that made it, so labs running at once never share a name, and only the
 * leftovers of a lab whose process is gone are ever removed.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

const NAMESPACE_PREFIX = 'ska-lab-';
const VETH_PREFIX = 'skl';
/** `ska-lab-<pid>-server`, `ska-lab-<pid>-client`: the lab's namespaces, with the owner's pid. */
const NAMESPACE_NAME = /^ska-lab-(\d+)-(?:server|client)$/;
/** `skl<pid>s`, `skl<pid>c`: the veth ends while still outside the namespaces (at most 15 characters). */
const VETH_NAME = /^skl(\d+)[sc]$/;
export const SERVER_ADDRESS = '10.213.0.1';
export const CLIENT_ADDRESS = '10.213.0.2';
/**
 * net.ipv4.tcp_retries2 in the client's namespace (a new namespace starts at Linux's 15,
 * and the machine's own stays as it is): data in flight with no user timeout then meets
 * the kernel's retransmission limit in seconds rather than in about 15 minutes.
 */
export const CLIENT_TCP_RETRIES2 = 3;

export interface Hosts {
  /** The server's namespace. */
  server: string;
  /** The client's namespace. */
  client: string;
  /** The client's end of the veth pair, inside its namespace: where the lab captures. */
  clientLink: string;
}

function run(command: string, args: string[]): string {
  return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function commandExists(command: string): boolean {
  try {
    run('sh', ['-c', `command -v ${command}`]);
    return true;
  } catch {
    return false;
  }
}

/** What is missing to run the lab here, or an empty list. */
export function missingRequirements(): string[] {
  const missing: string[] = [];
  if (process.platform !== 'linux') return [`Linux (this is ${process.platform})`];
  const status = fs.readFileSync('/proc/self/status', 'utf8');
  const capabilities = BigInt(`0x${/^CapEff:\s*([0-9a-f]+)/m.exec(status)?.[1] ?? '0'}`);
  const CAP_NET_ADMIN = 12n;
  if (((capabilities >> CAP_NET_ADMIN) & 1n) === 0n) missing.push('CAP_NET_ADMIN (run as root, e.g. with sudo)');
  if (!commandExists('ip')) missing.push('the ip command (Debian package iproute2)');
  if (!commandExists('iptables')) missing.push('the iptables command (Debian package iptables)');
  if (!commandExists('tcpdump')) missing.push('the tcpdump command (Debian package tcpdump)');
  return missing;
}

/** Whether a process runs: a zombie (killed, not yet reaped) has an empty command line. */
export function pidIsAlive(pid: number): boolean {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`).length > 0;
  } catch {
    return false;
  }
}

/** The lab's namespaces on this machine, with the pid of the lab that made each. */
export function labNamespaces(): { name: string; owner: number }[] {
  return run('ip', ['netns', 'list'])
    .split('\n')
    .map((line) => NAMESPACE_NAME.exec(line.split(' ')[0]))
    .flatMap((match) => (match ? [{ name: match[0], owner: Number(match[1]) }] : []));
}

/**
 * Namespaces and veth links left by labs whose process is gone. Those of a lab still
 * running (another one on this machine) are not leftovers, and names that merely share
 * the prefix are not the lab's.
 */
export function findLeftovers(): string[] {
  const links = run('ip', ['-o', 'link', 'show'])
    .split('\n')
    .map((line) => VETH_NAME.exec(line.split(': ')[1]?.split('@')[0] ?? ''))
    .flatMap((match) => (match ? [{ name: match[0], owner: Number(match[1]) }] : []));
  return [...labNamespaces(), ...links].filter(({ owner }) => !pidIsAlive(owner)).map(({ name }) => name);
}

/**
 * Ends the processes still inside a namespace: a killed lab's servers, peers and tcpdump
 * outlive it (deleting the namespace's name would not end them).
 */
function endProcessesIn(namespace: string): void {
  for (const pid of run('ip', ['netns', 'pids', namespace]).split('\n').filter(Boolean)) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      // exited meanwhile
    }
  }
}

/**
 * Removes the given namespaces, with any process left in them, and links (as found by
 * findLeftovers); returns what it removed.
 */
export function removeAll(names: string[]): string[] {
  const removed: string[] = [];
  for (const name of names) {
    try {
      if (NAMESPACE_NAME.test(name)) {
        endProcessesIn(name);
        run('ip', ['netns', 'delete', name]);
      } else run('ip', ['link', 'delete', name]);
      removed.push(name);
    } catch {
      // Deleting one end of a veth pair deletes the other: already gone.
    }
  }
  return removed;
}

/**
 * Builds the two hosts, the client's with net.ipv4.tcp_retries2 {@link CLIENT_TCP_RETRIES2};
 * on failure removes whatever part was built, and throws.
 */
export function createHosts(): Hosts {
  const [serverLink, clientLink] = [`${VETH_PREFIX}${process.pid}s`, `${VETH_PREFIX}${process.pid}c`];
  const hosts = {
    server: `${NAMESPACE_PREFIX}${process.pid}-server`,
    client: `${NAMESPACE_PREFIX}${process.pid}-client`,
    clientLink,
  };
  try {
    run('ip', ['netns', 'add', hosts.server]);
    run('ip', ['netns', 'add', hosts.client]);
    run('ip', ['link', 'add', serverLink, 'type', 'veth', 'peer', 'name', clientLink]);
    run('ip', ['link', 'set', serverLink, 'netns', hosts.server]);
    run('ip', ['link', 'set', clientLink, 'netns', hosts.client]);
    for (const [namespace, link, address] of [
      [hosts.server, serverLink, SERVER_ADDRESS],
      [hosts.client, clientLink, CLIENT_ADDRESS],
    ]) {
      run('ip', ['-n', namespace, 'addr', 'add', `${address}/30`, 'dev', link]);
      run('ip', ['-n', namespace, 'link', 'set', link, 'up']);
      run('ip', ['-n', namespace, 'link', 'set', 'lo', 'up']);
    }
    const retries2 = `echo ${CLIENT_TCP_RETRIES2} > /proc/sys/net/ipv4/tcp_retries2`;
    run('ip', ['netns', 'exec', hosts.client, 'sh', '-c', retries2]);
  } catch (error) {
    destroyHosts(hosts);
    removeAll([serverLink, clientLink]);
    throw error;
  }
  return hosts;
}

/** Deletes both namespaces, which takes their veth ends and iptables rules with them. */
export function destroyHosts(hosts: Hosts): void {
  removeAll([hosts.server, hosts.client]);
}

/** Inside the server's namespace: drop every TCP packet to and from `port`, both ways silent. */
function rules(port: number): string[][] {
  return [
    ['INPUT', '-p', 'tcp', '--dport', String(port), '-j', 'DROP'],
    ['OUTPUT', '-p', 'tcp', '--sport', String(port), '-j', 'DROP'],
  ];
}

export function cutLink(hosts: Hosts, port: number): void {
  for (const rule of rules(port)) run('ip', ['netns', 'exec', hosts.server, 'iptables', '-A', ...rule]);
}

export function healLink(hosts: Hosts, port: number): void {
  for (const rule of rules(port)) run('ip', ['netns', 'exec', hosts.server, 'iptables', '-D', ...rule]);
}
