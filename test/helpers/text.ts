// \`socket-keepalive/text\` for the tests, from the build like the root export (see library.ts).
import { createRequire } from 'node:module';
import path from 'node:path';
import type * as Text from '../../lib/text.js';
import { root } from './tree.js';

export type { KeepAliveSetting, NumericOption, OptionSpec } from '../../lib/text.js';

/** The subpath's CommonJS entry point. */
export const textPath = path.join(root, 'dist', 'text.js');

const requireBuilt = createRequire(__filename);

export const {
  formatEndpoint,
  formatSeconds,
  OPTION_TABLE,
  parseDuration,
  parseKeepAliveSetting,
  RTO_MAX_MS,
  writeDuration,
} = requireBuilt(textPath) as typeof Text;
