// socket-keepalive/otel beyond what the dead-peer test measures with real dead peers:
// the library and its preload load without @opentelemetry/api (an optional peer
// dependency), and the preload's report=otel registers on the global meter provider the
// application sets after it, with the real SDK.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { libraryPath } from '../helpers/library.js';
import { root } from '../helpers/tree.js';

const dist = path.dirname(libraryPath);
const register = path.join(dist, 'register.js');

function node(script: string, env: Record<string, string> = {}, args: string[] = []) {
  const result = spawnSync(process.execPath, [...args, '-e', script], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, NODE_OPTIONS: '', SOCKET_KEEPALIVE: '', ...env },
  });
  return { ...result, stdout: result.stdout.trim() };
}

/** A preload that makes `@opentelemetry/api` unresolvable, as in an application without it. */
const withoutApi = `
  const Module = require('node:module');
  const resolve = Module._resolveFilename;
  Module._resolveFilename = function (request, ...rest) {
    if (request.startsWith('@opentelemetry/')) throw Object.assign(new Error("Cannot find module '" + request + "'"), { code: 'MODULE_NOT_FOUND' });
    return resolve.call(this, request, ...rest);
  };`;

describe('socket-keepalive/otel', () => {
  test('without @opentelemetry/api the library, the preload and the subpath load; observeKeepAlive() says what is missing', () => {
    const hook = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ska-otel-')), 'without-api.cjs');
    fs.writeFileSync(hook, withoutApi);
    try {
      const script = `
        const library = require(${JSON.stringify(libraryPath)});
        const otel = require(${JSON.stringify(path.join(dist, 'otel.js'))});
        let error;
        try { otel.observeKeepAlive(); } catch (caught) { error = caught; }
        console.log(JSON.stringify({ stats: typeof library.keepAliveStats, code: error.code, message: error.message }));`;
      const run = node(script, { SOCKET_KEEPALIVE: 'report=otel' }, ['--require', hook, '--require', register]);
      expect(run.status).toBe(0);
      const result = JSON.parse(run.stdout);
      expect(result).toMatchObject({ stats: 'function', code: 'MODULE_NOT_FOUND' });
      expect(result.message).toMatch(/^socket-keepalive\/otel needs the package @opentelemetry\/api/);
      expect(run.stderr).toMatch(/\[SOCKET_KEEPALIVE_NO_OTEL\].*report=otel is ignored/);
    } finally {
      fs.rmSync(path.dirname(hook), { recursive: true });
    }
  });

  test('report=otel: the metrics appear on the meter provider the application registers after the preload ran', () => {
    const script = `
      const net = require('node:net');
      const { metrics } = require('@opentelemetry/api');
      const { MeterProvider, MetricReader } = require('@opentelemetry/sdk-metrics');
      class Reader extends MetricReader { async onForceFlush() {} async onShutdown() {} }
      const reader = new Reader();
      metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));
      const server = net.createServer((socket) => socket.destroy()).listen(0, '127.0.0.1', () => {
        net.connect(server.address().port, '127.0.0.1', async function () {
          this.destroy();
          server.close();
          const { resourceMetrics } = await reader.collect();
          const found = {};
          for (const { metrics: list } of resourceMetrics.scopeMetrics)
            for (const { descriptor, dataPoints } of list) found[descriptor.name] = dataPoints.map((point) => point.value);
          console.log(JSON.stringify(found));
        });
      });`;
    const run = node(script, { SOCKET_KEEPALIVE: 'idle=5s,report=otel' }, ['--require', register]);
    expect(run.stderr).toBe('');
    expect(JSON.parse(run.stdout)).toEqual({
      'socket_keepalive.sockets.tuned': [1],
      'socket_keepalive.listeners.tuned': [1],
      'socket_keepalive.tunings.failed': [0],
      'socket_keepalive.dead_peers': [0, 0, 0, 0],
    });
  });

  test('a bad options or meterProvider is refused like any argument', () => {
    const script = `
      const { observeKeepAlive } = require(${JSON.stringify(path.join(dist, 'otel.js'))});
      const codes = [null, { meterProvider: {} }].map((options) => { try { observeKeepAlive(options); } catch (error) { return error.code + ': ' + error.message; } });
      console.log(JSON.stringify(codes));`;
    const [nullOptions, badProvider] = JSON.parse(node(script).stdout);
    expect(nullOptions).toMatch(/^ERR_INVALID_ARG_TYPE: The "options" argument must be of type object/);
    expect(badProvider).toMatch(/^ERR_INVALID_ARG_TYPE: The "options.meterProvider" property must be a MeterProvider/);
  });
});
