/**
 * Agents: every socket an `http.Agent` or `https.Agent` creates is tuned from before its
 * first byte. The agent's `createConnection` hook follows the rule in lib/failures.ts: it
 * never throws, and a socket whose tuning fails is destroyed with the error once the
 * request listens for it, so the request emits it.
 * @packageDocumentation
 */
import * as http from 'node:http';
import * as net from 'node:net';
import { addonLoaded } from './binding.js';
import { invalidArgType } from './errors.js';
import { failSocketSoon } from './failures.js';
import { assertNodeCanSet } from './floor.js';
import type { KeepAliveOptions } from './options.js';
import { ValidatedOptions, validateInto } from './options.js';
import { tuneSocket } from './socket.js';
import { isUnixDomain } from './target.js';
import { socketTuningOf } from './tuning.js';

type CreateConnection = (
  this: TunedAgent,
  options: { socketPath?: unknown },
  callback?: (error: Error | null, socket?: net.Socket) => void,
) => net.Socket | undefined;

const kAgentSettings = Symbol('socket-keepalive agent settings');

/** The parts of a tuned agent this module touches. */
interface TunedAgent {
  [kAgentSettings]?: ValidatedOptions;
  createConnection: CreateConnection;
}

/**
 * Makes every socket an `http.Agent` or `https.Agent` creates carry `options` from
 * before its first byte, and keep them across pool reuse (see {@link setKeepAlive}).
 * The options are validated and read once, now (getters included); calling it again
 * replaces them for sockets created afterwards. Requests over a Unix domain socket
 * (`socketPath`) are left as they are: TCP keepalive has no meaning there. Without the
 * native addon, options Node.js's own `socket.setKeepAlive` cannot set throw here, with
 * code `ERR_SOCKET_KEEPALIVE_UNSUPPORTED` (see {@link setKeepAlive}).
 *
 * @returns `agent`, for chaining
 * @example
 * ```ts
 * const agent = tuneAgent(new http.Agent({ keepAlive: true }), { idle: 5000, interval: 1000, count: 3 });
 * ```
 */
export function tuneAgent<A extends http.Agent>(agent: A, options: KeepAliveOptions): A {
  if (!(agent instanceof http.Agent)) throw invalidArgType('agent', 'an instance of http.Agent or https.Agent', agent);
  const settings = new ValidatedOptions();
  validateInto(options, settings);
  if (!addonLoaded()) assertNodeCanSet(settings);
  const tuned = agent as unknown as TunedAgent;
  const alreadyTuned = tuned[kAgentSettings] !== undefined;
  tuned[kAgentSettings] = settings;
  if (!alreadyTuned) hookCreateConnection(tuned);
  return agent;
}

function hookCreateConnection(agent: TunedAgent): void {
  const createConnection = agent.createConnection;
  agent.createConnection = function createTunedConnection(options, callback) {
    if (options?.socketPath !== undefined) return createConnection.call(this, options, callback);
    const settings = this[kAgentSettings] as ValidatedOptions;
    // A custom createConnection may hand its socket over through the callback only.
    const socket = createConnection.call(
      this,
      options,
      callback &&
        ((error, created) => {
          if (!error) tune(created, settings);
          callback(error, created);
        }),
    );
    tune(socket, settings);
    return socket;
  };
}

function tune(socket: net.Socket | undefined, settings: ValidatedOptions): void {
  if (!(socket instanceof net.Socket) || socketTuningOf(socket) !== undefined) return;
  try {
    if (!isUnixDomain(socket)) tuneSocket(socket, settings);
  } catch (error) {
    failSocketSoon(socket, error);
  }
}
