//===- MixerAttrs.td - mixer dialect attributes ------------*- tablegen -*-===//

#ifndef MIXER_ATTRS_TD
#define MIXER_ATTRS_TD

include "Mixer/IR/MixerBase.td"
include "Mixer/IR/MixerEnums.td"

def Mixer_MaskAttr : Mixer_Attr<"Mask", "mask"> {
  let summary = "A structured attention mask, generated from indices";
  let description = [{
    Says which key positions `j` each query row `i` of an attention op may
    attend to, as a rule on indices rather than an L×S tensor. With `L` query
    rows and `S` keys, query `i` sits at the absolute position
    `p = i + S - L` (queries are right-aligned to the keys, the decode
    convention), and all indices are 0-based:

    | spelling | key `j` is visible to query `i` when |
    |---|---|
    | `#mixer.mask<none>` | always |
    | `#mixer.mask<causal>` | `j <= p` |
    | `#mixer.mask<window, left = wl, right = wr>` | `p - wl <= j <= p + wr` |
    | `#mixer.mask<block_local, block = b>` | `floor(p / b) == floor(j / b)` |
    | `#mixer.mask<dilated, width = w, dilation = d>` | `0 <= p - j < w * d` and `(p - j) mod d == 0` |
    | `#mixer.mask<global_local, global = g, left = wl, right = wr>` | `p < g` or `j < g` or `p - wl <= j <= p + wr` |

    A row with no visible key (possible when `L > S`, or with a window that
    lies outside `[0, S)`) produces an output of 0 and a log-sum-exp of −inf.

    Keys are spelled `key = integer` and must be exactly those of the kind, in
    any order. `left` and `right` must be >= 0; `block`, `width`, `dilation`
    and `global` must be >= 1; none may exceed 2^31.

    Example:

    ```mlir
    #mixer.mask<window, left = 128, right = 0>
    ```
  }];
  let parameters = (ins
    "MaskKind":$kind,
    "int64_t":$left,
    "int64_t":$right,
    "int64_t":$block,
    "int64_t":$width,
    "int64_t":$dilation,
    "int64_t":$global
  );
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let builders = [
    AttrBuilder<(ins "MaskKind":$kind), [{
      return $_get($_ctxt, kind, 0, 0, 0, 0, 0, 0);
    }]>
  ];
  let extraClassDeclaration = [{
    static MaskAttr getNone(::mlir::MLIRContext *ctx) {
      return get(ctx, MaskKind::none);
    }
    static MaskAttr getCausal(::mlir::MLIRContext *ctx) {
      return get(ctx, MaskKind::causal);
    }
    static MaskAttr getWindow(::mlir::MLIRContext *ctx, int64_t left,
                              int64_t right) {
      return get(ctx, MaskKind::window, left, right, 0, 0, 0, 0);
    }
    static MaskAttr getBlockLocal(::mlir::MLIRContext *ctx, int64_t block) {
      return get(ctx, MaskKind::block_local, 0, 0, block, 0, 0, 0);
    }
    static MaskAttr getDilated(::mlir::MLIRContext *ctx, int64_t width,
                               int64_t dilation) {
      return get(ctx, MaskKind::dilated, 0, 0, 0, width, dilation, 0);
    }
    static MaskAttr getGlobalLocal(::mlir::MLIRContext *ctx, int64_t global,
                                   int64_t left, int64_t right) {
      return get(ctx, MaskKind::global_local, left, right, 0, 0, 0, global);
    }
    /// True when every key is visible to every query.
    bool isFull() const { return getKind() == MaskKind::none; }
  }];
}

#endif // MIXER_ATTRS_TD
