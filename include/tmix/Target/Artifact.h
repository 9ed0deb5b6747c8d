//===- Artifact.h - ahead-of-time compilation to a shared library -*- C++ -*-===//
//
// The driver behind tmix-compile: turns every public func.func of a module
// into an entry point of a shared library that libtmixrt loads, following
// the ABI of runtime/include/tmixrt/abi.h.
//
//===----------------------------------------------------------------------===//

#ifndef TMIX_TARGET_ARTIFACT_H
#define TMIX_TARGET_ARTIFACT_H

#include "tmix/Pipelines/Pipelines.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Support/LogicalResult.h"

#include <string>

namespace tmix {

struct ArtifactOptions {
  /// Code generation targets: "cpu", "cuda" (host code that launches GPU
  /// kernels, and the kernels), or "cpu,cuda" (every function exported once
  /// per device, under the same name).
  std::string target = "cpu";
  /// Options of tmix-gpu-pipeline for the CUDA part (chip, binary format,
  /// toolkit, tiles).
  GPUPipelineOptions gpu;
  /// The directory of libtmixrt.so, which CUDA artifacts link against (""
  /// = TMIX_RUNTIME_LIBRARY_DIR from the environment, else the runtime of
  /// tmix's build).
  std::string runtimeLibraryDir;
  /// CPU to generate code for: "native" (the host, with all its features) or
  /// an LLVM CPU name such as "x86-64-v3".
  std::string cpu = "native";
  /// Options of tmix-cpu-pipeline.
  int64_t queryTile = 64;
  int64_t keyTile = 128;
  int64_t edgeTile = 16;
  bool skipMaskedTiles = true;
  bool parallel = true;
  /// Fuse the layers' elementwise epilogues into their Linear tiles.
  bool fuseLayers = true;
  /// Where to write a C header describing the entry points ("" = none).
  std::string headerPath;
  /// The name of the input, recorded in the header.
  std::string sourceName = "<stdin>";
  /// The C compiler/linker driver used to link the library ("" = the clang
  /// of the LLVM installation tmix was built with).
  std::string linker;
  /// Keep the intermediate files (object, metadata source) next to the
  /// output, for debugging.
  bool keepIntermediates = false;
};

/// Compiles `module` into the shared library `outputPath` (and the header of
/// `options.headerPath`). Errors are reported as diagnostics on the module's
/// context; on failure no output file is left behind. `module` is lowered in
/// place.
mlir::LogicalResult compileArtifact(mlir::ModuleOp module,
                                    llvm::StringRef outputPath,
                                    const ArtifactOptions &options);

} // namespace tmix

#endif // TMIX_TARGET_ARTIFACT_H
