// 3D max pooling with PyTorch's semantics (padding never wins: out-of-frame taps are skipped),
// remembering where each maximum came from, so the gradient is a scatter. TensorFlow's CPU
// MaxPool3DGrad recomputes the windows and took 0.6 s for the 3D-ResNeXt stem's pool alone.
#include <node_api.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <thread>
#include <vector>

#include "kernels.h"

void egtea::max_pool3d_forward(const PoolDims& d, const float* x, float* y, int32_t* argmax) {
  const int64_t N = d.n, T = d.t, H = d.h, W = d.w, C = d.c, TO = d.to, HO = d.ho, WO = d.wo, K = d.kernel, S = d.stride, P = d.pad;
  const int64_t threads = std::max<int64_t>(1, d.threads);
  const int64_t rows = N * TO * HO;
  parallel_for(rows, threads, [&](int64_t begin, int64_t end, int64_t) {
    std::vector<float> best(C);
    std::vector<int32_t> where(C);
    for (int64_t row = begin; row < end; ++row) {
      const int64_t ho = row % HO, to = (row / HO) % TO, n = row / (HO * TO);
      for (int64_t wo = 0; wo < WO; ++wo) {
        std::fill(best.begin(), best.end(), -std::numeric_limits<float>::infinity());
        std::fill(where.begin(), where.end(), -1);
        for (int64_t a = 0; a < K; ++a) {
          const int64_t ti = to * S - P + a;
          if (ti < 0 || ti >= T) continue;
          for (int64_t b = 0; b < K; ++b) {
            const int64_t hi = ho * S - P + b;
            if (hi < 0 || hi >= H) continue;
            for (int64_t c = 0; c < K; ++c) {
              const int64_t wi = wo * S - P + c;
              if (wi < 0 || wi >= W) continue;
              const int64_t base = (((n * T + ti) * H + hi) * W + wi) * C;
              const float* xp = x + base;
              for (int64_t ch = 0; ch < C; ++ch) {
                if (xp[ch] > best[ch] || where[ch] < 0) {
                  best[ch] = xp[ch];
                  where[ch] = int32_t(base + ch);
                }
              }
            }
          }
        }
        const int64_t out = (((n * TO + to) * HO + ho) * WO + wo) * C;
        std::memcpy(y + out, best.data(), C * sizeof(float));
        std::memcpy(argmax + out, where.data(), C * sizeof(int32_t));
      }
    }
  });
}

void egtea::max_pool3d_backward(const float* dy, const int32_t* argmax, int64_t size, float* dx, int64_t dx_size) {
  std::memset(dx, 0, dx_size * sizeof(float));
  for (int64_t i = 0; i < size; ++i) {
    const int32_t at = argmax[i];
    if (at >= 0 && at < dx_size) dx[at] += dy[i];
  }
}


// maxPool3dForward(dims: Int32Array[n,t,h,w,c,to,ho,wo,kernel,stride,pad,threads], x, y, argmax: Int32Array)
napi_value MaxPool3dForward(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  void *dims_raw, *x_raw, *y_raw, *arg_raw;
  size_t dims_len, x_len, y_len, arg_len;
  if (argc != 4 || !typed_array(env, argv[0], napi_int32_array, &dims_raw, &dims_len) || dims_len != 12 ||
      !typed_array(env, argv[1], napi_float32_array, &x_raw, &x_len) || !typed_array(env, argv[2], napi_float32_array, &y_raw, &y_len) ||
      !typed_array(env, argv[3], napi_int32_array, &arg_raw, &arg_len)) {
    napi_throw_type_error(env, nullptr, "maxPool3dForward(dims: Int32Array(12), x: Float32Array, y: Float32Array, argmax: Int32Array)");
    return nullptr;
  }
  const int32_t* d = static_cast<int32_t*>(dims_raw);
  const int64_t N = d[0], T = d[1], H = d[2], W = d[3], C = d[4], TO = d[5], HO = d[6], WO = d[7], K = d[8], S = d[9], P = d[10];
  const int64_t threads = std::max(1, d[11]);
  if (x_len != size_t(N * T * H * W * C) || y_len != size_t(N * TO * HO * WO * C) || arg_len != y_len) {
    napi_throw_range_error(env, nullptr, "maxPool3dForward: sizes do not match");
    return nullptr;
  }
  egtea::max_pool3d_forward({N, T, H, W, C, TO, HO, WO, K, S, P, threads}, static_cast<float*>(x_raw), static_cast<float*>(y_raw),
                            static_cast<int32_t*>(arg_raw));
  return nullptr;
}

// maxPool3dBackward(dy: Float32Array, argmax: Int32Array, dx: Float32Array) — dx is zeroed here.
napi_value MaxPool3dBackward(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  void *dy_raw, *arg_raw, *dx_raw;
  size_t dy_len, arg_len, dx_len;
  if (argc != 3 || !typed_array(env, argv[0], napi_float32_array, &dy_raw, &dy_len) || !typed_array(env, argv[1], napi_int32_array, &arg_raw, &arg_len) ||
      !typed_array(env, argv[2], napi_float32_array, &dx_raw, &dx_len) || dy_len != arg_len) {
    napi_throw_type_error(env, nullptr, "maxPool3dBackward(dy: Float32Array, argmax: Int32Array, dx: Float32Array)");
    return nullptr;
  }
  egtea::max_pool3d_backward(static_cast<float*>(dy_raw), static_cast<int32_t*>(arg_raw), int64_t(dy_len), static_cast<float*>(dx_raw),
                             int64_t(dx_len));
  return nullptr;
}
