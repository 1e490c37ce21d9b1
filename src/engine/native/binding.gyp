{
  "variables": { "egtea_jpeg%": 0, "egtea_tf%": "" },
  "targets": [
    {
      "target_name": "egtea_kernels",
      "sources": ["addon.cc", "grouped_conv3d.cc", "batch_norm.cc", "stderr_capture.cc", "warp.cc", "max_pool3d.cc", "preload.cc"],
      "cflags_cc": ["-O3", "-march=native", "-std=c++17", "-fno-math-errno", "-fno-trapping-math"],
      "cflags_cc!": ["-fno-exceptions"],
      "ldflags": ["-pthread"],
      "libraries": ["-ldl"],
      "conditions": [
        ["egtea_jpeg==1", { "sources": ["jpeg_clip.cc", "jpeg_write.cc"], "defines": ["EGTEA_WITH_JPEG"], "libraries": ["-ljpeg"] }]
      ]
    }
  ],
  "conditions": [
    ["egtea_tf!=''", {
      "targets": [
        {
          "target_name": "egtea_tf_ops",
          "sources": ["tf_ops.cc", "shape_graph.cc", "grouped_conv3d.cc", "batch_norm.cc", "max_pool3d.cc"],
          "include_dirs": ["<(egtea_tf)/include"],
          "cflags_cc": ["-O3", "-march=native", "-std=c++17", "-fno-math-errno", "-fno-trapping-math"],
          "cflags_cc!": ["-fno-exceptions"],
          "ldflags": ["-pthread", "-Wl,-rpath,<(egtea_tf)"],
          "libraries": ["-L<(egtea_tf)", "-l:libtensorflow_framework.so.2", "-l:libtensorflow_cc.so.2"]
        }
      ]
    }]
  ]
}
