//===- Passes.td - mixer dialect passes --------------------*- tablegen -*-===//

#ifndef MIXER_TRANSFORMS_PASSES_TD
#define MIXER_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def DecomposeAttentionPass : Pass<"mixer-decompose-attention"> {
  let summary = "Rewrite mixer.attention and mixer.online_attention into unfused linalg ops on tensors";
  let description = [{
    Replaces every `mixer.attention` by `mixer.online_attention` over all
    keys from an empty state plus the normalisation (`output = acc / sum`,
    `lse = max + log(sum)`), and every `mixer.online_attention` by linalg: a
    generic for `Q·Kᵀ` (f32 accumulation), one elementwise generic applying
    the scale, the bias and the mask, the new row max, the correction
    `exp(max - max')`, `exp(s - max')`, the row sum and a generic for `P·V`
    accumulating into the rescaled `acc`. Both steps are the ops'
    AggregatedOpInterface, so `transform.structured.decompose_interface`
    does the same.

    The query heads are split as `[B, Hkv, G, L, D]` (a `tensor.expand_shape`,
    no copy), so that every query head of a group reads its key/value head
    through the indexing maps: K and V are never repeated. The mask is
    generated from `linalg.index` inside the elementwise body; no L×S mask
    tensor exists. Fully masked rows give output 0 and lse −inf.

    This form materialises the `[B, Hq, L, S]` scores: it is the simple
    lowering and the oracle for the tiled one, not the fast path.

    Promise: after this pass no `mixer.attention` or
    `mixer.online_attention` remains.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect",
    "::mlir::tensor::TensorDialect"
  ];
}

def TileAttentionPass : Pass<"mixer-tile-attention"> {
  let summary = "Tile mixer.attention into flash-style loops of mixer.online_attention";
  let description = [{
    Replaces every `mixer.attention` by an `scf.forall` over (batch, key/value
    head, query tile of `query-tile` rows). Each iteration starts an empty
    online-softmax state for the `G` query heads of its key/value head, runs
    an `scf.for` over blocks of `key-tile` keys that folds each block in with
    a tile of `mixer.online_attention` (the op's TilingInterface produces the
    tile, shifting the mask positions by the tile offsets), normalises the
    state and inserts its rows into the output (and lse). No L×S buffer
    exists: the state is O(query-tile × Dv) per iteration.

    With `skip-masked-tiles` (the default) the key loop runs only over the
    blocks the mask can reach from the tile's rows (causal, window,
    block-local and dilated masks are tile-sparse; a global_local tile
    without global rows visits the global columns, then its window), and a
    block the mask keeps entirely for every row of the tile uses an unmasked
    tile (no mask math); only boundary blocks evaluate the mask per element.

    GQA: the `G` query heads of a key/value head form one tile and read the
    same key/value block, never a copy.

    The state of a tile is created at the full tile size (a static shape) and
    sliced to the tile's rows, so that CPU code keeps it on the thread's
    stack; it must fit in 1 MiB (G × query-tile × (Dv + 2) × 4 bytes).

    Promise: after this pass no `mixer.attention` remains; every
    `mixer.online_attention` works on one tile.
  }];
  let options = [
    Option<"queryTile", "query-tile", "int64_t", /*default=*/"64",
           "Query rows per tile (Bm)">,
    Option<"keyTile", "key-tile", "int64_t", /*default=*/"128",
           "Keys per step of the inner loop (Bn)">,
    Option<"skipMaskedTiles", "skip-masked-tiles", "bool", /*default=*/"true",
           "Bound the key loop by the mask and drop mask math in blocks the "
           "mask fully keeps">
  ];
  let dependentDialects = [
    "::mlir::affine::AffineDialect",
    "::mlir::arith::ArithDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect"
  ];
}

def VectorizeAttentionPass : Pass<"mixer-vectorize-attention"> {
  let summary = "Register-tile and vectorize the contractions of decomposed attention tiles";
  let description = [{
    Schedules the two contractions that the decomposition of
    `mixer.online_attention` tags with `tmix.role` (`scores`: q·kᵀ over the
    head dim; `values`: p·v over the keys) for CPU vector units, by
    interpreting a transform-dialect schedule built into tmix:

    - tile into register tiles of `rows` × `cols` outputs with the reduction
      innermost (`tile_using_for`, size 1 along the reduction);
    - peel the loops whose trip counts are not multiples of the register
      tile, so that every full tile has a static shape;
    - vectorize the full tiles (`structured.vectorize`): each reduction step
      becomes an outer product (a broadcast column of q or p times a row of
      kᵀ or v); partial tiles at the edges stay scalar loops.

    The pipeline then hoists the accumulators out of the reduction loops
    (`loop-invariant-subset-hoisting`), so a register tile lives in vector
    registers for its whole reduction. `rows` × `cols` / lanes accumulators
    must fit the register file: 4 × 16 suits AVX2 (8 accumulators of 8
    lanes), 8 × 32 AVX-512.
  }];
  let options = [
    Option<"rows", "rows", "int64_t", /*default=*/"4",
           "Output rows of a register tile">,
    Option<"cols", "cols", "int64_t", /*default=*/"16",
           "Output columns of a register tile (a multiple of the vector width)">
  ];
  let dependentDialects = [
    "::mlir::scf::SCFDialect",
    "::mlir::transform::TransformDialect",
    "::mlir::vector::VectorDialect"
  ];
}

def ApproximateMathPass : Pass<"mixer-approximate-math"> {
  let summary = "Replace math.exp and math.log by vectorizable polynomial approximations";
  let description = [{
    Rewrites `math.exp` and `math.log` on f32 (scalars or vectors) into the
    polynomial approximations of MLIR's math dialect, built from arith ops
    only. Lowered straight to LLVM, each `math.exp` in a loop becomes a
    scalar `expf` call that blocks vectorization of the softmax; the
    approximations vectorize like any arithmetic. Their error is a few ulp,
    and `exp(-inf)` stays exactly 0 (the masked scores of attention rely on
    it).
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::math::MathDialect",
    "::mlir::vector::VectorDialect"
  ];
}

#endif // MIXER_TRANSFORMS_PASSES_TD
