//===- AttentionDecomposition.cpp - attention ops -> linalg ---------------===//
//
// AggregatedOpInterface of mixer.attention and mixer.online_attention, and
// the builders of AttentionUtils.h.
//
// mixer.attention = initial state -> mixer.online_attention over all keys ->
// normalisation. mixer.online_attention decomposes into linalg on tensors in
// the head-split layout: b, h (kv head), g (query head in the group), i
// (query row), j (key), d / e (head dims); query heads `h * G + g` are
// exposed by expanding [B, Hq, ...] to [B, Hkv, G, ...] (a view), so K and V
// are read through indexing maps and never copied.
//
//===----------------------------------------------------------------------===//

#include "Mixer/IR/AttentionUtils.h"
#include "Mixer/IR/MixerOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/AffineMap.h"

#include <limits>

using namespace mlir;
using namespace tmix::mixer;

namespace {
using utils::IteratorType;
constexpr IteratorType kPar = IteratorType::parallel;
constexpr IteratorType kRed = IteratorType::reduction;
constexpr float kNegInf = -std::numeric_limits<float>::infinity();

Value cstF32(OpBuilder &b, Location loc, float v) {
  return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(v));
}

/// Extends `v` to f32 unless it already is.
Value toF32(OpBuilder &b, Location loc, Value v) {
  if (v.getType().isF32())
    return v;
  return arith::ExtFOp::create(b, loc, b.getF32Type(), v);
}

/// Flags of the accumulations: reassociation (so that reductions vectorize)
/// and contraction into FMAs. Never nnan/ninf: -inf marks masked scores.
arith::FastMathFlagsAttr accumulateFlags(OpBuilder &b) {
  return arith::FastMathFlagsAttr::get(
      b.getContext(), arith::FastMathFlags::reassoc |
                          arith::FastMathFlags::contract);
}

/// acc + x * y with accumulateFlags.
Value fma(OpBuilder &b, Location loc, Value acc, Value x, Value y) {
  Value prod = arith::MulFOp::create(b, loc, x, y, accumulateFlags(b));
  return arith::AddFOp::create(b, loc, acc, prod, accumulateFlags(b));
}

/// `m` when finite, else 0: keeps exp(s - m) and m + log(sum) well defined
/// for rows whose every key is masked (m = -inf).
Value safeMax(OpBuilder &b, Location loc, Value m) {
  Value isNegInf = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ, m,
                                         cstF32(b, loc, kNegInf));
  return arith::SelectOp::create(b, loc, isNegInf, cstF32(b, loc, 0.0f), m);
}

Value filled(OpBuilder &b, Location loc, ArrayRef<OpFoldResult> sizes,
             float v) {
  Value empty = tensor::EmptyOp::create(b, loc, sizes, b.getF32Type());
  return linalg::FillOp::create(b, loc, cstF32(b, loc, v), empty).getResult(0);
}

/// Splits dim 1 (Hq) of `v` into [Hkv, G]: a view.
Value splitHeads(OpBuilder &b, Location loc, Value v, int64_t hkv,
                 int64_t group) {
  auto type = cast<RankedTensorType>(v.getType());
  SmallVector<int64_t> shape = {type.getDimSize(0), hkv, group};
  SmallVector<OpFoldResult> sizes = {tensor::getMixedSize(b, loc, v, 0),
                                     b.getIndexAttr(hkv), b.getIndexAttr(group)};
  SmallVector<ReassociationIndices> reassoc = {{0}, {1, 2}};
  for (int64_t d = 2; d < type.getRank(); ++d) {
    shape.push_back(type.getDimSize(d));
    sizes.push_back(tensor::getMixedSize(b, loc, v, d));
    reassoc.push_back({d + 1});
  }
  return tensor::ExpandShapeOp::create(
      b, loc, RankedTensorType::get(shape, type.getElementType()), v, reassoc,
      sizes);
}

/// Inverse of splitHeads, cast to `type`.
Value mergeHeads(OpBuilder &b, Location loc, Value v, RankedTensorType type) {
  int64_t rank = cast<RankedTensorType>(v.getType()).getRank();
  SmallVector<ReassociationIndices> reassoc = {{0}, {1, 2}};
  for (int64_t d = 3; d < rank; ++d)
    reassoc.push_back({d});
  Value c = tensor::CollapseShapeOp::create(b, loc, v, reassoc);
  if (c.getType() != type)
    c = tensor::CastOp::create(b, loc, type, c);
  return c;
}

SmallVector<OpFoldResult> mixedSizes(OpBuilder &b, Location loc, Value v) {
  return tensor::getMixedSizes(b, loc, v);
}
} // namespace

//===----------------------------------------------------------------------===//
// Shared builders
//===----------------------------------------------------------------------===//

Value tmix::mixer::buildMaskPredicate(OpBuilder &b, Location loc, MaskAttr mask,
                                      Value pos, Value j) {
  auto cst = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(b, loc, v);
  };
  using P = arith::CmpIPredicate;
  auto cmp = [&](P pred, Value lhs, Value rhs) -> Value {
    return arith::CmpIOp::create(b, loc, pred, lhs, rhs);
  };
  auto andI = [&](Value x, Value y) -> Value {
    return arith::AndIOp::create(b, loc, x, y);
  };
  auto orI = [&](Value x, Value y) -> Value {
    return arith::OrIOp::create(b, loc, x, y);
  };
  auto window = [&](int64_t left, int64_t right) -> Value {
    Value lo = arith::SubIOp::create(b, loc, pos, cst(left));
    Value hi = arith::AddIOp::create(b, loc, pos, cst(right));
    return andI(cmp(P::sge, j, lo), cmp(P::sle, j, hi));
  };
  switch (mask.getKind()) {
  case MaskKind::none:
    return {};
  case MaskKind::causal:
    return cmp(P::sle, j, pos);
  case MaskKind::window:
    return window(mask.getLeft(), mask.getRight());
  case MaskKind::block_local: {
    // pos may be negative (L > S): floor division, not truncation.
    Value blk = cst(mask.getBlock());
    return cmp(P::eq, arith::FloorDivSIOp::create(b, loc, pos, blk),
               arith::FloorDivSIOp::create(b, loc, j, blk));
  }
  case MaskKind::dilated: {
    Value delta = arith::SubIOp::create(b, loc, pos, j);
    Value inRange =
        andI(cmp(P::sge, delta, cst(0)),
             cmp(P::slt, delta, cst(mask.getWidth() * mask.getDilation())));
    Value rem = arith::RemSIOp::create(b, loc, delta, cst(mask.getDilation()));
    return andI(inRange, cmp(P::eq, rem, cst(0)));
  }
  case MaskKind::global_local: {
    Value g = cst(mask.getGlobal());
    return orI(orI(cmp(P::slt, pos, g), cmp(P::slt, j, g)),
               window(mask.getLeft(), mask.getRight()));
  }
  }
  return {};
}

OnlineState tmix::mixer::buildInitialState(OpBuilder &b, Location loc,
                                           ArrayRef<OpFoldResult> rowSizes,
                                           int64_t dv) {
  SmallVector<OpFoldResult> accSizes(rowSizes);
  accSizes.push_back(b.getIndexAttr(dv));
  return {filled(b, loc, accSizes, 0.0f), filled(b, loc, rowSizes, kNegInf),
          filled(b, loc, rowSizes, 0.0f)};
}

SmallVector<Value> tmix::mixer::buildFinalize(OpBuilder &b, Location loc,
                                              OnlineState state,
                                              RankedTensorType outputType,
                                              RankedTensorType lseType,
                                              Value outputDest, Value lseDest) {
  MLIRContext *ctx = b.getContext();
  Type elt = outputType.getElementType();
  SmallVector<Value> results;
  AffineMap id4 = AffineMap::getMultiDimIdentityMap(4, ctx);
  AffineMap row4 = AffineMap::get(
      4, 0, {b.getAffineDimExpr(0), b.getAffineDimExpr(1), b.getAffineDimExpr(2)},
      ctx);
  Value outInit = outputDest ? outputDest
                             : tensor::EmptyOp::create(
                                   b, loc, mixedSizes(b, loc, state.acc), elt)
                                   .getResult();
  Value out =
      linalg::GenericOp::create(
          b, loc, outInit.getType(), ValueRange{state.acc, state.sum},
          ValueRange{outInit}, ArrayRef<AffineMap>{id4, row4, id4},
          SmallVector<IteratorType>(4, kPar),
          [&](OpBuilder &nb, Location l, ValueRange args) {
            Value zero = cstF32(nb, l, 0.0f);
            Value empty = arith::CmpFOp::create(
                nb, l, arith::CmpFPredicate::OEQ, args[1], zero);
            Value q = arith::DivFOp::create(nb, l, args[0], args[1]);
            Value r = arith::SelectOp::create(nb, l, empty, zero, q);
            if (elt != nb.getF32Type())
              r = arith::TruncFOp::create(nb, l, elt, r);
            linalg::YieldOp::create(nb, l, r);
          })
          .getResult(0);
  if (out.getType() != outputType)
    out = tensor::CastOp::create(b, loc, outputType, out);
  results.push_back(out);
  if (!lseType)
    return results;
  AffineMap id3 = AffineMap::getMultiDimIdentityMap(3, ctx);
  Value lseInit =
      lseDest ? lseDest
              : tensor::EmptyOp::create(b, loc, mixedSizes(b, loc, state.max),
                                        b.getF32Type())
                    .getResult();
  Value lse =
      linalg::GenericOp::create(
          b, loc, lseInit.getType(), ValueRange{state.max, state.sum},
          ValueRange{lseInit}, ArrayRef<AffineMap>{id3, id3, id3},
          SmallVector<IteratorType>(3, kPar),
          [&](OpBuilder &nb, Location l, ValueRange args) {
            Value logSum = math::LogOp::create(nb, l, args[1]);
            linalg::YieldOp::create(
                nb, l,
                Value(arith::AddFOp::create(nb, l, safeMax(nb, l, args[0]),
                                            logSum)));
          })
          .getResult(0);
  if (lse.getType() != lseType)
    lse = tensor::CastOp::create(b, loc, lseType, lse);
  results.push_back(lse);
  return results;
}

//===----------------------------------------------------------------------===//
// AttentionOp
//===----------------------------------------------------------------------===//

FailureOr<SmallVector<Value>> AttentionOp::decomposeOperation(OpBuilder &b) {
  Location loc = getLoc();
  Value query = getQuery(), key = getKey();
  SmallVector<OpFoldResult> rows = {tensor::getMixedSize(b, loc, query, 0),
                                    b.getIndexAttr(getQueryType().getDimSize(1)),
                                    tensor::getMixedSize(b, loc, query, 2)};
  OnlineState init =
      buildInitialState(b, loc, rows, getValueType().getDimSize(3));
  // Queries are right-aligned to the keys: row 0 sits at position S - L.
  Value s = tensor::DimOp::create(b, loc, key, 2);
  Value l = tensor::DimOp::create(b, loc, query, 2);
  Value rowPos = arith::SubIOp::create(b, loc, s, l);
  Value colPos = arith::ConstantIndexOp::create(b, loc, 0);
  auto online = OnlineAttentionOp::create(
      b, loc, TypeRange{init.acc.getType(), init.max.getType(), init.sum.getType()},
      query, key, getValue(), rowPos, colPos, init.acc, init.max, init.sum,
      getBias(), getScaleAttr(), getMaskAttr());
  OnlineState final = {online.getUpdatedAcc(), online.getUpdatedMax(),
                       online.getUpdatedSum()};
  RankedTensorType lseType =
      getLse() ? cast<RankedTensorType>(getLse().getType()) : nullptr;
  return buildFinalize(b, loc, final, getOutputType(), lseType);
}

//===----------------------------------------------------------------------===//
// OnlineAttentionOp
//===----------------------------------------------------------------------===//

FailureOr<SmallVector<Value>>
OnlineAttentionOp::decomposeOperation(OpBuilder &b) {
  Location loc = getLoc();
  MLIRContext *ctx = b.getContext();
  Type f32 = b.getF32Type();
  int64_t hkv = getKeyType().getDimSize(1);
  int64_t group = getGroupSize();

  Value q = splitHeads(b, loc, getQuery(), hkv, group);
  Value acc = splitHeads(b, loc, getAcc(), hkv, group);
  Value max = splitHeads(b, loc, getMax(), hkv, group);
  Value sum = splitHeads(b, loc, getSum(), hkv, group);
  Value key = getKey(), value = getValue();

  AffineExpr b0, h1, g2, i3, x4, y5;
  bindDims(ctx, b0, h1, g2, i3, x4, y5);
  auto map = [&](unsigned n, ArrayRef<AffineExpr> r) {
    return AffineMap::get(n, 0, r, ctx);
  };
  AffineMap rowId = map(4, {b0, h1, g2, i3});

  // The scores are built transposed, key-major: sᵀ[b,h,g,j,i]. The query
  // side is transposed instead of the keys, qsᵀ[b,h,g,d,i] = scale ·
  // q[b,h,g,i,d], which depends on the query tile only (mixer-decompose-
  // attention hoists it out of the key loop): the score contraction then
  // reads contiguous rows of qsᵀ along i and broadcasts single key elements,
  // no key block is ever transposed, and every row-wise reduction of the
  // softmax (max, sum over keys j) runs over the outer dim j, elementwise
  // across contiguous query rows i. Folding the scale into the query
  // removes the scaling pass over every score block.
  float scale = getEffectiveScale();
  SmallVector<OpFoldResult> qSizes = mixedSizes(b, loc, q);
  Value queryTInit = tensor::EmptyOp::create(
      b, loc,
      ArrayRef<OpFoldResult>{qSizes[0], qSizes[1], qSizes[2], qSizes[4],
                             qSizes[3]},
      f32);
  Value queryT =
      linalg::GenericOp::create(
          b, loc, queryTInit.getType(), ValueRange{q}, ValueRange{queryTInit},
          ArrayRef<AffineMap>{map(5, {b0, h1, g2, x4, i3}),
                              map(5, {b0, h1, g2, i3, x4})},
          SmallVector<IteratorType>(5, kPar),
          [&](OpBuilder &nb, Location l, ValueRange args) {
            Value x = toF32(nb, l, args[0]);
            linalg::YieldOp::create(
                nb, l,
                Value(arith::MulFOp::create(nb, l, x, cstF32(nb, l, scale))));
          })
          .getResult(0);
  queryT.getDefiningOp()->setAttr(kRoleAttr, b.getStringAttr(kRoleQuery));

  // sᵀ[b,h,g,j,i] = sum_d k[b,h,j,d] * qsᵀ[b,h,g,d,i]     (b h g j i d)
  SmallVector<OpFoldResult> rowSizes = mixedSizes(b, loc, max);
  SmallVector<OpFoldResult> scoreSizes(rowSizes.begin(), rowSizes.end() - 1);
  scoreSizes.push_back(tensor::getMixedSize(b, loc, key, 2));
  scoreSizes.push_back(rowSizes.back());
  Value scores = filled(b, loc, scoreSizes, 0.0f);
  auto qk = linalg::GenericOp::create(
      b, loc, scores.getType(), ValueRange{key, queryT}, ValueRange{scores},
      ArrayRef<AffineMap>{map(6, {b0, h1, i3, y5}),
                          map(6, {b0, h1, g2, y5, x4}),
                          map(6, {b0, h1, g2, i3, x4})},
      ArrayRef<IteratorType>{kPar, kPar, kPar, kPar, kPar, kRed},
      [&](OpBuilder &nb, Location l, ValueRange args) {
        linalg::YieldOp::create(
            nb, l, fma(nb, l, args[2], toF32(nb, l, args[0]), args[1]));
      });
  qk->setAttr(kRoleAttr, b.getStringAttr(kRoleScores));
  scores = qk.getResult(0);

  // Dims of the score-shaped generics below: (b h g j i), j the key, i the
  // query row; row-shaped operands are (b h g i).
  AffineMap scoreMap = map(5, {b0, h1, g2, i3, x4});
  AffineMap rowMap = map(5, {b0, h1, g2, x4});

  // s += bias; -inf where the mask hides the key.  (b h g j i)
  MaskAttr mask = getMaskOrNone();
  Value rowPos = getRowPos(), colPos = getColPos();
  Value bias = getBias();
  if (bias || !mask.isFull()) {
    SmallVector<Value> epiInputs;
    SmallVector<AffineMap> epiMaps;
    if (bias) {
      // Right-aligned to [B, Hq, L, S]; size-1 dims broadcast.
      auto bType = cast<RankedTensorType>(bias.getType());
      const AffineExpr targetDims[] = {b0, h1 * group + g2, x4, i3};
      SmallVector<AffineExpr> exprs;
      int64_t rank = bType.getRank();
      for (int64_t k = 0; k < rank; ++k)
        exprs.push_back(bType.getDimSize(k) == 1
                            ? getAffineConstantExpr(0, ctx)
                            : targetDims[k + 4 - rank]);
      epiInputs.push_back(bias);
      epiMaps.push_back(map(5, exprs));
    }
    epiMaps.push_back(scoreMap);
    scores =
        linalg::GenericOp::create(
            b, loc, scores.getType(), epiInputs, ValueRange{scores}, epiMaps,
            SmallVector<IteratorType>(5, kPar),
            [&](OpBuilder &nb, Location l, ValueRange args) {
              Value s = args.back();
              if (bias)
                s = arith::AddFOp::create(nb, l, s, toF32(nb, l, args[0]));
              if (!mask.isFull()) {
                Value j = linalg::IndexOp::create(nb, l, 3);
                Value i = linalg::IndexOp::create(nb, l, 4);
                Value pos = arith::AddIOp::create(nb, l, i, rowPos);
                Value keyPos = arith::AddIOp::create(nb, l, j, colPos);
                Value visible = buildMaskPredicate(nb, l, mask, pos, keyPos);
                s = arith::SelectOp::create(nb, l, visible, s,
                                            cstF32(nb, l, kNegInf));
              }
              linalg::YieldOp::create(nb, l, s);
            })
            .getResult(0);
    // A bias is read through general indexing maps (heads h * G + g,
    // broadcast dims): that epilogue stays a loop nest.
    if (!bias)
      scores.getDefiningOp()->setAttr(kRoleAttr,
                                      b.getStringAttr(kRoleSoftmax));
  }

  // rowmax(s) into a fresh row buffer; then, in place of `max` (an
  // elementwise read-then-write), max' = max(max, rowmax) and the correction
  // c = exp(max - safe(max')); then sum *= c.     (b h g i)
  SmallVector<IteratorType> rowReduce = {kPar, kPar, kPar, kRed, kPar};
  Value rowMax =
      linalg::GenericOp::create(
          b, loc, max.getType(), ValueRange{scores},
          ValueRange{filled(b, loc, rowSizes, kNegInf)},
          ArrayRef<AffineMap>{scoreMap, rowMap}, rowReduce,
          [&](OpBuilder &nb, Location l, ValueRange args) {
            linalg::YieldOp::create(
                nb, l,
                Value(arith::MaximumFOp::create(nb, l, args[0], args[1])));
          })
          .getResults()[0];
  rowMax.getDefiningOp()->setAttr(kRoleAttr, b.getStringAttr(kRoleSoftmax));
  auto maxAndCorr = linalg::GenericOp::create(
      b, loc, TypeRange{max.getType(), max.getType()}, ValueRange{rowMax},
      ValueRange{max, tensor::EmptyOp::create(b, loc, rowSizes, f32)},
      ArrayRef<AffineMap>{rowId, rowId, rowId},
      SmallVector<IteratorType>(4, kPar),
      [&](OpBuilder &nb, Location l, ValueRange args) {
        Value m = arith::MaximumFOp::create(nb, l, args[1], args[0]);
        Value d = arith::SubFOp::create(nb, l, args[1], safeMax(nb, l, m));
        auto e = math::ExpOp::create(nb, l, d); // d <= 0 or -inf
        e->setAttr(kExpNonPositiveAttr, nb.getUnitAttr());
        linalg::YieldOp::create(nb, l, ValueRange{m, Value(e)});
      });
  Value newMax = maxAndCorr.getResult(0), corr = maxAndCorr.getResult(1);
  Value scaledSum =
      linalg::GenericOp::create(
          b, loc, sum.getType(), ValueRange{corr}, ValueRange{sum},
          ArrayRef<AffineMap>{rowId, rowId}, SmallVector<IteratorType>(4, kPar),
          [&](OpBuilder &nb, Location l, ValueRange args) {
            linalg::YieldOp::create(
                nb, l, Value(arith::MulFOp::create(nb, l, args[0], args[1])));
          })
          .getResult(0);

  // p = exp(s - safe(max'))   (in place of the scores)
  scores = linalg::GenericOp::create(
               b, loc, scores.getType(), ValueRange{newMax}, ValueRange{scores},
               ArrayRef<AffineMap>{rowMap, scoreMap},
               SmallVector<IteratorType>(5, kPar),
               [&](OpBuilder &nb, Location l, ValueRange args) {
                 Value shifted = arith::SubFOp::create(
                     nb, l, args[1], safeMax(nb, l, args[0]));
                 // shifted <= 0 (or -inf for masked scores).
                 auto e = math::ExpOp::create(nb, l, shifted);
                 e->setAttr(kExpNonPositiveAttr, nb.getUnitAttr());
                 linalg::YieldOp::create(nb, l, Value(e));
               })
               .getResult(0);
  scores.getDefiningOp()->setAttr(kRoleAttr, b.getStringAttr(kRoleSoftmax));

  // sum' = c * sum + rowsum(p)
  Value newSum =
      linalg::GenericOp::create(
          b, loc, sum.getType(), ValueRange{scores}, ValueRange{scaledSum},
          ArrayRef<AffineMap>{scoreMap, rowMap}, rowReduce,
          [&](OpBuilder &nb, Location l, ValueRange args) {
            linalg::YieldOp::create(
                nb, l,
                Value(arith::AddFOp::create(nb, l, args[1], args[0],
                                            accumulateFlags(nb))));
          })
          .getResult(0);
  newSum.getDefiningOp()->setAttr(kRoleAttr, b.getStringAttr(kRoleSoftmax));

  // acc' = c * acc + p · v     (acc scaling: b h g i e; p·v: b h g i e j)
  Value scaledAcc =
      linalg::GenericOp::create(
          b, loc, acc.getType(), ValueRange{corr}, ValueRange{acc},
          ArrayRef<AffineMap>{map(5, {b0, h1, g2, i3}),
                              map(5, {b0, h1, g2, i3, x4})},
          SmallVector<IteratorType>(5, kPar),
          [&](OpBuilder &nb, Location l, ValueRange args) {
            linalg::YieldOp::create(
                nb, l, Value(arith::MulFOp::create(nb, l, args[0], args[1])));
          })
          .getResult(0);
  // Dims (b h g i j e): the reduction over keys j comes before the value dim
  // e, so the innermost loop walks contiguous rows of V and acc.
  auto pv = linalg::GenericOp::create(
      b, loc, acc.getType(), ValueRange{scores, value}, ValueRange{scaledAcc},
      ArrayRef<AffineMap>{map(6, {b0, h1, g2, x4, i3}),
                          map(6, {b0, h1, x4, y5}),
                          map(6, {b0, h1, g2, i3, y5})},
      ArrayRef<IteratorType>{kPar, kPar, kPar, kPar, kRed, kPar},
      [&](OpBuilder &nb, Location l, ValueRange args) {
        linalg::YieldOp::create(
            nb, l, fma(nb, l, args[2], args[0], toF32(nb, l, args[1])));
      });
  pv->setAttr(kRoleAttr, b.getStringAttr(kRoleValues));
  Value newAcc = pv.getResult(0);

  return SmallVector<Value>{
      mergeHeads(b, loc, newAcc, cast<RankedTensorType>(getAcc().getType())),
      mergeHeads(b, loc, newMax, cast<RankedTensorType>(getMax().getType())),
      mergeHeads(b, loc, newSum, cast<RankedTensorType>(getSum().getType()))};
}
