//===- ApproximateMath.cpp - polynomial exp, log and erf -----------------===//
//
// Implements ApproximateMathPass (see Passes.td) with MLIR's polynomial
// approximation patterns.
//
//===----------------------------------------------------------------------===//

#include "Mixer/Transforms/Passes.h"

#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace tmix::mixer {
#define GEN_PASS_DEF_APPROXIMATEMATHPASS
#include "Mixer/Transforms/Passes.h.inc"
} // namespace tmix::mixer

using namespace mlir;

namespace {
struct ApproximateMathPass
    : public tmix::mixer::impl::ApproximateMathPassBase<ApproximateMathPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateMathPolynomialApproximationPatterns(
        patterns, [](StringRef name) {
          return name == math::ExpOp::getOperationName() ||
                 name == math::LogOp::getOperationName() ||
                 name == math::ErfOp::getOperationName();
        });
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};
} // namespace
