//===- AttentionTiling.cpp - TilingInterface of mixer.online_attention ----===//
//
// Iteration domain [B, Hq, L, S]; S is a reduction. A tile reads the query
// rows and key/value rows of its ranges, and shifts the absolute positions
// (row_pos, col_pos) by the tile offsets, so the mask stays exact. Along Hq a
// tile must cover whole groups of G query heads or lie within one group: its
// query heads then read a contiguous range of key/value heads, never a copy.
//
//===----------------------------------------------------------------------===//

#include "Mixer/IR/MixerOps.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace tmix::mixer;

SmallVector<utils::IteratorType> OnlineAttentionOp::getLoopIteratorTypes() {
  return {utils::IteratorType::parallel, utils::IteratorType::parallel,
          utils::IteratorType::parallel, utils::IteratorType::reduction};
}

SmallVector<Range> OnlineAttentionOp::getIterationDomain(OpBuilder &b) {
  Location loc = getLoc();
  OpFoldResult zero = b.getIndexAttr(0), one = b.getIndexAttr(1);
  return {Range{zero, tensor::getMixedSize(b, loc, getQuery(), 0), one},
          Range{zero, tensor::getMixedSize(b, loc, getQuery(), 1), one},
          Range{zero, tensor::getMixedSize(b, loc, getQuery(), 2), one},
          Range{zero, tensor::getMixedSize(b, loc, getKey(), 2), one}};
}

namespace {
Value slice(OpBuilder &b, Location loc, Value source,
            ArrayRef<OpFoldResult> offsets, ArrayRef<OpFoldResult> sizes,
            SmallVectorImpl<Operation *> &generated) {
  SmallVector<OpFoldResult> strides(offsets.size(), b.getIndexAttr(1));
  auto op = tensor::ExtractSliceOp::create(b, loc, source, offsets, sizes,
                                           strides);
  generated.push_back(op);
  return op.getResult();
}
} // namespace

FailureOr<TilingResult>
OnlineAttentionOp::getTiledImplementation(OpBuilder &b,
                                          ArrayRef<OpFoldResult> offsets,
                                          ArrayRef<OpFoldResult> sizes) {
  Location loc = getLoc();
  int64_t group = getGroupSize();
  OpFoldResult zero = b.getIndexAttr(0);
  OpFoldResult d = b.getIndexAttr(getQueryType().getDimSize(3));
  OpFoldResult dv = b.getIndexAttr(getValueType().getDimSize(3));

  // Key/value heads read by query heads [offsets[1], offsets[1] + sizes[1]).
  OpFoldResult kvOffset, kvSize;
  std::optional<int64_t> headTile = getConstantIntValue(sizes[1]);
  AffineExpr h = b.getAffineDimExpr(0);
  if (group == 1) {
    kvOffset = offsets[1];
    kvSize = sizes[1];
  } else if (headTile && *headTile % group == 0) {
    kvOffset = affine::makeComposedFoldedAffineApply(b, loc, h.floorDiv(group),
                                                     {offsets[1]});
    kvSize = b.getIndexAttr(*headTile / group);
  } else if (headTile && group % *headTile == 0) {
    kvOffset = affine::makeComposedFoldedAffineApply(b, loc, h.floorDiv(group),
                                                     {offsets[1]});
    kvSize = b.getIndexAttr(1);
  } else {
    return emitOpError() << "cannot tile the query heads by "
                         << (headTile ? std::to_string(*headTile) : "?")
                         << ": a tile must cover whole groups of " << group
                         << " query heads or lie within one group";
  }

  SmallVector<Operation *> generated;
  Value q = slice(b, loc, getQuery(), {offsets[0], offsets[1], offsets[2], zero},
                  {sizes[0], sizes[1], sizes[2], d}, generated);
  Value k = slice(b, loc, getKey(), {offsets[0], kvOffset, offsets[3], zero},
                  {sizes[0], kvSize, sizes[3], d}, generated);
  Value v = slice(b, loc, getValue(), {offsets[0], kvOffset, offsets[3], zero},
                  {sizes[0], kvSize, sizes[3], dv}, generated);
  Value bias;
  if (getBias()) {
    // Right-aligned to the domain; size-1 dims stay broadcast.
    auto bType = cast<RankedTensorType>(getBias().getType());
    int64_t rank = bType.getRank();
    SmallVector<OpFoldResult> bOff, bSize;
    for (int64_t i = 0; i < rank; ++i) {
      int64_t dim = i + 4 - rank;
      bool broadcast = bType.getDimSize(i) == 1;
      bOff.push_back(broadcast ? zero : offsets[dim]);
      bSize.push_back(broadcast ? b.getIndexAttr(1) : sizes[dim]);
    }
    bias = slice(b, loc, getBias(), bOff, bSize, generated);
  }
  SmallVector<OpFoldResult> rowOff(offsets.take_front(3)),
      rowSize(sizes.take_front(3));
  SmallVector<OpFoldResult> accOff(rowOff), accSize(rowSize);
  accOff.push_back(zero);
  accSize.push_back(dv);
  Value acc = slice(b, loc, getAcc(), accOff, accSize, generated);
  Value max = slice(b, loc, getMax(), rowOff, rowSize, generated);
  Value sum = slice(b, loc, getSum(), rowOff, rowSize, generated);

  auto add = [&](Value base, OpFoldResult off) -> Value {
    if (isZeroInteger(off))
      return base;
    return arith::AddIOp::create(
        b, loc, base, getValueOrCreateConstantIndexOp(b, loc, off));
  };
  auto tiled = OnlineAttentionOp::create(
      b, loc, TypeRange{acc.getType(), max.getType(), sum.getType()}, q, k, v,
      add(getRowPos(), offsets[2]), add(getColPos(), offsets[3]), acc, max,
      sum, bias, getScaleAttr(), getMaskAttr());
  return TilingResult{{tiled},
                      SmallVector<Value>(tiled->getResults()),
                      generated};
}

LogicalResult OnlineAttentionOp::getResultTilePosition(
    OpBuilder &b, unsigned resultNumber, ArrayRef<OpFoldResult> offsets,
    ArrayRef<OpFoldResult> sizes, SmallVector<OpFoldResult> &resultOffsets,
    SmallVector<OpFoldResult> &resultSizes) {
  resultOffsets.assign(offsets.begin(), offsets.begin() + 3);
  resultSizes.assign(sizes.begin(), sizes.begin() + 3);
  if (resultNumber == 0) {
    resultOffsets.push_back(b.getIndexAttr(0));
    resultSizes.push_back(b.getIndexAttr(getValueType().getDimSize(3)));
  }
  return success();
}
