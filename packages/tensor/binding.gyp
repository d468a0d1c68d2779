{
  "targets": [{
    "target_name": "crucible_tensor",
    "sources": ["native/addon.cc", "native/pool.cc", "native/gemm.cc", "native/ops.cc", "native/attention_ce.cc", "native/vmath.cc",
      "native/gemm_bf16.cc", "native/dropout.cc", "native/bf16w.cc", "native/gemm_amx.cc", "native/ce_bf16.cc"],
    "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
    "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS"],
    # -Wno-*uninitialized: GCC 12's AVX-512 headers trip false positives (_mm512_undefined_*); -fno-math-errno lets
    # sqrt inline. No -march: SIMD code is per-function target attributes, dispatched at run time.
    "cflags_cc": ["-O3", "-std=c++17", "-fno-exceptions", "-fno-math-errno", "-Wall", "-Wno-unused-function",
      "-Wno-uninitialized", "-Wno-maybe-uninitialized"]
  }]
}
