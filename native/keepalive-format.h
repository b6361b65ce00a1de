/* The numeric fields of the SOCKET_KEEPALIVE format, written once: read by the preload
 * library (preload.c), and exported by the addon (keepalive.cc, `preloadFields`) so that a
 * test holds them equal to lib/options.ts (KEEPALIVE_LIMITS, DEFAULT_PRELOAD_OPTIONS).
 * Plain C, included by C and C++.
 *
 * X(name, unit, min, max, step, default): unit "ms" is a time (written with ms, s, m or
 * h; kept in milliseconds), "probes" a whole number (lib/options.ts OPTION_TABLE). */
#ifndef SOCKET_KEEPALIVE_NATIVE_KEEPALIVE_FORMAT_H_
#define SOCKET_KEEPALIVE_NATIVE_KEEPALIVE_FORMAT_H_

#define KEEPALIVE_FORMAT_FIELDS(X)                  \
  X(idle, "ms", 1000, 32767000, 1000, 10000)        \
  X(interval, "ms", 1000, 32767000, 1000, 2000)     \
  X(count, "probes", 1, 127, 1, 3)                  \
  X(userTimeout, "ms", 0, 2147483647, 1, 20000)

#endif /* SOCKET_KEEPALIVE_NATIVE_KEEPALIVE_FORMAT_H_ */
