// The addon's lookup of a TCP socket's descriptor from its addresses (the way to Deno's
// sockets), checked in Node.js, where every socket's real fd is known to compare with.
import { once } from 'node:events';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import nodeGypBuild from 'node-gyp-build';
import { afterAll, expect, test } from 'vitest';
import type { binding } from '../../lib/binding.js';
import { acceptedSocket, connectTo, fdOf, startServer } from '../helpers/sockets.js';

const addon = nodeGypBuild(path.join(__dirname, '..', '..')) as ReturnType<typeof binding>;
/** The addon's one encoding of a failure of the socket lookup: -(errno * stepCodes + step). */
const lookupFailure = (errno: number) => -(errno * addon.stepCodes + addon.steps.indexOf('socket lookup'));
const ENOENT = lookupFailure(os.constants.errno.ENOENT);
const EINVAL = lookupFailure(os.constants.errno.EINVAL);

const open: net.Socket[] = [];
const servers: { close(): Promise<void> }[] = [];
afterAll(async () => {
  for (const socket of open) socket.destroy();
  await Promise.all(servers.map((server) => server.close()));
});

function find(socket: net.Socket): number {
  return addon.findSocket(
    socket.localAddress as string,
    socket.localPort as number,
    socket.remoteAddress as string,
    socket.remotePort as number,
  );
}

test('finds a connected socket, the socket its server accepted, and the listener, each by its own addresses', async () => {
  const server = await startServer();
  servers.push(server);
  const client = await connectTo(server);
  open.push(client);
  const accepted = await acceptedSocket(server, 0);
  expect(find(client)).toBe(fdOf(client));
  expect(find(accepted)).toBe(fdOf(accepted));
  expect(addon.findSocket('127.0.0.1', server.port, '', 0)).toBe(fdOf(server.server as unknown as net.Socket));
  // The same addresses written as IPv4-mapped IPv6, as a dual-stack runtime may report them.
  expect(
    addon.findSocket(`::ffff:${client.localAddress}`, client.localPort as number, `::ffff:127.0.0.1`, server.port),
  ).toBe(fdOf(client));
});

test('finds IPv6 sockets', async () => {
  const server = await startServer('::1');
  servers.push(server);
  const client = await connectTo(server);
  open.push(client);
  expect(find(client)).toBe(fdOf(client));
  expect(addon.findSocket('::1', server.port, '', 0)).toBe(fdOf(server.server as unknown as net.Socket));
});

test('a failure with ENOENT when no descriptor has the addresses, EINVAL for an address that does not parse', async () => {
  const server = await startServer();
  servers.push(server);
  const client = await connectTo(server);
  open.push(client);
  expect(addon.findSocket(client.localAddress as string, client.localPort as number, '127.0.0.1', 1)).toBe(ENOENT);
  // A connected socket is not a listener, even on the listener's port.
  expect(addon.findSocket('127.0.0.1', client.localPort as number, '', 0)).toBe(ENOENT);
  expect(addon.findSocket('not an address', 1, '', 0)).toBe(EINVAL);
  expect(addon.findSocket('127.0.0.1', 1, '127.0.0.300', 2)).toBe(EINVAL);
});

test('finds a socket at a number the lookup knew as another socket, closed and reused without its knowledge', async () => {
  const server = await startServer();
  servers.push(server);
  const first = await connectTo(server);
  const other = await connectTo(server);
  open.push(first);
  // The lookup examines `other` and remembers its number as another open socket's.
  expect(find(first)).toBe(fdOf(first));
  const number = fdOf(other);
  other.destroy();
  await once(other, 'close');
  // Nothing told the lookup: the new socket takes the lowest free number, `other`'s.
  const reusing = await connectTo(server);
  open.push(reusing);
  expect(fdOf(reusing)).toBe(number);
  expect(find(reusing)).toBe(number);
});

test('finds a socket at a number handed back with forgetSocket', async () => {
  const server = await startServer();
  servers.push(server);
  const first = await connectTo(server);
  const number = find(first);
  expect(number).toBe(fdOf(first));
  first.destroy();
  await once(first, 'close');
  addon.forgetSocket(number);
  const next = await connectTo(server);
  open.push(next);
  expect(fdOf(next)).toBe(number);
  expect(find(next)).toBe(number);
});
