// The Node-API surface of the addon (the contract lib/binding.ts types), in node-addon-api.
// Integers in, one integer out: >= 0 for success and -(errno * stepCodes + step) for a
// failure. No JS error is built here for a failing syscall; lib/ names and shapes it.
//
// The option values and the TCP_INFO fields travel through typed arrays the addon makes
// once per environment and exports (`options`, `tcpInfo`): lib/ fills `options` before a
// setKeepAlive and reads what getKeepAlive and getTcpInfo wrote. So each call takes two
// arguments (CallbackInfo keeps up to six on the stack: nothing is allocated) and never
// asks Node-API for a typed array's data, which costs about 50 ns a time.
#include <napi.h>

#include <cstdint>
#include <string>

#include <arpa/inet.h>
#include <dlfcn.h>
#include <netinet/in.h>

#include "keepalive.h"
#include "options.h"
#include "socket-lookup.h"

namespace keepalive {
namespace {

// The arrays one environment (the main thread or a Worker) shares with lib/. The
// references keep them alive for the environment's life, so their data (allocated outside
// the JavaScript heap, and never transferred by lib/) stays where it is.
struct SharedArrays {
  explicit SharedArrays(Napi::Env env)
      : options(Napi::Persistent(Napi::Int32Array::New(env, kOptionCount))),
        tcp_info(Napi::Persistent(Napi::Uint32Array::New(env, kTcpInfoFields))),
        option_values(options.Value().Data()),
        tcp_info_fields(tcp_info.Value().Data()) {}

  Napi::Reference<Napi::Int32Array> options;
  Napi::Reference<Napi::Uint32Array> tcp_info;
  int32_t* option_values;     // indexed by step; setKeepAlive reads it, getKeepAlive fills it
  uint32_t* tcp_info_fields;  // in kTcpInfoNames order; getTcpInfo fills it
};

SharedArrays& Shared(const Napi::CallbackInfo& info) { return *static_cast<SharedArrays*>(info.Data()); }

// Argument type mistakes are lib/'s bugs, not system errors: they throw a TypeError.
bool ReadInt(const Napi::Value& value, const char* name, int* out) {
  if (value.IsNumber()) {
    *out = value.As<Napi::Number>().Int32Value();
    return true;
  }
  Napi::Error error = Napi::TypeError::New(value.Env(), std::string(name) + " must be a number");
  error.Set("code", "ERR_INVALID_ARG_TYPE");
  error.ThrowAsJavaScriptException();
  return false;
}

// The fd functions' shape, (fd, knownTcp): Operation on the fd, after a check that it is
// a TCP socket unless knownTcp says a libuv TCP handle vouches for it (such a handle only
// ever holds an AF_INET/AF_INET6 stream socket). A knownTcp that is not a boolean reads
// as false, so the check runs, and leaves node-addon-api's Error pending; asking its
// type first would cost more than the rest of the argument handling.
template <int (*Operation)(int fd, SharedArrays& shared)>
Napi::Value OnTcpFd(const Napi::CallbackInfo& info) {
  int fd;
  if (!ReadInt(info[0], "fd", &fd)) return Napi::Value();
  const bool known_tcp = info[1].As<Napi::Boolean>().Value();
  int result = known_tcp ? 0 : CheckTcpSocket(fd);
  if (result == 0) result = Operation(fd, Shared(info));
  return Napi::Number::New(info.Env(), result);
}

// The functions of the preload library (native/preload.c) when LD_PRELOAD loaded it into
// this process; null otherwise.
struct PreloadLibrary {
  int (*active)();
  void (*release)(int fd);
};

const PreloadLibrary& Preload() {
  static const PreloadLibrary library = {
      reinterpret_cast<int (*)()>(dlsym(RTLD_DEFAULT, "socket_keepalive_preload_active")),
      reinterpret_cast<void (*)(int)>(dlsym(RTLD_DEFAULT, "socket_keepalive_preload_release"))};
  return library;
}

// setKeepAlive(fd, knownTcp): the options of `options` (negative: left untouched).
int Apply(int fd, SharedArrays& shared) { return ApplyKeepAlive(fd, shared.option_values); }

// preloadActive(): 1 when the preload library is loaded and tunes this process's sockets.
Napi::Value PreloadActiveCall(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), Preload().active != nullptr ? Preload().active() : 0);
}

// releaseFromPreload(fd): lib/ takes over a socket the preload library tuned.
Napi::Value ReleaseFromPreloadCall(const Napi::CallbackInfo& info) {
  int fd;
  if (ReadInt(info[0], "fd", &fd) && Preload().release != nullptr) Preload().release(fd);
  return Napi::Value();
}

// The rows of options.h, for the test that holds them equal to lib/options.ts's table.
Napi::Array OptionTable(Napi::Env env) {
  struct Row {
    const char* name;
    const char* kernel_option;
    const char* unit;
    double kernel_scale, min, max, step, default_value;
    bool kept;
  };
#define KEEPALIVE_OPTION_ROW(name, kernel_option, level, unit, kernel_scale, min, max, step, default_value, kept) \
  {#name, #kernel_option, unit, kernel_scale, min, max, step, default_value, kept != 0},
  static const Row rows[] = {KEEPALIVE_OPTIONS(KEEPALIVE_OPTION_ROW)};
#undef KEEPALIVE_OPTION_ROW
  Napi::Array array = Napi::Array::New(env);
  for (const Row& row : rows) {
    Napi::Object object = Napi::Object::New(env);
    object.Set("name", row.name);
    object.Set("kernelOption", row.kernel_option);
    object.Set("unit", row.unit);
    object.Set("kernelScale", row.kernel_scale);
    object.Set("min", row.min);
    object.Set("max", row.max);
    object.Set("step", row.step);
    object.Set("defaultValue", row.default_value);
    object.Set("kept", row.kept);
    object.Freeze();
    array.Set(array.Length(), object);
  }
  array.Freeze();
  return array;
}

// getKeepAlive(fd, knownTcp): the kernel's values into `options`.
int Read(int fd, SharedArrays& shared) { return ReadKeepAlive(fd, shared.option_values); }

// getTcpInfo(fd, knownTcp): the fields of tcpInfoFields into `tcpInfo`.
int ReadInfo(int fd, SharedArrays& shared) { return ReadTcpInfo(fd, shared.tcp_info_fields); }

// pidfdOpen(pid)
Napi::Value PidfdOpenCall(const Napi::CallbackInfo& info) {
  int pid;
  if (!ReadInt(info[0], "pid", &pid)) return Napi::Value();
  return Napi::Number::New(info.Env(), PidfdOpen(pid));
}

// pidfdGetfd(pidfd, targetFd)
Napi::Value PidfdGetfdCall(const Napi::CallbackInfo& info) {
  int pidfd;
  int target_fd;
  if (!ReadInt(info[0], "pidfd", &pidfd) || !ReadInt(info[1], "targetFd", &target_fd)) return Napi::Value();
  return Napi::Number::New(info.Env(), PidfdGetfd(pidfd, target_fd));
}

// peerAddress(fd): { address, port } of the socket's peer, also after the kernel closed the
// connection (the dead-peer report names it), or a failure number.
Napi::Value PeerAddressCall(const Napi::CallbackInfo& info) {
  int fd;
  if (!ReadInt(info[0], "fd", &fd)) return Napi::Value();
  sockaddr_storage peer;
  const int result = ReadPeerName(fd, &peer);
  if (result != 0) return Napi::Number::New(info.Env(), result);
  char text[INET6_ADDRSTRLEN] = {};
  int port;
  if (peer.ss_family == AF_INET6) {
    const auto& ipv6 = reinterpret_cast<const sockaddr_in6&>(peer);
    inet_ntop(AF_INET6, &ipv6.sin6_addr, text, sizeof(text));
    port = ntohs(ipv6.sin6_port);
  } else {
    const auto& ipv4 = reinterpret_cast<const sockaddr_in&>(peer);
    inet_ntop(AF_INET, &ipv4.sin_addr, text, sizeof(text));
    port = ntohs(ipv4.sin_port);
  }
  Napi::Object address = Napi::Object::New(info.Env());
  address.Set("address", text);
  address.Set("port", port);
  return address;
}

// findSocket(localAddress, localPort, remoteAddress, remotePort): remoteAddress '' for a
// listener; the fd or -errno (socket-lookup.h).
Napi::Value FindSocketCall(const Napi::CallbackInfo& info) {
  if (!info[0].IsString() || !info[2].IsString()) {
    Napi::Error error = Napi::TypeError::New(info.Env(), "addresses must be strings");
    error.Set("code", "ERR_INVALID_ARG_TYPE");
    error.ThrowAsJavaScriptException();
    return Napi::Value();
  }
  int local_port;
  int remote_port;
  if (!ReadInt(info[1], "localPort", &local_port) || !ReadInt(info[3], "remotePort", &remote_port)) {
    return Napi::Value();
  }
  const std::string local = info[0].As<Napi::String>();
  const std::string remote = info[2].As<Napi::String>();
  return Napi::Number::New(info.Env(), FindSocket(local.c_str(), local_port, remote.c_str(), remote_port));
}

// forgetSocket(fd): the number of a socket found by findSocket is free again.
Napi::Value ForgetSocketCall(const Napi::CallbackInfo& info) {
  int fd;
  if (ReadInt(info[0], "fd", &fd)) ForgetSocket(fd);
  return Napi::Value();
}

Napi::Array Names(Napi::Env env, const char* const* names, size_t count) {
  Napi::Array array = Napi::Array::New(env, count);
  for (size_t index = 0; index < count; index++) array.Set(index, names[index]);
  array.Freeze();
  return array;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  // One set of arrays per environment, deleted with it; a second load of the module in
  // the same environment shares them.
  SharedArrays* shared = env.GetInstanceData<SharedArrays>();
  if (shared == nullptr) {
    shared = new SharedArrays(env);
    env.SetInstanceData(shared);
  }
  exports.Set("setKeepAlive", Napi::Function::New<OnTcpFd<Apply>>(env, "setKeepAlive", shared));
  exports.Set("getKeepAlive", Napi::Function::New<OnTcpFd<Read>>(env, "getKeepAlive", shared));
  exports.Set("getTcpInfo", Napi::Function::New<OnTcpFd<ReadInfo>>(env, "getTcpInfo", shared));
  exports.Set("pidfdOpen", Napi::Function::New<PidfdOpenCall>(env, "pidfdOpen"));
  exports.Set("pidfdGetfd", Napi::Function::New<PidfdGetfdCall>(env, "pidfdGetfd"));
  exports.Set("peerAddress", Napi::Function::New<PeerAddressCall>(env, "peerAddress"));
  exports.Set("findSocket", Napi::Function::New<FindSocketCall>(env, "findSocket"));
  exports.Set("forgetSocket", Napi::Function::New<ForgetSocketCall>(env, "forgetSocket"));
  exports.Set("preloadActive", Napi::Function::New<PreloadActiveCall>(env, "preloadActive"));
  exports.Set("releaseFromPreload", Napi::Function::New<ReleaseFromPreloadCall>(env, "releaseFromPreload"));
  exports.Set("optionTable", OptionTable(env));
  exports.Set("options", shared->options.Value());
  exports.Set("tcpInfo", shared->tcp_info.Value());
  // What lib/ needs to read the calls above, from the tables it is compiled from.
  exports.Set("steps", Names(env, kStepNames, kStepCount));
  exports.Set("stepCodes", Napi::Number::New(env, kStepCodes));
  exports.Set("tcpInfoFields", Names(env, kTcpInfoNames, kTcpInfoFields));
  return exports;
}

}  // namespace
}  // namespace keepalive

using keepalive::Init;
NODE_API_MODULE(socket_keepalive, Init)
