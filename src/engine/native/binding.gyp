{
  "targets": [
    {
      "target_name": "egtea_kernels",
      "sources": ["addon.cc", "grouped_conv3d.cc", "batch_norm.cc", "stderr_capture.cc"],
      "cflags_cc": ["-O3", "-march=native", "-std=c++17", "-fno-math-errno"],
      "cflags_cc!": ["-fno-exceptions"],
      "ldflags": ["-pthread"]
    }
  ]
}
