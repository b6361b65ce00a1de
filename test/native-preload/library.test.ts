// The preload library (native/preload.c) under LD_PRELOAD, in programs that are not Node:
// its reading of SOCKET_KEEPALIVE (the option table the addon exports, held equal to
// lib/options.ts; every refused value stops the program with the Node preload's line and
// exit code, byte for byte), and the kernel's values of a Python program's sockets read
// from outside (inspectProcess). Inside Node, with the Node preload loaded too, each
// connection gets its setsockopt once (strace).
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { DEFAULT_PRELOAD_OPTIONS, KEEPALIVE_LIMITS, preloadLibrary } from '../helpers/library.js';
import { REFUSED_SETTINGS } from '../helpers/refused-settings.js';
import { missingTools, skipWithout } from '../helpers/requirements.js';
import { run } from '../helpers/run.js';
import { OPTION_TABLE } from '../helpers/text.js';
import { root } from '../helpers/tree.js';
import { inspectApp, stateOf } from './inspect-app.js';

const library = preloadLibrary('glibc');
const register = path.join(root, 'dist', 'register.js');
const socketsApp = path.join(__dirname, 'fixtures', 'sockets.py');
const SETTING = 'idle=7s,interval=3s,count=4,userTimeout=9s';
const TUNED = { enable: true, idle: 7000, interval: 3000, count: 4, userTimeout: 9000 };
const UNTUNED = { enable: false, idle: 7_200_000, interval: 75_000, count: 9, userTimeout: 0 };

/** This environment less the variables of this package, plus `env`. */
function environment(env: Record<string, string | undefined>): NodeJS.ProcessEnv {
  return { ...process.env, SOCKET_KEEPALIVE: undefined, NODE_OPTIONS: undefined, LD_PRELOAD: undefined, ...env };
}

test('the build made the preload library, and lib/ finds it', () => {
  expect(library.missing).toBeUndefined();
  expect(fs.existsSync(library.path as string)).toBe(true);
});

test('its option table is lib/options.ts: socket options, units, limits, defaults and what it keeps', () => {
  const { optionTable } = require(path.join(root, 'build', 'Release', 'socket_keepalive.node')) as {
    optionTable: Record<string, unknown>[];
  };
  const columns = [
    'name',
    'kernelOption',
    'unit',
    'kernelScale',
    'min',
    'max',
    'step',
    'defaultValue',
    'kept',
  ] as const;
  expect(optionTable).toEqual(
    OPTION_TABLE.map((spec) => Object.fromEntries(columns.map((column) => [column, spec[column]]))),
  );
  expect(Object.fromEntries(optionTable.map(({ name, min, max, step }) => [name, { min, max, step }]))).toEqual(
    KEEPALIVE_LIMITS,
  );
  expect(Object.fromEntries(optionTable.map(({ name, defaultValue }) => [name, defaultValue]))).toEqual(
    DEFAULT_PRELOAD_OPTIONS,
  );
});

describe('a refused SOCKET_KEEPALIVE stops the program at start, as the Node preload does', () => {
  const values = [...REFUSED_SETTINGS.map(([text]) => text), ' idle = 5 ', 'idle=99999999999999999999999h', 'a=\'b"`'];
  test.each(values)('%s: the same line on stderr, exit code 9', async (text) => {
    const node = await run(process.execPath, ['--require', register, '-e', 'console.log("ran")'], {
      env: environment({ SOCKET_KEEPALIVE: text }),
    });
    const native = await run('sh', ['-c', 'echo ran'], {
      env: environment({ SOCKET_KEEPALIVE: text, LD_PRELOAD: library.path }),
    });
    expect(node).toMatchObject({ code: 9, stdout: '' });
    expect(node.stderr).toMatch(/^socket-keepalive: SOCKET_KEEPALIVE=.* is refused: /);
    expect(native).toEqual(node);
  });
});

describe.skipIf(skipWithout('the Python program', missingTools('python3')))('a Python program', () => {
  interface Report {
    pid: number;
    port: number;
    clients: Record<'plain' | 'reset' | 'off' | 'userTimeout' | 'nonBlocking', number>;
    errors: Record<string, string>;
    leftAlone: Record<string, number>;
  }

  test('its listener, accepted sockets and clients carry SOCKET_KEEPALIVE, read from outside', async () => {
    const { report, sockets, code } = await inspectApp<Report>('python3', [socketsApp], {
      env: environment({ SOCKET_KEEPALIVE: SETTING, LD_PRELOAD: library.path }),
    });
    expect(code).toBe(0);
    const { port, clients } = report;
    expect(stateOf(sockets, port, 0)).toEqual(TUNED);
    expect(stateOf(sockets, clients.plain)).toEqual(TUNED);
    expect(stateOf(sockets, port, clients.plain)).toEqual(TUNED);
    expect(stateOf(sockets, clients.nonBlocking)).toEqual(TUNED);
    // The program's later idle, interval and count are answered, and the library's stay.
    expect(stateOf(sockets, clients.reset)).toEqual(TUNED);
    expect(stateOf(sockets, clients.off)).toEqual({ ...TUNED, enable: false });
    expect(stateOf(sockets, clients.userTimeout)).toEqual({ ...TUNED, userTimeout: 4321 });
    // Each call's own result and errno reach the program unchanged.
    expect(report.errors).toEqual({ keepIdleZero: 'EINVAL', refused: 'ECONNREFUSED', nonBlocking: 'EINPROGRESS' });
    expect(report.leftAlone).toEqual({ udp: 0, unix: 0 });
  });

  test('unset: the default options; servers=off: the listener and what it accepts are left alone', async () => {
    const unset = await inspectApp<Report>('python3', [socketsApp], {
      env: environment({ LD_PRELOAD: library.path }),
    });
    const { enable: _, ...defaults } = { enable: true, ...DEFAULT_PRELOAD_OPTIONS };
    expect(stateOf(unset.sockets, unset.report.clients.plain)).toEqual({ enable: true, ...defaults });
    const clientsOnly = await inspectApp<Report>('python3', [socketsApp], {
      env: environment({ SOCKET_KEEPALIVE: `${SETTING},servers=off`, LD_PRELOAD: library.path }),
    });
    const { port, clients } = clientsOnly.report;
    expect(stateOf(clientsOnly.sockets, port, 0)).toEqual(UNTUNED);
    expect(stateOf(clientsOnly.sockets, port, clients.plain)).toEqual(UNTUNED);
    expect(stateOf(clientsOnly.sockets, clients.plain)).toEqual(TUNED);
  });

  test('off: every socket keeps the system values', async () => {
    const { report, sockets } = await inspectApp<Report>('python3', [socketsApp], {
      env: environment({ SOCKET_KEEPALIVE: 'off', LD_PRELOAD: library.path }),
    });
    expect(stateOf(sockets, report.port, 0)).toEqual(UNTUNED);
    expect(stateOf(sockets, report.clients.plain)).toEqual(UNTUNED);
  });
});

test("inside Node, an explicit setKeepAlive wins over the preload library, which keeps the fields it leaves out against Node's own call", async () => {
  const app = `
const net = require('node:net');
const { setKeepAlive, getKeepAlive } = require(${JSON.stringify(path.join(root, 'dist', 'index.js'))});
const server = net.createServer(() => {}).listen(0, '127.0.0.1', () => {
  const socket = net.connect(server.address().port, '127.0.0.1', () => {
    setKeepAlive(socket, { idle: 30000 });
    socket.setKeepAlive(true, 1000);
    console.log(JSON.stringify(getKeepAlive(socket)));
    socket.destroy();
    server.close();
  });
});`;
  const result = await run(process.execPath, ['-e', app], {
    env: environment({ SOCKET_KEEPALIVE: SETTING, LD_PRELOAD: library.path }),
  });
  expect(JSON.parse(result.stdout)).toEqual({ ...TUNED, idle: 30_000 });
});

describe.skipIf(skipWithout('counting setsockopt calls', missingTools('strace')))('inside Node, both layers', () => {
  test('a listener and a client get their setsockopt (SO_KEEPALIVE and each option) once each, and the Node preload still counts them tuned', async () => {
    const app = `
const net = require('node:net');
const { keepAliveStats, getKeepAlive } = require(${JSON.stringify(path.join(root, 'dist', 'index.js'))});
const server = net.createServer((socket) => socket.pipe(socket)).listen(0, '127.0.0.1', () => {
  const socket = net.connect(server.address().port, '127.0.0.1', () => socket.write('ping'));
  socket.on('data', () => {
    const { socketsTuned, listenersTuned } = keepAliveStats();
    console.log(JSON.stringify({ socketsTuned, listenersTuned, client: getKeepAlive(socket) }));
    socket.destroy();
    server.close();
  });
});`;
    const traced = await run('strace', ['-f', '-e', 'trace=setsockopt', process.execPath, '-e', app], {
      env: environment({ SOCKET_KEEPALIVE: SETTING, LD_PRELOAD: library.path, NODE_OPTIONS: `--require ${register}` }),
    });
    expect(traced.code).toBe(0);
    const options = ['SO_KEEPALIVE', ...OPTION_TABLE.map(({ kernelOption }) => kernelOption)];
    const calls = traced.stderr.split('\n').filter((line) => options.some((option) => line.includes(option)));
    expect(calls).toHaveLength(2 * options.length);
    expect(JSON.parse(traced.stdout)).toEqual({ socketsTuned: 1, listenersTuned: 1, client: TUNED });
  });
});
