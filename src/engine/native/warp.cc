// One pass from a decoded RGB frame to a normalised float32 network input: an affine warp
// (crop, scale, rotation, flip; bilinear, black outside the frame, as torchvision rotates) and
// (x / 255 - mean) / std, written straight into the batch tensor's memory.
#include <node_api.h>

#include <cmath>
#include <cstdint>

#include "kernels.h"

// warpNormalize(src: Uint8Array, header: Int32Array[srcW, srcH, size, offset],
//               params: Float64Array[m00, m01, m10, m11, tx, ty, mean0..2, std0..2], out: Float32Array)
// maps output pixel centre q to source point p = M q + t (pixel centres at +0.5).
napi_value WarpNormalize(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  void *src_raw, *header_raw, *params_raw, *out_raw;
  size_t src_len, header_len, params_len, out_len;
  const bool ok = argc == 4 && typed_array(env, argv[0], napi_uint8_array, &src_raw, &src_len) &&
                  typed_array(env, argv[1], napi_int32_array, &header_raw, &header_len) && header_len == 4 &&
                  typed_array(env, argv[2], napi_float64_array, &params_raw, &params_len) && params_len == 12 &&
                  typed_array(env, argv[3], napi_float32_array, &out_raw, &out_len);
  if (!ok) {
    napi_throw_type_error(env, nullptr, "warpNormalize(src: Uint8Array, header: Int32Array(4), params: Float64Array(12), out: Float32Array)");
    return nullptr;
  }
  const int32_t* h = static_cast<int32_t*>(header_raw);
  const int64_t W = h[0], H = h[1], S = h[2], offset = h[3];
  const uint8_t* src = static_cast<uint8_t*>(src_raw);
  const double* p = static_cast<double*>(params_raw);
  float* out = static_cast<float*>(out_raw);
  if (size_t(W * H * 3) != src_len || offset < 0 || size_t(offset + S * S * 3) > out_len) {
    napi_throw_range_error(env, nullptr, "warpNormalize: sizes do not match");
    return nullptr;
  }
  float scale[3], shift[3];
  for (int c = 0; c < 3; ++c) {
    scale[c] = float(1.0 / (255.0 * p[9 + c]));
    shift[c] = float(p[6 + c] / p[9 + c]);
  }
  float* o = out + offset;
  for (int64_t v = 0; v < S; ++v) {
    const double qy = v + 0.5;
    for (int64_t u = 0; u < S; ++u) {
      const double qx = u + 0.5;
      const double sx = p[0] * qx + p[1] * qy + p[4] - 0.5;
      const double sy = p[2] * qx + p[3] * qy + p[5] - 0.5;
      const double fx0 = std::floor(sx), fy0 = std::floor(sy);
      const int64_t x0 = int64_t(fx0), y0 = int64_t(fy0);
      const float fx = float(sx - fx0), fy = float(sy - fy0);
      const float w00 = (1 - fx) * (1 - fy), w01 = fx * (1 - fy), w10 = (1 - fx) * fy, w11 = fx * fy;
      float* dst = o + (v * S + u) * 3;
      if (x0 >= 0 && y0 >= 0 && x0 + 1 < W && y0 + 1 < H) {
        const uint8_t* a = src + (y0 * W + x0) * 3;
        const uint8_t* b = a + W * 3;
        for (int c = 0; c < 3; ++c)
          dst[c] = (a[c] * w00 + a[c + 3] * w01 + b[c] * w10 + b[c + 3] * w11) * scale[c] - shift[c];
        continue;
      }
      // Near or beyond the border: missing taps are black.
      const bool in_x0 = x0 >= 0 && x0 < W, in_x1 = x0 + 1 >= 0 && x0 + 1 < W;
      const bool in_y0 = y0 >= 0 && y0 < H, in_y1 = y0 + 1 >= 0 && y0 + 1 < H;
      for (int c = 0; c < 3; ++c) {
        float value = 0.f;
        if (in_y0 && in_x0) value += src[(y0 * W + x0) * 3 + c] * w00;
        if (in_y0 && in_x1) value += src[(y0 * W + x0 + 1) * 3 + c] * w01;
        if (in_y1 && in_x0) value += src[((y0 + 1) * W + x0) * 3 + c] * w10;
        if (in_y1 && in_x1) value += src[((y0 + 1) * W + x0 + 1) * 3 + c] * w11;
        dst[c] = value * scale[c] - shift[c];
      }
    }
  }
  return nullptr;
}
