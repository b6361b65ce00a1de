// The preload library for linux-arm64: cross-compiled with Debian's aarch64 toolchain (the
// compiler the linux-arm64 prebuild is made with), loaded into an arm64 C client run by
// qemu-user (which passes the socket syscalls to this kernel), its socket read from outside.
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { afterAll, expect, test } from 'vitest';
import { DEFAULT_PRELOAD_OPTIONS, inspectProcess } from '../helpers/library.js';
import { missingTools, skipWithout } from '../helpers/requirements.js';
import { root } from '../helpers/tree.js';

const skip = skipWithout(
  'the linux-arm64 preload library',
  missingTools('aarch64-linux-gnu-gcc', 'qemu-aarch64'),
  'Debian: gcc-aarch64-linux-gnu, qemu-user',
);
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'ska-preload-arm64-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

test.skipIf(skip)(
  'an arm64 client under qemu-user with the arm64 library has its socket tuned',
  async () => {
    const library = path.join(work, 'socket-keepalive-preload.so');
    const client = path.join(work, 'client');
    execFileSync('aarch64-linux-gnu-gcc', [
      ...['-std=c11', '-O2', '-Wall', '-Wextra', '-fPIC', '-shared', '-fvisibility=hidden'],
      ...[path.join(root, 'native', 'preload.c'), '-o', library, '-ldl'],
    ]);
    execFileSync('aarch64-linux-gnu-gcc', [path.join(__dirname, 'fixtures', 'client.c'), '-o', client]);
    expect(execFileSync('file', [library], { encoding: 'utf8' })).toMatch(/ELF 64-bit LSB shared object, ARM aarch64/);

    const server = net.createServer((socket) => socket.resume());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const child = spawn(
      'qemu-aarch64',
      [
        '-L',
        '/usr/aarch64-linux-gnu',
        '-E',
        `LD_PRELOAD=${library}`,
        client,
        String((server.address() as net.AddressInfo).port),
      ],
      { env: { ...process.env, SOCKET_KEEPALIVE: undefined, LD_PRELOAD: undefined } },
    );
    try {
      const [line] = (await once(readline.createInterface({ input: child.stdout }), 'line')) as [string];
      const { pid, port, preload } = JSON.parse(line);
      expect(preload).toBe(library);
      const socket = inspectProcess(pid).find((candidate) => candidate.local.endsWith(`:${port}`));
      expect(socket?.keepAlive).toEqual({ enable: true, ...DEFAULT_PRELOAD_OPTIONS });
    } finally {
      child.stdin.end();
      server.close();
    }
  },
  60_000,
);
