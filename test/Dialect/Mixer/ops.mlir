// RUN: tmix-opt %s -split-input-file | FileCheck %s
// Round trip through the generic form must give the same pretty form.
// RUN: tmix-opt %s -split-input-file -mlir-print-op-generic | tmix-opt -split-input-file | FileCheck %s

// The example of the op's description.
// CHECK-LABEL: func.func @causal_gqa
// CHECK: mixer.attention %{{.*}}, %{{.*}}, %{{.*}} {mask = #mixer.mask<causal>, scale = 1.250000e-01 : f32} : (tensor<1x8x128x64xf32>, tensor<1x2x128x64xf32>, tensor<1x2x128x64xf32>) -> tensor<1x8x128x64xf32>
func.func @causal_gqa(%q: tensor<1x8x128x64xf32>, %k: tensor<1x2x128x64xf32>, %v: tensor<1x2x128x64xf32>) -> tensor<1x8x128x64xf32> {
  %o = mixer.attention %q, %k, %v {mask = #mixer.mask<causal>, scale = 0.125 : f32} : (tensor<1x8x128x64xf32>, tensor<1x2x128x64xf32>, tensor<1x2x128x64xf32>) -> tensor<1x8x128x64xf32>
  return %o : tensor<1x8x128x64xf32>
}

// -----

// No attributes: scale 1/sqrt(D), no mask.
// CHECK-LABEL: func.func @defaults
// CHECK: %[[O:.+]] = mixer.attention %arg0, %arg1, %arg2 : (tensor<2x4x7x80xf32>, tensor<2x4x9x80xf32>, tensor<2x4x9x80xf32>) -> tensor<2x4x7x80xf32>
// CHECK: return %[[O]]
func.func @defaults(%q: tensor<2x4x7x80xf32>, %k: tensor<2x4x9x80xf32>, %v: tensor<2x4x9x80xf32>) -> tensor<2x4x7x80xf32> {
  %o = mixer.attention %q, %k, %v : (tensor<2x4x7x80xf32>, tensor<2x4x9x80xf32>, tensor<2x4x9x80xf32>) -> tensor<2x4x7x80xf32>
  return %o : tensor<2x4x7x80xf32>
}

// -----

// Every mask kind, in its canonical spelling.
// CHECK-LABEL: func.func @masks
// CHECK: mask = #mixer.mask<none>
// CHECK: mask = #mixer.mask<causal>
// CHECK: mask = #mixer.mask<window, left = 128, right = 0>
// CHECK: mask = #mixer.mask<block_local, block = 64>
// CHECK: mask = #mixer.mask<dilated, width = 8, dilation = 2>
// CHECK: mask = #mixer.mask<global_local, global = 4, left = 64, right = 64>
func.func @masks(%q: tensor<1x2x256x32xf32>, %k: tensor<1x2x256x32xf32>, %v: tensor<1x2x256x32xf32>) {
  %0 = mixer.attention %q, %k, %v {mask = #mixer.mask<none>} : (tensor<1x2x256x32xf32>, tensor<1x2x256x32xf32>, tensor<1x2x256x32xf32>) -> tensor<1x2x256x32xf32>
  %1 = mixer.attention %q, %k, %v {mask = #mixer.mask<causal>} : (tensor<1x2x256x32xf32>, tensor<1x2x256x32xf32>, tensor<1x2x256x32xf32>) -> tensor<1x2x256x32xf32>
  %2 = mixer.attention %q, %k, %v {mask = #mixer.mask<window, left = 128, right = 0>} : (tensor<1x2x256x32xf32>, tensor<1x2x256x32xf32>, tensor<1x2x256x32xf32>) -> tensor<1x2x256x32xf32>
  %3 = mixer.attention %q, %k, %v {mask = #mixer.mask<block_local, block = 64>} : (tensor<1x2x256x32xf32>, tensor<1x2x256x32xf32>, tensor<1x2x256x32xf32>) -> tensor<1x2x256x32xf32>
  %4 = mixer.attention %q, %k, %v {mask = #mixer.mask<dilated, width = 8, dilation = 2>} : (tensor<1x2x256x32xf32>, tensor<1x2x256x32xf32>, tensor<1x2x256x32xf32>) -> tensor<1x2x256x32xf32>
  %5 = mixer.attention %q, %k, %v {mask = #mixer.mask<global_local, global = 4, left = 64, right = 64>} : (tensor<1x2x256x32xf32>, tensor<1x2x256x32xf32>, tensor<1x2x256x32xf32>) -> tensor<1x2x256x32xf32>
  return
}

// -----

// Keys may come in any order; they print in canonical order.
// CHECK-LABEL: func.func @key_order
// CHECK: mask = #mixer.mask<global_local, global = 1, left = 3, right = 2>
func.func @key_order(%q: tensor<1x1x8x16xf32>, %k: tensor<1x1x8x16xf32>, %v: tensor<1x1x8x16xf32>) -> tensor<1x1x8x16xf32> {
  %o = mixer.attention %q, %k, %v {mask = #mixer.mask<global_local, right = 2, left = 3, global = 1>} : (tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>) -> tensor<1x1x8x16xf32>
  return %o : tensor<1x1x8x16xf32>
}

// -----

// Dynamic batch and lengths; multi-query (Hkv = 1); Dv != D.
// CHECK-LABEL: func.func @dynamic_mqa
// CHECK: mixer.attention %arg0, %arg1, %arg2 {mask = #mixer.mask<window, left = 16, right = 16>} : (tensor<?x8x?x64xf16>, tensor<?x1x?x64xf16>, tensor<?x1x?x32xf16>) -> tensor<?x8x?x32xf16>
func.func @dynamic_mqa(%q: tensor<?x8x?x64xf16>, %k: tensor<?x1x?x64xf16>, %v: tensor<?x1x?x32xf16>) -> tensor<?x8x?x32xf16> {
  %o = mixer.attention %q, %k, %v {mask = #mixer.mask<window, left = 16, right = 16>} : (tensor<?x8x?x64xf16>, tensor<?x1x?x64xf16>, tensor<?x1x?x32xf16>) -> tensor<?x8x?x32xf16>
  return %o : tensor<?x8x?x32xf16>
}

// -----

// Bias as the fourth operand (f32 with bf16 inputs, broadcast over batch and
// heads) and lse as the second result.
// CHECK-LABEL: func.func @bias_and_lse
// CHECK: %[[O:.+]], %[[L:.+]] = mixer.attention %arg0, %arg1, %arg2, %arg3 {mask = #mixer.mask<causal>} : (tensor<2x4x16x32xbf16>, tensor<2x2x16x32xbf16>, tensor<2x2x16x32xbf16>, tensor<1x1x16x16xf32>) -> (tensor<2x4x16x32xbf16>, tensor<2x4x16xf32>)
// CHECK: return %[[O]], %[[L]]
func.func @bias_and_lse(%q: tensor<2x4x16x32xbf16>, %k: tensor<2x2x16x32xbf16>, %v: tensor<2x2x16x32xbf16>, %b: tensor<1x1x16x16xf32>) -> (tensor<2x4x16x32xbf16>, tensor<2x4x16xf32>) {
  %o, %l = mixer.attention %q, %k, %v, %b {mask = #mixer.mask<causal>} : (tensor<2x4x16x32xbf16>, tensor<2x2x16x32xbf16>, tensor<2x2x16x32xbf16>, tensor<1x1x16x16xf32>) -> (tensor<2x4x16x32xbf16>, tensor<2x4x16xf32>)
  return %o, %l : tensor<2x4x16x32xbf16>, tensor<2x4x16xf32>
}

// -----

// A lower-rank bias broadcasts right-aligned; lse without a bias.
// CHECK-LABEL: func.func @rank2_bias
// CHECK: mixer.attention %arg0, %arg1, %arg2, %arg3 : (tensor<1x2x5x8xf32>, tensor<1x2x9x8xf32>, tensor<1x2x9x8xf32>, tensor<5x9xf32>) -> tensor<1x2x5x8xf32>
// CHECK-LABEL: func.func @lse_only
// CHECK: %{{.+}}, %{{.+}} = mixer.attention %arg0, %arg1, %arg2 : (tensor<?x2x?x8xf32>, tensor<?x2x?x8xf32>, tensor<?x2x?x8xf32>) -> (tensor<?x2x?x8xf32>, tensor<?x2x?xf32>)
func.func @rank2_bias(%q: tensor<1x2x5x8xf32>, %k: tensor<1x2x9x8xf32>, %v: tensor<1x2x9x8xf32>, %b: tensor<5x9xf32>) -> tensor<1x2x5x8xf32> {
  %o = mixer.attention %q, %k, %v, %b : (tensor<1x2x5x8xf32>, tensor<1x2x9x8xf32>, tensor<1x2x9x8xf32>, tensor<5x9xf32>) -> tensor<1x2x5x8xf32>
  return %o : tensor<1x2x5x8xf32>
}
func.func @lse_only(%q: tensor<?x2x?x8xf32>, %k: tensor<?x2x?x8xf32>, %v: tensor<?x2x?x8xf32>) -> tensor<?x2x?xf32> {
  %o, %l = mixer.attention %q, %k, %v : (tensor<?x2x?x8xf32>, tensor<?x2x?x8xf32>, tensor<?x2x?x8xf32>) -> (tensor<?x2x?x8xf32>, tensor<?x2x?xf32>)
  return %l : tensor<?x2x?xf32>
}

// -----

// The tiled form: one block of keys folded into the running softmax state,
// at absolute positions (row_pos, col_pos); with and without a bias.
// CHECK-LABEL: func.func @online_attention
// CHECK: %{{.+}}, %{{.+}}, %{{.+}} = mixer.online_attention %arg0, %arg1, %arg2 at(%arg3, %arg4) outs(%arg5, %arg6, %arg7) {mask = #mixer.mask<causal>, scale = 1.250000e-01 : f32} : tensor<1x4x64x64xf32>, tensor<1x1x128x64xf32>, tensor<1x1x128x64xf32> -> tensor<1x4x64x64xf32>, tensor<1x4x64xf32>, tensor<1x4x64xf32>
// CHECK: mixer.online_attention %arg0, %arg1, %arg2, bias %arg8 : tensor<64x128xf32> at(%arg3, %arg4) outs(%arg5, %arg6, %arg7) : tensor<1x4x64x64xf32>
func.func @online_attention(%q: tensor<1x4x64x64xf32>, %k: tensor<1x1x128x64xf32>, %v: tensor<1x1x128x64xf32>, %rp: index, %cp: index, %acc: tensor<1x4x64x64xf32>, %m: tensor<1x4x64xf32>, %l: tensor<1x4x64xf32>, %b: tensor<64x128xf32>) {
  %a:3 = mixer.online_attention %q, %k, %v at(%rp, %cp) outs(%acc, %m, %l) {mask = #mixer.mask<causal>, scale = 0.125 : f32}
      : tensor<1x4x64x64xf32>, tensor<1x1x128x64xf32>, tensor<1x1x128x64xf32> -> tensor<1x4x64x64xf32>, tensor<1x4x64xf32>, tensor<1x4x64xf32>
  %c:3 = mixer.online_attention %q, %k, %v, bias %b : tensor<64x128xf32> at(%rp, %cp) outs(%acc, %m, %l)
      : tensor<1x4x64x64xf32>, tensor<1x1x128x64xf32>, tensor<1x1x128x64xf32> -> tensor<1x4x64x64xf32>, tensor<1x4x64xf32>, tensor<1x4x64xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// MetaFormer layer ops
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @layer_norms
// CHECK: mixer.layer_norm %arg0, %arg1 {axes = array<i64: 1, 2, 3>, epsilon = 9.9999999999999995E-7 : f64} : (tensor<1x13x11x80xf32>, tensor<80xf32>) -> tensor<1x13x11x80xf32>
// CHECK: mixer.layer_norm %arg0, %arg1, %arg2 {axes = array<i64: 3>, epsilon = 1.000000e-05 : f64} : (tensor<1x13x11x80xf32>, tensor<80xf32>, tensor<80xf32>) -> tensor<1x13x11x80xf32>
// CHECK: mixer.layer_norm %{{.*}}, %arg1 {axes = array<i64: 1, 2>, epsilon = 0.000000e+00 : f64} : (tensor<?x13x80xf32>, tensor<80xf32>) -> tensor<?x13x80xf32>
func.func @layer_norms(%x: tensor<1x13x11x80xf32>, %w: tensor<80xf32>, %b: tensor<80xf32>, %t: tensor<?x13x80xf32>) {
  %0 = mixer.layer_norm %x, %w {axes = array<i64: 1, 2, 3>, epsilon = 1.0e-06 : f64} : (tensor<1x13x11x80xf32>, tensor<80xf32>) -> tensor<1x13x11x80xf32>
  %1 = mixer.layer_norm %x, %w, %b {axes = array<i64: 3>, epsilon = 1.0e-05 : f64} : (tensor<1x13x11x80xf32>, tensor<80xf32>, tensor<80xf32>) -> tensor<1x13x11x80xf32>
  %2 = mixer.layer_norm %t, %w {axes = array<i64: 1, 2>, epsilon = 0.0 : f64} : (tensor<?x13x80xf32>, tensor<80xf32>) -> tensor<?x13x80xf32>
  return
}

// -----

// CHECK-LABEL: func.func @activations
// CHECK: mixer.gelu %arg0 : (tensor<4x7xf32>) -> tensor<4x7xf32>
// CHECK: mixer.squared_relu %arg0 : (tensor<4x7xf32>) -> tensor<4x7xf32>
// CHECK: mixer.star_relu %arg0, %arg1, %arg2 : (tensor<4x7xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<4x7xf32>
func.func @activations(%x: tensor<4x7xf32>, %s: tensor<1xf32>, %b: tensor<1xf32>) {
  %0 = mixer.gelu %x : (tensor<4x7xf32>) -> tensor<4x7xf32>
  %1 = mixer.squared_relu %x : (tensor<4x7xf32>) -> tensor<4x7xf32>
  %2 = mixer.star_relu %x, %s, %b : (tensor<4x7xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<4x7xf32>
  return
}

// -----

// CHECK-LABEL: func.func @linear_and_mlp
// CHECK: mixer.linear %arg0, %arg1, %arg2 : (tensor<1x14x14x320xf32>, tensor<1280x320x1x1xf32>, tensor<1280xf32>) -> tensor<1x14x14x1280xf32>
// CHECK: mixer.linear %arg3, %arg4 : (tensor<?x320xf32>, tensor<96x320xf32>) -> tensor<?x96xf32>
// CHECK: mixer.mlp %arg0, %arg1, %arg5 activation = star_relu(%arg6, %arg7) : (tensor<1x14x14x320xf32>, tensor<1280x320x1x1xf32>, tensor<320x1280xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<1x14x14x320xf32>
// CHECK: mixer.mlp %arg0, %arg1, %arg5 activation = gelu bias(%arg2, %arg8) : (tensor<1x14x14x320xf32>, tensor<1280x320x1x1xf32>, tensor<320x1280xf32>, tensor<1280xf32>, tensor<320xf32>) -> tensor<1x14x14x320xf32>
// CHECK: mixer.mlp %arg0, %arg1, %arg5 activation = squared_relu : (tensor<1x14x14x320xf32>, tensor<1280x320x1x1xf32>, tensor<320x1280xf32>) -> tensor<1x14x14x320xf32>
func.func @linear_and_mlp(%x: tensor<1x14x14x320xf32>, %w: tensor<1280x320x1x1xf32>, %b: tensor<1280xf32>,
                          %t: tensor<?x320xf32>, %w2: tensor<96x320xf32>, %w3: tensor<320x1280xf32>,
                          %s: tensor<1xf32>, %sb: tensor<1xf32>, %b3: tensor<320xf32>) {
  %0 = mixer.linear %x, %w, %b : (tensor<1x14x14x320xf32>, tensor<1280x320x1x1xf32>, tensor<1280xf32>) -> tensor<1x14x14x1280xf32>
  %1 = mixer.linear %t, %w2 : (tensor<?x320xf32>, tensor<96x320xf32>) -> tensor<?x96xf32>
  %2 = mixer.mlp %x, %w, %w3 activation = star_relu(%s, %sb) : (tensor<1x14x14x320xf32>, tensor<1280x320x1x1xf32>, tensor<320x1280xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<1x14x14x320xf32>
  %3 = mixer.mlp %x, %w, %w3 activation = gelu bias(%b, %b3) : (tensor<1x14x14x320xf32>, tensor<1280x320x1x1xf32>, tensor<320x1280xf32>, tensor<1280xf32>, tensor<320xf32>) -> tensor<1x14x14x320xf32>
  %4 = mixer.mlp %x, %w, %w3 activation = squared_relu : (tensor<1x14x14x320xf32>, tensor<1280x320x1x1xf32>, tensor<320x1280xf32>) -> tensor<1x14x14x320xf32>
  return
}

// -----

// CHECK-LABEL: func.func @token_mixers
// CHECK: mixer.pool %arg0 : (tensor<2x13x11x80xf32>) -> tensor<2x13x11x80xf32>
// CHECK: mixer.pool %arg0 {kernel_size = 5 : i64} : (tensor<2x13x11x80xf32>) -> tensor<2x13x11x80xf32>
// CHECK: mixer.random_mix %arg0, %arg1 : (tensor<2x13x11x80xf32>, tensor<143x143xf32>) -> tensor<2x13x11x80xf32>
// CHECK: mixer.sepconv %arg0, %arg2, %arg3, %arg4, %arg5, %arg6 : (tensor<2x13x11x80xf32>, tensor<160x80x1x1xf32>, tensor<1xf32>, tensor<1xf32>, tensor<160x1x7x7xf32>, tensor<80x160x1x1xf32>) -> tensor<2x13x11x80xf32>
// CHECK: mixer.self_attention %arg0, %arg7, %arg8 {head_dim = 16 : i64} : (tensor<2x13x11x80xf32>, tensor<240x80xf32>, tensor<80x80xf32>) -> tensor<2x13x11x80xf32>
func.func @token_mixers(%x: tensor<2x13x11x80xf32>, %m: tensor<143x143xf32>,
                        %pw1: tensor<160x80x1x1xf32>, %s: tensor<1xf32>, %b: tensor<1xf32>,
                        %dw: tensor<160x1x7x7xf32>, %pw2: tensor<80x160x1x1xf32>,
                        %qkv: tensor<240x80xf32>, %proj: tensor<80x80xf32>) {
  %0 = mixer.pool %x {kernel_size = 3} : (tensor<2x13x11x80xf32>) -> tensor<2x13x11x80xf32>
  %1 = mixer.pool %x {kernel_size = 5} : (tensor<2x13x11x80xf32>) -> tensor<2x13x11x80xf32>
  %2 = mixer.random_mix %x, %m : (tensor<2x13x11x80xf32>, tensor<143x143xf32>) -> tensor<2x13x11x80xf32>
  %3 = mixer.sepconv %x, %pw1, %s, %b, %dw, %pw2 {kernel_size = 7, padding = 3} : (tensor<2x13x11x80xf32>, tensor<160x80x1x1xf32>, tensor<1xf32>, tensor<1xf32>, tensor<160x1x7x7xf32>, tensor<80x160x1x1xf32>) -> tensor<2x13x11x80xf32>
  %4 = mixer.self_attention %x, %qkv, %proj {head_dim = 16} : (tensor<2x13x11x80xf32>, tensor<240x80xf32>, tensor<80x80xf32>) -> tensor<2x13x11x80xf32>
  return
}

// -----

// CHECK-LABEL: func.func @identity
// CHECK: %[[Y:.+]] = mixer.identity %arg0 : (tensor<1x7x7x512xf32>) -> tensor<1x7x7x512xf32>
// CHECK: return %[[Y]]
func.func @identity(%x: tensor<1x7x7x512xf32>) -> tensor<1x7x7x512xf32> {
  %0 = mixer.identity %x : (tensor<1x7x7x512xf32>) -> tensor<1x7x7x512xf32>
  return %0 : tensor<1x7x7x512xf32>
}

// -----

// CHECK-LABEL: func.func @convs_and_heads
// CHECK: mixer.conv2d %arg0, %arg1, %arg2 {padding = array<i64: 2, 2>, stride = array<i64: 4, 4>} : (tensor<1x61x53x3xf32>, tensor<64x3x7x7xf32>, tensor<64xf32>) -> tensor<1x15x13x64xf32>
// CHECK: mixer.conv2d %{{.*}}, %arg3 {groups = 64 : i64, padding = array<i64: 1, 1>} : (tensor<1x15x13x64xf32>, tensor<64x1x3x3xf32>) -> tensor<1x15x13x64xf32>
// CHECK: mixer.global_avg_pool %{{.*}} : (tensor<1x15x13x64xf32>) -> tensor<1x64xf32>
// CHECK: mixer.mlp_head %{{.*}}, %arg4, %arg5, %arg5, %arg5, %arg6, %arg7 {epsilon = 1.000000e-05 : f64} : (tensor<1x64xf32>, tensor<256x64xf32>, tensor<256xf32>, tensor<256xf32>, tensor<256xf32>, tensor<10x256xf32>, tensor<10xf32>) -> tensor<1x10xf32>
func.func @convs_and_heads(%x: tensor<1x61x53x3xf32>, %w: tensor<64x3x7x7xf32>, %b: tensor<64xf32>,
                           %dw: tensor<64x1x3x3xf32>, %w1: tensor<256x64xf32>, %b1: tensor<256xf32>,
                           %w2: tensor<10x256xf32>, %b2: tensor<10xf32>) -> tensor<1x10xf32> {
  %0 = mixer.conv2d %x, %w, %b {stride = array<i64: 4, 4>, padding = array<i64: 2, 2>} : (tensor<1x61x53x3xf32>, tensor<64x3x7x7xf32>, tensor<64xf32>) -> tensor<1x15x13x64xf32>
  %1 = mixer.conv2d %0, %dw {groups = 64, padding = array<i64: 1, 1>} : (tensor<1x15x13x64xf32>, tensor<64x1x3x3xf32>) -> tensor<1x15x13x64xf32>
  %2 = mixer.global_avg_pool %1 : (tensor<1x15x13x64xf32>) -> tensor<1x64xf32>
  %3 = mixer.mlp_head %2, %w1, %b1, %b1, %b1, %w2, %b2 {epsilon = 1.0e-05 : f64} : (tensor<1x64xf32>, tensor<256x64xf32>, tensor<256xf32>, tensor<256xf32>, tensor<256xf32>, tensor<10x256xf32>, tensor<10xf32>) -> tensor<1x10xf32>
  return %3 : tensor<1x10xf32>
}

// -----

// The example of mixer.block's description, and a block without scales.
// CHECK-LABEL: func.func @blocks
// CHECK: %[[Y:.+]] = mixer.block %arg0 layer_scale(%arg2, %arg2) : (tensor<1x56x56x64xf32>, tensor<64xf32>, tensor<64xf32>) -> tensor<1x56x56x64xf32> token_mixer {
// CHECK-NEXT: ^bb0(%[[A:.+]]: tensor<1x56x56x64xf32>):
// CHECK-NEXT: %[[N:.+]] = mixer.layer_norm %[[A]], %arg1
// CHECK-NEXT: %[[M:.+]] = mixer.pool %[[N]]
// CHECK-NEXT: mixer.yield %[[M]] : tensor<1x56x56x64xf32>
// CHECK-NEXT: } mlp {
// CHECK: mixer.block %[[Y]] res_scale(%arg2, %arg2) : (tensor<1x56x56x64xf32>, tensor<64xf32>, tensor<64xf32>) -> tensor<1x56x56x64xf32> token_mixer {
// CHECK: mixer.block %{{.*}} layer_scale(%arg2, %arg2) res_scale(%arg2, %arg2) : (tensor<1x56x56x64xf32>, tensor<64xf32>, tensor<64xf32>, tensor<64xf32>, tensor<64xf32>) -> tensor<1x56x56x64xf32> token_mixer {
func.func @blocks(%x: tensor<1x56x56x64xf32>, %g: tensor<64xf32>, %l: tensor<64xf32>) -> tensor<1x56x56x64xf32> {
  %z = mixer.block %x layer_scale(%l, %l)
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
  %z2 = mixer.block %z res_scale(%l, %l) : (tensor<1x56x56x64xf32>, tensor<64xf32>, tensor<64xf32>) -> tensor<1x56x56x64xf32>
    token_mixer {
    ^bb0(%a: tensor<1x56x56x64xf32>):
      mixer.yield %a : tensor<1x56x56x64xf32>
    } mlp {
    ^bb0(%a: tensor<1x56x56x64xf32>):
      mixer.yield %a : tensor<1x56x56x64xf32>
    }
  %z3 = mixer.block %z2 layer_scale(%l, %l) res_scale(%l, %l) : (tensor<1x56x56x64xf32>, tensor<64xf32>, tensor<64xf32>, tensor<64xf32>, tensor<64xf32>) -> tensor<1x56x56x64xf32>
    token_mixer {
    ^bb0(%a: tensor<1x56x56x64xf32>):
      mixer.yield %a : tensor<1x56x56x64xf32>
    } mlp {
    ^bb0(%a: tensor<1x56x56x64xf32>):
      mixer.yield %a : tensor<1x56x56x64xf32>
    }
  return %z3 : tensor<1x56x56x64xf32>
}
