/**
 * Real database and cache servers, each from its Debian binary with its data in a fresh
 * temporary directory that `stop()` removes: the lab runs them inside its server's
 * network namespace, the integration tests on loopback (with MariaDB, which the tests
 * add in test/integration/servers.ts). Servers that refuse to run as
 * root (PostgreSQL) run as their system user.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pidIsAlive } from './netns.js';

export interface RealServer {
  host: string;
  port: number;
  /** The Unix socket (redis, MariaDB) or the socket directory (PostgreSQL). */
  socketPath: string;
  /** Stops the server (waiting for it to exit) and removes its directory. */
  stop(): Promise<void>;
  /**
   * Ends the server now, without a graceful shutdown, waits for it (blocking, at most 5 s)
   * and removes its directory: for cleanup in a signal handler, where nothing can be awaited.
   */
  kill(): void;
}

/** Where to run a server: its address and port, and the network namespace it runs in. */
export interface ServerPlacement {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default: a port free on 127.0.0.1 in this namespace (give one with `namespace`). */
  port?: number;
  /** Run inside this network namespace (`ip netns exec`); needs root. */
  namespace?: string;
}

const postgresBin = () => {
  const root = '/usr/lib/postgresql';
  const versions = fs.existsSync(root) ? fs.readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  const bins = versions.map((version) => `${root}/${version}/bin`);
  return bins.find((bin) => fs.existsSync(path.join(bin, 'postgres')));
};

export function onPath(command: string): string | undefined {
  for (const directory of [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/usr/local/sbin']) {
    const candidate = path.join(directory, command);
    if (directory && fs.existsSync(candidate)) return candidate;
  }
  return undefined;
}

/** Where each server's programs are, or undefined when it is not installed. */
export const serverPrograms = {
  postgres: postgresBin(),
  redis: onPath('redis-server'),
};

/** The Debian package of each server. */
export const serverPackages = { postgres: 'postgresql', redis: 'redis-server' };

/** A port nobody listens on right now. */
export async function freePort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

interface SystemUser {
  uid: number;
  gid: number;
}

/** The uid and gid of a system user, for servers that refuse to run as root. */
function systemUser(name: string): SystemUser | undefined {
  if (process.getuid?.() !== 0) return undefined; // not root: run as ourselves
  const id = (flag: string) => Number(execFileSync('id', [flag, name], { encoding: 'utf8' }).trim());
  return { uid: id('-u'), gid: id('-g') };
}

/**
 * `command args` as run in `namespace` as `user`: `ip netns exec` and `setpriv` both
 * exec the next program, so the process started is the server itself.
 */
function placed(
  command: string,
  args: string[],
  namespace: string | undefined,
  user: SystemUser | undefined,
): [string, string[]] {
  const asUser = user ? ['setpriv', `--reuid=${user.uid}`, `--regid=${user.gid}`, '--clear-groups'] : [];
  const full = [...(namespace ? ['ip', 'netns', 'exec', namespace] : []), ...asUser, command, ...args];
  return [full[0], full.slice(1)];
}

/** Starts `command` and resolves once its log prints `ready`; rejects if it exits first. */
export function startLogged(
  command: string,
  args: string[],
  ready: RegExp,
  namespace: string | undefined,
  user?: SystemUser,
): Promise<ChildProcess> {
  const child = spawn(...placed(command, args, namespace, user), { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  return new Promise((resolve, reject) => {
    const name = path.basename(command);
    const timer = setTimeout(() => fail(new Error(`${name} did not start within 20 s:\n${log}`)), 20_000);
    const fail = (error: Error) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(error);
    };
    const read = (chunk: Buffer) => {
      log += chunk;
      if (ready.test(log)) {
        clearTimeout(timer);
        child.stdout?.removeAllListeners('data').resume();
        child.stderr?.removeAllListeners('data').resume();
        resolve(child);
      }
    };
    child.stdout?.on('data', read);
    child.stderr?.on('data', read);
    child.once('error', fail);
    child.once('exit', (code, signal) => {
      fail(new Error(`${name} exited (${signal ?? code}) before it was ready:\n${log}`));
    });
  });
}

/** Blocks this thread for `ms`. */
const sleepSync = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/**
 * A started server: `stop()` sends `signals.stop` (SIGKILL after 10 s) and removes
 * `directory`; `kill()` sends `signals.kill`, waits up to 5 s (then SIGKILL) and removes it.
 */
export function running(
  child: ChildProcess,
  directory: string,
  signals: { stop: NodeJS.Signals; kill: NodeJS.Signals },
  server: { host: string; port: number; socketPath: string },
): RealServer {
  child.removeAllListeners('exit');
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const isRunning = () => child.exitCode === null && child.signalCode === null;
  return {
    ...server,
    async stop() {
      if (isRunning()) {
        child.kill(signals.stop);
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
      fs.rmSync(directory, { recursive: true, force: true });
    },
    kill() {
      if (isRunning()) {
        child.kill(signals.kill);
        // The child is not reaped while this blocks: watch /proc, where a zombie has no command line.
        const deadline = Date.now() + 5000;
        while (pidIsAlive(child.pid as number) && Date.now() < deadline) sleepSync(10);
        child.kill('SIGKILL');
      }
      fs.rmSync(directory, { recursive: true, force: true });
    },
  };
}

export function tempDirectory(name: string, owner?: SystemUser): string {
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), `socket-keepalive-${name}-`));
  if (owner) fs.chownSync(directory, owner.uid, owner.gid);
  return directory;
}

/**
 * PostgreSQL with trust authentication for user `postgres`, database `postgres`. Under
 * root it runs as the `postgres` system user: initdb refuses root. Stopped with a fast
 * shutdown (SIGINT), which ends sessions still running a query; killed with an
 * immediate shutdown (SIGQUIT), which still removes its shared memory (SIGKILL leaves
 * its System V segment behind).
 */
export async function startPostgres(
  placement: ServerPlacement & {
    /** PEM files of a certificate and its key: the server then also accepts SSL (ssl=on). */
    ssl?: { certFile: string; keyFile: string };
  } = {},
): Promise<RealServer> {
  const { host = '127.0.0.1', port, namespace, ssl } = placement;
  const bin = serverPrograms.postgres as string;
  const user = systemUser('postgres');
  const directory = tempDirectory('postgres', user);
  const data = path.join(directory, 'data');
  const initdb = ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync'];
  execFileSync(...placed(path.join(bin, 'initdb'), initdb, undefined, user), { stdio: 'ignore' });
  // initdb trusts loopback only; the server listens on `host` alone, so trust whoever reaches it.
  fs.appendFileSync(path.join(data, 'pg_hba.conf'), 'host all all all trust\n');
  const listenPort = port ?? (await freePort());
  const args = ['-D', data, '-p', String(listenPort), '-h', host, '-k', directory];
  args.push('-c', 'fsync=off', '-c', 'max_connections=50');
  if (ssl !== undefined) {
    // PostgreSQL reads the key only if its owner alone can.
    const [certFile, keyFile] = [path.join(directory, 'server.crt'), path.join(directory, 'server.key')];
    fs.copyFileSync(ssl.certFile, certFile);
    fs.copyFileSync(ssl.keyFile, keyFile);
    fs.chmodSync(keyFile, 0o600);
    if (user) for (const file of [certFile, keyFile]) fs.chownSync(file, user.uid, user.gid);
    args.push('-c', 'ssl=on', '-c', `ssl_cert_file=${certFile}`, '-c', `ssl_key_file=${keyFile}`);
  }
  const child = await startLogged(path.join(bin, 'postgres'), args, /ready to accept connections/, namespace, user);
  const server = { host, port: listenPort, socketPath: directory };
  return running(child, directory, { stop: 'SIGINT', kill: 'SIGQUIT' }, server);
}

/** redis-server, no persistence and no password, on `host` and on `<temp dir>/redis.sock`. */
export async function startRedis({ host = '127.0.0.1', port, namespace }: ServerPlacement = {}): Promise<RealServer> {
  const directory = tempDirectory('redis');
  const socketPath = path.join(directory, 'redis.sock');
  const listenPort = port ?? (await freePort());
  const args = ['--port', String(listenPort), '--bind', host, '--unixsocket', socketPath];
  args.push('--save', '', '--appendonly', 'no', '--dir', directory);
  // Bound to `host` alone; without a password, protected mode would refuse every client not on loopback.
  if (host !== '127.0.0.1') args.push('--protected-mode', 'no');
  const child = await startLogged(serverPrograms.redis as string, args, /Ready to accept connections/, namespace);
  return running(child, directory, { stop: 'SIGTERM', kill: 'SIGKILL' }, { host, port: listenPort, socketPath });
}
