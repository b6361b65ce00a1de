/* The options of socket-keepalive, one row each, written once: lib/options.ts OPTION_TABLE
 * has the same rows in the same order, and a test holds the two equal (the addon exports
 * these rows as `optionTable`). From them come the addon's steps, slots and apply order
 * (keepalive.h), Linux's socket options (platform-linux.cc kOptions), and the preload
 * library's SOCKET_KEEPALIVE fields, its apply and the options it keeps (preload.c).
 * Plain C, included by C and C++; it names macros of <netinet/tcp.h> and <sys/socket.h>
 * but includes neither: a file that sets the options includes them.
 *
 * X(name, kernel_option, level, unit, kernel_scale, min, max, step, default_value, kept):
 * - name: the field of the API and of SOCKET_KEEPALIVE;
 * - kernel_option, level: the socket option it sets (the macro: #kernel_option is its name);
 * - unit: "ms" a time (written with ms, s, m or h; kept in milliseconds), "probes" a count;
 * - kernel_scale: milliseconds per unit of the kernel's value (1000: the kernel takes seconds);
 * - min, max, step: the accepted values on Linux, in unit (include/net/tcp.h MAX_TCP_KEEPIDLE,
 *   MAX_TCP_KEEPINTVL, MAX_TCP_KEEPCNT; TCP_USER_TIMEOUT takes an int);
 * - default_value: what the preload library and `run` give it when it is not written;
 * - kept: 1 when a program's own keepalive switch overwrites it (libuv sets TCP_KEEPIDLE,
 *   TCP_KEEPINTVL and TCP_KEEPCNT with SO_KEEPALIVE), so that this library sets it again. */
#ifndef SOCKET_KEEPALIVE_NATIVE_OPTIONS_H_
#define SOCKET_KEEPALIVE_NATIVE_OPTIONS_H_

#define KEEPALIVE_OPTIONS(X)                                                        \
  X(idle, TCP_KEEPIDLE, IPPROTO_TCP, "ms", 1000, 1000, 32767000, 1000, 10000, 1)    \
  X(interval, TCP_KEEPINTVL, IPPROTO_TCP, "ms", 1000, 1000, 32767000, 1000, 2000, 1) \
  X(count, TCP_KEEPCNT, IPPROTO_TCP, "probes", 1, 1, 127, 1, 3, 1)                  \
  X(userTimeout, TCP_USER_TIMEOUT, IPPROTO_TCP, "ms", 1, 0, 2147483647, 1, 20000, 0)

#endif /* SOCKET_KEEPALIVE_NATIVE_OPTIONS_H_ */
