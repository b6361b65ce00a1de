// The syscall layer of socket-keepalive: setsockopt/getsockopt on a TCP socket's
// file descriptor, with errno turned into a Node-style system error. Units here are
// the kernel's (seconds for TCP_KEEPIDLE/TCP_KEEPINTVL, milliseconds for
// TCP_USER_TIMEOUT); validation, unit conversion and documentation live in lib/.
#include <napi.h>

#include <cerrno>
#include <cstring>
#include <string>

#ifdef __linux__
#include <sys/syscall.h>
#include <unistd.h>
#endif

#ifndef _WIN32
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/types.h>
#endif

#if defined(__APPLE__) && !defined(TCP_KEEPIDLE) && defined(TCP_KEEPALIVE)
// macOS names the idle time TCP_KEEPALIVE (seconds).
#define TCP_KEEPIDLE TCP_KEEPALIVE
#endif

namespace {

// Slots of the Int32Array that getKeepAlive fills, and of setKeepAlive's arguments.
enum Slot { kEnable, kIdle, kInterval, kCount, kUserTimeout, kSlotCount };

// -1 marks an option this platform's headers do not define.
constexpr int kUnsupported = -1;

struct Option {
  const char* name;
  int level;
  int optname;
};

#ifdef _WIN32
const Option kOptions[kSlotCount] = {
    {"SO_KEEPALIVE", 0, kUnsupported},     {"TCP_KEEPIDLE", 0, kUnsupported},
    {"TCP_KEEPINTVL", 0, kUnsupported},    {"TCP_KEEPCNT", 0, kUnsupported},
    {"TCP_USER_TIMEOUT", 0, kUnsupported},
};
#else
const Option kOptions[kSlotCount] = {
    {"SO_KEEPALIVE", SOL_SOCKET, SO_KEEPALIVE},
#ifdef TCP_KEEPIDLE
    {"TCP_KEEPIDLE", IPPROTO_TCP, TCP_KEEPIDLE},
#else
    {"TCP_KEEPIDLE", IPPROTO_TCP, kUnsupported},
#endif
#ifdef TCP_KEEPINTVL
    {"TCP_KEEPINTVL", IPPROTO_TCP, TCP_KEEPINTVL},
#else
    {"TCP_KEEPINTVL", IPPROTO_TCP, kUnsupported},
#endif
#ifdef TCP_KEEPCNT
    {"TCP_KEEPCNT", IPPROTO_TCP, TCP_KEEPCNT},
#else
    {"TCP_KEEPCNT", IPPROTO_TCP, kUnsupported},
#endif
#ifdef TCP_USER_TIMEOUT
    {"TCP_USER_TIMEOUT", IPPROTO_TCP, TCP_USER_TIMEOUT},
#else
    {"TCP_USER_TIMEOUT", IPPROTO_TCP, kUnsupported},
#endif
};
#endif

#ifndef ENOTSUP
#define ENOTSUP EOPNOTSUPP
#endif

const char* ErrnoName(int err) {
  switch (err) {
#define ERRNO_CASE(e) \
  case e:             \
    return #e;
    ERRNO_CASE(EBADF)
    ERRNO_CASE(EFAULT)
    ERRNO_CASE(EINVAL)
    ERRNO_CASE(ENOPROTOOPT)
    ERRNO_CASE(ENOTSOCK)
    ERRNO_CASE(EPROTOTYPE)
    ERRNO_CASE(ENOTSUP)
    ERRNO_CASE(EPERM)
    ERRNO_CASE(EACCES)
    ERRNO_CASE(ENOMEM)
    ERRNO_CASE(ENOBUFS)
    ERRNO_CASE(EAFNOSUPPORT)
    ERRNO_CASE(ESRCH)
    ERRNO_CASE(ENOSYS)
    ERRNO_CASE(EMFILE)
#undef ERRNO_CASE
    default:
      return "UNKNOWN";
  }
}

// Throws an Error shaped like Node's own system errors: message "<syscall> <CODE>"
// (followed by what was being done), code, errno (negative, as in Node) and syscall.
void ThrowSystemError(Napi::Env env, int err, const char* syscall, const char* option,
                      const char* detail = nullptr) {
  const char* code = ErrnoName(err);
  std::string message = std::string(syscall) + " " + code;
  if (option != nullptr) message += std::string(" ") + option;
  if (detail != nullptr) message += std::string(" (") + detail + ")";
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("code", Napi::String::New(env, code));
  error.Set("errno", Napi::Number::New(env, -err));
  error.Set("syscall", Napi::String::New(env, syscall));
  if (option != nullptr) error.Set("option", Napi::String::New(env, option));
  error.ThrowAsJavaScriptException();
}

bool ReadFd(const Napi::CallbackInfo& info, int* fd) {
  if (info.Length() < 1 || !info[0].IsNumber()) {
    Napi::TypeError::New(info.Env(), "fd must be a number").ThrowAsJavaScriptException();
    return false;
  }
  *fd = info[0].As<Napi::Number>().Int32Value();
  return true;
}

#ifdef _WIN32

bool CheckTcpSocket(Napi::Env env, int, const char* syscall) {
  ThrowSystemError(env, ENOTSUP, syscall, nullptr,
                   "socket-keepalive works on file descriptors, which Windows sockets are not");
  return false;
}

bool SetInt(Napi::Env env, int, const Option& option, int) {
  ThrowSystemError(env, ENOTSUP, "setsockopt", option.name);
  return false;
}

bool GetInt(Napi::Env env, int, const Option& option, int*) {
  ThrowSystemError(env, ENOTSUP, "getsockopt", option.name);
  return false;
}

#else

// Refuses anything that is not a TCP socket (a stream socket of family AF_INET or
// AF_INET6) before a single option is touched, so a UDP, Unix-domain or raw socket
// that happens to share the fd number is never modified.
bool CheckTcpSocket(Napi::Env env, int fd, const char* syscall) {
  int type = 0;
  socklen_t length = sizeof(type);
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &length) != 0) {
    ThrowSystemError(env, errno, "getsockopt", "SO_TYPE");
    return false;
  }
  struct sockaddr_storage address;
  length = sizeof(address);
  std::memset(&address, 0, sizeof(address));
  if (getsockname(fd, reinterpret_cast<struct sockaddr*>(&address), &length) != 0) {
    ThrowSystemError(env, errno, "getsockname", nullptr);
    return false;
  }
  const int family = address.ss_family;
  if (type == SOCK_STREAM && (family == AF_INET || family == AF_INET6)) return true;
  const std::string detail = "fd " + std::to_string(fd) + " is not a TCP socket: " +
                             (family == AF_UNIX    ? "a Unix domain socket"
                              : type == SOCK_DGRAM ? "a datagram (UDP) socket"
                                                   : "a non-TCP socket");
  ThrowSystemError(env, EPROTOTYPE, syscall, nullptr, detail.c_str());
  return false;
}

bool SetInt(Napi::Env env, int fd, const Option& option, int value) {
  if (option.optname == kUnsupported) {
    ThrowSystemError(env, ENOTSUP, "setsockopt", option.name, "not supported on this platform");
    return false;
  }
  if (setsockopt(fd, option.level, option.optname, &value, sizeof(value)) != 0) {
    ThrowSystemError(env, errno, "setsockopt", option.name);
    return false;
  }
  return true;
}

bool GetInt(Napi::Env env, int fd, const Option& option, int* value) {
  if (option.optname == kUnsupported) {
    ThrowSystemError(env, ENOTSUP, "getsockopt", option.name, "not supported on this platform");
    return false;
  }
  socklen_t length = sizeof(*value);
  if (getsockopt(fd, option.level, option.optname, value, &length) != 0) {
    ThrowSystemError(env, errno, "getsockopt", option.name);
    return false;
  }
  return true;
}

#endif

// True when the caller vouches that fd belongs to a libuv TCP handle (which only ever
// holds an AF_INET/AF_INET6 stream socket), so the two-syscall check can be skipped on
// the hot path; a raw fd number from the user is always checked.
bool KnownTcp(const Napi::CallbackInfo& info, size_t index) {
  return info.Length() > index && info[index].IsBoolean() && info[index].As<Napi::Boolean>().Value();
}

// setKeepAlive(fd, enable, idleSeconds, intervalSeconds, count, userTimeoutMs, knownTcp)
// Each value is an int; a negative value leaves that option untouched. The tuning
// options go first and SO_KEEPALIVE last, so a socket being switched on starts its
// keepalive timer with the new values already in place.
Napi::Value SetKeepAlive(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  if (!ReadFd(info, &fd)) return env.Undefined();
  int values[kSlotCount];
  for (int slot = 0; slot < kSlotCount; slot++) {
    values[slot] = info[slot + 1].IsNumber() ? info[slot + 1].As<Napi::Number>().Int32Value() : -1;
  }
  if (!KnownTcp(info, kSlotCount + 1) && !CheckTcpSocket(env, fd, "setsockopt")) return env.Undefined();
  for (int slot : {kIdle, kInterval, kCount, kUserTimeout, kEnable}) {
    if (values[slot] >= 0 && !SetInt(env, fd, kOptions[slot], values[slot])) return env.Undefined();
  }
  return env.Undefined();
}

// getKeepAlive(fd, out: Int32Array(5), knownTcp): fills out with the kernel's values, in slot order.
Napi::Value GetKeepAlive(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  if (!ReadFd(info, &fd)) return env.Undefined();
  if (info.Length() < 2 || !info[1].IsTypedArray() ||
      info[1].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array ||
      info[1].As<Napi::TypedArray>().ElementLength() < kSlotCount) {
    Napi::TypeError::New(env, "out must be an Int32Array of length 5").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Int32Array out = info[1].As<Napi::Int32Array>();
  if (!KnownTcp(info, 2) && !CheckTcpSocket(env, fd, "getsockopt")) return env.Undefined();
  for (int slot = 0; slot < kSlotCount; slot++) {
    int value = 0;
    if (!GetInt(env, fd, kOptions[slot], &value)) return env.Undefined();
    out[slot] = value;
  }
  return env.Undefined();
}

// getTcpInfo(fd, knownTcp): the fields of struct tcp_info this library reports, in the kernel's
// units (microseconds for rto/rtt/rttvar, milliseconds for the last_* ages).
Napi::Value GetTcpInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  if (!ReadFd(info, &fd)) return env.Undefined();
  if (!KnownTcp(info, 1) && !CheckTcpSocket(env, fd, "getsockopt")) return env.Undefined();
#if defined(__linux__) && defined(TCP_INFO)
  struct tcp_info tcpi;
  std::memset(&tcpi, 0, sizeof(tcpi));
  socklen_t length = sizeof(tcpi);
  if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &tcpi, &length) != 0) {
    ThrowSystemError(env, errno, "getsockopt", "TCP_INFO");
    return env.Undefined();
  }
  Napi::Object result = Napi::Object::New(env);
  result.Set("state", tcpi.tcpi_state);
  result.Set("probes", tcpi.tcpi_probes);
  result.Set("backoff", tcpi.tcpi_backoff);
  result.Set("retransmits", tcpi.tcpi_retransmits);
  result.Set("rto", tcpi.tcpi_rto);
  result.Set("rtt", tcpi.tcpi_rtt);
  result.Set("rttvar", tcpi.tcpi_rttvar);
  result.Set("last_data_sent", tcpi.tcpi_last_data_sent);
  result.Set("last_data_recv", tcpi.tcpi_last_data_recv);
  result.Set("last_ack_recv", tcpi.tcpi_last_ack_recv);
  result.Set("unacked", tcpi.tcpi_unacked);
  result.Set("total_retrans", tcpi.tcpi_total_retrans);
  return result;
#else
  ThrowSystemError(env, ENOTSUP, "getsockopt", "TCP_INFO", "not supported on this platform");
  return env.Undefined();
#endif
}

// pidfdOpen(pid) and pidfdGetfd(pidfd, targetFd): the two syscalls (Linux 5.6+) with
// which `inspect` duplicates another process's sockets to read them. Both return an fd
// with FD_CLOEXEC set; the caller closes it. Raw syscall(), as glibc before 2.36 has no
// wrappers; where the numbers are unknown they fail with ENOSYS.
Napi::Value PidfdOpen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int pid;
  if (!ReadFd(info, &pid)) return env.Undefined();
#if defined(__linux__) && defined(SYS_pidfd_open)
  const long fd = syscall(SYS_pidfd_open, pid, 0);
  if (fd < 0) {
    ThrowSystemError(env, errno, "pidfd_open", nullptr);
    return env.Undefined();
  }
  return Napi::Number::New(env, static_cast<double>(fd));
#else
  ThrowSystemError(env, ENOSYS, "pidfd_open", nullptr);
  return env.Undefined();
#endif
}

Napi::Value PidfdGetfd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int pidfd;
  if (!ReadFd(info, &pidfd)) return env.Undefined();
  if (info.Length() < 2 || !info[1].IsNumber()) {
    Napi::TypeError::New(env, "targetFd must be a number").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const int target_fd = info[1].As<Napi::Number>().Int32Value();
#if defined(__linux__) && defined(SYS_pidfd_getfd)
  const long fd = syscall(SYS_pidfd_getfd, pidfd, target_fd, 0);
  if (fd < 0) {
    ThrowSystemError(env, errno, "pidfd_getfd", nullptr);
    return env.Undefined();
  }
  return Napi::Number::New(env, static_cast<double>(fd));
#else
  (void)target_fd;
  ThrowSystemError(env, ENOSYS, "pidfd_getfd", nullptr);
  return env.Undefined();
#endif
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("setKeepAlive", Napi::Function::New(env, SetKeepAlive, "setKeepAlive"));
  exports.Set("getKeepAlive", Napi::Function::New(env, GetKeepAlive, "getKeepAlive"));
  exports.Set("getTcpInfo", Napi::Function::New(env, GetTcpInfo, "getTcpInfo"));
  exports.Set("pidfdOpen", Napi::Function::New(env, PidfdOpen, "pidfdOpen"));
  exports.Set("pidfdGetfd", Napi::Function::New(env, PidfdGetfd, "pidfdGetfd"));
  return exports;
}

}  // namespace

NODE_API_MODULE(socket_keepalive, Init)
