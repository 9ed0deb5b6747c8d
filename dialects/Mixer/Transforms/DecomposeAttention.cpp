//===- DecomposeAttention.cpp - mixer attention ops -> unfused linalg -----===//
//
// Implements DecomposeAttentionPass (see Passes.td) on top of the ops'
// AggregatedOpInterface: mixer.attention decomposes into
// mixer.online_attention plus the normalisation, which decomposes into
// linalg.
//
//===----------------------------------------------------------------------===//

#include "Mixer/IR/MixerOps.h"
#include "Mixer/Transforms/Passes.h"

#include "mlir/IR/PatternMatch.h"

namespace tmix::mixer {
#define GEN_PASS_DEF_DECOMPOSEATTENTIONPASS
#include "Mixer/Transforms/Passes.h.inc"
} // namespace tmix::mixer

using namespace mlir;
using namespace tmix::mixer;

namespace {
/// Decomposes `op` through its AggregatedOpInterface and replaces it.
LogicalResult decompose(RewriterBase &rewriter, Operation *op) {
  auto aggregated = cast<linalg::AggregatedOpInterface>(op);
  rewriter.setInsertionPoint(op);
  FailureOr<SmallVector<Value>> values = aggregated.decomposeOperation(rewriter);
  if (failed(values))
    return op->emitOpError("could not be decomposed");
  rewriter.replaceOp(op, *values);
  return success();
}

struct DecomposeAttentionPass
    : public tmix::mixer::impl::DecomposeAttentionPassBase<
          DecomposeAttentionPass> {
  void runOnOperation() override {
    IRRewriter rewriter(&getContext());
    // mixer.attention first: its decomposition creates online_attention ops.
    SmallVector<Operation *> ops;
    getOperation()->walk([&](AttentionOp op) { ops.push_back(op); });
    for (Operation *op : ops)
      if (failed(decompose(rewriter, op)))
        return signalPassFailure();
    ops.clear();
    getOperation()->walk([&](OnlineAttentionOp op) { ops.push_back(op); });
    for (Operation *op : ops)
      if (failed(decompose(rewriter, op)))
        return signalPassFailure();
  }
};
} // namespace
