//===- MixerOps.td - mixer dialect operations --------------*- tablegen -*-===//

#ifndef MIXER_OPS_TD
#define MIXER_OPS_TD

include "Mixer/IR/MixerBase.td"
include "Mixer/IR/MixerAttrs.td"
include "Mixer/IR/MixerInterfaces.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Dialect/Linalg/IR/LinalgInterfaces.td"
include "mlir/Interfaces/DestinationStyleOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/Interfaces/TilingInterface.td"

def Mixer_FloatTensor : RankedTensorOf<[F32, F16, BF16]>;

//===----------------------------------------------------------------------===//
// AttentionOp
//===----------------------------------------------------------------------===//

def Mixer_AttentionOp : Mixer_Op<"attention", [Pure,
    DeclareOpInterfaceMethods<AggregatedOpInterface, ["decomposeOperation"]>,
    DeclareOpInterfaceMethods<Mixer_OperandDimEqualityOpInterface>,
    DeclareOpInterfaceMethods<ReifyRankedShapedTypeOpInterface,
                              ["reifyResultShapes"]>]> {
  let summary = "Scaled dot-product attention with structured masks and GQA";
  let description = [{
    Computes softmax attention of every query row over the key rows its mask
    lets it see, for each batch and query head.

    With `query [B, Hq, L, D]`, `key [B, Hkv, S, D]`, `value [B, Hkv, S, Dv]`,
    group `G = Hq / Hkv` (query head `h` reads key/value head `floor(h / G)`):

    ```
    s[b,h,i,j] = scale * sum_d query[b,h,i,d] * key[b,h/G,j,d] + bias[b,h,i,j]
                 (j visible to i under `mask`, else -inf)
    output[b,h,i,:] = sum_j softmax_j(s[b,h,i,:]) * value[b,h/G,j,:]
    lse[b,h,i]      = log sum_j exp(s[b,h,i,j])
    ```

    `scale` defaults to `1/sqrt(D)`. `mask` defaults to `#mixer.mask<none>`;
    see `#mixer.mask` for the rules and the right alignment of queries when
    `L != S`. A row with no visible key gives output 0 and lse −inf.
    Accumulation is in f32 whatever the element type.

    Operands and results are positional: a fourth operand, when present, is
    the additive `bias`; a second result, when present, is `lse`.

    Example:

    ```mlir
    %o = mixer.attention %q, %k, %v {mask = #mixer.mask<causal>, scale = 0.125 : f32}
        : (tensor<1x8x128x64xf32>, tensor<1x2x128x64xf32>, tensor<1x2x128x64xf32>)
        -> tensor<1x8x128x64xf32>
    ```

    The verifier enforces:
    - `query`, `key`, `value` and `output` have rank 4; `Hq`, `Hkv`, `D` and
      `Dv` are static, while `B`, `L` and `S` may be dynamic;
    - `Hq` is a multiple of `Hkv`; key and value agree on `B`, `Hkv` and `S`;
      query and key on `B` and `D`; `output` is `[B, Hq, L, Dv]`;
    - `query`, `key`, `value` and `output` share one element type (f32, f16
      or bf16); `bias` has that element type or f32, rank <= 4, and
      broadcasts (right-aligned, size-1 dims) to `[B, Hq, L, S]`;
    - `lse` is `tensor<[B, Hq, L] x f32>`;
    - `scale` is finite and non-zero; the mask's sizes are valid.

    `decomposeOperation` (AggregatedOpInterface) rewrites the op as
    `mixer.online_attention` over all keys, starting from an empty state,
    followed by the normalisation `output = acc / sum`, `lse = max + log(sum)`.
  }];

  let arguments = (ins
    Mixer_FloatTensor:$query,
    Mixer_FloatTensor:$key,
    Mixer_FloatTensor:$value,
    Optional<Mixer_FloatTensor>:$bias,
    OptionalAttr<F32Attr>:$scale,
    OptionalAttr<Mixer_MaskAttr>:$mask
  );
  let results = (outs
    Mixer_FloatTensor:$output,
    Optional<RankedTensorOf<[F32]>>:$lse
  );

  let assemblyFormat = [{
    $query `,` $key `,` $value (`,` $bias^)? attr-dict `:`
    functional-type(operands, results)
  }];

  let builders = [
    // Infers the result types from the operands. `bias` may be null.
    OpBuilder<(ins "::mlir::Value":$query, "::mlir::Value":$key,
                   "::mlir::Value":$value, "::mlir::Value":$bias,
                   "MaskAttr":$mask, "std::optional<float>":$scale,
                   "bool":$withLse)>
  ];

  let hasVerifier = 1;

  let extraClassDeclaration = [{
    /// The scale applied to q·k: the `scale` attribute, else 1/sqrt(D).
    float getEffectiveScale();
    /// The mask attribute, `#mixer.mask<none>` when absent.
    MaskAttr getMaskOrNone();
    /// Number of query heads sharing one key/value head (Hq / Hkv).
    int64_t getGroupSize();
    ::mlir::RankedTensorType getQueryType() {
      return ::llvm::cast<::mlir::RankedTensorType>(getQuery().getType());
    }
    ::mlir::RankedTensorType getKeyType() {
      return ::llvm::cast<::mlir::RankedTensorType>(getKey().getType());
    }
    ::mlir::RankedTensorType getValueType() {
      return ::llvm::cast<::mlir::RankedTensorType>(getValue().getType());
    }
    ::mlir::RankedTensorType getOutputType() {
      return ::llvm::cast<::mlir::RankedTensorType>(getOutput().getType());
    }
  }];
}

//===----------------------------------------------------------------------===//
// OnlineAttentionOp
//===----------------------------------------------------------------------===//

def Mixer_OnlineAttentionOp : Mixer_Op<"online_attention", [Pure,
    AllTypesMatch<["acc", "updated_acc"]>,
    AllTypesMatch<["max", "updated_max"]>,
    AllTypesMatch<["sum", "updated_sum"]>,
    DestinationStyleOpInterface,
    DeclareOpInterfaceMethods<TilingInterface, [
        "getLoopIteratorTypes", "getIterationDomain",
        "getTiledImplementation", "getResultTilePosition"]>,
    DeclareOpInterfaceMethods<AggregatedOpInterface, ["decomposeOperation"]>,
    DeclareOpInterfaceMethods<Mixer_OperandDimEqualityOpInterface>]> {
  let summary = "One step of flash attention: fold a block of keys into a running softmax state";
  let description = [{
    Updates the running state `(acc, max, sum)` of an online softmax with the
    keys and values it is given: the tiled form of `mixer.attention`.

    With `query [B, Hq, L, D]`, `key [B, Hkv, S, D]`, `value [B, Hkv, S, Dv]`,
    `G = Hq / Hkv`, and `s[b,h,i,j] = scale * q·k + bias` masked to −inf
    where key position `col_pos + j` is hidden from query position
    `row_pos + i` (the rules of `#mixer.mask`, in absolute positions):

    ```
    max'[i] = max(max[i], max_j s[i,j])
    c[i]    = exp(max[i] - max'[i])                 (0 when max[i] = -inf)
    sum'[i] = c[i] * sum[i] + sum_j exp(s[i,j] - max'[i])
    acc'[i] = c[i] * acc[i] + sum_j exp(s[i,j] - max'[i]) * value[j]
    ```

    `row_pos` and `col_pos` are the absolute positions of query row 0 and key
    0 (for a whole `mixer.attention`, `S - L` and 0); tiling shifts them by
    the tile offsets, so masks stay exact in every tile. Applying the op to
    consecutive key blocks equals applying it once to all of them.

    Example:

    ```mlir
    %a, %m, %l = mixer.online_attention %q, %k, %v at(%rp, %cp)
        outs(%acc, %max, %sum) {mask = #mixer.mask<causal>, scale = 0.125 : f32}
        : tensor<1x4x64x64xf32>, tensor<1x1x128x64xf32>, tensor<1x1x128x64xf32>
        -> tensor<1x4x64x64xf32>, tensor<1x4x64xf32>, tensor<1x4x64xf32>
    ```

    The iteration domain is `[B, Hq, L, S]` (the last dimension a
    reduction). It implements TilingInterface: a tile along `Hq` must cover
    whole groups of `G` query heads or lie inside one group, so that the
    query heads of a tile share their key/value head (never a copy).

    The verifier enforces the shape rules of `mixer.attention` on `query`,
    `key`, `value` and `bias`, and: `acc` is `[B, Hq, L, Dv]`, `max` and `sum`
    are `[B, Hq, L]`, all three f32.
  }];

  let arguments = (ins
    Mixer_FloatTensor:$query,
    Mixer_FloatTensor:$key,
    Mixer_FloatTensor:$value,
    Index:$row_pos,
    Index:$col_pos,
    RankedTensorOf<[F32]>:$acc,
    RankedTensorOf<[F32]>:$max,
    RankedTensorOf<[F32]>:$sum,
    // Last, so that the operands before it keep fixed positions.
    Optional<Mixer_FloatTensor>:$bias,
    OptionalAttr<F32Attr>:$scale,
    OptionalAttr<Mixer_MaskAttr>:$mask
  );
  let results = (outs
    RankedTensorOf<[F32]>:$updated_acc,
    RankedTensorOf<[F32]>:$updated_max,
    RankedTensorOf<[F32]>:$updated_sum
  );

  let assemblyFormat = [{
    $query `,` $key `,` $value (`,` `bias` $bias^ `:` type($bias))?
    `at` `(` $row_pos `,` $col_pos `)`
    `outs` `(` $acc `,` $max `,` $sum `)` attr-dict
    `:` type($query) `,` type($key) `,` type($value)
    `->` type($acc) `,` type($max) `,` type($sum)
  }];

  let hasVerifier = 1;

  let extraClassDeclaration = [{
    /// The scale applied to q·k: the `scale` attribute, else 1/sqrt(D).
    float getEffectiveScale();
    /// The mask attribute, `#mixer.mask<none>` when absent.
    MaskAttr getMaskOrNone();
    /// Number of query heads sharing one key/value head (Hq / Hkv).
    int64_t getGroupSize();
    ::mlir::RankedTensorType getQueryType() {
      return ::llvm::cast<::mlir::RankedTensorType>(getQuery().getType());
    }
    ::mlir::RankedTensorType getKeyType() {
      return ::llvm::cast<::mlir::RankedTensorType>(getKey().getType());
    }
    ::mlir::RankedTensorType getValueType() {
      return ::llvm::cast<::mlir::RankedTensorType>(getValue().getType());
    }
    ::mlir::MutableOperandRange getDpsInitsMutable() {
      // acc, max, sum: operands 5, 6, 7.
      return ::mlir::MutableOperandRange(getOperation(), 5, 3);
    }
  }];
}

include "Mixer/IR/MetaFormerOps.td"

#endif // MIXER_OPS_TD
