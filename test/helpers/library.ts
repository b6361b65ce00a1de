// The one place tests get the library from: the compiled package in dist/, loaded with
// Node's own require exactly as an application (or a child process, a Worker, the
// command-line tool) loads it, not lib/'s sources through vitest's transform. Tests
// in a child process need dist/ anyway, so every test runs the same build, and the
// suite's global setup (test/vitest/global-setup.ts) rebuilds dist/ and the addon when
// their sources are newer: a stale dist/ cannot pass. Types come from lib/, which
// dist/ is compiled from, so type-checking the tests does not need a build.
import { createRequire } from 'node:module';
import path from 'node:path';
import type * as Library from '../../lib/index.js';
import { root } from './tree.js';

export type {
  DeadPeer,
  DeadPeerCause,
  DefaultKeepAlive,
  DefaultKeepAliveSettings,
  DetectionTime,
  InspectedSocket,
  KeepAliveOptions,
  KeepAliveState,
  KeepAliveStats,
  KeepAliveTarget,
  Libc,
  PreloadLibrary,
  TcpInfo,
  TcpState,
  UnsupportedError,
  WarningCode,
} from '../../lib/index.js';

/** The package's CommonJS entry point, for code run in another process or thread. */
export const libraryPath = path.join(root, 'dist', 'index.js');

const requireBuilt = createRequire(__filename);

export const {
  KEEPALIVE_LIMITS,
  ERR_SOCKET_KEEPALIVE_UNSUPPORTED,
  WARNING_CODES,
  setKeepAlive,
  getKeepAlive,
  getTcpInfo,
  tuneAgent,
  detectionTime,
  retransmissionLimitMs,
  inspectProcess,
  setDefaultKeepAlive,
  getDefaultKeepAlive,
  keepAliveEnvironment,
  DEFAULT_PRELOAD_OPTIONS,
  DEAD_PEER_CHANNEL,
  keepAliveStats,
  preloadLibrary,
} = requireBuilt(libraryPath) as typeof Library;

/** The preload's absolute path and the options that load it, from the build like the rest. */
export const childEnvironment = requireBuilt(
  path.join(root, 'dist', 'child-environment.js'),
) as typeof import('../../lib/child-environment.js');
