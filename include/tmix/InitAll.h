//===- InitAll.h - register tmix's dialects, passes, pipelines --*- C++ -*-===//
//
// The one place that registers what tmix's tools use: the mixer dialect and
// passes, tmix's pipelines, and the upstream dialects, interfaces and passes
// those pipelines need (not every upstream dialect).
//
//===----------------------------------------------------------------------===//

#ifndef TMIX_INITALL_H
#define TMIX_INITALL_H

namespace mlir {
class DialectRegistry;
} // namespace mlir

namespace tmix {

/// Adds the mixer dialect, the upstream dialects tmix lowers through, their
/// external interface models and their LLVM IR translations to `registry`.
void registerAllDialects(mlir::DialectRegistry &registry);

/// Registers the mixer passes, the upstream passes the pipelines use, and
/// tmix's named pipelines (for tmix-opt's command line).
void registerAllPasses();

} // namespace tmix

#endif // TMIX_INITALL_H
