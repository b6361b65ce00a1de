// Linux's implementation of keepalive.h: setsockopt/getsockopt, the TCP check, TCP_INFO
// (struct tcp_info), SO_PEERNAME and the pidfd calls. A macro an older kernel's headers
// lack makes its step fail with ENOTSUP (or ENOSYS for the pidfd calls); the options of
// options.h are in every header the addon builds against.
#include "keepalive.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include <cstring>

#include <sys/syscall.h>

namespace keepalive {

// SO_KEEPALIVE, then each row of options.h: its level and socket option, which the
// <netinet/tcp.h> of every C library Node.js 18 runs on defines (glibc 2.28 on, musl).
#define KEEPALIVE_LINUX_OPTION(name, kernel_option, level, ...) {level, kernel_option},
const Option kOptions[kOptionCount] = {{SOL_SOCKET, SO_KEEPALIVE}, KEEPALIVE_OPTIONS(KEEPALIVE_LINUX_OPTION)};
#undef KEEPALIVE_LINUX_OPTION

int CheckTcpSocket(int fd) {
  int type = 0;
  socklen_t length = sizeof(type);
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &length) != 0) return Failure(errno, kSoType);
  struct sockaddr_storage address;
  std::memset(&address, 0, sizeof(address));
  length = sizeof(address);
  if (getsockname(fd, reinterpret_cast<struct sockaddr*>(&address), &length) != 0) {
    return Failure(errno, kGetsockname);
  }
  const int family = address.ss_family;
  if (type == SOCK_STREAM && (family == AF_INET || family == AF_INET6)) return 0;
  if (family == AF_UNIX) return Failure(EPROTOTYPE, kNotTcpUnix);
  if (type == SOCK_DGRAM) return Failure(EPROTOTYPE, kNotTcpDatagram);
  return Failure(EPROTOTYPE, kNotTcpOther);
}

// The syscall itself where there is one, not libc's setsockopt: under LD_PRELOAD the
// preload library (preload.c) interposes setsockopt and puts its own idle, interval and
// count back on a socket it tuned, while what this library is asked to set must win.
int SetOption(int fd, Step step, int value) {
  const Option& option = kOptions[step];
  if (option.name == kUnsupported) return Failure(ENOTSUP, step);
#if defined(__linux__) && defined(SYS_setsockopt)
  const long result = syscall(SYS_setsockopt, fd, option.level, option.name, &value, sizeof(value));
#else
  const int result = setsockopt(fd, option.level, option.name, &value, sizeof(value));
#endif
  if (result != 0) return Failure(errno, step);
  return 0;
}

int ApplyKeepAlive(int fd, const int values[kOptionCount]) {
  for (const Step step : kApplyOrder) {
    if (values[step] < 0) continue;
    const int result = SetOption(fd, step, values[step]);
    if (result != 0) return result;
  }
  return 0;
}

int ReadKeepAlive(int fd, int out[kOptionCount]) {
  for (int step = 0; step < kOptionCount; step++) {
    const Option& option = kOptions[step];
    if (option.name == kUnsupported) return Failure(ENOTSUP, static_cast<Step>(step));
    socklen_t length = sizeof(out[step]);
    if (getsockopt(fd, option.level, option.name, &out[step], &length) != 0) {
      return Failure(errno, static_cast<Step>(step));
    }
  }
  return 0;
}

int ReadTcpInfo(int fd, unsigned out[kTcpInfoFields]) {
#ifdef TCP_INFO
  struct tcp_info info;
  std::memset(&info, 0, sizeof(info));
  socklen_t length = sizeof(info);
  if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &length) != 0) return Failure(errno, kTcpInfo);
  // Linux's struct tcp_info (include/uapi/linux/tcp.h) has every field keepalive.h names.
  out[kInfoState] = info.tcpi_state;
  out[kInfoProbes] = info.tcpi_probes;
  out[kInfoBackoff] = info.tcpi_backoff;
  out[kInfoRetransmits] = info.tcpi_retransmits;
  out[kInfoRto] = info.tcpi_rto;
  out[kInfoRtt] = info.tcpi_rtt;
  out[kInfoRttVar] = info.tcpi_rttvar;
  out[kInfoLastDataSent] = info.tcpi_last_data_sent;
  out[kInfoLastDataReceived] = info.tcpi_last_data_recv;
  out[kInfoLastAckReceived] = info.tcpi_last_ack_recv;
  out[kInfoUnacked] = info.tcpi_unacked;
  out[kInfoTotalRetransmits] = info.tcpi_total_retrans;
  static_assert(kTcpInfoFields == 12, "every field of keepalive.h is written above");
  return 0;
#else
  (void)fd;
  (void)out;
  return Failure(ENOTSUP, kTcpInfo);
#endif
}

int ReadPeerName(int fd, sockaddr_storage* out) {
#ifdef SO_PEERNAME
  // SO_PEERNAME refuses a buffer longer than the address: take the length from the family.
  std::memset(out, 0, sizeof(*out));
  socklen_t length = sizeof(*out);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(out), &length) != 0) return Failure(errno, kGetsockname);
  length = out->ss_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
  if (getsockopt(fd, SOL_SOCKET, SO_PEERNAME, out, &length) != 0) return Failure(errno, kSoPeername);
  return 0;
#else
  (void)fd;
  (void)out;
  return Failure(ENOTSUP, kSoPeername);
#endif
}

// Raw syscall(), as glibc before 2.36 has no wrappers; where the numbers are unknown the
// calls fail with ENOSYS.
int PidfdOpen(int pid) {
#ifdef SYS_pidfd_open
  const long fd = syscall(SYS_pidfd_open, pid, 0);
  return fd < 0 ? Failure(errno, kPidfdOpen) : static_cast<int>(fd);
#else
  (void)pid;
  return Failure(ENOSYS, kPidfdOpen);
#endif
}

int PidfdGetfd(int pidfd, int target_fd) {
#ifdef SYS_pidfd_getfd
  const long fd = syscall(SYS_pidfd_getfd, pidfd, target_fd, 0);
  return fd < 0 ? Failure(errno, kPidfdGetfd) : static_cast<int>(fd);
#else
  (void)pidfd;
  (void)target_fd;
  return Failure(ENOSYS, kPidfdGetfd);
#endif
}

}  // namespace keepalive
