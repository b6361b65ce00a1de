/** Node.js release binaries from the npm registry: the lab compares the library with Node.js 16.14's own keepalive. */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * The file `fileInPackage` of the npm package `spec` (name@version), fetched once with
 * `npm pack` into ~/.cache/socket-keepalive/`cacheName`/ and reused from there. Throws
 * when it cannot be fetched. The tests fetch their Bun and Deno releases with it too.
 */
export function cachedPackageFile(
  spec: string,
  fileInPackage: string,
  cacheName: string,
  size: string,
  log: (line: string) => void,
): string {
  const cache = path.join(
    process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'),
    'socket-keepalive',
    cacheName,
  );
  const binary = path.join(cache, path.basename(fileInPackage));
  if (fs.existsSync(binary)) return binary;
  log(`fetching ${spec} from the npm registry (about ${size}, once)...`);
  const download = fs.mkdtempSync(path.join(os.tmpdir(), 'ska-runtime-'));
  try {
    const tarball = execFileSync('npm', ['pack', spec, '--pack-destination', download], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    })
      .trim()
      .split('\n')
      .pop() as string;
    execFileSync('tar', ['-xzf', path.join(download, tarball), '-C', download, `package/${fileInPackage}`]);
    fs.mkdirSync(cache, { recursive: true });
    fs.chmodSync(path.join(download, 'package', fileInPackage), 0o755);
    fs.renameSync(path.join(download, 'package', fileInPackage), binary);
    return binary;
  } finally {
    fs.rmSync(download, { recursive: true, force: true });
  }
}

/**
 * The `node` binary of release `version` (e.g. "16.14.0") for Linux on `arch` (x64 or
 * arm64), from the npm registry package node-linux-<arch>@version, fetched once (about
 * 30 MB) into ~/.cache/socket-keepalive and reused. Throws when it cannot be fetched.
 */
export function nodeBinary(version: string, log: (line: string) => void = () => {}, arch = 'x64'): string {
  const cacheName = arch === 'x64' ? `node-v${version}` : `node-v${version}-${arch}`;
  return cachedPackageFile(`node-linux-${arch}@${version}`, 'bin/node', cacheName, '30 MB', log);
}
