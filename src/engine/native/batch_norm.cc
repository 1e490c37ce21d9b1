// Fused batch norm over the channel (last) axis, with an optional residual add and ReLU:
//   y = act(gamma * (x - mean) * rstd + beta [+ residual])
// Training mode normalises with the batch statistics (returned, for the running averages);
// inference mode with the given running statistics. tfjs builds the same thing from a dozen
// separate passes over the activation; here it is three passes forward and two backward.
#include <node_api.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <thread>
#include <vector>

#include "kernels.h"

namespace {

struct Args {
  std::vector<float*> arrays;
  std::vector<size_t> lengths;
};

// Reads [rows, channels, relu, residual, training, threads] and the float arrays after it
// (null entries allowed for optional arrays).
bool read_args(napi_env env, napi_callback_info info, size_t expected, int32_t* header, Args* out) {
  size_t argc = 16;
  napi_value argv[16];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  if (argc != expected + 1) return false;
  void* raw = nullptr;
  size_t length = 0;
  if (!typed_array(env, argv[0], napi_int32_array, &raw, &length) || length != 6) return false;
  std::copy_n(static_cast<int32_t*>(raw), 6, header);
  for (size_t i = 1; i <= expected; ++i) {
    napi_valuetype vt;
    napi_typeof(env, argv[i], &vt);
    if (vt == napi_null) {
      out->arrays.push_back(nullptr);
      out->lengths.push_back(0);
      continue;
    }
    if (!typed_array(env, argv[i], napi_float32_array, &raw, &length)) return false;
    out->arrays.push_back(static_cast<float*>(raw));
    out->lengths.push_back(length);
  }
  return true;
}

// One row of the backward pass's sums (g = dy through the ReLU, also the residual's gradient).
// Written per case, with restrict and both loads unconditional, and compiled with
// -fno-trapping-math (binding.gyp), the ReLU's select vectorises; before, this loop stayed
// scalar (perf put it at 10-20 times the second pass, which does about as much arithmetic).
template <bool kRelu, bool kResidual>
inline void gradient_sums_row(int64_t C, const float* __restrict xr, const float* __restrict yr, const float* __restrict dyr,
                              const float* __restrict mean, const float* __restrict rstd, float* __restrict gr, double* __restrict s1,
                              double* __restrict s2) {
  for (int64_t c = 0; c < C; ++c) {
    const float d = dyr[c];
    const float g = kRelu && yr[c] <= 0.f ? 0.f : d;
    if (kResidual) gr[c] = g;
    s1[c] += g;
    s2[c] += double(g) * (xr[c] - mean[c]) * rstd[c];
  }
}

}  // namespace

void egtea::batch_norm_forward(const BatchNormShape& s, const float* x, const float* gamma, const float* beta, const float* res,
                               const float* rmean, const float* rvar, float epsilon, float* y, float* mean, float* rstd) {
  const int64_t rows = s.rows, C = s.channels, threads = s.threads;
  const bool relu = s.relu, training = s.training;
  const int64_t T = std::max<int64_t>(1, std::min<int64_t>(threads, rows));
  if (training) {
    // Two passes (mean, then squared deviations) in double: exact enough for 10^7 rows.
    std::vector<std::vector<double>> part(T, std::vector<double>(C, 0.0));
    parallel_for(rows, T, [&](int64_t b, int64_t e, int64_t t) {
      double* s = part[t].data();
      for (int64_t r = b; r < e; ++r) {
        const float* xr = x + r * C;
        for (int64_t c = 0; c < C; ++c) s[c] += xr[c];
      }
    });
    std::vector<double> m(C, 0.0);
    for (auto& p : part)
      for (int64_t c = 0; c < C; ++c) m[c] += p[c], p[c] = 0.0;
    for (int64_t c = 0; c < C; ++c) m[c] /= double(rows);
    parallel_for(rows, T, [&](int64_t b, int64_t e, int64_t t) {
      double* s = part[t].data();
      for (int64_t r = b; r < e; ++r) {
        const float* xr = x + r * C;
        for (int64_t c = 0; c < C; ++c) {
          const double d = xr[c] - m[c];
          s[c] += d * d;
        }
      }
    });
    for (int64_t c = 0; c < C; ++c) {
      double v = 0.0;
      for (auto& p : part) v += p[c];
      v /= double(rows);
      mean[c] = float(m[c]);
      rstd[c] = float(1.0 / std::sqrt(v + epsilon));
    }
  } else {
    for (int64_t c = 0; c < C; ++c) {
      mean[c] = rmean[c];
      rstd[c] = float(1.0 / std::sqrt(double(rvar[c]) + epsilon));
    }
  }
  std::vector<float> scale(C), shift(C);
  for (int64_t c = 0; c < C; ++c) {
    scale[c] = gamma[c] * rstd[c];
    shift[c] = beta[c] - mean[c] * scale[c];
  }
  parallel_for(rows, T, [&](int64_t b, int64_t e, int64_t) {
    for (int64_t r = b; r < e; ++r) {
      const float* xr = x + r * C;
      float* yr = y + r * C;
      const float* rr = res ? res + r * C : nullptr;
      for (int64_t c = 0; c < C; ++c) {
        float v = xr[c] * scale[c] + shift[c];
        if (rr) v += rr[c];
        yr[c] = relu ? std::max(v, 0.f) : v;
      }
    }
  });
}

void egtea::batch_norm_backward(const BatchNormShape& s, const float* x, const float* y, const float* dy, const float* gamma,
                                const float* mean, const float* rstd, float* dx, float* dgamma, float* dbeta, float* dres) {
  const int64_t rows = s.rows, C = s.channels, threads = s.threads;
  const bool relu = s.relu, training = s.training;
  const int64_t T = std::max<int64_t>(1, std::min<int64_t>(threads, rows));
  // g = dy through the ReLU; it is also the residual's gradient.
  std::vector<std::vector<double>> sg(T, std::vector<double>(C, 0.0)), sgx(T, std::vector<double>(C, 0.0));
  parallel_for(rows, T, [&](int64_t b, int64_t e, int64_t t) {
    double *s1 = sg[t].data(), *s2 = sgx[t].data();
    for (int64_t r = b; r < e; ++r) {
      const float *xr = x + r * C, *yr = y + r * C, *dyr = dy + r * C;
      float* gr = dres ? dres + r * C : nullptr;
      if (relu && gr) gradient_sums_row<true, true>(C, xr, yr, dyr, mean, rstd, gr, s1, s2);
      else if (relu) gradient_sums_row<true, false>(C, xr, yr, dyr, mean, rstd, gr, s1, s2);
      else if (gr) gradient_sums_row<false, true>(C, xr, yr, dyr, mean, rstd, gr, s1, s2);
      else gradient_sums_row<false, false>(C, xr, yr, dyr, mean, rstd, gr, s1, s2);
    }
  });
  std::vector<float> k1(C), k2(C), k3(C);
  for (int64_t c = 0; c < C; ++c) {
    double a1 = 0, a2 = 0;
    for (int64_t t = 0; t < T; ++t) a1 += sg[t][c], a2 += sgx[t][c];
    dbeta[c] = float(a1);
    dgamma[c] = float(a2);
    // dx = gamma*rstd*(g - [training] (sum g + xhat * sum g*xhat) / rows)
    k1[c] = gamma[c] * rstd[c];
    k2[c] = training ? float(a1 / rows) : 0.f;
    k3[c] = training ? float(a2 / rows) : 0.f;
  }
  parallel_for(rows, T, [&](int64_t b, int64_t e, int64_t) {
    for (int64_t r = b; r < e; ++r) {
      const float *xr = x + r * C, *yr = y + r * C, *dyr = dy + r * C;
      float* dxr = dx + r * C;
      for (int64_t c = 0; c < C; ++c) {
        const float d = dyr[c];
        const float g = relu && yr[c] <= 0.f ? 0.f : d;
        const float xhat = (xr[c] - mean[c]) * rstd[c];
        dxr[c] = k1[c] * (g - k2[c] - xhat * k3[c]);
      }
    }
  });
}

// (header, x, gamma, beta, residual|null, runningMean, runningVar, eps[1], y, mean, rstd)
napi_value BatchNormForward(napi_env env, napi_callback_info info) {
  int32_t h[6];
  Args a;
  if (!read_args(env, info, 10, h, &a)) {
    napi_throw_type_error(env, nullptr, "batchNormForward: bad arguments");
    return nullptr;
  }
  const int64_t rows = h[0], C = h[1], threads = h[5];
  const bool relu = h[2], training = h[4];
  float *x = a.arrays[0], *gamma = a.arrays[1], *beta = a.arrays[2], *res = a.arrays[3];
  float *rmean = a.arrays[4], *rvar = a.arrays[5], *eps = a.arrays[6], *y = a.arrays[7], *mean = a.arrays[8], *rstd = a.arrays[9];
  const size_t n = rows * C;
  if (!x || !gamma || !beta || !rmean || !rvar || !eps || !y || !mean || !rstd || a.lengths[0] != n || a.lengths[7] != n ||
      (res && a.lengths[3] != n) || a.lengths[1] != size_t(C) || a.lengths[8] != size_t(C) || a.lengths[9] != size_t(C)) {
    napi_throw_range_error(env, nullptr, "batchNormForward: sizes do not match");
    return nullptr;
  }
  egtea::batch_norm_forward({rows, C, relu, training, threads}, x, gamma, beta, res, rmean, rvar, eps[0], y, mean, rstd);
  return nullptr;
}

// (header, x, y, dy, gamma, mean, rstd, dx, dgamma, dbeta, dresidual|null)
napi_value BatchNormBackward(napi_env env, napi_callback_info info) {
  int32_t h[6];
  Args a;
  if (!read_args(env, info, 10, h, &a)) {
    napi_throw_type_error(env, nullptr, "batchNormBackward: bad arguments");
    return nullptr;
  }
  const int64_t rows = h[0], C = h[1], threads = h[5];
  const bool relu = h[2], training = h[4];
  float *x = a.arrays[0], *y = a.arrays[1], *dy = a.arrays[2], *gamma = a.arrays[3], *mean = a.arrays[4], *rstd = a.arrays[5];
  float *dx = a.arrays[6], *dgamma = a.arrays[7], *dbeta = a.arrays[8], *dres = a.arrays[9];
  const size_t n = rows * C;
  if (!x || !y || !dy || !gamma || !mean || !rstd || !dx || !dgamma || !dbeta || a.lengths[0] != n || a.lengths[1] != n ||
      a.lengths[2] != n || a.lengths[6] != n || (dres && a.lengths[9] != n) || a.lengths[3] != size_t(C)) {
    napi_throw_range_error(env, nullptr, "batchNormBackward: sizes do not match");
    return nullptr;
  }
  egtea::batch_norm_backward({rows, C, relu, training, threads}, x, y, dy, gamma, mean, rstd, dx, dgamma, dbeta, dres);
  return nullptr;
}
