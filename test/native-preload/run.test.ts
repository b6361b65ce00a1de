// `socket-keepalive run` with the preload library: LD_PRELOAD for the command (appended to
// an inherited one), the library matching the command's C library (glibc, or musl for a
// program built with musl-gcc: its socket read from outside), one line where the library
// cannot reach the command (statically linked, set-user-ID) with the command still run,
// and --no-native.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { DEFAULT_PRELOAD_OPTIONS, preloadLibrary } from '../helpers/library.js';
import { missingTools, skipWithout } from '../helpers/requirements.js';
import { cliPath, run } from '../helpers/run.js';
import { inspectApp, stateOf } from './inspect-app.js';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'ska-native-run-'));
const client = path.join(__dirname, 'fixtures', 'client.c');
const TUNED = { enable: true, ...DEFAULT_PRELOAD_OPTIONS };
const UNTUNED = { enable: false, idle: 7_200_000, interval: 75_000, count: 9, userTimeout: 0 };
const env = { ...process.env, SOCKET_KEEPALIVE: undefined, NODE_OPTIONS: undefined, LD_PRELOAD: undefined };

let server: net.Server;
let port: number;
beforeAll(async () => {
  server = net.createServer((socket) => socket.resume());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as net.AddressInfo).port;
});
afterAll(() => {
  server.close();
  fs.rmSync(work, { recursive: true, force: true });
});

function build(compiler: string, flags: string[], name: string): string {
  const binary = path.join(work, name);
  execFileSync(compiler, [...flags, client, '-o', binary]);
  return binary;
}

function runCommand(args: string[], extra: Record<string, string> = {}) {
  return run(process.execPath, [cliPath, 'run', '--quiet', '--', ...args], { env: { ...env, ...extra } });
}

test('LD_PRELOAD holds the preload library, after an inherited one; --no-native leaves it out', async () => {
  const library = preloadLibrary('glibc').path as string;
  const show = ['sh', '-c', 'echo "$LD_PRELOAD"'];
  expect((await runCommand(show)).stdout.trim()).toBe(library);
  expect((await runCommand(show, { LD_PRELOAD: '/lib/x86_64-linux-gnu/libc.so.6' })).stdout.trim()).toBe(
    `/lib/x86_64-linux-gnu/libc.so.6 ${library}`,
  );
  const off = await run(process.execPath, [cliPath, 'run', '--quiet', '--no-native', '--', ...show], { env });
  expect(off).toMatchObject({ code: 0, stdout: '\n', stderr: '' });
});

test('a dynamically linked C client under run has its socket tuned, read from outside', async () => {
  const binary = build('gcc', [], 'client-glibc');
  const { sockets, report, code } = await inspectApp<{ pid: number; port: number }>(
    process.execPath,
    [cliPath, 'run', '--quiet', '--', binary, String(port)],
    { env },
  );
  expect(code).toBe(0);
  expect(stateOf(sockets, report.port)).toEqual(TUNED);
});

describe.skipIf(skipWithout('a statically linked client', missingTools('gcc')))('out of reach', () => {
  test('a statically linked binary: one line naming it and why, and it still runs, untuned', async () => {
    const binary = build('gcc', ['-static'], 'client-static');
    const { sockets, report, code, stderr } = await inspectApp<{ pid: number; port: number }>(
      process.execPath,
      [cliPath, 'run', '--quiet', '--', binary, String(port)],
      { env },
    );
    expect(code).toBe(0);
    expect(stderr).toBe(
      `socket-keepalive run: the preload library cannot reach the sockets of ${binary}: ${binary} is statically linked (no dynamic loader to read LD_PRELOAD)\n`,
    );
    expect(stateOf(sockets, report.port)).toEqual(UNTUNED);
  });

  test('a Go program (a .go.buildinfo section), dynamically linked: one line, and it still runs', async () => {
    // Go's net package makes its own syscalls; the section is how run tells a Go program.
    const source = path.join(work, 'go-like.c');
    fs.writeFileSync(
      source,
      '__attribute__((section(".go.buildinfo"), used)) static const char buildinfo[] = "\\xff Go buildinf:";\n' +
        'int main(void) { return 0; }\n',
    );
    const binary = path.join(work, 'go-like');
    execFileSync('gcc', [source, '-o', binary]);
    expect(await runCommand([binary])).toEqual({
      code: 0,
      stdout: '',
      stderr: `socket-keepalive run: the preload library cannot reach the sockets of ${binary}: ${binary} is a Go program (its net package calls the kernel itself, not the C library's connect())\n`,
    });
    // The same program without the section is reached.
    fs.writeFileSync(source, 'int main(void) { return 0; }\n');
    execFileSync('gcc', [source, '-o', binary]);
    expect(await runCommand([binary])).toEqual({ code: 0, stdout: '', stderr: '' });
  });

  test.skipIf(process.getuid?.() !== 0)('a set-user-ID binary: one line, and it still runs', async () => {
    const binary = path.join(work, 'setuid-true');
    fs.copyFileSync('/bin/true', binary);
    fs.chownSync(binary, 65534, 65534);
    fs.chmodSync(binary, 0o4755);
    const result = await runCommand([binary]);
    expect(result).toEqual({
      code: 0,
      stdout: '',
      stderr: `socket-keepalive run: the preload library cannot reach the sockets of ${binary}: ${binary} is set-user-ID or set-group-ID (the dynamic loader ignores LD_PRELOAD for it)\n`,
    });
  });
});

describe.skipIf(skipWithout('the musl build', missingTools('musl-gcc'), 'Debian package musl-tools'))('musl', () => {
  test('a client built with musl-gcc gets the musl build of the library, and its socket is tuned', async () => {
    const musl = preloadLibrary('musl');
    expect(musl.missing).toBeUndefined();
    const binary = build('musl-gcc', [], 'client-musl');
    expect(execFileSync('file', [binary], { encoding: 'utf8' })).toMatch(/interpreter \/lib\/ld-musl/);
    const { sockets, report, code, stderr } = await inspectApp<{ pid: number; port: number; preload: string }>(
      process.execPath,
      [cliPath, 'run', '--quiet', '--', binary, String(port)],
      { env },
    );
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(report.preload).toBe(musl.path);
    expect(stateOf(sockets, report.port)).toEqual(TUNED);
  });
});
