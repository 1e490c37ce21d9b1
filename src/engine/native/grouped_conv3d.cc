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

using Dims = egtea::ConvDims;

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

// acc[g*CG + i] += sum_o dy[g*COG + o] * wt[o*C + g*CG + i], wt the filter transposed per tap
template <int COG>
inline void accumulate_transposed(const Dims& d, const float* __restrict dy, const float* __restrict wt, float* __restrict acc) {
  const int64_t cg = d.cg(), c = d.c, cog = COG > 0 ? COG : d.cog();
  for (int64_t g = 0; g < d.groups; ++g) {
    float* __restrict a = acc + g * cg;
    const float* dyg = dy + g * cog;
    for (int64_t o = 0; o < cog; ++o) {
      const float dv = dyg[o];
      const float* __restrict row = wt + o * c + g * cg;
      for (int64_t i = 0; i < cg; ++i) a[i] += dv * row[i];
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
void backward_input_rows(const Dims& d, const float* dy, const float* wt, float* dx, int64_t begin, int64_t end) {
  std::vector<float> acc(d.c);
  const int64_t kstride = d.cog() * d.c;
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
            const float* wp = wt + ((a * d.kh + b) * d.kw + c) * kstride;
            accumulate_transposed<COG>(d, dyp, wp, acc.data());
          }
        }
      }
      std::memcpy(dx + (((n * d.t + ti) * d.h + hi) * d.w + wi) * d.c, acc.data(), d.c * sizeof(float));
    }
  }
}

// Calls visit(x offset, dy offset) for every output position whose input under kernel tap
// (a, b, c) lies inside the frame: the sum every filter-gradient entry of that tap runs over.
template <typename F>
inline void for_each_position_at_tap(const Dims& d, int64_t tap, F visit) {
  const int64_t a = tap / (d.kh * d.kw), b = (tap / d.kw) % d.kh, c = tap % d.kw;
  for (int64_t n = 0; n < d.n; ++n)
    for (int64_t to = 0; to < d.to; ++to) {
      const int64_t ti = to * d.st - d.pt + a;
      if (ti < 0 || ti >= d.t) continue;
      for (int64_t ho = 0; ho < d.ho; ++ho) {
        const int64_t hi = ho * d.sh - d.ph + b;
        if (hi < 0 || hi >= d.h) continue;
        const int64_t x_row = ((n * d.t + ti) * d.h + hi) * d.w, dy_row = ((n * d.to + to) * d.ho + ho) * d.wo;
        for (int64_t wo = 0; wo < d.wo; ++wo) {
          const int64_t wi = wo * d.sw - d.pw + c;
          if (wi >= 0 && wi < d.w) visit((x_row + wi) * d.c, (dy_row + wo) * d.cout);
        }
      }
    }
}

// One task: the filter gradient of kernel tap `tap` for group g. Input channels go four at a
// time, their accumulators (4 x COG) staying in registers across every output position.
template <int COG>
void backward_filter_task(const Dims& d, const float* x, const float* dy, float* dw, int64_t tap, int64_t g) {
  const int64_t cg = d.cg(), cog = COG > 0 ? COG : d.cog();
  float* out = dw + tap * cg * d.cout + g * cog;
  for (int64_t i0 = 0; i0 < cg; i0 += 4) {
    const int64_t lanes = std::min<int64_t>(4, cg - i0);
    float acc[4][COG > 0 ? COG : 64] = {};
    for_each_position_at_tap(d, tap, [&](int64_t x_at, int64_t dy_at) {
      const float* __restrict xp = x + x_at + g * cg + i0;
      const float* __restrict dyp = dy + dy_at + g * cog;
      if (lanes == 4) {
        const float x0 = xp[0], x1 = xp[1], x2 = xp[2], x3 = xp[3];
        for (int64_t o = 0; o < cog; ++o) {
          const float v = dyp[o];
          acc[0][o] += x0 * v;
          acc[1][o] += x1 * v;
          acc[2][o] += x2 * v;
          acc[3][o] += x3 * v;
        }
      } else {
        for (int64_t l = 0; l < lanes; ++l)
          for (int64_t o = 0; o < cog; ++o) acc[l][o] += xp[l] * dyp[o];
      }
    });
    for (int64_t l = 0; l < lanes; ++l)
      for (int64_t o = 0; o < cog; ++o) out[(i0 + l) * d.cout + o] = acc[l][o];
  }
}

// For narrow groups (4 x 4 in the first stage) one group is too little work per pass over the
// positions: a task takes one tap and a block of groups, each group's accumulators contiguous.
template <int COG>
void backward_filter_group_block(const Dims& d, const float* x, const float* dy, float* dw, int64_t tap, int64_t g0, int64_t g1, std::vector<float>& acc) {
  const int64_t cg = d.cg(), cog = COG > 0 ? COG : d.cog();
  const int64_t block = cg * cog;
  acc.assign((g1 - g0) * block, 0.f);
  for_each_position_at_tap(d, tap, [&](int64_t x_at, int64_t dy_at) {
    for (int64_t g = g0; g < g1; ++g) {
      float* __restrict ag = acc.data() + (g - g0) * block;
      const float* __restrict dyg = dy + dy_at + g * cog;
      const float* xg = x + x_at + g * cg;
      for (int64_t i = 0; i < cg; ++i) {
        const float xv = xg[i];
        float* __restrict row = ag + i * cog;
        for (int64_t o = 0; o < cog; ++o) row[o] += xv * dyg[o];
      }
    }
  });
  float* out = dw + tap * cg * d.cout;
  for (int64_t g = g0; g < g1; ++g)
    for (int64_t i = 0; i < cg; ++i)
      for (int64_t o = 0; o < cog; ++o) out[i * d.cout + g * cog + o] = acc[(g - g0) * block + i * cog + o];
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

// With stride 1 the input gradient is a forward convolution of dy with the filter flipped in
// space and transposed within each group (in and out swapped), padded by k - 1 - p.
void backward_input_as_forward(const Dims& d, const float* dy, const float* w, float* dx);

template <int COG>
struct BackwardInput {
  static void run(const Dims& d, const float* dy, const float* w, float* dx) {
    if (d.st == 1 && d.sh == 1 && d.sw == 1) return backward_input_as_forward(d, dy, w, dx);
    // wt[k][o][g*CG + i] = w[k][i][g*COG + o]: the inner loop then runs over input channels.
    const int64_t taps = d.kt * d.kh * d.kw, cg = d.cg(), cog = d.cog();
    std::vector<float> wt(taps * cog * d.c);
    for (int64_t k = 0; k < taps; ++k)
      for (int64_t g = 0; g < d.groups; ++g)
        for (int64_t i = 0; i < cg; ++i)
          for (int64_t o = 0; o < cog; ++o) wt[(k * cog + o) * d.c + g * cg + i] = w[(k * cg + i) * d.cout + g * cog + o];
    parallel_for(d.n * d.t * d.h, d.threads, [&](int64_t b, int64_t e, int64_t) { backward_input_rows<COG>(d, dy, wt.data(), dx, b, e); });
  }
};

template <int COG>
struct BackwardFilter {
  static void run(const Dims& d, const float* x, const float* dy, float* dw) {
    const int64_t taps = d.kt * d.kh * d.kw;
    if (d.cg() * d.cog() <= 16) {
      const int64_t block = std::max<int64_t>(1, std::min<int64_t>(d.groups, 4096 / (d.cg() * d.cog())));
      const int64_t blocks = (d.groups + block - 1) / block;
      parallel_for(taps * blocks, d.threads, [&](int64_t b, int64_t e, int64_t) {
        std::vector<float> acc;
        for (int64_t task = b; task < e; ++task) {
          const int64_t g0 = (task % blocks) * block;
          backward_filter_group_block<COG>(d, x, dy, dw, task / blocks, g0, std::min(d.groups, g0 + block), acc);
        }
      });
      return;
    }
    parallel_for(taps * d.groups, d.threads, [&](int64_t b, int64_t e, int64_t) {
      for (int64_t task = b; task < e; ++task) backward_filter_task<COG>(d, x, dy, dw, task / d.groups, task % d.groups);
    });
  }
};

void backward_input_as_forward(const Dims& d, const float* dy, const float* w, float* dx) {
  const int64_t cg = d.cg(), cog = d.cog(), kt = d.kt, kh = d.kh, kw = d.kw;
  // wf[a'][b'][c'][o][g*CG + i] = w[kt-1-a'][kh-1-b'][kw-1-c'][i][g*COG + o]
  std::vector<float> wf(kt * kh * kw * cog * d.c);
  for (int64_t a = 0; a < kt; ++a)
    for (int64_t b = 0; b < kh; ++b)
      for (int64_t c = 0; c < kw; ++c) {
        const float* src = w + ((a * kh + b) * kw + c) * cg * d.cout;
        float* dst = wf.data() + (((kt - 1 - a) * kh + (kh - 1 - b)) * kw + (kw - 1 - c)) * cog * d.c;
        for (int64_t g = 0; g < d.groups; ++g)
          for (int64_t i = 0; i < cg; ++i)
            for (int64_t o = 0; o < cog; ++o) dst[o * d.c + g * cg + i] = src[i * d.cout + g * cog + o];
      }
  Dims t = d;
  t.t = d.to, t.h = d.ho, t.w = d.wo, t.c = d.cout;
  t.to = d.t, t.ho = d.h, t.wo = d.w, t.cout = d.c;
  t.pt = kt - 1 - d.pt, t.ph = kh - 1 - d.ph, t.pw = kw - 1 - d.pw;
  dispatch<Forward>(t.cog(), t, dy, static_cast<const float*>(wf.data()), dx);
}

}  // namespace

void egtea::grouped_conv3d_forward(const ConvDims& d, const float* x, const float* w, float* y) { dispatch<Forward>(d.cog(), d, x, w, y); }
void egtea::grouped_conv3d_backward_input(const ConvDims& d, const float* dy, const float* w, float* dx) {
  dispatch<BackwardInput>(d.cog(), d, dy, w, dx);
}
void egtea::grouped_conv3d_backward_filter(const ConvDims& d, const float* x, const float* dy, float* dw) {
  dispatch<BackwardFilter>(d.cog(), d, x, dy, dw);
}

// ---- N-API glue ---------------------------------------------------------------------------

namespace {

bool float_array(napi_env env, napi_value value, float** data, size_t* length) {
  void* raw = nullptr;
  if (!typed_array(env, value, napi_float32_array, &raw, length)) return false;
  *data = static_cast<float*>(raw);
  return true;
}

bool read_dims(napi_env env, napi_value value, Dims* d) {
  void* raw = nullptr;
  size_t length = 0;
  if (!typed_array(env, value, napi_int32_array, &raw, &length) || length != 20) return false;
  const int32_t* v = static_cast<int32_t*>(raw);
  *d = Dims{v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11], v[12], v[13], v[14], v[15], v[16], v[17], v[18], v[19]};
  return d->valid();
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
  const size_t in_size = d.input_size(), out_size = d.output_size(), filter_size = d.filter_size();
  bool ok = false;
  if (K == Kind::kForward) ok = la == in_size && lb == filter_size && lo == out_size;
  if (K == Kind::kBackwardInput) ok = la == out_size && lb == filter_size && lo == in_size;
  if (K == Kind::kBackwardFilter) ok = la == in_size && lb == out_size && lo == filter_size;
  if (!ok) {
    napi_throw_range_error(env, nullptr, "array sizes do not match the dimensions");
    return nullptr;
  }
  if (K == Kind::kForward) egtea::grouped_conv3d_forward(d, a, b, out);
  if (K == Kind::kBackwardInput) egtea::grouped_conv3d_backward_input(d, a, b, out);
  if (K == Kind::kBackwardFilter) egtea::grouped_conv3d_backward_filter(d, a, b, out);
  return nullptr;
}

}  // namespace

napi_value GroupedConv3dForward(napi_env env, napi_callback_info info) { return call<Kind::kForward>(env, info); }
napi_value GroupedConv3dBackwardInput(napi_env env, napi_callback_info info) { return call<Kind::kBackwardInput>(env, info); }
napi_value GroupedConv3dBackwardFilter(napi_env env, napi_callback_info info) { return call<Kind::kBackwardFilter>(env, info); }
