/**
 * The one place a platform is chosen: lib/platform/<os>.ts for this `process.platform`.
 * Only Linux is written; elsewhere the native addon does not build, the library tunes
 * through Node's own setKeepAlive (lib/floor.ts), and Linux's model stands in for
 * `detectionTime` (its sysctls then unreadable: Linux's own defaults).
 * @packageDocumentation
 */
import { linux } from './linux.js';
import type { Platform } from './platform.js';

const PLATFORMS: Readonly<Partial<Record<NodeJS.Platform, Platform>>> = { linux };

/** This process's platform. */
export const platform: Platform = PLATFORMS[process.platform] ?? linux;
