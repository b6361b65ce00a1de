// `npm run bench`, the preload library: bench/preload.c's two loops, compiled here, run with
// and without LD_PRELOAD of the library, interleaved round after round; each figure is the
// median of its rounds (CPU time, so that waiting for a shared CPU does not count). Targets:
// a connect + echo + close loop at most 1.05x, close() on a non-socket fd at most 20 ns more.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { preloadLibrary } from 'socket-keepalive';

const ROUNDS = 31;
const LOOPS = { echo: 2000, close: 500_000 };
const library = preloadLibrary('glibc');
if (library.path === undefined) throw new Error(library.missing);
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'ska-bench-preload-'));
const binary = path.join(work, 'preload');
execFileSync('cc', ['-O2', '-pthread', path.join(import.meta.dirname, 'preload.c'), '-o', binary]);

const env = { ...process.env, SOCKET_KEEPALIVE: undefined, LD_PRELOAD: undefined };
const time = (loop, preload) =>
  Number(
    execFileSync(binary, [loop, String(LOOPS[loop])], {
      env: preload ? { ...env, LD_PRELOAD: library.path } : env,
      encoding: 'utf8',
    }),
  );
const median = (values) => values.toSorted((a, b) => a - b)[Math.floor(values.length / 2)];

const figures = { echo: { without: [], with: [] }, close: { without: [], with: [] } };
for (let round = 0; round < ROUNDS; round++) {
  for (const loop of Object.keys(LOOPS)) {
    for (const preload of round % 2 ? [true, false] : [false, true])
      figures[loop][preload ? 'with' : 'without'].push(time(loop, preload));
  }
}
const ratio = median(figures.echo.with.map((value, round) => value / figures.echo.without[round]));
const difference = median(figures.close.with.map((value, round) => value - figures.close.without[round]));
fs.rmSync(work, { recursive: true, force: true });

const echo = { without: median(figures.echo.without), with: median(figures.echo.with) };
const close = { without: median(figures.close.without), with: median(figures.close.with) };
console.log(
  `preload library (${library.path}), ${ROUNDS} interleaved rounds; medians of CPU ns per iteration, and of the ratios and differences within each round:`,
);
console.log(
  `  connect + echo + close: ${echo.without.toFixed(0)} without, ${echo.with.toFixed(0)} with: ` +
    `${ratio.toFixed(3)}x (target <= 1.05x: ${ratio <= 1.05 ? 'PASS' : 'MISS'})`,
);
console.log(
  `  dup + close of /dev/null: ${close.without.toFixed(1)} without, ${close.with.toFixed(1)} with: ` +
    `${difference.toFixed(1)} ns more (target <= 20 ns: ${difference <= 20 ? 'PASS' : 'MISS'})`,
);
