{
  "targets": [
    {
      "target_name": "socket_keepalive",
      "sources": ["native/keepalive.cc", "native/sockopt.cc"],
      "defines": ["NAPI_VERSION=8"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra"],
      "xcode_settings": { "CLANG_CXX_LANGUAGE_STANDARD": "c++17", "MACOSX_DEPLOYMENT_TARGET": "10.15" }
    }
  ]
}
