/**
 * ESM entry point. It re-exports the CommonJS build, so that `import` and `require`
 * share one copy of the library and its record of tuned sockets.
 * @packageDocumentation
 */
export {
  type KeepAliveOptions,
  type KeepAliveTarget,
  type KeepAliveState,
  type TcpInfo,
  type TcpState,
  type DetectionTime,
  type InspectedSocket,
  type DefaultKeepAlive,
  type DefaultKeepAliveSettings,
  DEFAULT_KEEPALIVE_WARNING,
  setDefaultKeepAlive,
  getDefaultKeepAlive,
  keepAliveEnvironment,
  parseDuration,
  KEEPALIVE_LIMITS,
  setKeepAlive,
  getKeepAlive,
  getTcpInfo,
  tuneAgent,
  detectionTime,
  retransmissionLimitMs,
  inspectProcess,
} from './index.js';
