// RUN: tmix-opt %s -split-input-file -verify-diagnostics

func.func @rank(%q: tensor<8x128x64xf32>, %k: tensor<1x8x128x64xf32>, %v: tensor<1x8x128x64xf32>) {
  // expected-error@+1 {{'query' must have rank 4 [B, Hq, L, D], got rank 3 [8, 128, 64]}}
  %o = mixer.attention %q, %k, %v : (tensor<8x128x64xf32>, tensor<1x8x128x64xf32>, tensor<1x8x128x64xf32>) -> tensor<1x8x128x64xf32>
  return
}

// -----

func.func @output_rank(%q: tensor<1x8x128x64xf32>) {
  // expected-error@+1 {{'output' must have rank 4 [B, Hq, L, Dv], got rank 2 [128, 64]}}
  %o = mixer.attention %q, %q, %q : (tensor<1x8x128x64xf32>, tensor<1x8x128x64xf32>, tensor<1x8x128x64xf32>) -> tensor<128x64xf32>
  return
}

// -----

func.func @element_types(%q: tensor<1x8x16x64xf32>, %k: tensor<1x8x16x64xf16>) {
  // expected-error@+1 {{element types must match: 'query' has 'f32' but 'key' has 'f16'}}
  %o = mixer.attention %q, %k, %q : (tensor<1x8x16x64xf32>, tensor<1x8x16x64xf16>, tensor<1x8x16x64xf32>) -> tensor<1x8x16x64xf32>
  return
}

// -----

func.func @unsupported_element_type(%q: tensor<1x8x16x64xi32>) {
  // expected-error@+1 {{operand #0 must be ranked tensor of 32-bit float or 16-bit float or bfloat16 type values}}
  %o = mixer.attention %q, %q, %q : (tensor<1x8x16x64xi32>, tensor<1x8x16x64xi32>, tensor<1x8x16x64xi32>) -> tensor<1x8x16x64xi32>
  return
}

// -----

func.func @dynamic_heads(%q: tensor<1x?x16x64xf32>, %k: tensor<1x2x16x64xf32>) {
  // expected-error@+1 {{'query' head count Hq (dim 1) must be static, got [1, ?, 16, 64]}}
  %o = mixer.attention %q, %k, %k : (tensor<1x?x16x64xf32>, tensor<1x2x16x64xf32>, tensor<1x2x16x64xf32>) -> tensor<1x?x16x64xf32>
  return
}

// -----

func.func @dynamic_head_dim(%q: tensor<1x2x16x?xf32>) {
  // expected-error@+1 {{'query' head dim D (dim 3) must be static, got [1, 2, 16, ?]}}
  %o = mixer.attention %q, %q, %q : (tensor<1x2x16x?xf32>, tensor<1x2x16x?xf32>, tensor<1x2x16x?xf32>) -> tensor<1x2x16x?xf32>
  return
}

// -----

func.func @zero_heads(%q: tensor<1x0x16x64xf32>) {
  // expected-error@+1 {{head counts must be >= 1, got Hq = 0 and Hkv = 0}}
  %o = mixer.attention %q, %q, %q : (tensor<1x0x16x64xf32>, tensor<1x0x16x64xf32>, tensor<1x0x16x64xf32>) -> tensor<1x0x16x64xf32>
  return
}

// -----

func.func @group(%q: tensor<1x6x16x64xf32>, %k: tensor<1x4x16x64xf32>) {
  // expected-error@+1 {{query heads (Hq = 6) must be a multiple of key/value heads (Hkv = 4); 'query' is [1, 6, 16, 64], 'key' is [1, 4, 16, 64]}}
  %o = mixer.attention %q, %k, %k : (tensor<1x6x16x64xf32>, tensor<1x4x16x64xf32>, tensor<1x4x16x64xf32>) -> tensor<1x6x16x64xf32>
  return
}

// -----

func.func @batch(%q: tensor<2x4x16x64xf32>, %k: tensor<3x4x16x64xf32>) {
  // expected-error@+1 {{batch sizes differ: 'query' [2, 4, 16, 64], 'key' [3, 4, 16, 64], 'value' [3, 4, 16, 64]}}
  %o = mixer.attention %q, %k, %k : (tensor<2x4x16x64xf32>, tensor<3x4x16x64xf32>, tensor<3x4x16x64xf32>) -> tensor<2x4x16x64xf32>
  return
}

// -----

func.func @head_dim(%q: tensor<1x4x16x64xf32>, %k: tensor<1x4x16x32xf32>) {
  // expected-error@+1 {{head dim of 'key' (D = 32) does not match 'query' (D = 64); 'query' is [1, 4, 16, 64], 'key' is [1, 4, 16, 32]}}
  %o = mixer.attention %q, %k, %q : (tensor<1x4x16x64xf32>, tensor<1x4x16x32xf32>, tensor<1x4x16x64xf32>) -> tensor<1x4x16x64xf32>
  return
}

// -----

func.func @value_heads(%q: tensor<1x4x16x64xf32>, %k: tensor<1x2x16x64xf32>, %v: tensor<1x1x16x64xf32>) {
  // expected-error@+1 {{'value' has 1 heads but 'key' has 2; 'key' is [1, 2, 16, 64], 'value' is [1, 1, 16, 64]}}
  %o = mixer.attention %q, %k, %v : (tensor<1x4x16x64xf32>, tensor<1x2x16x64xf32>, tensor<1x1x16x64xf32>) -> tensor<1x4x16x64xf32>
  return
}

// -----

func.func @value_length(%q: tensor<1x4x16x64xf32>, %k: tensor<1x4x16x64xf32>, %v: tensor<1x4x15x64xf32>) {
  // expected-error@+1 {{sequence length of 'value' (S = 15) does not match 'key' (S = 16)}}
  %o = mixer.attention %q, %k, %v : (tensor<1x4x16x64xf32>, tensor<1x4x16x64xf32>, tensor<1x4x15x64xf32>) -> tensor<1x4x16x64xf32>
  return
}

// -----

func.func @output_shape(%q: tensor<1x4x16x64xf32>, %v: tensor<1x4x16x32xf32>) {
  // expected-error@+1 {{'output' must have shape [B, Hq, L, Dv] = [1, 4, 16, 32], got [1, 4, 16, 64]}}
  %o = mixer.attention %q, %q, %v : (tensor<1x4x16x64xf32>, tensor<1x4x16x64xf32>, tensor<1x4x16x32xf32>) -> tensor<1x4x16x64xf32>
  return
}

// -----

func.func @bias_shape(%q: tensor<2x4x16x64xf32>, %k: tensor<2x4x24x64xf32>, %b: tensor<4x16x16xf32>) {
  // expected-error@+1 {{'bias' of shape [4, 16, 16] is not broadcastable to [B, Hq, L, S] = [2, 4, 16, 24] (rank <= 4, each dim 1 or equal, right-aligned)}}
  %o = mixer.attention %q, %k, %k, %b : (tensor<2x4x16x64xf32>, tensor<2x4x24x64xf32>, tensor<2x4x24x64xf32>, tensor<4x16x16xf32>) -> tensor<2x4x16x64xf32>
  return
}

// -----

func.func @bias_rank(%q: tensor<1x4x16x64xf32>, %b: tensor<1x1x4x16x16xf32>) {
  // expected-error@+1 {{'bias' of shape [1, 1, 4, 16, 16] is not broadcastable to [B, Hq, L, S] = [1, 4, 16, 16]}}
  %o = mixer.attention %q, %q, %q, %b : (tensor<1x4x16x64xf32>, tensor<1x4x16x64xf32>, tensor<1x4x16x64xf32>, tensor<1x1x4x16x16xf32>) -> tensor<1x4x16x64xf32>
  return
}

// -----

func.func @bias_type(%q: tensor<1x4x16x64xbf16>, %b: tensor<16x16xf16>) {
  // expected-error@+1 {{'bias' element type must be 'bf16' (as 'query') or f32, got 'f16'}}
  %o = mixer.attention %q, %q, %q, %b : (tensor<1x4x16x64xbf16>, tensor<1x4x16x64xbf16>, tensor<1x4x16x64xbf16>, tensor<16x16xf16>) -> tensor<1x4x16x64xbf16>
  return
}

// -----

func.func @lse_shape(%q: tensor<1x4x16x64xf32>) {
  // expected-error@+1 {{'lse' must have shape [B, Hq, L] = [1, 4, 16], got [1, 16, 4]}}
  %o, %l = mixer.attention %q, %q, %q : (tensor<1x4x16x64xf32>, tensor<1x4x16x64xf32>, tensor<1x4x16x64xf32>) -> (tensor<1x4x16x64xf32>, tensor<1x16x4xf32>)
  return
}

// -----

func.func @lse_type(%q: tensor<1x4x16x64xf16>) {
  // expected-error@+1 {{result #1 must be ranked tensor of 32-bit float values, but got 'tensor<1x4x16xf16>'}}
  %o, %l = mixer.attention %q, %q, %q : (tensor<1x4x16x64xf16>, tensor<1x4x16x64xf16>, tensor<1x4x16x64xf16>) -> (tensor<1x4x16x64xf16>, tensor<1x4x16xf16>)
  return
}

// -----

func.func @scale_zero(%q: tensor<1x4x16x64xf32>) {
  // expected-error@+1 {{'scale' must be finite and non-zero, got 0}}
  %o = mixer.attention %q, %q, %q {scale = 0.0 : f32} : (tensor<1x4x16x64xf32>, tensor<1x4x16x64xf32>, tensor<1x4x16x64xf32>) -> tensor<1x4x16x64xf32>
  return
}

// -----

func.func @scale_inf(%q: tensor<1x4x16x64xf32>) {
  // expected-error@+1 {{'scale' must be finite and non-zero, got INF}}
  %o = mixer.attention %q, %q, %q {scale = 0x7F800000 : f32} : (tensor<1x4x16x64xf32>, tensor<1x4x16x64xf32>, tensor<1x4x16x64xf32>) -> tensor<1x4x16x64xf32>
  return
}

// -----

func.func @operand_type_count(%q: tensor<1x4x16x64xf32>) {
  // expected-error@+1 {{number of operands and types do not match: got 4 operands and 3 types}}
  %o = mixer.attention %q, %q, %q, %q : (tensor<1x4x16x64xf32>, tensor<1x4x16x64xf32>, tensor<1x4x16x64xf32>) -> tensor<1x4x16x64xf32>
  return
}

// -----

func.func @negative_window(%q: tensor<1x4x16x64xf32>) {
  // expected-error@+1 {{mask 'window': 'left' must be >= 0, got -1}}
  %o = mixer.attention %q, %q, %q {mask = #mixer.mask<window, left = -1, right = 0>} : (tensor<1x4x16x64xf32>, tensor<1x4x16x64xf32>, tensor<1x4x16x64xf32>) -> tensor<1x4x16x64xf32>
  return
}

// -----

func.func @zero_block(%q: tensor<1x4x16x64xf32>) {
  // expected-error@+1 {{mask 'block_local': 'block' must be >= 1, got 0}}
  %o = mixer.attention %q, %q, %q {mask = #mixer.mask<block_local, block = 0>} : (tensor<1x4x16x64xf32>, tensor<1x4x16x64xf32>, tensor<1x4x16x64xf32>) -> tensor<1x4x16x64xf32>
  return
}

// -----

func.func @zero_dilation(%q: tensor<1x4x16x64xf32>) {
  // expected-error@+1 {{mask 'dilated': 'dilation' must be >= 1, got 0}}
  %o = mixer.attention %q, %q, %q {mask = #mixer.mask<dilated, width = 4, dilation = 0>} : (tensor<1x4x16x64xf32>, tensor<1x4x16x64xf32>, tensor<1x4x16x64xf32>) -> tensor<1x4x16x64xf32>
  return
}

// -----

func.func @negative_width(%q: tensor<1x4x16x64xf32>) {
  // expected-error@+1 {{mask 'dilated': 'width' must be >= 1, got -3}}
  %o = mixer.attention %q, %q, %q {mask = #mixer.mask<dilated, width = -3, dilation = 2>} : (tensor<1x4x16x64xf32>, tensor<1x4x16x64xf32>, tensor<1x4x16x64xf32>) -> tensor<1x4x16x64xf32>
  return
}

// -----

func.func @zero_global(%q: tensor<1x4x16x64xf32>) {
  // expected-error@+1 {{mask 'global_local': 'global' must be >= 1, got 0}}
  %o = mixer.attention %q, %q, %q {mask = #mixer.mask<global_local, global = 0, left = 4, right = 4>} : (tensor<1x4x16x64xf32>, tensor<1x4x16x64xf32>, tensor<1x4x16x64xf32>) -> tensor<1x4x16x64xf32>
  return
}

// -----

func.func @unknown_kind(%q: tensor<1x4x16x64xf32>) {
  // expected-error@+1 {{unknown mask kind 'sliding'; expected one of none, causal, window, block_local, dilated, global_local}}
  %o = mixer.attention %q, %q, %q {mask = #mixer.mask<sliding, left = 4>} : (tensor<1x4x16x64xf32>, tensor<1x4x16x64xf32>, tensor<1x4x16x64xf32>) -> tensor<1x4x16x64xf32>
  return
}

// -----

func.func @foreign_key(%q: tensor<1x4x16x64xf32>) {
  // expected-error@+1 {{mask kind 'causal' does not take key 'left'; it takes no keys}}
  %o = mixer.attention %q, %q, %q {mask = #mixer.mask<causal, left = 4>} : (tensor<1x4x16x64xf32>, tensor<1x4x16x64xf32>, tensor<1x4x16x64xf32>) -> tensor<1x4x16x64xf32>
  return
}

// -----

func.func @wrong_key(%q: tensor<1x4x16x64xf32>) {
  // expected-error@+1 {{mask kind 'window' does not take key 'block'; it takes 'left', 'right'}}
  %o = mixer.attention %q, %q, %q {mask = #mixer.mask<window, block = 4>} : (tensor<1x4x16x64xf32>, tensor<1x4x16x64xf32>, tensor<1x4x16x64xf32>) -> tensor<1x4x16x64xf32>
  return
}

// -----

func.func @duplicate_key(%q: tensor<1x4x16x64xf32>) {
  // expected-error@+1 {{mask key 'left' is given twice}}
  %o = mixer.attention %q, %q, %q {mask = #mixer.mask<window, left = 4, left = 2, right = 0>} : (tensor<1x4x16x64xf32>, tensor<1x4x16x64xf32>, tensor<1x4x16x64xf32>) -> tensor<1x4x16x64xf32>
  return
}

// -----

func.func @missing_key(%q: tensor<1x4x16x64xf32>) {
  // expected-error@+1 {{mask kind 'window' requires key 'right' (it takes 'left', 'right')}}
  %o = mixer.attention %q, %q, %q {mask = #mixer.mask<window, left = 4>} : (tensor<1x4x16x64xf32>, tensor<1x4x16x64xf32>, tensor<1x4x16x64xf32>) -> tensor<1x4x16x64xf32>
  return
}

// -----

func.func @mask_not_a_mask(%q: tensor<1x4x16x64xf32>) {
  // expected-error@+1 {{attribute 'mask' failed to satisfy constraint}}
  %o = mixer.attention %q, %q, %q {mask = 3 : i64} : (tensor<1x4x16x64xf32>, tensor<1x4x16x64xf32>, tensor<1x4x16x64xf32>) -> tensor<1x4x16x64xf32>
  return
}

// -----

func.func @huge_window(%q: tensor<1x4x16x64xf32>) {
  // expected-error@+1 {{mask 'window': 'right' must be <= 2147483648, got 9223372036854775807}}
  %o = mixer.attention %q, %q, %q {mask = #mixer.mask<window, left = 4, right = 9223372036854775807>} : (tensor<1x4x16x64xf32>, tensor<1x4x16x64xf32>, tensor<1x4x16x64xf32>) -> tensor<1x4x16x64xf32>
  return
}

// -----

func.func @online_acc_shape(%q: tensor<1x4x16x64xf32>, %k: tensor<1x1x32x64xf32>, %p: index, %acc: tensor<1x4x16x32xf32>, %m: tensor<1x4x16xf32>) {
  // expected-error@+1 {{'acc' must have shape [B, Hq, L, Dv] = [1, 4, 16, 64], got [1, 4, 16, 32]}}
  %a:3 = mixer.online_attention %q, %k, %k at(%p, %p) outs(%acc, %m, %m) : tensor<1x4x16x64xf32>, tensor<1x1x32x64xf32>, tensor<1x1x32x64xf32> -> tensor<1x4x16x32xf32>, tensor<1x4x16xf32>, tensor<1x4x16xf32>
  return
}

// -----

func.func @online_sum_shape(%q: tensor<1x4x16x64xf32>, %k: tensor<1x1x32x64xf32>, %p: index, %acc: tensor<1x4x16x64xf32>, %m: tensor<1x4x16xf32>, %l: tensor<1x4x8xf32>) {
  // expected-error@+1 {{'sum' must have shape [B, Hq, L] = [1, 4, 16], got [1, 4, 8]}}
  %a:3 = mixer.online_attention %q, %k, %k at(%p, %p) outs(%acc, %m, %l) : tensor<1x4x16x64xf32>, tensor<1x1x32x64xf32>, tensor<1x1x32x64xf32> -> tensor<1x4x16x64xf32>, tensor<1x4x16xf32>, tensor<1x4x8xf32>
  return
}

// -----

func.func @online_group(%q: tensor<1x3x16x64xf32>, %k: tensor<1x2x32x64xf32>, %p: index, %acc: tensor<1x3x16x64xf32>, %m: tensor<1x3x16xf32>) {
  // expected-error@+1 {{query heads (Hq = 3) must be a multiple of key/value heads (Hkv = 2)}}
  %a:3 = mixer.online_attention %q, %k, %k at(%p, %p) outs(%acc, %m, %m) : tensor<1x3x16x64xf32>, tensor<1x2x32x64xf32>, tensor<1x2x32x64xf32> -> tensor<1x3x16x64xf32>, tensor<1x3x16xf32>, tensor<1x3x16xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// MetaFormer layer ops
//===----------------------------------------------------------------------===//

func.func @ln_empty_axes(%x: tensor<2x8xf32>, %w: tensor<8xf32>) {
  // expected-error@+1 {{'axes' must name at least one axis}}
  %0 = mixer.layer_norm %x, %w {axes = array<i64>, epsilon = 1.0e-05 : f64} : (tensor<2x8xf32>, tensor<8xf32>) -> tensor<2x8xf32>
  return
}

// -----

func.func @ln_axis_range(%x: tensor<2x8xf32>, %w: tensor<8xf32>) {
  // expected-error@+1 {{axis 2 is out of range for 'input' [2, 8] of rank 2}}
  %0 = mixer.layer_norm %x, %w {axes = array<i64: 2>, epsilon = 1.0e-05 : f64} : (tensor<2x8xf32>, tensor<8xf32>) -> tensor<2x8xf32>
  return
}

// -----

func.func @ln_axis_order(%x: tensor<2x4x8xf32>, %w: tensor<8xf32>) {
  // expected-error@+1 {{'axes' must be strictly increasing, got [2, 1]}}
  %0 = mixer.layer_norm %x, %w {axes = array<i64: 2, 1>, epsilon = 1.0e-05 : f64} : (tensor<2x4x8xf32>, tensor<8xf32>) -> tensor<2x4x8xf32>
  return
}

// -----

func.func @ln_epsilon(%x: tensor<2x8xf32>, %w: tensor<8xf32>) {
  // expected-error@+1 {{'epsilon' must be finite and >= 0, got -1}}
  %0 = mixer.layer_norm %x, %w {axes = array<i64: 1>, epsilon = -1.0 : f64} : (tensor<2x8xf32>, tensor<8xf32>) -> tensor<2x8xf32>
  return
}

// -----

func.func @ln_weight(%x: tensor<2x8xf32>, %w: tensor<7xf32>) {
  // expected-error@+1 {{'weight' must be [C] = [8], got [7]}}
  %0 = mixer.layer_norm %x, %w {axes = array<i64: 1>, epsilon = 1.0e-05 : f64} : (tensor<2x8xf32>, tensor<7xf32>) -> tensor<2x8xf32>
  return
}

// -----

func.func @ln_dynamic_channels(%x: tensor<2x?xf32>, %w: tensor<8xf32>) {
  // expected-error@+1 {{'input' must have a static channel (last) dimension, got [2, ?]}}
  %0 = mixer.layer_norm %x, %w {axes = array<i64: 1>, epsilon = 1.0e-05 : f64} : (tensor<2x?xf32>, tensor<8xf32>) -> tensor<2x?xf32>
  return
}

// -----

func.func @ln_rank0(%x: tensor<f32>, %w: tensor<1xf32>) {
  // expected-error@+1 {{'input' must have rank >= 1}}
  %0 = mixer.layer_norm %x, %w {axes = array<i64: 0>, epsilon = 1.0e-05 : f64} : (tensor<f32>, tensor<1xf32>) -> tensor<f32>
  return
}

// -----

func.func @star_relu_scalar(%x: tensor<4xf32>, %s: tensor<2xf32>) {
  // expected-error@+1 {{'scale' must be a [1] tensor (a learnable scalar), got [2]}}
  %0 = mixer.star_relu %x, %s, %s : (tensor<4xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<4xf32>
  return
}

// -----

func.func @gelu_type(%x: tensor<4xf32>) {
  // expected-error@+1 {{all of {input, result} have same type}}
  %0 = mixer.gelu %x : (tensor<4xf32>) -> tensor<5xf32>
  return
}

// -----

func.func @linear_weight_rank(%x: tensor<4x8xf32>, %w: tensor<16x8x3x3xf32>) {
  // expected-error@+1 {{'weight' must be a static Linear weight [out, in] or a 1x1 conv weight [out, in, 1, 1], got [16, 8, 3, 3]}}
  %0 = mixer.linear %x, %w : (tensor<4x8xf32>, tensor<16x8x3x3xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @linear_features(%x: tensor<4x9xf32>, %w: tensor<16x8xf32>) {
  // expected-error@+1 {{'input' has 9 features (last dim of [4, 9]) but 'weight' expects 8}}
  %0 = mixer.linear %x, %w : (tensor<4x9xf32>, tensor<16x8xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @linear_bias(%x: tensor<4x8xf32>, %w: tensor<16x8xf32>, %b: tensor<8xf32>) {
  // expected-error@+1 {{'bias' must be [out] = [16], got [8]}}
  %0 = mixer.linear %x, %w, %b : (tensor<4x8xf32>, tensor<16x8xf32>, tensor<8xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @linear_result(%x: tensor<4x8xf32>, %w: tensor<16x8xf32>) {
  // expected-error@+1 {{result must be [4, 16], got [4, 8]}}
  %0 = mixer.linear %x, %w : (tensor<4x8xf32>, tensor<16x8xf32>) -> tensor<4x8xf32>
  return
}

// -----

func.func @linear_rank0(%x: tensor<f32>, %w: tensor<16x8xf32>) {
  // expected-error@+1 {{'input' must have rank >= 1}}
  %0 = mixer.linear %x, %w : (tensor<f32>, tensor<16x8xf32>) -> tensor<16xf32>
  return
}

// -----

func.func @mlp_rank0(%x: tensor<f32>, %w1: tensor<32x8xf32>, %w2: tensor<8x32xf32>) {
  // expected-error@+1 {{'input' must have rank >= 1}}
  %0 = mixer.mlp %x, %w1, %w2 activation = gelu : (tensor<f32>, tensor<32x8xf32>, tensor<8x32xf32>) -> tensor<f32>
  return
}

// -----

func.func @mlp_fc1_weight(%x: tensor<4x8xf32>, %w1: tensor<32xf32>, %w2: tensor<8x32xf32>) {
  // expected-error@+1 {{'fc1_weight' must be a static Linear weight}}
  %0 = mixer.mlp %x, %w1, %w2 activation = gelu : (tensor<4x8xf32>, tensor<32xf32>, tensor<8x32xf32>) -> tensor<4x8xf32>
  return
}

// -----

func.func @mlp_fc2_weight(%x: tensor<4x8xf32>, %w1: tensor<32x8xf32>, %w2: tensor<?x32xf32>) {
  // expected-error@+1 {{'fc2_weight' must be a static Linear weight}}
  %0 = mixer.mlp %x, %w1, %w2 activation = gelu : (tensor<4x8xf32>, tensor<32x8xf32>, tensor<?x32xf32>) -> tensor<4x8xf32>
  return
}

// -----

func.func @mlp_features(%x: tensor<4x9xf32>, %w1: tensor<32x8xf32>, %w2: tensor<8x32xf32>) {
  // expected-error@+1 {{'input' has 9 features (last dim of [4, 9]) but 'fc1_weight' expects 8}}
  %0 = mixer.mlp %x, %w1, %w2 activation = gelu : (tensor<4x9xf32>, tensor<32x8xf32>, tensor<8x32xf32>) -> tensor<4x8xf32>
  return
}

// -----

func.func @mlp_hidden(%x: tensor<4x8xf32>, %w1: tensor<32x8xf32>, %w2: tensor<8x31xf32>) {
  // expected-error@+1 {{'fc1_weight' produces 32 hidden features but 'fc2_weight' expects 31}}
  %0 = mixer.mlp %x, %w1, %w2 activation = gelu : (tensor<4x8xf32>, tensor<32x8xf32>, tensor<8x31xf32>) -> tensor<4x8xf32>
  return
}

// -----

func.func @mlp_star_needs_params(%x: tensor<4x8xf32>, %w1: tensor<32x8xf32>, %w2: tensor<8x32xf32>) {
  // expected-error@+1 {{activation star_relu needs its (scale, bias) operands}}
  %0 = mixer.mlp %x, %w1, %w2 activation = star_relu : (tensor<4x8xf32>, tensor<32x8xf32>, tensor<8x32xf32>) -> tensor<4x8xf32>
  return
}

// -----

func.func @mlp_gelu_no_params(%x: tensor<4x8xf32>, %w1: tensor<32x8xf32>, %w2: tensor<8x32xf32>, %s: tensor<1xf32>) {
  // expected-error@+1 {{only activation star_relu takes (scale, bias) operands}}
  %0 = mixer.mlp %x, %w1, %w2 activation = gelu(%s, %s) : (tensor<4x8xf32>, tensor<32x8xf32>, tensor<8x32xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<4x8xf32>
  return
}

// -----

func.func @mlp_star_params(%x: tensor<4x8xf32>, %w1: tensor<32x8xf32>, %w2: tensor<8x32xf32>, %s: tensor<3xf32>) {
  // expected-error@+1 {{'act_scale' must be a [1] tensor (a learnable scalar), got [3]}}
  %0 = mixer.mlp %x, %w1, %w2 activation = star_relu(%s, %s) : (tensor<4x8xf32>, tensor<32x8xf32>, tensor<8x32xf32>, tensor<3xf32>, tensor<3xf32>) -> tensor<4x8xf32>
  return
}

// -----

func.func @mlp_bias(%x: tensor<4x8xf32>, %w1: tensor<32x8xf32>, %w2: tensor<8x32xf32>, %b: tensor<8xf32>) {
  // expected-error@+1 {{'fc1_bias' must be [hidden] = [32], got [8]}}
  %0 = mixer.mlp %x, %w1, %w2 activation = gelu bias(%b, %b) : (tensor<4x8xf32>, tensor<32x8xf32>, tensor<8x32xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  return
}

// -----

func.func @mlp_result(%x: tensor<4x8xf32>, %w1: tensor<32x8xf32>, %w2: tensor<8x32xf32>) {
  // expected-error@+1 {{result must be [4, 8], got [4, 32]}}
  %0 = mixer.mlp %x, %w1, %w2 activation = gelu : (tensor<4x8xf32>, tensor<32x8xf32>, tensor<8x32xf32>) -> tensor<4x32xf32>
  return
}

// -----

func.func @mlp_pairs(%x: tensor<4x8xf32>, %w1: tensor<32x8xf32>, %w2: tensor<8x32xf32>, %b: tensor<32xf32>) {
  // expected-error@+1 {{optional operands come in pairs}}
  %0 = "mixer.mlp"(%x, %w1, %w2, %b) {activation = 0 : i32, operandSegmentSizes = array<i32: 1, 1, 1, 0, 0, 1, 0>} : (tensor<4x8xf32>, tensor<32x8xf32>, tensor<8x32xf32>, tensor<32xf32>) -> tensor<4x8xf32>
  return
}

// -----

func.func @pool_rank(%x: tensor<4x8x8xf32>) {
  // expected-error@+1 {{'input' must have rank 4 [B, H, W, C], got [4, 8, 8]}}
  %0 = mixer.pool %x : (tensor<4x8x8xf32>) -> tensor<4x8x8xf32>
  return
}

// -----

func.func @pool_kernel(%x: tensor<1x8x8x4xf32>) {
  // expected-error@+1 {{'kernel_size' must be odd and >= 1, got 4}}
  %0 = mixer.pool %x {kernel_size = 4} : (tensor<1x8x8x4xf32>) -> tensor<1x8x8x4xf32>
  return
}

// -----

func.func @random_mix_rank(%x: tensor<4x8xf32>, %m: tensor<4x4xf32>) {
  // expected-error@+1 {{'input' must be a [B, H, W, C] map or [B, N, C] tokens, got [4, 8]}}
  %0 = mixer.random_mix %x, %m : (tensor<4x8xf32>, tensor<4x4xf32>) -> tensor<4x8xf32>
  return
}

// -----

func.func @random_mix_grid(%x: tensor<1x?x7x8xf32>, %m: tensor<49x49xf32>) {
  // expected-error@+1 {{'input' token grid must be static, got [1, ?, 7, 8]}}
  %0 = mixer.random_mix %x, %m : (tensor<1x?x7x8xf32>, tensor<49x49xf32>) -> tensor<1x?x7x8xf32>
  return
}

// -----

func.func @random_mix_matrix(%x: tensor<1x7x7x8xf32>, %m: tensor<48x49xf32>) {
  // expected-error@+1 {{'matrix' must be [N, N] = [49, 49] for 'input' [1, 7, 7, 8], got [48, 49]}}
  %0 = mixer.random_mix %x, %m : (tensor<1x7x7x8xf32>, tensor<48x49xf32>) -> tensor<1x7x7x8xf32>
  return
}

// -----

func.func @sepconv_rank(%x: tensor<7x7x8xf32>, %pw1: tensor<16x8xf32>, %s: tensor<1xf32>, %dw: tensor<16x1x7x7xf32>, %pw2: tensor<8x16xf32>) {
  // expected-error@+1 {{'input' must have rank 4 [B, H, W, C], got [7, 7, 8]}}
  %0 = mixer.sepconv %x, %pw1, %s, %s, %dw, %pw2 : (tensor<7x7x8xf32>, tensor<16x8xf32>, tensor<1xf32>, tensor<1xf32>, tensor<16x1x7x7xf32>, tensor<8x16xf32>) -> tensor<7x7x8xf32>
  return
}

// -----

func.func @sepconv_static(%x: tensor<1x?x7x8xf32>, %pw1: tensor<16x8xf32>, %s: tensor<1xf32>, %dw: tensor<16x1x7x7xf32>, %pw2: tensor<8x16xf32>) {
  // expected-error@+1 {{'input' spatial and channel sizes must be static, got [1, ?, 7, 8]}}
  %0 = mixer.sepconv %x, %pw1, %s, %s, %dw, %pw2 : (tensor<1x?x7x8xf32>, tensor<16x8xf32>, tensor<1xf32>, tensor<1xf32>, tensor<16x1x7x7xf32>, tensor<8x16xf32>) -> tensor<1x?x7x8xf32>
  return
}

// -----

func.func @sepconv_pw1(%x: tensor<1x7x7x8xf32>, %pw1: tensor<16x9xf32>, %s: tensor<1xf32>, %dw: tensor<16x1x7x7xf32>, %pw2: tensor<8x16xf32>) {
  // expected-error@+1 {{'pw1_weight' expects 9 input channels but 'input' [1, 7, 7, 8] has 8}}
  %0 = mixer.sepconv %x, %pw1, %s, %s, %dw, %pw2 : (tensor<1x7x7x8xf32>, tensor<16x9xf32>, tensor<1xf32>, tensor<1xf32>, tensor<16x1x7x7xf32>, tensor<8x16xf32>) -> tensor<1x7x7x8xf32>
  return
}

// -----

func.func @sepconv_pw2(%x: tensor<1x7x7x8xf32>, %pw1: tensor<16x8xf32>, %s: tensor<1xf32>, %dw: tensor<16x1x7x7xf32>, %pw2: tensor<8x15xf32>) {
  // expected-error@+1 {{'pw2_weight' expects 15 channels but 'pw1_weight' produces 16}}
  %0 = mixer.sepconv %x, %pw1, %s, %s, %dw, %pw2 : (tensor<1x7x7x8xf32>, tensor<16x8xf32>, tensor<1xf32>, tensor<1xf32>, tensor<16x1x7x7xf32>, tensor<8x15xf32>) -> tensor<1x7x7x8xf32>
  return
}

// -----

func.func @sepconv_padding(%x: tensor<1x7x7x8xf32>, %pw1: tensor<16x8xf32>, %s: tensor<1xf32>, %dw: tensor<16x1x7x7xf32>, %pw2: tensor<8x16xf32>) {
  // expected-error@+1 {{'kernel_size' (7) and 'padding' (2) must keep the spatial size: 2 * padding = kernel_size - 1}}
  %0 = mixer.sepconv %x, %pw1, %s, %s, %dw, %pw2 {padding = 2} : (tensor<1x7x7x8xf32>, tensor<16x8xf32>, tensor<1xf32>, tensor<1xf32>, tensor<16x1x7x7xf32>, tensor<8x16xf32>) -> tensor<1x7x7x8xf32>
  return
}

// -----

func.func @sepconv_dw(%x: tensor<1x7x7x8xf32>, %pw1: tensor<16x8xf32>, %s: tensor<1xf32>, %dw: tensor<16x1x5x5xf32>, %pw2: tensor<8x16xf32>) {
  // expected-error@+1 {{'dw_weight' must be the depthwise weight [16, 1, 7, 7], got [16, 1, 5, 5]}}
  %0 = mixer.sepconv %x, %pw1, %s, %s, %dw, %pw2 : (tensor<1x7x7x8xf32>, tensor<16x8xf32>, tensor<1xf32>, tensor<1xf32>, tensor<16x1x5x5xf32>, tensor<8x16xf32>) -> tensor<1x7x7x8xf32>
  return
}

// -----

func.func @sepconv_scalars(%x: tensor<1x7x7x8xf32>, %pw1: tensor<16x8xf32>, %s: tensor<1x1xf32>, %dw: tensor<16x1x7x7xf32>, %pw2: tensor<8x16xf32>) {
  // expected-error@+1 {{'act_scale' must be a [1] tensor (a learnable scalar), got [1, 1]}}
  %0 = mixer.sepconv %x, %pw1, %s, %s, %dw, %pw2 : (tensor<1x7x7x8xf32>, tensor<16x8xf32>, tensor<1x1xf32>, tensor<1x1xf32>, tensor<16x1x7x7xf32>, tensor<8x16xf32>) -> tensor<1x7x7x8xf32>
  return
}

// -----

func.func @sepconv_result(%x: tensor<1x7x7x8xf32>, %pw1: tensor<16x8xf32>, %s: tensor<1xf32>, %dw: tensor<16x1x7x7xf32>, %pw2: tensor<8x16xf32>) {
  // expected-error@+1 {{result must be [1, 7, 7, 8], got [1, 7, 7, 16]}}
  %0 = mixer.sepconv %x, %pw1, %s, %s, %dw, %pw2 : (tensor<1x7x7x8xf32>, tensor<16x8xf32>, tensor<1xf32>, tensor<1xf32>, tensor<16x1x7x7xf32>, tensor<8x16xf32>) -> tensor<1x7x7x16xf32>
  return
}

// -----

func.func @attn_rank(%x: tensor<8x32xf32>, %qkv: tensor<96x32xf32>, %p: tensor<32x32xf32>) {
  // expected-error@+1 {{'input' must be a [B, H, W, C] map or [B, N, C] tokens, got [8, 32]}}
  %0 = mixer.self_attention %x, %qkv, %p {head_dim = 16} : (tensor<8x32xf32>, tensor<96x32xf32>, tensor<32x32xf32>) -> tensor<8x32xf32>
  return
}

// -----

func.func @attn_static(%x: tensor<1x?x32xf32>, %qkv: tensor<96x32xf32>, %p: tensor<32x32xf32>) {
  // expected-error@+1 {{'input' token and channel sizes must be static, got [1, ?, 32]}}
  %0 = mixer.self_attention %x, %qkv, %p {head_dim = 16} : (tensor<1x?x32xf32>, tensor<96x32xf32>, tensor<32x32xf32>) -> tensor<1x?x32xf32>
  return
}

// -----

func.func @attn_head_dim(%x: tensor<1x9x32xf32>, %qkv: tensor<96x32xf32>, %p: tensor<32x32xf32>) {
  // expected-error@+1 {{'head_dim' must be >= 1, got 0}}
  %0 = mixer.self_attention %x, %qkv, %p {head_dim = 0} : (tensor<1x9x32xf32>, tensor<96x32xf32>, tensor<32x32xf32>) -> tensor<1x9x32xf32>
  return
}

// -----

func.func @attn_qkv(%x: tensor<1x9x32xf32>, %qkv: tensor<90x32xf32>, %p: tensor<32x30xf32>) {
  // expected-error@+1 {{'qkv_weight' must be [3 * A, C] with C = 32 and A a positive multiple of head_dim = 16, got [90, 32]}}
  %0 = mixer.self_attention %x, %qkv, %p {head_dim = 16} : (tensor<1x9x32xf32>, tensor<90x32xf32>, tensor<32x30xf32>) -> tensor<1x9x32xf32>
  return
}

// -----

func.func @attn_proj(%x: tensor<1x9x32xf32>, %qkv: tensor<96x32xf32>, %p: tensor<32x16xf32>) {
  // expected-error@+1 {{'proj_weight' must be [C, A] = [32, 32], got [32, 16]}}
  %0 = mixer.self_attention %x, %qkv, %p {head_dim = 16} : (tensor<1x9x32xf32>, tensor<96x32xf32>, tensor<32x16xf32>) -> tensor<1x9x32xf32>
  return
}

// -----

func.func @conv_rank(%x: tensor<9x9x3xf32>, %w: tensor<8x3x3x3xf32>) {
  // expected-error@+1 {{'input' must have rank 4 [B, H, W, C], got [9, 9, 3]}}
  %0 = mixer.conv2d %x, %w : (tensor<9x9x3xf32>, tensor<8x3x3x3xf32>) -> tensor<7x7x8xf32>
  return
}

// -----

func.func @conv_static(%x: tensor<1x?x9x3xf32>, %w: tensor<8x3x3x3xf32>) {
  // expected-error@+1 {{'input' spatial and channel sizes must be static, got [1, ?, 9, 3]}}
  %0 = mixer.conv2d %x, %w : (tensor<1x?x9x3xf32>, tensor<8x3x3x3xf32>) -> tensor<1x?x7x8xf32>
  return
}

// -----

func.func @conv_weight(%x: tensor<1x9x9x3xf32>, %w: tensor<8x3x3xf32>) {
  // expected-error@+1 {{'weight' must be a static [F, C/groups, KH, KW] tensor, got [8, 3, 3]}}
  %0 = mixer.conv2d %x, %w : (tensor<1x9x9x3xf32>, tensor<8x3x3xf32>) -> tensor<1x7x7x8xf32>
  return
}

// -----

func.func @conv_stride(%x: tensor<1x9x9x3xf32>, %w: tensor<8x3x3x3xf32>) {
  // expected-error@+1 {{'stride' must be two positive sizes [sh, sw]}}
  %0 = mixer.conv2d %x, %w {stride = array<i64: 0, 1>} : (tensor<1x9x9x3xf32>, tensor<8x3x3x3xf32>) -> tensor<1x7x7x8xf32>
  return
}

// -----

func.func @conv_padding(%x: tensor<1x9x9x3xf32>, %w: tensor<8x3x3x3xf32>) {
  // expected-error@+1 {{'padding' must be two sizes >= 0 [ph, pw]}}
  %0 = mixer.conv2d %x, %w {padding = array<i64: 1>} : (tensor<1x9x9x3xf32>, tensor<8x3x3x3xf32>) -> tensor<1x7x7x8xf32>
  return
}

// -----

func.func @conv_groups(%x: tensor<1x9x9x6xf32>, %w: tensor<8x2x3x3xf32>) {
  // expected-error@+1 {{'groups' (3) must divide the input channels (6) and the output channels (8)}}
  %0 = mixer.conv2d %x, %w {groups = 3} : (tensor<1x9x9x6xf32>, tensor<8x2x3x3xf32>) -> tensor<1x7x7x8xf32>
  return
}

// -----

func.func @conv_weight_channels(%x: tensor<1x9x9x6xf32>, %w: tensor<8x6x3x3xf32>) {
  // expected-error@+1 {{'weight' must be [F, C/groups, KH, KW] with C/groups = 3, got [8, 6, 3, 3]}}
  %0 = mixer.conv2d %x, %w {groups = 2} : (tensor<1x9x9x6xf32>, tensor<8x6x3x3xf32>) -> tensor<1x7x7x8xf32>
  return
}

// -----

func.func @conv_kernel_too_big(%x: tensor<1x2x9x3xf32>, %w: tensor<8x3x3x3xf32>) {
  // expected-error@+1 {{the height with padding (2) is smaller than the kernel (3)}}
  %0 = mixer.conv2d %x, %w : (tensor<1x2x9x3xf32>, tensor<8x3x3x3xf32>) -> tensor<1x1x7x8xf32>
  return
}

// -----

func.func @conv_bias(%x: tensor<1x9x9x3xf32>, %w: tensor<8x3x3x3xf32>, %b: tensor<3xf32>) {
  // expected-error@+1 {{'bias' must be [F] = [8], got [3]}}
  %0 = mixer.conv2d %x, %w, %b : (tensor<1x9x9x3xf32>, tensor<8x3x3x3xf32>, tensor<3xf32>) -> tensor<1x7x7x8xf32>
  return
}

// -----

func.func @conv_result(%x: tensor<1x9x9x3xf32>, %w: tensor<8x3x3x3xf32>) {
  // expected-error@+1 {{result must be [1, 4, 4, 8], got [1, 7, 7, 8]}}
  %0 = mixer.conv2d %x, %w {stride = array<i64: 2, 2>} : (tensor<1x9x9x3xf32>, tensor<8x3x3x3xf32>) -> tensor<1x7x7x8xf32>
  return
}

// -----

func.func @gap_rank(%x: tensor<1x9x3xf32>) {
  // expected-error@+1 {{'input' must have rank 4 [B, H, W, C], got [1, 9, 3]}}
  %0 = mixer.global_avg_pool %x : (tensor<1x9x3xf32>) -> tensor<1x3xf32>
  return
}

// -----

func.func @gap_static(%x: tensor<1x9x?x3xf32>) {
  // expected-error@+1 {{'input' spatial and channel sizes must be static, got [1, 9, ?, 3]}}
  %0 = mixer.global_avg_pool %x : (tensor<1x9x?x3xf32>) -> tensor<1x3xf32>
  return
}

// -----

func.func @gap_result(%x: tensor<1x9x9x3xf32>) {
  // expected-error@+1 {{result must be [1, 3], got [1, 9]}}
  %0 = mixer.global_avg_pool %x : (tensor<1x9x9x3xf32>) -> tensor<1x9xf32>
  return
}

// -----

func.func @head_rank(%x: tensor<1x1x8xf32>, %w1: tensor<32x8xf32>, %b1: tensor<32xf32>, %w2: tensor<10x32xf32>, %b2: tensor<10xf32>) {
  // expected-error@+1 {{'input' must have rank 2 [B, C], got [1, 1, 8]}}
  %0 = mixer.mlp_head %x, %w1, %b1, %b1, %b1, %w2, %b2 {epsilon = 1.0e-05 : f64} : (tensor<1x1x8xf32>, tensor<32x8xf32>, tensor<32xf32>, tensor<32xf32>, tensor<32xf32>, tensor<10x32xf32>, tensor<10xf32>) -> tensor<1x10xf32>
  return
}

// -----

func.func @head_channels(%x: tensor<1x?xf32>, %w1: tensor<32x8xf32>, %b1: tensor<32xf32>, %w2: tensor<10x32xf32>, %b2: tensor<10xf32>) {
  // expected-error@+1 {{'input' must have a static channel (last) dimension, got [1, ?]}}
  %0 = mixer.mlp_head %x, %w1, %b1, %b1, %b1, %w2, %b2 {epsilon = 1.0e-05 : f64} : (tensor<1x?xf32>, tensor<32x8xf32>, tensor<32xf32>, tensor<32xf32>, tensor<32xf32>, tensor<10x32xf32>, tensor<10xf32>) -> tensor<1x10xf32>
  return
}

// -----

func.func @head_fc1(%x: tensor<1x8xf32>, %w1: tensor<32x8x3x3xf32>, %b1: tensor<32xf32>, %w2: tensor<10x32xf32>, %b2: tensor<10xf32>) {
  // expected-error@+1 {{'fc1_weight' must be a static Linear weight}}
  %0 = mixer.mlp_head %x, %w1, %b1, %b1, %b1, %w2, %b2 {epsilon = 1.0e-05 : f64} : (tensor<1x8xf32>, tensor<32x8x3x3xf32>, tensor<32xf32>, tensor<32xf32>, tensor<32xf32>, tensor<10x32xf32>, tensor<10xf32>) -> tensor<1x10xf32>
  return
}

// -----

func.func @head_fc2(%x: tensor<1x8xf32>, %w1: tensor<32x8xf32>, %b1: tensor<32xf32>, %w2: tensor<10xf32>, %b2: tensor<10xf32>) {
  // expected-error@+1 {{'fc2_weight' must be a static Linear weight}}
  %0 = mixer.mlp_head %x, %w1, %b1, %b1, %b1, %w2, %b2 {epsilon = 1.0e-05 : f64} : (tensor<1x8xf32>, tensor<32x8xf32>, tensor<32xf32>, tensor<32xf32>, tensor<32xf32>, tensor<10xf32>, tensor<10xf32>) -> tensor<1x10xf32>
  return
}

// -----

func.func @head_features(%x: tensor<1x9xf32>, %w1: tensor<32x8xf32>, %b1: tensor<32xf32>, %w2: tensor<10x32xf32>, %b2: tensor<10xf32>) {
  // expected-error@+1 {{'fc1_weight' expects 8 features but 'input' [1, 9] has 9}}
  %0 = mixer.mlp_head %x, %w1, %b1, %b1, %b1, %w2, %b2 {epsilon = 1.0e-05 : f64} : (tensor<1x9xf32>, tensor<32x8xf32>, tensor<32xf32>, tensor<32xf32>, tensor<32xf32>, tensor<10x32xf32>, tensor<10xf32>) -> tensor<1x10xf32>
  return
}

// -----

func.func @head_hidden(%x: tensor<1x8xf32>, %w1: tensor<32x8xf32>, %b1: tensor<32xf32>, %w2: tensor<10x31xf32>, %b2: tensor<10xf32>) {
  // expected-error@+1 {{'fc1_weight' produces 32 hidden features but 'fc2_weight' expects 31}}
  %0 = mixer.mlp_head %x, %w1, %b1, %b1, %b1, %w2, %b2 {epsilon = 1.0e-05 : f64} : (tensor<1x8xf32>, tensor<32x8xf32>, tensor<32xf32>, tensor<32xf32>, tensor<32xf32>, tensor<10x31xf32>, tensor<10xf32>) -> tensor<1x10xf32>
  return
}

// -----

func.func @head_norm(%x: tensor<1x8xf32>, %w1: tensor<32x8xf32>, %b1: tensor<32xf32>, %n: tensor<31xf32>, %w2: tensor<10x32xf32>, %b2: tensor<10xf32>) {
  // expected-error@+1 {{'norm_weight' must be [hidden] = [32], got [31]}}
  %0 = mixer.mlp_head %x, %w1, %b1, %n, %b1, %w2, %b2 {epsilon = 1.0e-05 : f64} : (tensor<1x8xf32>, tensor<32x8xf32>, tensor<32xf32>, tensor<31xf32>, tensor<32xf32>, tensor<10x32xf32>, tensor<10xf32>) -> tensor<1x10xf32>
  return
}

// -----

func.func @head_epsilon(%x: tensor<1x8xf32>, %w1: tensor<32x8xf32>, %b1: tensor<32xf32>, %w2: tensor<10x32xf32>, %b2: tensor<10xf32>) {
  // expected-error@+1 {{'epsilon' must be finite and >= 0, got INF}}
  %0 = mixer.mlp_head %x, %w1, %b1, %b1, %b1, %w2, %b2 {epsilon = 0x7FF0000000000000 : f64} : (tensor<1x8xf32>, tensor<32x8xf32>, tensor<32xf32>, tensor<32xf32>, tensor<32xf32>, tensor<10x32xf32>, tensor<10xf32>) -> tensor<1x10xf32>
  return
}

// -----

func.func @head_result(%x: tensor<1x8xf32>, %w1: tensor<32x8xf32>, %b1: tensor<32xf32>, %w2: tensor<10x32xf32>, %b2: tensor<10xf32>) {
  // expected-error@+1 {{result must be [1, 10], got [1, 32]}}
  %0 = mixer.mlp_head %x, %w1, %b1, %b1, %b1, %w2, %b2 {epsilon = 1.0e-05 : f64} : (tensor<1x8xf32>, tensor<32x8xf32>, tensor<32xf32>, tensor<32xf32>, tensor<32xf32>, tensor<10x32xf32>, tensor<10xf32>) -> tensor<1x32xf32>
  return
}

// -----

func.func @block_channels(%x: tensor<1x4x?xf32>) {
  // expected-error@+1 {{'input' must have a static channel (last) dimension, got [1, 4, ?]}}
  %0 = mixer.block %x : (tensor<1x4x?xf32>) -> tensor<1x4x?xf32> token_mixer {
  ^bb0(%a: tensor<1x4x?xf32>):
    mixer.yield %a : tensor<1x4x?xf32>
  } mlp {
  ^bb0(%a: tensor<1x4x?xf32>):
    mixer.yield %a : tensor<1x4x?xf32>
  }
  return
}

// -----

func.func @block_pairs(%x: tensor<1x4x8xf32>, %s: tensor<8xf32>) {
  // expected-error@+1 {{scales come in pairs}}
  %0 = "mixer.block"(%x, %s) ({
  ^bb0(%a: tensor<1x4x8xf32>):
    mixer.yield %a : tensor<1x4x8xf32>
  }, {
  ^bb0(%a: tensor<1x4x8xf32>):
    mixer.yield %a : tensor<1x4x8xf32>
  }) {operandSegmentSizes = array<i32: 1, 1, 0, 0, 0>} : (tensor<1x4x8xf32>, tensor<8xf32>) -> tensor<1x4x8xf32>
  return
}

// -----

func.func @block_scale(%x: tensor<1x4x8xf32>, %s: tensor<4xf32>) {
  // expected-error@+1 {{'res_scale1' must be [C] = [8], got [4]}}
  %0 = mixer.block %x res_scale(%s, %s) : (tensor<1x4x8xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<1x4x8xf32> token_mixer {
  ^bb0(%a: tensor<1x4x8xf32>):
    mixer.yield %a : tensor<1x4x8xf32>
  } mlp {
  ^bb0(%a: tensor<1x4x8xf32>):
    mixer.yield %a : tensor<1x4x8xf32>
  }
  return
}

// -----

func.func @block_region_arg(%x: tensor<1x4x8xf32>) {
  // expected-error@+1 {{region 'mlp' must take one argument of the input type 'tensor<1x4x8xf32>'}}
  %0 = mixer.block %x : (tensor<1x4x8xf32>) -> tensor<1x4x8xf32> token_mixer {
  ^bb0(%a: tensor<1x4x8xf32>):
    mixer.yield %a : tensor<1x4x8xf32>
  } mlp {
  ^bb0(%a: tensor<1x4x8xf32>, %b: tensor<1x4x8xf32>):
    mixer.yield %a : tensor<1x4x8xf32>
  }
  return
}

// -----

func.func @block_yield_type(%x: tensor<1x4x8xf32>, %y: tensor<1x4x4xf32>) {
  %0 = mixer.block %x : (tensor<1x4x8xf32>) -> tensor<1x4x8xf32> token_mixer {
  ^bb0(%a: tensor<1x4x8xf32>):
    // expected-error@+1 {{must yield the block's input type 'tensor<1x4x8xf32>', got 'tensor<1x4x4xf32>'}}
    mixer.yield %y : tensor<1x4x4xf32>
  } mlp {
  ^bb0(%a: tensor<1x4x8xf32>):
    mixer.yield %a : tensor<1x4x8xf32>
  }
  return
}

// -----

func.func @yield_parent(%x: tensor<4xf32>) {
  // expected-error@+1 {{'mixer.yield' op expects parent op 'mixer.block'}}
  mixer.yield %x : tensor<4xf32>
}
