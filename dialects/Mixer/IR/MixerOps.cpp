//===- MixerOps.cpp - mixer dialect operations ----------------------------===//

#include "Mixer/IR/MixerOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpImplementation.h"
#include "llvm/ADT/STLExtras.h"

#include <cmath>

using namespace mlir;
using namespace tmix::mixer;

#define GET_OP_CLASSES
#include "Mixer/IR/MixerOps.cpp.inc"

namespace {
/// Prints a shape as `[2, ?, 64]`.
std::string formatShape(ArrayRef<int64_t> shape) {
  std::string s = "[";
  llvm::raw_string_ostream os(s);
  llvm::interleave(
      shape, os,
      [&](int64_t d) {
        if (ShapedType::isDynamic(d))
          os << "?";
        else
          os << d;
      },
      ", ");
  os << "]";
  return s;
}

/// Two extents are compatible when either is dynamic or they are equal.
bool compatible(int64_t a, int64_t b) {
  return ShapedType::isDynamic(a) || ShapedType::isDynamic(b) || a == b;
}
} // namespace

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

float AttentionOp::getEffectiveScale() {
  if (std::optional<APFloat> s = getScale())
    return s->convertToFloat();
  return 1.0f / std::sqrt(static_cast<float>(getQueryType().getDimSize(3)));
}

MaskAttr AttentionOp::getMaskOrNone() {
  if (MaskAttr m = getMaskAttr())
    return m;
  return MaskAttr::getNone(getContext());
}

int64_t AttentionOp::getGroupSize() {
  return getQueryType().getDimSize(1) / getKeyType().getDimSize(1);
}

LogicalResult AttentionOp::verify() {
  auto qType = getQueryType(), kType = getKeyType(), vType = getValueType(),
       oType = getOutputType();

  // Ranks.
  const std::pair<StringRef, RankedTensorType> rank4[] = {
      {"query", qType}, {"key", kType}, {"value", vType}, {"output", oType}};
  const StringRef layouts[] = {"[B, Hq, L, D]", "[B, Hkv, S, D]",
                               "[B, Hkv, S, Dv]", "[B, Hq, L, Dv]"};
  for (auto [i, entry] : llvm::enumerate(rank4)) {
    if (entry.second.getRank() != 4)
      return emitOpError() << "'" << entry.first << "' must have rank 4 "
                           << layouts[i] << ", got rank "
                           << entry.second.getRank() << " "
                           << formatShape(entry.second.getShape());
  }

  // Element types.
  Type elt = qType.getElementType();
  for (auto [name, type] : ArrayRef(rank4).drop_front())
    if (type.getElementType() != elt)
      return emitOpError() << "element types must match: 'query' has " << elt
                           << " but '" << name << "' has "
                           << type.getElementType();

  // Static head counts and head dims.
  const std::tuple<StringRef, RankedTensorType, int64_t, StringRef> statics[] = {
      {"query", qType, 1, "head count Hq"}, {"query", qType, 3, "head dim D"},
      {"key", kType, 1, "head count Hkv"},  {"key", kType, 3, "head dim D"},
      {"value", vType, 1, "head count Hkv"}, {"value", vType, 3, "head dim Dv"}};
  for (auto [name, type, dim, what] : statics)
    if (type.isDynamicDim(dim))
      return emitOpError() << "'" << name << "' " << what
                           << " (dim " << dim << ") must be static, got "
                           << formatShape(type.getShape());

  ArrayRef<int64_t> q = qType.getShape(), k = kType.getShape(),
                    v = vType.getShape(), o = oType.getShape();
  int64_t hq = q[1], hkv = k[1];
  if (hkv < 1 || hq < 1)
    return emitOpError() << "head counts must be >= 1, got Hq = " << hq
                         << " and Hkv = " << hkv;
  if (hq % hkv != 0)
    return emitOpError() << "query heads (Hq = " << hq
                         << ") must be a multiple of key/value heads (Hkv = "
                         << hkv << "); 'query' is " << formatShape(q)
                         << ", 'key' is " << formatShape(k);
  if (!compatible(q[0], k[0]) || !compatible(q[0], v[0]))
    return emitOpError() << "batch sizes differ: 'query' " << formatShape(q)
                         << ", 'key' " << formatShape(k) << ", 'value' "
                         << formatShape(v);
  if (q[3] != k[3])
    return emitOpError() << "head dim of 'key' (D = " << k[3]
                         << ") does not match 'query' (D = " << q[3]
                         << "); 'query' is " << formatShape(q) << ", 'key' is "
                         << formatShape(k);
  if (v[1] != hkv)
    return emitOpError() << "'value' has " << v[1]
                         << " heads but 'key' has " << hkv << "; 'key' is "
                         << formatShape(k) << ", 'value' is "
                         << formatShape(v);
  if (!compatible(k[2], v[2]))
    return emitOpError() << "sequence length of 'value' (S = " << v[2]
                         << ") does not match 'key' (S = " << k[2]
                         << "); 'key' is " << formatShape(k) << ", 'value' is "
                         << formatShape(v);

  // Output [B, Hq, L, Dv].
  SmallVector<int64_t> expectedOut = {ShapedType::isDynamic(q[0]) ? k[0] : q[0],
                                      hq, q[2], v[3]};
  if (o[1] != hq || o[3] != v[3] || !compatible(o[0], expectedOut[0]) ||
      !compatible(o[2], q[2]))
    return emitOpError() << "'output' must have shape [B, Hq, L, Dv] = "
                         << formatShape(expectedOut) << ", got "
                         << formatShape(o);

  // Bias broadcastable to [B, Hq, L, S].
  if (Value bias = getBias()) {
    auto bType = cast<RankedTensorType>(bias.getType());
    SmallVector<int64_t> target = {expectedOut[0], hq, q[2], k[2]};
    if (bType.getElementType() != elt && !bType.getElementType().isF32())
      return emitOpError() << "'bias' element type must be " << elt
                           << " (as 'query') or f32, got "
                           << bType.getElementType();
    ArrayRef<int64_t> b = bType.getShape();
    bool ok = b.size() <= 4;
    for (size_t i = 0; ok && i < b.size(); ++i) {
      int64_t bd = b[b.size() - 1 - i], td = target[3 - i];
      ok = bd == 1 || compatible(bd, td);
    }
    if (!ok)
      return emitOpError() << "'bias' of shape " << formatShape(b)
                           << " is not broadcastable to [B, Hq, L, S] = "
                           << formatShape(target)
                           << " (rank <= 4, each dim 1 or equal, "
                              "right-aligned)";
  }

  // lse [B, Hq, L] f32.
  if (Value lse = getLse()) {
    auto lType = cast<RankedTensorType>(lse.getType());
    ArrayRef<int64_t> l = lType.getShape();
    if (l.size() != 3 || !compatible(l[0], expectedOut[0]) || l[1] != hq ||
        !compatible(l[2], q[2]))
      return emitOpError() << "'lse' must have shape [B, Hq, L] = "
                           << formatShape(ArrayRef(expectedOut).take_front(3))
                           << ", got " << formatShape(l);
  }

  if (std::optional<APFloat> s = getScale()) {
    float f = s->convertToFloat();
    if (!std::isfinite(f) || f == 0.0f)
      return emitOpError() << "'scale' must be finite and non-zero, got " << f;
  }

  if (MaskAttr m = getMaskAttr())
    if (failed(MaskAttr::verify([&] { return emitOpError(); }, m.getKind(),
                                m.getLeft(), m.getRight(), m.getBlock(),
                                m.getWidth(), m.getDilation(),
                                m.getGlobal())))
      return failure();
  return success();
}
