import path from 'node:path';
import nodeGypBuild from 'node-gyp-build';
import { expect, test } from 'vitest';
import { expectedKernelPath } from '../helpers/kernel.js';

// Runs in every vitest project (vitest.config.mts): proves that each project's core tests
// really ran on the kernel path it names.
test('the addon uses the kernel path this test run asks for', () => {
  const addon = nodeGypBuild(path.join(__dirname, '..', '..')) as { kernelPath(): string };
  expect(addon.kernelPath()).toBe(expectedKernelPath(process.env.SOCKET_KEEPALIVE_IO_URING));
});
