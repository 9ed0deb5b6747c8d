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
