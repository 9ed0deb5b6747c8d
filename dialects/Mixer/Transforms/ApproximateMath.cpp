//===- ApproximateMath.cpp - polynomial exp, log and erf -----------------===//
//
// Implements ApproximateMathPass (see Passes.td) with MLIR's polynomial
// approximation patterns, and a shorter expansion of the softmax's exp of a
// non-positive argument.
//
//===----------------------------------------------------------------------===//

#include "Mixer/IR/AttentionUtils.h"
#include "Mixer/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace tmix::mixer {
#define GEN_PASS_DEF_APPROXIMATEMATHPASS
#include "Mixer/Transforms/Passes.h.inc"
} // namespace tmix::mixer

using namespace mlir;

namespace {

/// exp(x) for x <= 0 (or -inf, or NaN) on f32, as 2^t with t = x·log2(e):
///   t = max(t, -127)          (-inf and tiny values: 2^-127 below)
///   k = roundeven(t), f = t - k in [-1/2, 1/2]
///   2^f = 1 + f·P(f)          (Cephes exp2f, degree 6, ~1 ulp)
///   2^k = bits((k + 2^23 + 127) << 23): k + 127 in [0, 127] sits in the
///         low mantissa bits of k + 2^23 + 127 and shifts into the exponent
///         field; k = -127 gives exponent 0, i.e. 2^k = +0, so exp(-inf) is
///         exactly 0 (masked scores) and results below ~2^-126 flush to 0.
/// 13 operations against ~22 for the general approximation, which must
/// also handle positive arguments (overflow) and denormal results. NaN
/// propagates (the clamp keeps NaN; NaN times anything is NaN).
struct ExpNonPositive : public OpRewritePattern<math::ExpOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(math::ExpOp op,
                                PatternRewriter &rewriter) const override {
    if (!op->hasAttr(tmix::mixer::kExpNonPositiveAttr))
      return failure();
    Type type = op.getType();
    auto vectorType = dyn_cast<VectorType>(type);
    if (getElementTypeOrSelf(type) != rewriter.getF32Type())
      return failure();
    Type i32 = rewriter.getI32Type();
    Type intType = vectorType ? Type(vectorType.clone(i32)) : i32;
    Location loc = op.getLoc();
    auto f = [&](double v) -> Value {
      TypedAttr attr = rewriter.getF32FloatAttr(static_cast<float>(v));
      if (vectorType)
        attr = SplatElementsAttr::get(vectorType, attr);
      return arith::ConstantOp::create(rewriter, loc, attr);
    };
    auto i = [&](int32_t v) -> Value {
      TypedAttr attr = rewriter.getI32IntegerAttr(v);
      if (vectorType)
        attr = SplatElementsAttr::get(cast<VectorType>(intType), attr);
      return arith::ConstantOp::create(rewriter, loc, attr);
    };
    Value t = arith::MulFOp::create(rewriter, loc, op.getOperand(),
                                    f(1.4426950408889634));
    Value low = f(-127.0);
    Value below = arith::CmpFOp::create(rewriter, loc,
                                        arith::CmpFPredicate::OLT, t, low);
    t = arith::SelectOp::create(rewriter, loc, below, low, t);
    Value k = math::RoundEvenOp::create(rewriter, loc, t);
    Value frac = arith::SubFOp::create(rewriter, loc, t, k);
    static constexpr double kP[] = {1.535336188319500e-4, 1.339887440266574e-3,
                                    9.618437357674640e-3, 5.550332471162809e-2,
                                    2.402264791363012e-1, 6.931472028550421e-1};
    Value p = f(kP[0]);
    for (double c : ArrayRef<double>(kP).drop_front())
      p = math::FmaOp::create(rewriter, loc, p, frac, f(c));
    Value pow2f = math::FmaOp::create(rewriter, loc, p, frac, f(1.0));
    Value biased = arith::AddFOp::create(rewriter, loc, k, f(8388608.0 + 127.0));
    Value bits = arith::ShLIOp::create(
        rewriter, loc, arith::BitcastOp::create(rewriter, loc, intType, biased),
        i(23));
    Value pow2k = arith::BitcastOp::create(rewriter, loc, type, bits);
    rewriter.replaceOpWithNewOp<arith::MulFOp>(op, pow2f, pow2k);
    return success();
  }
};

struct ApproximateMathPass
    : public tmix::mixer::impl::ApproximateMathPassBase<ApproximateMathPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<ExpNonPositive>(&getContext(), /*benefit=*/2);
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
