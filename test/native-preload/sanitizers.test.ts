// The preload library under AddressSanitizer + UndefinedBehaviorSanitizer (built here with
// -fsanitize, loaded behind the sanitizer runtime into a Python program with every kind of
// socket and into a C connect loop, and given every refused SOCKET_KEEPALIVE), under
// valgrind memcheck (the C loop, with its dead-peer report path on), and its parser fuzzed
// with libFuzzer for a fixed time.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { preloadLibrary } from '../helpers/library.js';
import { REFUSED_SETTINGS } from '../helpers/refused-settings.js';
import { missingTools, skipWithout } from '../helpers/requirements.js';
import { root } from '../helpers/tree.js';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'ska-preload-sanitizers-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));
const source = path.join(root, 'native', 'preload.c');
const loop = path.join(root, 'bench', 'preload.c');
const socketsApp = path.join(__dirname, 'fixtures', 'sockets.py');
const SANITIZER_REPORT = /AddressSanitizer|LeakSanitizer|runtime error:/;
const env = { ...process.env, SOCKET_KEEPALIVE: undefined, NODE_OPTIONS: undefined, LD_PRELOAD: undefined };

function run(command: string, args: string[], extra: Record<string, string | undefined>, input = '') {
  const { status, stdout, stderr } = spawnSync(command, args, { env: { ...env, ...extra }, encoding: 'utf8', input });
  return { status, stdout, stderr };
}

function buildLoop(): string {
  const binary = path.join(work, 'loop');
  if (!fs.existsSync(binary)) execFileSync('gcc', ['-O1', '-g', '-pthread', loop, '-o', binary]);
  return binary;
}

describe.skipIf(skipWithout('the sanitizer build', missingTools('gcc', 'python3')))(
  'AddressSanitizer + UndefinedBehaviorSanitizer',
  () => {
    const sanitized = path.join(work, 'preload-asan.so');
    const runtime = () => ({
      LD_PRELOAD: `${execFileSync('gcc', ['-print-file-name=libasan.so'], { encoding: 'utf8' }).trim()} ${sanitized}`,
      ASAN_OPTIONS: 'detect_leaks=0:abort_on_error=1',
      UBSAN_OPTIONS: 'halt_on_error=1:print_stacktrace=1',
    });

    test('a Python program and a C connect loop run clean, the sanitizers really loaded', () => {
      execFileSync('gcc', [
        ...['-std=c11', '-shared', '-fPIC', '-fvisibility=hidden', '-g', '-fno-omit-frame-pointer'],
        ...['-fsanitize=address,undefined', '-fno-sanitize-recover=undefined', source, '-o', sanitized, '-ldl'],
      ]);
      const maps = run('python3', ['-c', 'print(open("/proc/self/maps").read())'], runtime());
      expect(maps.stdout).toMatch(/libasan\.so/);
      expect(maps.stdout).toMatch(/preload-asan\.so/);
      for (const setting of ['idle=7s,report=json', 'servers=off,report=text', 'off']) {
        const python = run('python3', [socketsApp], { ...runtime(), SOCKET_KEEPALIVE: setting });
        expect(python.stderr).not.toMatch(SANITIZER_REPORT);
        expect(python.status).toBe(0);
        const echo = run(buildLoop(), ['echo', '500'], { ...runtime(), SOCKET_KEEPALIVE: setting });
        expect(echo.stderr).not.toMatch(SANITIZER_REPORT);
        expect(echo.status).toBe(0);
      }
    }, 120_000);

    test('every refused SOCKET_KEEPALIVE: exit code 9 and no sanitizer report', () => {
      for (const [text] of REFUSED_SETTINGS) {
        const result = run('/bin/true', [], { ...runtime(), SOCKET_KEEPALIVE: text });
        expect(result.stderr).not.toMatch(SANITIZER_REPORT);
        expect(result.status).toBe(9);
      }
    });
  },
);

describe.skipIf(skipWithout('the memcheck run', missingTools('valgrind', 'gcc')))('valgrind memcheck', () => {
  test('the C connect loop with the library and its report on, and a refused setting: no memory error', () => {
    const library = preloadLibrary('glibc').path as string;
    const result = run(
      'valgrind',
      ['--error-exitcode=99', '--leak-check=full', '--errors-for-leak-kinds=definite', buildLoop(), 'echo', '300'],
      {
        LD_PRELOAD: library,
        SOCKET_KEEPALIVE: 'idle=5s,report=text',
      },
    );
    expect(result.stderr).toMatch(/ERROR SUMMARY: 0 errors/);
    expect(result.status).toBe(0);
    // valgrind's own launcher would read LD_PRELOAD first and stop: the refusal runs in a
    // program the library is linked into instead, its constructor then under memcheck.
    const linked = path.join(work, 'linked');
    const main = path.join(work, 'main.c');
    fs.writeFileSync(main, 'int main(void) { return 0; }\n');
    execFileSync('gcc', ['-g', source, main, '-o', linked, '-ldl']);
    const refused = run('valgrind', ['--error-exitcode=99', '--leak-check=full', linked], {
      SOCKET_KEEPALIVE: 'idle=5s,count=x,userTimeout=1000000h',
    });
    expect(refused.stderr).toMatch(/ERROR SUMMARY: 0 errors/);
    expect(refused.status).toBe(9);
  }, 120_000);
});

describe.skipIf(skipWithout('the parser fuzz run', missingTools('clang')))('libFuzzer', () => {
  test('the SOCKET_KEEPALIVE parser: 15 s of inputs under ASan and UBSan, no finding', () => {
    const binary = path.join(work, 'parse-fuzz');
    execFileSync('clang', [
      ...['-g', '-O1', '-fsanitize=fuzzer,address,undefined', '-fno-sanitize-recover=undefined'],
      ...[path.join(__dirname, 'fixtures', 'parse-fuzz.c'), '-o', binary, '-ldl'],
    ]);
    const corpus = path.join(work, 'corpus');
    fs.mkdirSync(corpus);
    const seeds = [
      'idle=10s,interval=2s,count=3,userTimeout=20s',
      ' off ',
      'report=json,servers=off',
      ...REFUSED_SETTINGS.map(([text]) => text),
    ];
    for (const [index, seed] of seeds.entries()) fs.writeFileSync(path.join(corpus, String(index)), seed);
    const result = run(binary, ['-max_total_time=15', '-max_len=256', corpus], { ASAN_OPTIONS: 'detect_leaks=1' });
    expect(result.stderr).toMatch(/Done \d+ runs in \d+ second/);
    expect(result.stderr).not.toMatch(/ERROR: |runtime error:|SUMMARY: /);
    expect(result.status).toBe(0);
  }, 60_000);
});
