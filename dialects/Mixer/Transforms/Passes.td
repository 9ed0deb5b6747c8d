//===- Passes.td - mixer dialect passes --------------------*- tablegen -*-===//

#ifndef MIXER_TRANSFORMS_PASSES_TD
#define MIXER_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def DecomposeAttentionPass : Pass<"mixer-decompose-attention"> {
  let summary = "Rewrite mixer.attention into unfused linalg ops on tensors";
  let description = [{
    Replaces every `mixer.attention` with the unfused form: a generic for
    `Q·Kᵀ` (f32 accumulation), one elementwise generic applying the scale,
    the bias and the mask, a row max, `exp(s - max)`, a row sum, a generic
    for `P·V`, and the normalisation (`lse = max + log(sum)`).

    The query heads are split as `[B, Hkv, G, L, D]` (a `tensor.expand_shape`,
    no copy), so that every query head of a group reads its key/value head
    through the indexing maps: K and V are never repeated. The mask is
    generated from `linalg.index` inside the elementwise body; no L×S mask
    tensor exists. Fully masked rows give output 0 and lse −inf.

    This form materialises the `[B, Hq, L, S]` scores: it is the simple
    lowering and the oracle for the tiled one, not the fast path.

    Promise: after this pass no `mixer.attention` remains.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect",
    "::mlir::tensor::TensorDialect"
  ];
}

#endif // MIXER_TRANSFORMS_PASSES_TD
