//===- MetaFormer.h - reference MetaFormer ops and models --------*- C++
//-*-===//
//
// Plain double-precision loop nests written from shared/design/mixers.md
// (§1.1-1.4, §2.1, §4.1-4.4) and the textual op spec of the mixer dialect's
// MetaFormer ops, used only as the oracle of tests. One function per op, on
// channels-last activations ([B, H, W, C] maps, [B, N, C] token sequences)
// and PyTorch/timm weight layouts (Linear [out, in], Conv2d [out, in/groups,
// kh, kw]; a 1x1 conv weight [out, in, 1, 1] is accepted wherever a Linear
// weight is). Independent of MLIR and of the compiler.
//
// The ops check their operands' shapes and abort with a message on a
// mismatch: that is a bug in a test, never a consequence of a bad file,
// because referenceForward checks every weight's name and shape first.
//
// The whole-model forward follows the configuration that
// scripts/metaformer.py writes (`metaformer.py config MODEL --image=...`), so
// depths, widths, mixers, norms and heads have one source; parameter names
// follow timm's MetaFormer module tree.
//
//===----------------------------------------------------------------------===//

#ifndef TMIX_TEST_REFERENCE_METAFORMER_H
#define TMIX_TEST_REFERENCE_METAFORMER_H

#include "Reference/Tensor.h"

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace tmix::ref {

//===----------------------------------------------------------------------===//
// Ops
//===----------------------------------------------------------------------===//

/// mean/biased variance over `axes` (sorted, unique, in range), then
/// (x - mean) / sqrt(var + eps) * weight (+ bias); weight and bias have the
/// size of the last dimension and broadcast along it.
Tensor layerNorm(const Tensor &x, const std::vector<int64_t> &axes,
                 const Tensor &weight, const Tensor *bias, double eps);

/// Exact (erf) GELU.
Tensor gelu(const Tensor &x);
/// relu(x)^2.
Tensor squaredRelu(const Tensor &x);
/// scale * relu(x)^2 + bias.
Tensor starRelu(const Tensor &x, double scale, double bias);

/// x [..., Cin] times weight^T ([Cout, Cin] or [Cout, Cin, 1, 1]) plus bias.
Tensor linear(const Tensor &x, const Tensor &weight, const Tensor *bias);

enum class Activation { Gelu, SquaredRelu, StarRelu };
struct ActivationSpec {
  Activation kind = Activation::Gelu;
  double scale = 1.0, bias = 0.0; // StarRelu only
};
Tensor activate(const Tensor &x, const ActivationSpec &act);

/// fc1 -> activation -> fc2; the biases are optional.
Tensor mlp(const Tensor &x, const Tensor &w1, const Tensor *b1,
           const ActivationSpec &act, const Tensor &w2, const Tensor *b2);

/// PoolFormer mixer on [B, H, W, C]: k x k average pooling, stride 1, padding
/// k/2, padding excluded from the count, minus x.
Tensor pool(const Tensor &x, int64_t kernel);

/// y[b, n, c] = sum_m M[n, m] x[b, m, c] over the flattened tokens
/// n = h * W + w; x is [B, H, W, C] or [B, N, C].
Tensor randomMix(const Tensor &x, const Tensor &matrix);

/// NHWC input, OIHW weight [Cout, Cin/groups, kh, kw], optional bias,
/// symmetric zero padding.
Tensor conv2d(const Tensor &x, const Tensor &weight, const Tensor *bias,
              std::array<int64_t, 2> stride, std::array<int64_t, 2> padding,
              int64_t groups = 1);

/// pw1 (no bias) -> StarReLU(scale, bias) -> depthwise kernel x kernel conv
/// (padding, stride 1, no bias) -> pw2 (no bias).
Tensor sepconv(const Tensor &x, const Tensor &pw1, double scale, double bias,
               const Tensor &dw, const Tensor &pw2, int64_t kernel,
               int64_t padding);

/// timm's MetaFormer Attention on [B, H, W, C] or [B, N, C]: qkv = x Wqkv^T
/// (Wqkv [3A, C], no bias) split as (3, heads, headDim) with heads =
/// A / headDim; softmax(q k^T / sqrt(headDim)) v per head; heads concatenated;
/// proj [C, A] (no bias).
Tensor selfAttention(const Tensor &x, const Tensor &qkv, const Tensor &proj,
                     int64_t headDim);

/// [B, H, W, C] -> [B, C], the mean over H and W.
Tensor globalAvgPool(const Tensor &x);

/// fc1 (bias) -> SquaredReLU -> LayerNorm over the hidden dim (weight, bias,
/// eps) -> fc2 (bias).
Tensor mlpHead(const Tensor &x, const Tensor &w1, const Tensor &b1,
               const Tensor &normWeight, const Tensor &normBias,
               const Tensor &w2, const Tensor &b2, double eps);

/// The MetaFormer skeleton: y = r1*x + l1*tokenMixer(x); z = r2*y +
/// l2*mlp(y). Each branch gets the un-normalised stream (its norm is part of
/// the branch). Scales are per channel (last dim); null means 1.
using Branch = std::function<Tensor(const Tensor &)>;
Tensor block(const Tensor &x, const Branch &tokenMixer, const Branch &mlpBranch,
             const Tensor *layerScale1, const Tensor *layerScale2,
             const Tensor *resScale1, const Tensor *resScale2);

/// [B, C, H, W] -> [B, H, W, C].
Tensor nchwToNhwc(const Tensor &x);

//===----------------------------------------------------------------------===//
// Models
//===----------------------------------------------------------------------===//

struct NormConfig {
  bool present = false;
  bool overAll = false; // reduce over (H, W, C) per sample; else C only
  double eps = 0;
  bool bias = false;
};

struct ConvConfig {
  int64_t kernel = 0, stride = 1, padding = 0;
  NormConfig norm; // stem: after the conv; downsampling: before it
};

enum class MixerKind { Pool, Identity, Random, SepConv, Attention };

struct StageConfig {
  int64_t depth = 0, dim = 0, height = 0, width = 0;
  MixerKind mixer = MixerKind::Identity;
  NormConfig norm;
  Activation mlpAct = Activation::StarRelu;
  bool mlpBias = false;
  int64_t mlpHidden = 0;
  bool layerScale = false, resScale = false;
  bool hasDownsample = false;
  ConvConfig downsample;
  int64_t heads = 0; // attention stages
};

struct ModelConfig {
  std::string model;
  int64_t imageHeight = 0, imageWidth = 0, inChans = 0, numClasses = 0;
  ConvConfig stem;
  std::vector<StageConfig> stages;
  int64_t poolSize = 3;
  int64_t sepExpansion = 2, sepKernel = 7, sepPadding = 3;
  int64_t headDim = 32;
  NormConfig headNorm;
  bool mlpHead = false;
  int64_t headHidden = 0;
  NormConfig headMlpNorm;
};

/// Parses the JSON of `scripts/metaformer.py config` and checks it (known
/// mixers and activations, positive sizes, stage sizes that follow from the
/// image and the convolutions).
bool parseModelConfig(std::string_view json, ModelConfig &out,
                      std::string &error);
bool readModelConfig(const std::string &path, ModelConfig &out,
                     std::string &error);

struct ForwardOptions {
  /// Rounds every op's result to float: a cheap model of an f32
  /// implementation's storage rounding, used to size tolerances.
  bool roundToFloat = false;
};

/// The whole model in double precision: `image` is [B, inChans, H, W] (NCHW,
/// as timm takes it) with H x W the configured image size; `weights` maps
/// timm's parameter names to tensors. Every parameter the model needs must be
/// present with timm's shape, and no other may be; otherwise returns false
/// and `error` lists every problem. On success `logits` is [B, numClasses].
bool referenceForward(const ModelConfig &config,
                      const std::map<std::string, Tensor> &weights,
                      const Tensor &image, Tensor &logits, std::string &error,
                      const ForwardOptions &options = {});

} // namespace tmix::ref

#endif // TMIX_TEST_REFERENCE_METAFORMER_H
