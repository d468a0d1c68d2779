{
  "targets": [{
    "target_name": "crucible_tensor",
    "sources": ["native/addon.cc", "native/pool.cc", "native/gemm.cc", "native/ops.cc", "native/attention_ce.cc"],
    "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
    "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS"],
    "cflags_cc": ["-O3", "-std=c++17", "-fno-exceptions", "-fno-math-errno", "-Wall", "-Wno-unused-function"]
  }]
}
