//===- BroadcastReads.cpp - broadcast loads for register tiles ------------===//
//
// Implements scalarizeBroadcastReads (BuiltinSchedule.h).
//
//===----------------------------------------------------------------------===//

#include "Mixer/Transforms/BuiltinSchedule.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

using namespace mlir;

namespace {

/// The one dimension of `type` longer than 1, or -1.
int64_t onlyLongDim(VectorType type) {
  int64_t dim = -1;
  for (auto [i, size] : llvm::enumerate(type.getShape())) {
    if (size == 1)
      continue;
    if (dim >= 0)
      return -1;
    dim = i;
  }
  return dim;
}

/// Whether every use of `read` (whose only long dimension is `longDim`)
/// splats its elements: a broadcast to more dimensions, then a transpose
/// that moves the read's dimension off the innermost non-unit dimension of
/// the result, so that each element is broadcast along a vector.
bool onlySplats(vector::TransferReadOp read, int64_t longDim) {
  if (read->use_empty())
    return false;
  int64_t rank = read.getVectorType().getRank();
  for (Operation *user : read->getUsers()) {
    auto broadcast = dyn_cast<vector::BroadcastOp>(user);
    if (!broadcast || broadcast->use_empty())
      return false;
    auto wide = cast<VectorType>(broadcast.getType());
    int64_t dim = wide.getRank() - rank + longDim;
    for (Operation *next : broadcast->getUsers()) {
      auto transpose = dyn_cast<vector::TransposeOp>(next);
      if (!transpose)
        return false;
      ArrayRef<int64_t> perm = transpose.getPermutation();
      ArrayRef<int64_t> shape = transpose.getResultVectorType().getShape();
      int64_t innermost = -1;
      for (int64_t i = shape.size() - 1; i >= 0 && innermost < 0; --i)
        if (shape[i] != 1)
          innermost = i;
      if (innermost < 0 || perm[innermost] == dim)
        return false;
    }
  }
  return true;
}

/// A small vector read from a tensor whose elements are each broadcast
/// along a register tile's rows becomes one scalar read per element.
struct ScalarizeBroadcastRead
    : public OpRewritePattern<vector::TransferReadOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(vector::TransferReadOp read,
                                PatternRewriter &rewriter) const override {
    VectorType type = read.getVectorType();
    auto source = dyn_cast<RankedTensorType>(read.getBase().getType());
    if (!source || read.getMask() || type.isScalable() ||
        type.getNumElements() < 2 ||
        type.getNumElements() > tmix::mixer::kMaxScalarizedRead ||
        type.getRank() != source.getRank() ||
        !read.getPermutationMap().isMinorIdentity() ||
        llvm::any_of(read.getInBoundsValues(), [](bool b) { return !b; }))
      return failure();
    int64_t longDim = onlyLongDim(type);
    if (longDim < 0 || !onlySplats(read, longDim))
      return failure();
    Location loc = read.getLoc();
    SmallVector<Value> indices(read.getIndices());
    Value first = indices[longDim];
    SmallVector<Value> elements;
    for (int64_t e = 0; e < type.getNumElements(); ++e) {
      if (e > 0)
        indices[longDim] = rewriter.createOrFold<arith::AddIOp>(
            loc, first, arith::ConstantIndexOp::create(rewriter, loc, e));
      elements.push_back(
          tensor::ExtractOp::create(rewriter, loc, read.getBase(), indices));
    }
    rewriter.replaceOpWithNewOp<vector::FromElementsOp>(read, type, elements);
    return success();
  }
};

} // namespace

LogicalResult tmix::mixer::scalarizeBroadcastReads(Operation *root) {
  RewritePatternSet patterns(root->getContext());
  patterns.add<ScalarizeBroadcastRead>(root->getContext());
  return applyPatternsGreedily(root, std::move(patterns));
}
