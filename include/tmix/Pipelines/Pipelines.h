//===- Pipelines.h - tmix's named pass pipelines ----------------*- C++ -*-===//

#ifndef TMIX_PIPELINES_PIPELINES_H
#define TMIX_PIPELINES_PIPELINES_H

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassOptions.h"

namespace tmix {

/// `tmix-reference-pipeline`: decomposes every mixer op into unfused linalg,
/// bufferizes, lowers to scalar loops and then to the LLVM dialect. Simple
/// and slow; the compiled oracle that faster lowerings are checked against.
/// Functions marked `llvm.emit_c_interface` also get a `_mlir_ciface_`
/// wrapper taking memref descriptors.
///
/// Promises: the output contains only `llvm` dialect ops (and `builtin`).
void buildReferencePipeline(mlir::OpPassManager &pm);

/// Options of `tmix-cpu-pipeline`.
struct CPUPipelineOptions
    : public mlir::PassPipelineOptions<CPUPipelineOptions> {
  Option<int64_t> queryTile{*this, "query-tile",
                            llvm::cl::desc("Query rows per attention tile"),
                            llvm::cl::init(64)};
  Option<int64_t> keyTile{*this, "key-tile",
                          llvm::cl::desc("Keys per step of the key loop"),
                          llvm::cl::init(128)};
  Option<bool> skipMaskedTiles{
      *this, "skip-masked-tiles",
      llvm::cl::desc("Bound key loops by the mask; no mask math in blocks "
                     "the mask keeps entirely"),
      llvm::cl::init(true)};
  Option<bool> vectorize{
      *this, "vectorize",
      llvm::cl::desc("Register-tile and vectorize the attention contractions "
                     "(mixer-vectorize-attention)"),
      llvm::cl::init(true)};
  Option<int64_t> registerRows{*this, "register-rows",
                               llvm::cl::desc("Rows of a register tile"),
                               llvm::cl::init(4)};
  Option<int64_t> registerCols{
      *this, "register-cols",
      llvm::cl::desc("Columns of a register tile (multiple of the vector "
                     "width)"),
      llvm::cl::init(16)};
  Option<bool> parallel{
      *this, "parallel",
      llvm::cl::desc("Run tile loops on all cores (OpenMP; the code then "
                     "needs LLVM's libomp)"),
      llvm::cl::init(true)};
};

/// `tmix-cpu-pipeline`: tiles attention into flash-style loops
/// (mixer-tile-attention), decomposes the tiles into linalg, bufferizes,
/// runs the tile loops in parallel, and lowers to the LLVM dialect.
///
/// Promises: the output contains only `llvm` (and, with `parallel`, no
/// `omp`: it is translated) dialect ops; no L×S buffer is allocated for
/// attention.
void buildCPUPipeline(mlir::OpPassManager &pm,
                      const CPUPipelineOptions &options);

/// Registers tmix's pipelines with the pass registry.
void registerPipelines();

} // namespace tmix

#endif // TMIX_PIPELINES_PIPELINES_H
