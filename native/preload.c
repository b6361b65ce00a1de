/* The preload library of socket-keepalive: loaded with LD_PRELOAD, it gives every TCP
 * socket of the process (AF_INET or AF_INET6, protocol TCP) the options of
 * SOCKET_KEEPALIVE, read with the rules of lib/keepalive-variable.ts, whatever code
 * opens it:
 *
 * - connect(): the options are set before the real call, so TCP_USER_TIMEOUT also bounds
 *   the SYN retries, for blocking and non-blocking connects;
 * - listen() (unless servers=off): accepted connections inherit them from the kernel;
 * - setsockopt(): on a socket this library tuned, the options options.h marks kept
 *   (TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT) from the program run (their result is
 *   the program's), then this library's value is set again; the others pass unchanged;
 * - close(): on a socket it tuned, with report=text|json, a line on stderr when the
 *   kernel ended the connection because the peer stopped answering.
 *
 * MPTCP sockets, which take the same options, are tuned too.
 *
 * The sockets it tuned are kept in a bitmap of FD_BOUND bits (atomic, no lock: safe with
 * threads and across fork()). A descriptor at or above FD_BOUND is tuned at connect() and
 * listen() all the same, but neither kept tuned nor reported.
 *
 * No errno and no return value the program sees is changed: each call of the library's
 * own saves and restores errno. Only the symbols interposed and the two functions the
 * addon calls (socket_keepalive_preload_*) are exported. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "options.h"

#define EXPORT __attribute__((visibility("default")))

#ifndef SO_PEERNAME
#define SO_PEERNAME 28
#endif

/* Node's own exit code for an invalid argument, as lib/register.ts exits with. */
#define INVALID_ARGUMENT_EXIT 9
#define FD_BOUND 65536

/* The options of options.h, FIELD_idle ..., in its order. */
enum Field {
#define FIELD_ENUMERATOR(name, ...) FIELD_##name,
  KEEPALIVE_OPTIONS(FIELD_ENUMERATOR)
#undef FIELD_ENUMERATOR
      FIELD_COUNT
};

/* A row of options.h: the SOCKET_KEEPALIVE field and the socket option it sets. */
struct FieldSpec {
  const char* name;
  int level, option;
  const char* unit;
  long kernel_scale, min, max, step, fallback;
  int kept;
};

static const struct FieldSpec kFields[FIELD_COUNT] = {
#define FIELD_SPEC(name, option, level, unit, kernel_scale, min, max, step, fallback, kept) \
  {#name, level, option, unit, kernel_scale, min, max, step, fallback, kept},
    KEEPALIVE_OPTIONS(FIELD_SPEC)
#undef FIELD_SPEC
};

enum Report { REPORT_OFF, REPORT_TEXT, REPORT_JSON };

struct Setting {
  int active; /* 0 for SOCKET_KEEPALIVE=off */
  int servers;
  enum Report report;
  long values[FIELD_COUNT]; /* ms, or the count */
};

static struct Setting setting;

/* ---- the real functions ---- */

typedef int (*connect_fn)(int, const struct sockaddr*, socklen_t);
typedef int (*listen_fn)(int, int);
typedef int (*setsockopt_fn)(int, int, int, const void*, socklen_t);
typedef int (*close_fn)(int);
typedef int (*accept_fn)(int, struct sockaddr*, socklen_t*);
typedef int (*accept4_fn)(int, struct sockaddr*, socklen_t*, int);
typedef int (*socket_fn)(int, int, int);
typedef int (*dup2_fn)(int, int);
typedef int (*dup3_fn)(int, int, int);

/* Resolved on first use (another library's constructor may call before ours ran). Two
 * threads resolving at once store the same pointer. */
#define REAL(name)                                                                   \
  static name##_fn real_##name(void) {                                               \
    static name##_fn resolved;                                                       \
    name##_fn fn = __atomic_load_n(&resolved, __ATOMIC_ACQUIRE);                     \
    if (fn == NULL) {                                                                \
      fn = (name##_fn)dlsym(RTLD_NEXT, #name);                                       \
      __atomic_store_n(&resolved, fn, __ATOMIC_RELEASE);                             \
    }                                                                                \
    return fn;                                                                       \
  }
REAL(connect)
REAL(listen)
REAL(setsockopt)
REAL(close)
REAL(accept)
REAL(accept4)
REAL(socket)
REAL(dup2)
REAL(dup3)

/* ---- the bitmap of sockets this library tuned ---- */

#define WORD_BITS (8 * sizeof(unsigned long))
static unsigned long tuned[FD_BOUND / WORD_BITS];

static int in_bound(int fd) { return fd >= 0 && fd < FD_BOUND; }
static unsigned long bit_of(int fd) { return 1UL << ((unsigned)fd % WORD_BITS); }
static unsigned long* word_of(int fd) { return &tuned[(unsigned)fd / WORD_BITS]; }

static int is_tuned(int fd) {
  return in_bound(fd) && (__atomic_load_n(word_of(fd), __ATOMIC_RELAXED) & bit_of(fd)) != 0;
}

static void mark(int fd, int on) {
  if (!in_bound(fd)) return;
  if (on)
    __atomic_fetch_or(word_of(fd), bit_of(fd), __ATOMIC_RELAXED);
  else if (is_tuned(fd))
    __atomic_fetch_and(word_of(fd), ~bit_of(fd), __ATOMIC_RELAXED);
}

/* Clears the bit; returns whether it was set. */
static int take(int fd) {
  if (!is_tuned(fd)) return 0;
  return (__atomic_fetch_and(word_of(fd), ~bit_of(fd), __ATOMIC_RELAXED) & bit_of(fd)) != 0;
}

/* ---- applying ---- */

/* The kernel's value of a field, in its unit (seconds for idle and interval). */
static int kernel_value(enum Field field) { return (int)(setting.values[field] / kFields[field].kernel_scale); }

/* The addon's order (keepalive.h kApplyOrder): the options in the table's order first,
 * SO_KEEPALIVE last. */
static int apply(int fd) {
  setsockopt_fn set = real_setsockopt();
  for (int field = 0; field < FIELD_COUNT; field++) {
    int value = kernel_value((enum Field)field);
    if (set(fd, kFields[field].level, kFields[field].option, &value, sizeof(value)) != 0) return -1;
  }
  int on = 1;
  return set(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on));
}

/* Tunes fd unless tuned already (a repeated connect() of a non-blocking socket). No check
 * of the socket's kind costs a syscall: a socket that is not TCP (UDP, SCTP, raw, Unix)
 * refuses the first option, TCP_KEEPIDLE, with ENOPROTOOPT or EOPNOTSUPP, and is left as
 * it was. */
static void tune(int fd) {
  if (is_tuned(fd)) return;
  int saved = errno;
  if (apply(fd) == 0) mark(fd, 1);
  errno = saved;
}

EXPORT int connect(int fd, const struct sockaddr* address, socklen_t length) {
  if (setting.active && address != NULL && length >= sizeof(sa_family_t) &&
      (address->sa_family == AF_INET || address->sa_family == AF_INET6))
    tune(fd);
  return real_connect()(fd, address, length);
}

EXPORT int listen(int fd, int backlog) {
  if (setting.active && setting.servers) tune(fd);
  return real_listen()(fd, backlog);
}

EXPORT int setsockopt(int fd, int level, int name, const void* value, socklen_t length) {
  setsockopt_fn set = real_setsockopt();
  int result = set(fd, level, name, value, length);
  if (result == 0 && is_tuned(fd)) {
    for (int field = 0; field < FIELD_COUNT; field++) {
      if (!kFields[field].kept || kFields[field].level != level || kFields[field].option != name) continue;
      int saved = errno;
      int ours = kernel_value((enum Field)field);
      set(fd, level, name, &ours, sizeof(ours));
      errno = saved;
      break;
    }
  }
  return result;
}

/* A new descriptor number: whatever the number held before is gone. */
EXPORT int socket(int domain, int type, int protocol) {
  int fd = real_socket()(domain, type, protocol);
  mark(fd, 0);
  return fd;
}

/* An accepted connection inherits the listener's options, and so its tracking. */
EXPORT int accept(int fd, struct sockaddr* address, socklen_t* length) {
  int accepted = real_accept()(fd, address, length);
  mark(accepted, is_tuned(fd));
  return accepted;
}

EXPORT int accept4(int fd, struct sockaddr* address, socklen_t* length, int flags) {
  int accepted = real_accept4()(fd, address, length, flags);
  mark(accepted, is_tuned(fd));
  return accepted;
}

EXPORT int dup2(int from, int to) {
  int fd = real_dup2()(from, to);
  if (fd >= 0 && fd != from) mark(fd, is_tuned(from));
  return fd;
}

EXPORT int dup3(int from, int to, int flags) {
  int fd = real_dup3()(from, to, flags);
  if (fd >= 0) mark(fd, is_tuned(from));
  return fd;
}

/* ---- text: a growable buffer, or a fixed one ---- */

/* The report is written into a fixed buffer on the stack: close() may run in a child
 * between fork() and exec(), where malloc is not safe to call. */
struct Text {
  char* data;
  size_t length, capacity;
  int fixed;
};

#define FIXED_TEXT(buffer) {buffer, 0, sizeof(buffer), 1}

static void put_bytes(struct Text* text, const char* bytes, size_t count) {
  if (text->fixed && text->length + count + 1 > text->capacity) count = text->capacity - text->length - 1;
  if (text->length + count + 1 > text->capacity) {
    size_t capacity = (text->length + count + 1) * 2;
    char* grown = realloc(text->data, capacity);
    if (grown == NULL) return;
    text->data = grown;
    text->capacity = capacity;
  }
  memcpy(text->data + text->length, bytes, count);
  text->length += count;
  text->data[text->length] = '\0';
}

static void put(struct Text* text, const char* string) { put_bytes(text, string, strlen(string)); }

static void put_long(struct Text* text, long value) {
  char digits[24];
  snprintf(digits, sizeof(digits), "%ld", value);
  put(text, digits);
}

/* ---- the report ---- */

/* An address and port as lib/format.ts formatEndpoint writes them (its twin), or, with json,
 * the two JSON fields' values. */
static void put_endpoint(struct Text* text, const struct sockaddr_storage* address, int json) {
  char host[INET6_ADDRSTRLEN] = "";
  int port = 0;
  if (address->ss_family == AF_INET) {
    const struct sockaddr_in* in = (const struct sockaddr_in*)address;
    inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
    port = ntohs(in->sin_port);
  } else if (address->ss_family == AF_INET6) {
    const struct sockaddr_in6* in6 = (const struct sockaddr_in6*)address;
    inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
    port = ntohs(in6->sin6_port);
  }
  if (json) {
    /* the two JSON fields, address then port; absent when unknown, as JSON.stringify leaves undefined out */
    if (host[0] == '\0') return;
    put(text, "\"");
    put(text, host);
    put(text, "\",");
    put_long(text, port);
    return;
  }
  if (host[0] == '\0') {
    put(text, "an unknown address");
    return;
  }
  int six = strchr(host, ':') != NULL;
  if (six) put(text, "[");
  put(text, host);
  put(text, six ? "]:" : ":");
  put_long(text, port);
}

/* Number.prototype.toFixed(1) of ms / 1000, followed by " s": lib/format.ts formatSeconds, its twin.
 * toFixed rounds an exact tie up; printf rounds it to even. A tie is exact only when
 * ms / 1000 is a multiple of 0.05 that a double holds exactly (ms % 250 == 0). */
static void put_seconds(struct Text* text, long ms) {
  char digits[32];
  if (ms % 250 == 0 && ms % 100 == 50)
    snprintf(digits, sizeof(digits), "%ld.%ld s", (ms + 50) / 1000, ((ms + 50) % 1000) / 100);
  else
    snprintf(digits, sizeof(digits), "%.1f s", (double)ms / 1000);
  put(text, digits);
}

/* lib/detection.ts predictDetection(...).idle, for options that are all set. */
static long predicted_idle(void) {
  long idle = setting.values[FIELD_idle], interval = setting.values[FIELD_interval];
  long user_timeout = setting.values[FIELD_userTimeout];
  if (user_timeout == 0) return idle + setting.values[FIELD_count] * interval;
  long ticks = user_timeout > idle ? (user_timeout - idle + interval - 1) / interval : 1;
  return idle + (ticks < 1 ? 1 : ticks) * interval;
}

/* The retransmission timeout's floor and ceiling (TCP_RTO_MIN, TCP_RTO_MAX), ms. */
#define RTO_MIN_MS 200.0
#define RTO_MAX_MS 120000.0
/* How late, as a share of its length, the kernel's timer wheel may fire a timer (kernel/time/timer.c). */
#define TIMER_WHEEL_LATENESS 0.125

/* lib/detection.ts retransmissionLimitMs(): RTO 200 ms doubling to 120 s, tcp_retries2 times. */
static long retransmission_limit(void) {
  long retries = 15;
  char digits[16] = "";
  int fd = open("/proc/sys/net/ipv4/tcp_retries2", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    if (read(fd, digits, sizeof(digits) - 1) > 0) retries = strtol(digits, NULL, 10);
    real_close()(fd);
  }
  const long rto_min = (long)RTO_MIN_MS, rto_max = (long)RTO_MAX_MS, linear = 9; /* floor(log2(rto_max / rto_min)) */
  return retries <= linear ? ((2L << retries) - 1) * rto_min : ((2L << linear) - 1) * rto_min + (retries - linear) * rto_max;
}

/* The figures of a dead peer, by the rules of lib/dead-peer.ts (its twin: firstRto,
 * lossProbe, inFlightOf, retransmissionEnd, causeOf, reportDeadPeer), from TCP_INFO in the
 * units lib/tcp-info.ts gives it: ms, with rto, rtt and rttvar in fractions of a ms. */

enum Cause { CAUSE_KEEPALIVE, CAUSE_USER_TIMEOUT, CAUSE_RETRANSMISSIONS };
static const char* const kCauseNames[] = {"keepalive", "userTimeout", "retransmissions"};

/* Math.round of a figure that is never negative. */
static long round_ms(double ms) { return (long)(ms + 0.5); }

static double min_ms(double a, double b) { return a < b ? a : b; }

static double first_rto(const struct tcp_info* info) {
  double unbacked = info->tcpi_rto / 1000.0;
  for (int step = 0; step < info->tcpi_retransmits; step++) unbacked /= 2;
  double floor = 4 * (info->tcpi_rttvar / 1000.0);
  if (floor < RTO_MIN_MS) floor = RTO_MIN_MS;
  return info->tcpi_rto / 1000.0 < RTO_MAX_MS ? unbacked : info->tcpi_rtt / 1000.0 + floor;
}

static double loss_probe(const struct tcp_info* info) { return 2 * (info->tcpi_rtt / 1000.0) + RTO_MIN_MS; }

static long in_flight_of(const struct tcp_info* info) {
  double first = first_rto(info), waited = info->tcpi_last_data_sent, doubling = 1;
  for (int step = 0; step < info->tcpi_retransmits; step++, doubling *= 2) waited += min_ms(first * doubling, RTO_MAX_MS);
  if (info->tcpi_total_retrans > info->tcpi_retransmits) waited += loss_probe(info);
  return round_ms(waited);
}

static long retransmission_end(const struct tcp_info* info, long bound) {
  double first = first_rto(info), first_timeout = loss_probe(info) + first;
  double expiry = first_timeout, timeout = first, doubling = 1;
  while (expiry - first_timeout < bound) {
    doubling *= 2;
    timeout = min_ms(first * doubling, RTO_MAX_MS);
    expiry += timeout;
  }
  return round_ms(expiry + timeout * TIMER_WHEEL_LATENESS);
}

/* The figures a report line carries, as lib/dead-peer.ts DeadPeer names them. */
struct DeadPeerFigures {
  enum Cause cause;
  long silent_ms, in_flight_ms, predicted_ms, predicted_max_ms;
};

/* Why the kernel ended an opened connection by its timers, as lib/dead-peer.ts causeOf says;
 * 0 when it did not. Its fourth cause, zeroWindow (data waiting on a closed receive window
 * until the user timeout), rests on the bytes Node still holds unsent: C has no such
 * buffer to read, and the kernel's own send queue is gone once it closed the connection,
 * so TCP_INFO alone tells such a connection from a reset by nothing and it is not reported. */
static int figures_of(const struct tcp_info* info, struct DeadPeerFigures* out) {
  if (info->tcpi_state != TCP_CLOSE || info->tcpi_rtt == 0) return 0; /* open still, or never opened */
  long user_timeout = setting.values[FIELD_userTimeout];
  if (info->tcpi_retransmits > 0)
    out->cause = user_timeout > 0 ? CAUSE_USER_TIMEOUT : CAUSE_RETRANSMISSIONS;
  else if (info->tcpi_probes > 0)
    out->cause = CAUSE_KEEPALIVE;
  else
    return 0;
  out->silent_ms = info->tcpi_last_data_recv < info->tcpi_last_ack_recv ? info->tcpi_last_data_recv : info->tcpi_last_ack_recv;
  out->in_flight_ms = out->cause == CAUSE_KEEPALIVE ? -1 : in_flight_of(info);
  if (out->cause == CAUSE_KEEPALIVE) {
    out->predicted_ms = predicted_idle();
    out->predicted_max_ms = out->predicted_ms + round_ms(setting.values[FIELD_interval] * (1 + TIMER_WHEEL_LATENESS));
  } else if (out->cause == CAUSE_RETRANSMISSIONS) {
    out->predicted_ms = retransmission_limit();
    out->predicted_max_ms = retransmission_end(info, out->predicted_ms);
  } else {
    out->predicted_ms = user_timeout;
    out->predicted_max_ms = round_ms(user_timeout * (1 + TIMER_WHEEL_LATENESS) + loss_probe(info) + first_rto(info));
  }
  return 1;
}

/* new Date().toISOString(): "2026-12-07T11:20:03.512Z". The civil date is computed here
 * (days to year, month, day, as in H. Hinnant's civil_from_days): gmtime_r may take the
 * time zone lock, which a child between fork() and exec() must not wait for. */
static void put_timestamp(struct Text* text) {
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  long long ms = (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
  long long of_day = ms % 86400000, z = ms / 86400000 + 719468;
  long long era = z / 146097, day_of_era = z - era * 146097;
  long long year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
  long long day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
  long long shifted_month = (5 * day_of_year + 2) / 153;
  long long day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
  long long month = shifted_month < 10 ? shifted_month + 3 : shifted_month - 9;
  long long year = year_of_era + era * 400 + (month <= 2);
  char digits[64];
  snprintf(digits, sizeof(digits), "%04lld-%02lld-%02lldT%02lld:%02lld:%02lld.%03lldZ", year, month, day,
           of_day / 3600000, of_day / 60000 % 60, of_day / 1000 % 60, of_day % 1000);
  put(text, digits);
}

/* lib/report.ts whatHappened (its twin), for the causes this library tells. */
static void put_what_happened(struct Text* line, const struct DeadPeerFigures* figures) {
  if (figures->cause == CAUSE_KEEPALIVE) {
    put(line, "idle, keepalive probes unanswered; peer silent ");
    put_seconds(line, figures->silent_ms);
    put(line, ", expected ");
    put_seconds(line, figures->predicted_ms);
    put(line, " to ");
    put_seconds(line, figures->predicted_max_ms);
    return;
  }
  put(line, "data unacknowledged for ");
  put_seconds(line, figures->in_flight_ms);
  put(line, figures->cause == CAUSE_USER_TIMEOUT ? ", past the user timeout; expected "
                                                 : ", retransmission limit reached (no user timeout set); expected ");
  put_seconds(line, figures->predicted_ms);
  put(line, " to ");
  put_seconds(line, figures->predicted_max_ms);
  put(line, "; peer silent ");
  put_seconds(line, figures->silent_ms);
}

static void put_json_number(struct Text* line, const char* name, long value) {
  put(line, ",\"");
  put(line, name);
  put(line, "\":");
  put_long(line, value);
}

/* Called before the real close() of a socket this library tuned: writes the line
 * lib/report.ts formatDeadPeer writes (its twin) when the kernel ended the connection by
 * its timers (figures_of); an error still pending on the socket (SO_ERROR) settles it:
 * ETIMEDOUT or nothing. */
static void report_if_dead(int fd) {
  struct tcp_info info;
  socklen_t length = sizeof(info);
  memset(&info, 0, sizeof(info));
  if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &length) != 0) return;
  struct DeadPeerFigures figures;
  if (!figures_of(&info, &figures)) return;
  int pending = 0;
  length = sizeof(pending);
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &pending, &length) != 0) pending = 0;
  if (pending != 0 && pending != ETIMEDOUT) return;

  struct sockaddr_storage local, remote;
  memset(&local, 0, sizeof(local));
  memset(&remote, 0, sizeof(remote));
  length = sizeof(local);
  if (getsockname(fd, (struct sockaddr*)&local, &length) != 0) local.ss_family = AF_UNSPEC;
  /* SO_PEERNAME refuses a buffer longer than the address (see sockopt.cc ReadPeerName) */
  length = local.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
  if (getsockopt(fd, SOL_SOCKET, SO_PEERNAME, &remote, &length) != 0) remote.ss_family = AF_UNSPEC;

  char buffer[768];
  struct Text line = FIXED_TEXT(buffer);
  if (setting.report == REPORT_JSON) {
    /* the fields of lib/dead-peer.ts DeadPeer, in its order, but the socket; JSON.stringify leaves undefined out */
    put(&line, "{\"at\":\"");
    put_timestamp(&line);
    put(&line, "\"");
    struct {
      const char* name;
      const struct sockaddr_storage* address;
    } ends[] = {{"local", &local}, {"remote", &remote}};
    for (int end = 0; end < 2; end++) {
      if (ends[end].address->ss_family == AF_UNSPEC) continue;
      char pair_buffer[80] = "";
      struct Text pair = FIXED_TEXT(pair_buffer);
      put_endpoint(&pair, ends[end].address, 1);
      char* comma = strrchr(pair_buffer, ',');
      if (comma != NULL) {
        put(&line, ",\"");
        put(&line, ends[end].name);
        put(&line, "Address\":");
        put_bytes(&line, pair_buffer, (size_t)(comma - pair_buffer));
        put(&line, ",\"");
        put(&line, ends[end].name);
        put(&line, "Port\":");
        put(&line, comma + 1);
      }
    }
    put(&line, ",\"cause\":\"");
    put(&line, kCauseNames[figures.cause]);
    put(&line, "\"");
    put_json_number(&line, "silentMs", figures.silent_ms);
    if (figures.in_flight_ms >= 0) put_json_number(&line, "inFlightMs", figures.in_flight_ms);
    put_json_number(&line, "probes", info.tcpi_probes);
    put_json_number(&line, "retransmits", info.tcpi_retransmits);
    put(&line, ",\"options\":{\"enable\":true");
    for (int field = 0; field < FIELD_COUNT; field++) put_json_number(&line, kFields[field].name, setting.values[field]);
    put(&line, "}");
    put_json_number(&line, "predictedMs", figures.predicted_ms);
    put_json_number(&line, "predictedMaxMs", figures.predicted_max_ms);
    put(&line, "}\n");
  } else {
    put(&line, "socket-keepalive: dead peer ");
    put_endpoint(&line, &remote, 0);
    put(&line, " (from ");
    put_endpoint(&line, &local, 0);
    put(&line, ") at ");
    put_timestamp(&line);
    put(&line, ": ");
    put_what_happened(&line, &figures);
    put(&line, "\n");
  }
  if (write(STDERR_FILENO, line.data, line.length) < 0) {
    /* nowhere to say it */
  }
}

EXPORT int close(int fd) {
  if (take(fd) && setting.report != REPORT_OFF) {
    int saved = errno;
    report_if_dead(fd);
    errno = saved;
  }
  return real_close()(fd);
}

/* ---- what the addon calls (through dlsym(RTLD_DEFAULT), lib/binding.ts) ---- */

/* 1 when this library tunes the sockets of this process: the JavaScript default read from
 * the same SOCKET_KEEPALIVE then leaves the setsockopt calls to it. */
EXPORT int socket_keepalive_preload_active(void) { return setting.active; }

/* The JavaScript layer takes fd over (it tuned it, keeps it tuned, and reports it): this
 * library neither keeps its values on it nor reports it. */
EXPORT void socket_keepalive_preload_release(int fd) { mark(fd, 0); }

/* ---- reading SOCKET_KEEPALIVE: the rules of lib/keepalive-variable.ts, its messages ---- */

/* The length of the JavaScript whitespace (String.prototype.trim) at text, in UTF-8; 0 if none. */
static size_t space_at(const unsigned char* text, size_t left) {
  if (left == 0) return 0;
  unsigned char c = text[0];
  if (c == ' ' || (c >= '\t' && c <= '\r')) return 1;
  if (left >= 2 && c == 0xC2 && text[1] == 0xA0) return 2; /* U+00A0 */
  if (left < 3) return 0;
  unsigned code = ((unsigned)(c & 0x0F) << 12) | ((unsigned)(text[1] & 0x3F) << 6) | (text[2] & 0x3F);
  if ((c & 0xF0) != 0xE0 || (text[1] & 0xC0) != 0x80 || (text[2] & 0xC0) != 0x80) return 0;
  if (code == 0x1680 || (code >= 0x2000 && code <= 0x200A) || code == 0x2028 || code == 0x2029 || code == 0x202F ||
      code == 0x205F || code == 0x3000 || code == 0xFEFF)
    return 3;
  return 0;
}

/* Trims [*start, *end) as String.prototype.trim does. */
static void trim(const char* text, size_t* start, size_t* end) {
  const unsigned char* bytes = (const unsigned char*)text;
  size_t step;
  while ((step = space_at(bytes + *start, *end - *start)) > 0) *start += step;
  size_t last = *start; /* the end of the last character that is not whitespace */
  for (size_t at = *start; at < *end;) {
    step = space_at(bytes + at, *end - at);
    if (step == 0) {
      at++;
      while (at < *end && (bytes[at] & 0xC0) == 0x80) at++;
      last = at;
    } else {
      at += step;
    }
  }
  *end = last;
}

/* JSON.stringify of a string (UTF-8 in, UTF-8 out). */
static void put_json_string(struct Text* text, const char* string, size_t length) {
  put(text, "\"");
  for (size_t at = 0; at < length; at++) {
    unsigned char c = (unsigned char)string[at];
    char escape[8];
    if (c == '"' || c == '\\') {
      escape[0] = '\\';
      escape[1] = (char)c;
      put_bytes(text, escape, 2);
    } else if (c < 0x20) {
      const char* named = c == '\b' ? "\\b" : c == '\f' ? "\\f" : c == '\n' ? "\\n" : c == '\r' ? "\\r" : c == '\t' ? "\\t" : NULL;
      if (named != NULL) {
        put(text, named);
      } else {
        snprintf(escape, sizeof(escape), "\\u%04x", c);
        put(text, escape);
      }
    } else {
      put_bytes(text, (const char*)&c, 1);
    }
  }
  put(text, "\"");
}

/* One line of util.inspect(string): its quote chosen and its characters escaped as Node does. */
static void put_inspected_line(struct Text* text, const char* string, size_t length, char quote) {
  put_bytes(text, &quote, 1);
  for (size_t at = 0; at < length; at++) {
    unsigned char c = (unsigned char)string[at];
    char escape[8];
    if (c < 0x20 || c == 0x7F) {
      const char* named = c == '\b' ? "\\b" : c == '\t' ? "\\t" : c == '\n' ? "\\n" : c == '\f' ? "\\f" : c == '\r' ? "\\r" : NULL;
      if (named != NULL) {
        put(text, named);
      } else {
        snprintf(escape, sizeof(escape), "\\x%02X", c);
        put(text, escape);
      }
    } else if (c == 0xC2 && at + 1 < length && (unsigned char)string[at + 1] >= 0x80 &&
               (unsigned char)string[at + 1] <= 0x9F) {
      snprintf(escape, sizeof(escape), "\\x%02X", (unsigned char)string[++at]); /* U+0080 to U+009F */
      put(text, escape);
    } else if ((c == '\'' && quote == '\'') || c == '\\') {
      escape[0] = '\\';
      escape[1] = (char)c;
      put_bytes(text, escape, 2);
    } else {
      put_bytes(text, (const char*)&c, 1);
    }
  }
  put_bytes(text, &quote, 1);
}

/* util.inspect(string) at the top level: a string longer than 16 and 76 characters (UTF-16
 * units) is written one quoted piece per line ending in \n, joined with " +\n". */
static void put_inspected(struct Text* text, const char* string, size_t length) {
  int single = memchr(string, '\'', length) != NULL;
  int dbl = memchr(string, '"', length) != NULL;
  int back = memchr(string, '`', length) != NULL;
  int template = 0;
  for (size_t at = 0; at + 1 < length; at++) template |= string[at] == '$' && string[at + 1] == '{';
  char quote = !single ? '\'' : !dbl ? '"' : !back && !template ? '`' : '\'';
  size_t units = 0;
  for (size_t at = 0; at < length; at++) {
    unsigned char c = (unsigned char)string[at];
    if ((c & 0xC0) != 0x80) units += c >= 0xF0 ? 2 : 1;
  }
  if (units <= 76 || memchr(string, '\n', length) == NULL) {
    put_inspected_line(text, string, length, quote);
    return;
  }
  size_t start = 0;
  for (size_t at = 0; at < length; at++) {
    if (string[at] != '\n' || at + 1 == length) continue;
    put_inspected_line(text, string + start, at + 1 - start, quote);
    put(text, " +\n");
    start = at + 1;
  }
  put_inspected_line(text, string + start, length - start, quote);
}

/* Number.prototype.toString() of a non-negative double that holds an integer, or Infinity. */
static void put_js_number(struct Text* text, double value) {
  if (value > 1.7976931348623157e308) {
    put(text, "Infinity");
    return;
  }
  char shortest[40];
  for (int precision = 1; precision <= 17; precision++) {
    snprintf(shortest, sizeof(shortest), "%.*e", precision - 1, value);
    if (strtod(shortest, NULL) == value) break;
  }
  /* shortest is d[.ddd]e[+-]XX: the digits and the exponent n of the spec (value = 0.digits * 10^n) */
  char digits[24];
  size_t count = 0;
  char* exponent_at = strchr(shortest, 'e');
  for (char* at = shortest; at < exponent_at; at++)
    if (*at != '.') digits[count++] = *at;
  while (count > 1 && digits[count - 1] == '0') count--;
  long n = strtol(exponent_at + 1, NULL, 10) + 1;
  if (value == 0) {
    put(text, "0");
  } else if ((long)count <= n && n <= 21) {
    put_bytes(text, digits, count);
    for (long zero = (long)count; zero < n; zero++) put(text, "0");
  } else {
    put_bytes(text, digits, 1);
    if (count > 1) {
      put(text, ".");
      put_bytes(text, digits + 1, count - 1);
    }
    put(text, "e+");
    put_long(text, n - 1);
  }
}

/* invalidArgValue (lib/errors.ts): The argument 'NAME' REASON. Received type string ('VALUE') */
static void invalid_value(struct Text* message, const char* name, size_t name_length, const char* reason,
                          const char* value, size_t value_length) {
  put(message, "The argument '");
  put_bytes(message, name, name_length);
  put(message, "' ");
  put(message, reason);
  put(message, ". Received type string (");
  put_inspected(message, value, value_length);
  put(message, ")");
}

static void field_name(struct Text* name, const char* field, size_t length) {
  put(name, "SOCKET_KEEPALIVE.");
  put_bytes(name, field, length);
}

static int is_digits(const char* text, size_t length) {
  if (length == 0) return 0;
  for (size_t at = 0; at < length; at++)
    if (text[at] < '0' || text[at] > '9') return 0;
  return 1;
}

/* Reads SOCKET_KEEPALIVE (text, never NULL) into out. Returns 0, or -1 with the message of
 * the error lib/keepalive-variable.ts throws in message. */
static int parse_setting(const char* text, struct Setting* out, struct Text* message) {
  /* The options' fields, then servers and report. */
  enum { NAME_SERVERS = FIELD_COUNT, NAME_REPORT, NAME_COUNT };
  static const char* const kNames[NAME_COUNT] = {
#define FIELD_NAME(name, ...) #name,
      KEEPALIVE_OPTIONS(FIELD_NAME)
#undef FIELD_NAME
          "servers",
      "report"};
  size_t length = strlen(text);
  size_t start = 0, end = length;
  trim(text, &start, &end);
  memset(out, 0, sizeof(*out));
  if (end - start == 3 && memcmp(text + start, "off", 3) == 0) return 0;
  out->active = 1;
  out->servers = 1;
  out->report = REPORT_OFF;
  double values[FIELD_COUNT];
  int given[FIELD_COUNT] = {0};
  int seen[NAME_COUNT] = {0};
  for (size_t item = 0; item <= length;) {
    const char* comma = memchr(text + item, ',', length - item);
    size_t item_end = comma == NULL ? length : (size_t)(comma - text);
    size_t name_start = item, name_end = item_end, value_start = item_end, value_end = item_end;
    const char* equals = memchr(text + item, '=', item_end - item);
    if (equals != NULL) {
      name_end = (size_t)(equals - text);
      value_start = name_end + 1;
    }
    size_t all_start = item, all_end = item_end;
    trim(text, &all_start, &all_end);
    item = item_end + 1;
    if (all_start == all_end) continue;
    trim(text, &name_start, &name_end);
    trim(text, &value_start, &value_end);
    const char* name = text + name_start;
    size_t name_length = name_end - name_start;
    const char* value = text + value_start;
    size_t value_length = value_end - value_start;
    size_t which = 0;
    while (which < NAME_COUNT && !(strlen(kNames[which]) == name_length && memcmp(kNames[which], name, name_length) == 0))
      which++;
    if (which == NAME_COUNT) {
      struct Text reason = {0};
      put(&reason, "has an unknown field \"");
      put_bytes(&reason, name, name_length);
      put(&reason, "\": write name=value pairs of ");
      for (size_t known = 0; known < NAME_COUNT; known++) {
        if (known > 0) put(&reason, ", ");
        put(&reason, kNames[known]);
      }
      put(&reason, ", separated by commas, or off");
      invalid_value(message, "SOCKET_KEEPALIVE", 16, reason.data, text, length);
      free(reason.data);
      return -1;
    }
    if (seen[which]) {
      struct Text reason = {0};
      put(&reason, "gives the field \"");
      put_bytes(&reason, name, name_length);
      put(&reason, "\" twice");
      invalid_value(message, "SOCKET_KEEPALIVE", 16, reason.data, text, length);
      free(reason.data);
      return -1;
    }
    seen[which] = 1;
    struct Text field = {0};
    field_name(&field, name, name_length);
    int failed = 0;
    if (which == NAME_SERVERS) {
      if (value_length == 2 && memcmp(value, "on", 2) == 0)
        out->servers = 1;
      else if (value_length == 3 && memcmp(value, "off", 3) == 0)
        out->servers = 0;
      else
        failed = (invalid_value(message, field.data, field.length, "must be on or off", value, value_length), 1);
    } else if (which == NAME_REPORT) {
      if (value_length == 4 && memcmp(value, "text", 4) == 0)
        out->report = REPORT_TEXT;
      else if (value_length == 4 && memcmp(value, "json", 4) == 0)
        out->report = REPORT_JSON;
      else if ((value_length == 3 && memcmp(value, "off", 3) == 0) || (value_length == 4 && memcmp(value, "otel", 4) == 0))
        out->report = REPORT_OFF; /* otel: metrics of the JavaScript layer (socket-keepalive/otel); no lines here */
      else
        failed = (invalid_value(message, field.data, field.length, "must be text, json, otel or off", value, value_length), 1);
    } else if (strcmp(kFields[which].unit, "ms") == 0) {
      /* lib/duration.ts parseDuration */
      size_t digits = 0;
      while (digits < value_length && value[digits] >= '0' && value[digits] <= '9') digits++;
      const char* unit = value + digits;
      size_t unit_length = value_length - digits;
      double scale = unit_length == 2 && memcmp(unit, "ms", 2) == 0 ? 1
                     : unit_length == 1 && unit[0] == 's'        ? 1000
                     : unit_length == 1 && unit[0] == 'm'        ? 60000
                     : unit_length == 1 && unit[0] == 'h'        ? 3600000
                     : unit_length == 0                          ? -1
                                                                 : 0;
      char* number = strndup(value, digits);
      double written = number == NULL ? 0 : strtod(number, NULL);
      if (digits == 0 || scale == 0) {
        failed = (invalid_value(message, field.data, field.length,
                                "must be a duration: a whole number followed by ms, s, m or h, e.g. 10s", value,
                                value_length),
                  1);
      } else if (scale < 0 && written != 0) {
        /* a bare number: 8 may mean 8 s or 8 ms */
        struct Text reason = {0};
        put(&reason, "needs a unit: write ");
        put_bytes(&reason, value, digits);
        put(&reason, "s or ");
        put_bytes(&reason, value, digits);
        put(&reason, "ms");
        failed = (invalid_value(message, field.data, field.length, reason.data, value, value_length), 1);
        free(reason.data);
      } else {
        values[which] = scale < 0 ? 0 : written * scale;
        given[which] = 1;
      }
      free(number);
    } else {
      if (!is_digits(value, value_length)) {
        failed = (invalid_value(message, field.data, field.length, "must be a whole number", value, value_length), 1);
      } else {
        char* number = strndup(value, value_length);
        values[which] = strtod(number, NULL);
        free(number);
        given[which] = 1;
      }
    }
    free(field.data);
    if (failed) return -1;
  }
  int any = 0;
  for (int which = 0; which < FIELD_COUNT; which++) any |= given[which];
  /* lib/options.ts validateInto, in its order */
  for (int which = 0; which < FIELD_COUNT; which++) {
    const struct FieldSpec* spec = &kFields[which];
    if (!any || !given[which]) {
      out->values[which] = spec->fallback;
      continue;
    }
    double value = values[which];
    if (value < (double)spec->min || value > (double)spec->max || (long)value % spec->step != 0) {
      put(message, "The value of \"SOCKET_KEEPALIVE.");
      put(message, spec->name);
      put(message, "\" is out of range. It must be ");
      char range[160];
      if (spec->step == 1)
        snprintf(range, sizeof(range), "an integer >= %ld && <= %ld", spec->min, spec->max);
      else
        snprintf(range, sizeof(range), "a whole number of seconds in milliseconds (a multiple of %ld) >= %ld && <= %ld",
                 spec->step, spec->min, spec->max);
      put(message, range);
      put(message, ". Received ");
      put_js_number(message, value);
      return -1;
    }
    out->values[which] = (long)value;
  }
  return 0;
}

/* Reads text into out; returns 0, or -1 with the line lib/register.ts writes for a refused
 * SOCKET_KEEPALIVE in line. */
static int read_text(const char* text, struct Setting* out, struct Text* line) {
  struct Text message = {0};
  int result = parse_setting(text, out, &message);
  if (result != 0) {
    put(line, "socket-keepalive: SOCKET_KEEPALIVE=");
    put_json_string(line, text, strlen(text));
    put(line, " is refused: ");
    put(line, message.data == NULL ? "" : message.data);
    put(line, "\n");
  }
  free(message.data);
  return result;
}

/* A refused SOCKET_KEEPALIVE stops the program with lib/register.ts's line and exit code. */
__attribute__((constructor)) static void read_setting(void) {
  const char* text = getenv("SOCKET_KEEPALIVE");
  struct Text line = {0};
  if (read_text(text == NULL ? "" : text, &setting, &line) == 0) return;
  if (line.data != NULL && write(STDERR_FILENO, line.data, line.length) < 0) {
    /* the exit code says it */
  }
  _exit(INVALID_ARGUMENT_EXIT);
}
