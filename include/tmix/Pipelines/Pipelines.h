//===- Pipelines.h - tmix's named pass pipelines ----------------*- C++ -*-===//

#ifndef TMIX_PIPELINES_PIPELINES_H
#define TMIX_PIPELINES_PIPELINES_H

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassOptions.h"

namespace tmix {

/// Options of `tmix-reference-pipeline`.
struct ReferencePipelineOptions
    : public mlir::PassPipelineOptions<ReferencePipelineOptions> {
  Option<bool> emitCInterface{
      *this, "emit-c-interface",
      llvm::cl::desc("Give every public function a `_mlir_ciface_` wrapper "
                     "taking memref descriptors"),
      llvm::cl::init(true)};
};

/// `tmix-reference-pipeline`: decomposes every mixer op into unfused linalg,
/// bufferizes, lowers to scalar loops and then to the LLVM dialect. Simple
/// and slow; the compiled oracle that faster lowerings are checked against.
///
/// Promises: the output contains only `llvm` dialect ops (and `builtin`).
void buildReferencePipeline(mlir::OpPassManager &pm,
                            const ReferencePipelineOptions &options);

/// Registers tmix's pipelines with the pass registry.
void registerPipelines();

} // namespace tmix

#endif // TMIX_PIPELINES_PIPELINES_H
