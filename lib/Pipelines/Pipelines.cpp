//===- Pipelines.cpp - tmix's named pass pipelines ------------------------===//

#include "tmix/Pipelines/Pipelines.h"

#include "Mixer/Transforms/Passes.h"
#include "mlir/Conversion/Passes.h"
#include "mlir/Conversion/VectorToSCF/VectorToSCF.h"
#include "mlir/Dialect/Arith/Transforms/Passes.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Dialect/SCF/Transforms/Passes.h"
#include "mlir/Interfaces/LoopLikeInterface.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

namespace {
/// Tensors to buffers: one-shot bufferization across function boundaries
/// (identity layouts, so entry points take plain memref descriptors), then
/// ownership-based deallocation.
void addBufferization(OpPassManager &pm,
                      llvm::function_ref<void(OpPassManager &)> beforeDealloc =
                          nullptr) {
  // Results written into caller-provided buffers (materialize_in_destination)
  // take the place of the tensor.empty they were built in.
  pm.addPass(bufferization::createEmptyTensorEliminationPass());
  bufferization::OneShotBufferizePassOptions bufferize;
  bufferize.bufferizeFunctionBoundaries = true;
  bufferize.allowReturnAllocsFromLoops = true;
  bufferize.functionBoundaryTypeConversion =
      bufferization::LayoutMapOption::IdentityLayoutMap;
  pm.addPass(bufferization::createOneShotBufferizePass(bufferize));
  // Small static buffers inside loops (the per-tile softmax state, tile
  // temporaries) live on the stack of the thread that runs the tile: no
  // malloc per tile, nothing to free. Buffers outside loops (whole
  // activations of a model) stay on the heap: many of them would overflow
  // the stack. (mixer-hoist-stack-buffers then moves those of sequential
  // loops out of them.)
  pm.addNestedPass<func::FuncOp>(
      bufferization::createPromoteBuffersToStackPass([](Value alloc) {
        auto type = dyn_cast<MemRefType>(alloc.getType());
        Operation *op = alloc.getDefiningOp();
        if (!type || !op || !type.hasStaticShape() || type.getRank() > 6 ||
            !op->getParentOfType<LoopLikeOpInterface>())
          return false;
        int64_t bits = type.getNumElements() *
                       static_cast<int64_t>(type.getElementTypeBitWidth());
        return bits <= int64_t(8) << 20; // 1 MiB
      }));
  if (beforeDealloc)
    beforeDealloc(pm);
  bufferization::BufferDeallocationPipelineOptions dealloc;
  bufferization::buildBufferDeallocationPipeline(pm, dealloc);
  pm.addPass(createConvertBufferizationToMemRefPass());
  pm.addPass(tmix::mixer::createLowerStridedCopiesPass());
  // Merges the subviews of a tile's parallel_insert_slice with those its
  // producers wrote into, so the then self-copies fold away.
  pm.addPass(createCSEPass());
  pm.addPass(createCanonicalizerPass());
}

/// Loops on memrefs to the LLVM dialect.
void addLowerToLLVM(OpPassManager &pm, bool openmp) {
  // n-D vector transfers to 1-D ones (unrolled), reductions to 1-D.
  VectorTransferToSCFOptions toScf;
  toScf.unroll = true;
  pm.addNestedPass<func::FuncOp>(createConvertVectorToSCFPass(toScf));
  pm.addNestedPass<func::FuncOp>(createConvertLinalgToLoopsPass());
  // bf16 <-> f32 conversions as integer ops: no compiler-rt helpers needed.
  arith::ArithExpandOpsPassOptions expand;
  expand.includeBf16 = true;
  pm.addPass(arith::createArithExpandOpsPass(expand));
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  if (openmp)
    pm.addPass(createConvertSCFToOpenMPPass());
  // Memrefs before scf-to-cf: the OpenMP conversion wraps loop bodies in
  // memref.alloca_scope, which must still hold a single block when lowered.
  pm.addPass(createFinalizeMemRefToLLVMConversionPass());
  pm.addPass(createSCFToControlFlowPass());
  pm.addPass(createConvertVectorToLLVMPass());
  pm.addPass(createConvertMathToLLVMPass());
  // What has no LLVM intrinsic (math.erf in the reference pipeline) calls
  // libm; the CPU pipeline approximates it with polynomials instead.
  pm.addPass(createConvertMathToLibmPass());
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createConvertIndexToLLVMPass());
  pm.addPass(createConvertControlFlowToLLVMPass());
  if (openmp)
    pm.addPass(createConvertOpenMPToLLVMPass());
  pm.addPass(createConvertFuncToLLVMPass());
  pm.addPass(createUBToLLVMConversionPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
  pm.addPass(createCanonicalizerPass());
}
} // namespace

void tmix::buildReferencePipeline(OpPassManager &pm) {
  pm.addPass(mixer::createDecomposeLayersPass());
  pm.addPass(mixer::createDecomposeAttentionPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  addBufferization(pm);
  addLowerToLLVM(pm, /*openmp=*/false);
}

void tmix::buildCPUPipeline(OpPassManager &pm,
                            const CPUPipelineOptions &options) {
  mixer::TileAttentionPassOptions tile;
  tile.queryTile = options.queryTile;
  tile.keyTile = options.keyTile;
  tile.edgeTile = options.edgeTile;
  tile.skipMaskedTiles = options.skipMaskedTiles;
  // Layer ops first: mixer.self_attention becomes a mixer.attention that
  // the attention tiling then sees.
  pm.addPass(mixer::createDecomposeLayersPass());
  // Folds the reshapes between a Linear and its epilogue.
  pm.addPass(createCanonicalizerPass());
  mixer::TileLayersPassOptions layers;
  layers.rows = options.registerRows;
  layers.cols = options.registerCols;
  layers.fuse = options.fuseLayers;
  layers.vectorize = options.vectorize;
  pm.addPass(mixer::createTileLayersPass(layers));
  pm.addPass(createCanonicalizerPass());
  pm.addPass(mixer::createTileAttentionPass(tile));
  pm.addPass(mixer::createDecomposeAttentionPass());
  pm.addPass(mixer::createApproximateMathPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  if (options.vectorize) {
    // One register tile for both contractions: 6 x 16 (12 accumulators of
    // AVX2's 16 registers) measured best, see docs/benchmarks.md.
    mixer::VectorizeAttentionPassOptions vectorize;
    vectorize.scoreRows = options.attentionRegisterRows;
    vectorize.scoreCols = options.registerCols;
    vectorize.rows = options.attentionRegisterRows;
    vectorize.cols = options.registerCols;
    pm.addPass(mixer::createVectorizeAttentionPass(vectorize));
    pm.addPass(createCanonicalizerPass());
    pm.addPass(createCSEPass());
    // Accumulator tiles become loop-carried vectors: registers.
    pm.addPass(createLoopInvariantSubsetHoistingPass());
    pm.addPass(createCanonicalizerPass());
  }
  // Tile loops become scf.parallel (or scf.for) before deallocation: the
  // deallocation pipeline frees the buffers of their bodies, but not those
  // of an scf.forall body.
  addBufferization(pm, [&](OpPassManager &nested) {
    nested.addNestedPass<func::FuncOp>(
        mixer::createHoistStackBuffersPass());
    if (options.parallel)
      nested.addPass(createForallToParallelLoopPass());
    else
      nested.addPass(createForallToForLoopPass());
  });
  pm.addPass(createCanonicalizerPass());
  addLowerToLLVM(pm, options.parallel);
}

void tmix::registerPipelines() {
  PassPipelineRegistration<>(
      "tmix-reference-pipeline",
      "Decompose mixer ops into unfused linalg, bufferize, and lower to "
      "scalar loops in the LLVM dialect (the compiled oracle)",
      buildReferencePipeline);
  PassPipelineRegistration<CPUPipelineOptions>(
      "tmix-cpu-pipeline",
      "Tile attention into flash-style loops, decompose the tiles, bufferize, "
      "parallelise the tile loops and lower to the LLVM dialect",
      buildCPUPipeline);
}
