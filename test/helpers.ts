import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { once } from 'node:events';

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

/** Runs `fn`, which must throw, and returns what it threw. */
export function captureError(fn: () => unknown): Error & { code?: string; errno?: number; syscall?: string } {
  try {
    fn();
  } catch (error) {
    return error as Error & { code?: string };
  }
  throw new Error('expected the call to throw');
}

/** The repository's root. */
export const root = path.join(__dirname, '..');

/**
 * Copies the working tree (files git tracks, and untracked ones it does not ignore) to
 * `destination`, with node_modules linked rather than copied: a clean tree to build in
 * without touching this one's build/ or dist/.
 */
export function copyWorkingTree(destination: string): void {
  const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], { cwd: root, encoding: 'utf8' })
    .split('\0')
    .filter((file) => file && fs.existsSync(path.join(root, file)));
  for (const file of files) {
    fs.mkdirSync(path.dirname(path.join(destination, file)), { recursive: true });
    fs.copyFileSync(path.join(root, file), path.join(destination, file));
  }
  fs.symlinkSync(path.join(root, 'node_modules'), path.join(destination, 'node_modules'));
}

/** The environment for nested npm/vitest runs: no state of this vitest run leaking in. */
export function nestedEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('VITEST')));
  return { ...env, ...extra };
}
