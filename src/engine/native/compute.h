// egtea's CPU kernels as plain functions on float buffers: the N-API module (addon.cc) calls
// them on JavaScript arrays, the TensorFlow ops (tf_ops.cc) on TensorFlow's own tensors.
#pragma once

#include <algorithm>
#include <cstdint>
#include <thread>
#include <vector>

// Splits [0, count) into contiguous chunks, one per thread (at most `threads`), and runs
// fn(begin, end, thread) on each; returns when all are done.
template <typename F>
void parallel_for(int64_t count, int64_t threads, F fn) {
  threads = std::max<int64_t>(1, std::min(threads, count));
  if (threads == 1) {
    if (count > 0) fn(0, count, 0);
    return;
  }
  std::vector<std::thread> pool;
  const int64_t chunk = (count + threads - 1) / threads;
  for (int64_t t = 0; t < threads; ++t) {
    const int64_t begin = t * chunk, end = std::min(count, begin + chunk);
    if (begin < end) pool.emplace_back(fn, begin, end, t);
  }
  for (auto& th : pool) th.join();
}

namespace egtea {

// Grouped conv3d, channels-last: x [N, T, H, W, C], filter [KT, KH, KW, C / G, COUT],
// y [N, TO, HO, WO, COUT]; symmetric (PyTorch) padding.
struct ConvDims {
  int64_t n, t, h, w, c;       // input
  int64_t to, ho, wo, cout;    // output
  int64_t kt, kh, kw;          // kernel
  int64_t st, sh, sw;          // stride
  int64_t pt, ph, pw;          // padding before (PyTorch-style, symmetric)
  int64_t groups;
  int64_t threads;
  int64_t cg() const { return c / groups; }
  int64_t cog() const { return cout / groups; }
  int64_t input_size() const { return n * t * h * w * c; }
  int64_t output_size() const { return n * to * ho * wo * cout; }
  int64_t filter_size() const { return kt * kh * kw * cg() * cout; }
  bool valid() const { return groups > 0 && c % groups == 0 && cout % groups == 0 && threads > 0; }
};
void grouped_conv3d_forward(const ConvDims& d, const float* x, const float* w, float* y);
void grouped_conv3d_backward_input(const ConvDims& d, const float* dy, const float* w, float* dx);
void grouped_conv3d_backward_filter(const ConvDims& d, const float* x, const float* dy, float* dw);

// Batch norm over the last axis of a [rows, channels] view, fused with a residual add and ReLU.
struct BatchNormShape {
  int64_t rows, channels;
  bool relu, training;
  int64_t threads;
};
// residual may be null; mean and rstd receive the statistics used (the batch's in training).
void batch_norm_forward(const BatchNormShape& s, const float* x, const float* gamma, const float* beta, const float* residual,
                        const float* running_mean, const float* running_var, float epsilon, float* y, float* mean, float* rstd);
// dresidual may be null (no residual).
void batch_norm_backward(const BatchNormShape& s, const float* x, const float* y, const float* dy, const float* gamma, const float* mean,
                         const float* rstd, float* dx, float* dgamma, float* dbeta, float* dresidual);

// 3D max pooling with a cubic window and PyTorch's padding; argmax holds flat input positions.
struct PoolDims {
  int64_t n, t, h, w, c, to, ho, wo, kernel, stride, pad, threads;
  int64_t input_size() const { return n * t * h * w * c; }
  int64_t output_size() const { return n * to * ho * wo * c; }
};
void max_pool3d_forward(const PoolDims& d, const float* x, float* y, int32_t* argmax);
// Zeroes dx (dx_size elements) and scatters dy to the positions argmax names.
void max_pool3d_backward(const float* dy, const int32_t* argmax, int64_t size, float* dx, int64_t dx_size);

}  // namespace egtea
