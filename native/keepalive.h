// The syscall layer of socket-keepalive (sockopt.cc), used by the Node-API glue
// (keepalive.cc). Units are the kernel's:
// seconds for TCP_KEEPIDLE/TCP_KEEPINTVL, milliseconds for TCP_USER_TIMEOUT. Nothing here
// touches JavaScript: every operation returns >= 0 on success or Failure(errno, step).
#ifndef SOCKET_KEEPALIVE_NATIVE_KEEPALIVE_H_
#define SOCKET_KEEPALIVE_NATIVE_KEEPALIVE_H_

#include <cerrno>

#ifndef ENOTSUP
#define ENOTSUP EOPNOTSUPP
#endif

namespace keepalive {

// What failed, as lib/ decodes it: the same numbers are in lib/'s table. The first five
// double as the slots of setKeepAlive's values and of getKeepAlive's Int32Array.
enum Step {
  kSoKeepAlive = 0,
  kTcpKeepIdle = 1,
  kTcpKeepIntvl = 2,
  kTcpKeepCnt = 3,
  kTcpUserTimeout = 4,
  kTcpInfo = 5,
  kSoType = 6,
  kGetsockname = 7,
  kNotTcpUnix = 8,
  kNotTcpDatagram = 9,
  kNotTcpOther = 10,
  kPidfdOpen = 11,
  kPidfdGetfd = 12,
};

constexpr int kOptionCount = 5;
constexpr int kStepCodes = 32;

// The one encoding of a failure: -(errno * 32 + step).
constexpr int Failure(int error, Step step) { return -(error * kStepCodes + step); }

// The order of a full apply: the tuning first and SO_KEEPALIVE last, so that a socket
// being switched on starts its keepalive timer with the new values already in place.
constexpr Step kApplyOrder[kOptionCount] = {kTcpKeepIdle, kTcpKeepIntvl, kTcpKeepCnt, kTcpUserTimeout,
                                            kSoKeepAlive};

struct Option {
  int level;
  int name;  // kUnsupported where this platform's headers lack the option
};
constexpr int kUnsupported = -1;

// The level and name of the option each of the first five steps sets or reads.
extern const Option kOptions[kOptionCount];

// Returns 0 if fd is a TCP socket (a stream socket of family AF_INET or AF_INET6), so that
// a UDP, Unix domain or raw socket sharing the fd number is never modified.
int CheckTcpSocket(int fd);

// setsockopt of one option (step < kOptionCount); 0 or a failure.
int SetOption(int fd, Step step, int value);

// The options of values (indexed by step; a negative value is left untouched) in
// kApplyOrder, one setsockopt each, stopping at the first failure.
int ApplyKeepAlive(int fd, const int values[kOptionCount]);

// getsockopt of the five options into out (indexed by step).
int ReadKeepAlive(int fd, int out[kOptionCount]);

constexpr int kTcpInfoFields = 12;
// TCP_INFO: state, probes, backoff, retransmits, rto (us), rtt (us), rttvar (us),
// last_data_sent (ms), last_data_recv (ms), last_ack_recv (ms), unacked, total_retrans.
int ReadTcpInfo(int fd, unsigned out[kTcpInfoFields]);

// pidfd_open(2) and pidfd_getfd(2): the new fd (FD_CLOEXEC), or a failure.
int PidfdOpen(int pid);
int PidfdGetfd(int pidfd, int target_fd);

}  // namespace keepalive

#endif  // SOCKET_KEEPALIVE_NATIVE_KEEPALIVE_H_
