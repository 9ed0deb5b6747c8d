//===- TileLayers.cpp - parallel tiles and register tiles for layers ------===//
//
// Implements TileLayersPass (see Passes.td): forall tiles (threads) over the
// decomposed MetaFormer layers with the upstream TilingInterface drivers
// (tile-and-fuse for the epilogues), then a transform-dialect schedule that
// register-tiles and vectorizes the Linear contractions.
//
//===----------------------------------------------------------------------===//

#include "Mixer/IR/AttentionUtils.h"
#include "Mixer/Transforms/BuiltinSchedule.h"
#include "Mixer/Transforms/Passes.h"

#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/TilingInterface.h"
#include "llvm/Support/FormatVariadic.h"

namespace tmix::mixer {
#define GEN_PASS_DEF_TILELAYERSPASS
#include "Mixer/Transforms/Passes.h.inc"
} // namespace tmix::mixer

using namespace mlir;
namespace mixer = tmix::mixer;

namespace {

/// Register tiles of the Linear contractions (m, n, k): tiles [rows, cols,
/// 1] with k innermost, the partial tiles peeled, the full ones vectorized
/// as outer products. {0} = rows, {1} = cols, {2} = role attribute name,
/// {3} = the linear role, {4} = kPeelSequence.
constexpr const char *kSchedule = R"mlir(
module attributes {{transform.with_named_sequence} {{
{4}  transform.named_sequence @tile(%op: !transform.any_op {{transform.consumed}) {{
    %t, %l:3 = transform.structured.tile_using_for %op tile_sizes [{0}, {1}, 1]
        : (!transform.any_op) -> (!transform.any_op, !transform.any_op,
                                  !transform.any_op, !transform.any_op)
    %li = transform.cast %l#0 : !transform.any_op to !transform.op<"scf.for">
    %lj = transform.cast %l#1 : !transform.any_op to !transform.op<"scf.for">
    transform.include @peel failures(suppress) (%lj) : (!transform.op<"scf.for">) -> ()
    transform.include @peel failures(suppress) (%li) : (!transform.op<"scf.for">) -> ()
    transform.yield
  }
  transform.named_sequence @__transform_main(%root: !transform.any_op {{transform.readonly}) {{
    %lin = transform.structured.match ops{{["linalg.generic"]} attributes{{"{2}" = "{3}"} in %root
        : (!transform.any_op) -> !transform.any_op
    transform.foreach %lin : !transform.any_op {{
    ^bb0(%one: !transform.any_op):
      transform.include @tile failures(propagate) (%one) : (!transform.any_op) -> ()
    }
    %f = transform.structured.match ops{{["func.func"]} in %root : (!transform.any_op) -> !transform.any_op
    transform.apply_patterns to %f {{
      transform.apply_patterns.canonicalization
    } : !transform.any_op
    %full = transform.structured.match ops{{["linalg.generic"]} attributes{{"{2}" = "{3}"}
        filter_result_type = tensor<{0}x{1}xf32> in %root
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

bool hasRole(Operation *op, StringRef role) {
  auto attr = op->getAttrOfType<StringAttr>(mixer::kRoleAttr);
  return attr && attr.getValue() == role;
}

/// Tiling reads operand slices at map(tile offset) and indexes them with the
/// untouched maps, which is exact only for maps without floordiv, ceildiv or
/// mod: ops with those (grouped convs, broadcasts of per-sample statistics)
/// stay whole.
bool tilesExactly(linalg::LinalgOp op) {
  for (AffineMap map : op.getIndexingMapsArray())
    for (AffineExpr expr : map.getResults()) {
      bool semiAffine = false;
      expr.walk([&](AffineExpr e) {
        semiAffine |= e.getKind() == AffineExprKind::FloorDiv ||
                      e.getKind() == AffineExprKind::CeilDiv ||
                      e.getKind() == AffineExprKind::Mod;
      });
      if (semiAffine)
        return false;
    }
  return true;
}

bool allParallel(linalg::LinalgOp op) {
  return op.getNumLoops() == op.getNumParallelLoops();
}

/// The producers that belong in the tiles of `consumer`: a Linear
/// contraction feeding it, the contraction's packed weight and its bias
/// initialisation (or zero fill), each only when nothing else uses it, so
/// that fusing never duplicates work. Computed on the IR before tiling
/// (during tiling the original ops still hold their uses).
///
/// With `prologue`, the normalisation (role "norm") producing the
/// contraction's input joins too: each tile normalises the rows it reads
/// (recomputed once per column tile, a few flops per element against the
/// contraction's 2·N).
llvm::SmallPtrSet<Operation *, 4> linearGroup(Operation *consumer,
                                              bool prologue) {
  llvm::SmallPtrSet<Operation *, 4> group;
  auto addParts = [&](Operation *linear) {
    for (Value operand : linear->getOperands()) {
      Operation *def = operand.getDefiningOp();
      if (def && operand.hasOneUse() &&
          (isa<linalg::FillOp>(def) || hasRole(def, mixer::kRolePack) ||
           hasRole(def, mixer::kRoleInit) ||
           (prologue && hasRole(def, mixer::kRoleNorm))))
        group.insert(def);
    }
  };
  if (hasRole(consumer, mixer::kRoleLinear)) {
    addParts(consumer);
    return group;
  }
  for (Value operand : consumer->getOperands()) {
    Operation *def = operand.getDefiningOp();
    if (def && operand.hasOneUse() && hasRole(def, mixer::kRoleLinear)) {
      group.insert(def);
      addParts(def);
    }
  }
  return group;
}

struct TileLayersPass
    : public mixer::impl::TileLayersPassBase<TileLayersPass> {
  using Base::Base;

  /// Tiles `op` into an scf.forall with `sizes`, fusing its linearGroup. Returns failure only on a tiling error.
  LogicalResult tileAndFuse(RewriterBase &rewriter, TilingInterface op,
                            ArrayRef<int64_t> sizes) {
    scf::SCFTilingOptions tiling;
    tiling.setLoopType(scf::SCFTilingOptions::LoopType::ForallOp);
    SmallVector<OpFoldResult> tileSizes;
    for (int64_t s : sizes)
      tileSizes.push_back(rewriter.getIndexAttr(s));
    tiling.setTileSizes(tileSizes);
    scf::SCFTileAndFuseOptions options;
    options.setTilingOptions(tiling);
    llvm::SmallPtrSet<Operation *, 4> group = linearGroup(op, fuse);
    options.setFusionControlFn(
        [group](tensor::ExtractSliceOp, OpResult producer, bool)
            -> std::optional<scf::SCFTileAndFuseOptions::ControlFnResult> {
          if (group.contains(producer.getOwner()))
            return scf::SCFTileAndFuseOptions::ControlFnResult{};
          return std::nullopt;
        });
    rewriter.setInsertionPoint(op);
    FailureOr<scf::SCFTileAndFuseResult> result =
        scf::tileConsumerAndFuseProducersUsingSCF(rewriter, op, options);
    if (failed(result))
      return op->emitOpError("mixer-tile-layers: could not tile");
    for (OpResult res : op->getResults())
      if (Value repl = result->replacements.lookup(res))
        rewriter.replaceAllUsesWith(res, repl);
    return success();
  }

  /// Thread tiles of an op outside the Linear groups: its leading parallel
  /// dims, `[1, mapTile]` on maps (batch, rows), `[linearTileM]` on 2-D ops.
  SmallVector<int64_t> mapTileSizes(linalg::LinalgOp op) {
    SmallVector<utils::IteratorType> iters = op.getIteratorTypesArray();
    SmallVector<int64_t> sizes(iters.size(), 0);
    auto parallel = [&](unsigned i) {
      return i < iters.size() && iters[i] == utils::IteratorType::parallel;
    };
    if (iters.size() >= 3 && parallel(0) && parallel(1)) {
      sizes[0] = 1;
      sizes[1] = mapTile;
    } else if (iters.size() >= 1 && parallel(0)) {
      sizes[0] = linearTileM;
    } else {
      return {};
    }
    return sizes;
  }

  void runOnOperation() override {
    Operation *root = getOperation();
    if (linearTileM < 1 || linearTileN < 1 || mapTile < 1 || rows < 1 ||
        cols < 1) {
      root->emitError("mixer-tile-layers: tile sizes must be >= 1");
      return signalPassFailure();
    }
    IRRewriter rewriter(&getContext());
    auto inForall = [](Operation *op) {
      return op->getParentOfType<scf::ForallOp>() != nullptr;
    };

    // 1. Epilogues: elementwise 2-D consumers of a Linear (the MLP's
    //    activation, the scaled residual) share its thread tiles.
    if (fuse) {
      SmallVector<linalg::GenericOp> consumers;
      root->walk([&](linalg::GenericOp op) {
        if (inForall(op) || op.getNumLoops() != 2 || !allParallel(op) ||
            hasRole(op, mixer::kRoleInit))
          return;
        for (Value in : op.getDpsInputs()) {
          Operation *def = in.getDefiningOp();
          if (def && hasRole(def, mixer::kRoleLinear) && in.hasOneUse()) {
            consumers.push_back(op);
            return;
          }
        }
      });
      for (linalg::GenericOp op : consumers)
        if (failed(tileAndFuse(rewriter,
                               cast<TilingInterface>(op.getOperation()),
                               {linearTileM, linearTileN})))
          return signalPassFailure();
    }

    // 2. The other Linears, with their packed weight and bias.
    SmallVector<linalg::GenericOp> linears;
    root->walk([&](linalg::GenericOp op) {
      if (!inForall(op) && hasRole(op, mixer::kRoleLinear))
        linears.push_back(op);
    });
    for (linalg::GenericOp op : linears)
      if (failed(tileAndFuse(rewriter, cast<TilingInterface>(op.getOperation()),
                             {linearTileM, linearTileN, 0})))
        return signalPassFailure();

    // 3. Everything else that has leading parallel dims: maps (norms,
    //    pooling, im2col, depthwise convs, residuals) and leftovers.
    SmallVector<linalg::LinalgOp> rest;
    root->walk([&](linalg::LinalgOp op) {
      if (inForall(op) || isa<linalg::FillOp>(op) || !op.hasPureTensorSemantics())
        return;
      if (op->getParentOfType<scf::ForOp>())
        return; // inside attention's key loop: already tiled
      if (tilesExactly(op) && !mapTileSizes(op).empty())
        rest.push_back(op);
    });
    for (linalg::LinalgOp op : rest)
      if (failed(tileAndFuse(rewriter, cast<TilingInterface>(op.getOperation()),
                             mapTileSizes(op))))
        return signalPassFailure();

    if (!vectorize)
      return;
    bool any = false;
    root->walk([&](Operation *op) { any |= hasRole(op, mixer::kRoleLinear); });
    if (!any)
      return;

    // 4. Register tiles of the Linear contractions.
    std::string text =
        llvm::formatv(kSchedule, static_cast<int64_t>(rows),
                      static_cast<int64_t>(cols), mixer::kRoleAttr,
                      mixer::kRoleLinear, mixer::kPeelSequence);
    if (failed(mixer::applyBuiltinSchedule(root, text, "mixer-tile-layers")))
      return signalPassFailure();
  }
};
} // namespace
