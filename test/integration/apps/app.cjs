'use strict';
// A CommonJS application using real clients. argv[2] is a JSON spec: { clients:
// [{ name, client, target }], place: 'main' | 'worker' | 'fork', keepAlive?, library? }.
// With `keepAlive`, the application sets the process-wide default in code (library:
// the CommonJS entry point); without it, only what the command line preloads applies.
const { fork } = require('node:child_process');
const { Worker } = require('node:worker_threads');
const { useClients } = require('./clients.cjs');

const spec = JSON.parse(process.argv[2]);
const inMain = JSON.stringify({ ...spec, place: 'main' });

if (spec.place === 'worker') {
  // An empty environment and no execArgv: a preload has to reach the worker regardless.
  const worker = new Worker(__filename, { argv: [inMain], env: {}, execArgv: [] });
  worker.on('error', (error) => {
    throw error;
  });
  process.stdin.resume().once('end', () => worker.postMessage('close'));
} else if (spec.place === 'fork') {
  // The forked child inherits this process's environment, NODE_OPTIONS included.
  const child = fork(__filename, [inMain]);
  process.stdin.resume().once('end', () => child.disconnect());
} else {
  if (spec.keepAlive) require(spec.library).setDefaultKeepAlive(spec.keepAlive);
  useClients(spec, async (name) => require(name));
}
