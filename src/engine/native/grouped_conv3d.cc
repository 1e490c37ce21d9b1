// Grouped 3D convolution on the CPU, channels-last (NDHWC), for the ResNeXt grouped convs that
// TensorFlow has no CPU kernel for. Direct loops: each output (or input, or filter) element is
// gathered by one thread, so no locks; the per-group channel loops are templated on the group
// width so the compiler unrolls and vectorises them.
//
// Layouts: x [N, T, H, W, C], filter [KT, KH, KW, C / G, COUT], y [N, TO, HO, WO, COUT].
// Output channel co belongs to group co / (COUT / G), as in TensorFlow and PyTorch.
#include <node_api.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <thread>
#include <vector>

#include "kernels.h"

namespace {

struct Dims {
  int64_t n, t, h, w, c;       // input
  int64_t to, ho, wo, cout;    // output
  int64_t kt, kh, kw;          // kernel
  int64_t st, sh, sw;          // stride
  int64_t pt, ph, pw;          // padding before (PyTorch-style, symmetric)
  int64_t groups;
  int64_t threads;
  int64_t cg() const { return c / groups; }
  int64_t cog() const { return cout / groups; }
};

template <typename F>
void parallel_for(int64_t count, int64_t threads, F fn) {
  threads = std::max<int64_t>(1, std::min(threads, count));
  if (threads == 1) {
    fn(0, count, 0);
    return;
  }
  std::vector<std::thread> pool;
  const int64_t chunk = (count + threads - 1) / threads;
  for (int64_t t = 0; t < threads; ++t) {
    const int64_t begin = t * chunk, end = std::min(count, begin + chunk);
    if (begin >= end) break;
    pool.emplace_back(fn, begin, end, t);
  }
  for (auto& th : pool) th.join();
}

// acc[g*COG + o] += sum_i x[g*CG + i] * w[i*COUT + g*COG + o]
template <int COG>
inline void accumulate_outer(const Dims& d, const float* __restrict x, const float* __restrict w, float* __restrict acc) {
  const int64_t cg = d.cg(), cout = d.cout, cog = COG > 0 ? COG : d.cog();
  for (int64_t g = 0; g < d.groups; ++g) {
    float* __restrict a = acc + g * cog;
    const float* xg = x + g * cg;
    for (int64_t i = 0; i < cg; ++i) {
      const float xv = xg[i];
      const float* __restrict wr = w + i * cout + g * cog;
      for (int64_t o = 0; o < cog; ++o) a[o] += xv * wr[o];
    }
  }
}

template <int COG>
void forward_rows(const Dims& d, const float* x, const float* w, float* y, int64_t begin, int64_t end) {
  std::vector<float> acc(d.cout);
  const int64_t kstride = d.cg() * d.cout;
  for (int64_t row = begin; row < end; ++row) {  // row = (n, to, ho)
    const int64_t ho = row % d.ho, to = (row / d.ho) % d.to, n = row / (d.ho * d.to);
    for (int64_t wo = 0; wo < d.wo; ++wo) {
      std::fill(acc.begin(), acc.end(), 0.f);
      for (int64_t a = 0; a < d.kt; ++a) {
        const int64_t ti = to * d.st - d.pt + a;
        if (ti < 0 || ti >= d.t) continue;
        for (int64_t b = 0; b < d.kh; ++b) {
          const int64_t hi = ho * d.sh - d.ph + b;
          if (hi < 0 || hi >= d.h) continue;
          for (int64_t c = 0; c < d.kw; ++c) {
            const int64_t wi = wo * d.sw - d.pw + c;
            if (wi < 0 || wi >= d.w) continue;
            const float* xp = x + (((n * d.t + ti) * d.h + hi) * d.w + wi) * d.c;
            const float* wp = w + ((a * d.kh + b) * d.kw + c) * kstride;
            accumulate_outer<COG>(d, xp, wp, acc.data());
          }
        }
      }
      std::memcpy(y + (((n * d.to + to) * d.ho + ho) * d.wo + wo) * d.cout, acc.data(), d.cout * sizeof(float));
    }
  }
}

// acc[g*CG + i] += sum_o dy[g*COG + o] * w[i*COUT + g*COG + o]
template <int COG>
inline void accumulate_dot(const Dims& d, const float* __restrict dy, const float* __restrict w, float* __restrict acc) {
  const int64_t cg = d.cg(), cout = d.cout, cog = COG > 0 ? COG : d.cog();
  for (int64_t g = 0; g < d.groups; ++g) {
    const float* __restrict dyg = dy + g * cog;
    for (int64_t i = 0; i < cg; ++i) {
      const float* __restrict wr = w + i * cout + g * cog;
      float s = 0.f;
      for (int64_t o = 0; o < cog; ++o) s += dyg[o] * wr[o];
      acc[g * cg + i] += s;
    }
  }
}

// An input position receives from output position (ti + p - k) / s when that divides exactly.
inline bool source(int64_t in, int64_t k, int64_t stride, int64_t pad, int64_t size, int64_t* out) {
  const int64_t v = in + pad - k;
  if (v < 0 || v % stride != 0) return false;
  *out = v / stride;
  return *out < size;
}

template <int COG>
void backward_input_rows(const Dims& d, const float* dy, const float* w, float* dx, int64_t begin, int64_t end) {
  std::vector<float> acc(d.c);
  const int64_t kstride = d.cg() * d.cout;
  for (int64_t row = begin; row < end; ++row) {  // row = (n, ti, hi)
    const int64_t hi = row % d.h, ti = (row / d.h) % d.t, n = row / (d.h * d.t);
    for (int64_t wi = 0; wi < d.w; ++wi) {
      std::fill(acc.begin(), acc.end(), 0.f);
      for (int64_t a = 0; a < d.kt; ++a) {
        int64_t to;
        if (!source(ti, a, d.st, d.pt, d.to, &to)) continue;
        for (int64_t b = 0; b < d.kh; ++b) {
          int64_t ho;
          if (!source(hi, b, d.sh, d.ph, d.ho, &ho)) continue;
          for (int64_t c = 0; c < d.kw; ++c) {
            int64_t wo;
            if (!source(wi, c, d.sw, d.pw, d.wo, &wo)) continue;
            const float* dyp = dy + (((n * d.to + to) * d.ho + ho) * d.wo + wo) * d.cout;
            const float* wp = w + ((a * d.kh + b) * d.kw + c) * kstride;
            accumulate_dot<COG>(d, dyp, wp, acc.data());
          }
        }
      }
      std::memcpy(dx + (((n * d.t + ti) * d.h + hi) * d.w + wi) * d.c, acc.data(), d.c * sizeof(float));
    }
  }
}

// dw[k][i][g*COG + o] += x[g*CG + i] * dy[g*COG + o]
template <int COG>
inline void accumulate_filter(const Dims& d, const float* __restrict x, const float* __restrict dy, float* __restrict dw) {
  const int64_t cg = d.cg(), cout = d.cout, cog = COG > 0 ? COG : d.cog();
  for (int64_t g = 0; g < d.groups; ++g) {
    const float* __restrict dyg = dy + g * cog;
    for (int64_t i = 0; i < cg; ++i) {
      const float xv = x[g * cg + i];
      float* __restrict dr = dw + i * cout + g * cog;
      for (int64_t o = 0; o < cog; ++o) dr[o] += xv * dyg[o];
    }
  }
}

template <int COG>
void backward_filter_rows(const Dims& d, const float* x, const float* dy, float* dw, int64_t begin, int64_t end) {
  const int64_t kstride = d.cg() * d.cout;
  for (int64_t row = begin; row < end; ++row) {  // row = (n, to, ho)
    const int64_t ho = row % d.ho, to = (row / d.ho) % d.to, n = row / (d.ho * d.to);
    for (int64_t wo = 0; wo < d.wo; ++wo) {
      const float* dyp = dy + (((n * d.to + to) * d.ho + ho) * d.wo + wo) * d.cout;
      for (int64_t a = 0; a < d.kt; ++a) {
        const int64_t ti = to * d.st - d.pt + a;
        if (ti < 0 || ti >= d.t) continue;
        for (int64_t b = 0; b < d.kh; ++b) {
          const int64_t hi = ho * d.sh - d.ph + b;
          if (hi < 0 || hi >= d.h) continue;
          for (int64_t c = 0; c < d.kw; ++c) {
            const int64_t wi = wo * d.sw - d.pw + c;
            if (wi < 0 || wi >= d.w) continue;
            const float* xp = x + (((n * d.t + ti) * d.h + hi) * d.w + wi) * d.c;
            accumulate_filter<COG>(d, xp, dyp, dw + ((a * d.kh + b) * d.kw + c) * kstride);
          }
        }
      }
    }
  }
}

template <template <int> class Op, typename... Args>
void dispatch(int64_t cog, Args... args) {
  switch (cog) {
    case 1: Op<1>::run(args...); break;
    case 2: Op<2>::run(args...); break;
    case 4: Op<4>::run(args...); break;
    case 8: Op<8>::run(args...); break;
    case 16: Op<16>::run(args...); break;
    case 32: Op<32>::run(args...); break;
    case 64: Op<64>::run(args...); break;
    default: Op<0>::run(args...); break;
  }
}

template <int COG>
struct Forward {
  static void run(const Dims& d, const float* x, const float* w, float* y) {
    parallel_for(d.n * d.to * d.ho, d.threads, [&](int64_t b, int64_t e, int64_t) { forward_rows<COG>(d, x, w, y, b, e); });
  }
};

template <int COG>
struct BackwardInput {
  static void run(const Dims& d, const float* dy, const float* w, float* dx) {
    parallel_for(d.n * d.t * d.h, d.threads, [&](int64_t b, int64_t e, int64_t) { backward_input_rows<COG>(d, dy, w, dx, b, e); });
  }
};

template <int COG>
struct BackwardFilter {
  static void run(const Dims& d, const float* x, const float* dy, float* dw) {
    const int64_t size = d.kt * d.kh * d.kw * d.cg() * d.cout;
    const int64_t rows = d.n * d.to * d.ho;
    const int64_t threads = std::max<int64_t>(1, std::min(d.threads, rows));
    // Each thread sums into its own copy; the copies are added at the end.
    std::vector<std::vector<float>> partial(threads, std::vector<float>(size, 0.f));
    parallel_for(rows, threads, [&](int64_t b, int64_t e, int64_t t) { backward_filter_rows<COG>(d, x, dy, partial[t].data(), b, e); });
    std::memcpy(dw, partial[0].data(), size * sizeof(float));
    for (int64_t t = 1; t < threads; ++t)
      for (int64_t i = 0; i < size; ++i) dw[i] += partial[t][i];
  }
};

// ---- N-API glue ---------------------------------------------------------------------------

bool float_array(napi_env env, napi_value value, float** data, size_t* length) {
  bool is_typed = false;
  napi_is_typedarray(env, value, &is_typed);
  if (!is_typed) return false;
  napi_typedarray_type type;
  void* raw;
  napi_get_typedarray_info(env, value, &type, length, &raw, nullptr, nullptr);
  if (type != napi_float32_array) return false;
  *data = static_cast<float*>(raw);
  return true;
}

bool read_dims(napi_env env, napi_value value, Dims* d) {
  bool is_typed = false;
  napi_is_typedarray(env, value, &is_typed);
  if (!is_typed) return false;
  napi_typedarray_type type;
  size_t length;
  void* raw;
  napi_get_typedarray_info(env, value, &type, &length, &raw, nullptr, nullptr);
  if (type != napi_int32_array || length != 20) return false;
  const int32_t* v = static_cast<int32_t*>(raw);
  *d = Dims{v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11], v[12], v[13], v[14], v[15], v[16], v[17], v[18], v[19]};
  return d->groups > 0 && d->c % d->groups == 0 && d->cout % d->groups == 0 && d->threads > 0;
}

enum class Kind { kForward, kBackwardInput, kBackwardFilter };

template <Kind K>
napi_value call(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  Dims d;
  float *a, *b, *out;
  size_t la, lb, lo;
  if (argc != 4 || !read_dims(env, argv[0], &d) || !float_array(env, argv[1], &a, &la) || !float_array(env, argv[2], &b, &lb) ||
      !float_array(env, argv[3], &out, &lo)) {
    napi_throw_type_error(env, nullptr, "expected (dims: Int32Array(20), a: Float32Array, b: Float32Array, out: Float32Array)");
    return nullptr;
  }
  const size_t in_size = d.n * d.t * d.h * d.w * d.c, out_size = d.n * d.to * d.ho * d.wo * d.cout;
  const size_t filter_size = d.kt * d.kh * d.kw * d.cg() * d.cout;
  bool ok = false;
  if (K == Kind::kForward) ok = la == in_size && lb == filter_size && lo == out_size;
  if (K == Kind::kBackwardInput) ok = la == out_size && lb == filter_size && lo == in_size;
  if (K == Kind::kBackwardFilter) ok = la == in_size && lb == out_size && lo == filter_size;
  if (!ok) {
    napi_throw_range_error(env, nullptr, "array sizes do not match the dimensions");
    return nullptr;
  }
  if (K == Kind::kForward) dispatch<Forward>(d.cog(), d, a, b, out);
  if (K == Kind::kBackwardInput) dispatch<BackwardInput>(d.cog(), d, a, b, out);
  if (K == Kind::kBackwardFilter) dispatch<BackwardFilter>(d.cog(), d, a, b, out);
  return nullptr;
}

}  // namespace

napi_value GroupedConv3dForward(napi_env env, napi_callback_info info) { return call<Kind::kForward>(env, info); }
napi_value GroupedConv3dBackwardInput(napi_env env, napi_callback_info info) { return call<Kind::kBackwardInput>(env, info); }
napi_value GroupedConv3dBackwardFilter(napi_env env, napi_callback_info info) { return call<Kind::kBackwardFilter>(env, info); }
