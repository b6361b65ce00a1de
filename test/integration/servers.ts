/**
 * Real database and cache servers for the integration tests, on 127.0.0.1 and on a Unix
 * socket: the lab's own PostgreSQL and redis (demo/lab/services.ts), MariaDB, which only
 * the tests use, and whether each one is installed.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import {
  freePort,
  serverPackages as labServerPackages,
  serverPrograms as labServerPrograms,
  onPath,
  type RealServer,
  running,
  startLogged,
  tempDirectory,
} from '../../demo/lab/services.js';
import { skipWithout } from '../helpers/requirements.js';

export { type RealServer, startPostgres, startRedis } from '../../demo/lab/services.js';

const mariadbInstallDb = onPath('mariadb-install-db');
const serverPrograms = { ...labServerPrograms, mariadb: mariadbInstallDb && onPath('mariadbd') };
const serverPackages = { ...labServerPackages, mariadb: 'mariadb-server' };

/**
 * True when `server` is installed. When it is not: prints why the tests that need it
 * skip, or, when env `CI` is set, throws, because under CI every server must be there.
 */
export function serverInstalled(server: keyof typeof serverPrograms): boolean {
  if (serverPrograms[server]) return true;
  skipWithout(
    `the ${server} integration tests`,
    [server],
    `Debian package ${serverPackages[server]}; .ci/run installs it`,
  );
  return false;
}

/** MariaDB with user `root` and no password, on `host` and on `<temp dir>/mysql.sock`. */
export async function startMariadb({
  host = '127.0.0.1',
  port,
}: {
  host?: string;
  port?: number;
} = {}): Promise<RealServer> {
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
  const listenPort = port ?? (await freePort());
  const args = [
    '--no-defaults',
    `--datadir=${data}`,
    ...asUser,
    `--socket=${socketPath}`,
    `--port=${listenPort}`,
    `--bind-address=${host}`,
    '--innodb-buffer-pool-size=16M',
  ];
  const child = await startLogged(serverPrograms.mariadb as string, args, /ready for connections/, undefined);
  return running(child, directory, { stop: 'SIGTERM', kill: 'SIGKILL' }, { host, port: listenPort, socketPath });
}
