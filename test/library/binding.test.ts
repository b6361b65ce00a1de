import { createRequire } from 'node:module';
import path from 'node:path';
import nodeGypBuild from 'node-gyp-build';
import { expect, test } from 'vitest';
import { root } from '../helpers/tree.js';

// The addon and lib/ read each other's tables: the addon numbers the failure steps and
// orders the TCP_INFO fields (native/keepalive.h), lib/ gives them meaning. Each side is
// written once; these tests hold the two together.
const requireBuilt = createRequire(__filename);
const addon = nodeGypBuild(root) as {
  options: Int32Array;
  tcpInfo: Uint32Array;
  steps: string[];
  stepCodes: number;
  tcpInfoFields: string[];
};
const { OPTION_SLOTS, STEP_MEANINGS } = requireBuilt(
  path.join(root, 'dist', 'binding.js'),
) as typeof import('../../lib/binding.js');
const { TCP_INFO_UNITS } = requireBuilt(
  path.join(root, 'dist', 'tcp-info.js'),
) as typeof import('../../lib/tcp-info.js');

test('every step the addon can name in a failure has a meaning in lib/, and lib/ knows no other', () => {
  expect([...addon.steps].sort()).toEqual(Object.keys(STEP_MEANINGS).sort());
  expect(addon.steps.length).toBeLessThanOrEqual(addon.stepCodes);
});

test("the addon's option slots are its first steps, SO_KEEPALIVE and the table's rows, in the order lib/ fills them", () => {
  expect(addon.steps.slice(0, OPTION_SLOTS.length)).toEqual([...OPTION_SLOTS]);
  expect(addon.options).toBeInstanceOf(Int32Array);
  expect(addon.options.length).toBe(OPTION_SLOTS.length);
});

test('the addon writes exactly the TCP_INFO fields lib/ has units for', () => {
  expect([...addon.tcpInfoFields].sort()).toEqual(Object.keys(TCP_INFO_UNITS).sort());
  expect(new Set(addon.tcpInfoFields).size).toBe(addon.tcpInfoFields.length);
  expect(addon.tcpInfo).toBeInstanceOf(Uint32Array);
  expect(addon.tcpInfo.length).toBe(addon.tcpInfoFields.length);
});

test('the tables are frozen: nothing can reorder them at run time', () => {
  expect(Object.isFrozen(addon.steps)).toBe(true);
  expect(Object.isFrozen(addon.tcpInfoFields)).toBe(true);
});
