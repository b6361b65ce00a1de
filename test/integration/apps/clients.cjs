'use strict';
// The real clients the integration tests check, each opened against a server the test
// started and used for one round trip, then left open so the test can read its sockets.
// Only this file knows how each client is used; the apps choose how the default is set.
// `load` is how the application loads a package: `require` in a CommonJS app, `import()`
// in an ES module app; the client packages are used exactly as each one documents.
const fs = require('node:fs');
const http2 = require('node:http2');
const https = require('node:https');
const { isMainThread, parentPort } = require('node:worker_threads');

/** A named export, whether `load` returned a CommonJS module or an ES module namespace. */
const pick = (module, name) => module[name] ?? module.default[name];
const defaultExport = (module) => module.default ?? module;

function pgConfig(target) {
  return { host: target.socketPath ?? target.host, port: target.port, user: 'postgres', database: 'postgres' };
}

function redisSocketOptions(target) {
  return target.socketPath ? { path: target.socketPath } : { host: target.host, port: target.port };
}

function pgClient(options) {
  return async (load, target) => {
    const client = new (pick(await load('pg'), 'Client'))({ ...pgConfig(target), ...options });
    await client.connect();
    await client.query('SELECT 1');
    return () => client.end();
  };
}

// The name the HTTPS servers' certificate carries besides 127.0.0.1: sent as the TLS
// server name, as Node 18 warns (DEP0123) when that is an IP address.
const servername = 'localhost';

/** Each opener resolves with a function that closes what it opened. */
const openers = {
  'pg Client': pgClient({}),
  // pg's own keepalive: it calls socket.setKeepAlive(true, 1000) once connected.
  'pg Client, keepAlive: true': pgClient({ keepAlive: true, keepAliveInitialDelayMillis: 1000 }),
  async 'pg Pool'(load, target) {
    // idleTimeoutMillis 0: the idle connections stay open until the test has read them.
    const pool = new (pick(await load('pg'), 'Pool'))({ ...pgConfig(target), max: 2, idleTimeoutMillis: 0 });
    // Two queries at once: the pool opens its second connection.
    await Promise.all([pool.query('SELECT pg_sleep(0.05)'), pool.query('SELECT pg_sleep(0.05)')]);
    return () => pool.end();
  },
  async postgres(load, target) {
    const sql = defaultExport(await load('postgres'))({ ...pgConfig(target), max: 1 });
    await sql`SELECT 1`;
    return () => sql.end();
  },
  async mysql2(load, target) {
    const options = target.socketPath ? { socketPath: target.socketPath } : { host: target.host, port: target.port };
    const connection = await pick(await load('mysql2/promise'), 'createConnection')({ ...options, user: 'root' });
    await connection.query('SELECT 1');
    return () => connection.end();
  },
  async ioredis(load, target) {
    const redis = new (defaultExport(await load('ioredis')))(redisSocketOptions(target));
    await redis.ping();
    return () => redis.quit();
  },
  async redis(load, target) {
    const client = pick(await load('redis'), 'createClient')({ socket: redisSocketOptions(target) });
    await client.connect();
    await client.ping();
    return () => client.quit();
  },
  async fetch(_load, target) {
    const response = await fetch(target.url);
    await response.text();
    return () => {};
  },
  async 'https.Agent'(_load, target) {
    // One pooled socket, used twice: the agent calls socket.setKeepAlive(true, ...) each
    // time the socket returns to its pool.
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
    const get = () =>
      new Promise((resolve, reject) => {
        const request = https.get(target.url, { agent, servername }, (response) => {
          response.resume().on('end', () => resolve(request.reusedSocket));
        });
        request.on('error', reject);
      });
    await get();
    if (!(await get())) throw new Error('the second request did not reuse the pooled socket');
    // Let the agent take the socket back into its pool after the second response.
    await new Promise((resolve) => setImmediate(resolve));
    return () => agent.destroy();
  },
  async 'HTTP/2'(_load, target) {
    const session = http2.connect(target.url, { servername });
    await new Promise((resolve, reject) => {
      const stream = session.request({ ':path': '/' });
      stream.on('error', reject).on('end', resolve).resume();
      stream.end();
    });
    return () => session.close();
  },
};

// HTTPS servers use test/fixtures/localhost-cert.pem, trusted through NODE_EXTRA_CA_CERTS.

/** The fds of this process's sockets of any kind. */
function socketFds() {
  return fs.readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return fs.readlinkSync(`/proc/self/fd/${fd}`).startsWith('socket:');
    } catch {
      return false; // closed meanwhile
    }
  });
}

/**
 * Opens each of `spec.clients` ({ name, client, target }) in turn, then prints one JSON
 * line: this process's pid, the process warnings emitted so far, and the fds of the
 * sockets each client opened. Closes the clients when asked: stdin ends (a process the
 * test started), the IPC channel closes (a forked child), or the parent posts a
 * message (a worker).
 */
async function useClients(spec, load) {
  const warnings = [];
  process.on('warning', (warning) => warnings.push(`${warning.code ?? warning.name}: ${warning.message}`));
  const closers = [];
  const sockets = {};
  for (const { name, client, target } of spec.clients) {
    const before = new Set(socketFds());
    try {
      closers.push(await openers[client](load, target));
    } catch (error) {
      error.message = `${name}: ${error.message}`;
      throw error;
    }
    sockets[name] = socketFds()
      .filter((fd) => !before.has(fd))
      .map(Number);
  }
  // Warnings are emitted on the next tick; let any that are pending arrive.
  await new Promise((resolve) => setImmediate(resolve));
  console.log(JSON.stringify({ pid: process.pid, warnings, sockets }));
  const closeAndExit = async () => {
    for (const close of closers.reverse()) await close();
    process.exit(0);
  };
  if (!isMainThread) parentPort.once('message', closeAndExit);
  else if (process.send) process.once('disconnect', closeAndExit);
  else process.stdin.resume().once('end', closeAndExit);
}

module.exports = { useClients };
