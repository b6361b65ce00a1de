import path from 'node:path';
import nodeGypBuild from 'node-gyp-build';
import { expect, test } from 'vitest';
import { kernelOffersIoUringSetsockopt } from '../helpers/kernel.js';

// Runs in both vitest projects (vitest.config.mts): proves that each project's core tests
// really ran on the kernel path it names.
test('the addon uses the kernel path this test run asks for', () => {
  const addon = nodeGypBuild(path.join(__dirname, '..', '..')) as { kernelPath(): string };
  const forcedOff = process.env.SOCKET_KEEPALIVE_IO_URING === '0';
  expect(addon.kernelPath()).toBe(kernelOffersIoUringSetsockopt() && !forcedOff ? 'io_uring' : 'syscalls');
});
