import dgram from 'node:dgram';
import { once } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { captureError } from '../helpers/errors.js';
import { getKeepAlive, type KeepAliveState, setKeepAlive } from '../helpers/library.js';
import { fdOf, useConnectedSocket, useServer } from '../helpers/sockets.js';

// Property: for any option object and any target, setKeepAlive either throws the
// documented typed error and leaves the kernel values as they were, or leaves them
// exactly as requested. The oracle below is written from the documented ranges, not
// from the library's validator.
const RUNS = 5000;

type Verdict = { ok: true; fields: Partial<KeepAliveState> } | { ok: false; errors: Set<'type' | 'range'> };

function oracle(options: unknown): Verdict {
  if (typeof options !== 'object' || options === null || Array.isArray(options))
    return { ok: false, errors: new Set(['type']) };
  const known = ['enable', 'idle', 'interval', 'count', 'userTimeout'];
  if (Object.keys(options).some((key) => !known.includes(key))) return { ok: false, errors: new Set(['type']) };
  const record = options as Record<string, unknown>;
  const errors = new Set<'type' | 'range'>();
  const fields: Partial<KeepAliveState> = {};
  const number = (key: 'idle' | 'interval' | 'count' | 'userTimeout', min: number, max: number, step: number) => {
    const value = record[key];
    if (value === undefined) return;
    if (typeof value !== 'number') errors.add('type');
    else if (!Number.isInteger(value) || value < min || value > max || value % step !== 0) errors.add('range');
    else fields[key] = value + 0; // the kernel has no -0
  };
  if (record.enable !== undefined) {
    if (typeof record.enable !== 'boolean') errors.add('type');
    else fields.enable = record.enable;
  }
  number('idle', 1000, 32_767_000, 1000);
  number('interval', 1000, 32_767_000, 1000);
  number('count', 1, 127, 1);
  number('userTimeout', 0, 2_147_483_647, 1);
  if (errors.size > 0) return { ok: false, errors };
  if (fields.enable === undefined && Object.keys(fields).length > 0) fields.enable = true;
  return { ok: true, fields };
}

const edgeNumbers = fc.constantFrom(
  0,
  -0,
  1,
  -1,
  127,
  128,
  999,
  1000,
  1500,
  32_767_000,
  32_768_000,
  2_147_483_647,
  2 ** 31,
  NaN,
  Infinity,
  -Infinity,
  0.5,
);
const anyValue = fc.oneof(
  fc.boolean(),
  edgeNumbers,
  fc.integer({ min: -5, max: 200 }),
  fc.integer({ min: 1, max: 32_767 }).map((seconds) => seconds * 1000),
  fc.integer({ min: 0, max: 2_147_483_647 }),
  fc.double(),
  fc.string(),
  fc.constant(null),
  fc.constant(undefined),
  fc.bigInt(),
  fc.array(fc.integer(), { maxLength: 2 }),
);
const validOptions = fc.record(
  {
    enable: fc.boolean(),
    idle: fc.integer({ min: 1, max: 32_767 }).map((seconds) => seconds * 1000),
    interval: fc.integer({ min: 1, max: 32_767 }).map((seconds) => seconds * 1000),
    count: fc.integer({ min: 1, max: 127 }),
    userTimeout: fc.integer({ min: 0, max: 2_147_483_647 }),
  },
  { requiredKeys: [] },
);
const options = fc.oneof(
  validOptions,
  // one known field of a valid object replaced by anything: single-field errors, often
  fc
    .tuple(validOptions, fc.constantFrom('enable', 'idle', 'interval', 'count', 'userTimeout'), anyValue)
    .map(([valid, key, value]) => ({ ...valid, [key]: value })),
  fc.record(
    { enable: anyValue, idle: anyValue, interval: anyValue, count: anyValue, userTimeout: anyValue },
    { requiredKeys: [] },
  ),
  fc
    .tuple(validOptions, fc.string({ minLength: 1 }), anyValue)
    .map(([valid, key, value]) => ({ ...valid, [key]: value })),
  fc.anything(),
);

const connection = useConnectedSocket();
const listening = useServer();
let unixServer: net.Server;
let unixClient: net.Socket;
let udp: dgram.Socket;
const opened: number[] = [];
const unixPath = path.join(os.tmpdir(), `ska-property-${process.pid}.sock`);

beforeAll(async () => {
  unixServer = net.createServer().listen(unixPath);
  await once(unixServer, 'listening');
  unixClient = net.connect(unixPath);
  await once(unixClient, 'connect');
  udp = dgram.createSocket('udp4');
});

afterAll(async () => {
  unixClient.destroy();
  udp.close();
  for (const fd of opened) fs.closeSync(fd);
  await new Promise((resolve) => unixServer.close(resolve));
});

/** Targets whose kernel values can be read back, with how to read them. */
function readable(): [string, () => net.Socket | net.Server | number, () => KeepAliveState][] {
  return [
    ['connected socket', () => connection.socket, () => getKeepAlive(connection.socket)],
    ['its fd number', () => fdOf(connection.socket), () => getKeepAlive(connection.socket)],
    ['listening server', () => listening.server, () => getKeepAlive(listening.server)],
  ];
}

/** Targets that are refused whatever the options are, with the code they get for valid options. */
function refused(): [string, () => unknown, string][] {
  const destroyed = new net.Socket();
  destroyed.destroy();
  const file = fs.openSync(__filename, 'r');
  const [readEnd] = [fs.openSync('/dev/null', 'r')];
  opened.push(file, readEnd);
  // Closed just before use: a number closed earlier may be taken by any fd opened since.
  const closed = () => {
    const fd = fs.openSync(__filename, 'r');
    fs.closeSync(fd);
    return fd;
  };
  return [
    ['destroyed socket', () => destroyed, 'ERR_SOCKET_CLOSED'],
    ['Unix domain socket', () => unixClient, 'ERR_INVALID_ARG_VALUE'],
    ['closed fd', closed, 'EBADF'],
    ['file fd', () => file, 'ENOTSOCK'],
    ['character device fd', () => readEnd, 'ENOTSOCK'],
  ];
}

const expectOptionsError = (error: unknown, verdict: Verdict & { ok: false }) => {
  const { code } = error as { code?: string };
  if (code === 'ERR_INVALID_ARG_TYPE') expect(error).toBeInstanceOf(TypeError);
  else if (code === 'ERR_OUT_OF_RANGE') expect(error).toBeInstanceOf(RangeError);
  else throw new Error(`unexpected error ${code}: ${(error as Error).message}`);
  expect(verdict.errors.has(code === 'ERR_INVALID_ARG_TYPE' ? 'type' : 'range')).toBe(true);
};

test(`setKeepAlive over ${RUNS} random option objects and targets: typed error and nothing changed, or exactly what was asked`, () => {
  const readables = readable();
  const refusals = refused();
  const targetKinds = fc.constantFrom(
    ...readables.map((_, index) => ({ kind: 'readable' as const, index })),
    ...refusals.map((_, index) => ({ kind: 'refused' as const, index })),
    { kind: 'deferred' as const, index: 0 },
    { kind: 'deferred' as const, index: 1 },
    { kind: 'bad-number' as const, index: 0 },
    { kind: 'not-a-target' as const, index: 0 },
  );
  const badNumbers = fc.constantFrom(-1, 1.5, 2 ** 31, NaN, Infinity);
  const nonTargets = fc.oneof(
    fc.string(),
    fc.constant(null),
    fc.constant(undefined),
    fc.object(),
    fc.constant(udp),
    fc.boolean(),
  );
  const pending = new net.Socket();
  const notListening = net.createServer();

  fc.assert(
    fc.property(targetKinds, options, badNumbers, nonTargets, (target, candidate, badNumber, nonTarget) => {
      const verdict = oracle(candidate);
      if (target.kind === 'bad-number' || target.kind === 'not-a-target') {
        const value = target.kind === 'bad-number' ? badNumber : nonTarget;
        expect(() => setKeepAlive(value as never, candidate as never)).toThrow(
          expect.objectContaining({ code: target.kind === 'bad-number' ? 'ERR_OUT_OF_RANGE' : 'ERR_INVALID_ARG_TYPE' }),
        );
        return;
      }
      if (target.kind === 'deferred') {
        const deferredTarget = target.index === 0 ? pending : notListening;
        if (verdict.ok) expect(setKeepAlive(deferredTarget, candidate as never)).toBe(deferredTarget);
        else
          expectOptionsError(
            captureError(() => setKeepAlive(deferredTarget, candidate as never)),
            verdict,
          );
        return;
      }
      if (target.kind === 'refused') {
        const [, get, code] = refusals[target.index];
        const error = captureError(() => setKeepAlive(get() as never, candidate as never));
        if (verdict.ok) expect(error).toMatchObject({ code });
        else expectOptionsError(error, verdict);
        return;
      }
      const [, get, read] = readables[target.index];
      const before = read();
      if (verdict.ok) {
        expect(setKeepAlive(get(), candidate as never)).toBe(get());
        expect(read()).toEqual({ ...before, ...verdict.fields });
      } else {
        expectOptionsError(
          captureError(() => setKeepAlive(get(), candidate as never)),
          verdict,
        );
        expect(read()).toEqual(before);
      }
    }),
    { numRuns: RUNS },
  );
  pending.destroy();
}, 120_000);
