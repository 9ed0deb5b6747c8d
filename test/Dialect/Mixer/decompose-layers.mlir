// RUN: tmix-opt %s -split-input-file -mixer-decompose-layers | FileCheck %s
// RUN: tmix-opt %s -split-input-file -mixer-decompose-layers -canonicalize | FileCheck %s --check-prefix=CANON

// A norm over (H, W, C): sums into a [B] tensor, mean, centred squares,
// 1/sqrt(var + eps); the statistics are broadcast to one per row of the
// [B*H*W, C] view and one [M, C] generic (role "norm") normalises with the
// channel weight, so that a consuming Linear can take it into its tiles.
// CHECK-DAG: #[[ID4:.+]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
// CHECK-DAG: #[[B:.+]] = affine_map<(d0, d1, d2, d3) -> (d0)>
// CHECK-DAG: #[[ROWSTAT:.+]] = affine_map<(d0) -> (d0 floordiv 143)>
// CHECK-DAG: #[[ID2:.+]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[ROW:.+]] = affine_map<(d0, d1) -> (d0)>
// CHECK-DAG: #[[CH:.+]] = affine_map<(d0, d1) -> (d1)>
// CHECK-LABEL: func.func @layer_norm_hwc
// CHECK: %[[INV:.+]] = arith.divf %{{.*}}, %{{.*}} : f32
// CHECK: %[[SUM:.+]] = linalg.generic {indexing_maps = [#[[ID4]], #[[B]]], iterator_types = ["parallel", "reduction", "reduction", "reduction"]} ins(%arg0 : tensor<2x13x11x20xf32>) outs(%{{.*}} : tensor<2xf32>)
// CHECK: %[[MEAN:.+]] = linalg.generic {{.*}} ins(%[[SUM]] : tensor<2xf32>)
// CHECK: arith.mulf %{{.*}}, %[[INV]]
// CHECK: %[[SQ:.+]] = linalg.generic {indexing_maps = [#[[ID4]], #[[B]], #[[B]]], iterator_types = ["parallel", "reduction", "reduction", "reduction"]} ins(%arg0, %[[MEAN]] : tensor<2x13x11x20xf32>, tensor<2xf32>)
// CHECK: %[[RSTD:.+]] = linalg.generic {{.*}} ins(%[[SQ]] : tensor<2xf32>)
// CHECK: math.sqrt
// CHECK: %[[X2:.+]] = tensor.collapse_shape %arg0 {{\[}}[0, 1, 2], [3]] : tensor<2x13x11x20xf32> into tensor<286x20xf32>
// CHECK: %[[MEANROW:.+]] = linalg.generic {indexing_maps = [#[[ROWSTAT]], #{{.+}}], iterator_types = ["parallel"]} ins(%[[MEAN]] : tensor<2xf32>) outs(%{{.*}} : tensor<286xf32>)
// CHECK: %[[RSTDROW:.+]] = linalg.generic {indexing_maps = [#[[ROWSTAT]], #{{.+}}], iterator_types = ["parallel"]} ins(%[[RSTD]] : tensor<2xf32>) outs(%{{.*}} : tensor<286xf32>)
// CHECK: %[[Y:.+]] = linalg.generic {indexing_maps = [#[[ID2]], #[[ROW]], #[[ROW]], #[[CH]], #[[ID2]]], iterator_types = ["parallel", "parallel"]} ins(%[[X2]], %[[MEANROW]], %[[RSTDROW]], %arg1 : {{.*}}) outs(%{{.*}} : tensor<286x20xf32>) attrs = {tmix.role = "norm"}
// CHECK: tensor.expand_shape %[[Y]] {{\[}}[0, 1, 2], [3]] output_shape [2, 13, 11, 20]
// CHECK-NOT: mixer.
func.func @layer_norm_hwc(%x: tensor<2x13x11x20xf32>, %w: tensor<20xf32>) -> tensor<2x13x11x20xf32> {
  %0 = mixer.layer_norm %x, %w {axes = array<i64: 1, 2, 3>, epsilon = 1.0e-06 : f64} : (tensor<2x13x11x20xf32>, tensor<20xf32>) -> tensor<2x13x11x20xf32>
  return %0 : tensor<2x13x11x20xf32>
}

// -----

// A 1x1 conv weight with bias on a map: the weight is viewed as [N, K] and
// packed to [K, N] (role "pack"), the map is viewed as [M, K]; the bias
// initialises the accumulator (role "init") of one 2-D contraction (role
// "linear").
// CHECK-DAG: #[[MK:.+]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-DAG: #[[KN:.+]] = affine_map<(d0, d1, d2) -> (d2, d1)>
// CHECK-DAG: #[[MN:.+]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-LABEL: func.func @linear_conv1x1
// CHECK: %[[X:.+]] = tensor.collapse_shape %arg0 {{\[}}[0, 1, 2], [3]] : tensor<2x13x11x20xf32> into tensor<286x20xf32>
// CHECK: %[[W:.+]] = tensor.collapse_shape %arg1 {{\[}}[0], [1, 2, 3]] : tensor<36x20x1x1xf32> into tensor<36x20xf32>
// CHECK: %[[INIT:.+]] = linalg.generic {{.*}} ins(%arg2 : tensor<36xf32>) outs(%{{.*}} : tensor<286x36xf32>) attrs = {tmix.role = "init"}
// CHECK: %[[WT:.+]] = linalg.transpose ins(%[[W]] : tensor<36x20xf32>) outs(%{{.*}} : tensor<20x36xf32>) permutation = [1, 0] {tmix.role = "pack"}
// CHECK: %[[Y:.+]] = linalg.generic {indexing_maps = [#[[MK]], #[[KN]], #[[MN]]], iterator_types = ["parallel", "parallel", "reduction"]} ins(%[[X]], %[[WT]] : tensor<286x20xf32>, tensor<20x36xf32>) outs(%[[INIT]] : tensor<286x36xf32>) attrs = {tmix.role = "linear"}
// CHECK: tensor.expand_shape %[[Y]] {{\[}}[0, 1, 2], [3]] output_shape [2, 13, 11, 36] : tensor<286x36xf32> into tensor<2x13x11x36xf32>
func.func @linear_conv1x1(%x: tensor<2x13x11x20xf32>, %w: tensor<36x20x1x1xf32>, %b: tensor<36xf32>) -> tensor<2x13x11x36xf32> {
  %0 = mixer.linear %x, %w, %b : (tensor<2x13x11x20xf32>, tensor<36x20x1x1xf32>, tensor<36xf32>) -> tensor<2x13x11x36xf32>
  return %0 : tensor<2x13x11x36xf32>
}

// -----

// Pooling: window sums over the zero-padded map (the [3, 3] empty tensor
// only gives the window loops their extent), then avg - x with the in-grid
// neighbour count computed from the position.
// CHECK-DAG: #[[PAD:.+]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1 + d4, d2 + d5, d3)>
// CHECK-DAG: #[[WIN:.+]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d4, d5)>
// CHECK-LABEL: func.func @pool
// CHECK: %[[P:.+]] = tensor.pad %arg0 low[0, 1, 1, 0] high[0, 1, 1, 0]
// CHECK: %[[SUM:.+]] = linalg.generic {indexing_maps = [#[[PAD]], #[[WIN]], #{{.+}}], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction"]} ins(%[[P]], %{{.*}} : tensor<1x15x13x4xf32>, tensor<3x3xf32>)
// CHECK: linalg.generic {{.*}} ins(%[[SUM]], %arg0
// CHECK: linalg.index 1
// CHECK: arith.minsi
// CHECK: arith.maxsi
// CHECK: linalg.index 2
// CHECK: arith.divf
// CHECK: arith.subf
func.func @pool(%x: tensor<1x13x11x4xf32>) -> tensor<1x13x11x4xf32> {
  %0 = mixer.pool %x : (tensor<1x13x11x4xf32>) -> tensor<1x13x11x4xf32>
  return %0 : tensor<1x13x11x4xf32>
}

// -----

// Convolutions: the stem (dense) is im2col (role "im2col") into
// [B*OH*OW, C*KH*KW] and a Linear contraction with the weight viewed as
// [F, C*KH*KW]; a depthwise conv transposes its weight to [KH, KW, F] and runs
// the channels innermost; a grouped conv reads its group's channels
// (floordiv).
// CHECK-DAG: #[[PATCH:.+]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1 * 4 + d4, d2 * 4 + d5, d3)>
// CHECK-DAG: #[[DW:.+]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1 + d3, d2 + d4, d5)>
// CHECK-DAG: #[[DWW:.+]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d3, d4, d5)>
// CHECK-DAG: #[[GRP:.+]] = affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d0, d1 + d4, d2 + d5, (d3 floordiv 2) * 3 + d6)>
// CHECK-LABEL: func.func @convs
// CHECK: %[[P:.+]] = tensor.pad %arg0 low[0, 2, 2, 0] high[0, 2, 2, 0]
// CHECK: %[[COLS:.+]] = linalg.generic {indexing_maps = [#[[PATCH]], #{{.+}}], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "parallel"]} ins(%[[P]] : tensor<1x33x31x3xf32>) outs(%{{.*}} : tensor<1x7x7x3x7x7xf32>) attrs = {tmix.role = "im2col"}
// CHECK: tensor.collapse_shape %[[COLS]] {{\[}}[0, 1, 2], [3, 4, 5]] : tensor<1x7x7x3x7x7xf32> into tensor<49x147xf32>
// CHECK: tensor.collapse_shape %arg1 {{\[}}[0], [1, 2, 3]] : tensor<6x3x7x7xf32> into tensor<6x147xf32>
// CHECK: linalg.generic {{.*}} outs(%{{.*}} : tensor<49x6xf32>) attrs = {tmix.role = "linear"}
// CHECK: linalg.transpose ins(%{{.*}} : tensor<6x3x3xf32>) outs(%{{.*}} : tensor<3x3x6xf32>) permutation = [1, 2, 0] {tmix.role = "pack"}
// CHECK: linalg.generic {indexing_maps = [#[[DW]], #[[DWW]], #{{.+}}], iterator_types = ["parallel", "parallel", "parallel", "reduction", "reduction", "parallel"]} {{.*}} attrs = {tmix.role = "depthwise"}
// CHECK: linalg.generic {indexing_maps = [#[[GRP]], #{{.+}}, #{{.+}}], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]}
func.func @convs(%x: tensor<1x29x27x3xf32>, %w: tensor<6x3x7x7xf32>, %b: tensor<6xf32>,
                 %dw: tensor<6x1x3x3xf32>, %g: tensor<4x3x3x3xf32>) -> tensor<1x5x5x4xf32> {
  %0 = mixer.conv2d %x, %w, %b {stride = array<i64: 4, 4>, padding = array<i64: 2, 2>} : (tensor<1x29x27x3xf32>, tensor<6x3x7x7xf32>, tensor<6xf32>) -> tensor<1x7x7x6xf32>
  %1 = mixer.conv2d %0, %dw {groups = 6, padding = array<i64: 1, 1>} : (tensor<1x7x7x6xf32>, tensor<6x1x3x3xf32>) -> tensor<1x7x7x6xf32>
  %2 = mixer.conv2d %1, %g {groups = 2} : (tensor<1x7x7x6xf32>, tensor<4x3x3x3xf32>) -> tensor<1x5x5x4xf32>
  return %2 : tensor<1x5x5x4xf32>
}

// -----

// Self-attention: one qkv contraction, the three heads views transposed to
// [B, heads, N, head_dim] (no copy of K/V per head), a mixer.attention left
// for the attention passes, the heads merged back, the projection.
// CHECK-LABEL: func.func @self_attention
// CHECK: tensor.collapse_shape %arg0 {{\[}}[0], [1, 2], [3]] : tensor<1x7x5x48xf32> into tensor<1x35x48xf32>
// CHECK: tensor.expand_shape %{{.*}} {{\[}}[0], [1], [2, 3, 4]] output_shape [1, 35, 3, 3, 16] : tensor<1x35x144xf32> into tensor<1x35x3x3x16xf32>
// CHECK-COUNT-3: linalg.transpose ins(%{{.*}} : tensor<1x35x3x16xf32>) outs(%{{.*}} : tensor<1x3x35x16xf32>) permutation = [0, 2, 1, 3]
// CHECK: %[[O:.+]] = mixer.attention %{{.*}}, %{{.*}}, %{{.*}} : (tensor<1x3x35x16xf32>, tensor<1x3x35x16xf32>, tensor<1x3x35x16xf32>) -> tensor<1x3x35x16xf32>
// CHECK: linalg.transpose ins(%[[O]] : tensor<1x3x35x16xf32>) outs(%{{.*}} : tensor<1x35x3x16xf32>) permutation = [0, 2, 1, 3]
// CHECK: tensor.collapse_shape %{{.*}} {{\[}}[0], [1], [2, 3]] : tensor<1x35x3x16xf32> into tensor<1x35x48xf32>
// CHECK: tensor.expand_shape %{{.*}} {{\[}}[0], [1, 2], [3]] output_shape [1, 7, 5, 48] : tensor<1x35x48xf32> into tensor<1x7x5x48xf32>
func.func @self_attention(%x: tensor<1x7x5x48xf32>, %qkv: tensor<144x48xf32>, %proj: tensor<48x48xf32>) -> tensor<1x7x5x48xf32> {
  %0 = mixer.self_attention %x, %qkv, %proj {head_dim = 16} : (tensor<1x7x5x48xf32>, tensor<144x48xf32>, tensor<48x48xf32>) -> tensor<1x7x5x48xf32>
  return %0 : tensor<1x7x5x48xf32>
}

// -----

// A block inlines its regions (already decomposed: post-order) and adds the
// scaled residuals as [M, C] generics (role "residual"):
// y = r1*x + l1*mixer(x), z = r2*y + l2*mlp(y).
// CHECK-LABEL: func.func @block
// CHECK-NOT: mixer.
// CHECK: %[[Y:.+]] = linalg.generic {{.*}} ins(%{{.*}}, %{{.*}}, %arg1, %arg2 : tensor<15x8xf32>, tensor<15x8xf32>, tensor<8xf32>, tensor<8xf32>) {{.*}} attrs = {tmix.role = "residual"}
// CHECK: arith.mulf
// CHECK: arith.mulf
// CHECK: arith.addf
// CHECK: %[[YE:.+]] = tensor.expand_shape %[[Y]]
// CHECK: %[[YC:.+]] = tensor.collapse_shape %[[YE]]
// CHECK: linalg.generic {{.*}} ins(%[[YC]], %{{.*}}, %arg1, %arg2 : tensor<15x8xf32>, tensor<15x8xf32>, tensor<8xf32>, tensor<8xf32>) {{.*}} attrs = {tmix.role = "residual"}
// CANON-LABEL: func.func @block
// CANON-NOT: mixer.identity
func.func @block(%x: tensor<1x5x3x8xf32>, %r: tensor<8xf32>, %l: tensor<8xf32>) -> tensor<1x5x3x8xf32> {
  %z = mixer.block %x layer_scale(%l, %l) res_scale(%r, %r) : (tensor<1x5x3x8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<1x5x3x8xf32>
    token_mixer {
    ^bb0(%a: tensor<1x5x3x8xf32>):
      %m = mixer.pool %a : (tensor<1x5x3x8xf32>) -> tensor<1x5x3x8xf32>
      mixer.yield %m : tensor<1x5x3x8xf32>
    } mlp {
    ^bb0(%a: tensor<1x5x3x8xf32>):
      %i = mixer.identity %a : (tensor<1x5x3x8xf32>) -> tensor<1x5x3x8xf32>
      mixer.yield %i : tensor<1x5x3x8xf32>
    }
  return %z : tensor<1x5x3x8xf32>
}

// -----

// Random token mixing of one sample is a 2-D contraction of the frozen
// matrix with the [N, C] tokens (role "linear": it gets register tiles);
// a larger batch keeps a batched generic.
// CHECK-LABEL: func.func @random_mix
// CHECK: %[[X:.+]] = tensor.collapse_shape %{{.*}} {{\[}}[0, 1], [2]] : tensor<1x35x12xf32> into tensor<35x12xf32>
// CHECK: %[[Y:.+]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]} ins(%arg1, %[[X]] : tensor<35x35xf32>, tensor<35x12xf32>) {{.*}} attrs = {tmix.role = "linear"}
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%arg1, %{{.*}} : tensor<35x35xf32>, tensor<2x35x12xf32>)
func.func @random_mix(%x: tensor<1x7x5x12xf32>, %m: tensor<35x35xf32>, %y: tensor<2x7x5x12xf32>) -> (tensor<1x7x5x12xf32>, tensor<2x7x5x12xf32>) {
  %0 = mixer.random_mix %x, %m : (tensor<1x7x5x12xf32>, tensor<35x35xf32>) -> tensor<1x7x5x12xf32>
  %1 = mixer.random_mix %y, %m : (tensor<2x7x5x12xf32>, tensor<35x35xf32>) -> tensor<2x7x5x12xf32>
  return %0, %1 : tensor<1x7x5x12xf32>, tensor<2x7x5x12xf32>
}
