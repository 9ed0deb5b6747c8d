//===- DecomposeAttention.cpp - mixer.attention -> unfused linalg ---------===//
//
// Implements DecomposeAttentionPass and decomposeAttention (see Passes.td).
//
// Iteration spaces use the head-split layout: b, h (kv head), g (query head
// within the group), i (query row), j (key), d / e (head dims). Query heads
// `h * G + g` are exposed by expanding `query` to [B, Hkv, G, L, D].
//
//===----------------------------------------------------------------------===//

#include "Mixer/IR/MixerOps.h"
#include "Mixer/Transforms/Passes.h"
#include "Mixer/Transforms/Transforms.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/AffineMap.h"
#include "mlir/IR/PatternMatch.h"

#include <limits>

namespace tmix::mixer {
#define GEN_PASS_DEF_DECOMPOSEATTENTIONPASS
#include "Mixer/Transforms/Passes.h.inc"
} // namespace tmix::mixer

using namespace mlir;
using namespace tmix::mixer;

namespace {
using utils::IteratorType;
constexpr IteratorType kPar = IteratorType::parallel;
constexpr IteratorType kRed = IteratorType::reduction;

/// Extends `v` to f32 unless it already is.
Value toF32(OpBuilder &b, Location loc, Value v) {
  if (v.getType().isF32())
    return v;
  return arith::ExtFOp::create(b, loc, b.getF32Type(), v);
}

/// Builds the predicate "key `j` is visible to query row `i`" for `mask`,
/// with `offset` = S - L (the query's absolute position is i + offset).
/// Returns null for masks that keep everything.
Value buildMaskPredicate(OpBuilder &b, Location loc, MaskAttr mask, Value i,
                         Value j, Value offset) {
  auto cst = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(b, loc, v);
  };
  auto cmp = [&](arith::CmpIPredicate pred, Value lhs, Value rhs) -> Value {
    return arith::CmpIOp::create(b, loc, pred, lhs, rhs);
  };
  auto andI = [&](Value x, Value y) -> Value {
    return arith::AndIOp::create(b, loc, x, y);
  };
  auto orI = [&](Value x, Value y) -> Value {
    return arith::OrIOp::create(b, loc, x, y);
  };
  using P = arith::CmpIPredicate;
  Value pos = arith::AddIOp::create(b, loc, i, offset);
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

/// `m` when finite, else 0: keeps exp(s - m) and m + log(sum) well defined
/// for rows whose every key is masked (m = -inf).
Value safeMax(OpBuilder &b, Location loc, Value m) {
  Value negInf = arith::ConstantOp::create(
      b, loc, b.getF32FloatAttr(-std::numeric_limits<float>::infinity()));
  Value zero = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0.0f));
  Value isNegInf =
      arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ, m, negInf);
  return arith::SelectOp::create(b, loc, isNegInf, zero, m);
}
} // namespace

FailureOr<SmallVector<Value>>
tmix::mixer::decomposeAttention(RewriterBase &rewriter, AttentionOp op) {
  OpBuilder::InsertionGuard guard(rewriter);
  rewriter.setInsertionPoint(op);
  Location loc = op.getLoc();
  MLIRContext *ctx = rewriter.getContext();
  Type f32 = rewriter.getF32Type();
  Type elt = op.getQueryType().getElementType();

  Value query = op.getQuery(), key = op.getKey(), value = op.getValue();
  int64_t hq = op.getQueryType().getDimSize(1);
  int64_t hkv = op.getKeyType().getDimSize(1);
  int64_t group = hq / hkv;
  int64_t d = op.getQueryType().getDimSize(3);
  int64_t dv = op.getValueType().getDimSize(3);

  OpFoldResult bSize = tensor::getMixedSize(rewriter, loc, query, 0);
  OpFoldResult lSize = tensor::getMixedSize(rewriter, loc, query, 2);
  OpFoldResult sSize = tensor::getMixedSize(rewriter, loc, key, 2);
  OpFoldResult hkvSize = rewriter.getIndexAttr(hkv);
  OpFoldResult gSize = rewriter.getIndexAttr(group);

  auto emptyF32 = [&](ArrayRef<OpFoldResult> sizes) -> Value {
    return tensor::EmptyOp::create(rewriter, loc, sizes, f32);
  };
  auto filled = [&](ArrayRef<OpFoldResult> sizes, float v) -> Value {
    Value c = arith::ConstantOp::create(rewriter, loc, rewriter.getF32FloatAttr(v));
    return linalg::FillOp::create(rewriter, loc, c, emptyF32(sizes))
        .getResult(0);
  };

  // query [B, Hq, L, D] -> [B, Hkv, G, L, D]: a view, not a copy.
  SmallVector<ReassociationIndices> headSplit = {{0}, {1, 2}, {3}, {4}};
  auto qShape = op.getQueryType().getShape();
  auto qSplitType = RankedTensorType::get(
      {qShape[0], hkv, group, qShape[2], d}, elt);
  Value qSplit = tensor::ExpandShapeOp::create(
      rewriter, loc, qSplitType, query, headSplit,
      ArrayRef<OpFoldResult>{bSize, hkvSize, gSize, lSize,
                             rewriter.getIndexAttr(d)});

  // Affine dims of the 6-d contraction spaces and the 5-d score space.
  AffineExpr b0, h1, g2, i3, x4, y5;
  bindDims(ctx, b0, h1, g2, i3, x4, y5);
  auto map = [&](unsigned numDims, ArrayRef<AffineExpr> results) {
    return AffineMap::get(numDims, 0, results, ctx);
  };

  // 1. scores[b,h,g,i,j] = sum_d q[b,h,g,i,d] * k[b,h,j,d]   (dims: b h g i j d)
  SmallVector<OpFoldResult> scoreSizes = {bSize, hkvSize, gSize, lSize, sSize};
  Value scores = filled(scoreSizes, 0.0f);
  scores = linalg::GenericOp::create(
               rewriter, loc, scores.getType(), ValueRange{qSplit, key},
               ValueRange{scores},
               ArrayRef<AffineMap>{map(6, {b0, h1, g2, i3, y5}),
                                   map(6, {b0, h1, x4, y5}),
                                   map(6, {b0, h1, g2, i3, x4})},
               ArrayRef<IteratorType>{kPar, kPar, kPar, kPar, kPar, kRed},
               [&](OpBuilder &b, Location l, ValueRange args) {
                 Value prod = arith::MulFOp::create(b, l, toF32(b, l, args[0]),
                                                    toF32(b, l, args[1]));
                 linalg::YieldOp::create(
                     b, l, Value(arith::AddFOp::create(b, l, args[2], prod)));
               })
               .getResult(0);

  // 2. s = s * scale + bias, -inf where the mask hides the key (dims: b h g i j).
  MaskAttr mask = op.getMaskOrNone();
  float scale = op.getEffectiveScale();
  Value offset;
  if (!mask.isFull()) {
    Value sVal = getValueOrCreateConstantIndexOp(rewriter, loc, sSize);
    Value lVal = getValueOrCreateConstantIndexOp(rewriter, loc, lSize);
    offset = arith::SubIOp::create(rewriter, loc, sVal, lVal);
  }
  SmallVector<Value> epiInputs;
  SmallVector<AffineMap> epiMaps;
  if (Value bias = op.getBias()) {
    // Right-align the bias to [B, Hq, L, S]; size-1 dims broadcast.
    auto bType = cast<RankedTensorType>(bias.getType());
    const AffineExpr targetDims[] = {b0, h1 * group + g2, i3, x4};
    SmallVector<AffineExpr> exprs;
    int64_t rank = bType.getRank();
    for (int64_t k = 0; k < rank; ++k)
      exprs.push_back(bType.getDimSize(k) == 1
                          ? getAffineConstantExpr(0, ctx)
                          : targetDims[k + 4 - rank]);
    epiInputs.push_back(bias);
    epiMaps.push_back(map(5, exprs));
  }
  AffineMap scoreMap = map(5, {b0, h1, g2, i3, x4});
  AffineMap rowMap = map(5, {b0, h1, g2, i3});
  epiMaps.push_back(scoreMap);
  bool hasBias = op.getBias() != nullptr;
  scores =
      linalg::GenericOp::create(
          rewriter, loc, scores.getType(), epiInputs, ValueRange{scores},
          epiMaps, SmallVector<IteratorType>(5, kPar),
          [&](OpBuilder &b, Location l, ValueRange args) {
            Value s = args.back();
            s = arith::MulFOp::create(
                b, l, s,
                arith::ConstantOp::create(b, l, b.getF32FloatAttr(scale)));
            if (hasBias)
              s = arith::AddFOp::create(b, l, s, toF32(b, l, args[0]));
            if (offset) {
              Value i = linalg::IndexOp::create(b, l, 3);
              Value j = linalg::IndexOp::create(b, l, 4);
              Value visible = buildMaskPredicate(b, l, mask, i, j, offset);
              Value negInf = arith::ConstantOp::create(
                  b, l,
                  b.getF32FloatAttr(-std::numeric_limits<float>::infinity()));
              s = arith::SelectOp::create(b, l, visible, s, negInf);
            }
            linalg::YieldOp::create(b, l, s);
          })
          .getResult(0);

  // 3. Row max, p = exp(s - max), row sum.
  SmallVector<OpFoldResult> rowSizes = {bSize, hkvSize, gSize, lSize};
  SmallVector<IteratorType> rowReduce = {kPar, kPar, kPar, kPar, kRed};
  Value rowMax =
      linalg::GenericOp::create(
          rewriter, loc, TypeRange{RankedTensorType::get(
                             cast<RankedTensorType>(scores.getType())
                                 .getShape()
                                 .drop_back(),
                             f32)},
          ValueRange{scores},
          ValueRange{filled(rowSizes, -std::numeric_limits<float>::infinity())},
          ArrayRef<AffineMap>{scoreMap, rowMap}, rowReduce,
          [&](OpBuilder &b, Location l, ValueRange args) {
            linalg::YieldOp::create(
                b, l, Value(arith::MaximumFOp::create(b, l, args[0], args[1])));
          })
          .getResult(0);
  Type rowType = rowMax.getType();
  scores = linalg::GenericOp::create(
               rewriter, loc, scores.getType(), ValueRange{rowMax},
               ValueRange{scores}, ArrayRef<AffineMap>{rowMap, scoreMap},
               SmallVector<IteratorType>(5, kPar),
               [&](OpBuilder &b, Location l, ValueRange args) {
                 Value shifted = arith::SubFOp::create(
                     b, l, args[1], safeMax(b, l, args[0]));
                 linalg::YieldOp::create(
                     b, l, Value(math::ExpOp::create(b, l, shifted)));
               })
               .getResult(0);
  Value rowSum =
      linalg::GenericOp::create(
          rewriter, loc, rowType, ValueRange{scores},
          ValueRange{filled(rowSizes, 0.0f)},
          ArrayRef<AffineMap>{scoreMap, rowMap}, rowReduce,
          [&](OpBuilder &b, Location l, ValueRange args) {
            linalg::YieldOp::create(
                b, l, Value(arith::AddFOp::create(b, l, args[1], args[0])));
          })
          .getResult(0);

  // 4. acc[b,h,g,i,e] = sum_j p[b,h,g,i,j] * v[b,h,j,e]   (dims: b h g i e j)
  SmallVector<OpFoldResult> accSizes = {bSize, hkvSize, gSize, lSize,
                                        rewriter.getIndexAttr(dv)};
  Value acc = filled(accSizes, 0.0f);
  acc = linalg::GenericOp::create(
            rewriter, loc, acc.getType(), ValueRange{scores, value},
            ValueRange{acc},
            ArrayRef<AffineMap>{map(6, {b0, h1, g2, i3, y5}),
                                map(6, {b0, h1, y5, x4}),
                                map(6, {b0, h1, g2, i3, x4})},
            ArrayRef<IteratorType>{kPar, kPar, kPar, kPar, kPar, kRed},
            [&](OpBuilder &b, Location l, ValueRange args) {
              Value prod = arith::MulFOp::create(b, l, args[0],
                                                 toF32(b, l, args[1]));
              linalg::YieldOp::create(
                  b, l, Value(arith::AddFOp::create(b, l, args[2], prod)));
            })
            .getResult(0);

  // 5. out = acc / sum (0 for fully masked rows), in the element type.
  AffineMap accMap = map(5, {b0, h1, g2, i3, x4});
  auto accShape = cast<RankedTensorType>(acc.getType()).getShape();
  Value outInit = tensor::EmptyOp::create(rewriter, loc, accSizes, elt);
  Value out =
      linalg::GenericOp::create(
          rewriter, loc, TypeRange{RankedTensorType::get(accShape, elt)},
          ValueRange{acc, rowSum}, ValueRange{outInit},
          ArrayRef<AffineMap>{accMap, rowMap, accMap},
          SmallVector<IteratorType>(5, kPar),
          [&](OpBuilder &b, Location l, ValueRange args) {
            Value zero = arith::ConstantOp::create(b, l, b.getF32FloatAttr(0));
            Value empty = arith::CmpFOp::create(
                b, l, arith::CmpFPredicate::OEQ, args[1], zero);
            Value q = arith::DivFOp::create(b, l, args[0], args[1]);
            Value r = arith::SelectOp::create(b, l, empty, zero, q);
            if (elt != f32)
              r = arith::TruncFOp::create(b, l, elt, r);
            linalg::YieldOp::create(b, l, r);
          })
          .getResult(0);

  auto collapseTo = [&](Value v, RankedTensorType type,
                        ArrayRef<ReassociationIndices> reassoc) -> Value {
    auto src = cast<RankedTensorType>(v.getType());
    auto collapsedType =
        tensor::CollapseShapeOp::inferCollapsedType(src, reassoc);
    Value c = tensor::CollapseShapeOp::create(rewriter, loc, collapsedType, v,
                                              reassoc);
    if (c.getType() != type)
      c = tensor::CastOp::create(rewriter, loc, type, c);
    return c;
  };
  SmallVector<Value> results;
  results.push_back(collapseTo(out, op.getOutputType(), headSplit));

  // 6. lse = max + log(sum); -inf for fully masked rows.
  if (Value lse = op.getLse()) {
    Value lseVal =
        linalg::GenericOp::create(
            rewriter, loc, rowType, ValueRange{rowMax, rowSum},
            ValueRange{emptyF32(rowSizes)},
            ArrayRef<AffineMap>{map(4, {b0, h1, g2, i3}),
                                map(4, {b0, h1, g2, i3}),
                                map(4, {b0, h1, g2, i3})},
            SmallVector<IteratorType>(4, kPar),
            [&](OpBuilder &b, Location l, ValueRange args) {
              Value logSum = math::LogOp::create(b, l, args[1]);
              linalg::YieldOp::create(
                  b, l,
                  Value(arith::AddFOp::create(b, l, safeMax(b, l, args[0]),
                                              logSum)));
            })
            .getResult(0);
    SmallVector<ReassociationIndices> rowSplit = {{0}, {1, 2}, {3}};
    results.push_back(collapseTo(
        lseVal, cast<RankedTensorType>(lse.getType()), rowSplit));
  }
  rewriter.replaceOp(op, results);
  return results;
}

namespace {
struct DecomposeAttentionPass
    : public tmix::mixer::impl::DecomposeAttentionPassBase<
          DecomposeAttentionPass> {
  void runOnOperation() override {
    SmallVector<AttentionOp> ops;
    getOperation()->walk([&](AttentionOp op) { ops.push_back(op); });
    IRRewriter rewriter(&getContext());
    for (AttentionOp op : ops)
      if (failed(decomposeAttention(rewriter, op))) {
        op.emitOpError("could not be decomposed");
        return signalPassFailure();
      }
  }
};
} // namespace
