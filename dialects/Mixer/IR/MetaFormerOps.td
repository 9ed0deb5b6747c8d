//===- MetaFormerOps.td - MetaFormer layers and mixers -----*- tablegen -*-===//
//
// The MetaFormer family (shared/design/mixers.md §1 and §4): the block
// skeleton, its norms and activations, the MLP, the pooling, identity,
// random-mixing, separable-conv and self-attention token mixers, the stem and
// downsampling convolutions and the classifier heads.
//
// Conventions shared by every op here:
// - activations are channels-last: maps [B, H, W, C], token sequences
//   [B, N, C]; the channel axis is always the last one;
// - weights keep the PyTorch/timm layouts, so that a checkpoint binds as is:
//   Linear [out, in], Conv2d [out, in/groups, kh, kw]; a 1×1 conv weight
//   [out, in, 1, 1] is accepted wherever a Linear weight is;
// - element type f32 (computation in f32);
// - the batch may be dynamic; channel counts and the spatial sizes of the
//   convolutions, pooling and token mixing are static;
// - each op decomposes (AggregatedOpInterface) into linalg on tensors and
//   simpler mixer ops; `mixer-decompose-layers` applies the decompositions.
//
//===----------------------------------------------------------------------===//

#ifndef MIXER_METAFORMER_OPS_TD
#define MIXER_METAFORMER_OPS_TD

include "Mixer/IR/MixerBase.td"
include "Mixer/IR/MixerEnums.td"
include "mlir/IR/RegionKindInterface.td"
include "mlir/Interfaces/ControlFlowInterfaces.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Dialect/Linalg/IR/LinalgInterfaces.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

def Mixer_F32Tensor : RankedTensorOf<[F32]>;

/// A layer op: pure, decomposable, with result shapes reified from the
/// input's dynamic dimensions.
class Mixer_LayerOp<string mnemonic, list<Trait> traits = []>
    : Mixer_Op<mnemonic, !listconcat([Pure,
        DeclareOpInterfaceMethods<AggregatedOpInterface, ["decomposeOperation"]>,
        DeclareOpInterfaceMethods<ReifyRankedShapedTypeOpInterface,
                                  ["reifyResultShapes"]>], traits)> {
  let hasVerifier = 1;
  let assemblyFormat = [{
    operands attr-dict `:` functional-type(operands, results)
  }];
}

//===----------------------------------------------------------------------===//
// Norms and activations
//===----------------------------------------------------------------------===//

def Mixer_LayerNormOp : Mixer_LayerOp<"layer_norm",
    [AllTypesMatch<["input", "result"]>]> {
  let summary = "Layer norm over any set of axes, with an optional bias";
  let description = [{
    Normalises `input` over the axes `axes` with the biased variance and
    scales (and shifts) along the channel axis, which is the last one:

    ```
    mu  = mean_{axes}(x);   v = mean_{axes}((x - mu)^2)
    y   = (x - mu) / sqrt(v + epsilon) * weight[c] (+ bias[c])
    ```

    The variants of mixers.md §1.2 differ only in `axes`, `epsilon` and the
    bias: on a `[B, H, W, C]` map, `axes = [1, 2, 3]` is GroupNorm(1, C)
    (PoolFormer, IdentityFormer, RandFormer) and `axes = [3]` is the
    per-token LayerNorm over channels (ConvFormer, CAFormer, downsampling
    and output norms).

    Example:

    ```mlir
    %y = mixer.layer_norm %x, %w {axes = array<i64: 1, 2, 3>, epsilon = 1.000000e-06 : f64}
        : (tensor<1x56x56x64xf32>, tensor<64xf32>) -> tensor<1x56x56x64xf32>
    ```

    The verifier enforces: `axes` is non-empty, strictly increasing and
    within the rank; `epsilon` is finite and >= 0; `weight` (and `bias`) are
    `[C]` with `C` the last dimension of `input`.
  }];
  let arguments = (ins Mixer_F32Tensor:$input, Mixer_F32Tensor:$weight,
                   Optional<Mixer_F32Tensor>:$bias,
                   DenseI64ArrayAttr:$axes, F64Attr:$epsilon);
  let results = (outs Mixer_F32Tensor:$result);
  let assemblyFormat = [{
    $input `,` $weight (`,` $bias^)? attr-dict `:`
    functional-type(operands, results)
  }];
}

def Mixer_GeluOp : Mixer_LayerOp<"gelu", [AllTypesMatch<["input", "result"]>]> {
  let summary = "GELU, exact erf form";
  let description = [{
    `y = 0.5 * x * (1 + erf(x / sqrt(2)))` elementwise (PyTorch's default
    `nn.GELU()`, not the tanh approximation).

    ```mlir
    %y = mixer.gelu %x : (tensor<4x7xf32>) -> tensor<4x7xf32>
    ```
  }];
  let arguments = (ins Mixer_F32Tensor:$input);
  let results = (outs Mixer_F32Tensor:$result);
}

def Mixer_SquaredReluOp : Mixer_LayerOp<"squared_relu",
    [AllTypesMatch<["input", "result"]>]> {
  let summary = "Squared ReLU: relu(x)^2";
  let description = [{
    `y = max(x, 0)^2` elementwise (mixers.md §1.3).

    ```mlir
    %y = mixer.squared_relu %x : (tensor<4x7xf32>) -> tensor<4x7xf32>
    ```
  }];
  let arguments = (ins Mixer_F32Tensor:$input);
  let results = (outs Mixer_F32Tensor:$result);
}

def Mixer_StarReluOp : Mixer_LayerOp<"star_relu",
    [AllTypesMatch<["input", "result"]>]> {
  let summary = "StarReLU: s * relu(x)^2 + b with learnable scalars";
  let description = [{
    `y = scale[0] * max(x, 0)^2 + bias[0]` elementwise (mixers.md §1.3).
    `scale` and `bias` are the checkpoint's `[1]`-shaped parameters; their
    code initialisation is (1, 0), trained checkpoints differ.

    ```mlir
    %y = mixer.star_relu %x, %s, %b
        : (tensor<4x7xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<4x7xf32>
    ```

    The verifier enforces that `scale` and `bias` are `tensor<1xf32>`.
  }];
  let arguments = (ins Mixer_F32Tensor:$input, Mixer_F32Tensor:$scale,
                   Mixer_F32Tensor:$bias);
  let results = (outs Mixer_F32Tensor:$result);
}

//===----------------------------------------------------------------------===//
// Linear layers
//===----------------------------------------------------------------------===//

def Mixer_LinearOp : Mixer_LayerOp<"linear"> {
  let summary = "Fully connected layer over the last axis (PyTorch weight layout)";
  let description = [{
    `y[..., n] = sum_k x[..., k] * weight[n, k] (+ bias[n])`: PyTorch's
    `nn.Linear`, or a 1×1 `nn.Conv2d` on a channels-last map when `weight`
    is `[out, in, 1, 1]`.

    ```mlir
    %y = mixer.linear %x, %w, %b
        : (tensor<1x14x14x320xf32>, tensor<1280x320x1x1xf32>, tensor<1280xf32>)
        -> tensor<1x14x14x1280xf32>
    ```

    The verifier enforces: `weight` is `[N, K]` or `[N, K, 1, 1]` with
    static sizes, `K` is the last dimension of `input`, `bias` is `[N]`, and
    the result is `input`'s shape with the last dimension replaced by `N`.
  }];
  let arguments = (ins Mixer_F32Tensor:$input, Mixer_F32Tensor:$weight,
                   Optional<Mixer_F32Tensor>:$bias);
  let results = (outs Mixer_F32Tensor:$result);
  let assemblyFormat = [{
    $input `,` $weight (`,` $bias^)? attr-dict `:`
    functional-type(operands, results)
  }];
}

def Mixer_MlpOp : Mixer_LayerOp<"mlp", [AttrSizedOperandSegments]> {
  let summary = "The MetaFormer channel MLP: fc -> activation -> fc";
  let description = [{
    `y = fc2(act(fc1(x)))` over the last axis, where `fc1`/`fc2` are
    `mixer.linear` layers (bias optional, both or neither) and `act` is
    `gelu` (PoolFormer v1), `squared_relu` or `star_relu` (MetaFormer v2,
    with its `(scale, bias)` scalars as operands).

    ```mlir
    %y = mixer.mlp %x, %w1, %w2 activation = star_relu(%s, %b)
        : (tensor<1x56x56x64xf32>, tensor<256x64x1x1xf32>, tensor<64x256x1x1xf32>,
           tensor<1xf32>, tensor<1xf32>) -> tensor<1x56x56x64xf32>
    %z = mixer.mlp %x, %w1, %w2 activation = gelu bias(%b1, %b2)
        : (tensor<1x56x56x64xf32>, tensor<256x64x1x1xf32>, tensor<64x256x1x1xf32>,
           tensor<256xf32>, tensor<64xf32>) -> tensor<1x56x56x64xf32>
    ```

    The verifier enforces the `mixer.linear` rules on both layers (the
    hidden sizes agree), that `(scale, bias)` are given exactly for
    `star_relu` and are `tensor<1xf32>`.
  }];
  let arguments = (ins Mixer_F32Tensor:$input, Mixer_F32Tensor:$fc1_weight,
                   Mixer_F32Tensor:$fc2_weight,
                   Optional<Mixer_F32Tensor>:$act_scale,
                   Optional<Mixer_F32Tensor>:$act_bias,
                   Optional<Mixer_F32Tensor>:$fc1_bias,
                   Optional<Mixer_F32Tensor>:$fc2_bias,
                   Mixer_ActivationKind:$activation);
  let results = (outs Mixer_F32Tensor:$result);
  let assemblyFormat = [{
    $input `,` $fc1_weight `,` $fc2_weight `activation` `=` $activation
    (`(` $act_scale^ `,` $act_bias `)`)?
    (`bias` `(` $fc1_bias^ `,` $fc2_bias `)`)? attr-dict `:`
    functional-type(operands, results)
  }];
}

//===----------------------------------------------------------------------===//
// Token mixers
//===----------------------------------------------------------------------===//

def Mixer_PoolOp : Mixer_LayerOp<"pool", [AllTypesMatch<["input", "result"]>]> {
  let summary = "PoolFormer pooling mixer: avgpool(x) - x";
  let description = [{
    On a `[B, H, W, C]` map, a `k×k` average pool with stride 1 and padding
    `k/2` that divides by the number of in-grid neighbours
    (`count_include_pad = False`: 4 at corners, 6 on edges, 9 inside for
    k = 3), minus the input (mixers.md §4.1):

    ```
    y[b,h,w,c] = sum_{(h',w') in window(h,w) ∩ grid} x[b,h',w',c] / |window ∩ grid| - x[b,h,w,c]
    ```

    ```mlir
    %y = mixer.pool %x {kernel_size = 3} : (tensor<1x56x56x64xf32>) -> tensor<1x56x56x64xf32>
    ```

    The verifier enforces rank 4 and an odd `kernel_size` >= 1 (default 3).
  }];
  let arguments = (ins Mixer_F32Tensor:$input,
                   DefaultValuedAttr<I64Attr, "3">:$kernel_size);
  let results = (outs Mixer_F32Tensor:$result);
}

def Mixer_IdentityOp : Mixer_LayerOp<"identity",
    [AllTypesMatch<["input", "result"]>]> {
  let summary = "Identity token mixer (IdentityFormer)";
  let description = [{
    `y = x` (mixers.md §4.2): the block reduces to norm + MLP. It folds away.

    ```mlir
    %y = mixer.identity %x : (tensor<1x7x7x512xf32>) -> tensor<1x7x7x512xf32>
    ```
  }];
  let arguments = (ins Mixer_F32Tensor:$input);
  let results = (outs Mixer_F32Tensor:$result);
  let hasFolder = 1;
}

def Mixer_RandomMixOp : Mixer_LayerOp<"random_mix",
    [AllTypesMatch<["input", "result"]>]> {
  let summary = "RandFormer token mixing with a frozen [N, N] matrix";
  let description = [{
    Mixes the `N` tokens of each channel with the frozen matrix `matrix`
    (row-stochastic in RandFormer, loaded from the checkpoint; mixers.md
    §4.3): with tokens flattened row-major (`n = h * W + w`),

    ```
    y[b, n, c] = sum_m matrix[n, m] * x[b, m, c]
    ```

    `input` is a `[B, H, W, C]` map (then `N = H * W`) or `[B, N, C]` tokens.

    ```mlir
    %y = mixer.random_mix %x, %m
        : (tensor<1x14x14x320xf32>, tensor<196x196xf32>) -> tensor<1x14x14x320xf32>
    ```

    The verifier enforces the rank, static token counts and
    `matrix = [N, N]`.
  }];
  let arguments = (ins Mixer_F32Tensor:$input, Mixer_F32Tensor:$matrix);
  let results = (outs Mixer_F32Tensor:$result);
}

def Mixer_SepConvOp : Mixer_LayerOp<"sepconv"> {
  let summary = "ConvFormer separable-conv mixer: pw -> StarReLU -> dw k×k -> pw";
  let description = [{
    MobileNetV2's inverted separable convolution as ConvFormer and CAFormer
    use it (mixers.md §4.4), without biases:

    ```
    y = pw2( dwconv_{k×k, pad p}( StarReLU_{s,b}( pw1(x) ) ) )
    ```

    `pw1` is `[M, C]` or `[M, C, 1, 1]` (M = 2C in the models), `dw` is the
    depthwise weight `[M, 1, k, k]`, `pw2` is `[C', M]` or `[C', M, 1, 1]`;
    `scale`/`bias` are StarReLU's `[1]` scalars. The spatial size is kept,
    so `2 * padding = kernel_size - 1`.

    ```mlir
    %y = mixer.sepconv %x, %pw1, %s, %b, %dw, %pw2 {kernel_size = 7, padding = 3}
        : (tensor<1x56x56x64xf32>, tensor<128x64x1x1xf32>, tensor<1xf32>,
           tensor<1xf32>, tensor<128x1x7x7xf32>, tensor<64x128x1x1xf32>)
        -> tensor<1x56x56x64xf32>
    ```
  }];
  let arguments = (ins Mixer_F32Tensor:$input, Mixer_F32Tensor:$pw1_weight,
                   Mixer_F32Tensor:$act_scale, Mixer_F32Tensor:$act_bias,
                   Mixer_F32Tensor:$dw_weight, Mixer_F32Tensor:$pw2_weight,
                   DefaultValuedAttr<I64Attr, "7">:$kernel_size,
                   DefaultValuedAttr<I64Attr, "3">:$padding);
  let results = (outs Mixer_F32Tensor:$result);
}

def Mixer_SelfAttentionOp : Mixer_LayerOp<"self_attention"> {
  let summary = "Multi-head self-attention over the tokens of a map (CAFormer)";
  let description = [{
    timm's MetaFormer `Attention` (mixers.md §2.1): with `qkv_weight
    [3A, C]`, `heads = A / head_dim`, tokens flattened row-major,

    ```
    [q | k | v] = x @ qkv_weight^T        split as (3, heads, head_dim)
    o_h = softmax(q_h k_h^T / sqrt(head_dim)) v_h
    y   = concat_h(o_h) @ proj_weight^T
    ```

    No biases (timm's defaults). The attention itself is a
    `mixer.attention`, so it tiles like any other.

    ```mlir
    %y = mixer.self_attention %x, %qkv, %proj {head_dim = 32}
        : (tensor<1x14x14x320xf32>, tensor<960x320xf32>, tensor<320x320xf32>)
        -> tensor<1x14x14x320xf32>
    ```

    The verifier enforces: `input` is `[B, H, W, C]` or `[B, N, C]`,
    `qkv_weight` is `[3A, C]` with `A` a multiple of `head_dim`,
    `proj_weight` is `[C, A]`, the result has the input's shape.
  }];
  let arguments = (ins Mixer_F32Tensor:$input, Mixer_F32Tensor:$qkv_weight,
                   Mixer_F32Tensor:$proj_weight, I64Attr:$head_dim);
  let results = (outs Mixer_F32Tensor:$result);
}

//===----------------------------------------------------------------------===//
// Convolutions, pooling and heads
//===----------------------------------------------------------------------===//

def Mixer_Conv2dOp : Mixer_LayerOp<"conv2d"> {
  let summary = "2-D convolution, channels-last input, PyTorch weight layout";
  let description = [{
    `nn.Conv2d` on a `[B, H, W, C]` map with a `[F, C/groups, KH, KW]`
    weight and optional bias `[F]`, zero padding `padding = [ph, pw]` on
    both sides and `stride = [sh, sw]`:

    ```
    y[b,i,j,f] = bias[f] + sum_{c,u,v} xpad[b, i*sh+u, j*sw+v, g(f)*C/groups + c] * weight[f,c,u,v]
    ```

    with `g(f) = f / (F / groups)`. The MetaFormer stem is `k7 s4 p2`, the
    downsampling layers `k3 s2 p1`; `groups = C = F` is a depthwise conv.

    ```mlir
    %y = mixer.conv2d %x, %w, %b {stride = array<i64: 4, 4>, padding = array<i64: 2, 2>}
        : (tensor<1x224x224x3xf32>, tensor<64x3x7x7xf32>, tensor<64xf32>)
        -> tensor<1x56x56x64xf32>
    ```

    The verifier enforces static spatial and channel sizes, positive
    strides, non-negative padding, `groups` dividing `C` and `F`, and the
    output size `(H + 2 ph - KH) / sh + 1` (likewise for W).
  }];
  let arguments = (ins Mixer_F32Tensor:$input, Mixer_F32Tensor:$weight,
                   Optional<Mixer_F32Tensor>:$bias,
                   DefaultValuedAttr<DenseI64ArrayAttr, "{1, 1}">:$stride,
                   DefaultValuedAttr<DenseI64ArrayAttr, "{0, 0}">:$padding,
                   DefaultValuedAttr<I64Attr, "1">:$groups);
  let results = (outs Mixer_F32Tensor:$result);
  let assemblyFormat = [{
    $input `,` $weight (`,` $bias^)? attr-dict `:`
    functional-type(operands, results)
  }];
}

def Mixer_GlobalAvgPoolOp : Mixer_LayerOp<"global_avg_pool"> {
  let summary = "Mean over the spatial axes: [B, H, W, C] -> [B, C]";
  let description = [{
    `y[b, c] = mean_{h,w} x[b, h, w, c]`: the global pooling of the
    classifier heads. MetaFormer v1 normalises the map first, then pools; v2
    pools first, then normalises (mixers.md §1.1) — heads are written as
    `mixer.layer_norm` and `mixer.global_avg_pool` in the order they need.

    ```mlir
    %y = mixer.global_avg_pool %x : (tensor<1x7x7x512xf32>) -> tensor<1x512xf32>
    ```
  }];
  let arguments = (ins Mixer_F32Tensor:$input);
  let results = (outs Mixer_F32Tensor:$result);
}

def Mixer_MlpHeadOp : Mixer_LayerOp<"mlp_head"> {
  let summary = "MetaFormer MLP classifier head: fc -> SquaredReLU -> LayerNorm -> fc";
  let description = [{
    The ConvFormer/CAFormer head (mixers.md §1.4): both linears have a bias,
    and the LayerNorm (over the hidden features, with bias) comes after the
    activation:

    ```
    y = fc2( LN_eps( relu(fc1(x))^2 ) )
    ```

    ```mlir
    %y = mixer.mlp_head %x, %w1, %b1, %nw, %nb, %w2, %b2 {epsilon = 1.000000e-05 : f64}
        : (tensor<1x512xf32>, tensor<2048x512xf32>, tensor<2048xf32>, tensor<2048xf32>,
           tensor<2048xf32>, tensor<1000x2048xf32>, tensor<1000xf32>) -> tensor<1x1000xf32>
    ```
  }];
  let arguments = (ins Mixer_F32Tensor:$input, Mixer_F32Tensor:$fc1_weight,
                   Mixer_F32Tensor:$fc1_bias, Mixer_F32Tensor:$norm_weight,
                   Mixer_F32Tensor:$norm_bias, Mixer_F32Tensor:$fc2_weight,
                   Mixer_F32Tensor:$fc2_bias, F64Attr:$epsilon);
  let results = (outs Mixer_F32Tensor:$result);
}

//===----------------------------------------------------------------------===//
// The MetaFormer block
//===----------------------------------------------------------------------===//

def Mixer_BlockOp : Mixer_Op<"block", [
    RecursiveMemoryEffects, AttrSizedOperandSegments,
    AllTypesMatch<["input", "result"]>,
    DeclareOpInterfaceMethods<AggregatedOpInterface, ["decomposeOperation"]>,
    DeclareOpInterfaceMethods<ReifyRankedShapedTypeOpInterface,
                              ["reifyResultShapes"]>]> {
  let summary = "The MetaFormer block: two scaled residual branches around any token mixer";
  let description = [{
    States the MetaFormer skeleton (mixers.md §1.1) with any token mixer in
    it. Each region receives the (un-normalised) stream and yields its
    branch; the norm is part of the region:

    ```
    y = res_scale1 * x + layer_scale1 * token_mixer(x)
    z = res_scale2 * y + layer_scale2 * mlp(y)
    ```

    The per-channel `[C]` scales are optional in pairs (absent means 1):
    PoolFormer v1 uses layer scales, MetaFormer v2 res scales in stages 3–4.

    ```mlir
    %z = mixer.block %x layer_scale(%l1, %l2)
        : (tensor<1x56x56x64xf32>, tensor<64xf32>, tensor<64xf32>) -> tensor<1x56x56x64xf32>
      token_mixer {
      ^bb0(%a: tensor<1x56x56x64xf32>):
        %n = mixer.layer_norm %a, %g {axes = array<i64: 1, 2, 3>, epsilon = 1.000000e-05 : f64}
            : (tensor<1x56x56x64xf32>, tensor<64xf32>) -> tensor<1x56x56x64xf32>
        %m = mixer.pool %n : (tensor<1x56x56x64xf32>) -> tensor<1x56x56x64xf32>
        mixer.yield %m : tensor<1x56x56x64xf32>
      } mlp {
      ^bb0(%a: tensor<1x56x56x64xf32>):
        mixer.yield %a : tensor<1x56x56x64xf32>
      }
    ```

    The verifier enforces: each region has one block with one argument of
    the input's type and yields one value of that type; the scales are
    `[C]` with `C` the last dimension of `input`. `mixer-decompose-layers`
    inlines the regions and emits the scaled residuals as elementwise linalg.
  }];
  let arguments = (ins Mixer_F32Tensor:$input,
                   Optional<Mixer_F32Tensor>:$layer_scale1,
                   Optional<Mixer_F32Tensor>:$layer_scale2,
                   Optional<Mixer_F32Tensor>:$res_scale1,
                   Optional<Mixer_F32Tensor>:$res_scale2);
  let results = (outs Mixer_F32Tensor:$result);
  let regions = (region SizedRegion<1>:$token_mixer, SizedRegion<1>:$mlp);
  let assemblyFormat = [{
    $input (`layer_scale` `(` $layer_scale1^ `,` $layer_scale2 `)`)?
    (`res_scale` `(` $res_scale1^ `,` $res_scale2 `)`)? `:`
    functional-type(operands, results)
    `token_mixer` $token_mixer `mlp` $mlp attr-dict-with-keyword
  }];
  let hasVerifier = 1;
  let hasRegionVerifier = 1;
}

def Mixer_YieldOp : Mixer_Op<"yield", [Pure, Terminator, ReturnLike,
    HasParent<"BlockOp">]> {
  let summary = "Yields a branch value of a mixer.block region";
  let description = [{
    Terminates a region of `mixer.block` with the branch's output.

    ```mlir
    mixer.yield %m : tensor<1x56x56x64xf32>
    ```
  }];
  let arguments = (ins Mixer_F32Tensor:$value);
  let assemblyFormat = "$value attr-dict `:` type($value)";
}

#endif // MIXER_METAFORMER_OPS_TD
