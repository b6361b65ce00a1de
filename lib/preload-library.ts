/**
 * The preload library (native/preload.c): a shared library that, loaded with
 * `LD_PRELOAD`, gives every TCP socket of any program the options of `SOCKET_KEEPALIVE`,
 * whatever code opens it (Bun's and Deno's own APIs, libpq, Python, ...).
 * @packageDocumentation
 */
import fs from 'node:fs';
import path from 'node:path';
import { binding } from './binding.js';

/** The C library a program is linked with, which decides which build of the preload library it can load. */
export type Libc = 'glibc' | 'musl';

/** Where the preload library for one C library is: its absolute path, or why there is none. */
export type PreloadLibrary = { path: string; missing?: undefined } | { path?: undefined; missing: string };

const FILES: Readonly<Record<Libc, string>> = {
  glibc: 'socket-keepalive-preload.so',
  musl: 'socket-keepalive-preload-musl.so',
};

/**
 * The preload library built for `libc`, looked for where the addon is (a local build in
 * `build/Release/` first, then `prebuilds/<platform>-<arch>/`, as node-gyp-build does).
 * The package ships it prebuilt for linux-x64 (glibc and musl) and linux-arm64 (glibc);
 * a build from source makes the glibc one, and the musl one where `musl-gcc` is installed.
 *
 * @example
 * ```ts
 * const library = preloadLibrary('glibc');
 * if (library.path) spawn('python3', ['app.py'], { env: { ...process.env, LD_PRELOAD: library.path } });
 * ```
 */
export function preloadLibrary(libc: Libc = 'glibc'): PreloadLibrary {
  const platform = `${process.platform}-${process.arch}`;
  if (process.platform !== 'linux') return { missing: `the preload library is built for Linux only, not ${platform}` };
  const root = path.join(__dirname, '..');
  const places = [path.join(root, 'build', 'Release'), path.join(root, 'prebuilds', platform)];
  for (const place of places) {
    const file = path.join(place, FILES[libc]);
    if (fs.existsSync(file)) return { path: file };
  }
  return {
    missing: `this package has no preload library for ${platform} ${libc} (no ${FILES[libc]} in ${places.join(' or ')})`,
  };
}

/**
 * Whether the preload library is loaded into this process and tunes its sockets (it read
 * a `SOCKET_KEEPALIVE` other than `off`). The process-wide default read from the same
 * variable (`socket-keepalive/register`) then leaves the setsockopt calls to it.
 */
export function preloadLibraryActive(): boolean {
  return binding().preloadActive() === 1;
}
