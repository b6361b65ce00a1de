{
  "targets": [
    {
      "target_name": "socket_keepalive",
      "sources": ["native/keepalive.cc", "native/socket-lookup.cc"],
      "conditions": [["OS=='linux'", { "sources": ["native/platform-linux.cc"] }]],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra"],
      "xcode_settings": { "CLANG_CXX_LANGUAGE_STANDARD": "c++17", "MACOSX_DEPLOYMENT_TARGET": "10.15" }
    }
  ]
}
