// socket-keepalive/register, run as Node runs it: the built preload (dist/) in real child
// processes, reading SOCKET_KEEPALIVE; the kernel's values read back inside each app.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, test } from 'vitest';
import type { keepAliveEnvironment } from '../helpers/library.js';
import { type RunResult, runNode } from '../helpers/run.js';
import { root } from '../helpers/tree.js';

const dist = path.join(root, 'dist');
const register = path.join(dist, 'register.js');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'ska-register-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

const SETTING = 'idle=10s,interval=2s,count=3,userTimeout=20s';
const TUNED = { enable: true, idle: 10_000, interval: 2000, count: 3, userTimeout: 20_000 };
const UNTUNED = { enable: false, idle: 7_200_000, interval: 75_000, count: 9, userTimeout: 0 };

/**
 * An app (CommonJS) that opens a listener and connects to it with `new net.Socket().connect()`,
 * and prints, as JSON, what the kernel has for both, read at the app's 'connect' listener.
 */
const PROBE = `
const net = require('node:net');
const { getKeepAlive } = require(${JSON.stringify(dist)});
function probe() {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const socket = new net.Socket();
      socket.connect(server.address().port, '127.0.0.1', () => {
        const result = { client: getKeepAlive(socket), listener: getKeepAlive(server) };
        socket.destroy();
        server.close();
        resolve(result);
      });
    });
  });
}
`;

function writeApp(name: string, body: string): string {
  const file = path.join(work, name);
  fs.writeFileSync(file, body);
  return file;
}

const mainApp = writeApp('main.cjs', `${PROBE}\nprobe().then((result) => console.log(JSON.stringify(result)));\n`);

function node(args: string[], env: Record<string, string | undefined> = {}, cwd = work): Promise<RunResult> {
  return runNode(args, env, cwd);
}

function lastJson(run: RunResult): unknown {
  if (run.code !== 0) throw new Error(`exit ${run.code}: ${run.stderr}`);
  return JSON.parse(run.stdout.trim().split('\n').pop() as string);
}

describe('node --require socket-keepalive/register', () => {
  test('tunes client sockets and listeners from SOCKET_KEEPALIVE', async () => {
    expect(lastJson(await node(['--require', register, mainApp], { SOCKET_KEEPALIVE: SETTING }))).toEqual({
      client: TUNED,
      listener: TUNED,
    });
  });

  test('servers=off leaves listeners alone', async () => {
    expect(
      lastJson(await node(['--require', register, mainApp], { SOCKET_KEEPALIVE: `${SETTING},servers=off` })),
    ).toEqual({ client: TUNED, listener: UNTUNED });
  });

  test('SOCKET_KEEPALIVE=off: nothing is changed', async () => {
    expect(lastJson(await node(['--require', register, mainApp], { SOCKET_KEEPALIVE: 'off' }))).toEqual({
      client: UNTUNED,
      listener: UNTUNED,
    });
  });

  test.each([undefined, ''])(
    'SOCKET_KEEPALIVE=%j: the default options, as socket-keepalive run applies them',
    async (setting) => {
      expect(lastJson(await node(['--require', register, mainApp], { SOCKET_KEEPALIVE: setting }))).toEqual({
        client: TUNED,
        listener: TUNED,
      });
    },
  );

  test('the package name resolves through its exports, in NODE_OPTIONS too', async () => {
    expect(
      lastJson(await node(['--require', 'socket-keepalive/register', mainApp], { SOCKET_KEEPALIVE: SETTING }, root)),
    ).toEqual({ client: TUNED, listener: TUNED });
    expect(
      lastJson(
        await node([mainApp], { SOCKET_KEEPALIVE: SETTING, NODE_OPTIONS: '--require socket-keepalive/register' }, root),
      ),
    ).toEqual({ client: TUNED, listener: TUNED });
  });

  test.each([
    ['idle=1500ms', /SOCKET_KEEPALIVE.idle" is out of range. It must be .*>= 1000 && <= 32767000. Received 1500/],
    ['userTimeout=20', /'SOCKET_KEEPALIVE.userTimeout' needs a unit: write 20s or 20ms/],
    ['count=200', /SOCKET_KEEPALIVE.count" is out of range. It must be an integer >= 1 && <= 127/],
    ['idle=soon', /'SOCKET_KEEPALIVE.idle' must be a duration/],
  ])('SOCKET_KEEPALIVE=%s stops the process before the app runs, exit code 9', async (setting, message) => {
    const run = await node(['--require', register, mainApp], { SOCKET_KEEPALIVE: setting });
    expect(run.code).toBe(9);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/^socket-keepalive: SOCKET_KEEPALIVE=/);
    expect(run.stderr).toMatch(message);
  });

  test.each([
    ['--import', ['--import', register.replace(/\.js$/, '.mjs'), mainApp], {}],
    ['NODE_OPTIONS', [mainApp], { NODE_OPTIONS: `--require ${JSON.stringify(register)}` }],
  ])('a bare time through %s stops the process the same way, exit code 9', async (_, args, env) => {
    const run = await node(args, { ...env, SOCKET_KEEPALIVE: 'idle=5s,userTimeout=8' });
    expect(run.code).toBe(9);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(
      /^socket-keepalive: SOCKET_KEEPALIVE="idle=5s,userTimeout=8" is refused: The argument 'SOCKET_KEEPALIVE.userTimeout' needs a unit: write 8s or 8ms\./,
    );
  });

  test('no native addon for the platform: one warning, and the app runs untuned', async () => {
    const copy = path.join(work, 'no-addon');
    fs.mkdirSync(copy);
    fs.cpSync(dist, path.join(copy, 'dist'), { recursive: true });
    fs.copyFileSync(path.join(root, 'package.json'), path.join(copy, 'package.json'));
    fs.symlinkSync(path.join(root, 'node_modules'), path.join(copy, 'node_modules'));
    const app = writeApp(
      'no-addon.cjs',
      `const net = require('node:net');
const server = net.createServer((socket) => socket.pipe(socket)).listen(0, '127.0.0.1', () => {
  const socket = net.connect(server.address().port, '127.0.0.1', () => socket.write('ping'));
  socket.on('data', (data) => { console.log(String(data)); socket.destroy(); server.close(); });
});
`,
    );
    const run = await node(['--require', path.join(copy, 'dist', 'register.js'), app], { SOCKET_KEEPALIVE: SETTING });
    expect(run.code).toBe(0);
    expect(run.stdout.trim()).toBe('ping');
    expect(run.stderr.match(/SOCKET_KEEPALIVE_NO_ADDON/g)).toHaveLength(1);
    expect(run.stderr).toMatch(/no native addon for linux-/);
  });
});

describe('the preload in ESM apps, worker threads and child processes', () => {
  test('node --import socket-keepalive/register with an ESM app', async () => {
    const app = writeApp(
      'main.mjs',
      `import { createRequire } from 'node:module';\nconst require = createRequire(import.meta.url);\n${PROBE}\nconsole.log(JSON.stringify(await probe()));\n`,
    );
    expect(
      lastJson(await node(['--import', 'socket-keepalive/register', app], { SOCKET_KEEPALIVE: SETTING }, root)),
    ).toEqual({ client: TUNED, listener: TUNED });
  });

  const WORKERS = `${PROBE}
const { Worker, isMainThread, parentPort, SHARE_ENV } = require('node:worker_threads');
if (isMainThread) {
  const variants = { inherited: {}, 'env: {}': { env: {} }, 'execArgv: []': { execArgv: [] }, 'env: {} and execArgv: []': { env: {}, execArgv: [] }, 'env: SHARE_ENV': { env: SHARE_ENV } };
  (async () => {
    const results = {};
    for (const [name, options] of Object.entries(variants)) {
      const worker = new Worker(__filename, options);
      const [message] = await Promise.all([new Promise((resolve) => worker.once('message', resolve)), new Promise((resolve) => worker.once('exit', resolve))]);
      results[name] = message;
    }
    console.log(JSON.stringify(results));
  })();
} else {
  probe().then((result) => parentPort.postMessage(result.client.idle));
}
`;

  test.each([
    ['--require on the command line', ['--require', register], {}],
    ['--require in NODE_OPTIONS', [], { NODE_OPTIONS: `--require ${JSON.stringify(register)}` }],
    ['--import', ['--import', register.replace(/\.js$/, '.mjs')], {}],
  ])('%s: workers started with any env and execArgv are tuned', async (_name, args, env) => {
    const app = writeApp('workers.cjs', WORKERS);
    const idle = TUNED.idle;
    const expected: Record<string, number> = {
      inherited: idle,
      'env: {}': idle,
      'execArgv: []': idle,
      'env: {} and execArgv: []': idle,
      'env: SHARE_ENV': idle,
    };
    expect(lastJson(await node([...args, app], { SOCKET_KEEPALIVE: SETTING, ...env }))).toEqual(expected);
  });

  test('a forked child process inheriting NODE_OPTIONS is tuned, from another working directory', async () => {
    const app = writeApp(
      'fork.cjs',
      `${PROBE}
const { fork } = require('node:child_process');
if (process.argv[2] === 'child') probe().then((result) => { console.log(JSON.stringify(result)); });
else fork(__filename, ['child'], { cwd: require('node:os').tmpdir() });
`,
    );
    // The built package's own function, so that NODE_OPTIONS names the built preload.
    const built = (await import(path.join(dist, 'index.js'))) as { keepAliveEnvironment: typeof keepAliveEnvironment };
    const env = built.keepAliveEnvironment({ idle: 10_000, interval: 2000, count: 3, userTimeout: 20_000 }, {}, {});
    expect(env.NODE_OPTIONS).toBe(`--require ${JSON.stringify(register)}`);
    expect(lastJson(await node([app], env, os.tmpdir()))).toEqual({ client: TUNED, listener: TUNED });
  });
});

test('the packed package ships the preload', async () => {
  const { stdout } = await promisify(execFile)('npm', ['pack', '--dry-run', '--ignore-scripts', '--json'], {
    cwd: root,
    encoding: 'utf8',
  });
  const files = (JSON.parse(stdout) as { files: { path: string }[] }[])[0].files.map((file) => file.path);
  expect(files).toEqual(
    expect.arrayContaining([
      'dist/register.js',
      'dist/register.mjs',
      'dist/child-environment.js',
      'dist/keepalive-variable.js',
      'dist/default.js',
    ]),
  );
});
