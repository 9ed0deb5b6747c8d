//===- DecomposeAttention.cpp - mixer attention ops -> unfused linalg -----===//
//
// Implements DecomposeAttentionPass (see Passes.td) on top of the ops'
// AggregatedOpInterface: mixer.attention decomposes into
// mixer.online_attention plus the normalisation, which decomposes into
// linalg.
//
//===----------------------------------------------------------------------===//

#include "Mixer/IR/AttentionUtils.h"
#include "Mixer/IR/MixerOps.h"
#include "Mixer/Transforms/Passes.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/LoopLikeInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Transforms/RegionUtils.h"

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

/// Collects into `chain`, operands first, `op` and the producers inside
/// `loop` that it depends on, if all of them are side-effect free and
/// nothing depends on a value the loop defines (its induction variable or
/// iteration arguments). Returns false otherwise.
bool collectInvariantChain(Operation *op, LoopLikeOpInterface loop,
                           llvm::SetVector<Operation *> &chain) {
  if (chain.contains(op))
    return true;
  if (!isMemoryEffectFree(op))
    return false;
  llvm::SetVector<Value> used(op->getOperands().begin(),
                              op->getOperands().end());
  for (Region &region : op->getRegions())
    getUsedValuesDefinedAbove(region, used);
  for (Value v : used) {
    if (loop.isDefinedOutsideOfLoop(v))
      continue;
    Operation *def = v.getDefiningOp();
    if (!def || !collectInvariantChain(def, loop, chain))
      return false;
  }
  chain.insert(op);
  return true;
}

/// Moves the scaled, transposed query of every decomposed tile (and the
/// slices it reads) out of the key loops it does not depend on, also out of
/// the scf.if that separates mask-free from boundary blocks: it is then
/// computed once per query tile instead of once per key block (CSE merges
/// the copies of both branches).
void hoistQueryTranspose(Operation *root) {
  SmallVector<Operation *> queries;
  root->walk([&](linalg::GenericOp op) {
    auto role = op->getAttrOfType<StringAttr>(kRoleAttr);
    if (role && role.getValue() == kRoleQuery)
      queries.push_back(op);
  });
  for (Operation *op : queries) {
    while (auto loop = op->getParentOfType<LoopLikeOpInterface>()) {
      llvm::SetVector<Operation *> chain;
      if (!collectInvariantChain(op, loop, chain))
        break;
      for (Operation *moved : chain)
        moved->moveBefore(loop);
    }
  }
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
    hoistQueryTranspose(getOperation());
  }
};
} // namespace
