import fs from 'node:fs';
import { describe, expect, test } from 'vitest';
import { captureError } from '../helpers/errors.js';
import { detectionTime } from '../helpers/library.js';

// Hand-computed from tcp_keepalive_timer() in net/ipv4/tcp_timer.c: the timer first
// fires `idle` after the last data received, then every `interval`; with no user
// timeout the connection drops once `count` probes are outstanding, with one it drops at
// the first tick (k >= 1 probes out) where the silence has lasted userTimeout.
describe('detectionTime', () => {
  test.each([
    [
      'idle 2 s, interval 1 s, count 2',
      { idle: 2000, interval: 1000, count: 2 },
      { idleConnectionMs: 4000, dataInFlightMs: null },
    ],
    [
      'idle 2 s, interval 1 s, count 5',
      { idle: 2000, interval: 1000, count: 5 },
      { idleConnectionMs: 7000, dataInFlightMs: null },
    ],
    [
      "Node's setKeepAlive(true, 2000): 2 s / 1 s / 10",
      { idle: 2000, interval: 1000, count: 10 },
      { idleConnectionMs: 12_000, dataInFlightMs: null },
    ],
    [
      'idle 1 s, interval 1 s, count 3',
      { idle: 1000, interval: 1000, count: 3 },
      { idleConnectionMs: 4000, dataInFlightMs: null },
    ],
    // userTimeout 3000 with idle 2000, interval 1000: ticks at 2000 (probe 1), 3000 (3000 >= 3000, 1 out) -> 3000
    [
      'user timeout ends it at the first tick past it',
      { idle: 2000, interval: 1000, count: 9, userTimeout: 3000 },
      { idleConnectionMs: 3000, dataInFlightMs: 3000 },
    ],
    // ticks at 2000, 5000, 8000: 8000 is the first >= 7500
    [
      'user timeout between ticks rounds up to the next tick',
      { idle: 2000, interval: 3000, count: 1, userTimeout: 7500 },
      { idleConnectionMs: 8000, dataInFlightMs: 7500 },
    ],
    // user timeout shorter than idle: still needs one probe out, so idle + interval
    [
      'user timeout shorter than idle needs one probe',
      { idle: 10_000, interval: 5000, count: 9, userTimeout: 1000 },
      { idleConnectionMs: 15_000, dataInFlightMs: 1000 },
    ],
    // count is ignored when a user timeout is set, even when count would end it sooner
    [
      'count is ignored with a user timeout',
      { idle: 1000, interval: 1000, count: 1, userTimeout: 20_000 },
      { idleConnectionMs: 20_000, dataInFlightMs: 20_000 },
    ],
    [
      'keepalive off: never on an idle connection',
      { enable: false, userTimeout: 5000 },
      { idleConnectionMs: Infinity, dataInFlightMs: 5000 },
    ],
    [
      'nothing set: never, and retransmissions govern in flight',
      {},
      { idleConnectionMs: Infinity, dataInFlightMs: null },
    ],
  ])('%s', (_name, options, expected) => {
    expect(detectionTime(options)).toEqual(expected);
  });

  test("fields left out take this system's sysctl defaults", () => {
    const sysctl = (name: string) => Number(fs.readFileSync(`/proc/sys/net/ipv4/${name}`, 'utf8'));
    const idle = sysctl('tcp_keepalive_time') * 1000;
    const interval = sysctl('tcp_keepalive_intvl') * 1000;
    const count = sysctl('tcp_keepalive_probes');
    expect(detectionTime({ enable: true })).toEqual({
      idleConnectionMs: idle + count * interval,
      dataInFlightMs: null,
    });
    expect(detectionTime({ count: 2 })).toEqual({ idleConnectionMs: idle + 2 * interval, dataInFlightMs: null });
  });

  test('validates like setKeepAlive', () => {
    expect(captureError(() => detectionTime({ idle: 1500 }))).toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
    expect(captureError(() => detectionTime(null as never))).toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
  });
});
