//===- AttentionUtils.h - building blocks of attention lowerings -*- C++ -*-===//
//
// IR builders shared by the decomposition of mixer.attention and by the
// tiling pass: the mask predicate, the initial online-softmax state and the
// final normalisation.
//
//===----------------------------------------------------------------------===//

#ifndef MIXER_IR_ATTENTIONUTILS_H
#define MIXER_IR_ATTENTIONUTILS_H

#include "Mixer/IR/MixerAttrs.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/Value.h"

namespace tmix::mixer {

/// Discardable attribute naming the role of a linalg op produced by the
/// decomposition of attention, for schedules: the score contraction
/// (q·kᵀ over the head dim), the value contraction (p·v over keys) and the
/// scaled, transposed query the score contraction reads (loop-invariant in
/// the key loop of a tile).
constexpr llvm::StringLiteral kRoleAttr = "tmix.role";
constexpr llvm::StringLiteral kRoleQuery = "query";
/// The key-major passes over a score block (b h g j i) that schedules may
/// vectorize along the query rows i: the mask epilogue, the row max, the
/// exponentials and the row sum.
constexpr llvm::StringLiteral kRoleSoftmax = "softmax";
constexpr llvm::StringLiteral kRoleScores = "scores";
constexpr llvm::StringLiteral kRoleValues = "values";
// Roles of the layer ops' generics (MetaFormerDecomposition.cpp), read by
// mixer-tile-layers.
constexpr llvm::StringLiteral kRoleLinear = "linear";
constexpr llvm::StringLiteral kRolePack = "pack";
constexpr llvm::StringLiteral kRoleInit = "init";
constexpr llvm::StringLiteral kRoleIm2col = "im2col";
constexpr llvm::StringLiteral kRoleDepthwise = "depthwise";

/// Unit attribute on a `math.exp` whose argument is never positive (x - max
/// in a softmax): `mixer-approximate-math` expands it with a shorter
/// sequence than MLIR's general approximation.
constexpr llvm::StringLiteral kExpNonPositiveAttr = "tmix.exp_nonpositive";
constexpr llvm::StringLiteral kRoleResidual = "residual";
constexpr llvm::StringLiteral kRoleNorm = "norm";

/// The i1 predicate "key position `keyPos` is visible to query position
/// `queryPos`" (both index values, absolute positions) for `mask`. Returns
/// null for a mask that keeps every key.
mlir::Value buildMaskPredicate(mlir::OpBuilder &b, mlir::Location loc,
                               MaskAttr mask, mlir::Value queryPos,
                               mlir::Value keyPos);

/// The empty online-softmax state for rows `rowSizes` ([B, Hq, L]) and value
/// dim `dv`: acc = 0 [B, Hq, L, Dv], max = -inf, sum = 0 [B, Hq, L], f32.
struct OnlineState {
  mlir::Value acc, max, sum;
};
OnlineState buildInitialState(mlir::OpBuilder &b, mlir::Location loc,
                              llvm::ArrayRef<mlir::OpFoldResult> rowSizes,
                              int64_t dv);

/// output = acc / sum (0 where sum = 0), converted to `outputType`'s element
/// type, and, when `lseType` is set, lse = max + log(sum) (-inf where no key
/// was visible). Types give the static/dynamic shapes of the results. The
/// results are written into `outputDest` / `lseDest` when given (e.g. slices
/// of the final tensors, so that bufferization writes in place), else into
/// new tensors.
llvm::SmallVector<mlir::Value>
buildFinalize(mlir::OpBuilder &b, mlir::Location loc, OnlineState state,
              mlir::RankedTensorType outputType, mlir::RankedTensorType lseType,
              mlir::Value outputDest = {}, mlir::Value lseDest = {});

} // namespace tmix::mixer

#endif // MIXER_IR_ATTENTIONUTILS_H
