//===- DecomposeLayers.cpp - MetaFormer layer ops -> linalg ---------------===//
//
// Implements DecomposeLayersPass (see Passes.td) on top of the ops'
// AggregatedOpInterface.
//
//===----------------------------------------------------------------------===//

#include "Mixer/IR/MixerOps.h"
#include "Mixer/Transforms/Passes.h"

#include "mlir/IR/PatternMatch.h"

namespace tmix::mixer {
#define GEN_PASS_DEF_DECOMPOSELAYERSPASS
#include "Mixer/Transforms/Passes.h.inc"
} // namespace tmix::mixer

using namespace mlir;
using namespace tmix::mixer;

namespace {
struct DecomposeLayersPass
    : public tmix::mixer::impl::DecomposeLayersPassBase<DecomposeLayersPass> {
  void runOnOperation() override {
    // Post-order: the ops inside a mixer.block's regions come before the
    // block, so the block clones already-decomposed bodies, and nothing
    // collected is erased before its turn.
    SmallVector<linalg::AggregatedOpInterface> ops;
    getOperation()->walk([&](linalg::AggregatedOpInterface op) {
      if (isa<MixerDialect>(op->getDialect()) &&
          !isa<AttentionOp, OnlineAttentionOp>(op))
        ops.push_back(op);
    });
    IRRewriter rewriter(&getContext());
    for (linalg::AggregatedOpInterface op : ops) {
      rewriter.setInsertionPoint(op);
      FailureOr<SmallVector<Value>> values = op.decomposeOperation(rewriter);
      if (failed(values)) {
        op->emitOpError("could not be decomposed");
        return signalPassFailure();
      }
      rewriter.replaceOp(op, *values);
    }
  }
};
} // namespace
