import { once } from 'node:events';
import net from 'node:net';
import { afterAll, beforeAll } from 'vitest';

/** A listening loopback server that records accepted sockets; closed by `close()`. */
export interface LoopbackServer {
  server: net.Server;
  port: number;
  host: string;
  accepted: net.Socket[];
  close(): Promise<void>;
}

export async function startServer(host = '127.0.0.1', server = net.createServer()): Promise<LoopbackServer> {
  const accepted: net.Socket[] = [];
  server.on('connection', (socket) => {
    accepted.push(socket);
    socket.on('error', () => {});
  });
  server.listen(0, host);
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  return {
    server,
    port,
    host,
    accepted,
    async close() {
      for (const socket of accepted) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Connects to `server` and waits for 'connect'. */
export async function connectTo(server: LoopbackServer): Promise<net.Socket> {
  const socket = net.connect(server.port, server.host);
  await once(socket, 'connect');
  return socket;
}

/** Resolves with the next socket the server accepts (or one already accepted). */
export async function acceptedSocket(server: LoopbackServer, index: number): Promise<net.Socket> {
  while (server.accepted.length <= index) await once(server.server, 'connection');
  return server.accepted[index];
}

/** The fd behind a connected net.Socket, for comparing with raw-fd calls. */
export function fdOf(socket: net.Socket): number {
  return (socket as unknown as { _handle: { fd: number } })._handle.fd;
}

/**
 * A loopback server started before the enclosing describe block's tests and closed after
 * them. The object returned is filled in when the server is listening.
 */
export function useServer(host = '127.0.0.1', create: () => net.Server = () => net.createServer()): LoopbackServer {
  const fixture = {} as LoopbackServer;
  beforeAll(async () => {
    Object.assign(fixture, await startServer(host, create()));
  });
  afterAll(() => fixture.close());
  return fixture;
}

/**
 * A client socket connected to a loopback server, both made before the enclosing describe
 * block's tests and closed after them.
 */
export function useConnectedSocket(host = '127.0.0.1'): {
  readonly server: LoopbackServer;
  readonly socket: net.Socket;
} {
  const fixture = {} as { server: LoopbackServer; socket: net.Socket };
  beforeAll(async () => {
    fixture.server = await startServer(host);
    fixture.socket = await connectTo(fixture.server);
  });
  afterAll(async () => {
    fixture.socket.destroy();
    await fixture.server.close();
  });
  return fixture;
}
