//===- HoistStackBuffers.cpp - stack buffers out of sequential loops ------===//
//
// Implements HoistStackBuffersPass (see Passes.td).
//
//===----------------------------------------------------------------------===//

#include "Mixer/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

namespace tmix::mixer {
#define GEN_PASS_DEF_HOISTSTACKBUFFERSPASS
#include "Mixer/Transforms/Passes.h.inc"
} // namespace tmix::mixer

using namespace mlir;

namespace {

/// Whether `buffer`, or any memref derived from it (views, casts: every
/// memref result of a user, conservatively), is yielded from a region (a
/// loop's next iteration or result may read it).
bool isYielded(Value buffer) {
  SmallVector<Value> work = {buffer};
  llvm::SmallPtrSet<Operation *, 8> seen;
  while (!work.empty()) {
    Value v = work.pop_back_val();
    for (Operation *user : v.getUsers()) {
      if (user->hasTrait<OpTrait::IsTerminator>())
        return true;
      if (!seen.insert(user).second)
        continue;
      for (Value r : user->getResults())
        if (isa<BaseMemRefType>(r.getType()))
          work.push_back(r);
    }
  }
  return false;
}

struct HoistStackBuffersPass
    : public tmix::mixer::impl::HoistStackBuffersPassBase<
          HoistStackBuffersPass> {
  using Base::Base;

  void runOnOperation() override {
    SmallVector<memref::AllocaOp> allocas;
    getOperation().walk([&](memref::AllocaOp op) {
      if (op->getNumOperands() == 0)
        allocas.push_back(op);
    });
    for (memref::AllocaOp op : allocas) {
      Operation *target = nullptr;
      for (Operation *p = op->getParentOp(); p && !isa<func::FuncOp>(p);
           p = p->getParentOp()) {
        if (isa<scf::ForallOp, scf::ParallelOp>(p))
          break;
        if (isa<scf::ForOp, scf::WhileOp>(p))
          target = p;
      }
      if (target && !isYielded(op.getResult()))
        op->moveBefore(target);
    }
  }
};
} // namespace
