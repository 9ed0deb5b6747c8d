//===- MixerOps.cpp - mixer dialect operations ----------------------------===//

#include "Mixer/IR/MixerOps.h"
#include "Mixer/IR/ShapeUtils.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpImplementation.h"
#include "llvm/ADT/STLExtras.h"

#include <cmath>

using namespace mlir;
using namespace tmix::mixer;

#define GET_OP_CLASSES
#include "Mixer/IR/MixerOps.cpp.inc"


//===----------------------------------------------------------------------===//
// AttentionOp
//===----------------------------------------------------------------------===//

void AttentionOp::build(OpBuilder &builder, OperationState &state, Value query,
                        Value key, Value value, Value bias, MaskAttr mask,
                        std::optional<float> scale, bool withLse) {
  auto qType = cast<RankedTensorType>(query.getType());
  auto vType = cast<RankedTensorType>(value.getType());
  SmallVector<int64_t> outShape(qType.getShape());
  if (outShape.size() == 4 && vType.getRank() == 4)
    outShape[3] = vType.getDimSize(3);
  state.addOperands({query, key, value});
  if (bias)
    state.addOperands(bias);
  state.addTypes(RankedTensorType::get(outShape, qType.getElementType()));
  if (withLse)
    state.addTypes(RankedTensorType::get(
        ArrayRef<int64_t>(outShape).take_front(3), builder.getF32Type()));
  if (scale)
    state.addAttribute(getScaleAttrName(state.name),
                       builder.getF32FloatAttr(*scale));
  if (mask)
    state.addAttribute(getMaskAttrName(state.name), mask);
}

/// Accessors shared by the attention ops.
static float effectiveScale(std::optional<APFloat> scale,
                            RankedTensorType query) {
  if (scale)
    return scale->convertToFloat();
  return 1.0f / std::sqrt(static_cast<float>(query.getDimSize(3)));
}
static MaskAttr maskOrNone(MaskAttr mask, MLIRContext *ctx) {
  return mask ? mask : MaskAttr::getNone(ctx);
}
static int64_t groupSize(RankedTensorType query, RankedTensorType key) {
  return query.getDimSize(1) / key.getDimSize(1);
}

float AttentionOp::getEffectiveScale() {
  return effectiveScale(getScale(), getQueryType());
}
MaskAttr AttentionOp::getMaskOrNone() {
  return maskOrNone(getMaskAttr(), getContext());
}
int64_t AttentionOp::getGroupSize() {
  return groupSize(getQueryType(), getKeyType());
}

/// Checks the rules `mixer.attention` and `mixer.online_attention` share on
/// query, key, value, bias, scale and mask. On success sets `rowShape` to
/// [B, Hq, L] (B static if either query or key knows it) and `dv` to Dv.
static LogicalResult
verifyAttentionOperands(Operation *op, RankedTensorType qType,
                        RankedTensorType kType, RankedTensorType vType,
                        Value bias, std::optional<APFloat> scale,
                        MaskAttr mask, SmallVectorImpl<int64_t> &rowShape,
                        int64_t &dv) {
  auto emitError = [&] { return op->emitOpError(); };
  const std::pair<StringRef, RankedTensorType> inputs[] = {
      {"query", qType}, {"key", kType}, {"value", vType}};
  const StringRef layouts[] = {"[B, Hq, L, D]", "[B, Hkv, S, D]",
                               "[B, Hkv, S, Dv]"};
  for (auto [i, entry] : llvm::enumerate(inputs))
    if (entry.second.getRank() != 4)
      return emitError() << "'" << entry.first << "' must have rank 4 "
                         << layouts[i] << ", got rank "
                         << entry.second.getRank() << " "
                         << formatShape(entry.second.getShape());

  Type elt = qType.getElementType();
  for (auto [name, type] : ArrayRef(inputs).drop_front())
    if (type.getElementType() != elt)
      return emitError() << "element types must match: 'query' has " << elt
                         << " but '" << name << "' has "
                         << type.getElementType();

  const std::tuple<StringRef, RankedTensorType, int64_t, StringRef> statics[] = {
      {"query", qType, 1, "head count Hq"}, {"query", qType, 3, "head dim D"},
      {"key", kType, 1, "head count Hkv"},  {"key", kType, 3, "head dim D"},
      {"value", vType, 1, "head count Hkv"}, {"value", vType, 3, "head dim Dv"}};
  for (auto [name, type, dim, what] : statics)
    if (type.isDynamicDim(dim))
      return emitError() << "'" << name << "' " << what << " (dim " << dim
                         << ") must be static, got "
                         << formatShape(type.getShape());

  ArrayRef<int64_t> q = qType.getShape(), k = kType.getShape(),
                    v = vType.getShape();
  int64_t hq = q[1], hkv = k[1];
  if (hkv < 1 || hq < 1)
    return emitError() << "head counts must be >= 1, got Hq = " << hq
                       << " and Hkv = " << hkv;
  if (hq % hkv != 0)
    return emitError() << "query heads (Hq = " << hq
                       << ") must be a multiple of key/value heads (Hkv = "
                       << hkv << "); 'query' is " << formatShape(q)
                       << ", 'key' is " << formatShape(k);
  if (!compatible(q[0], k[0]) || !compatible(q[0], v[0]))
    return emitError() << "batch sizes differ: 'query' " << formatShape(q)
                       << ", 'key' " << formatShape(k) << ", 'value' "
                       << formatShape(v);
  if (q[3] != k[3])
    return emitError() << "head dim of 'key' (D = " << k[3]
                       << ") does not match 'query' (D = " << q[3]
                       << "); 'query' is " << formatShape(q) << ", 'key' is "
                       << formatShape(k);
  if (v[1] != hkv)
    return emitError() << "'value' has " << v[1] << " heads but 'key' has "
                       << hkv << "; 'key' is " << formatShape(k)
                       << ", 'value' is " << formatShape(v);
  if (!compatible(k[2], v[2]))
    return emitError() << "sequence length of 'value' (S = " << v[2]
                       << ") does not match 'key' (S = " << k[2]
                       << "); 'key' is " << formatShape(k) << ", 'value' is "
                       << formatShape(v);

  int64_t batch = ShapedType::isDynamic(q[0]) ? k[0] : q[0];
  rowShape.assign({batch, hq, q[2]});
  dv = v[3];

  if (bias) {
    auto bType = cast<RankedTensorType>(bias.getType());
    SmallVector<int64_t> target = {batch, hq, q[2], k[2]};
    if (bType.getElementType() != elt && !bType.getElementType().isF32())
      return emitError() << "'bias' element type must be " << elt
                         << " (as 'query') or f32, got "
                         << bType.getElementType();
    ArrayRef<int64_t> b = bType.getShape();
    bool ok = b.size() <= 4;
    for (size_t i = 0; ok && i < b.size(); ++i) {
      int64_t bd = b[b.size() - 1 - i], td = target[3 - i];
      ok = bd == 1 || compatible(bd, td);
    }
    if (!ok)
      return emitError() << "'bias' of shape " << formatShape(b)
                         << " is not broadcastable to [B, Hq, L, S] = "
                         << formatShape(target)
                         << " (rank <= 4, each dim 1 or equal, "
                            "right-aligned)";
  }

  if (scale) {
    float f = scale->convertToFloat();
    if (!std::isfinite(f) || f == 0.0f)
      return emitError() << "'scale' must be finite and non-zero, got " << f;
  }
  if (mask)
    if (failed(MaskAttr::verify(emitError, mask.getKind(), mask.getLeft(),
                                mask.getRight(), mask.getBlock(),
                                mask.getWidth(), mask.getDilation(),
                                mask.getGlobal())))
      return failure();
  return success();
}

/// Checks that `type` is `expected` up to dynamic extents.
static bool matchesShape(RankedTensorType type, ArrayRef<int64_t> expected) {
  if (type.getRank() != static_cast<int64_t>(expected.size()))
    return false;
  for (auto [a, b] : llvm::zip(type.getShape(), expected))
    if (!compatible(a, b))
      return false;
  return true;
}

LogicalResult AttentionOp::verify() {
  auto oType = getOutputType();
  if (oType.getRank() != 4)
    return emitOpError() << "'output' must have rank 4 [B, Hq, L, Dv], got rank "
                         << oType.getRank() << " "
                         << formatShape(oType.getShape());
  SmallVector<int64_t> rows;
  int64_t dv;
  if (failed(verifyAttentionOperands(*this, getQueryType(), getKeyType(),
                                     getValueType(), getBias(), getScale(),
                                     getMaskAttr(), rows, dv)))
    return failure();
  if (oType.getElementType() != getQueryType().getElementType())
    return emitOpError() << "element types must match: 'query' has "
                         << getQueryType().getElementType()
                         << " but 'output' has " << oType.getElementType();
  SmallVector<int64_t> expectedOut(rows);
  expectedOut.push_back(dv);
  if (oType.getDimSize(1) != rows[1] || oType.getDimSize(3) != dv ||
      !matchesShape(oType, expectedOut))
    return emitOpError() << "'output' must have shape [B, Hq, L, Dv] = "
                         << formatShape(expectedOut) << ", got "
                         << formatShape(oType.getShape());
  if (Value lse = getLse()) {
    auto lType = cast<RankedTensorType>(lse.getType());
    if (!matchesShape(lType, rows) || lType.getDimSize(1) != rows[1])
      return emitOpError() << "'lse' must have shape [B, Hq, L] = "
                           << formatShape(rows) << ", got "
                           << formatShape(lType.getShape());
  }
  return success();
}

//===----------------------------------------------------------------------===//
// OnlineAttentionOp
//===----------------------------------------------------------------------===//

float OnlineAttentionOp::getEffectiveScale() {
  return effectiveScale(getScale(), getQueryType());
}
MaskAttr OnlineAttentionOp::getMaskOrNone() {
  return maskOrNone(getMaskAttr(), getContext());
}
int64_t OnlineAttentionOp::getGroupSize() {
  return groupSize(getQueryType(), getKeyType());
}

LogicalResult OnlineAttentionOp::verify() {
  SmallVector<int64_t> rows;
  int64_t dv;
  if (failed(verifyAttentionOperands(*this, getQueryType(), getKeyType(),
                                     getValueType(), getBias(), getScale(),
                                     getMaskAttr(), rows, dv)))
    return failure();
  SmallVector<int64_t> accShape(rows);
  accShape.push_back(dv);
  auto accType = cast<RankedTensorType>(getAcc().getType());
  if (!matchesShape(accType, accShape) || accType.getDimSize(1) != rows[1] ||
      accType.getDimSize(3) != dv)
    return emitOpError() << "'acc' must have shape [B, Hq, L, Dv] = "
                         << formatShape(accShape) << ", got "
                         << formatShape(accType.getShape());
  for (auto [name, value] : {std::pair<StringRef, Value>{"max", getMax()},
                             std::pair<StringRef, Value>{"sum", getSum()}}) {
    auto type = cast<RankedTensorType>(value.getType());
    if (!matchesShape(type, rows) || type.getDimSize(1) != rows[1])
      return emitOpError() << "'" << name << "' must have shape [B, Hq, L] = "
                           << formatShape(rows) << ", got "
                           << formatShape(type.getShape());
  }
  return success();
}

//===----------------------------------------------------------------------===//
// Shape interfaces
//===----------------------------------------------------------------------===//

/// Operand dims attention requires equal: the batch of query, key and value,
/// the key/value sequence lengths, and each dynamic bias dim with the
/// [B, Hq, L, S] extent it is right-aligned to (operand `biasIndex`).
static void attentionEqualDims(Value bias, int64_t biasIndex,
                               SmallVectorImpl<std::array<int64_t, 4>> &pairs) {
  pairs.push_back({0, 0, 1, 0}); // query.B == key.B
  pairs.push_back({0, 0, 2, 0}); // query.B == value.B
  pairs.push_back({1, 2, 2, 2}); // key.S == value.S
  if (!bias)
    return;
  auto type = cast<RankedTensorType>(bias.getType());
  // [B, Hq, L, S] as (operand, dim); Hq is static.
  const std::array<int64_t, 2> target[] = {{0, 0}, {0, 1}, {0, 2}, {1, 2}};
  for (int64_t d = 0, r = type.getRank(); d < r; ++d)
    if (type.isDynamicDim(d) && d + 4 - r != 1)
      pairs.push_back(
          {biasIndex, d, target[d + 4 - r][0], target[d + 4 - r][1]});
}

void AttentionOp::getEqualOperandDims(
    SmallVectorImpl<std::array<int64_t, 4>> &pairs) {
  attentionEqualDims(getBias(), 3, pairs);
}

void OnlineAttentionOp::getEqualOperandDims(
    SmallVectorImpl<std::array<int64_t, 4>> &pairs) {
  // The state is [B, Hq, L, ...] like the query.
  attentionEqualDims(getBias(), 8, pairs);
}

LogicalResult AttentionOp::reifyResultShapes(
    OpBuilder &b, ReifiedRankedShapedTypeDims &reifiedReturnShapes) {
  Location loc = getLoc();
  auto size = [&](Value v, int64_t d) -> OpFoldResult {
    auto type = cast<RankedTensorType>(v.getType());
    if (!type.isDynamicDim(d))
      return b.getIndexAttr(type.getDimSize(d));
    return tensor::DimOp::create(b, loc, v, d).getResult();
  };
  OpFoldResult batch = size(getQuery(), 0), rows = size(getQuery(), 2);
  OpFoldResult heads = b.getIndexAttr(getQueryType().getDimSize(1));
  reifiedReturnShapes.push_back(
      {batch, heads, rows, b.getIndexAttr(getValueType().getDimSize(3))});
  if (getLse())
    reifiedReturnShapes.push_back({batch, heads, rows});
  return success();
}
