// The package's export list is written once, in lib/index.ts. The ESM entry point
// (lib/index.mts) and the tests' entry point (test/helpers/library.ts) repeat it because
// TypeScript needs names to re-export; this test holds the three, and the built modules, equal.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { expect, test } from 'vitest';
import { libraryPath } from '../helpers/library.js';
import { textPath } from '../helpers/text.js';
import { root } from '../helpers/tree.js';

/** The names in the `export { ... }` and `export type { ... }` lists of a source file, split into types and values. */
function exportLists(file: string): { types: string[]; values: string[] } {
  const source = fs.readFileSync(path.join(root, file), 'utf8');
  const types: string[] = [];
  const values: string[] = [];
  for (const [, typeOnly, list] of source.matchAll(/export (type )?\{([^}]*)\}/g)) {
    for (const item of list
      .split(',')
      .map((name) => name.trim())
      .filter(Boolean)) {
      if (typeOnly || item.startsWith('type ')) types.push(item.replace(/^type /, ''));
      else values.push(item);
    }
  }
  // test/helpers/library.ts takes the values by destructuring the built module.
  const destructured = /export const \{([^}]*)\} =\s*requireBuilt/.exec(source);
  if (destructured)
    values.push(
      ...destructured[1]
        .split(',')
        .map((name) => name.trim())
        .filter(Boolean),
    );
  return { types: types.sort(), values: values.sort() };
}

test('lib/index.mts and test/helpers/library.ts export what lib/index.ts exports', () => {
  const index = exportLists('lib/index.ts');
  expect(index.values.length).toBeGreaterThan(10);
  expect(exportLists('lib/index.mts')).toEqual(index);
  expect(exportLists('test/helpers/library.ts')).toEqual(index);
});

test('lib/text.mts and test/helpers/text.ts export what lib/text.ts exports, which the root does not', () => {
  const text = exportLists('lib/text.ts');
  expect(exportLists('lib/text.mts')).toEqual(text);
  expect(exportLists('test/helpers/text.ts')).toEqual(text);
  const index = exportLists('lib/index.ts');
  expect([...index.values, ...index.types].filter((name) => [...text.values, ...text.types].includes(name))).toEqual(
    [],
  );
});

test.each([
  ['lib/index.ts', libraryPath, 'index.mjs'],
  ['lib/text.ts', textPath, 'text.mjs'],
])('the built CommonJS and ESM entry points of %s export its values and nothing else', async (source, cjs, mjs) => {
  const { values } = exportLists(source);
  const commonJs = createRequire(__filename)(cjs) as Record<string, unknown>;
  expect(Object.keys(commonJs).sort()).toEqual(values);
  const esm = (await import(pathToFileURL(path.join(root, 'dist', mjs)).href)) as Record<string, unknown>;
  expect(
    Object.keys(esm)
      .filter((name) => name !== 'default')
      .sort(),
  ).toEqual(values);
});
