/**
 * socket-keepalive: per-socket TCP keepalive (SO_KEEPALIVE, TCP_KEEPIDLE, TCP_KEEPINTVL,
 * TCP_KEEPCNT) and TCP_USER_TIMEOUT for Node.js, read back from the kernel.
 * Linux semantics; see tcp(7): https://man7.org/linux/man-pages/man7/tcp.7.html
 * @packageDocumentation
 */
export { type KeepAliveOptions, KEEPALIVE_LIMITS, DEFAULT_PRELOAD_OPTIONS } from './options.js';
export type { KeepAliveTarget } from './target.js';
export { type KeepAliveState, setKeepAlive, getKeepAlive } from './keepalive.js';
export { type TcpInfo, type TcpState, getTcpInfo } from './tcp-info.js';
export { tuneAgent } from './agent.js';
export { type DetectionTime, detectionTime, retransmissionLimitMs } from './detection.js';
export { type InspectedSocket, inspectProcess } from './inspect.js';
export {
  type DefaultKeepAlive,
  type DefaultKeepAliveSettings,
  DEFAULT_KEEPALIVE_WARNING,
  setDefaultKeepAlive,
  getDefaultKeepAlive,
} from './default.js';
export { type KeepAliveSetting, keepAliveEnvironment, parseKeepAliveSetting } from './env-options.js';
export { type DeadPeer, DEAD_PEER_CHANNEL } from './dead-peer.js';
export { type DeadPeerCause, type KeepAliveStats, keepAliveStats } from './stats.js';
export { parseDuration } from './duration.js';
