// Plain syscalls: setsockopt/getsockopt, the TCP check, TCP_INFO and the pidfd calls.
#include "keepalive.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include <cstring>

#ifdef __linux__
#include <sys/syscall.h>
#endif

#if defined(__APPLE__) && !defined(TCP_KEEPIDLE) && defined(TCP_KEEPALIVE)
// macOS names the idle time TCP_KEEPALIVE (seconds).
#define TCP_KEEPIDLE TCP_KEEPALIVE
#endif

namespace keepalive {

const Option kOptions[kOptionCount] = {
    {SOL_SOCKET, SO_KEEPALIVE},
#ifdef TCP_KEEPIDLE
    {IPPROTO_TCP, TCP_KEEPIDLE},
#else
    {IPPROTO_TCP, kUnsupported},
#endif
#ifdef TCP_KEEPINTVL
    {IPPROTO_TCP, TCP_KEEPINTVL},
#else
    {IPPROTO_TCP, kUnsupported},
#endif
#ifdef TCP_KEEPCNT
    {IPPROTO_TCP, TCP_KEEPCNT},
#else
    {IPPROTO_TCP, kUnsupported},
#endif
#ifdef TCP_USER_TIMEOUT
    {IPPROTO_TCP, TCP_USER_TIMEOUT},
#else
    {IPPROTO_TCP, kUnsupported},
#endif
};

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
#if defined(__linux__) && defined(TCP_INFO)
  struct tcp_info info;
  std::memset(&info, 0, sizeof(info));
  socklen_t length = sizeof(info);
  if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &length) != 0) return Failure(errno, kTcpInfo);
  int index = 0;
#define KEEPALIVE_TCP_INFO_COPY(name, field) out[index++] = info.field;
  KEEPALIVE_TCP_INFO_FIELDS(KEEPALIVE_TCP_INFO_COPY)
#undef KEEPALIVE_TCP_INFO_COPY
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
#if defined(__linux__) && defined(SYS_pidfd_open)
  const long fd = syscall(SYS_pidfd_open, pid, 0);
  return fd < 0 ? Failure(errno, kPidfdOpen) : static_cast<int>(fd);
#else
  (void)pid;
  return Failure(ENOSYS, kPidfdOpen);
#endif
}

int PidfdGetfd(int pidfd, int target_fd) {
#if defined(__linux__) && defined(SYS_pidfd_getfd)
  const long fd = syscall(SYS_pidfd_getfd, pidfd, target_fd, 0);
  return fd < 0 ? Failure(errno, kPidfdGetfd) : static_cast<int>(fd);
#else
  (void)pidfd;
  (void)target_fd;
  return Failure(ENOSYS, kPidfdGetfd);
#endif
}

}  // namespace keepalive
