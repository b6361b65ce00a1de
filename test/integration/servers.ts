/**
 * Real database and cache servers for the integration tests, on 127.0.0.1 and on a Unix
 * socket: the lab's own (demo/lab/services.ts), and whether each one is installed.
 */
import { serverPackages, serverPrograms } from '../../demo/lab/services.js';
import { skipWithout } from '../helpers/requirements.js';

export { type RealServer, serverPrograms, startMariadb, startPostgres, startRedis } from '../../demo/lab/services.js';

/**
 * True when `server` is installed. When it is not: prints why the tests that need it
 * skip, or, when env `CI` is set, throws, because under CI every server must be there.
 */
export function serverInstalled(server: keyof typeof serverPrograms): boolean {
  if (serverPrograms[server]) return true;
  skipWithout(`the ${server} integration tests`, [server], `Debian package ${serverPackages[server]}; .ci/run installs it`);
  return false;
}
