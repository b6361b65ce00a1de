// The options reach the connection attempt: a tuned socket gets its five setsockopt right
// after Node's TCP handle starts connecting (in SYN-SENT, so TCP_USER_TIMEOUT bounds the
// attempt: measured behind a real DROP in test/integration/dead-peer.test.ts), once, with
// no 'connect' listener added by the default, and nothing more at 'connect'. The syscalls
// are counted from outside the process with strace.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { libraryPath } from '../helpers/library.js';
import { missingTools, skipWithout } from '../helpers/requirements.js';
import { root } from '../helpers/tree.js';

const skip = skipWithout('the connection-attempt syscall count', missingTools('strace'), 'Debian package strace');
const register = path.join(root, 'dist', 'register.js');
const CONNECTIONS = 20;

/**
 * Runs `how` in a child under strace: a server (not tuned: `servers=off`), then
 * {@link CONNECTIONS} client sockets, one after the other, each connected, written to
 * and destroyed. Returns the setsockopt calls strace saw and the 'connect' listeners of
 * the sockets right after their `connect()` call.
 */
function traced(how: 'preload' | 'setKeepAlive' | 'untuned') {
  const script = `
    const net = require('node:net');
    const { setKeepAlive } = require(${JSON.stringify(libraryPath)});
    const listeners = [];
    const server = net.createServer((socket) => socket.resume()).listen(0, '127.0.0.1', async () => {
      for (let i = 0; i < ${CONNECTIONS}; i++) {
        await new Promise((resolve) => {
          const socket = new net.Socket();
          ${how === 'setKeepAlive' ? 'setKeepAlive(socket, { idle: 7000, interval: 2000, count: 4, userTimeout: 15000 });' : ''}
          socket.connect(server.address().port, '127.0.0.1');
          listeners.push(socket.listenerCount('connect'));
          socket.once('connect', () => { socket.write('x'); socket.destroy(); resolve(); });
        });
      }
      server.close();
      process.stderr.write('listeners ' + JSON.stringify(listeners) + '\\n');
    });`;
  const env = { ...process.env, NODE_OPTIONS: '', SOCKET_KEEPALIVE: '' };
  if (how === 'preload') {
    env.NODE_OPTIONS = `--require ${register}`;
    env.SOCKET_KEEPALIVE = 'idle=7s,interval=2s,count=4,userTimeout=15s,servers=off';
  }
  const { stderr, status } = spawnSync(
    'strace',
    ['-f', '-qq', '-e', 'trace=setsockopt', '-e', 'signal=none', process.execPath, '-e', script],
    { env, encoding: 'utf8' },
  );
  expect(status, stderr).toBe(0);
  return stderr;
}

/** The keepalive setsockopt calls of a strace output, by option name. */
function keepaliveCalls(output: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const [, option] of output.matchAll(/setsockopt\(\d+, SOL_(?:SOCKET|TCP), (\w+),/g))
    if (/KEEP|USER_TIMEOUT/.test(option)) counts[option] = (counts[option] ?? 0) + 1;
  return counts;
}

const listenersOf = (output: string) => JSON.parse((/listeners (\[.*\])/.exec(output) as RegExpExecArray)[1]);

describe.skipIf(skip)('the options reach the connection attempt, once', () => {
  const five = (times: number) => ({
    SO_KEEPALIVE: times,
    TCP_KEEPIDLE: times,
    TCP_KEEPINTVL: times,
    TCP_KEEPCNT: times,
    TCP_USER_TIMEOUT: times,
  });

  test('under the preload: five setsockopt per connection and no listener, like an untuned socket', () => {
    const untuned = traced('untuned');
    const preload = traced('preload');
    expect(keepaliveCalls(untuned)).toEqual({});
    expect(keepaliveCalls(preload)).toEqual(five(CONNECTIONS));
    expect(listenersOf(preload)).toEqual(listenersOf(untuned));
  });

  test('setKeepAlive before connect: five setsockopt per connection, applied in SYN-SENT and not again at connect', () => {
    expect(keepaliveCalls(traced('setKeepAlive'))).toEqual(five(CONNECTIONS));
  });
});
