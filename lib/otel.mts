/**
 * ESM entry point of `socket-keepalive/otel`: it re-exports the CommonJS build, so that
 * `import` and `require` share one copy of the library and its counts.
 * @packageDocumentation
 */
export { CAUSE_ATTRIBUTE, type ObserveKeepAliveOptions, observeKeepAlive } from './otel.js';
