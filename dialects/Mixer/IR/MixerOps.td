//===- MixerOps.td - mixer dialect operations --------------*- tablegen -*-===//

#ifndef MIXER_OPS_TD
#define MIXER_OPS_TD

include "Mixer/IR/MixerBase.td"
include "Mixer/IR/MixerAttrs.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

def Mixer_FloatTensor : RankedTensorOf<[F32, F16, BF16]>;

//===----------------------------------------------------------------------===//
// AttentionOp
//===----------------------------------------------------------------------===//

def Mixer_AttentionOp : Mixer_Op<"attention", [Pure]> {
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

#endif // MIXER_OPS_TD
