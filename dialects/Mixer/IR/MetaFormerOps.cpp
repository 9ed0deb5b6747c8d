//===- MetaFormerOps.cpp - verifiers and shapes of the MetaFormer ops -----===//
//
// Verifiers, folders and result-shape reification of the ops in
// MetaFormerOps.td. Their decompositions live in MetaFormerDecomposition.cpp.
//
//===----------------------------------------------------------------------===//

#include "Mixer/IR/MixerOps.h"
#include "Mixer/IR/ShapeUtils.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"

#include <cmath>

using namespace mlir;
using namespace tmix::mixer;

namespace {
RankedTensorType tensorType(Value v) {
  return cast<RankedTensorType>(v.getType());
}

/// `name` must be `tensor<1xf32>` (a learnable scalar of the checkpoint).
LogicalResult verifyScalarParam(Operation *op, Value v, StringRef name) {
  RankedTensorType t = tensorType(v);
  if (t.getRank() != 1 || t.getDimSize(0) != 1)
    return op->emitOpError() << "'" << name
                             << "' must be a [1] tensor (a learnable scalar), "
                                "got "
                             << formatShape(t.getShape());
  return success();
}

/// `name` must be a static `[channels]` vector.
LogicalResult verifyChannelVector(Operation *op, Value v, StringRef name,
                                  int64_t channels, StringRef what) {
  RankedTensorType t = tensorType(v);
  if (t.getRank() != 1 || t.isDynamicDim(0) ||
      !compatible(t.getDimSize(0), channels))
    return op->emitOpError()
           << "'" << name << "' must be [" << what << "] = ["
           << (ShapedType::isDynamic(channels) ? std::string("?")
                                               : std::to_string(channels))
           << "], got " << formatShape(t.getShape());
  return success();
}

/// The (out, in) sizes of a Linear weight `[out, in]` or of a 1×1 conv
/// weight `[out, in, 1, 1]`, both static.
FailureOr<std::pair<int64_t, int64_t>>
verifyLinearWeight(Operation *op, Value weight, StringRef name) {
  RankedTensorType t = tensorType(weight);
  ArrayRef<int64_t> s = t.getShape();
  bool ok = (t.getRank() == 2 ||
             (t.getRank() == 4 && s[2] == 1 && s[3] == 1)) &&
            t.hasStaticShape() && s[0] >= 1 && s[1] >= 1;
  if (!ok) {
    op->emitOpError() << "'" << name
                      << "' must be a static Linear weight [out, in] or a 1x1 "
                         "conv weight [out, in, 1, 1], got "
                      << formatShape(s);
    return failure();
  }
  return std::make_pair(s[0], s[1]);
}

/// The result must have `expected` (dynamic entries: any size).
LogicalResult verifyResultShape(Operation *op, ArrayRef<int64_t> expected) {
  RankedTensorType t = tensorType(op->getResult(0));
  bool ok = t.getRank() == static_cast<int64_t>(expected.size());
  for (int64_t i = 0; ok && i < t.getRank(); ++i)
    ok = compatible(t.getDimSize(i), expected[i]);
  if (!ok)
    return op->emitOpError() << "result must be " << formatShape(expected)
                             << ", got " << formatShape(t.getShape());
  return success();
}

/// The input must have rank `rank` (spelled `layout` in messages).
LogicalResult verifyRank(Operation *op, Value v, StringRef name, int64_t rank,
                         StringRef layout) {
  RankedTensorType t = tensorType(v);
  if (t.getRank() != rank)
    return op->emitOpError() << "'" << name << "' must have rank " << rank
                             << " " << layout << ", got "
                             << formatShape(t.getShape());
  return success();
}

/// The input's last (channel) dimension must be static.
LogicalResult verifyStaticChannels(Operation *op, Value v, StringRef name) {
  RankedTensorType t = tensorType(v);
  if (t.getRank() < 1 || t.isDynamicDim(t.getRank() - 1))
    return op->emitOpError() << "'" << name
                             << "' must have a static channel (last) "
                                "dimension, got "
                             << formatShape(t.getShape());
  return success();
}

/// The dims [first, last] of `v` must be static (`what` names them).
LogicalResult verifyStaticDims(Operation *op, Value v, StringRef name,
                               int64_t first, int64_t last, StringRef what) {
  RankedTensorType t = tensorType(v);
  for (int64_t d = first; d <= last; ++d)
    if (t.isDynamicDim(d))
      return op->emitOpError() << "'" << name << "' " << what
                               << " must be static, got "
                               << formatShape(t.getShape());
  return success();
}

/// The shape of a Linear applied to `input`: the last dim becomes `out`.
SmallVector<int64_t> linearShape(Value input, int64_t out) {
  SmallVector<int64_t> shape(tensorType(input).getShape());
  shape.back() = out;
  return shape;
}

/// Result dim i is static, or the input's dim `source[i]`.
LogicalResult reifyFromInput(Operation *op, OpBuilder &b,
                             ReifiedRankedShapedTypeDims &shapes,
                             ArrayRef<int64_t> source) {
  RankedTensorType result = tensorType(op->getResult(0));
  Value input = op->getOperand(0);
  SmallVector<OpFoldResult> dims;
  for (int64_t i = 0; i < result.getRank(); ++i) {
    if (!result.isDynamicDim(i)) {
      dims.push_back(b.getIndexAttr(result.getDimSize(i)));
      continue;
    }
    if (i >= static_cast<int64_t>(source.size()) || source[i] < 0)
      return failure();
    dims.push_back(
        tensor::DimOp::create(b, op->getLoc(), input, source[i]).getResult());
  }
  shapes.push_back(std::move(dims));
  return success();
}

/// Result dim i comes from input dim i (shape-preserving ops and ops whose
/// other dims are static).
LogicalResult reifyPositional(Operation *op, OpBuilder &b,
                              ReifiedRankedShapedTypeDims &shapes) {
  SmallVector<int64_t> source;
  for (int64_t i = 0; i < tensorType(op->getResult(0)).getRank(); ++i)
    source.push_back(i < tensorType(op->getOperand(0)).getRank() ? i : -1);
  return reifyFromInput(op, b, shapes, source);
}
} // namespace

#define TMIX_POSITIONAL_REIFY(Op)                                              \
  LogicalResult Op::reifyResultShapes(OpBuilder &b,                            \
                                      ReifiedRankedShapedTypeDims &shapes) {   \
    return reifyPositional(getOperation(), b, shapes);                         \
  }
TMIX_POSITIONAL_REIFY(LayerNormOp)
TMIX_POSITIONAL_REIFY(GeluOp)
TMIX_POSITIONAL_REIFY(SquaredReluOp)
TMIX_POSITIONAL_REIFY(StarReluOp)
TMIX_POSITIONAL_REIFY(LinearOp)
TMIX_POSITIONAL_REIFY(MlpOp)
TMIX_POSITIONAL_REIFY(PoolOp)
TMIX_POSITIONAL_REIFY(IdentityOp)
TMIX_POSITIONAL_REIFY(RandomMixOp)
TMIX_POSITIONAL_REIFY(SepConvOp)
TMIX_POSITIONAL_REIFY(SelfAttentionOp)
TMIX_POSITIONAL_REIFY(Conv2dOp)
TMIX_POSITIONAL_REIFY(GlobalAvgPoolOp)
TMIX_POSITIONAL_REIFY(MlpHeadOp)
TMIX_POSITIONAL_REIFY(BlockOp)
#undef TMIX_POSITIONAL_REIFY

//===----------------------------------------------------------------------===//
// Norms and activations
//===----------------------------------------------------------------------===//

LogicalResult LayerNormOp::verify() {
  RankedTensorType in = tensorType(getInput());
  int64_t rank = in.getRank();
  if (rank < 1)
    return emitOpError() << "'input' must have rank >= 1";
  ArrayRef<int64_t> axes = getAxes();
  if (axes.empty())
    return emitOpError() << "'axes' must name at least one axis";
  for (auto [i, a] : llvm::enumerate(axes)) {
    if (a < 0 || a >= rank)
      return emitOpError() << "axis " << a << " is out of range for 'input' "
                           << formatShape(in.getShape()) << " of rank "
                           << rank;
    if (i > 0 && a <= axes[i - 1])
      return emitOpError() << "'axes' must be strictly increasing, got ["
                           << llvm::make_range(axes.begin(), axes.end())
                           << "]";
  }
  double eps = getEpsilon().convertToDouble();
  if (!std::isfinite(eps) || eps < 0)
    return emitOpError() << "'epsilon' must be finite and >= 0, got " << eps;
  if (failed(verifyStaticChannels(*this, getInput(), "input")))
    return failure();
  int64_t channels = in.getShape().back();
  if (failed(verifyChannelVector(*this, getWeight(), "weight", channels, "C")))
    return failure();
  if (getBias() &&
      failed(verifyChannelVector(*this, getBias(), "bias", channels, "C")))
    return failure();
  return success();
}

LogicalResult GeluOp::verify() { return success(); }
LogicalResult SquaredReluOp::verify() { return success(); }

LogicalResult StarReluOp::verify() {
  if (failed(verifyScalarParam(*this, getScale(), "scale")) ||
      failed(verifyScalarParam(*this, getBias(), "bias")))
    return failure();
  return success();
}

//===----------------------------------------------------------------------===//
// Linear layers
//===----------------------------------------------------------------------===//

LogicalResult LinearOp::verify() {
  RankedTensorType in = tensorType(getInput());
  if (in.getRank() < 1)
    return emitOpError() << "'input' must have rank >= 1";
  FailureOr<std::pair<int64_t, int64_t>> w =
      verifyLinearWeight(*this, getWeight(), "weight");
  if (failed(w))
    return failure();
  auto [out, inFeatures] = *w;
  if (!compatible(in.getShape().back(), inFeatures))
    return emitOpError() << "'input' has " << in.getShape().back()
                         << " features (last dim of "
                         << formatShape(in.getShape())
                         << ") but 'weight' expects " << inFeatures;
  if (getBias() &&
      failed(verifyChannelVector(*this, getBias(), "bias", out, "out")))
    return failure();
  return verifyResultShape(*this, linearShape(getInput(), out));
}

LogicalResult MlpOp::verify() {
  RankedTensorType in = tensorType(getInput());
  if (in.getRank() < 1)
    return emitOpError() << "'input' must have rank >= 1";
  FailureOr<std::pair<int64_t, int64_t>> w1 =
      verifyLinearWeight(*this, getFc1Weight(), "fc1_weight");
  if (failed(w1))
    return failure();
  FailureOr<std::pair<int64_t, int64_t>> w2 =
      verifyLinearWeight(*this, getFc2Weight(), "fc2_weight");
  if (failed(w2))
    return failure();
  if (!compatible(in.getShape().back(), w1->second))
    return emitOpError() << "'input' has " << in.getShape().back()
                         << " features (last dim of "
                         << formatShape(in.getShape())
                         << ") but 'fc1_weight' expects " << w1->second;
  if (w1->first != w2->second)
    return emitOpError() << "'fc1_weight' produces " << w1->first
                         << " hidden features but 'fc2_weight' expects "
                         << w2->second;
  bool star = getActivation() == ActivationKind::star_relu;
  if (star != static_cast<bool>(getActScale()))
    return emitOpError() << (star ? "activation star_relu needs its (scale, "
                                    "bias) operands"
                                  : "only activation star_relu takes (scale, "
                                    "bias) operands");
  if (static_cast<bool>(getActScale()) != static_cast<bool>(getActBias()) ||
      static_cast<bool>(getFc1Bias()) != static_cast<bool>(getFc2Bias()))
    return emitOpError() << "optional operands come in pairs: (scale, bias) "
                            "and bias(fc1_bias, fc2_bias)";
  if (star && (failed(verifyScalarParam(*this, getActScale(), "act_scale")) ||
               failed(verifyScalarParam(*this, getActBias(), "act_bias"))))
    return failure();
  if (getFc1Bias() &&
      (failed(verifyChannelVector(*this, getFc1Bias(), "fc1_bias", w1->first,
                                  "hidden")) ||
       failed(verifyChannelVector(*this, getFc2Bias(), "fc2_bias", w2->first,
                                  "out"))))
    return failure();
  return verifyResultShape(*this, linearShape(getInput(), w2->first));
}

//===----------------------------------------------------------------------===//
// Token mixers
//===----------------------------------------------------------------------===//

LogicalResult PoolOp::verify() {
  if (failed(verifyRank(*this, getInput(), "input", 4, "[B, H, W, C]")))
    return failure();
  int64_t k = getKernelSize();
  if (k < 1 || k % 2 == 0)
    return emitOpError() << "'kernel_size' must be odd and >= 1, got " << k;
  return success();
}

OpFoldResult IdentityOp::fold(FoldAdaptor) { return getInput(); }
LogicalResult IdentityOp::verify() { return success(); }

LogicalResult RandomMixOp::verify() {
  RankedTensorType in = tensorType(getInput());
  if (in.getRank() != 3 && in.getRank() != 4)
    return emitOpError() << "'input' must be a [B, H, W, C] map or [B, N, C] "
                            "tokens, got "
                         << formatShape(in.getShape());
  if (failed(verifyStaticDims(*this, getInput(), "input", 1,
                              in.getRank() - 2, "token grid")))
    return failure();
  int64_t tokens = 1;
  for (int64_t d = 1; d < in.getRank() - 1; ++d)
    tokens *= in.getDimSize(d);
  RankedTensorType m = tensorType(getMatrix());
  if (m.getRank() != 2 || m.getDimSize(0) != tokens ||
      m.getDimSize(1) != tokens)
    return emitOpError() << "'matrix' must be [N, N] = [" << tokens << ", "
                         << tokens << "] for 'input' "
                         << formatShape(in.getShape()) << ", got "
                         << formatShape(m.getShape());
  return success();
}

LogicalResult SepConvOp::verify() {
  if (failed(verifyRank(*this, getInput(), "input", 4, "[B, H, W, C]")) ||
      failed(verifyStaticDims(*this, getInput(), "input", 1, 3,
                              "spatial and channel sizes")))
    return failure();
  RankedTensorType in = tensorType(getInput());
  FailureOr<std::pair<int64_t, int64_t>> pw1 =
      verifyLinearWeight(*this, getPw1Weight(), "pw1_weight");
  if (failed(pw1))
    return failure();
  FailureOr<std::pair<int64_t, int64_t>> pw2 =
      verifyLinearWeight(*this, getPw2Weight(), "pw2_weight");
  if (failed(pw2))
    return failure();
  int64_t c = in.getDimSize(3), mid = pw1->first, k = getKernelSize(),
          p = getPadding();
  if (pw1->second != c)
    return emitOpError() << "'pw1_weight' expects " << pw1->second
                         << " input channels but 'input' "
                         << formatShape(in.getShape()) << " has " << c;
  if (pw2->second != mid)
    return emitOpError() << "'pw2_weight' expects " << pw2->second
                         << " channels but 'pw1_weight' produces " << mid;
  if (k < 1 || p < 0 || 2 * p != k - 1)
    return emitOpError() << "'kernel_size' (" << k << ") and 'padding' (" << p
                         << ") must keep the spatial size: 2 * padding = "
                            "kernel_size - 1";
  RankedTensorType dw = tensorType(getDwWeight());
  SmallVector<int64_t> dwShape = {mid, 1, k, k};
  if (dw.getShape() != ArrayRef<int64_t>(dwShape))
    return emitOpError() << "'dw_weight' must be the depthwise weight "
                         << formatShape(dwShape) << ", got "
                         << formatShape(dw.getShape());
  if (failed(verifyScalarParam(*this, getActScale(), "act_scale")) ||
      failed(verifyScalarParam(*this, getActBias(), "act_bias")))
    return failure();
  return verifyResultShape(*this, linearShape(getInput(), pw2->first));
}

LogicalResult SelfAttentionOp::verify() {
  RankedTensorType in = tensorType(getInput());
  if (in.getRank() != 3 && in.getRank() != 4)
    return emitOpError() << "'input' must be a [B, H, W, C] map or [B, N, C] "
                            "tokens, got "
                         << formatShape(in.getShape());
  if (failed(verifyStaticDims(*this, getInput(), "input", 1,
                              in.getRank() - 1, "token and channel sizes")))
    return failure();
  int64_t c = in.getShape().back(), headDim = getHeadDim();
  if (headDim < 1)
    return emitOpError() << "'head_dim' must be >= 1, got " << headDim;
  RankedTensorType qkv = tensorType(getQkvWeight());
  if (qkv.getRank() != 2 || !qkv.hasStaticShape() ||
      qkv.getDimSize(0) % (3 * headDim) != 0 || qkv.getDimSize(0) == 0 ||
      qkv.getDimSize(1) != c)
    return emitOpError() << "'qkv_weight' must be [3 * A, C] with C = " << c
                         << " and A a positive multiple of head_dim = "
                         << headDim << ", got " << formatShape(qkv.getShape());
  int64_t attnDim = qkv.getDimSize(0) / 3;
  RankedTensorType proj = tensorType(getProjWeight());
  if (proj.getRank() != 2 || !proj.hasStaticShape() ||
      proj.getDimSize(1) != attnDim || proj.getDimSize(0) != c)
    return emitOpError() << "'proj_weight' must be [C, A] = [" << c << ", "
                         << attnDim << "], got "
                         << formatShape(proj.getShape());
  return verifyResultShape(*this, linearShape(getInput(), c));
}

//===----------------------------------------------------------------------===//
// Convolutions, pooling and heads
//===----------------------------------------------------------------------===//

LogicalResult Conv2dOp::verify() {
  if (failed(verifyRank(*this, getInput(), "input", 4, "[B, H, W, C]")) ||
      failed(verifyStaticDims(*this, getInput(), "input", 1, 3,
                              "spatial and channel sizes")))
    return failure();
  RankedTensorType in = tensorType(getInput());
  RankedTensorType w = tensorType(getWeight());
  if (w.getRank() != 4 || !w.hasStaticShape())
    return emitOpError() << "'weight' must be a static [F, C/groups, KH, KW] "
                            "tensor, got "
                         << formatShape(w.getShape());
  ArrayRef<int64_t> stride = getStride(), padding = getPadding();
  if (stride.size() != 2 || stride[0] < 1 || stride[1] < 1)
    return emitOpError() << "'stride' must be two positive sizes [sh, sw]";
  if (padding.size() != 2 || padding[0] < 0 || padding[1] < 0)
    return emitOpError() << "'padding' must be two sizes >= 0 [ph, pw]";
  int64_t groups = getGroups(), c = in.getDimSize(3), f = w.getDimSize(0);
  if (groups < 1 || c % groups != 0 || f % groups != 0)
    return emitOpError() << "'groups' (" << groups
                         << ") must divide the input channels (" << c
                         << ") and the output channels (" << f << ")";
  if (w.getDimSize(1) != c / groups || f < 1 || w.getDimSize(2) < 1 ||
      w.getDimSize(3) < 1)
    return emitOpError() << "'weight' must be [F, C/groups, KH, KW] with "
                            "C/groups = "
                         << c / groups << ", got "
                         << formatShape(w.getShape());
  SmallVector<int64_t> out = {in.getDimSize(0), 0, 0, f};
  for (int i = 0; i < 2; ++i) {
    int64_t extent = in.getDimSize(1 + i) + 2 * padding[i] - w.getDimSize(2 + i);
    if (extent < 0)
      return emitOpError() << "the " << (i == 0 ? "height" : "width")
                           << " with padding ("
                           << in.getDimSize(1 + i) + 2 * padding[i]
                           << ") is smaller than the kernel ("
                           << w.getDimSize(2 + i) << ")";
    out[1 + i] = extent / stride[i] + 1;
  }
  if (getBias() &&
      failed(verifyChannelVector(*this, getBias(), "bias", f, "F")))
    return failure();
  return verifyResultShape(*this, out);
}

LogicalResult GlobalAvgPoolOp::verify() {
  if (failed(verifyRank(*this, getInput(), "input", 4, "[B, H, W, C]")) ||
      failed(verifyStaticDims(*this, getInput(), "input", 1, 3,
                              "spatial and channel sizes")))
    return failure();
  RankedTensorType in = tensorType(getInput());
  return verifyResultShape(*this, {in.getDimSize(0), in.getDimSize(3)});
}

LogicalResult MlpHeadOp::verify() {
  if (failed(verifyRank(*this, getInput(), "input", 2, "[B, C]")) ||
      failed(verifyStaticChannels(*this, getInput(), "input")))
    return failure();
  RankedTensorType in = tensorType(getInput());
  FailureOr<std::pair<int64_t, int64_t>> w1 =
      verifyLinearWeight(*this, getFc1Weight(), "fc1_weight");
  if (failed(w1))
    return failure();
  FailureOr<std::pair<int64_t, int64_t>> w2 =
      verifyLinearWeight(*this, getFc2Weight(), "fc2_weight");
  if (failed(w2))
    return failure();
  if (w1->second != in.getDimSize(1))
    return emitOpError() << "'fc1_weight' expects " << w1->second
                         << " features but 'input' "
                         << formatShape(in.getShape()) << " has "
                         << in.getDimSize(1);
  if (w2->second != w1->first)
    return emitOpError() << "'fc1_weight' produces " << w1->first
                         << " hidden features but 'fc2_weight' expects "
                         << w2->second;
  if (failed(verifyChannelVector(*this, getFc1Bias(), "fc1_bias", w1->first,
                                 "hidden")) ||
      failed(verifyChannelVector(*this, getNormWeight(), "norm_weight",
                                 w1->first, "hidden")) ||
      failed(verifyChannelVector(*this, getNormBias(), "norm_bias", w1->first,
                                 "hidden")) ||
      failed(verifyChannelVector(*this, getFc2Bias(), "fc2_bias", w2->first,
                                 "classes")))
    return failure();
  double eps = getEpsilon().convertToDouble();
  if (!std::isfinite(eps) || eps < 0)
    return emitOpError() << "'epsilon' must be finite and >= 0, got " << eps;
  return verifyResultShape(*this, {in.getDimSize(0), w2->first});
}

//===----------------------------------------------------------------------===//
// BlockOp
//===----------------------------------------------------------------------===//

LogicalResult BlockOp::verify() {
  if (failed(verifyStaticChannels(*this, getInput(), "input")))
    return failure();
  int64_t c = tensorType(getInput()).getShape().back();
  if (static_cast<bool>(getLayerScale1()) !=
          static_cast<bool>(getLayerScale2()) ||
      static_cast<bool>(getResScale1()) != static_cast<bool>(getResScale2()))
    return emitOpError() << "scales come in pairs: layer_scale(token mixer, "
                            "mlp) and res_scale(token mixer, mlp)";
  const std::pair<Value, StringRef> scales[] = {
      {getLayerScale1(), "layer_scale1"},
      {getLayerScale2(), "layer_scale2"},
      {getResScale1(), "res_scale1"},
      {getResScale2(), "res_scale2"}};
  for (auto [value, name] : scales)
    if (value && failed(verifyChannelVector(*this, value, name, c, "C")))
      return failure();
  return success();
}

LogicalResult BlockOp::verifyRegions() {
  Type type = getInput().getType();
  for (auto [region, name] : {std::make_pair(&getTokenMixer(), "token_mixer"),
                              std::make_pair(&getMlp(), "mlp")}) {
    Block &block = region->front();
    if (block.getNumArguments() != 1 || block.getArgument(0).getType() != type)
      return emitOpError() << "region '" << name
                           << "' must take one argument of the input type "
                           << type;
    auto yield = dyn_cast<YieldOp>(block.getTerminator());
    if (!yield)
      return emitOpError() << "region '" << name
                           << "' must end with mixer.yield";
    if (yield.getValue().getType() != type)
      return yield.emitOpError()
             << "must yield the block's input type " << type << ", got "
             << yield.getValue().getType();
  }
  return success();
}
