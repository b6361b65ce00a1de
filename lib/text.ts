/**
 * `socket-keepalive/text`: the settings as people write them, for tools that read or
 * write them the way `socket-keepalive run` and the preload do: the option table (each
 * option's name, kernel option, unit, limits, default and flag), times written with a
 * unit, and the `SOCKET_KEEPALIVE` format; how the dead-peer report writes times and
 * addresses, and the retransmission timer's ceiling its predictions use, for tools that
 * check them. Applications tune with the root export.
 * @packageDocumentation
 */
export { RTO_MAX_MS } from './detection.js';
export { parseDuration, writeDuration } from './duration.js';
export { formatEndpoint, formatSeconds } from './format.js';
export { type KeepAliveSetting, parseKeepAliveSetting } from './keepalive-variable.js';
export { type NumericOption, OPTION_TABLE, type OptionSpec } from './options.js';
