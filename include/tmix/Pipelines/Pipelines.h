//===- Pipelines.h - tmix's named pass pipelines ----------------*- C++ -*-===//

#ifndef TMIX_PIPELINES_PIPELINES_H
#define TMIX_PIPELINES_PIPELINES_H

#include "mlir/Pass/PassManager.h"

namespace tmix {

/// `tmix-reference-pipeline`: decomposes every mixer op into unfused linalg,
/// bufferizes, lowers to scalar loops and then to the LLVM dialect. Simple
/// and slow; the compiled oracle that faster lowerings are checked against.
///
/// Functions marked `llvm.emit_c_interface` also get a `_mlir_ciface_`
/// wrapper taking memref descriptors.
///
/// Promises: the output contains only `llvm` dialect ops (and `builtin`).
void buildReferencePipeline(mlir::OpPassManager &pm);

/// Registers tmix's pipelines with the pass registry.
void registerPipelines();

} // namespace tmix

#endif // TMIX_PIPELINES_PIPELINES_H
