//===- Transforms.h - mixer dialect rewrites --------------------*- C++ -*-===//
//
// Rewrites of mixer ops that passes and pipelines compose.
//
//===----------------------------------------------------------------------===//

#ifndef MIXER_TRANSFORMS_TRANSFORMS_H
#define MIXER_TRANSFORMS_TRANSFORMS_H

#include "Mixer/IR/MixerOps.h"
#include "mlir/IR/PatternMatch.h"

namespace tmix::mixer {

/// Rewrites `op` into unfused linalg ops on tensors (see
/// DecomposeAttentionPass) and replaces it. Returns the replacement values
/// (output, and lse when the op has one).
mlir::FailureOr<llvm::SmallVector<mlir::Value>>
decomposeAttention(mlir::RewriterBase &rewriter, AttentionOp op);

} // namespace tmix::mixer

#endif // MIXER_TRANSFORMS_TRANSFORMS_H
