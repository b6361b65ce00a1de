// The Node-API surface of the addon (the contract lib/binding.ts types): integers in,
// one integer out, >= 0 for success and -(errno * 32 + step) for a failure. No JS error
// is built here for a failing syscall; lib/ names and shapes it. Written against the
// Node-API C interface rather than node-addon-api, whose CallbackInfo allocates on the
// heap for more than six arguments and which takes two Node-API calls per argument read:
// here it is one status-checked call each.
#include <node_api.h>

#include "keepalive.h"

namespace keepalive {
namespace {

constexpr size_t kMaxArguments = 7;

napi_value Int(napi_env env, int value) {
  napi_value result = nullptr;
  napi_create_int32(env, value, &result);
  return result;
}

// The arguments of a call; a missing one reads as undefined.
struct Arguments {
  napi_value values[kMaxArguments];

  Arguments(napi_env env, napi_callback_info info) {
    size_t count = kMaxArguments;
    napi_get_cb_info(env, info, &count, values, nullptr, nullptr);
    for (size_t index = count; index < kMaxArguments; index++) napi_get_undefined(env, &values[index]);
  }
};

// Argument type mistakes are lib/'s bugs, not system errors: they throw a TypeError.
bool ReadInt(napi_env env, napi_value value, const char* name, int* out) {
  if (napi_get_value_int32(env, value, out) == napi_ok) return true;
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", name);
  return false;
}

// knownTcp: true when a libuv TCP handle vouches for the fd (it only ever holds an
// AF_INET/AF_INET6 stream socket), so the two-syscall TCP check can be skipped.
bool KnownTcp(napi_env env, napi_value value) {
  bool known = false;
  return napi_get_value_bool(env, value, &known) == napi_ok && known;
}

// A typed array of the given type and at least `length` elements, or a TypeError.
void* TypedArrayData(napi_env env, napi_value value, napi_typedarray_type expected, size_t length,
                     const char* message) {
  bool is_typed_array = false;
  napi_typedarray_type type;
  size_t actual = 0;
  void* data = nullptr;
  if (napi_is_typedarray(env, value, &is_typed_array) != napi_ok || !is_typed_array ||
      napi_get_typedarray_info(env, value, &type, &actual, &data, nullptr, nullptr) != napi_ok ||
      type != expected || actual < length) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", message);
    return nullptr;
  }
  return data;
}

// setKeepAlive(fd, enable, idleSeconds, intervalSeconds, count, userTimeoutMs, knownTcp)
napi_value SetKeepAlive(napi_env env, napi_callback_info info) {
  Arguments arguments(env, info);
  int fd;
  int values[kOptionCount];
  if (!ReadInt(env, arguments.values[0], "fd must be a number", &fd) ||
      !ReadInt(env, arguments.values[1], "enable must be a number", &values[kSoKeepAlive]) ||
      !ReadInt(env, arguments.values[2], "idleSeconds must be a number", &values[kTcpKeepIdle]) ||
      !ReadInt(env, arguments.values[3], "intervalSeconds must be a number", &values[kTcpKeepIntvl]) ||
      !ReadInt(env, arguments.values[4], "count must be a number", &values[kTcpKeepCnt]) ||
      !ReadInt(env, arguments.values[5], "userTimeoutMs must be a number", &values[kTcpUserTimeout])) {
    return nullptr;
  }
  if (!KnownTcp(env, arguments.values[6])) {
    const int check = CheckTcpSocket(fd);
    if (check != 0) return Int(env, check);
  }
  return Int(env, ApplyKeepAlive(fd, values));
}

// The readers, (fd, out, knownTcp): the kernel's values written into the typed array out.
template <typename Element, int (*Read)(int, Element*)>
napi_value ReadInto(napi_env env, napi_callback_info info, napi_typedarray_type type, size_t length,
                    const char* message) {
  Arguments arguments(env, info);
  int fd;
  if (!ReadInt(env, arguments.values[0], "fd must be a number", &fd)) return nullptr;
  void* out = TypedArrayData(env, arguments.values[1], type, length, message);
  if (out == nullptr) return nullptr;
  if (!KnownTcp(env, arguments.values[2])) {
    const int check = CheckTcpSocket(fd);
    if (check != 0) return Int(env, check);
  }
  return Int(env, Read(fd, static_cast<Element*>(out)));
}

// getKeepAlive(fd, out: Int32Array(5), knownTcp)
napi_value GetKeepAlive(napi_env env, napi_callback_info info) {
  return ReadInto<int, ReadKeepAlive>(env, info, napi_int32_array, kOptionCount, "out must be an Int32Array of length 5");
}

// getTcpInfo(fd, out: Uint32Array(12), knownTcp)
napi_value GetTcpInfo(napi_env env, napi_callback_info info) {
  return ReadInto<unsigned, ReadTcpInfo>(env, info, napi_uint32_array, kTcpInfoFields,
                                         "out must be a Uint32Array of length 12");
}

// pidfdOpen(pid)
napi_value PidfdOpenCall(napi_env env, napi_callback_info info) {
  Arguments arguments(env, info);
  int pid;
  if (!ReadInt(env, arguments.values[0], "pid must be a number", &pid)) return nullptr;
  return Int(env, PidfdOpen(pid));
}

// pidfdGetfd(pidfd, targetFd)
napi_value PidfdGetfdCall(napi_env env, napi_callback_info info) {
  Arguments arguments(env, info);
  int pidfd;
  int target_fd;
  if (!ReadInt(env, arguments.values[0], "pidfd must be a number", &pidfd) ||
      !ReadInt(env, arguments.values[1], "targetFd must be a number", &target_fd)) {
    return nullptr;
  }
  return Int(env, PidfdGetfd(pidfd, target_fd));
}

}  // namespace
}  // namespace keepalive

NAPI_MODULE_INIT() {
  using namespace keepalive;
  const napi_property_descriptor functions[] = {
      {"setKeepAlive", nullptr, SetKeepAlive, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"getKeepAlive", nullptr, GetKeepAlive, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"getTcpInfo", nullptr, GetTcpInfo, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"pidfdOpen", nullptr, PidfdOpenCall, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"pidfdGetfd", nullptr, PidfdGetfdCall, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
  };
  if (napi_define_properties(env, exports, sizeof(functions) / sizeof(functions[0]), functions) != napi_ok) {
    return nullptr;
  }
  return exports;
}
