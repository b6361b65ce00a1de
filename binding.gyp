{
  "targets": [
    {
      "target_name": "socket_keepalive",
      "sources": ["native/keepalive.cc", "native/socket-lookup.cc"],
      "conditions": [["OS=='linux'", { "sources": ["native/platform-linux.cc"] }]],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra"],
      "libraries": ["-ldl"],
      "xcode_settings": { "CLANG_CXX_LANGUAGE_STANDARD": "c++17", "MACOSX_DEPLOYMENT_TARGET": "10.15" }
    },
    {
      "target_name": "socket-keepalive-preload",
      "type": "shared_library",
      "product_prefix": "",
      "product_extension": "so",
      "sources": ["native/preload.c"],
      "cflags": ["-std=c11", "-Wall", "-Wextra", "-fvisibility=hidden"],
      "libraries": ["-ldl"]
    },
    {
      "target_name": "socket-keepalive-preload-musl",
      "type": "none",
      "conditions": [
        [
          "OS=='linux' and target_arch=='x64' and '<!(command -v musl-gcc >/dev/null && echo yes || echo no)'=='yes'",
          {
            "actions": [
              {
                "action_name": "musl",
                "inputs": ["native/preload.c", "native/options.h"],
                "outputs": ["<(PRODUCT_DIR)/socket-keepalive-preload-musl.so"],
                "action": ["musl-gcc", "-std=c11", "-O3", "-Wall", "-Wextra", "-fPIC", "-shared", "-fvisibility=hidden", "native/preload.c", "-o", "<@(_outputs)"]
              }
            ]
          }
        ]
      ]
    }
  ]
}
