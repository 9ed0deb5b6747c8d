//===- VectorizeAttention.cpp - register tiles for attention contractions -===//
//
// Implements VectorizeAttentionPass (see Passes.td): builds the schedule as a
// transform-dialect script and runs the transform interpreter on the pass's
// operation.
//
//===----------------------------------------------------------------------===//

#include "Mixer/IR/AttentionUtils.h"
#include "Mixer/Transforms/BuiltinSchedule.h"
#include "Mixer/Transforms/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/IR/PatternMatch.h"
#include "llvm/Support/FormatVariadic.h"

namespace tmix::mixer {
#define GEN_PASS_DEF_VECTORIZEATTENTIONPASS
#include "Mixer/Transforms/Passes.h.inc"
} // namespace tmix::mixer

using namespace mlir;

namespace {

/// The schedule. {0} = rows, {1} = cols, {2} = role attribute name,
/// {3} = scores role, {4} = values role, {5} = kPeelSequence, {6} = softmax
/// role, {7} = softmax-cols, {8} = score-rows, {9} = score-cols.
///
/// scores (b h g j i d): tiles [1 1 1 score-rows score-cols 1]; loops i then
/// j peeled.
/// values (b h g i j e): tiles [1 1 1 rows 1 cols] with e outside the key
/// loop j (interchange), so j is the innermost, register-resident reduction;
/// loop i peeled (e is the static Dv).
/// softmax passes (b h g j i): tiles [1 1 1 1 softmax-cols], the query-row
/// loop i outside the key loop j (interchange), so that a row reduction
/// keeps its softmax-cols accumulators in registers over the keys; loop i
/// peeled.
constexpr const char *kSchedule = R"mlir(
module attributes {{transform.with_named_sequence} {{
{5}  transform.named_sequence @__transform_main(%root: !transform.any_op {{transform.readonly}) {{
    %qk = transform.structured.match ops{{["linalg.generic"]} attributes{{"{2}" = "{3}"} in %root
        : (!transform.any_op) -> !transform.any_op
    %t, %l:6 = transform.structured.tile_using_for %qk tile_sizes [1, 1, 1, {8}, {9}, 1]
        : (!transform.any_op) -> (!transform.any_op, !transform.any_op, !transform.any_op,
                                  !transform.any_op, !transform.any_op, !transform.any_op,
                                  !transform.any_op)
    %li = transform.cast %l#3 : !transform.any_op to !transform.op<"scf.for">
    %lj = transform.cast %l#4 : !transform.any_op to !transform.op<"scf.for">
    transform.include @peel failures(suppress) (%lj) : (!transform.op<"scf.for">) -> ()
    transform.include @peel failures(suppress) (%li) : (!transform.op<"scf.for">) -> ()

    %pv = transform.structured.match ops{{["linalg.generic"]} attributes{{"{2}" = "{4}"} in %root
        : (!transform.any_op) -> !transform.any_op
    %t2, %m:6 = transform.structured.tile_using_for %pv tile_sizes [1, 1, 1, {0}, 1, {1}]
        interchange = [0, 1, 2, 3, 5, 4]
        : (!transform.any_op) -> (!transform.any_op, !transform.any_op, !transform.any_op,
                                  !transform.any_op, !transform.any_op, !transform.any_op,
                                  !transform.any_op)
    %mi2 = transform.cast %m#3 : !transform.any_op to !transform.op<"scf.for">
    transform.include @peel failures(suppress) (%mi2) : (!transform.op<"scf.for">) -> ()

    %sm = transform.structured.match ops{{["linalg.generic"]} attributes{{"{2}" = "{6}"} in %root
        : (!transform.any_op) -> !transform.any_op
    %t3, %n:5 = transform.structured.tile_using_for %sm tile_sizes [1, 1, 1, 1, {7}]
        interchange = [0, 1, 2, 4, 3]
        : (!transform.any_op) -> (!transform.any_op, !transform.any_op, !transform.any_op,
                                  !transform.any_op, !transform.any_op, !transform.any_op)
    %ni = transform.cast %n#3 : !transform.any_op to !transform.op<"scf.for">
    transform.include @peel failures(suppress) (%ni) : (!transform.op<"scf.for">) -> ()

    %f = transform.structured.match ops{{["func.func"]} in %root : (!transform.any_op) -> !transform.any_op
    transform.apply_patterns to %f {{
      transform.apply_patterns.canonicalization
    } : !transform.any_op
    %full = transform.structured.match ops{{["linalg.generic"]}
        filter_result_type = tensor<1x1x1x{0}x{1}xf32> in %root
        : (!transform.any_op) -> !transform.any_op
    transform.structured.vectorize %full : !transform.any_op
    %fullqk = transform.structured.match ops{{["linalg.generic"]}
        attributes{{"{2}" = "{3}"} filter_result_type = tensor<1x1x1x{8}x{9}xf32> in %root
        : (!transform.any_op) -> !transform.any_op
    transform.structured.vectorize %fullqk : !transform.any_op
    %rows = transform.structured.match ops{{["linalg.generic"]}
        filter_result_type = tensor<1x1x1x1x{7}xf32> in %root
        : (!transform.any_op) -> !transform.any_op
    transform.structured.vectorize %rows : !transform.any_op
    %reds = transform.structured.match ops{{["linalg.generic"]}
        filter_result_type = tensor<1x1x1x{7}xf32> in %root
        : (!transform.any_op) -> !transform.any_op
    transform.structured.vectorize %reds : !transform.any_op

    transform.yield
  }
}
)mlir";

/// Then: contractions to outer products to FMAs.
constexpr const char *kLowering = R"mlir(
module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    %f = transform.structured.match ops{["func.func"]} in %root : (!transform.any_op) -> !transform.any_op
    transform.apply_patterns to %f {
      transform.apply_patterns.vector.lower_contraction lowering_strategy = "outerproduct"
      transform.apply_patterns.vector.lower_outerproduct
      transform.apply_patterns.vector.transfer_permutation_patterns
      transform.apply_patterns.canonicalization
    } : !transform.any_op
    transform.yield
  }
}
)mlir";

/// Vectorizes the partial (edge) tiles the schedule left as generics when
/// their shapes are static: the remainders of full score blocks and query
/// tiles when the register tile does not divide them (e.g. 64 rows = 10 x 6
/// + 4). Dynamic edges (the last block of a length the tiles do not divide)
/// stay loops.
LogicalResult vectorizeStaticPartialTiles(Operation *root) {
  SmallVector<linalg::GenericOp> todo;
  root->walk([&](linalg::GenericOp op) {
    auto role = op->getAttrOfType<StringAttr>(tmix::mixer::kRoleAttr);
    if (!role || role.getValue() == tmix::mixer::kRoleQuery ||
        !op.hasPureTensorSemantics())
      return;
    // Only tiles: a few vector registers' worth of results.
    SmallVector<int64_t> ranges = op.getStaticLoopRanges();
    int64_t outputs = 1;
    for (auto [range, type] : llvm::zip(ranges, op.getIteratorTypesArray())) {
      if (ShapedType::isDynamic(range))
        return;
      if (type == utils::IteratorType::parallel)
        outputs *= range;
    }
    if (outputs > 256 || failed(linalg::vectorizeOpPrecondition(op)))
      return;
    todo.push_back(op);
  });
  IRRewriter rewriter(root->getContext());
  for (linalg::GenericOp op : todo) {
    rewriter.setInsertionPoint(op);
    FailureOr<linalg::VectorizationResult> result =
        linalg::vectorize(rewriter, op);
    if (failed(result))
      return op->emitError("mixer-vectorize-attention: could not vectorize a "
                           "partial tile");
    rewriter.replaceOp(op, result->replacements);
  }
  return success();
}

struct VectorizeAttentionPass
    : public tmix::mixer::impl::VectorizeAttentionPassBase<
          VectorizeAttentionPass> {
  using Base::Base;

  void runOnOperation() override {
    Operation *root = getOperation();
    if (softmaxCols < 1) {
      root->emitError() << "mixer-vectorize-attention: softmax-cols must be "
                           ">= 1, got "
                        << static_cast<int64_t>(softmaxCols);
      return signalPassFailure();
    }
    if (scoreRows < 1 || scoreCols < 1) {
      root->emitError() << "mixer-vectorize-attention: score-rows and "
                           "score-cols must be >= 1, got "
                        << static_cast<int64_t>(scoreRows) << " and "
                        << static_cast<int64_t>(scoreCols);
      return signalPassFailure();
    }
    if (rows < 1 || cols < 1) {
      root->emitError() << "mixer-vectorize-attention: rows and cols must be "
                           ">= 1, got "
                        << static_cast<int64_t>(rows) << " and "
                        << static_cast<int64_t>(cols);
      return signalPassFailure();
    }
    // Nothing to schedule: leave the IR (and its handles) alone.
    bool any = false;
    root->walk([&](Operation *op) {
      any |= op->hasAttr(tmix::mixer::kRoleAttr);
    });
    if (!any)
      return;

    std::string text = llvm::formatv(
        kSchedule, static_cast<int64_t>(rows), static_cast<int64_t>(cols),
        tmix::mixer::kRoleAttr, tmix::mixer::kRoleScores,
        tmix::mixer::kRoleValues, tmix::mixer::kPeelSequence,
        tmix::mixer::kRoleSoftmax, static_cast<int64_t>(softmaxCols),
        static_cast<int64_t>(scoreRows), static_cast<int64_t>(scoreCols));
    if (failed(tmix::mixer::applyBuiltinSchedule(root, text,
                                                 "mixer-vectorize-attention")) ||
        failed(vectorizeStaticPartialTiles(root)) ||
        failed(tmix::mixer::applyBuiltinSchedule(root, kLowering,
                                                 "mixer-vectorize-attention")) ||
        failed(tmix::mixer::scalarizeBroadcastReads(root)))
      return signalPassFailure();
  }
};
} // namespace
