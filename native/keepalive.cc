// The Node-API surface of the addon (the contract lib/binding.ts types), in node-addon-api.
// Every function takes at most three arguments, the fd and one typed array among them,
// which keeps each call on node-addon-api's allocation-free path (CallbackInfo holds up to
// six arguments on the stack). Integers in, one integer out: >= 0 for success and
// -(errno * stepCodes + step) for a failure. No JS error is built here for a failing
// syscall; lib/ names and shapes it.
#include <napi.h>

#include <cstdint>
#include <string>

#include "keepalive.h"

namespace keepalive {
namespace {

// Argument type mistakes are lib/'s bugs, not system errors: they throw a TypeError.
void ThrowTypeError(Napi::Env env, const std::string& message) {
  Napi::Error error = Napi::TypeError::New(env, message);
  error.Set("code", "ERR_INVALID_ARG_TYPE");
  error.ThrowAsJavaScriptException();
}

bool ReadInt(const Napi::Value& value, const char* name, int* out) {
  if (!value.IsNumber()) {
    ThrowTypeError(value.Env(), std::string(name) + " must be a number");
    return false;
  }
  *out = value.As<Napi::Number>().Int32Value();
  return true;
}

// The typed array that holds each element type, for the check and the message.
template <typename Element>
struct ArrayOf;
template <>
struct ArrayOf<int32_t> {
  static constexpr napi_typedarray_type kType = napi_int32_array;
  static constexpr const char* kName = "an Int32Array";
};
template <>
struct ArrayOf<uint32_t> {
  static constexpr napi_typedarray_type kType = napi_uint32_array;
  static constexpr const char* kName = "a Uint32Array";
};

// A typed array of Element with at least `length` elements: its data, or a TypeError.
template <typename Element>
Element* ArrayData(const Napi::Value& value, const char* name, size_t length) {
  if (value.IsTypedArray()) {
    Napi::TypedArrayOf<Element> array = value.As<Napi::TypedArrayOf<Element>>();
    if (array.TypedArrayType() == ArrayOf<Element>::kType && array.ElementLength() >= length) return array.Data();
  }
  ThrowTypeError(value.Env(), std::string(name) + " must be " + ArrayOf<Element>::kName + " of length " +
                                  std::to_string(length));
  return nullptr;
}

// Unless knownTcp says a libuv TCP handle vouches for the fd (it only ever holds an
// AF_INET/AF_INET6 stream socket), the two-syscall TCP check: 0 or a failure.
int CheckUnlessKnownTcp(const Napi::Value& known_tcp, int fd) {
  if (known_tcp.IsBoolean() && known_tcp.As<Napi::Boolean>().Value()) return 0;
  return CheckTcpSocket(fd);
}

// The readers' and the writer's shape, (fd, array, knownTcp): Operation on the fd with
// the array's data, after the TCP check.
template <typename Element, int (*Operation)(int, Element*), size_t kLength>
Napi::Value WithArray(const Napi::CallbackInfo& info, const char* array_name) {
  int fd;
  if (!ReadInt(info[0], "fd", &fd)) return Napi::Value();
  Element* data = ArrayData<Element>(info[1], array_name, kLength);
  if (data == nullptr) return Napi::Value();
  int result = CheckUnlessKnownTcp(info[2], fd);
  if (result == 0) result = Operation(fd, data);
  return Napi::Number::New(info.Env(), result);
}

int Apply(int fd, int32_t* values) { return ApplyKeepAlive(fd, values); }

// setKeepAlive(fd, values: Int32Array, knownTcp): values indexed by step (SO_KEEPALIVE,
// TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT, TCP_USER_TIMEOUT), negative for untouched.
Napi::Value SetKeepAlive(const Napi::CallbackInfo& info) {
  return WithArray<int32_t, Apply, kOptionCount>(info, "values");
}

// getKeepAlive(fd, out: Int32Array, knownTcp)
Napi::Value GetKeepAlive(const Napi::CallbackInfo& info) {
  return WithArray<int32_t, ReadKeepAlive, kOptionCount>(info, "out");
}

// getTcpInfo(fd, out: Uint32Array, knownTcp): the fields of tcpInfoFields, in order.
Napi::Value GetTcpInfo(const Napi::CallbackInfo& info) {
  return WithArray<uint32_t, ReadTcpInfo, kTcpInfoFields>(info, "out");
}

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

Napi::Array Names(Napi::Env env, const char* const* names, size_t count) {
  Napi::Array array = Napi::Array::New(env, count);
  for (size_t index = 0; index < count; index++) array.Set(index, names[index]);
  array.Freeze();
  return array;
}

}  // namespace
}  // namespace keepalive

namespace {

using namespace keepalive;

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("setKeepAlive", Napi::Function::New<SetKeepAlive>(env, "setKeepAlive"));
  exports.Set("getKeepAlive", Napi::Function::New<GetKeepAlive>(env, "getKeepAlive"));
  exports.Set("getTcpInfo", Napi::Function::New<GetTcpInfo>(env, "getTcpInfo"));
  exports.Set("pidfdOpen", Napi::Function::New<PidfdOpenCall>(env, "pidfdOpen"));
  exports.Set("pidfdGetfd", Napi::Function::New<PidfdGetfdCall>(env, "pidfdGetfd"));
  // What lib/ needs to read the calls above, from the tables it is compiled from.
  exports.Set("steps", Names(env, kStepNames, kStepCount));
  exports.Set("stepCodes", Napi::Number::New(env, kStepCodes));
  exports.Set("tcpInfoFields", Names(env, kTcpInfoNames, kTcpInfoFields));
  return exports;
}

}  // namespace

NODE_API_MODULE(socket_keepalive, Init)
