//===- MetaFormer.cpp - reference MetaFormer ops and models ---------------===//

#include "Reference/MetaFormer.h"

#include "Reference/Attention.h"
#include "Reference/Json.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <set>

using namespace tmix::ref;

namespace {

/// A broken invariant of a test: report and stop.
[[noreturn]] void fatal(const std::string &message) {
  std::fprintf(stderr, "tmix reference: %s\n", message.c_str());
  std::fflush(stderr);
  std::abort();
}

void require(bool ok, const char *op, const std::string &what) {
  if (!ok)
    fatal(std::string(op) + ": " + what);
}

/// Number of elements before the last dimension.
int64_t rows(const Tensor &x) {
  return x.numel() / std::max<int64_t>(x.dim(-1), 1);
}

/// The [Cout, Cin] view of a Linear or 1x1 conv weight.
void linearDims(const char *op, const Tensor &w, int64_t &cout, int64_t &cin) {
  require(w.rank() == 2 ||
              (w.rank() == 4 && w.shape[2] == 1 && w.shape[3] == 1),
          op,
          "weight " + w.shapeString() +
              " is neither [Cout, Cin] nor "
              "[Cout, Cin, 1, 1]");
  cout = w.shape[0];
  cin = w.shape[1];
}

void checkVector(const char *op, const char *what, const Tensor *t, int64_t n) {
  if (t)
    require(t->rank() == 1 && t->shape[0] == n, op,
            std::string(what) + " " + t->shapeString() + " should be [" +
                std::to_string(n) + "]");
}

} // namespace

//===----------------------------------------------------------------------===//
// Ops
//===----------------------------------------------------------------------===//

Tensor tmix::ref::layerNorm(const Tensor &x, const std::vector<int64_t> &axes,
                            const Tensor &weight, const Tensor *bias,
                            double eps) {
  const int64_t rank = x.rank();
  require(rank >= 1 && !axes.empty(), "layer_norm", "needs a reduced axis");
  std::vector<bool> reduced(rank, false);
  for (size_t i = 0; i < axes.size(); ++i) {
    require(axes[i] >= 0 && axes[i] < rank, "layer_norm", "axis out of range");
    require(i == 0 || axes[i] > axes[i - 1], "layer_norm",
            "axes must be sorted and unique");
    reduced[axes[i]] = true;
  }
  const int64_t c = x.dim(-1);
  checkVector("layer_norm", "weight", &weight, c);
  checkVector("layer_norm", "bias", bias, c);
  // Each element belongs to the group named by its non-reduced coordinates.
  std::vector<int64_t> groupStride(rank, 0);
  int64_t groups = 1;
  for (int64_t d = rank - 1; d >= 0; --d)
    if (!reduced[d]) {
      groupStride[d] = groups;
      groups *= x.shape[d];
    }
  std::vector<int64_t> groupOf(x.numel());
  std::vector<int64_t> index(rank, 0);
  for (int64_t i = 0; i < x.numel(); ++i) {
    int64_t g = 0;
    for (int64_t d = 0; d < rank; ++d)
      g += index[d] * groupStride[d];
    groupOf[i] = g;
    for (int64_t d = rank - 1; d >= 0; --d) {
      if (++index[d] < x.shape[d])
        break;
      index[d] = 0;
    }
  }
  std::vector<double> mean(groups, 0.0), var(groups, 0.0), count(groups, 0.0);
  for (int64_t i = 0; i < x.numel(); ++i) {
    mean[groupOf[i]] += x[i];
    count[groupOf[i]] += 1;
  }
  for (int64_t g = 0; g < groups; ++g)
    mean[g] /= count[g];
  for (int64_t i = 0; i < x.numel(); ++i) {
    double d = x[i] - mean[groupOf[i]];
    var[groupOf[i]] += d * d;
  }
  for (int64_t g = 0; g < groups; ++g)
    var[g] /= count[g];
  Tensor y(x.shape);
  for (int64_t i = 0; i < x.numel(); ++i) {
    const int64_t g = groupOf[i], ch = i % c;
    double v = (x[i] - mean[g]) / std::sqrt(var[g] + eps) * weight[ch];
    y[i] = bias ? v + (*bias)[ch] : v;
  }
  return y;
}

Tensor tmix::ref::gelu(const Tensor &x) {
  Tensor y(x.shape);
  for (int64_t i = 0; i < x.numel(); ++i)
    y[i] = 0.5 * x[i] * (1.0 + std::erf(x[i] / std::sqrt(2.0)));
  return y;
}

Tensor tmix::ref::squaredRelu(const Tensor &x) {
  Tensor y(x.shape);
  for (int64_t i = 0; i < x.numel(); ++i) {
    double r = x[i] > 0 ? x[i] : 0.0;
    y[i] = r * r;
  }
  return y;
}

Tensor tmix::ref::starRelu(const Tensor &x, double scale, double bias) {
  Tensor y(x.shape);
  for (int64_t i = 0; i < x.numel(); ++i) {
    double r = x[i] > 0 ? x[i] : 0.0;
    y[i] = scale * r * r + bias;
  }
  return y;
}

Tensor tmix::ref::activate(const Tensor &x, const ActivationSpec &act) {
  switch (act.kind) {
  case Activation::Gelu:
    return gelu(x);
  case Activation::SquaredRelu:
    return squaredRelu(x);
  case Activation::StarRelu:
    return starRelu(x, act.scale, act.bias);
  }
  fatal("activate: unknown activation");
}

Tensor tmix::ref::linear(const Tensor &x, const Tensor &weight,
                         const Tensor *bias) {
  int64_t cout, cin;
  linearDims("linear", weight, cout, cin);
  require(x.rank() >= 1 && x.dim(-1) == cin, "linear",
          "input " + x.shapeString() + " does not end in " +
              std::to_string(cin));
  checkVector("linear", "bias", bias, cout);
  std::vector<int64_t> shape = x.shape;
  shape.back() = cout;
  Tensor y(shape);
  const int64_t m = rows(x);
  for (int64_t r = 0; r < m; ++r) {
    const double *in = &x.data[r * cin];
    for (int64_t o = 0; o < cout; ++o) {
      const double *w = &weight.data[o * cin];
      double sum = bias ? (*bias)[o] : 0.0;
      for (int64_t i = 0; i < cin; ++i)
        sum += in[i] * w[i];
      y[r * cout + o] = sum;
    }
  }
  return y;
}

Tensor tmix::ref::mlp(const Tensor &x, const Tensor &w1, const Tensor *b1,
                      const ActivationSpec &act, const Tensor &w2,
                      const Tensor *b2) {
  return linear(activate(linear(x, w1, b1), act), w2, b2);
}

Tensor tmix::ref::pool(const Tensor &x, int64_t kernel) {
  require(x.rank() == 4, "pool", "input must be [B, H, W, C]");
  require(kernel >= 1 && kernel % 2 == 1, "pool", "kernel must be odd");
  const int64_t B = x.shape[0], H = x.shape[1], W = x.shape[2], C = x.shape[3],
                pad = kernel / 2;
  Tensor y(x.shape);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t w = 0; w < W; ++w)
        for (int64_t c = 0; c < C; ++c) {
          double sum = 0;
          int64_t count = 0;
          for (int64_t i = h - pad; i <= h + pad; ++i)
            for (int64_t j = w - pad; j <= w + pad; ++j)
              if (i >= 0 && i < H && j >= 0 && j < W) {
                sum += x[((b * H + i) * W + j) * C + c];
                ++count;
              }
          const int64_t at = ((b * H + h) * W + w) * C + c;
          y[at] = sum / static_cast<double>(count) - x[at];
        }
  return y;
}

Tensor tmix::ref::randomMix(const Tensor &x, const Tensor &matrix) {
  require(x.rank() == 3 || x.rank() == 4, "random_mix",
          "input must be [B, H, W, C] or [B, N, C]");
  const int64_t B = x.shape[0], C = x.dim(-1), N = x.numel() / (B * C);
  require(matrix.rank() == 2 && matrix.shape[0] == N && matrix.shape[1] == N,
          "random_mix",
          "matrix " + matrix.shapeString() + " should be [" +
              std::to_string(N) + ", " + std::to_string(N) + "]");
  Tensor y(x.shape);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t n = 0; n < N; ++n) {
      double *out = &y.data[(b * N + n) * C];
      for (int64_t m = 0; m < N; ++m) {
        const double coef = matrix[n * N + m];
        const double *in = &x.data[(b * N + m) * C];
        for (int64_t c = 0; c < C; ++c)
          out[c] += coef * in[c];
      }
    }
  return y;
}

Tensor tmix::ref::conv2d(const Tensor &x, const Tensor &weight,
                         const Tensor *bias, std::array<int64_t, 2> stride,
                         std::array<int64_t, 2> padding, int64_t groups) {
  require(x.rank() == 4 && weight.rank() == 4, "conv2d",
          "needs an NHWC input and an OIHW weight");
  const int64_t B = x.shape[0], H = x.shape[1], W = x.shape[2], C = x.shape[3];
  const int64_t O = weight.shape[0], I = weight.shape[1], KH = weight.shape[2],
                KW = weight.shape[3];
  require(groups >= 1 && C % groups == 0 && O % groups == 0 && I == C / groups,
          "conv2d",
          "weight " + weight.shapeString() + " does not fit " +
              std::to_string(C) + " input channels in " +
              std::to_string(groups) + " groups");
  require(stride[0] >= 1 && stride[1] >= 1 && padding[0] >= 0 &&
              padding[1] >= 0,
          "conv2d", "bad stride or padding");
  checkVector("conv2d", "bias", bias, O);
  const int64_t OH = (H + 2 * padding[0] - KH) / stride[0] + 1;
  const int64_t OW = (W + 2 * padding[1] - KW) / stride[1] + 1;
  require(OH >= 1 && OW >= 1, "conv2d", "the input is smaller than the kernel");
  const int64_t outPerGroup = O / groups;
  Tensor y({B, OH, OW, O});
  for (int64_t b = 0; b < B; ++b)
    for (int64_t oh = 0; oh < OH; ++oh)
      for (int64_t ow = 0; ow < OW; ++ow)
        for (int64_t o = 0; o < O; ++o) {
          const int64_t g = o / outPerGroup;
          double sum = bias ? (*bias)[o] : 0.0;
          for (int64_t kh = 0; kh < KH; ++kh) {
            const int64_t ih = oh * stride[0] - padding[0] + kh;
            if (ih < 0 || ih >= H)
              continue;
            for (int64_t kw = 0; kw < KW; ++kw) {
              const int64_t iw = ow * stride[1] - padding[1] + kw;
              if (iw < 0 || iw >= W)
                continue;
              const double *in = &x.data[((b * H + ih) * W + iw) * C + g * I];
              for (int64_t i = 0; i < I; ++i)
                sum += in[i] * weight[((o * I + i) * KH + kh) * KW + kw];
            }
          }
          y[((b * OH + oh) * OW + ow) * O + o] = sum;
        }
  return y;
}

Tensor tmix::ref::sepconv(const Tensor &x, const Tensor &pw1, double scale,
                          double bias, const Tensor &dw, const Tensor &pw2,
                          int64_t kernel, int64_t padding) {
  require(x.rank() == 4, "sepconv", "input must be [B, H, W, C]");
  int64_t mid, cin;
  linearDims("sepconv", pw1, mid, cin);
  require(dw.rank() == 4 && dw.shape[0] == mid && dw.shape[1] == 1 &&
              dw.shape[2] == kernel && dw.shape[3] == kernel,
          "sepconv",
          "depthwise weight " + dw.shapeString() + " should be [" +
              std::to_string(mid) + ", 1, " + std::to_string(kernel) + ", " +
              std::to_string(kernel) + "]");
  Tensor h = starRelu(linear(x, pw1, nullptr), scale, bias);
  h = conv2d(h, dw, nullptr, {1, 1}, {padding, padding}, mid);
  require(h.shape ==
              std::vector<int64_t>({x.shape[0], x.shape[1], x.shape[2], mid}),
          "sepconv", "the depthwise conv changes the map size");
  return linear(h, pw2, nullptr);
}

Tensor tmix::ref::selfAttention(const Tensor &x, const Tensor &qkv,
                                const Tensor &proj, int64_t headDim) {
  require(x.rank() == 3 || x.rank() == 4, "self_attention",
          "input must be [B, H, W, C] or [B, N, C]");
  const int64_t B = x.shape[0], C = x.dim(-1), N = x.numel() / (B * C);
  require(qkv.rank() == 2 && qkv.shape[1] == C && qkv.shape[0] % 3 == 0,
          "self_attention",
          "qkv weight " + qkv.shapeString() + " should be [3A, " +
              std::to_string(C) + "]");
  const int64_t A = qkv.shape[0] / 3;
  require(headDim >= 1 && A % headDim == 0, "self_attention",
          "A is not a multiple of head_dim");
  require(proj.rank() == 2 && proj.shape[0] == C && proj.shape[1] == A,
          "self_attention",
          "proj weight " + proj.shapeString() + " should be [" +
              std::to_string(C) + ", " + std::to_string(A) + "]");
  const int64_t heads = A / headDim;
  Tensor t = linear(x, qkv, nullptr); // [..., 3A], flattened: [B*N, 3A]
  // (3, heads, headDim) split of the channel axis, to [B, heads, N, headDim].
  std::vector<double> q(B * heads * N * headDim), k(q.size()), v(q.size());
  for (int64_t b = 0; b < B; ++b)
    for (int64_t n = 0; n < N; ++n)
      for (int64_t h = 0; h < heads; ++h)
        for (int64_t d = 0; d < headDim; ++d) {
          const int64_t src = (b * N + n) * 3 * A + h * headDim + d;
          const int64_t dst = ((b * heads + h) * N + n) * headDim + d;
          q[dst] = t[src];
          k[dst] = t[src + A];
          v[dst] = t[src + 2 * A];
        }
  AttentionShape shape;
  shape.B = B;
  shape.Hq = shape.Hkv = heads;
  shape.L = shape.S = N;
  shape.D = shape.Dv = headDim;
  std::vector<double> out, lse;
  attention(shape, q, k, v, {}, {1, 1, 1, 1},
            1.0 / std::sqrt(static_cast<double>(headDim)), Mask(), out, lse);
  std::vector<int64_t> mergedShape = x.shape;
  mergedShape.back() = A;
  Tensor merged(mergedShape);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < heads; ++h)
      for (int64_t n = 0; n < N; ++n)
        for (int64_t d = 0; d < headDim; ++d)
          merged[(b * N + n) * A + h * headDim + d] =
              out[((b * heads + h) * N + n) * headDim + d];
  return linear(merged, proj, nullptr);
}

Tensor tmix::ref::globalAvgPool(const Tensor &x) {
  require(x.rank() == 4, "global_avg_pool", "input must be [B, H, W, C]");
  const int64_t B = x.shape[0], HW = x.shape[1] * x.shape[2], C = x.shape[3];
  Tensor y({B, C});
  for (int64_t b = 0; b < B; ++b)
    for (int64_t c = 0; c < C; ++c) {
      double sum = 0;
      for (int64_t p = 0; p < HW; ++p)
        sum += x[(b * HW + p) * C + c];
      y[b * C + c] = sum / static_cast<double>(HW);
    }
  return y;
}

Tensor tmix::ref::mlpHead(const Tensor &x, const Tensor &w1, const Tensor &b1,
                          const Tensor &normWeight, const Tensor &normBias,
                          const Tensor &w2, const Tensor &b2, double eps) {
  Tensor h = squaredRelu(linear(x, w1, &b1));
  h = layerNorm(h, {h.rank() - 1}, normWeight, &normBias, eps);
  return linear(h, w2, &b2);
}

Tensor tmix::ref::block(const Tensor &x, const Branch &tokenMixer,
                        const Branch &mlpBranch, const Tensor *layerScale1,
                        const Tensor *layerScale2, const Tensor *resScale1,
                        const Tensor *resScale2) {
  const int64_t c = x.dim(-1);
  checkVector("block", "layer_scale1", layerScale1, c);
  checkVector("block", "layer_scale2", layerScale2, c);
  checkVector("block", "res_scale1", resScale1, c);
  checkVector("block", "res_scale2", resScale2, c);
  auto residual = [&](const Tensor &stream, const Tensor &branch,
                      const Tensor *layerScale, const Tensor *resScale) {
    require(branch.shape == stream.shape, "block",
            "branch result " + branch.shapeString() + " differs from " +
                stream.shapeString());
    Tensor out(stream.shape);
    for (int64_t i = 0; i < stream.numel(); ++i) {
      const int64_t ch = i % c;
      double r = resScale ? (*resScale)[ch] * stream[i] : stream[i];
      double l = layerScale ? (*layerScale)[ch] * branch[i] : branch[i];
      out[i] = r + l;
    }
    return out;
  };
  Tensor y = residual(x, tokenMixer(x), layerScale1, resScale1);
  return residual(y, mlpBranch(y), layerScale2, resScale2);
}

Tensor tmix::ref::nchwToNhwc(const Tensor &x) {
  require(x.rank() == 4, "nchw_to_nhwc", "input must be [B, C, H, W]");
  const int64_t B = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3];
  Tensor y({B, H, W, C});
  for (int64_t b = 0; b < B; ++b)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t h = 0; h < H; ++h)
        for (int64_t w = 0; w < W; ++w)
          y[((b * H + h) * W + w) * C + c] = x[((b * C + c) * H + h) * W + w];
  return y;
}

//===----------------------------------------------------------------------===//
// Configuration
//===----------------------------------------------------------------------===//

namespace {

class ConfigReader {
public:
  std::string error;

  const JsonValue *member(const JsonValue &obj, const std::string &key,
                          const std::string &where) {
    const JsonValue *v = obj.find(key);
    if (!v && error.empty())
      error = where + " lacks \"" + key + "\"";
    return v;
  }
  bool integer(const JsonValue &obj, const std::string &key,
               const std::string &where, int64_t &out, int64_t min = 1) {
    const JsonValue *v = member(obj, key, where);
    if (!v)
      return false;
    if (!v->isNumber() || !v->isInteger || v->integer < min)
      return fail(where + "." + key +
                  " must be an integer >= " + std::to_string(min));
    out = v->integer;
    return true;
  }
  bool boolean(const JsonValue &obj, const std::string &key,
               const std::string &where, bool &out) {
    const JsonValue *v = member(obj, key, where);
    if (!v)
      return false;
    if (!v->isBool())
      return fail(where + "." + key + " must be true or false");
    out = v->boolean;
    return true;
  }
  bool string(const JsonValue &obj, const std::string &key,
              const std::string &where, std::string &out) {
    const JsonValue *v = member(obj, key, where);
    if (!v)
      return false;
    if (!v->isString())
      return fail(where + "." + key + " must be a string");
    out = v->string;
    return true;
  }
  bool pair(const JsonValue &obj, const std::string &key,
            const std::string &where, int64_t &a, int64_t &b) {
    const JsonValue *v = member(obj, key, where);
    if (!v)
      return false;
    if (!v->isArray() || v->array.size() != 2)
      return fail(where + "." + key + " must be [a, b]");
    for (const JsonValue &e : v->array)
      if (!e.isNumber() || !e.isInteger || e.integer < 1)
        return fail(where + "." + key + " must hold positive integers");
    a = v->array[0].integer;
    b = v->array[1].integer;
    return true;
  }
  /// A norm object or null (absent norm).
  bool norm(const JsonValue &obj, const std::string &key,
            const std::string &where, NormConfig &out) {
    const JsonValue *v = member(obj, key, where);
    if (!v)
      return false;
    out = NormConfig();
    if (v->isNull())
      return true;
    const std::string here = where + "." + key;
    if (!v->isObject())
      return fail(here + " must be an object or null");
    std::string reduce;
    if (!string(*v, "reduce", here, reduce) ||
        !boolean(*v, "bias", here, out.bias))
      return false;
    if (reduce != "channel" && reduce != "all")
      return fail(here + ".reduce must be \"channel\" or \"all\"");
    const JsonValue *eps = member(*v, "eps", here);
    if (!eps)
      return false;
    if (!eps->isNumber() || !(eps->number > 0))
      return fail(here + ".eps must be a positive number");
    out.present = true;
    out.overAll = reduce == "all";
    out.eps = eps->number;
    return true;
  }
  bool conv(const JsonValue &obj, const std::string &key,
            const std::string &where, ConvConfig &out) {
    const JsonValue *v = member(obj, key, where);
    if (!v)
      return false;
    const std::string here = where + "." + key;
    if (!v->isObject())
      return fail(here + " must be an object");
    return integer(*v, "kernel", here, out.kernel) &&
           integer(*v, "stride", here, out.stride) &&
           integer(*v, "padding", here, out.padding, 0) &&
           norm(*v, "norm", here, out.norm);
  }
  bool fail(const std::string &message) {
    if (error.empty())
      error = message;
    return false;
  }
};

int64_t convOut(int64_t size, const ConvConfig &c) {
  return (size + 2 * c.padding - c.kernel) / c.stride + 1;
}

bool parseStage(ConfigReader &r, const JsonValue &s, const std::string &where,
                StageConfig &st, bool first) {
  std::string mixer, act;
  if (!s.isObject())
    return r.fail(where + " must be an object");
  if (!r.integer(s, "depth", where, st.depth) ||
      !r.integer(s, "dim", where, st.dim) ||
      !r.pair(s, "size", where, st.height, st.width) ||
      !r.string(s, "mixer", where, mixer) ||
      !r.norm(s, "norm", where, st.norm) ||
      !r.string(s, "mlp_act", where, act) ||
      !r.boolean(s, "mlp_bias", where, st.mlpBias) ||
      !r.integer(s, "mlp_hidden", where, st.mlpHidden) ||
      !r.boolean(s, "layer_scale", where, st.layerScale) ||
      !r.boolean(s, "res_scale", where, st.resScale) ||
      !r.integer(s, "heads", where, st.heads, 0))
    return false;
  if (mixer == "pool")
    st.mixer = MixerKind::Pool;
  else if (mixer == "identity")
    st.mixer = MixerKind::Identity;
  else if (mixer == "random")
    st.mixer = MixerKind::Random;
  else if (mixer == "sepconv")
    st.mixer = MixerKind::SepConv;
  else if (mixer == "attention")
    st.mixer = MixerKind::Attention;
  else
    return r.fail(where + ".mixer \"" + mixer + "\" is unknown");
  if (act == "gelu")
    st.mlpAct = Activation::Gelu;
  else if (act == "star_relu")
    st.mlpAct = Activation::StarRelu;
  else if (act == "squared_relu")
    st.mlpAct = Activation::SquaredRelu;
  else
    return r.fail(where + ".mlp_act \"" + act + "\" is unknown");
  if (!st.norm.present)
    return r.fail(where + ".norm must not be null");
  if (st.mixer == MixerKind::Attention && st.heads < 1)
    return r.fail(where + ".heads must be positive in an attention stage");
  const JsonValue *down = r.member(s, "downsample", where);
  if (!down)
    return false;
  st.hasDownsample = !down->isNull();
  if (first && st.hasDownsample)
    return r.fail(where + ": the first stage has no downsampling");
  if (!first && !st.hasDownsample)
    return r.fail(where + " lacks its downsampling");
  if (st.hasDownsample && !r.conv(s, "downsample", where, st.downsample))
    return false;
  return true;
}

} // namespace

bool tmix::ref::parseModelConfig(std::string_view json, ModelConfig &out,
                                 std::string &error) {
  out = ModelConfig();
  JsonValue root;
  if (!parseJson(json, root, error))
    return false;
  ConfigReader r;
  ModelConfig cfg;
  const std::string top = "config";
  if (!root.isObject()) {
    error = "config is not a JSON object";
    return false;
  }
  const JsonValue *stages = nullptr, *head = nullptr, *sep = nullptr;
  std::string headKind;
  bool ok = r.string(root, "model", top, cfg.model) &&
            r.pair(root, "image", top, cfg.imageHeight, cfg.imageWidth) &&
            r.integer(root, "in_chans", top, cfg.inChans) &&
            r.integer(root, "num_classes", top, cfg.numClasses) &&
            r.conv(root, "stem", top, cfg.stem) &&
            r.integer(root, "pool_size", top, cfg.poolSize) &&
            r.integer(root, "attention_head_dim", top, cfg.headDim) &&
            (stages = r.member(root, "stages", top)) &&
            (head = r.member(root, "head", top)) &&
            (sep = r.member(root, "sepconv", top));
  if (ok && (!sep->isObject() || !head->isObject() || !stages->isArray()))
    ok = r.fail("config: sepconv and head must be objects, stages an array");
  ok = ok && r.integer(*sep, "expansion", top + ".sepconv", cfg.sepExpansion) &&
       r.integer(*sep, "kernel", top + ".sepconv", cfg.sepKernel) &&
       r.integer(*sep, "padding", top + ".sepconv", cfg.sepPadding, 0) &&
       r.norm(*head, "norm", top + ".head", cfg.headNorm) &&
       r.string(*head, "kind", top + ".head", headKind) &&
       r.integer(*head, "mlp_hidden", top + ".head", cfg.headHidden) &&
       r.norm(*head, "mlp_norm", top + ".head", cfg.headMlpNorm);
  if (ok && headKind != "linear" && headKind != "mlp")
    ok = r.fail("config.head.kind \"" + headKind + "\" is unknown");
  cfg.mlpHead = headKind == "mlp";
  if (ok && (!cfg.headNorm.present || cfg.headNorm.overAll))
    ok = r.fail("config.head.norm must be a channel norm");
  if (ok && cfg.mlpHead && (!cfg.headMlpNorm.present || !cfg.headMlpNorm.bias))
    ok = r.fail("config.head.mlp_norm must be a norm with bias");
  if (ok && (cfg.poolSize % 2 == 0 || cfg.sepKernel % 2 == 0 ||
             2 * cfg.sepPadding + 1 != cfg.sepKernel))
    ok = r.fail("config: pool_size and sepconv kernel must be odd, and the "
                "sepconv padding must keep the map size");
  if (ok && stages->array.empty())
    ok = r.fail("config.stages is empty");
  if (ok && cfg.stem.norm.present && cfg.stem.norm.overAll)
    ok = r.fail("config.stem.norm must be a channel norm");
  int64_t h = 0, w = 0, prevDim = 0;
  if (ok) {
    h = convOut(cfg.imageHeight, cfg.stem);
    w = convOut(cfg.imageWidth, cfg.stem);
  }
  for (size_t i = 0; ok && i < stages->array.size(); ++i) {
    StageConfig st;
    const std::string where = "config.stages[" + std::to_string(i) + "]";
    ok = parseStage(r, stages->array[i], where, st, i == 0);
    if (!ok)
      break;
    if (st.hasDownsample) {
      if (st.downsample.norm.present && st.downsample.norm.overAll) {
        ok = r.fail(where + ".downsample.norm must be a channel norm");
        break;
      }
      h = convOut(h, st.downsample);
      w = convOut(w, st.downsample);
    } else if (i == 0) {
      prevDim = st.dim;
    }
    if (h < 1 || w < 1 || st.height != h || st.width != w) {
      ok = r.fail(where + ".size [" + std::to_string(st.height) + ", " +
                  std::to_string(st.width) + "] does not follow from the " +
                  "image and the convolutions ([" + std::to_string(h) + ", " +
                  std::to_string(w) + "])");
      break;
    }
    if (st.mixer == MixerKind::Attention && st.heads * cfg.headDim != st.dim &&
        st.heads != 1) {
      ok = r.fail(where + ".heads does not match dim / attention_head_dim");
      break;
    }
    prevDim = st.dim;
    cfg.stages.push_back(st);
  }
  (void)prevDim;
  if (!ok) {
    error = r.error.empty() ? "config: invalid" : r.error;
    return false;
  }
  out = std::move(cfg);
  return true;
}

bool tmix::ref::readModelConfig(const std::string &path, ModelConfig &out,
                                std::string &error) {
  std::FILE *f = std::fopen(path.c_str(), "rb");
  if (!f) {
    error = path + ": cannot open: " + std::strerror(errno);
    return false;
  }
  std::string text;
  char chunk[4096];
  size_t n;
  while ((n = std::fread(chunk, 1, sizeof(chunk), f)) > 0)
    text.append(chunk, n);
  std::fclose(f);
  if (!parseModelConfig(text, out, error)) {
    error = path + ": " + error;
    return false;
  }
  return true;
}

//===----------------------------------------------------------------------===//
// Whole model
//===----------------------------------------------------------------------===//

namespace {

/// Looks parameters up by name and shape; every problem is recorded, and a
/// zero tensor of the expected shape stands in so the pass can go on and
/// report all of them at once.
class Params {
public:
  explicit Params(const std::map<std::string, Tensor> &weights)
      : weights(weights) {}

  const Tensor &get(const std::string &name, std::vector<int64_t> shape) {
    used.insert(name);
    auto it = weights.find(name);
    if (it == weights.end()) {
      errors.push_back("missing tensor '" + name + "' " +
                       Tensor::shapeToString(shape));
    } else if (it->second.shape != shape) {
      errors.push_back("tensor '" + name + "' is " + it->second.shapeString() +
                       ", expected " + Tensor::shapeToString(shape));
    } else {
      return it->second;
    }
    placeholders.emplace_back(std::move(shape));
    return placeholders.back();
  }

  /// Scalar parameters of shape [1] (StarReLU).
  double scalar(const std::string &name) { return get(name, {1})[0]; }

  /// Names in the file that the model did not use.
  void reportUnused() {
    for (const auto &w : weights)
      if (!used.count(w.first))
        errors.push_back("unexpected tensor '" + w.first + "' " +
                         w.second.shapeString());
  }

  std::vector<std::string> errors;

private:
  const std::map<std::string, Tensor> &weights;
  std::set<std::string> used;
  std::deque<Tensor> placeholders;
};

std::vector<int64_t> normAxes(const NormConfig &n, int64_t rank) {
  if (!n.overAll)
    return {rank - 1};
  std::vector<int64_t> axes;
  for (int64_t d = 1; d < rank; ++d)
    axes.push_back(d);
  return axes;
}

Tensor applyNorm(Params &p, const std::string &prefix, const NormConfig &n,
                 const Tensor &x) {
  const int64_t c = x.dim(-1);
  const Tensor &w = p.get(prefix + ".weight", {c});
  const Tensor *b = n.bias ? &p.get(prefix + ".bias", {c}) : nullptr;
  return layerNorm(x, normAxes(n, x.rank()), w, b, n.eps);
}

void roundToFloat(Tensor &t) {
  for (double &v : t.data)
    v = static_cast<double>(static_cast<float>(v));
}

} // namespace

bool tmix::ref::referenceForward(const ModelConfig &cfg,
                                 const std::map<std::string, Tensor> &weights,
                                 const Tensor &image, Tensor &logits,
                                 std::string &error,
                                 const ForwardOptions &options) {
  if (image.rank() != 4 || image.shape[1] != cfg.inChans ||
      image.shape[2] != cfg.imageHeight || image.shape[3] != cfg.imageWidth ||
      image.shape[0] < 1) {
    error = "image " + image.shapeString() + " should be [B, " +
            std::to_string(cfg.inChans) + ", " +
            std::to_string(cfg.imageHeight) + ", " +
            std::to_string(cfg.imageWidth) + "]";
    return false;
  }
  Params p(weights);
  auto round = [&](Tensor t) {
    if (options.roundToFloat)
      roundToFloat(t);
    return t;
  };
  const int64_t in = cfg.inChans, d0 = cfg.stages.front().dim;
  const int64_t sk = cfg.stem.kernel;

  Tensor x = nchwToNhwc(image);
  x = round(conv2d(x, p.get("stem.conv.weight", {d0, in, sk, sk}),
                   &p.get("stem.conv.bias", {d0}),
                   {cfg.stem.stride, cfg.stem.stride},
                   {cfg.stem.padding, cfg.stem.padding}));
  if (cfg.stem.norm.present)
    x = round(applyNorm(p, "stem.norm", cfg.stem.norm, x));

  for (size_t i = 0; i < cfg.stages.size(); ++i) {
    const StageConfig &st = cfg.stages[i];
    const std::string stage = "stages." + std::to_string(i);
    const int64_t dim = st.dim;
    if (st.hasDownsample) {
      const ConvConfig &dc = st.downsample;
      if (dc.norm.present)
        x = round(applyNorm(p, stage + ".downsample.norm", dc.norm, x));
      const int64_t prev = x.dim(-1);
      x = round(conv2d(x,
                       p.get(stage + ".downsample.conv.weight",
                             {dim, prev, dc.kernel, dc.kernel}),
                       &p.get(stage + ".downsample.conv.bias", {dim}),
                       {dc.stride, dc.stride}, {dc.padding, dc.padding}));
    }
    // timm: 1x1 Conv2d MLPs on NCHW stages, nn.Linear in attention stages.
    const bool convLayout = st.mixer != MixerKind::Attention;
    auto fcShape = [&](int64_t out, int64_t inner) {
      return convLayout ? std::vector<int64_t>{out, inner, 1, 1}
                        : std::vector<int64_t>{out, inner};
    };
    for (int64_t j = 0; j < st.depth; ++j) {
      const std::string b = stage + ".blocks." + std::to_string(j) + ".";
      Branch tokenMixer = [&](const Tensor &a) {
        Tensor n = round(applyNorm(p, b + "norm1", st.norm, a));
        const std::string tm = b + "token_mixer.";
        switch (st.mixer) {
        case MixerKind::Pool:
          return round(pool(n, cfg.poolSize));
        case MixerKind::Identity:
          return n;
        case MixerKind::Random: {
          const int64_t tokens = st.height * st.width;
          return round(
              randomMix(n, p.get(tm + "random_matrix", {tokens, tokens})));
        }
        case MixerKind::SepConv: {
          const int64_t mid = cfg.sepExpansion * dim, k = cfg.sepKernel;
          const Tensor &pw1 = p.get(tm + "pwconv1.weight", {mid, dim, 1, 1});
          const double s = p.scalar(tm + "act1.scale");
          const double sb = p.scalar(tm + "act1.bias");
          const Tensor &dw = p.get(tm + "dwconv.weight", {mid, 1, k, k});
          const Tensor &pw2 = p.get(tm + "pwconv2.weight", {dim, mid, 1, 1});
          return round(sepconv(n, pw1, s, sb, dw, pw2, k, cfg.sepPadding));
        }
        case MixerKind::Attention: {
          const int64_t a = st.heads * cfg.headDim;
          return round(selfAttention(n, p.get(tm + "qkv.weight", {3 * a, dim}),
                                     p.get(tm + "proj.weight", {dim, a}),
                                     cfg.headDim));
        }
        }
        fatal("unknown mixer");
      };
      const Tensor *l1 = nullptr, *r1 = nullptr, *l2 = nullptr, *r2 = nullptr;
      if (st.layerScale)
        l1 = &p.get(b + "layer_scale1.scale", {dim});
      if (st.resScale)
        r1 = &p.get(b + "res_scale1.scale", {dim});
      if (st.layerScale)
        l2 = &p.get(b + "layer_scale2.scale", {dim});
      if (st.resScale)
        r2 = &p.get(b + "res_scale2.scale", {dim});
      Branch mlpBranch = [&](const Tensor &a) {
        Tensor n = round(applyNorm(p, b + "norm2", st.norm, a));
        const int64_t hidden = st.mlpHidden;
        const Tensor &w1 = p.get(b + "mlp.fc1.weight", fcShape(hidden, dim));
        const Tensor *b1 =
            st.mlpBias ? &p.get(b + "mlp.fc1.bias", {hidden}) : nullptr;
        ActivationSpec act;
        act.kind = st.mlpAct;
        if (st.mlpAct == Activation::StarRelu) {
          act.scale = p.scalar(b + "mlp.act.scale");
          act.bias = p.scalar(b + "mlp.act.bias");
        }
        const Tensor &w2 = p.get(b + "mlp.fc2.weight", fcShape(dim, hidden));
        const Tensor *b2 =
            st.mlpBias ? &p.get(b + "mlp.fc2.bias", {dim}) : nullptr;
        Tensor h = round(linear(n, w1, b1));
        h = round(activate(h, act));
        return round(linear(h, w2, b2));
      };
      x = round(block(x, tokenMixer, mlpBranch, l1, l2, r1, r2));
    }
  }

  const Tensor pooled = round(globalAvgPool(x));
  const int64_t dl = pooled.dim(-1);
  Tensor h = round(applyNorm(p, "head.norm", cfg.headNorm, pooled));
  if (!cfg.mlpHead) {
    logits = round(linear(h, p.get("head.fc.weight", {cfg.numClasses, dl}),
                          &p.get("head.fc.bias", {cfg.numClasses})));
  } else {
    const int64_t hid = cfg.headHidden;
    logits = round(mlpHead(
        h, p.get("head.fc.fc1.weight", {hid, dl}),
        p.get("head.fc.fc1.bias", {hid}), p.get("head.fc.norm.weight", {hid}),
        p.get("head.fc.norm.bias", {hid}),
        p.get("head.fc.fc2.weight", {cfg.numClasses, hid}),
        p.get("head.fc.fc2.bias", {cfg.numClasses}), cfg.headMlpNorm.eps));
  }
  p.reportUnused();
  if (!p.errors.empty()) {
    error = std::to_string(p.errors.size()) +
            " problem(s) with the weights of " + cfg.model + ":";
    const size_t shown = std::min<size_t>(p.errors.size(), 30);
    for (size_t i = 0; i < shown; ++i)
      error += "\n  " + p.errors[i];
    if (shown < p.errors.size())
      error +=
          "\n  ... and " + std::to_string(p.errors.size() - shown) + " more";
    logits = Tensor();
    return false;
  }
  return true;
}
