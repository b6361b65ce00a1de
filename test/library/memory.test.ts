import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect, test } from 'vitest';
import { root } from '../helpers/tree.js';

// One million apply + read calls leave resident memory flat, and the library keeps only
// a few hundred bytes per tuned socket (bench/memory.mjs measures both, with GC forced).
test('memory: flat over 1,000,000 apply + read calls, a few hundred bytes per tuned socket', async () => {
  const script = path.join(root, 'bench', 'memory.mjs');
  const { stdout } = await promisify(execFile)(process.execPath, ['--expose-gc', script, '1000000'], { encoding: 'utf8' });
  const result = JSON.parse(stdout);
  // Bounds: RSS may grow by at most 8 MiB after warm-up (measured here: under 1 MiB);
  // per tuned socket at most 500 bytes (measured here: about 350).
  expect(result.rssGrowthMiB).toBeLessThan(8);
  expect(result.bytesPerTunedSocket).toBeGreaterThan(0);
  expect(result.bytesPerTunedSocket).toBeLessThan(500);
}, 120_000);
