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
