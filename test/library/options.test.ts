// The option table (lib/options.ts) is the one list of options: every part that names
// the options reads it. Each row must reach each part.
import { expect, test } from 'vitest';
import { captureError } from '../helpers/errors.js';
import { DEFAULT_PRELOAD_OPTIONS, KEEPALIVE_LIMITS, keepAliveEnvironment, setKeepAlive } from '../helpers/library.js';
import { runCli } from '../helpers/run.js';
import { OPTION_TABLE, parseKeepAliveSetting } from '../helpers/text.js';

test('the limits and the defaults are the rows of the table', () => {
  for (const { name, min, max, step, defaultValue } of OPTION_TABLE) {
    expect(KEEPALIVE_LIMITS[name]).toEqual({ min, max, step });
    expect(DEFAULT_PRELOAD_OPTIONS[name]).toBe(defaultValue);
  }
  expect(Object.keys(KEEPALIVE_LIMITS)).toEqual(OPTION_TABLE.map(({ name }) => name));
  expect(Object.keys(DEFAULT_PRELOAD_OPTIONS)).toEqual(OPTION_TABLE.map(({ name }) => name));
});

test('each row is validated, read from SOCKET_KEEPALIVE and written back by keepAliveEnvironment', () => {
  for (const spec of OPTION_TABLE) {
    expect(captureError(() => setKeepAlive(0, { [spec.name]: spec.max + 1 })).message).toMatch(
      new RegExp(`"options.${spec.name}" is out of range`),
    );
    const written = spec.unit === 'ms' ? `${spec.max}ms` : String(spec.max);
    const setting = parseKeepAliveSetting(`${spec.name}=${written}`);
    expect(setting?.options[spec.name]).toBe(spec.max);
    const text = keepAliveEnvironment({ [spec.name]: spec.max }, {}, {}).SOCKET_KEEPALIVE;
    expect(parseKeepAliveSetting(text)?.options[spec.name]).toBe(spec.max);
  }
});

test.each(['run', 'server', 'client'])(
  'socket-keepalive %s takes a flag for each row and lists it in --help',
  async (command) => {
    const help = (await runCli([command, '--help'])).stdout;
    for (const spec of OPTION_TABLE) {
      expect(help).toContain(`  ${spec.flag} `);
      expect(help).toContain(spec.summary);
      const refused = await runCli([
        command,
        spec.flag,
        spec.unit === 'ms' ? '1' : 'x',
        ...(command === 'run' ? ['--', 'true'] : []),
      ]);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain(spec.flag);
    }
  },
);
