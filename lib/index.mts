/**
 * ESM entry point. It re-exports the CommonJS build, so that `import` and `require`
 * share one copy of the library and its record of tuned sockets. The list is index.ts's
 * (test/library/index.test.ts holds them equal).
 * @packageDocumentation
 */
// The declarations name Node's types: this loads them in a project whose tsconfig has "types": [] (what `tsc --init` writes).
/// <reference types="node" preserve="true" />
export {
  DEAD_PEER_CHANNEL,
  DEFAULT_PRELOAD_OPTIONS,
  type DeadPeer,
  type DeadPeerCause,
  type DefaultKeepAlive,
  type DefaultKeepAliveSettings,
  type DetectionTime,
  detectionTime,
  ERR_SOCKET_KEEPALIVE_UNSUPPORTED,
  getDefaultKeepAlive,
  getKeepAlive,
  getTcpInfo,
  type InspectedSocket,
  inspectProcess,
  KEEPALIVE_LIMITS,
  type KeepAliveOptions,
  type KeepAliveState,
  type KeepAliveStats,
  type KeepAliveTarget,
  keepAliveEnvironment,
  keepAliveStats,
  type Libc,
  type PreloadLibrary,
  preloadLibrary,
  retransmissionLimitMs,
  setDefaultKeepAlive,
  setKeepAlive,
  type TcpInfo,
  type TcpState,
  tuneAgent,
  type UnsupportedError,
  WARNING_CODES,
  type WarningCode,
} from './index.js';
