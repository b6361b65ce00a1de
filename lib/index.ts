/**
 * socket-keepalive: per-socket TCP keepalive (SO_KEEPALIVE, TCP_KEEPIDLE, TCP_KEEPINTVL,
 * TCP_KEEPCNT) and TCP_USER_TIMEOUT for Node.js, read back from the kernel.
 * Linux semantics; see tcp(7): https://man7.org/linux/man-pages/man7/tcp.7.html
 * @packageDocumentation
 */
// The declarations name Node's types: this loads them in a project whose tsconfig has "types": [] (what `tsc --init` writes).
/// <reference types="node" preserve="true" />

export { tuneAgent } from './agent.js';
export { keepAliveEnvironment } from './child-environment.js';
export { DEAD_PEER_CHANNEL, type DeadPeer } from './dead-peer.js';
export {
  type DefaultKeepAlive,
  type DefaultKeepAliveSettings,
  getDefaultKeepAlive,
  setDefaultKeepAlive,
} from './default.js';
export { type DetectionTime, detectionTime, retransmissionLimitMs } from './detection.js';
export { ERR_SOCKET_KEEPALIVE_UNSUPPORTED, type UnsupportedError } from './errors.js';
export { type InspectedSocket, inspectProcess } from './inspect.js';
export { getKeepAlive, type KeepAliveState, setKeepAlive } from './keepalive.js';
export { DEFAULT_PRELOAD_OPTIONS, KEEPALIVE_LIMITS, type KeepAliveOptions } from './options.js';
export { type Libc, type PreloadLibrary, preloadLibrary } from './preload-library.js';
export { type DeadPeerCause, type KeepAliveStats, keepAliveStats } from './stats.js';
export type { KeepAliveTarget } from './target.js';
export { getTcpInfo, type TcpInfo, type TcpState } from './tcp-info.js';
export { WARNING_CODES, type WarningCode } from './warnings.js';
