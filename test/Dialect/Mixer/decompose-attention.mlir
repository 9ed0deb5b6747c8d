// RUN: tmix-opt %s -split-input-file -mixer-decompose-attention | FileCheck %s

// GQA (Hq = 8, Hkv = 2): mixer.attention becomes mixer.online_attention
// from the empty state (acc = 0, max = -inf, sum = 0, row_pos = S - L), then
// the normalisation. The query and the state are viewed as [B, Hkv, G, ...]
// and every query head of a group reads its K/V head through the indexing
// maps: K and V are never copied. The causal mask is computed from
// linalg.index shifted by row_pos / col_pos.

// CHECK-DAG: #[[QT:.+]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d4, d3)>
// CHECK-DAG: #[[ID5:.+]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, d4)>
// CHECK-DAG: #[[KMAP:.+]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d3, d5)>
// CHECK-DAG: #[[QTMAP:.+]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2, d5, d4)>
// CHECK-DAG: #[[SMAP6:.+]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2, d3, d4)>
// CHECK-DAG: #[[ROW:.+]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d4)>
// CHECK-DAG: #[[PMAP:.+]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2, d4, d3)>
// CHECK-DAG: #[[VMAP:.+]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d4, d5)>
// CHECK-DAG: #[[AMAP:.+]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2, d3, d5)>
// CHECK-LABEL: func.func @causal_gqa
// CHECK-SAME: (%[[Q:[a-zA-Z0-9]+]]: tensor<1x8x128x64xf32>, %[[K:[a-zA-Z0-9]+]]: tensor<1x2x128x64xf32>, %[[V:[a-zA-Z0-9]+]]: tensor<1x2x128x64xf32>)
// CHECK-NOT: mixer.
// CHECK-DAG: %[[ZERO:.+]] = arith.constant 0.000000e+00 : f32
// CHECK-DAG: %[[NEGINF:.+]] = arith.constant 0xFF800000 : f32
// CHECK-DAG: %[[ACC0:.+]] = linalg.fill ins(%[[ZERO]] : f32) outs(%{{.+}} : tensor<1x8x128x64xf32>)
// CHECK-DAG: %[[MAX0:.+]] = linalg.fill ins(%[[NEGINF]] : f32) outs(%{{.+}} : tensor<1x8x128xf32>)
// CHECK-DAG: %[[S:.+]] = tensor.dim %[[K]]
// CHECK-DAG: %[[L:.+]] = tensor.dim %[[Q]]
// CHECK: %[[ROWPOS:.+]] = arith.subi %[[S]], %[[L]] : index
// CHECK: %[[QS:.+]] = tensor.expand_shape %[[Q]] {{\[}}[0], [1, 2], [3], [4]] output_shape [1, 2, 4, 128, 64]
// CHECK: %[[ACCS:.+]] = tensor.expand_shape %[[ACC0]] {{\[}}[0], [1, 2], [3], [4]]
// CHECK: %[[MAXS:.+]] = tensor.expand_shape %[[MAX0]] {{\[}}[0], [1, 2], [3]]
// The query, not the keys, is transposed (qsᵀ[b,h,g,d,i]) and scaled: it
// depends on the query rows only, so the pass hoists it out of key loops.
// CHECK: %[[QST:.+]] = linalg.generic {indexing_maps = [#[[QT]], #[[ID5]]], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]} ins(%[[QS]] : tensor<1x2x4x128x64xf32>) outs(%{{.+}} : tensor<1x2x4x64x128xf32>) attrs = {tmix.role = "query"}
// CHECK: arith.mulf %{{.+}}, %{{.+}} : f32
// The scores are key-major, sᵀ[b,h,g,j,i] (dims b h g j i d): a key element
// broadcast times a row of qsᵀ. Tagged for the CPU schedule.
// CHECK: %[[S0:.+]] = linalg.generic {indexing_maps = [#[[KMAP]], #[[QTMAP]], #[[SMAP6]]], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "reduction"]}
// CHECK-SAME: ins(%[[K]], %[[QST]] : tensor<1x2x128x64xf32>, tensor<1x2x4x64x128xf32>) outs(%{{.+}} : tensor<1x2x4x128x128xf32>)
// CHECK-SAME: attrs = {tmix.role = "scores"}
// Accumulations may be reassociated (vectorized reductions) and fused
// into FMAs; never nnan/ninf, which would break the -inf of masked scores.
// CHECK: arith.mulf %{{.+}}, %{{.+}} fastmath<reassoc,contract> : f32
// CHECK: arith.addf %{{.+}}, %{{.+}} fastmath<reassoc,contract> : f32
// The epilogue (no scaling left): -inf where key j + col_pos > i + row_pos.
// CHECK: %[[S1:.+]] = linalg.generic {indexing_maps = [#[[ID5]]], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]} outs(%[[S0]] : tensor<1x2x4x128x128xf32>) attrs = {tmix.role = "softmax"}
// CHECK-NOT: arith.mulf
// CHECK: %[[J:.+]] = linalg.index 3 : index
// CHECK: %[[I:.+]] = linalg.index 4 : index
// CHECK: %[[P:.+]] = arith.addi %[[I]], %[[ROWPOS]] : index
// CHECK: %[[JP:.+]] = arith.addi %[[J]], %{{.+}} : index
// CHECK: %[[VIS:.+]] = arith.cmpi sle, %[[JP]], %[[P]] : index
// CHECK: arith.select %[[VIS]], %{{.+}}, %{{.+}} : f32
// The row max (a reduction over the outer dim j) goes to a fresh buffer;
// max' and the correction exp(max - max') are then computed in place of
// the old max.
// CHECK: %[[RMAX:.+]] = linalg.generic {indexing_maps = [#[[ID5]], #[[ROW]]], iterator_types = ["parallel", "parallel", "parallel", "reduction", "parallel"]} ins(%[[S1]] : {{.+}}) outs(%{{.+}} : tensor<1x2x4x128xf32>) attrs = {tmix.role = "softmax"}
// CHECK: arith.maximumf
// CHECK: %[[MC:.+]]:2 = linalg.generic {{.+}} ins(%[[RMAX]] : tensor<1x2x4x128xf32>) outs(%[[MAXS]], %{{.+}} : tensor<1x2x4x128xf32>, tensor<1x2x4x128xf32>)
// Both exponents are never positive (x - max, old max - new max): tagged
// for mixer-approximate-math's short expansion.
// CHECK: math.exp %{{.+}} {tmix.exp_nonpositive} : f32
// CHECK: %[[P2:.+]] = linalg.generic {indexing_maps = [#[[ROW]], #[[ID5]]]{{.+}} ins(%[[MC]]#0 : tensor<1x2x4x128xf32>) outs(%[[S1]] : tensor<1x2x4x128x128xf32>) attrs = {tmix.role = "softmax"}
// CHECK: math.exp %{{.+}} {tmix.exp_nonpositive} : f32
// CHECK: %[[SUM:.+]] = linalg.generic {indexing_maps = [#[[ID5]], #[[ROW]]], iterator_types = ["parallel", "parallel", "parallel", "reduction", "parallel"]} ins(%[[P2]] : {{.+}}) outs(%{{.+}} : tensor<1x2x4x128xf32>) attrs = {tmix.role = "softmax"}
// CHECK: %[[ACCR:.+]] = linalg.generic {{.+}} ins(%[[MC]]#1 : tensor<1x2x4x128xf32>) outs(%[[ACCS]] : tensor<1x2x4x128x64xf32>)
// P·V iterates (b, h, g, i, j, e): the key reduction j before the value dim
// e, so the innermost loop walks rows of V and acc; p is read key-major.
// CHECK: %[[ACC:.+]] = linalg.generic {indexing_maps = [#[[PMAP]], #[[VMAP]], #[[AMAP]]], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "parallel"]} ins(%[[P2]], %[[V]] : tensor<1x2x4x128x128xf32>, tensor<1x2x128x64xf32>) outs(%[[ACCR]] : tensor<1x2x4x128x64xf32>)
// CHECK-SAME: attrs = {tmix.role = "values"}
// CHECK: %[[ACCM:.+]] = tensor.collapse_shape %[[ACC]] {{\[}}[0], [1, 2], [3], [4]] : tensor<1x2x4x128x64xf32> into tensor<1x8x128x64xf32>
// CHECK: %[[SUMM:.+]] = tensor.collapse_shape %[[SUM]]
// CHECK: %[[R:.+]] = linalg.generic {{.+}} ins(%[[ACCM]], %[[SUMM]] : tensor<1x8x128x64xf32>, tensor<1x8x128xf32>)
// CHECK: arith.divf
// CHECK: return %[[R]]
func.func @causal_gqa(%q: tensor<1x8x128x64xf32>, %k: tensor<1x2x128x64xf32>, %v: tensor<1x2x128x64xf32>) -> tensor<1x8x128x64xf32> {
  %o = mixer.attention %q, %k, %v {mask = #mixer.mask<causal>, scale = 0.125 : f32} : (tensor<1x8x128x64xf32>, tensor<1x2x128x64xf32>, tensor<1x2x128x64xf32>) -> tensor<1x8x128x64xf32>
  return %o : tensor<1x8x128x64xf32>
}

// -----

// A tile-level mixer.online_attention: the mask uses the given absolute
// positions (row_pos, col_pos), and the state is updated in place.
// CHECK-LABEL: func.func @online_tile
// CHECK-SAME: %[[RP:[a-zA-Z0-9]+]]: index, %[[CP:[a-zA-Z0-9]+]]: index
// CHECK: linalg.index 3
// CHECK: linalg.index 4
// CHECK: arith.addi %{{.+}}, %[[RP]] : index
// CHECK: arith.addi %{{.+}}, %[[CP]] : index
// CHECK: arith.cmpi sge
// CHECK: arith.cmpi sle
// CHECK-NOT: mixer.online_attention
// CHECK: return
func.func @online_tile(%q: tensor<1x4x16x32xf32>, %k: tensor<1x1x32x32xf32>, %v: tensor<1x1x32x32xf32>, %rp: index, %cp: index, %acc: tensor<1x4x16x32xf32>, %m: tensor<1x4x16xf32>, %l: tensor<1x4x16xf32>) -> (tensor<1x4x16x32xf32>, tensor<1x4x16xf32>, tensor<1x4x16xf32>) {
  %a, %mm, %ll = mixer.online_attention %q, %k, %v at(%rp, %cp) outs(%acc, %m, %l) {mask = #mixer.mask<window, left = 8, right = 0>} : tensor<1x4x16x32xf32>, tensor<1x1x32x32xf32>, tensor<1x1x32x32xf32> -> tensor<1x4x16x32xf32>, tensor<1x4x16xf32>, tensor<1x4x16xf32>
  return %a, %mm, %ll : tensor<1x4x16x32xf32>, tensor<1x4x16xf32>, tensor<1x4x16xf32>
}

// -----

// Without a mask or bias there is no epilogue: the scale is folded into the
// transposed query. No index math, no select.
// CHECK-LABEL: func.func @no_mask
// CHECK: arith.constant 2.500000e-01 : f32
// CHECK-NOT: linalg.index
// CHECK-NOT: arith.cmpi
// CHECK: math.exp
func.func @no_mask(%q: tensor<1x1x4x16xf32>) -> tensor<1x1x4x16xf32> {
  %o = mixer.attention %q, %q, %q : (tensor<1x1x4x16xf32>, tensor<1x1x4x16xf32>, tensor<1x1x4x16xf32>) -> tensor<1x1x4x16xf32>
  return %o : tensor<1x1x4x16xf32>
}

// -----

// A bias broadcast over the batch reads head h * G + g; f16 inputs are
// extended to f32 and the output is truncated back; lse = max + log(sum).
// The score generics iterate (b h g j i): the bias [.., L, S] is read at
// (i, j) = (d4, d3).
// CHECK-DAG: #[[BIAS:.+]] = affine_map<(d0, d1, d2, d3, d4) -> (0, d1 * 2 + d2, d4, d3)>
// CHECK-LABEL: func.func @bias_lse_f16
// CHECK-SAME: %[[B:[a-zA-Z0-9]+]]: tensor<1x4x5x9xf16>
// CHECK: arith.extf %{{.+}} : f16 to f32
// CHECK: linalg.generic {indexing_maps = [#[[BIAS]], #{{.+}}]{{.+}} ins(%[[B]] : tensor<1x4x5x9xf16>)
// CHECK: arith.addf
// CHECK: arith.truncf %{{.+}} : f32 to f16
// CHECK: %[[LSE:.+]] = linalg.generic {{.+}} outs(%{{.+}} : tensor<3x4x5xf32>)
// CHECK: math.log
// CHECK: return %{{.+}}, %[[LSE]]
func.func @bias_lse_f16(%q: tensor<3x4x5x16xf16>, %k: tensor<3x2x9x16xf16>, %v: tensor<3x2x9x8xf16>, %b: tensor<1x4x5x9xf16>) -> (tensor<3x4x5x8xf16>, tensor<3x4x5xf32>) {
  %o, %l = mixer.attention %q, %k, %v, %b : (tensor<3x4x5x16xf16>, tensor<3x2x9x16xf16>, tensor<3x2x9x8xf16>, tensor<1x4x5x9xf16>) -> (tensor<3x4x5x8xf16>, tensor<3x4x5xf32>)
  return %o, %l : tensor<3x4x5x8xf16>, tensor<3x4x5xf32>
}

// -----

// Dynamic B, L and S: sizes come from tensor.dim and the query position
// offset (row_pos) is S - L at run time.
// CHECK-LABEL: func.func @dynamic_window
// CHECK-SAME: (%[[Q:[a-zA-Z0-9]+]]: tensor<?x4x?x32xf32>, %[[K:[a-zA-Z0-9]+]]: tensor<?x1x?x32xf32>
// CHECK: %[[S:.+]] = tensor.dim %[[K]], %{{.+}} : tensor<?x1x?x32xf32>
// CHECK: %[[L:.+]] = tensor.dim %[[Q]], %{{.+}} : tensor<?x4x?x32xf32>
// CHECK: %[[OFF:.+]] = arith.subi %[[S]], %[[L]] : index
// CHECK: tensor.expand_shape %[[Q]] {{.+}} output_shape [%{{.+}}, 1, 4, %{{.+}}, 32]
// CHECK: tensor.empty(%{{.+}}, %{{.+}}, %{{.+}}) : tensor<?x1x4x?x?xf32>
// CHECK: linalg.index 3
// CHECK: arith.addi %{{.+}}, %[[OFF]]
// CHECK: arith.cmpi sge
// CHECK: arith.cmpi sle
// CHECK: arith.andi
// CHECK: return %{{.+}} : tensor<?x4x?x32xf32>
func.func @dynamic_window(%q: tensor<?x4x?x32xf32>, %k: tensor<?x1x?x32xf32>, %v: tensor<?x1x?x32xf32>) -> tensor<?x4x?x32xf32> {
  %o = mixer.attention %q, %k, %v {mask = #mixer.mask<window, left = 16, right = 2>} : (tensor<?x4x?x32xf32>, tensor<?x1x?x32xf32>, tensor<?x1x?x32xf32>) -> tensor<?x4x?x32xf32>
  return %o : tensor<?x4x?x32xf32>
}

// -----

// Block-local uses floor division (the query position may be negative when
// L > S); dilated checks the stride with a remainder; global_local ORs the
// global rows and columns with the window.
// CHECK-LABEL: func.func @other_masks
// CHECK: arith.floordivsi
// CHECK: arith.floordivsi
// CHECK: arith.cmpi eq
// CHECK: arith.remsi
// CHECK: arith.cmpi slt, %{{.+}}, %[[G:.+]] : index
// CHECK: arith.cmpi slt, %{{.+}}, %[[G]] : index
// CHECK: arith.ori
func.func @other_masks(%q: tensor<1x1x8x16xf32>, %k: tensor<1x1x6x16xf32>) -> (tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>) {
  %0 = mixer.attention %q, %k, %k {mask = #mixer.mask<block_local, block = 4>} : (tensor<1x1x8x16xf32>, tensor<1x1x6x16xf32>, tensor<1x1x6x16xf32>) -> tensor<1x1x8x16xf32>
  %1 = mixer.attention %q, %k, %k {mask = #mixer.mask<dilated, width = 3, dilation = 2>} : (tensor<1x1x8x16xf32>, tensor<1x1x6x16xf32>, tensor<1x1x6x16xf32>) -> tensor<1x1x8x16xf32>
  %2 = mixer.attention %q, %k, %k {mask = #mixer.mask<global_local, global = 2, left = 1, right = 1>} : (tensor<1x1x8x16xf32>, tensor<1x1x6x16xf32>, tensor<1x1x6x16xf32>) -> tensor<1x1x8x16xf32>
  return %0, %1, %2 : tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>
}

// -----

// A tile's key loop: the scaled, transposed query depends on the query rows
// only and is computed once, before the loop; the scores stay inside.
// CHECK-LABEL: func.func @hoisted_query
// CHECK: linalg.generic {{.+}} ins(%{{.+}} : tensor<1x1x1x16x32xf32>) outs(%{{.+}} : tensor<1x1x1x32x16xf32>) attrs = {tmix.role = "query"}
// CHECK: scf.for
// CHECK-NOT: tmix.role = "query"
// CHECK: attrs = {tmix.role = "scores"}
// CHECK-NOT: tmix.role = "query"
// CHECK: return
func.func @hoisted_query(%q: tensor<1x1x16x32xf32>, %k: tensor<1x1x64x32xf32>, %v: tensor<1x1x64x32xf32>, %acc: tensor<1x1x16x32xf32>, %m: tensor<1x1x16xf32>, %l: tensor<1x1x16xf32>) -> (tensor<1x1x16x32xf32>, tensor<1x1x16xf32>, tensor<1x1x16xf32>) {
  %c0 = arith.constant 0 : index
  %c16 = arith.constant 16 : index
  %c64 = arith.constant 64 : index
  %r:3 = scf.for %j = %c0 to %c64 step %c16 iter_args(%a = %acc, %mm = %m, %ll = %l) -> (tensor<1x1x16x32xf32>, tensor<1x1x16xf32>, tensor<1x1x16xf32>) {
    %ks = tensor.extract_slice %k[0, 0, %j, 0] [1, 1, 16, 32] [1, 1, 1, 1] : tensor<1x1x64x32xf32> to tensor<1x1x16x32xf32>
    %vs = tensor.extract_slice %v[0, 0, %j, 0] [1, 1, 16, 32] [1, 1, 1, 1] : tensor<1x1x64x32xf32> to tensor<1x1x16x32xf32>
    %n:3 = mixer.online_attention %q, %ks, %vs at(%c0, %j) outs(%a, %mm, %ll) : tensor<1x1x16x32xf32>, tensor<1x1x16x32xf32>, tensor<1x1x16x32xf32> -> tensor<1x1x16x32xf32>, tensor<1x1x16xf32>, tensor<1x1x16xf32>
    scf.yield %n#0, %n#1, %n#2 : tensor<1x1x16x32xf32>, tensor<1x1x16xf32>, tensor<1x1x16xf32>
  }
  return %r#0, %r#1, %r#2 : tensor<1x1x16x32xf32>, tensor<1x1x16xf32>, tensor<1x1x16xf32>
}
