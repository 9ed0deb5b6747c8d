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

#include "llvm/Support/FormatVariadic.h"

namespace tmix::mixer {
#define GEN_PASS_DEF_VECTORIZEATTENTIONPASS
#include "Mixer/Transforms/Passes.h.inc"
} // namespace tmix::mixer

using namespace mlir;

namespace {

/// The schedule. {0} = rows, {1} = cols, {2} = role attribute name,
/// {3} = scores role, {4} = values role, {5} = kPeelSequence.
///
/// scores (b h g i j d): tiles [1 1 1 rows cols 1]; loops j then i peeled.
/// values (b h g i j e): tiles [1 1 1 rows 1 cols] with e outside the key
/// loop j (interchange), so j is the innermost, register-resident reduction;
/// loop i peeled (e is the static Dv).
constexpr const char *kSchedule = R"mlir(
module attributes {{transform.with_named_sequence} {{
{5}  transform.named_sequence @__transform_main(%root: !transform.any_op {{transform.readonly}) {{
    %qk = transform.structured.match ops{{["linalg.generic"]} attributes{{"{2}" = "{3}"} in %root
        : (!transform.any_op) -> !transform.any_op
    %t, %l:6 = transform.structured.tile_using_for %qk tile_sizes [1, 1, 1, {0}, {1}, 1]
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

    %f = transform.structured.match ops{{["func.func"]} in %root : (!transform.any_op) -> !transform.any_op
    transform.apply_patterns to %f {{
      transform.apply_patterns.canonicalization
    } : !transform.any_op
    %full = transform.structured.match ops{{["linalg.generic"]}
        filter_result_type = tensor<1x1x1x{0}x{1}xf32> in %root
        : (!transform.any_op) -> !transform.any_op
    transform.structured.vectorize %full : !transform.any_op
    transform.apply_patterns to %f {{
      transform.apply_patterns.vector.lower_contraction lowering_strategy = "outerproduct"
      transform.apply_patterns.vector.lower_outerproduct
      transform.apply_patterns.vector.transfer_permutation_patterns
      transform.apply_patterns.canonicalization
    } : !transform.any_op
    transform.yield
  }
}
)mlir";

struct VectorizeAttentionPass
    : public tmix::mixer::impl::VectorizeAttentionPassBase<
          VectorizeAttentionPass> {
  using Base::Base;

  void runOnOperation() override {
    Operation *root = getOperation();
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
        tmix::mixer::kRoleValues, tmix::mixer::kPeelSequence);
    if (failed(tmix::mixer::applyBuiltinSchedule(root, text,
                                                 "mixer-vectorize-attention")))
      return signalPassFailure();
  }
};
} // namespace
