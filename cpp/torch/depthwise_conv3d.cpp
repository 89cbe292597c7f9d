#include "torch/depthwise_conv3d.h"

#include <ATen/Parallel.h>
#include <torch/version.h>

#include <array>
#include <cstdlib>
#include <cstring>

#include "torch/autocast.h"

namespace fvc::deep {
namespace {

// One build runs on any x86-64 and still gets AVX2/FMA where the CPU has them: GCC
// emits both versions and picks one at load time by the CPU's features (an
// "arch=haswell" clone would be picked by CPU model, never on AMD).
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && __GNUC__ >= 12
#define FVC_CPU_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define FVC_CPU_CLONES
#endif

// Module options hold their padding in c10::variant up to LibTorch 1.x, std::variant after.
#if TORCH_VERSION_MAJOR >= 2
namespace variants = std;
#else
namespace variants = c10;
#endif

// How the kernels work. A (sample, channel) plane is copied into a zero-margined
// buffer split into stride phases (for stride s along an axis, padded position i goes
// to phase i % s at index i / s). In the phases every kernel tap is a fixed shift of
// one flattened index, so output q is sum_k w[k] * buffer[q + shift[k]]: whole frames
// as one contiguous loop that vectorises, instead of rows of 5 to 80 elements per tap.
// Positions past the end of each row are computed too and dropped. The weight gradient
// correlates the output gradient, laid out at the same pitch, with the same shifts; the
// input gradient splits the input positions into phases, each a stride-1 correlation
// of the padded output gradient with its kernel taps.

struct Axis {
  int64_t in, k, s, p, out;
  int64_t padded() const { return in + 2 * p; }
  int64_t phaseLen() const { return (padded() + s - 1) / s; }
  // The first padded position in stride phase r that holds input, not padding.
  int64_t firstInput(int64_t r) const { return p + ((r - p % s) + s) % s; }
};

struct Geometry {
  int64_t n, c;
  std::array<Axis, 3> a;
  int64_t taps() const { return a[0].k * a[1].k * a[2].k; }
  int64_t inPlane() const { return a[0].in * a[1].in * a[2].in; }
  int64_t outPlane() const { return a[0].out * a[1].out * a[2].out; }
};

Geometry geometry(const torch::Tensor& x, const torch::Tensor& w, const std::vector<int64_t>& stride, const std::vector<int64_t>& padding) {
  Geometry g{x.size(0), x.size(1), {}};
  for (int d = 0; d < 3; ++d) {
    Axis& a = g.a[d];
    a.in = x.size(d + 2), a.k = w.size(d + 2), a.s = stride[d], a.p = padding[d];
    a.out = (a.padded() - a.k) / a.s + 1;
  }
  return g;
}

// Shifts into a flattened buffer, plus the span of outputs to compute (up to the last
// valid one, at the buffer's pitch); `weight`: each tap's weight index where the taps
// are a subset of the kernel (the input gradient's phases).
struct Taps {
  std::vector<int64_t> shift, weight;
  int64_t span = 0;
};

int64_t flat(int64_t t, int64_t h, int64_t w, int64_t pitchH, int64_t pitchW) { return (t * pitchH + h) * pitchW + w; }

// Forward and weight gradient: the phased input buffer. Its taps run in the weight's
// own order (kt, kh, kw), so tap j takes weight j.
struct ForwardPlan {
  int64_t q[3], phases, phaseSize;
  Taps taps;

  explicit ForwardPlan(const Geometry& g) {
    for (int d = 0; d < 3; ++d) q[d] = g.a[d].phaseLen();
    phases = g.a[0].s * g.a[1].s * g.a[2].s;
    phaseSize = q[0] * q[1] * q[2];
    const Axis &T = g.a[0], &H = g.a[1], &W = g.a[2];
    for (int64_t kt = 0; kt < T.k; ++kt)
      for (int64_t kh = 0; kh < H.k; ++kh)
        for (int64_t kw = 0; kw < W.k; ++kw) {
          const int64_t phase = flat(kt % T.s, kh % H.s, kw % W.s, H.s, W.s);
          taps.shift.push_back(phase * phaseSize + flat(kt / T.s, kh / H.s, kw / W.s, q[1], q[2]));
        }
    taps.span = flat(T.out - 1, H.out - 1, W.out, q[1], q[2]);
  }
  int64_t bufferSize() const { return phases * phaseSize; }
};

void copyBlock(const float* src, int64_t srcH, int64_t srcW, float* dst, int64_t dstH, int64_t dstW, int64_t n0, int64_t n1, int64_t n2) {
  for (int64_t i = 0; i < n0; ++i)
    for (int64_t j = 0; j < n1; ++j) std::memcpy(dst + flat(i, j, 0, dstH, dstW), src + flat(i, j, 0, srcH, srcW), sizeof(float) * n2);
}

void phaseInto(const float* src, const Geometry& g, const ForwardPlan& f, float* dst) {
  std::memset(dst, 0, sizeof(float) * f.bufferSize());
  const Axis &T = g.a[0], &H = g.a[1], &W = g.a[2];
  for (int64_t t = 0; t < T.in; ++t) {
    const int64_t it = t + T.p;
    for (int64_t h = 0; h < H.in; ++h) {
      const int64_t ih = h + H.p;
      const float* row = src + flat(t, h, 0, H.in, W.in);
      float* base = dst + flat(it % T.s, ih % H.s, 0, H.s, W.s) * f.phaseSize + flat(it / T.s, ih / H.s, 0, f.q[1], f.q[2]);
      if (W.s == 1) {
        std::memcpy(base + W.p, row, sizeof(float) * W.in);
        continue;
      }
      // Padded column iw = w + p goes to phase iw % s at iw / s: walk each phase's columns.
      for (int64_t r = 0; r < W.s; ++r) {
        int64_t iw = W.firstInput(r);
        float* phase = base + r * f.phaseSize;
        for (int64_t j = iw / W.s; iw < W.p + W.in; iw += W.s, ++j) phase[j] = row[iw - W.p];
      }
    }
  }
}

// The input gradient's phases: input positions i = s*u + r (padded coordinates) take
// taps k = s*m + r; u runs over the positions that are real input, not padding.
struct InputGradPlan {
  int64_t m[3], u0[3], u[3], g[3];  // most taps per phase, first u, u count, padded gradient length
  std::vector<Taps> phases;         // by flat(rt, rh, rw); empty: no kernel tap lands there

  explicit InputGradPlan(const Geometry& geo) {
    for (int d = 0; d < 3; ++d) {
      const Axis& a = geo.a[d];
      m[d] = (a.k + a.s - 1) / a.s;
      u0[d] = a.p / a.s;
      u[d] = (a.p + a.in - 1) / a.s + 1 - u0[d];
      g[d] = std::max(u0[d] + u[d], a.out) + m[d] - 1;
    }
    const Axis &T = geo.a[0], &H = geo.a[1], &W = geo.a[2];
    for (int64_t rt = 0; rt < T.s; ++rt)
      for (int64_t rh = 0; rh < H.s; ++rh)
        for (int64_t rw = 0; rw < W.s; ++rw) {
          Taps ph;
          for (int64_t kt = rt; kt < T.k; kt += T.s)
            for (int64_t kh = rh; kh < H.k; kh += H.s)
              for (int64_t kw = rw; kw < W.k; kw += W.s) {
                // Output o = u - m sits at o + (m_max - 1) in the padded gradient.
                ph.shift.push_back(flat(u0[0] + m[0] - 1 - kt / T.s, u0[1] + m[1] - 1 - kh / H.s, u0[2] + m[2] - 1 - kw / W.s, g[1], g[2]));
                ph.weight.push_back(flat(kt, kh, kw, H.k, W.k));
              }
          ph.span = ph.shift.empty() ? 0 : flat(u[0] - 1, u[1] - 1, u[2], g[1], g[2]);
          phases.push_back(std::move(ph));
        }
  }
  int64_t gradSize() const { return g[0] * g[1] * g[2]; }
  int64_t phaseOut() const { return flat(u[0] - 1, u[1] - 1, u[2], g[1], g[2]); }
};

// Eight floats as one value: one AVX register in the x86-64-v3 clone, two SSE
// registers otherwise. Written out because GCC would not vectorise these loops itself
// (it cannot tell the shifted sources from the outputs).
// (-Wpsabi: these helpers are inlined, so no value crosses a call boundary.)
#pragma GCC diagnostic ignored "-Wpsabi"
typedef float F8 __attribute__((vector_size(32), aligned(4), may_alias));
inline F8 load8(const float* p) { return *reinterpret_cast<const F8*>(p); }
inline void store8(float* p, F8 v) { *reinterpret_cast<F8*>(p) = v; }
inline float sum8(F8 v) {
  float s = 0;
  for (int l = 0; l < 8; ++l) s += v[l];
  return s;
}

// out[q] = sum_j w[j] * src[q + shift[j]] for q < span: 32 outputs stay in four
// registers while every tap adds into them (four chains hide the FMA latency).
FVC_CPU_CLONES void accumulateTaps(const float* src, const float* w, const int64_t* shift, int64_t n, int64_t span, float* out) {
  int64_t q = 0;
  for (; q + 32 <= span; q += 32) {
    F8 a0 = {}, a1 = {}, a2 = {}, a3 = {};
    for (int64_t j = 0; j < n; ++j) {
      const float* s = src + q + shift[j];
      const float wj = w[j];
      a0 += wj * load8(s);
      a1 += wj * load8(s + 8);
      a2 += wj * load8(s + 16);
      a3 += wj * load8(s + 24);
    }
    store8(out + q, a0);
    store8(out + q + 8, a1);
    store8(out + q + 16, a2);
    store8(out + q + 24, a3);
  }
  for (; q < span; ++q) {
    float a = 0;
    for (int64_t j = 0; j < n; ++j) a += w[j] * src[q + shift[j]];
    out[q] = a;
  }
}

constexpr int64_t kChunk = 1024;  // gradient values summed in float before they go to double

// gw[j] += sum_q g[q] * src[q + shift[j]] for q < span: float within a chunk, double across.
FVC_CPU_CLONES void correlateTaps(const float* g, const float* src, const int64_t* shift, int64_t n, int64_t span, double* gw) {
  for (int64_t c0 = 0; c0 < span; c0 += kChunk) {
    const int64_t len = std::min(kChunk, span - c0);
    const float* gc = g + c0;
    for (int64_t j = 0; j < n; ++j) {
      const float* s = src + c0 + shift[j];
      F8 a0 = {}, a1 = {};
      int64_t i = 0;
      for (; i + 16 <= len; i += 16) {
        a0 += load8(gc + i) * load8(s + i);
        a1 += load8(gc + i + 8) * load8(s + i + 8);
      }
      float tail = 0;
      for (; i < len; ++i) tail += gc[i] * s[i];
      gw[j] += sum8(a0 + a1) + tail;
    }
  }
}

// Weights in a plan's tap order.
void gatherWeights(const float* w, const Taps& t, float* out) {
  for (size_t j = 0; j < t.weight.size(); ++j) out[j] = w[t.weight[j]];
}

void forwardPlane(const float* x, const float* w, float* y, const Geometry& g, const ForwardPlan& f, std::vector<float>& scratch) {
  scratch.resize(f.bufferSize() + f.taps.span);
  float* in = scratch.data();
  float* out = in + f.bufferSize();
  phaseInto(x, g, f, in);
  accumulateTaps(in, w, f.taps.shift.data(), static_cast<int64_t>(f.taps.shift.size()), f.taps.span, out);
  copyBlock(out, f.q[1], f.q[2], y, g.a[1].out, g.a[2].out, g.a[0].out, g.a[1].out, g.a[2].out);
}

void gradWeightPlane(const float* gy, const float* x, double* gw, const Geometry& g, const ForwardPlan& f, std::vector<float>& scratch) {
  scratch.resize(f.bufferSize() + f.taps.span);
  float* in = scratch.data();
  float* grad = in + f.bufferSize();
  phaseInto(x, g, f, in);
  std::memset(grad, 0, sizeof(float) * f.taps.span);
  copyBlock(gy, g.a[1].out, g.a[2].out, grad, f.q[1], f.q[2], g.a[0].out, g.a[1].out, g.a[2].out);
  correlateTaps(grad, in, f.taps.shift.data(), static_cast<int64_t>(f.taps.shift.size()), f.taps.span, gw);
}

void gradInputPlane(const float* gy, const float* w, float* gx, const Geometry& g, const InputGradPlan& p, std::vector<float>& scratch) {
  const int64_t phaseOut = p.phaseOut();
  scratch.resize(p.gradSize() + p.phases.size() * phaseOut + g.taps());
  float* grad = scratch.data();
  float* outs = grad + p.gradSize();
  float* wt = outs + p.phases.size() * phaseOut;
  std::memset(grad, 0, sizeof(float) * p.gradSize());
  copyBlock(gy, g.a[1].out, g.a[2].out, grad + flat(p.m[0] - 1, p.m[1] - 1, p.m[2] - 1, p.g[1], p.g[2]), p.g[1], p.g[2], g.a[0].out, g.a[1].out,
            g.a[2].out);
  for (size_t r = 0; r < p.phases.size(); ++r) {
    const Taps& t = p.phases[r];
    if (t.shift.empty()) continue;
    gatherWeights(w, t, wt);
    accumulateTaps(grad, wt, t.shift.data(), static_cast<int64_t>(t.shift.size()), t.span, outs + r * phaseOut);
  }
  const Axis &T = g.a[0], &H = g.a[1], &W = g.a[2];
  if (T.s == 1 && H.s == 1 && W.s == 1) {
    copyBlock(outs, p.g[1], p.g[2], gx, H.in, W.in, T.in, H.in, W.in);
    return;
  }
  for (int64_t t = 0; t < T.in; ++t) {
    const int64_t it = t + T.p;
    for (int64_t h = 0; h < H.in; ++h) {
      const int64_t ih = h + H.p;
      float* row = gx + flat(t, h, 0, H.in, W.in);
      for (int64_t rw = 0; rw < W.s; ++rw) {
        const size_t r = static_cast<size_t>(flat(it % T.s, ih % H.s, rw, H.s, W.s));
        const float* src = outs + r * phaseOut + flat(it / T.s - p.u0[0], ih / H.s - p.u0[1], 0, p.g[1], p.g[2]);
        const bool empty = p.phases[r].shift.empty();
        int64_t iw = W.firstInput(rw);
        for (int64_t j = iw / W.s - p.u0[2]; iw < W.p + W.in; iw += W.s, ++j) row[iw - W.p] = empty ? 0.f : src[j];
      }
    }
  }
}

// Every (sample, channel) plane is one task; a thread reuses its scratch across its planes.
template <typename F>
void forEachPlane(const Geometry& g, F&& plane) {
  at::parallel_for(0, g.n * g.c, 1, [&](int64_t begin, int64_t end) {
    std::vector<float> scratch;
    for (int64_t i = begin; i < end; ++i) plane(i, scratch);
  });
}

torch::Tensor forwardKernel(const torch::Tensor& x, const torch::Tensor& weight, const Geometry& g) {
  torch::Tensor y = torch::empty({g.n, g.c, g.a[0].out, g.a[1].out, g.a[2].out}, x.options());
  const ForwardPlan plan(g);
  const float* xp = x.data_ptr<float>();
  const float* wp = weight.data_ptr<float>();
  float* yp = y.data_ptr<float>();
  forEachPlane(g, [&](int64_t i, std::vector<float>& scratch) {
    forwardPlane(xp + i * g.inPlane(), wp + (i % g.c) * g.taps(), yp + i * g.outPlane(), g, plan, scratch);
  });
  return y;
}

torch::Tensor gradInputKernel(const torch::Tensor& gy, const torch::Tensor& weight, const Geometry& g) {
  torch::Tensor gx = torch::empty({g.n, g.c, g.a[0].in, g.a[1].in, g.a[2].in}, gy.options());
  const InputGradPlan plan(g);
  const float* gyp = gy.data_ptr<float>();
  const float* wp = weight.data_ptr<float>();
  float* gxp = gx.data_ptr<float>();
  forEachPlane(g, [&](int64_t i, std::vector<float>& scratch) {
    gradInputPlane(gyp + i * g.outPlane(), wp + (i % g.c) * g.taps(), gxp + i * g.inPlane(), g, plan, scratch);
  });
  return gx;
}

torch::Tensor gradWeightKernel(const torch::Tensor& gy, const torch::Tensor& x, const Geometry& g, c10::IntArrayRef weightShape) {
  // Per-plane partial sums, then a sum over the batch.
  torch::Tensor partial = torch::zeros({g.n, g.c, g.taps()}, x.options().dtype(torch::kFloat64));
  const ForwardPlan plan(g);
  const float* gyp = gy.data_ptr<float>();
  const float* xp = x.data_ptr<float>();
  double* pp = partial.data_ptr<double>();
  forEachPlane(g, [&](int64_t i, std::vector<float>& scratch) {
    gradWeightPlane(gyp + i * g.outPlane(), xp + i * g.inPlane(), pp + i * g.taps(), g, plan, scratch);
  });
  return partial.sum(0).to(torch::kFloat32).view(weightShape);
}

struct DepthwiseConv3dFunction : torch::autograd::Function<DepthwiseConv3dFunction> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& input, const torch::Tensor& weight,
                               std::vector<int64_t> stride, std::vector<int64_t> padding) {
    torch::Tensor x = input.contiguous(), w = weight.contiguous();
    const Geometry g = geometry(x, w, stride, padding);
    ctx->save_for_backward({x, w});
    ctx->saved_data["stride"] = stride;
    ctx->saved_data["padding"] = padding;
    return forwardKernel(x, w, g);
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const torch::Tensor& x = saved[0];
    const torch::Tensor& w = saved[1];
    const std::vector<int64_t> stride = ctx->saved_data["stride"].toIntVector(), padding = ctx->saved_data["padding"].toIntVector();
    const torch::Tensor gy = grads[0].contiguous();
    const Geometry g = geometry(x, w, stride, padding);
    torch::Tensor gx, gw;
    if (ctx->needs_input_grad(0)) gx = gradInputKernel(gy, w, g);
    if (ctx->needs_input_grad(1)) gw = gradWeightKernel(gy, x, g, w.sizes());
    return {gx, gw, torch::Tensor(), torch::Tensor()};
  }
};

// Read on every call, so a process can compare both paths.
bool nativeEnabled() {
  const char* v = std::getenv("FVC_NATIVE_DEPTHWISE");
  return !(v && std::strcmp(v, "0") == 0);
}

}  // namespace

torch::Tensor depthwiseConv3d(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias, std::vector<int64_t> stride,
                              std::vector<int64_t> padding) {
  TORCH_CHECK(x.dim() == 5 && x.scalar_type() == torch::kFloat32 && x.device().is_cpu(),
              "depthwiseConv3d: x must be a float32 CPU tensor [N, C, T, H, W]");
  TORCH_CHECK(weight.dim() == 5 && weight.size(0) == x.size(1) && weight.size(1) == 1, "depthwiseConv3d: weight must be [C, 1, kT, kH, kW]");
  torch::Tensor y = DepthwiseConv3dFunction::apply(x, weight, std::move(stride), std::move(padding));
  return bias.defined() ? y + bias.view({1, -1, 1, 1, 1}) : y;
}

torch::Tensor depthwiseOrConv(torch::nn::Conv3d& conv, const torch::Tensor& x) {
  const auto& o = conv->options;
  const auto* padding = variants::get_if<torch::ExpandingArray<3>>(&o.padding());
  const bool depthwise = o.groups() == o.in_channels() && o.in_channels() == o.out_channels() && padding &&
                         variants::holds_alternative<torch::enumtype::kZeros>(o.padding_mode()) && (*o.dilation())[0] == 1 &&
                         (*o.dilation())[1] == 1 && (*o.dilation())[2] == 1;
  if (!depthwise || !nativeEnabled() || x.dim() != 5 || !x.device().is_cpu() || x.scalar_type() != torch::kFloat32 ||
      conv->weight.scalar_type() != torch::kFloat32 || torchrt::cpuAutocastEnabled())
    return conv->forward(x);
  // An input smaller than the kernel gets LibTorch's own error message.
  for (int d = 0; d < 3; ++d)
    if (x.size(d + 2) + 2 * (**padding)[d] < (*o.kernel_size())[d]) return conv->forward(x);
  return depthwiseConv3d(x, conv->weight, conv->bias, c10::IntArrayRef(o.stride()).vec(), c10::IntArrayRef(*padding).vec());
}

std::vector<torchrt::KernelCheck> checkDepthwiseConv3d() {
  struct Case {
    std::vector<int64_t> x, k, stride, padding;
    bool bias;
  };
  // X3D's conv_b (stride 1 and the first block's spatial stride 2), its stem's
  // temporal conv_xy, and an uneven kernel, stride and padding with a bias.
  const Case cases[] = {
      {{2, 6, 5, 9, 11}, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}, false},
      {{2, 6, 5, 10, 9}, {3, 3, 3}, {1, 2, 2}, {1, 1, 1}, false},
      {{2, 4, 7, 6, 5}, {5, 1, 1}, {1, 1, 1}, {2, 0, 0}, false},
      {{1, 3, 6, 8, 13}, {2, 3, 4}, {2, 2, 3}, {0, 1, 2}, true},
  };
  torch::manual_seed(0);
  std::vector<torchrt::KernelCheck> out;
  for (const auto& c : cases) {
    const int64_t channels = c.x[1];
    torch::Tensor x = torch::randn(c.x).requires_grad_(), w = torch::randn({channels, 1, c.k[0], c.k[1], c.k[2]}).requires_grad_();
    torch::Tensor b = c.bias ? torch::randn({channels}).requires_grad_() : torch::Tensor();
    torch::Tensor ref = torch::conv3d(x, w, b, c.stride, c.padding, 1, channels);
    torch::Tensor gy = torch::randn_like(ref);
    auto refGrads = torch::autograd::grad({ref}, {x, w}, {gy});
    torch::Tensor got = depthwiseConv3d(x, w, b, c.stride, c.padding);
    auto gotGrads = torch::autograd::grad({got}, {x, w}, {gy});
    auto rel = [](const torch::Tensor& a, const torch::Tensor& e) {
      return (a - e).abs().max().item<double>() / std::max(1e-30, e.abs().max().item<double>());
    };
    auto dims = [](const std::vector<int64_t>& v) {
      std::string s;
      for (size_t i = 0; i < v.size(); ++i) s += (i ? "x" : "") + std::to_string(v[i]);
      return s;
    };
    torchrt::KernelCheck k;
    k.kernel = "depthwise_conv3d";
    k.shape = "x " + dims(c.x) + ", kernel " + dims(c.k) + ", stride " + dims(c.stride) + ", padding " + dims(c.padding) + (c.bias ? ", bias" : "");
    k.forward = rel(got, ref);
    k.gradInput = rel(gotGrads[0], refGrads[0]);
    k.gradWeight = rel(gotGrads[1], refGrads[1]);
    out.push_back(k);
  }
  return out;
}

}  // namespace fvc::deep
