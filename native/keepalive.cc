// The syscall layer of socket-keepalive: setsockopt/getsockopt on a TCP socket's
// file descriptor. Units here are the kernel's (seconds for TCP_KEEPIDLE/TCP_KEEPINTVL,
// milliseconds for TCP_USER_TIMEOUT). Every function returns a number: >= 0 on success,
// -(errno * 32 + step) on failure, where step names what failed. lib/ validates,
// converts units, and turns a failure into a Node-style error (lib/errors.ts).
#include <napi.h>

#include <cerrno>
#include <cstring>

#ifdef __linux__
#include <sys/syscall.h>
#include <unistd.h>
#endif

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/types.h>

#if defined(__APPLE__) && !defined(TCP_KEEPIDLE) && defined(TCP_KEEPALIVE)
// macOS names the idle time TCP_KEEPALIVE (seconds).
#define TCP_KEEPIDLE TCP_KEEPALIVE
#endif

#ifndef ENOTSUP
#define ENOTSUP EOPNOTSUPP
#endif

namespace {

// What failed; the same numbers as STEPS in lib/errors.ts. The first five are also the
// slots of setKeepAlive's arguments and of getKeepAlive's Int32Array.
enum Step {
  kKeepAlive = 0,
  kIdle = 1,
  kInterval = 2,
  kCount = 3,
  kUserTimeout = 4,
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
constexpr int kTcpInfoFields = 12;

int Failure(int err, Step step) { return -(err * 32 + step); }

// -1 marks an option this platform's headers do not define.
constexpr int kUnsupported = -1;

struct Option {
  int level;
  int optname;
};

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

// Refuses anything that is not a TCP socket (a stream socket of family AF_INET or
// AF_INET6) before a single option is touched, so a UDP, Unix-domain or raw socket
// that happens to share the fd number is never modified. Returns 0 or a failure.
int CheckTcpSocket(int fd) {
  int type = 0;
  socklen_t length = sizeof(type);
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &length) != 0) return Failure(errno, kSoType);
  struct sockaddr_storage address;
  length = sizeof(address);
  std::memset(&address, 0, sizeof(address));
  if (getsockname(fd, reinterpret_cast<struct sockaddr*>(&address), &length) != 0) {
    return Failure(errno, kGetsockname);
  }
  const int family = address.ss_family;
  if (type == SOCK_STREAM && (family == AF_INET || family == AF_INET6)) return 0;
  if (family == AF_UNIX) return Failure(EPROTOTYPE, kNotTcpUnix);
  if (type == SOCK_DGRAM) return Failure(EPROTOTYPE, kNotTcpDatagram);
  return Failure(EPROTOTYPE, kNotTcpOther);
}

int Int32Arg(const Napi::CallbackInfo& info, size_t index) {
  return info[index].IsNumber() ? info[index].As<Napi::Number>().Int32Value() : -1;
}

// True when the caller vouches that fd belongs to a libuv TCP handle (which only ever
// holds an AF_INET/AF_INET6 stream socket), so the two-syscall check can be skipped.
bool KnownTcp(const Napi::CallbackInfo& info, size_t index) {
  return info[index].IsBoolean() && info[index].As<Napi::Boolean>().Value();
}

Napi::Value Result(Napi::Env env, int result) { return Napi::Number::New(env, result); }

// setKeepAlive(fd, enable, idleSeconds, intervalSeconds, count, userTimeoutMs, knownTcp)
// A negative value leaves that option untouched. SO_KEEPALIVE goes last, so a socket
// being switched on starts its keepalive timer with the new values already in place.
Napi::Value SetKeepAlive(const Napi::CallbackInfo& info) {
  const int fd = Int32Arg(info, 0);
  int values[kOptionCount];
  for (int slot = 0; slot < kOptionCount; slot++) values[slot] = Int32Arg(info, slot + 1);
  if (!KnownTcp(info, kOptionCount + 1)) {
    const int check = CheckTcpSocket(fd);
    if (check != 0) return Result(info.Env(), check);
  }
  for (Step slot : {kIdle, kInterval, kCount, kUserTimeout, kKeepAlive}) {
    if (values[slot] < 0) continue;
    const Option& option = kOptions[slot];
    if (option.optname == kUnsupported) return Result(info.Env(), Failure(ENOTSUP, slot));
    if (setsockopt(fd, option.level, option.optname, &values[slot], sizeof(int)) != 0) {
      return Result(info.Env(), Failure(errno, slot));
    }
  }
  return Result(info.Env(), 0);
}

// getKeepAlive(fd, out: Int32Array(5), knownTcp): fills out in slot order.
Napi::Value GetKeepAlive(const Napi::CallbackInfo& info) {
  const int fd = Int32Arg(info, 0);
  Napi::Int32Array out = info[1].As<Napi::Int32Array>();
  if (!KnownTcp(info, 2)) {
    const int check = CheckTcpSocket(fd);
    if (check != 0) return Result(info.Env(), check);
  }
  for (int slot = 0; slot < kOptionCount; slot++) {
    const Option& option = kOptions[slot];
    if (option.optname == kUnsupported) return Result(info.Env(), Failure(ENOTSUP, static_cast<Step>(slot)));
    int value = 0;
    socklen_t length = sizeof(value);
    if (getsockopt(fd, option.level, option.optname, &value, &length) != 0) {
      return Result(info.Env(), Failure(errno, static_cast<Step>(slot)));
    }
    out[slot] = value;
  }
  return Result(info.Env(), 0);
}

// getTcpInfo(fd, out: Uint32Array(12), knownTcp): the fields of struct tcp_info in the
// order of TCP_INFO_FIELDS in lib/tcp-info.ts, in the kernel's units.
Napi::Value GetTcpInfo(const Napi::CallbackInfo& info) {
  const int fd = Int32Arg(info, 0);
  Napi::Uint32Array out = info[1].As<Napi::Uint32Array>();
  if (!KnownTcp(info, 2)) {
    const int check = CheckTcpSocket(fd);
    if (check != 0) return Result(info.Env(), check);
  }
#if defined(__linux__) && defined(TCP_INFO)
  struct tcp_info tcpi;
  std::memset(&tcpi, 0, sizeof(tcpi));
  socklen_t length = sizeof(tcpi);
  if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &tcpi, &length) != 0) return Result(info.Env(), Failure(errno, kTcpInfo));
  const uint32_t fields[kTcpInfoFields] = {
      tcpi.tcpi_state,          tcpi.tcpi_probes,         tcpi.tcpi_backoff,
      tcpi.tcpi_retransmits,    tcpi.tcpi_rto,            tcpi.tcpi_rtt,
      tcpi.tcpi_rttvar,         tcpi.tcpi_last_data_sent, tcpi.tcpi_last_data_recv,
      tcpi.tcpi_last_ack_recv,  tcpi.tcpi_unacked,        tcpi.tcpi_total_retrans,
  };
  for (int field = 0; field < kTcpInfoFields; field++) out[field] = fields[field];
  return Result(info.Env(), 0);
#else
  (void)fd;
  (void)out;
  return Result(info.Env(), Failure(ENOTSUP, kTcpInfo));
#endif
}

// pidfdOpen(pid) and pidfdGetfd(pidfd, targetFd): the two syscalls (Linux 5.6+) with
// which `inspect` duplicates another process's sockets to read them. Both return an fd
// with FD_CLOEXEC set; the caller closes it. Raw syscall(), as glibc before 2.36 has no
// wrappers; where the numbers are unknown they fail with ENOSYS.
Napi::Value PidfdOpen(const Napi::CallbackInfo& info) {
  const int pid = Int32Arg(info, 0);
#if defined(__linux__) && defined(SYS_pidfd_open)
  const long fd = syscall(SYS_pidfd_open, pid, 0);
  return Result(info.Env(), fd < 0 ? Failure(errno, kPidfdOpen) : static_cast<int>(fd));
#else
  (void)pid;
  return Result(info.Env(), Failure(ENOSYS, kPidfdOpen));
#endif
}

Napi::Value PidfdGetfd(const Napi::CallbackInfo& info) {
  const int pidfd = Int32Arg(info, 0);
  const int target_fd = Int32Arg(info, 1);
#if defined(__linux__) && defined(SYS_pidfd_getfd)
  const long fd = syscall(SYS_pidfd_getfd, pidfd, target_fd, 0);
  return Result(info.Env(), fd < 0 ? Failure(errno, kPidfdGetfd) : static_cast<int>(fd));
#else
  (void)pidfd;
  (void)target_fd;
  return Result(info.Env(), Failure(ENOSYS, kPidfdGetfd));
#endif
}

// This interim build has no io_uring path.
Napi::Value KernelPath(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), "syscalls"); }

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("setKeepAlive", Napi::Function::New(env, SetKeepAlive, "setKeepAlive"));
  exports.Set("getKeepAlive", Napi::Function::New(env, GetKeepAlive, "getKeepAlive"));
  exports.Set("getTcpInfo", Napi::Function::New(env, GetTcpInfo, "getTcpInfo"));
  exports.Set("pidfdOpen", Napi::Function::New(env, PidfdOpen, "pidfdOpen"));
  exports.Set("pidfdGetfd", Napi::Function::New(env, PidfdGetfd, "pidfdGetfd"));
  exports.Set("kernelPath", Napi::Function::New(env, KernelPath, "kernelPath"));
  return exports;
}

}  // namespace

NODE_API_MODULE(socket_keepalive, Init)
