// The option table (lib/options.ts) is the one list of options: every part that names
// the options reads it. Each row must reach each part: validation, SOCKET_KEEPALIVE, the
// flags, the kernel (in its unit, and kept across Node's own call), and the public types.
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, test } from 'vitest';
import { captureError } from '../helpers/errors.js';
import {
  DEFAULT_PRELOAD_OPTIONS,
  getKeepAlive,
  KEEPALIVE_LIMITS,
  keepAliveEnvironment,
  setKeepAlive,
} from '../helpers/library.js';
import { runCli } from '../helpers/run.js';
import { useConnectedSocket } from '../helpers/sockets.js';
import { OPTION_TABLE, parseKeepAliveSetting } from '../helpers/text.js';
import { root } from '../helpers/tree.js';

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

describe('each row reaches the kernel', () => {
  const connection = useConnectedSocket();

  test('its minimum and maximum are set and read back, converted to and from the kernel unit', () => {
    for (const { name, min, max } of OPTION_TABLE) {
      for (const value of [min, max]) {
        setKeepAlive(connection.socket, { [name]: value });
        expect(getKeepAlive(connection.socket)[name], `${name} ${value}`).toBe(value);
      }
    }
  });

  test("the rows marked kept survive Node's own setKeepAlive, which overwrites them", () => {
    const options = Object.fromEntries(OPTION_TABLE.map(({ name, min, step }) => [name, min + step]));
    setKeepAlive(connection.socket, options);
    connection.socket.setKeepAlive(true, 60_000);
    expect(getKeepAlive(connection.socket)).toEqual({ enable: true, ...options });
  });
});

test("the emitted declarations give each row's field of KeepAliveOptions and KeepAliveState its TSDoc", () => {
  // What an editor shows on hover, from the TypeScript language service over dist/*.d.ts.
  const file = path.join(root, 'dist', 'hover-check.ts');
  const lines = [
    "import type { KeepAliveOptions, KeepAliveState } from './index.js';",
    'declare const options: KeepAliveOptions;',
    'declare const state: KeepAliveState;',
    ...OPTION_TABLE.map(({ name }) => `options.${name}; state.${name};`),
  ];
  const text = lines.join('\n');
  const host: ts.LanguageServiceHost = {
    getScriptFileNames: () => [file],
    getScriptVersion: () => '1',
    getScriptSnapshot: (name) =>
      name === file
        ? ts.ScriptSnapshot.fromString(text)
        : fs.existsSync(name)
          ? ts.ScriptSnapshot.fromString(fs.readFileSync(name, 'utf8'))
          : undefined,
    getCurrentDirectory: () => root,
    getCompilationSettings: () => ({ strict: true, module: ts.ModuleKind.NodeNext, types: ['node'] }),
    getDefaultLibFileName: (options) => ts.getDefaultLibFilePath(options),
    fileExists: (name) => name === file || ts.sys.fileExists(name),
    readFile: (name) => (name === file ? text : ts.sys.readFile(name)),
  };
  const service = ts.createLanguageService(host);
  const documentation = (expression: string) => {
    const info = service.getQuickInfoAtPosition(file, text.indexOf(expression) + expression.indexOf('.') + 1);
    return ts.displayPartsToString(info?.documentation);
  };
  for (const { name, kernelOption, unit, max } of OPTION_TABLE) {
    for (const field of [`options.${name};`, `state.${name};`]) {
      const doc = documentation(field);
      expect(doc, field).toMatch(new RegExp(`^${kernelOption}: `));
      if (unit === 'ms') expect(doc, field).toContain('milliseconds');
      expect(doc, field).toContain(String(max));
    }
  }
});
