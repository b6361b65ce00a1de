import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/**
 * Real database and cache servers for the integration tests: each runs from its Debian
 * binary on 127.0.0.1 and on a Unix socket, with its data in a fresh temporary
 * directory that `stop()` removes.
 */
export interface RealServer {
  host: '127.0.0.1';
  port: number;
  /** The Unix socket (redis, MariaDB) or the socket directory (PostgreSQL). */
  socketPath: string;
  stop(): Promise<void>;
}

const postgresBin = () => {
  const versions = fs.existsSync('/usr/lib/postgresql') ? fs.readdirSync('/usr/lib/postgresql').sort((a, b) => Number(b) - Number(a)) : [];
  return versions.map((version) => `/usr/lib/postgresql/${version}/bin`).find((bin) => fs.existsSync(path.join(bin, 'postgres')));
};

function onPath(command: string): string | undefined {
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
  mariadb: onPath('mariadbd') && onPath('mariadb-install-db') ? onPath('mariadbd') : undefined,
};
const mariadbInstallDb = onPath('mariadb-install-db');

const packages = { postgres: 'postgresql', redis: 'redis-server', mariadb: 'mariadb-server' };

/**
 * True when `server` is installed. When it is not: prints why the tests that need it
 * skip, or, when env `CI` is set, throws, because under CI every server must be there.
 */
export function serverInstalled(server: keyof typeof serverPrograms): boolean {
  if (serverPrograms[server]) return true;
  const reason = `${server} is not installed (Debian package ${packages[server]}; .ci/run installs it)`;
  if (process.env.CI) throw new Error(`${reason}; under CI the integration tests must run`);
  console.warn(`skipping the ${server} integration tests: ${reason}`);
  return false;
}

/** A port nobody listens on right now. */
async function freePort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The uid and gid of a system user, for servers that refuse to run as root. */
function systemUser(name: string): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined; // not root: run as ourselves
  const id = (flag: string) => Number(execFileSync('id', [flag, name], { encoding: 'utf8' }).trim());
  return { uid: id('-u'), gid: id('-g') };
}

/** Starts `command` and resolves once its log prints `ready`; rejects if it exits first. */
function startLogged(command: string, args: string[], ready: RegExp, user?: { uid: number; gid: number }): Promise<ChildProcess> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...user });
  let log = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`${path.basename(command)} did not start within 20 s:\n${log}`)), 20_000);
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
    child.once('exit', (code, signal) => fail(new Error(`${path.basename(command)} exited (${signal ?? code}) before it was ready:\n${log}`)));
  });
}

/** Stops a server started by startLogged and removes its directory. */
async function stopAndRemove(child: ChildProcess, directory: string): Promise<void> {
  child.removeAllListeners('exit');
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
  fs.rmSync(directory, { recursive: true, force: true });
}

function tempDirectory(name: string, owner?: { uid: number; gid: number }): string {
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), `socket-keepalive-${name}-`));
  if (owner) fs.chownSync(directory, owner.uid, owner.gid);
  return directory;
}

/**
 * PostgreSQL with trust authentication for user `postgres`, database `postgres`. Under
 * root it runs as the `postgres` system user: initdb refuses root.
 */
export async function startPostgres(): Promise<RealServer> {
  const bin = serverPrograms.postgres as string;
  const user = systemUser('postgres');
  const directory = tempDirectory('postgres', user);
  const data = path.join(directory, 'data');
  execFileSync(path.join(bin, 'initdb'), ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync'], { stdio: 'ignore', ...user });
  const port = await freePort();
  const args = ['-D', data, '-p', String(port), '-h', '127.0.0.1', '-k', directory, '-c', 'fsync=off', '-c', 'max_connections=50'];
  const child = await startLogged(path.join(bin, 'postgres'), args, /ready to accept connections/, user);
  return { host: '127.0.0.1', port, socketPath: directory, stop: () => stopAndRemove(child, directory) };
}

/** redis-server, no persistence, on 127.0.0.1 and on `<temp dir>/redis.sock`. */
export async function startRedis(): Promise<RealServer> {
  const directory = tempDirectory('redis');
  const socketPath = path.join(directory, 'redis.sock');
  const port = await freePort();
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--unixsocket', socketPath, '--save', '', '--appendonly', 'no', '--dir', directory];
  const child = await startLogged(serverPrograms.redis as string, args, /Ready to accept connections/);
  return { host: '127.0.0.1', port, socketPath, stop: () => stopAndRemove(child, directory) };
}

/** MariaDB with user `root` and no password, on 127.0.0.1 and on `<temp dir>/mysql.sock`. */
export async function startMariadb(): Promise<RealServer> {
  const directory = tempDirectory('mariadb');
  const data = path.join(directory, 'data');
  const socketPath = path.join(directory, 'mysql.sock');
  // Under root, mariadbd must be told explicitly that root is meant.
  const asUser = process.getuid?.() === 0 ? ['--user=root'] : [];
  execFileSync(
    mariadbInstallDb as string,
    ['--no-defaults', `--datadir=${data}`, ...asUser, '--auth-root-authentication-method=normal', '--skip-test-db'],
    { stdio: 'ignore' },
  );
  const port = await freePort();
  const args = ['--no-defaults', `--datadir=${data}`, ...asUser, `--socket=${socketPath}`, `--port=${port}`, '--bind-address=127.0.0.1', '--innodb-buffer-pool-size=16M'];
  const child = await startLogged(serverPrograms.mariadb as string, args, /ready for connections/);
  return { host: '127.0.0.1', port, socketPath, stop: () => stopAndRemove(child, directory) };
}
