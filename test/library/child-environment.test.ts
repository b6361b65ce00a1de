// lib/child-environment.ts: keepAliveEnvironment, the variables a child process is started
// with: SOCKET_KEEPALIVE written back in the form the preload reads, NODE_OPTIONS with the
// preload's absolute path. The preload run with them is test/library/register.test.ts;
// BUN_OPTIONS under Bun is test/runtimes/runtimes.test.ts.
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { captureError } from '../helpers/errors.js';
import { childEnvironment, DEFAULT_PRELOAD_OPTIONS, keepAliveEnvironment } from '../helpers/library.js';
import { parseKeepAliveSetting } from '../helpers/text.js';

const { REGISTER_PATH } = childEnvironment;

describe('keepAliveEnvironment', () => {
  test('writes SOCKET_KEEPALIVE that parses back to the options, and NODE_OPTIONS with the absolute preload path', () => {
    const env = keepAliveEnvironment(
      { idle: 60_000, interval: 2000, count: 3, userTimeout: 1500 },
      { servers: false },
      { NODE_OPTIONS: '--enable-source-maps' },
    );
    expect(env.SOCKET_KEEPALIVE).toBe('idle=1m,interval=2s,count=3,userTimeout=1500ms,servers=off');
    expect(parseKeepAliveSetting(env.SOCKET_KEEPALIVE)).toStrictEqual({
      options: { idle: 60_000, interval: 2000, count: 3, userTimeout: 1500 },
      written: ['idle', 'interval', 'count', 'userTimeout', 'servers'],
      servers: false,
      report: undefined,
    });
    const reporting = keepAliveEnvironment({ count: 3 }, { report: 'json' }, {});
    expect(parseKeepAliveSetting(reporting.SOCKET_KEEPALIVE)).toStrictEqual({
      options: DEFAULT_PRELOAD_OPTIONS,
      written: ['count', 'report'],
      servers: true,
      report: 'json',
    });
    expect(env.NODE_OPTIONS).toBe(`--enable-source-maps --require ${JSON.stringify(REGISTER_PATH)}`);
    expect(path.isAbsolute(REGISTER_PATH)).toBe(true);
    expect(keepAliveEnvironment({ count: 3 }, {}, { NODE_OPTIONS: env.NODE_OPTIONS }).NODE_OPTIONS).toBe(
      env.NODE_OPTIONS,
    );
  });

  test('validates like setKeepAlive', () => {
    expect(captureError(() => keepAliveEnvironment({ idle: 1500 })).code).toBe('ERR_OUT_OF_RANGE');
    expect(captureError(() => keepAliveEnvironment({})).message).toMatch(/sets no keepalive option/);
    expect(captureError(() => keepAliveEnvironment({ enable: false } as never)).code).toBe('ERR_INVALID_ARG_VALUE');
    expect(captureError(() => keepAliveEnvironment({ count: 3 }, { report: 'yes' as never })).message).toMatch(
      /"settings.report" .* must be 'text', 'json' or 'otel'|'settings.report' must be 'text', 'json' or 'otel'/,
    );
  });
});
