//===- MapLayersToGpu.cpp - host linalg ops to GPU thread blocks ----------===//
//
// Implements MapLayersToGpuPass (see Passes.td): the layer ops left in the
// host code after bufferization become tiled, GPU-mapped scf.parallel loops,
// which convert-parallel-loops-to-gpu turns into gpu.launch ops.
//
//===----------------------------------------------------------------------===//

#include "Mixer/Transforms/Passes.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/ParallelLoopMapper.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/Transforms.h"
#include "mlir/IR/PatternMatch.h"

namespace tmix::mixer {
#define GEN_PASS_DEF_MAPLAYERSTOGPUPASS
#include "Mixer/Transforms/Passes.h.inc"
} // namespace tmix::mixer

using namespace mlir;

namespace {

/// True for ops of the host code: not inside a block loop of the attention
/// mapping (scf.forall) or a kernel.
bool isHostOp(Operation *op) {
  return !op->getParentOfType<scf::ForallOp>() &&
         !op->getParentOfType<gpu::LaunchOp>() &&
         !op->getParentOfType<scf::ParallelOp>();
}

/// The static trip count of dim `d` of `loop`, if known.
std::optional<int64_t> tripCount(scf::ParallelOp loop, unsigned d) {
  std::optional<int64_t> lb = getConstantIntValue(loop.getLowerBound()[d]);
  std::optional<int64_t> ub = getConstantIntValue(loop.getUpperBound()[d]);
  std::optional<int64_t> step = getConstantIntValue(loop.getStep()[d]);
  if (!lb || !ub || !step || *step <= 0)
    return std::nullopt;
  return (*ub - *lb + *step - 1) / *step;
}

/// Tile sizes of a parallel loop nest with static or dynamic trip counts:
/// `threads` threads over the innermost dims (the last dim first, then the
/// one before it while the last is small), 1 elsewhere.
SmallVector<int64_t> tileSizes(scf::ParallelOp loop, int64_t threads) {
  unsigned rank = loop.getNumLoops();
  SmallVector<int64_t> sizes(rank, 1);
  int64_t left = threads;
  for (int d = rank - 1; d >= 0 && left > 1; --d) {
    // blockDim.z is at most 64.
    int64_t take = rank - 1 - d == 2 ? std::min<int64_t>(left, 64) : left;
    if (std::optional<int64_t> trip = tripCount(loop, d)) {
      // The smallest power of two covering the dim, at most what is left.
      int64_t p = 1;
      while (p < *trip && p < take)
        p *= 2;
      take = p;
    }
    sizes[d] = take;
    left /= take;
  }
  return sizes;
}

/// Maps the outer loop's dims (last first) to blocks x, y, z and the inner
/// loop's to threads x, y, z; further dims run sequentially, and so does a
/// block dim y or z longer than the grid allows (65535).
///
/// `blockTrips` are the outer loop's static trip counts where known.
LogicalResult mapToGpu(scf::ParallelOp outer, scf::ParallelOp inner,
                       ArrayRef<std::optional<int64_t>> blockTrips) {
  MLIRContext *ctx = outer.getContext();
  auto mapping = [&](scf::ParallelOp loop, gpu::Processor first) {
    SmallVector<gpu::ParallelLoopDimMappingAttr> attrs;
    unsigned rank = loop.getNumLoops();
    AffineMap id = AffineMap::getMultiDimIdentityMap(1, ctx);
    unsigned next = 0; // the next processor after `first`
    SmallVector<gpu::Processor> procs(rank, gpu::Processor::Sequential);
    for (int d = rank - 1; d >= 0 && next < 3; --d) {
      if (next > 0 && first == gpu::Processor::BlockX && blockTrips[d] &&
          *blockTrips[d] > 65535)
        continue;
      procs[d] = static_cast<gpu::Processor>(static_cast<unsigned>(first) +
                                             next++);
    }
    for (unsigned d = 0; d < rank; ++d) {
      gpu::Processor p = procs[d];
      attrs.push_back(gpu::ParallelLoopDimMappingAttr::get(ctx, p, id, id));
    }
    return gpu::setMappingAttr(loop, attrs);
  };
  if (failed(mapping(outer, gpu::Processor::BlockX)) ||
      failed(mapping(inner, gpu::Processor::ThreadX)))
    return outer.emitOpError("mixer-map-layers-to-gpu: could not map the "
                             "loop to blocks and threads");
  return success();
}

struct MapLayersToGpuPass
    : public tmix::mixer::impl::MapLayersToGpuPassBase<MapLayersToGpuPass> {
  using Base::Base;

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    if (threads < 32 || threads > 1024 || (threads & (threads - 1))) {
      func.emitError() << "mixer-map-layers-to-gpu: threads must be a power "
                          "of two from 32 to 1024, got "
                       << static_cast<int64_t>(threads);
      return signalPassFailure();
    }
    IRRewriter rewriter(&getContext());

    // Host copies (slices of padded buffers, results into destinations) are
    // loop nests like the rest: no host access to device memory.
    SmallVector<memref::CopyOp> copies;
    func.walk([&](memref::CopyOp copy) {
      if (isHostOp(copy))
        copies.push_back(copy);
    });
    for (memref::CopyOp copy : copies) {
      rewriter.setInsertionPoint(copy);
      rewriter.replaceOpWithNewOp<linalg::CopyOp>(copy, copy.getSource(),
                                                  copy.getTarget());
    }

    SmallVector<linalg::LinalgOp> ops;
    func.walk([&](linalg::LinalgOp op) {
      if (isHostOp(op))
        ops.push_back(op);
    });
    for (linalg::LinalgOp op : ops) {
      if (!op.hasPureBufferSemantics()) {
        op->emitOpError("mixer-map-layers-to-gpu: expected a bufferized op");
        return signalPassFailure();
      }
      rewriter.setInsertionPoint(op);
      // An op without parallel dims (a full reduction, a 0-d fill) runs in
      // one thread: its loops (or scalar code) go into a 1-trip loop.
      scf::ParallelOp loop;
      if (op.getNumParallelLoops() == 0) {
        Location loc = op.getLoc();
        Value zero = arith::ConstantIndexOp::create(rewriter, loc, 0);
        Value one = arith::ConstantIndexOp::create(rewriter, loc, 1);
        loop = scf::ParallelOp::create(rewriter, loc, ValueRange{zero},
                                       ValueRange{one}, ValueRange{one});
        rewriter.setInsertionPoint(loop.getBody()->getTerminator());
      }
      FailureOr<linalg::LinalgLoops> loops =
          linalg::linalgOpToParallelLoops(rewriter, op);
      if (failed(loops)) {
        op->emitOpError("mixer-map-layers-to-gpu: could not lower to loops");
        return signalPassFailure();
      }
      if (!loop) {
        loop = loops->empty() ? scf::ParallelOp()
                              : dyn_cast<scf::ParallelOp>(loops->front());
        if (!loop) {
          op->emitOpError("mixer-map-layers-to-gpu: expected its parallel "
                          "dims as an scf.parallel");
          return signalPassFailure();
        }
      }
      rewriter.eraseOp(op);
      SmallVector<int64_t> sizes = tileSizes(loop, threads);
      SmallVector<std::optional<int64_t>> blockTrips;
      for (unsigned d = 0; d < loop.getNumLoops(); ++d) {
        std::optional<int64_t> trip = tripCount(loop, d);
        blockTrips.push_back(trip ? std::optional<int64_t>(
                                        (*trip + sizes[d] - 1) / sizes[d])
                                  : std::nullopt);
      }
      auto [outer, inner] =
          scf::tileParallelLoop(loop, sizes, /*noMinMaxBounds=*/true);
      if (failed(mapToGpu(outer, inner, blockTrips)))
        return signalPassFailure();
    }
  }
};
} // namespace
