// The preload library reads SOCKET_KEEPALIVE exactly as lib/keepalive-variable.ts does: 5,000
// values made of the format's own pieces (name=value items of field names, digits and
// units, the words, whitespace JavaScript trims and some it does not, quotes, noise),
// each read by both, the result or the refusal line compared byte for byte.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, expect, test } from 'vitest';
import { missingTools, skipWithout } from '../helpers/requirements.js';
import { parseKeepAliveSetting } from '../helpers/text.js';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'ska-preload-parser-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

const NAMES = ['idle', 'interval', 'count', 'userTimeout', 'servers', 'report', 'delay', 'off', ''];
const SPACES = ['', '', '', ' ', '\t', '\n', '\u00a0', '\u2003', '\ufeff', '\u3000', '\u0085'];
const WORDS = ['on', 'off', 'text', 'json', "'", '"', '`', '${', '\\', '\x01', 'é', '-', '.', '+', ''];
const DIGITS = ['0', '1', '2', '5', '10', '1500', '32767', '2147483647', '99999999999999999999', '000', '3.5'];
const UNITS = ['ms', 's', 'm', 'h', '', '', 'x'];

/** One name=value item, or a piece of noise, with whitespace around its parts. */
const item = fc.oneof(
  fc
    .tuple(
      ...[SPACES, NAMES, SPACES, ['=', '=', '', '=='], SPACES, DIGITS, UNITS, SPACES].map((set) =>
        fc.constantFrom(...set),
      ),
    )
    .map((parts) => parts.join('')),
  fc
    .tuple(fc.constantFrom(...NAMES), fc.constantFrom('=', ''), fc.constantFrom(...WORDS))
    .map((parts) => parts.join('')),
  fc.array(fc.constantFrom(...SPACES, ...WORDS, ...DIGITS, ...UNITS), { maxLength: 4 }).map((parts) => parts.join('')),
);

/** What lib/keepalive-variable.ts gives for text, in the harness's form. */
function javascript(text: string): string {
  try {
    const read = parseKeepAliveSetting(text);
    if (read === null) return 'off';
    const { idle, interval, count, userTimeout } = read.options;
    const report = read.report === 'text' ? 1 : read.report === 'json' ? 2 : 0;
    return `ok ${idle} ${interval} ${count} ${userTimeout} ${read.servers ? 1 : 0} ${report}`;
  } catch (error) {
    return `socket-keepalive: SOCKET_KEEPALIVE=${JSON.stringify(text)} is refused: ${(error as Error).message}\n`;
  }
}

test.skipIf(skipWithout('the parser comparison', missingTools('gcc')))(
  '5,000 values: the same options, or the same refusal line, byte for byte',
  () => {
    const binary = path.join(work, 'parse-lines');
    execFileSync('gcc', ['-O1', path.join(__dirname, 'fixtures', 'parse-lines.c'), '-o', binary, '-ldl']);
    const values = fc.sample(
      fc.array(item, { maxLength: 4 }).map((items) => items.join(',')),
      { numRuns: 5000, seed: 20261207 },
    );
    const output = execFileSync(binary, {
      input: values.map((value) => `${value}\0`).join(''),
      env: {},
      maxBuffer: 64 * 1024 * 1024,
    });
    const native = output.toString('utf8').split('\0').slice(0, -1);
    expect(native).toHaveLength(values.length);
    // The values reach every outcome: options, off, and each kind of refusal.
    const outcomes = new Set(
      native.map(
        (line) =>
          /^(ok|off)|unknown field|twice|must be a duration|needs a unit|out of range|whole number|on or off|text, json/.exec(
            line,
          )?.[0],
      ),
    );
    expect([...outcomes].sort()).toEqual(
      [
        'ok',
        'off',
        'unknown field',
        'twice',
        'must be a duration',
        'needs a unit',
        'out of range',
        'whole number',
        'on or off',
        'text, json',
      ].sort(),
    );
    const differing = values.filter((value, index) => native[index] !== javascript(value));
    expect(
      differing
        .map((value) => ({ value, native: native[values.indexOf(value)], javascript: javascript(value) }))
        .slice(0, 3),
    ).toEqual([]);
  },
);
