//===- MetaFormerDecomposition.cpp - MetaFormer ops -> linalg -------------===//
//
// decomposeOperation (AggregatedOpInterface) of the ops in MetaFormerOps.td:
// each op becomes linalg on tensors (generics with f32 accumulation,
// tensor.pad for the borders, reshapes for the token views) plus, for
// self-attention, a mixer.attention that the attention passes tile.
// Contractions are 2-D `[M, K] x [N, K]` generics so that later tiling and
// vectorization see one matmul shape.
//
//===----------------------------------------------------------------------===//

#include "Mixer/IR/AttentionUtils.h"
#include "Mixer/IR/MixerOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"

#include <numeric>

using namespace mlir;
using namespace tmix::mixer;

namespace {
using IterType = utils::IteratorType;

RankedTensorType tensorType(Value v) {
  return cast<RankedTensorType>(v.getType());
}

Value f32Const(OpBuilder &b, Location loc, double v) {
  return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(v));
}

Value emptyTensor(OpBuilder &b, Location loc, ArrayRef<OpFoldResult> sizes) {
  return tensor::EmptyOp::create(b, loc, sizes, b.getF32Type());
}

Value zeroTensor(OpBuilder &b, Location loc, ArrayRef<OpFoldResult> sizes) {
  return linalg::FillOp::create(b, loc, f32Const(b, loc, 0.0),
                                emptyTensor(b, loc, sizes))
      .getResult(0);
}

using BodyFn = function_ref<Value(OpBuilder &, Location, ValueRange)>;

/// A linalg.generic with one output `init`; `body` maps the block arguments
/// (inputs..., output) to the value yielded.
Value buildGeneric(OpBuilder &b, Location loc, ValueRange inputs,
                   ArrayRef<AffineMap> inputMaps, Value init,
                   AffineMap initMap, ArrayRef<IterType> iterators,
                   BodyFn body) {
  SmallVector<AffineMap> maps(inputMaps);
  maps.push_back(initMap);
  auto op = linalg::GenericOp::create(
      b, loc, TypeRange{init.getType()}, inputs, ValueRange{init}, maps,
      iterators, [&](OpBuilder &nb, Location nloc, ValueRange args) {
        linalg::YieldOp::create(nb, nloc, body(nb, nloc, args));
      });
  return op.getResult(0);
}

/// An all-parallel generic producing a tensor shaped like `like`.
Value buildElementwise(OpBuilder &b, Location loc, Value like,
                       ValueRange inputs, ArrayRef<AffineMap> inputMaps,
                       BodyFn body) {
  int64_t rank = tensorType(like).getRank();
  Value init = emptyTensor(b, loc, tensor::getMixedSizes(b, loc, like));
  SmallVector<IterType> iterators(rank, IterType::parallel);
  return buildGeneric(b, loc, inputs, inputMaps, init,
                      b.getMultiDimIdentityMap(rank), iterators, body);
}

/// Map of a `[C]` vector broadcast along the last of `rank` dims.
AffineMap channelMap(OpBuilder &b, int64_t rank) {
  return AffineMap::get(rank, 0, b.getAffineDimExpr(rank - 1));
}

/// Map of a `[1]` scalar read at every point of `rank` dims.
AffineMap scalarMap(OpBuilder &b, int64_t rank) {
  return AffineMap::get(rank, 0, b.getAffineConstantExpr(0));
}

Value relu(OpBuilder &b, Location loc, Value x) {
  return arith::MaximumFOp::create(b, loc, x, f32Const(b, loc, 0.0));
}

Value buildGelu(OpBuilder &b, Location loc, Value x) {
  int64_t rank = tensorType(x).getRank();
  return buildElementwise(
      b, loc, x, x, b.getMultiDimIdentityMap(rank),
      [](OpBuilder &b, Location loc, ValueRange args) -> Value {
        Value v = args[0];
        Value scaled =
            arith::MulFOp::create(b, loc, v, f32Const(b, loc, M_SQRT1_2));
        Value erf = math::ErfOp::create(b, loc, scaled);
        Value onePlus =
            arith::AddFOp::create(b, loc, erf, f32Const(b, loc, 1.0));
        Value half = arith::MulFOp::create(b, loc, v, f32Const(b, loc, 0.5));
        return arith::MulFOp::create(b, loc, half, onePlus);
      });
}

Value buildSquaredRelu(OpBuilder &b, Location loc, Value x) {
  int64_t rank = tensorType(x).getRank();
  return buildElementwise(
      b, loc, x, x, b.getMultiDimIdentityMap(rank),
      [](OpBuilder &b, Location loc, ValueRange args) -> Value {
        Value r = relu(b, loc, args[0]);
        return arith::MulFOp::create(b, loc, r, r);
      });
}

Value buildStarRelu(OpBuilder &b, Location loc, Value x, Value scale,
                    Value bias) {
  int64_t rank = tensorType(x).getRank();
  AffineMap id = b.getMultiDimIdentityMap(rank), s = scalarMap(b, rank);
  return buildElementwise(
      b, loc, x, ValueRange{x, scale, bias}, {id, s, s},
      [](OpBuilder &b, Location loc, ValueRange args) -> Value {
        Value r = relu(b, loc, args[0]);
        Value r2 = arith::MulFOp::create(b, loc, r, r);
        Value sr2 = arith::MulFOp::create(b, loc, args[1], r2);
        return arith::AddFOp::create(b, loc, sr2, args[2]);
      });
}

Value buildActivation(OpBuilder &b, Location loc, ActivationKind kind, Value x,
                      Value scale, Value bias) {
  switch (kind) {
  case ActivationKind::gelu:
    return buildGelu(b, loc, x);
  case ActivationKind::squared_relu:
    return buildSquaredRelu(b, loc, x);
  case ActivationKind::star_relu:
    return buildStarRelu(b, loc, x, scale, bias);
  }
  llvm_unreachable("unknown activation");
}

/// The product of `sizes` as an f32 value.
Value elementCount(OpBuilder &b, Location loc, ArrayRef<OpFoldResult> sizes) {
  int64_t constant = 1;
  Value dynamic;
  for (OpFoldResult size : sizes) {
    if (std::optional<int64_t> c = getConstantIntValue(size)) {
      constant *= *c;
      continue;
    }
    Value v = cast<Value>(size);
    dynamic = dynamic ? arith::MulIOp::create(b, loc, dynamic, v).getResult()
                      : v;
  }
  Value count = f32Const(b, loc, static_cast<double>(constant));
  if (!dynamic)
    return count;
  Value asInt =
      arith::IndexCastOp::create(b, loc, b.getI64Type(), dynamic).getResult();
  Value asFloat = arith::SIToFPOp::create(b, loc, b.getF32Type(), asInt);
  return arith::MulFOp::create(b, loc, count, asFloat);
}

Value collapseTo2d(OpBuilder &b, Location loc, Value x);
Value expandFrom2d(OpBuilder &b, Location loc, Value y2, Value like);

/// General layer norm over `axes` with a `[C]` weight (and bias) on the
/// last axis: two passes (mean, then the centred variance).
Value buildLayerNorm(OpBuilder &b, Location loc, Value x, Value weight,
                     Value bias, ArrayRef<int64_t> axes, double epsilon) {
  int64_t rank = tensorType(x).getRank();
  SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, x);
  SmallVector<OpFoldResult> keptSizes, reducedSizes;
  SmallVector<AffineExpr> keptExprs;
  SmallVector<IterType> iterators;
  for (int64_t d = 0; d < rank; ++d) {
    bool reduced = llvm::is_contained(axes, d);
    iterators.push_back(reduced ? IterType::reduction : IterType::parallel);
    if (reduced) {
      reducedSizes.push_back(sizes[d]);
    } else {
      keptSizes.push_back(sizes[d]);
      keptExprs.push_back(b.getAffineDimExpr(d));
    }
  }
  AffineMap id = b.getMultiDimIdentityMap(rank);
  AffineMap kept = AffineMap::get(rank, 0, keptExprs, b.getContext());
  int64_t keptRank = static_cast<int64_t>(keptSizes.size());
  AffineMap keptId = b.getMultiDimIdentityMap(keptRank);
  SmallVector<IterType> keptParallel(keptRank, IterType::parallel);
  Value invCount = arith::DivFOp::create(b, loc, f32Const(b, loc, 1.0),
                                         elementCount(b, loc, reducedSizes));

  Value sum = buildGeneric(b, loc, x, id, zeroTensor(b, loc, keptSizes), kept,
                           iterators,
                           [](OpBuilder &b, Location loc, ValueRange args) {
                             return arith::AddFOp::create(b, loc, args[1],
                                                          args[0])
                                 .getResult();
                           });
  Value mean = buildGeneric(
      b, loc, sum, keptId, emptyTensor(b, loc, keptSizes), keptId,
      keptParallel, [&](OpBuilder &b, Location loc, ValueRange args) {
        return arith::MulFOp::create(b, loc, args[0], invCount).getResult();
      });
  Value squares = buildGeneric(
      b, loc, ValueRange{x, mean}, {id, kept}, zeroTensor(b, loc, keptSizes),
      kept, iterators, [](OpBuilder &b, Location loc, ValueRange args) {
        Value d = arith::SubFOp::create(b, loc, args[0], args[1]);
        Value d2 = arith::MulFOp::create(b, loc, d, d);
        return arith::AddFOp::create(b, loc, args[2], d2).getResult();
      });
  Value eps = f32Const(b, loc, epsilon);
  Value rstd = buildGeneric(
      b, loc, squares, keptId, emptyTensor(b, loc, keptSizes), keptId,
      keptParallel, [&](OpBuilder &b, Location loc, ValueRange args) {
        Value var = arith::MulFOp::create(b, loc, args[0], invCount);
        Value sq = math::SqrtOp::create(
            b, loc, arith::AddFOp::create(b, loc, var, eps));
        return arith::DivFOp::create(b, loc, f32Const(b, loc, 1.0), sq)
            .getResult();
      });

  auto apply = [&](OpBuilder &b, Location loc, ValueRange args) -> Value {
    Value centred = arith::SubFOp::create(b, loc, args[0], args[1]);
    Value normed = arith::MulFOp::create(b, loc, centred, args[2]);
    Value scaled = arith::MulFOp::create(b, loc, normed, args[3]);
    if (!bias)
      return scaled;
    return arith::AddFOp::create(b, loc, scaled, args[4]);
  };

  // Axes that are a suffix (per token: [C]; per sample: [H, W, C]) on a
  // static map: the normalisation is an [M, C] generic (role "norm") whose
  // statistics are indexed by m / R, so that it can join the tiles of a
  // Linear that consumes it (the norm -> mixer/MLP prologue).
  int64_t first = axes.front();
  bool suffix = first >= 1 && rank >= 3 &&
                static_cast<int64_t>(axes.size()) == rank - first &&
                tensorType(x).hasStaticShape();
  if (suffix) {
    ArrayRef<int64_t> shape = tensorType(x).getShape();
    int64_t perStat = 1;
    for (int64_t d = first; d < rank - 1; ++d)
      perStat *= shape[d];
    Value x2 = collapseTo2d(b, loc, x);
    auto flat = [&](Value stat) -> Value {
      if (tensorType(stat).getRank() == 1)
        return stat;
      ReassociationIndices all(tensorType(stat).getRank());
      std::iota(all.begin(), all.end(), 0);
      return tensor::CollapseShapeOp::create(
          b, loc, stat, SmallVector<ReassociationIndices>{all});
    };
    // Per-row statistics [M] (a broadcast when one statistic covers
    // several rows), so that the normalisation's maps tile exactly.
    OpFoldResult rows = tensor::getMixedSize(b, loc, x2, 0);
    auto perRow = [&](Value stat) -> Value {
      stat = flat(stat);
      if (perStat == 1)
        return stat;
      AffineExpr dm = b.getAffineDimExpr(0);
      return buildGeneric(b, loc, stat,
                          AffineMap::get(1, 0, dm.floorDiv(perStat)),
                          emptyTensor(b, loc, {rows}),
                          b.getMultiDimIdentityMap(1), {IterType::parallel},
                          [](OpBuilder &, Location, ValueRange args) {
                            return args[0];
                          });
    };
    AffineMap statMap = AffineMap::get(2, 0, b.getAffineDimExpr(0));
    SmallVector<Value> inputs = {x2, perRow(mean), perRow(rstd), weight};
    SmallVector<AffineMap> maps = {b.getMultiDimIdentityMap(2), statMap,
                                   statMap, channelMap(b, 2)};
    if (bias) {
      inputs.push_back(bias);
      maps.push_back(channelMap(b, 2));
    }
    Value y2 = buildElementwise(b, loc, x2, inputs, maps, apply);
    y2.getDefiningOp()->setAttr(kRoleAttr, b.getStringAttr(kRoleNorm));
    return expandFrom2d(b, loc, y2, x);
  }

  SmallVector<Value> inputs = {x, mean, rstd, weight};
  SmallVector<AffineMap> maps = {id, kept, kept, channelMap(b, rank)};
  if (bias) {
    inputs.push_back(bias);
    maps.push_back(channelMap(b, rank));
  }
  return buildElementwise(b, loc, x, inputs, maps, apply);
}

/// `[N, K]` view of a Linear weight `[N, K]` or 1×1 conv weight
/// `[N, K, 1, 1]`.
Value linearWeight2d(OpBuilder &b, Location loc, Value weight) {
  if (tensorType(weight).getRank() == 2)
    return weight;
  SmallVector<ReassociationIndices> groups = {{0}, {1, 2, 3}};
  return tensor::CollapseShapeOp::create(b, loc, weight, groups);
}

/// Marks a generic with its role for the layer schedules (see
/// mixer-tile-layers).
Value withRole(OpBuilder &b, Value v, StringRef role) {
  v.getDefiningOp()->setAttr(kRoleAttr, b.getStringAttr(role));
  return v;
}

/// Weights are transposed to `[K, N]` (a "pack" the layer schedule fuses
/// into the tiles) unless the contraction has fewer rows than this, where
/// the copy would cost more than the contraction.
constexpr int64_t kMinRowsToPack = 8;

/// `y2[m, n] = sum_k x2[m, k] * w[n, k] (+ bias[n])`: one 2-D contraction
/// (role "linear"), its accumulator initialised by the bias (role "init").
Value buildLinear2d(OpBuilder &b, Location loc, Value x2, Value w2,
                    Value bias) {
  MLIRContext *ctx = b.getContext();
  int64_t n = tensorType(w2).getDimSize(0), k = tensorType(w2).getDimSize(1);
  int64_t mStatic = tensorType(x2).getDimSize(0);
  OpFoldResult m = tensor::getMixedSize(b, loc, x2, 0);
  SmallVector<OpFoldResult> outSizes = {m, b.getIndexAttr(n)};

  Value init;
  if (bias) {
    init = withRole(
        b,
        buildGeneric(b, loc, bias, AffineMap::get(2, 0, b.getAffineDimExpr(1)),
                     emptyTensor(b, loc, outSizes), b.getMultiDimIdentityMap(2),
                     {IterType::parallel, IterType::parallel},
                     [](OpBuilder &, Location, ValueRange args) {
                       return args[0];
                     }),
        kRoleInit);
  } else {
    init = zeroTensor(b, loc, outSizes);
  }
  AffineExpr dm = b.getAffineDimExpr(0), dn = b.getAffineDimExpr(1),
             dk = b.getAffineDimExpr(2);
  bool pack = ShapedType::isDynamic(mStatic) || mStatic >= kMinRowsToPack;
  Value w = w2;
  AffineMap wMap = AffineMap::get(3, 0, {dn, dk}, ctx);
  if (pack) {
    SmallVector<OpFoldResult> packedSizes = {b.getIndexAttr(k),
                                             b.getIndexAttr(n)};
    auto transpose = linalg::TransposeOp::create(
        b, loc, w2, emptyTensor(b, loc, packedSizes),
        ArrayRef<int64_t>{1, 0});
    transpose->setAttr(kRoleAttr, b.getStringAttr(kRolePack));
    w = transpose.getResult()[0];
    wMap = AffineMap::get(3, 0, {dk, dn}, ctx);
  }
  return withRole(
      b,
      buildGeneric(b, loc, ValueRange{x2, w},
                   {AffineMap::get(3, 0, {dm, dk}, ctx), wMap}, init,
                   AffineMap::get(3, 0, {dm, dn}, ctx),
                   {IterType::parallel, IterType::parallel,
                    IterType::reduction},
                   [](OpBuilder &b, Location loc, ValueRange args) {
                     Value prod = arith::MulFOp::create(b, loc, args[0], args[1]);
                     return arith::AddFOp::create(b, loc, args[2], prod)
                         .getResult();
                   }),
      kRoleLinear);
}

/// `[M, C]` view of a tensor over its last dim (rank 1: `[1, C]`).
Value collapseTo2d(OpBuilder &b, Location loc, Value x) {
  RankedTensorType type = tensorType(x);
  int64_t rank = type.getRank();
  if (rank == 2)
    return x;
  if (rank == 1)
    return tensor::ExpandShapeOp::create(
        b, loc, RankedTensorType::get({1, type.getDimSize(0)}, b.getF32Type()),
        x, SmallVector<ReassociationIndices>{{0, 1}});
  ReassociationIndices leading(rank - 1);
  std::iota(leading.begin(), leading.end(), 0);
  return tensor::CollapseShapeOp::create(
      b, loc, x, SmallVector<ReassociationIndices>{leading, {rank - 1}});
}

/// The inverse of collapseTo2d: `y2 [M, N]` back to `like`'s leading dims.
Value expandFrom2d(OpBuilder &b, Location loc, Value y2, Value like) {
  RankedTensorType likeType = tensorType(like);
  int64_t rank = likeType.getRank(), n = tensorType(y2).getDimSize(1);
  if (rank == 2)
    return y2;
  SmallVector<int64_t> outShape(likeType.getShape());
  outShape.back() = n;
  auto outType = RankedTensorType::get(outShape, b.getF32Type());
  if (rank == 1)
    return tensor::CollapseShapeOp::create(
        b, loc, outType, y2, SmallVector<ReassociationIndices>{{0, 1}});
  ReassociationIndices leading(rank - 1);
  std::iota(leading.begin(), leading.end(), 0);
  SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, like);
  sizes.back() = b.getIndexAttr(n);
  return tensor::ExpandShapeOp::create(
      b, loc, outType, y2,
      SmallVector<ReassociationIndices>{leading, {rank - 1}}, sizes);
}

/// `y[..., n] = sum_k x[..., k] * w[n, k] (+ bias[n])` as one 2-D
/// contraction over the flattened leading dims, followed by `epilogue` (an
/// elementwise function of the 2-D result, e.g. the MLP's activation) so
/// that the two can share tiles.
Value buildLinear(OpBuilder &b, Location loc, Value x, Value weight,
                  Value bias,
                  function_ref<Value(Value)> epilogue = nullptr) {
  Value y2 = buildLinear2d(b, loc, collapseTo2d(b, loc, x),
                           linearWeight2d(b, loc, weight), bias);
  if (epilogue)
    y2 = epilogue(y2);
  return expandFrom2d(b, loc, y2, x);
}

/// Zero-pads dims 1 and 2 of a `[B, H, W, C]` map by `ph`/`pw` on both sides.
Value padSpatial(OpBuilder &b, Location loc, Value x, int64_t ph, int64_t pw) {
  if (ph == 0 && pw == 0)
    return x;
  SmallVector<OpFoldResult> pads = {b.getIndexAttr(0), b.getIndexAttr(ph),
                                    b.getIndexAttr(pw), b.getIndexAttr(0)};
  return tensor::PadOp::create(b, loc, Type(), x, pads, pads,
                               f32Const(b, loc, 0.0));
}

/// 2-D convolution of a `[B, H, W, C]` map with an OIHW weight:
/// - dense (groups = 1): im2col (role "im2col") into `[B*OH*OW, C*KH*KW]`,
///   then the Linear contraction with the weight viewed as
///   `[F, C*KH*KW]`;
/// - depthwise: the weight transposed to `[KH, KW, F]` and a generic whose
///   innermost loop runs over the channels (contiguous everywhere);
/// - other groupings: one generic reading the group's channels.
Value buildConv2d(OpBuilder &b, Location loc, Value x, Value weight,
                  Value bias, ArrayRef<int64_t> stride,
                  ArrayRef<int64_t> padding, int64_t groups,
                  RankedTensorType resultType) {
  MLIRContext *ctx = b.getContext();
  RankedTensorType wType = tensorType(weight);
  int64_t f = wType.getDimSize(0), cg = wType.getDimSize(1),
          kh = wType.getDimSize(2), kw = wType.getDimSize(3);
  int64_t oh = resultType.getDimSize(1), ow = resultType.getDimSize(2);
  int64_t fg = f / groups;
  Value xp = padSpatial(b, loc, x, padding[0], padding[1]);
  OpFoldResult batch = tensor::getMixedSize(b, loc, x, 0);
  AffineExpr d0 = b.getAffineDimExpr(0), d1 = b.getAffineDimExpr(1),
             d2 = b.getAffineDimExpr(2), d3 = b.getAffineDimExpr(3),
             d4 = b.getAffineDimExpr(4), d5 = b.getAffineDimExpr(5);

  if (groups == 1) {
    // patches[b, i, j, c, u, v] = xpad[b, i*sh+u, j*sw+v, c].
    SmallVector<OpFoldResult> patchSizes = {
        batch,           b.getIndexAttr(oh), b.getIndexAttr(ow),
        b.getIndexAttr(cg), b.getIndexAttr(kh), b.getIndexAttr(kw)};
    Value patches = withRole(
        b,
        buildGeneric(
            b, loc, xp,
            AffineMap::get(6, 0,
                           {d0, d1 * stride[0] + d4, d2 * stride[1] + d5, d3},
                           ctx),
            emptyTensor(b, loc, patchSizes), b.getMultiDimIdentityMap(6),
            SmallVector<IterType>(6, IterType::parallel),
            [](OpBuilder &, Location, ValueRange args) { return args[0]; }),
        kRoleIm2col);
    Value p2 = tensor::CollapseShapeOp::create(
        b, loc, patches,
        SmallVector<ReassociationIndices>{{0, 1, 2}, {3, 4, 5}});
    Value w2 = tensor::CollapseShapeOp::create(
        b, loc, weight, SmallVector<ReassociationIndices>{{0}, {1, 2, 3}});
    Value y2 = buildLinear2d(b, loc, p2, w2, bias);
    SmallVector<OpFoldResult> outSizes = {batch, b.getIndexAttr(oh),
                                          b.getIndexAttr(ow),
                                          b.getIndexAttr(f)};
    return tensor::ExpandShapeOp::create(
        b, loc, resultType, y2,
        SmallVector<ReassociationIndices>{{0, 1, 2}, {3}}, outSizes);
  }

  SmallVector<OpFoldResult> outSizes = {batch, b.getIndexAttr(oh),
                                        b.getIndexAttr(ow), b.getIndexAttr(f)};
  Value init;
  if (bias)
    init = withRole(b,
                    buildGeneric(b, loc, bias, channelMap(b, 4),
                                 emptyTensor(b, loc, outSizes),
                                 b.getMultiDimIdentityMap(4),
                                 SmallVector<IterType>(4, IterType::parallel),
                                 [](OpBuilder &, Location, ValueRange args) {
                                   return args[0];
                                 }),
                    kRoleInit);
  else
    init = zeroTensor(b, loc, outSizes);
  auto fma = [](OpBuilder &b, Location loc, ValueRange args) {
    Value prod = arith::MulFOp::create(b, loc, args[0], args[1]);
    return arith::AddFOp::create(b, loc, args[2], prod).getResult();
  };

  if (cg == 1 && fg == 1) {
    // Depthwise. Loops (b, i, j, u, v, f): the channel loop innermost.
    Value w3 = tensor::CollapseShapeOp::create(
        b, loc, weight, SmallVector<ReassociationIndices>{{0, 1}, {2}, {3}});
    SmallVector<OpFoldResult> wSizes = {b.getIndexAttr(kh), b.getIndexAttr(kw),
                                        b.getIndexAttr(f)};
    auto transpose = linalg::TransposeOp::create(
        b, loc, w3, emptyTensor(b, loc, wSizes), ArrayRef<int64_t>{1, 2, 0});
    transpose->setAttr(kRoleAttr, b.getStringAttr(kRolePack));
    return withRole(
        b,
        buildGeneric(
            b, loc, ValueRange{xp, transpose.getResult()[0]},
            {AffineMap::get(6, 0,
                            {d0, d1 * stride[0] + d3, d2 * stride[1] + d4, d5},
                            ctx),
             AffineMap::get(6, 0, {d3, d4, d5}, ctx)},
            init, AffineMap::get(6, 0, {d0, d1, d2, d5}, ctx),
            {IterType::parallel, IterType::parallel, IterType::parallel,
             IterType::reduction, IterType::reduction, IterType::parallel},
            fma),
        kRoleDepthwise);
  }

  // Grouped. Loops (b, i, j, f, u, v, c).
  AffineExpr d6 = b.getAffineDimExpr(6);
  return buildGeneric(
      b, loc, ValueRange{xp, weight},
      {AffineMap::get(7, 0,
                      {d0, d1 * stride[0] + d4, d2 * stride[1] + d5,
                       d3.floorDiv(fg) * cg + d6},
                      ctx),
       AffineMap::get(7, 0, {d3, d6, d4, d5}, ctx)},
      init, AffineMap::get(7, 0, {d0, d1, d2, d3}, ctx),
      {IterType::parallel, IterType::parallel, IterType::parallel,
       IterType::parallel, IterType::reduction, IterType::reduction,
       IterType::reduction},
      fma);
}

/// `[B, H, W, C]` -> `[B, H*W, C]` (rank-3 inputs unchanged).
Value toTokens(OpBuilder &b, Location loc, Value x) {
  if (tensorType(x).getRank() == 3)
    return x;
  return tensor::CollapseShapeOp::create(
      b, loc, x, SmallVector<ReassociationIndices>{{0}, {1, 2}, {3}});
}

/// The inverse of toTokens for a result shaped `like` (with `channels`).
Value fromTokens(OpBuilder &b, Location loc, Value tokens,
                 RankedTensorType resultType, Value like) {
  if (resultType.getRank() == 3)
    return tokens;
  SmallVector<OpFoldResult> sizes = {tensor::getMixedSize(b, loc, like, 0),
                                     b.getIndexAttr(resultType.getDimSize(1)),
                                     b.getIndexAttr(resultType.getDimSize(2)),
                                     b.getIndexAttr(resultType.getDimSize(3))};
  return tensor::ExpandShapeOp::create(
      b, loc, resultType, tokens,
      SmallVector<ReassociationIndices>{{0}, {1, 2}, {3}}, sizes);
}

/// `out = (res ? res * x : x) + (layer ? layer * branch : branch)`, as a
/// 2-D `[M, C]` generic (role "residual") so that it can share tiles with a
/// Linear producing the branch.
Value buildResidual(OpBuilder &b, Location loc, Value x, Value branch,
                    Value resScale, Value layerScale) {
  Value x2 = collapseTo2d(b, loc, x), branch2 = collapseTo2d(b, loc, branch);
  AffineMap id = b.getMultiDimIdentityMap(2), ch = channelMap(b, 2);
  SmallVector<Value> inputs = {x2, branch2};
  SmallVector<AffineMap> maps = {id, id};
  if (resScale) {
    inputs.push_back(resScale);
    maps.push_back(ch);
  }
  if (layerScale) {
    inputs.push_back(layerScale);
    maps.push_back(ch);
  }
  bool hasRes = static_cast<bool>(resScale);
  bool hasLayer = static_cast<bool>(layerScale);
  Value out2 = withRole(
      b,
      buildElementwise(
          b, loc, x2, inputs, maps,
          [&](OpBuilder &b, Location loc, ValueRange args) -> Value {
            Value skip = args[0], br = args[1];
            unsigned next = 2;
            if (hasRes)
              skip = arith::MulFOp::create(b, loc, args[next++], skip);
            if (hasLayer)
              br = arith::MulFOp::create(b, loc, args[next++], br);
            return arith::AddFOp::create(b, loc, skip, br);
          }),
      kRoleResidual);
  return expandFrom2d(b, loc, out2, x);
}
} // namespace

//===----------------------------------------------------------------------===//
// decomposeOperation
//===----------------------------------------------------------------------===//

FailureOr<SmallVector<Value>> LayerNormOp::decomposeOperation(OpBuilder &b) {
  return SmallVector<Value>{buildLayerNorm(b, getLoc(), getInput(),
                                           getWeight(), getBias(), getAxes(),
                                           getEpsilon().convertToDouble())};
}

FailureOr<SmallVector<Value>> GeluOp::decomposeOperation(OpBuilder &b) {
  return SmallVector<Value>{buildGelu(b, getLoc(), getInput())};
}

FailureOr<SmallVector<Value>> SquaredReluOp::decomposeOperation(OpBuilder &b) {
  return SmallVector<Value>{buildSquaredRelu(b, getLoc(), getInput())};
}

FailureOr<SmallVector<Value>> StarReluOp::decomposeOperation(OpBuilder &b) {
  return SmallVector<Value>{
      buildStarRelu(b, getLoc(), getInput(), getScale(), getBias())};
}

FailureOr<SmallVector<Value>> LinearOp::decomposeOperation(OpBuilder &b) {
  return SmallVector<Value>{
      buildLinear(b, getLoc(), getInput(), getWeight(), getBias())};
}

FailureOr<SmallVector<Value>> MlpOp::decomposeOperation(OpBuilder &b) {
  Location loc = getLoc();
  Value hidden =
      buildLinear(b, loc, getInput(), getFc1Weight(), getFc1Bias(),
                  [&](Value h) {
                    return buildActivation(b, loc, getActivation(), h,
                                           getActScale(), getActBias());
                  });
  return SmallVector<Value>{
      buildLinear(b, loc, hidden, getFc2Weight(), getFc2Bias())};
}

FailureOr<SmallVector<Value>> PoolOp::decomposeOperation(OpBuilder &b) {
  Location loc = getLoc();
  MLIRContext *ctx = b.getContext();
  Value x = getInput();
  int64_t r = getKernelSize() / 2, k = getKernelSize();
  Value xp = padSpatial(b, loc, x, r, r);
  SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, x);

  // Window sums over the zero-padded map: loops (b, h, w, c, u, v).
  AffineExpr db = b.getAffineDimExpr(0), dh = b.getAffineDimExpr(1),
             dw = b.getAffineDimExpr(2), dc = b.getAffineDimExpr(3),
             du = b.getAffineDimExpr(4), dv = b.getAffineDimExpr(5);
  SmallVector<IterType> iterators(4, IterType::parallel);
  iterators.append(2, IterType::reduction);
  // The window extent is given by a [k, k] shape-only operand, as upstream
  // pooling ops do, so that the iteration domain is derivable.
  Value window = tensor::EmptyOp::create(b, loc, SmallVector<int64_t>{k, k},
                                         b.getF32Type());
  Value sum = buildGeneric(
      b, loc, ValueRange{xp, window},
      {AffineMap::get(6, 0, {db, dh + du, dw + dv, dc}, ctx),
       AffineMap::get(6, 0, {du, dv}, ctx)},
      zeroTensor(b, loc, sizes), AffineMap::get(6, 0, {db, dh, dw, dc}, ctx),
      iterators, [](OpBuilder &b, Location loc, ValueRange args) {
        return arith::AddFOp::create(b, loc, args[2], args[0]).getResult();
      });

  // avg - x, dividing by the in-grid neighbour count of each position.
  Value height = getValueOrCreateConstantIndexOp(b, loc, sizes[1]);
  Value width = getValueOrCreateConstantIndexOp(b, loc, sizes[2]);
  AffineMap id = b.getMultiDimIdentityMap(4);
  return SmallVector<Value>{buildElementwise(
      b, loc, x, ValueRange{sum, x}, {id, id},
      [&](OpBuilder &b, Location loc, ValueRange args) -> Value {
        Value rad = arith::ConstantIndexOp::create(b, loc, r);
        Value zero = arith::ConstantIndexOp::create(b, loc, 0);
        Value one = arith::ConstantIndexOp::create(b, loc, 1);
        auto extent = [&](int64_t dim, Value size) -> Value {
          Value pos = linalg::IndexOp::create(b, loc, dim);
          Value last = arith::SubIOp::create(b, loc, size, one);
          Value hi = arith::MinSIOp::create(
              b, loc, arith::AddIOp::create(b, loc, pos, rad), last);
          Value lo = arith::MaxSIOp::create(
              b, loc, arith::SubIOp::create(b, loc, pos, rad), zero);
          return arith::AddIOp::create(
              b, loc, arith::SubIOp::create(b, loc, hi, lo), one);
        };
        Value count =
            arith::MulIOp::create(b, loc, extent(1, height), extent(2, width));
        Value countF = arith::SIToFPOp::create(
            b, loc, b.getF32Type(),
            arith::IndexCastOp::create(b, loc, b.getI64Type(), count));
        Value avg = arith::DivFOp::create(b, loc, args[0], countF);
        return arith::SubFOp::create(b, loc, avg, args[1]);
      })};
}

FailureOr<SmallVector<Value>> IdentityOp::decomposeOperation(OpBuilder &) {
  return SmallVector<Value>{getInput()};
}

FailureOr<SmallVector<Value>> RandomMixOp::decomposeOperation(OpBuilder &b) {
  Location loc = getLoc();
  MLIRContext *ctx = b.getContext();
  Value tokens = toTokens(b, loc, getInput());
  SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, tokens);
  RankedTensorType tokType = tensorType(tokens);
  if (tokType.getDimSize(0) == 1) {
    // One sample: y[n, c] = sum_m R[n, m] x[m, c], a 2-D contraction (role
    // "linear") whose right operand already has the packed [K, N] layout.
    int64_t n = tokType.getDimSize(1), c = tokType.getDimSize(2);
    auto x2Type = RankedTensorType::get({n, c}, b.getF32Type());
    Value x2 = tensor::CollapseShapeOp::create(
        b, loc, x2Type, tokens,
        SmallVector<ReassociationIndices>{{0, 1}, {2}});
    AffineExpr dm = b.getAffineDimExpr(0), dn = b.getAffineDimExpr(1),
               dk = b.getAffineDimExpr(2);
    Value y2 = withRole(
        b,
        buildGeneric(
            b, loc, ValueRange{getMatrix(), x2},
            {AffineMap::get(3, 0, {dm, dk}, ctx),
             AffineMap::get(3, 0, {dk, dn}, ctx)},
            zeroTensor(b, loc, {b.getIndexAttr(n), b.getIndexAttr(c)}),
            AffineMap::get(3, 0, {dm, dn}, ctx),
            {IterType::parallel, IterType::parallel, IterType::reduction},
            [](OpBuilder &b, Location loc, ValueRange args) {
              Value prod = arith::MulFOp::create(b, loc, args[0], args[1]);
              return arith::AddFOp::create(b, loc, args[2], prod).getResult();
            }),
        kRoleLinear);
    Value mixed = tensor::ExpandShapeOp::create(
        b, loc, tokType, y2, SmallVector<ReassociationIndices>{{0, 1}, {2}});
    return SmallVector<Value>{
        fromTokens(b, loc, mixed, tensorType(getResult()), getInput())};
  }
  // Loops (b, n, c, m).
  AffineExpr db = b.getAffineDimExpr(0), dn = b.getAffineDimExpr(1),
             dc = b.getAffineDimExpr(2), dm = b.getAffineDimExpr(3);
  Value mixed = buildGeneric(
      b, loc, ValueRange{getMatrix(), tokens},
      {AffineMap::get(4, 0, {dn, dm}, ctx),
       AffineMap::get(4, 0, {db, dm, dc}, ctx)},
      zeroTensor(b, loc, sizes), AffineMap::get(4, 0, {db, dn, dc}, ctx),
      {IterType::parallel, IterType::parallel, IterType::parallel,
       IterType::reduction},
      [](OpBuilder &b, Location loc, ValueRange args) {
        Value prod = arith::MulFOp::create(b, loc, args[0], args[1]);
        return arith::AddFOp::create(b, loc, args[2], prod).getResult();
      });
  return SmallVector<Value>{
      fromTokens(b, loc, mixed, tensorType(getResult()), getInput())};
}

FailureOr<SmallVector<Value>> SepConvOp::decomposeOperation(OpBuilder &b) {
  Location loc = getLoc();
  Value hidden =
      buildLinear(b, loc, getInput(), getPw1Weight(), Value(), [&](Value h) {
        return buildStarRelu(b, loc, h, getActScale(), getActBias());
      });
  int64_t mid = tensorType(getDwWeight()).getDimSize(0), p = getPadding();
  SmallVector<int64_t> hiddenShape(tensorType(hidden).getShape());
  hidden = buildConv2d(b, loc, hidden, getDwWeight(), Value(), {1, 1}, {p, p},
                       mid, RankedTensorType::get(hiddenShape, b.getF32Type()));
  return SmallVector<Value>{
      buildLinear(b, loc, hidden, getPw2Weight(), Value())};
}

FailureOr<SmallVector<Value>> SelfAttentionOp::decomposeOperation(OpBuilder &b) {
  Location loc = getLoc();
  Value tokens = toTokens(b, loc, getInput());
  RankedTensorType tokType = tensorType(tokens);
  int64_t n = tokType.getDimSize(1), headDim = getHeadDim();
  int64_t attnDim = tensorType(getQkvWeight()).getDimSize(0) / 3;
  int64_t heads = attnDim / headDim;
  OpFoldResult batch = tensor::getMixedSize(b, loc, tokens, 0);
  int64_t batchStatic = tokType.getDimSize(0);

  // [B, N, 3A] -> [B, N, 3, heads, head_dim].
  Value qkv = buildLinear(b, loc, tokens, getQkvWeight(), Value());
  auto qkvType = RankedTensorType::get({batchStatic, n, 3, heads, headDim},
                                       b.getF32Type());
  SmallVector<OpFoldResult> qkvSizes = {batch, b.getIndexAttr(n),
                                        b.getIndexAttr(3),
                                        b.getIndexAttr(heads),
                                        b.getIndexAttr(headDim)};
  Value qkv5 = tensor::ExpandShapeOp::create(
      b, loc, qkvType, qkv,
      SmallVector<ReassociationIndices>{{0}, {1}, {2, 3, 4}}, qkvSizes);

  // q, k, v as [B, heads, N, head_dim].
  auto sliceType =
      RankedTensorType::get({batchStatic, n, heads, headDim}, b.getF32Type());
  SmallVector<OpFoldResult> headSizes = {batch, b.getIndexAttr(heads),
                                         b.getIndexAttr(n),
                                         b.getIndexAttr(headDim)};
  auto part = [&](int64_t i) -> Value {
    SmallVector<OpFoldResult> offsets = {b.getIndexAttr(0), b.getIndexAttr(0),
                                         b.getIndexAttr(i), b.getIndexAttr(0),
                                         b.getIndexAttr(0)};
    SmallVector<OpFoldResult> sizes = {batch, b.getIndexAttr(n),
                                       b.getIndexAttr(1),
                                       b.getIndexAttr(heads),
                                       b.getIndexAttr(headDim)};
    SmallVector<OpFoldResult> strides(5, b.getIndexAttr(1));
    Value slice = tensor::ExtractSliceOp::create(b, loc, sliceType, qkv5,
                                                 offsets, sizes, strides);
    return linalg::TransposeOp::create(b, loc, slice,
                                       emptyTensor(b, loc, headSizes),
                                       ArrayRef<int64_t>{0, 2, 1, 3})
        .getResult()[0];
  };
  Value q = part(0), k = part(1), v = part(2);
  auto attention = AttentionOp::create(b, loc, q, k, v, Value(), MaskAttr(),
                                       std::nullopt, /*withLse=*/false);

  // [B, heads, N, head_dim] -> [B, N, A] -> proj.
  SmallVector<OpFoldResult> tokenSizes = {batch, b.getIndexAttr(n),
                                          b.getIndexAttr(heads),
                                          b.getIndexAttr(headDim)};
  Value back = linalg::TransposeOp::create(b, loc, attention.getOutput(),
                                           emptyTensor(b, loc, tokenSizes),
                                           ArrayRef<int64_t>{0, 2, 1, 3})
                   .getResult()[0];
  Value merged = tensor::CollapseShapeOp::create(
      b, loc, back, SmallVector<ReassociationIndices>{{0}, {1}, {2, 3}});
  Value projected = buildLinear(b, loc, merged, getProjWeight(), Value());
  return SmallVector<Value>{
      fromTokens(b, loc, projected, tensorType(getResult()), getInput())};
}

FailureOr<SmallVector<Value>> Conv2dOp::decomposeOperation(OpBuilder &b) {
  return SmallVector<Value>{buildConv2d(b, getLoc(), getInput(), getWeight(),
                                        getBias(), getStride(), getPadding(),
                                        getGroups(), tensorType(getResult()))};
}

FailureOr<SmallVector<Value>> GlobalAvgPoolOp::decomposeOperation(OpBuilder &b) {
  Location loc = getLoc();
  MLIRContext *ctx = b.getContext();
  Value x = getInput();
  RankedTensorType xType = tensorType(x);
  SmallVector<OpFoldResult> outSizes = {
      tensor::getMixedSize(b, loc, x, 0), b.getIndexAttr(xType.getDimSize(3))};
  // Loops (b, c, h, w).
  AffineExpr db = b.getAffineDimExpr(0), dc = b.getAffineDimExpr(1),
             dh = b.getAffineDimExpr(2), dw = b.getAffineDimExpr(3);
  Value sum = buildGeneric(
      b, loc, x, AffineMap::get(4, 0, {db, dh, dw, dc}, ctx),
      zeroTensor(b, loc, outSizes), AffineMap::get(4, 0, {db, dc}, ctx),
      {IterType::parallel, IterType::parallel, IterType::reduction,
       IterType::reduction},
      [](OpBuilder &b, Location loc, ValueRange args) {
        return arith::AddFOp::create(b, loc, args[1], args[0]).getResult();
      });
  Value inv = f32Const(
      b, loc, 1.0 / static_cast<double>(xType.getDimSize(1) * xType.getDimSize(2)));
  return SmallVector<Value>{buildElementwise(
      b, loc, sum, sum, b.getMultiDimIdentityMap(2),
      [&](OpBuilder &b, Location loc, ValueRange args) -> Value {
        return arith::MulFOp::create(b, loc, args[0], inv);
      })};
}

FailureOr<SmallVector<Value>> MlpHeadOp::decomposeOperation(OpBuilder &b) {
  Location loc = getLoc();
  Value hidden = buildLinear(b, loc, getInput(), getFc1Weight(),
                             getFc1Bias(), [&](Value h) {
                               return buildSquaredRelu(b, loc, h);
                             });
  hidden = buildLayerNorm(b, loc, hidden, getNormWeight(), getNormBias(),
                          {1}, getEpsilon().convertToDouble());
  return SmallVector<Value>{
      buildLinear(b, loc, hidden, getFc2Weight(), getFc2Bias())};
}

FailureOr<SmallVector<Value>> BlockOp::decomposeOperation(OpBuilder &b) {
  Location loc = getLoc();
  auto branch = [&](Region &region, Value stream) -> Value {
    Block &body = region.front();
    IRMapping mapping;
    mapping.map(body.getArgument(0), stream);
    for (Operation &op : body.without_terminator())
      b.clone(op, mapping);
    return mapping.lookupOrDefault(
        cast<YieldOp>(body.getTerminator()).getValue());
  };
  Value x = getInput();
  Value mixed = branch(getTokenMixer(), x);
  Value y = buildResidual(b, loc, x, mixed, getResScale1(), getLayerScale1());
  Value mlp = branch(getMlp(), y);
  return SmallVector<Value>{
      buildResidual(b, loc, y, mlp, getResScale2(), getLayerScale2())};
}
