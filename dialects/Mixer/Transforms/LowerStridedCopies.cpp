//===- LowerStridedCopies.cpp - strided memref.copy -> linalg.copy --------===//
//
// Implements LowerStridedCopiesPass (see Passes.td).
//
//===----------------------------------------------------------------------===//

#include "Mixer/Transforms/Passes.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/PatternMatch.h"

namespace tmix::mixer {
#define GEN_PASS_DEF_LOWERSTRIDEDCOPIESPASS
#include "Mixer/Transforms/Passes.h.inc"
} // namespace tmix::mixer

using namespace mlir;

namespace {
bool hasIdentityLayout(Value v) {
  auto type = dyn_cast<MemRefType>(v.getType());
  return type && type.getLayout().isIdentity();
}

struct LowerStridedCopiesPass
    : public tmix::mixer::impl::LowerStridedCopiesPassBase<
          LowerStridedCopiesPass> {
  void runOnOperation() override {
    SmallVector<memref::CopyOp> copies;
    getOperation()->walk([&](memref::CopyOp op) {
      if (!hasIdentityLayout(op.getSource()) ||
          !hasIdentityLayout(op.getTarget()))
        copies.push_back(op);
    });
    IRRewriter rewriter(&getContext());
    for (memref::CopyOp op : copies) {
      rewriter.setInsertionPoint(op);
      rewriter.replaceOpWithNewOp<linalg::CopyOp>(op, op.getSource(),
                                                  op.getTarget());
    }
  }
};
} // namespace
