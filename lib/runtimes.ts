/**
 * Other runtimes than Node.js: which one this process runs on, and, on Bun and Deno,
 * the descriptor of a socket or listener their handles hide, found from its addresses
 * (native/socket-lookup.cc). Bun's handles carry an `fd` (its net.Server handle is a
 * plain object with one), but its http.Server and the sockets that accepts have no
 * handle, and Deno's handles have no `fd`. Where even the lookup fails the socket is
 * left as the runtime made it, with one process warning. lib/target.ts, which reads
 * the handles, asks this module when a handle shows no descriptor.
 * @packageDocumentation
 */
import * as net from 'node:net';
import { binding } from './binding.js';
import { systemError } from './errors.js';
import { warnNotApplied } from './failures.js';

/** The runtime this process runs on, as its users call it. */
export const RUNTIME =
  process.versions.bun !== undefined ? 'Bun' : process.versions.deno !== undefined ? 'Deno' : 'Node.js';

/**
 * Whether descriptors the runtime does not show are found from the socket's addresses:
 * on Deno (whose handles have no `fd`) and Bun (whose http.Server has no handle at all,
 * nor have the sockets it accepts).
 */
export const FINDS_BY_ADDRESS = RUNTIME !== 'Node.js';

/**
 * Whether a connection attempt is seen with its descriptor, in SYN-SENT (lib/patches.ts
 * wraps the TCP handle's connect): on Node, not on Bun or Deno, whose handles hide it.
 */
export const ATTEMPTS_VISIBLE = !FINDS_BY_ADDRESS;

/**
 * The server classes whose `listen` the process-wide default wraps: net.Server, and on
 * Bun http.Server too (https.Server extends it), which is not a net.Server there.
 */
export function serverClasses(): { prototype: { listen: net.Server['listen'] } }[] {
  if (RUNTIME !== 'Bun') return [net.Server];
  // Loaded only on Bun, where its server is not a net.Server.
  const http = require('node:http') as typeof import('node:http');
  return http.Server.prototype instanceof net.Server ? [net.Server] : [net.Server, http.Server];
}

/** A server of another class than net.Server (Bun's http.Server): an emitter that listens and has an address. */
export function isOtherServer(value: unknown): value is net.Server {
  const server = value as Partial<net.Server> | null;
  return (
    typeof server === 'object' &&
    server !== null &&
    typeof server.listen === 'function' &&
    typeof server.address === 'function' &&
    typeof server.prependListener === 'function'
  );
}

/** A descriptor found by address, cached on the handle (or the socket or server without one) it was found for. */
const kFoundFd = Symbol('socket-keepalive fd found by address');

/** What holds a descriptor found by address: a handle without `fd`, or a socket or server without a handle. */
export type FoundFdHolder = { [kFoundFd]?: number };

/**
 * Reports, once per thread, a connected socket or a listening server whose descriptor
 * could not be found: it keeps the runtime's settings and stays usable.
 */
function reportUnreachable(what: string, addresses: string): void {
  warnNotApplied(
    what,
    `${RUNTIME} exposes no file descriptor for it, and none of this process's descriptors has the addresses ` +
      `${addresses}. It keeps ${RUNTIME}'s keepalive settings and stays usable; further such sockets are not reported`,
    'unreachable descriptor',
  );
}

/**
 * The fd of a socket (with `remote`) or listener (without) whose handle hides it, found
 * from its addresses; cached on `holder`, and given back to the lookup at `owner`'s
 * 'close'. -1, with one warning, when no descriptor matches.
 */
function fdByAddress(
  holder: FoundFdHolder,
  owner: net.Socket | net.Server,
  local: net.AddressInfo,
  remote: { address: string; port: number } | null,
): number {
  const fd = binding().findSocket(local.address, local.port, remote?.address ?? '', remote?.port ?? 0);
  const addresses = `${local.address}:${local.port}${remote === null ? '' : ` -> ${remote.address}:${remote.port}`}`;
  if (fd < 0) {
    reportUnreachable(remote === null ? 'the listening socket of a server' : 'a socket', addresses);
    return -1;
  }
  holder[kFoundFd] = fd;
  // The holder may be a server that listens again (Bun's http.Server has no handle to drop).
  (owner as net.Socket).once('close', () => {
    delete holder[kFoundFd];
    binding().forgetSocket(fd);
  });
  return fd;
}

/**
 * {@link fdByAddress} for a connected socket, cached on `holder` (its handle, or the
 * socket where it has none); -1 while it is not connected, and once it is destroyed.
 */
export function socketFdByAddress(socket: net.Socket, holder: FoundFdHolder): number {
  const cached = holder[kFoundFd];
  if (cached !== undefined) return cached;
  if (socket.connecting || socket.destroyed) return -1;
  const { localAddress, localPort, remoteAddress, remotePort } = socket;
  if (localAddress === undefined || localPort === undefined || remoteAddress === undefined || remotePort === undefined)
    return -1;
  return fdByAddress(
    holder,
    socket,
    { address: localAddress, port: localPort, family: '' },
    { address: remoteAddress, port: remotePort },
  );
}

/**
 * {@link fdByAddress} for a server listening on `address`, cached on `holder` (its
 * handle, or the server where it has none: Bun's http.Server); -1 when none matches.
 */
export function listenerFdByAddress(server: net.Server, holder: FoundFdHolder, address: net.AddressInfo): number {
  const cached = holder[kFoundFd];
  if (cached !== undefined) return cached;
  return fdByAddress(holder, server, address, null);
}

/** The error for reading a socket or listener whose descriptor the runtime hides and the lookup did not find. */
export function unreachable(what: string): Error {
  return systemError(
    'ENOTSUP',
    'getsockopt',
    `${RUNTIME} exposes no file descriptor for ${what}, and none of this process's descriptors matched its addresses`,
  );
}
