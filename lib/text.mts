/**
 * ESM form of `socket-keepalive/text`, re-exporting the CommonJS one (see text.ts). The
 * list is text.ts's (test/library/index.test.ts holds them equal).
 * @packageDocumentation
 */
export {
  formatEndpoint,
  formatSeconds,
  type KeepAliveSetting,
  type NumericOption,
  OPTION_TABLE,
  type OptionSpec,
  parseDuration,
  parseKeepAliveSetting,
  RTO_MAX_MS,
  writeDuration,
} from './text.js';
