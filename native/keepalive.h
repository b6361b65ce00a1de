// The syscall layer of socket-keepalive, used by the Node-API glue (keepalive.cc): the
// interface each platform implements in its own file, native/platform-<os>.cc, which
// binding.gyp and CMakeLists.txt select (only platform-linux.cc exists). A platform file
// defines kOptions and every function declared below. The options are the rows of
// options.h; their values are in the kernel's units (its kernel_scale: seconds for
// TCP_KEEPIDLE/TCP_KEEPINTVL, milliseconds for TCP_USER_TIMEOUT). Nothing here touches
// JavaScript: every operation returns >= 0 on success or Failure(errno, step).
#ifndef SOCKET_KEEPALIVE_NATIVE_KEEPALIVE_H_
#define SOCKET_KEEPALIVE_NATIVE_KEEPALIVE_H_

// Without a platform file the addon would load and fail on every call: fail the build
// instead, so that the install goes on and the library uses Node's own setKeepAlive.
#if !defined(__linux__)
#error "socket-keepalive: no native/platform-<os>.cc for this platform (docs/platforms.md)"
#endif

#include <sys/socket.h>

#include <cerrno>

#include "options.h"

#ifndef ENOTSUP
#define ENOTSUP EOPNOTSUPP
#endif

namespace keepalive {

// What failed, in the order of the step numbers, with the name the addon exports for each
// (its `steps` constant): lib/binding.ts decodes a failure through those names only, so
// this is the one place that numbers the steps. The first are SO_KEEPALIVE and one per
// row of options.h (kOption_idle ..., each named by its socket option), which double as
// the slots of the Int32Array that setKeepAlive reads and getKeepAlive fills; then the
// steps below.
#define KEEPALIVE_STEPS(X)                   \
  X(kTcpInfo, "TCP_INFO")                    \
  X(kSoType, "SO_TYPE")                      \
  X(kGetsockname, "getsockname")             \
  X(kNotTcpUnix, "not TCP: Unix domain")     \
  X(kNotTcpDatagram, "not TCP: datagram")    \
  X(kNotTcpOther, "not TCP: other")          \
  X(kPidfdOpen, "pidfd_open")                \
  X(kPidfdGetfd, "pidfd_getfd")              \
  X(kSoPeername, "SO_PEERNAME")              \
  X(kSocketLookup, "socket lookup")

#define KEEPALIVE_OPTION_ENUMERATOR(name, ...) kOption_##name,
#define KEEPALIVE_STEP_ENUMERATOR(step, name) step,
enum Step {
  kSoKeepAlive,
  KEEPALIVE_OPTIONS(KEEPALIVE_OPTION_ENUMERATOR) KEEPALIVE_STEPS(KEEPALIVE_STEP_ENUMERATOR) kStepCount
};
#undef KEEPALIVE_STEP_ENUMERATOR

#define KEEPALIVE_OPTION_STEP_NAME(name, kernel_option, ...) #kernel_option,
#define KEEPALIVE_STEP_NAME(step, name) name,
constexpr const char* kStepNames[kStepCount] = {
    "SO_KEEPALIVE", KEEPALIVE_OPTIONS(KEEPALIVE_OPTION_STEP_NAME) KEEPALIVE_STEPS(KEEPALIVE_STEP_NAME)};
#undef KEEPALIVE_STEP_NAME
#undef KEEPALIVE_OPTION_STEP_NAME

// SO_KEEPALIVE and one per row of options.h.
#define KEEPALIVE_OPTION_ONE(...) +1
constexpr int kOptionCount = 1 KEEPALIVE_OPTIONS(KEEPALIVE_OPTION_ONE);
#undef KEEPALIVE_OPTION_ONE
constexpr int kStepCodes = 32;
static_assert(kStepCount <= kStepCodes, "a step number must fit below kStepCodes");

// The one encoding of a failure: -(errno * kStepCodes + step).
constexpr int Failure(int error, Step step) { return -(error * kStepCodes + step); }

// The order of a full apply: the options in the table's order first and SO_KEEPALIVE last,
// so that a socket being switched on starts its keepalive timer with the new values
// already in place.
constexpr Step kApplyOrder[kOptionCount] = {KEEPALIVE_OPTIONS(KEEPALIVE_OPTION_ENUMERATOR) kSoKeepAlive};
#undef KEEPALIVE_OPTION_ENUMERATOR

struct Option {
  int level;
  int name;  // kUnsupported where this platform's headers lack the option
};
constexpr int kUnsupported = -1;

// The level and name of the option each of the first kOptionCount steps sets or reads.
extern const Option kOptions[kOptionCount];

// Returns 0 if fd is a TCP socket (a stream socket of family AF_INET or AF_INET6), so that
// a UDP, Unix domain or raw socket sharing the fd number is never modified.
int CheckTcpSocket(int fd);

// The options of values (indexed by step; a negative value is left untouched) in
// kApplyOrder, one setsockopt each, stopping at the first failure.
int ApplyKeepAlive(int fd, const int values[kOptionCount]);

// getsockopt of SO_KEEPALIVE and every option of options.h into out (indexed by step).
int ReadKeepAlive(int fd, int out[kOptionCount]);

// The TCP_INFO fields getTcpInfo reports, in the order it writes them, each with the name
// lib/tcp-info.ts gives it (the addon exports those names as `tcpInfoFields`). Which
// member of its own struct fills each is the platform file's (ReadTcpInfo).
#define KEEPALIVE_TCP_INFO_FIELDS(X)         \
  X(kInfoState, "state")                     \
  X(kInfoProbes, "probes")                   \
  X(kInfoBackoff, "backoff")                 \
  X(kInfoRetransmits, "retransmits")         \
  X(kInfoRto, "rtoMs")                       \
  X(kInfoRtt, "rttMs")                       \
  X(kInfoRttVar, "rttVarMs")                 \
  X(kInfoLastDataSent, "lastDataSentMs")     \
  X(kInfoLastDataReceived, "lastDataReceivedMs") \
  X(kInfoLastAckReceived, "lastAckReceivedMs") \
  X(kInfoUnacked, "unacked")                 \
  X(kInfoTotalRetransmits, "totalRetransmits")

#define KEEPALIVE_TCP_INFO_ENUMERATOR(field, name) field,
enum TcpInfoField { KEEPALIVE_TCP_INFO_FIELDS(KEEPALIVE_TCP_INFO_ENUMERATOR) kTcpInfoFields };
#undef KEEPALIVE_TCP_INFO_ENUMERATOR

#define KEEPALIVE_TCP_INFO_NAME(field, name) name,
constexpr const char* kTcpInfoNames[kTcpInfoFields] = {KEEPALIVE_TCP_INFO_FIELDS(KEEPALIVE_TCP_INFO_NAME)};
#undef KEEPALIVE_TCP_INFO_NAME

// TCP_INFO: every field above, at its index.
int ReadTcpInfo(int fd, unsigned out[kTcpInfoFields]);

// The peer's address of a TCP socket, also once the kernel has closed the connection
// (getpeername(2) then fails with ENOTCONN; SO_PEERNAME still answers): 0 or a failure.
int ReadPeerName(int fd, sockaddr_storage* out);

// pidfd_open(2) and pidfd_getfd(2): the new fd (FD_CLOEXEC), or a failure.
int PidfdOpen(int pid);
int PidfdGetfd(int pidfd, int target_fd);

}  // namespace keepalive

#endif  // SOCKET_KEEPALIVE_NATIVE_KEEPALIVE_H_
