/**
 * ESM entry point. It re-exports the CommonJS build, so that `import` and `require`
 * share one copy of the library and its record of tuned sockets. The list is index.ts's
 * (test/library/exports.test.ts holds them equal).
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
  type KeepAliveSetting,
  type DeadPeer,
  type DeadPeerCause,
  type KeepAliveStats,
  DEFAULT_KEEPALIVE_WARNING,
  setDefaultKeepAlive,
  getDefaultKeepAlive,
  keepAliveEnvironment,
  parseKeepAliveSetting,
  DEFAULT_PRELOAD_OPTIONS,
  DEAD_PEER_CHANNEL,
  keepAliveStats,
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
