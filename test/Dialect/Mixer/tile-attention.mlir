// RUN: tmix-opt %s -split-input-file -mixer-tile-attention="query-tile=32 key-tile=64" | FileCheck %s
// RUN: tmix-opt %s -split-input-file -mixer-tile-attention="query-tile=32 key-tile=64 skip-masked-tiles=false" | FileCheck %s --check-prefix=UNBOUNDED
// RUN: not tmix-opt %s -split-input-file -mixer-tile-attention="query-tile=0" 2>&1 | FileCheck %s --check-prefix=BADOPT
// RUN: not tmix-opt %s -split-input-file -mixer-tile-attention="query-tile=4096" 2>&1 | FileCheck %s --check-prefix=BIGSTATE
// RUN: not tmix-opt %s -split-input-file -mixer-tile-attention="edge-tile=0" 2>&1 | FileCheck %s --check-prefix=BADEDGE

// BADOPT: query-tile, key-tile and edge-tile must be >= 1, got 0, 128 and 16
// BADEDGE: query-tile, key-tile and edge-tile must be >= 1, got 64, 128 and 0
// BIGSTATE: error: 'mixer.attention' op mixer-tile-attention: the softmax state of one tile (4325376 bytes for 4 query heads x 4096 rows x Dv = 64) exceeds 1048576 bytes; use a smaller query-tile

// Causal GQA, L = 100, S = 130: forall over (batch, kv head, query tile);
// the 4 query heads of a kv head form one tile and read the same K/V head
// slice. The key loop of rows [i0, i0 + rows) stops at the last key the
// causal mask lets the tile see: min(S, i0 + (S - L) + rows); blocks entirely
// below the diagonal run an unmasked tile, the others the masked one.

// CHECK-DAG: #[[I0:.+]] = affine_map<(d0) -> (d0 * 32)>
// CHECK-DAG: #[[ROWS:.+]] = affine_map<(d0) -> (32, d0 * -32 + 100)>
// CHECK-DAG: #[[H0:.+]] = affine_map<(d0) -> (d0 * 4)>
// CHECK-LABEL: func.func @causal_gqa
// CHECK-SAME: (%[[Q:[a-zA-Z0-9]+]]: tensor<1x8x100x64xf32>, %[[K:[a-zA-Z0-9]+]]: tensor<1x2x130x64xf32>, %[[V:[a-zA-Z0-9]+]]: tensor<1x2x130x64xf32>)
// CHECK: %[[OFF:.+]] = arith.subi %{{.+}}, %{{.+}} : index
// CHECK: %[[OUT:.+]] = tensor.empty() : tensor<1x8x100x64xf32>
// CHECK: %[[LSE:.+]] = tensor.empty() : tensor<1x8x100xf32>
// CHECK: %{{.+}}:2 = scf.forall (%[[B:.+]], %[[H:.+]], %[[T:.+]]) in (1, 2, 4) shared_outs(%[[SO:.+]] = %[[OUT]], %[[SL:.+]] = %[[LSE]])
// CHECK:   %[[ROW0:.+]] = affine.apply #[[I0]](%[[T]])
// CHECK:   %[[NR:.+]] = affine.min #[[ROWS]](%[[T]])
// CHECK:   %[[HQ0:.+]] = affine.apply #[[H0]](%[[H]])
// CHECK:   %[[KT:.+]] = tensor.extract_slice %[[K]][%[[B]], %[[H]], 0, 0] [1, 1, 130, 64]
// CHECK:   %[[VT:.+]] = tensor.extract_slice %[[V]][%[[B]], %[[H]], 0, 0] [1, 1, 130, 64]
// A full tile (32 rows) is built with static shapes and normalised in
// place into its rows of the results; so is the last tile (100 = 3 x 32 +
// 4 rows), at its size.
// CHECK:   %[[FULL:.+]] = arith.cmpi eq, %[[NR]], %{{.+}} : index
// CHECK:   %[[R:.+]]:2 = scf.if %[[FULL]] -> (tensor<1x4x?x64xf32>, tensor<1x4x?xf32>) {
// CHECK:     %[[OD:.+]] = tensor.extract_slice %[[SO]][%[[B]], %[[HQ0]], %[[ROW0]], 0] [1, 4, 32, 64]
// CHECK:     %[[LD:.+]] = tensor.extract_slice %[[SL]][%[[B]], %[[HQ0]], %[[ROW0]]] [1, 4, 32]
// CHECK:     %[[QT:.+]] = tensor.extract_slice %[[Q]][%[[B]], %[[HQ0]], %[[ROW0]], 0] [1, 4, 32, 64]
// CHECK:     %[[P0:.+]] = arith.addi %[[OFF]], %[[ROW0]] : index
// CHECK:     %[[HI:.+]] = arith.minsi %{{.+}}, %{{.+}} : index
// CHECK:     %[[FULLHI:.+]] = arith.minsi %{{.+}}, %{{.+}} : index
// CHECK:     %[[ACC0:.+]] = linalg.fill {{.+}} -> tensor<1x4x32x64xf32>
// The key loop runs the whole blocks of 64 keys below HI (static shapes),
// CHECK:     %[[WHOLE:.+]] = affine.apply #{{.+}}(%{{.+}})
// CHECK:     %[[S:.+]]:3 = scf.for %[[J:.+]] = %{{.+}} to %[[WHOLE]] step %{{.+}} iter_args(%[[ACC:.+]] = %{{.+}}, %[[M:.+]] = %{{.+}}, %[[L:.+]] = %{{.+}})
// CHECK:       %[[END:.+]] = arith.addi %[[J]], %{{.+}} : index
// CHECK:       %[[IN:.+]] = arith.cmpi sle, %[[END]], %[[FULLHI]] : index
// CHECK:       scf.if %{{.+}} ->
// CHECK:         %[[KB:.+]] = tensor.extract_slice %[[KT]][0, 0, %[[J]], 0] [1, 1, 64, 64]
// CHECK:         mixer.online_attention %{{.+}}, %[[KB]], %{{.+}} at(%[[P0]], %{{.+}}) outs({{.+}}) : tensor<1x4x32x64xf32>, tensor<1x1x64x64xf32>, tensor<1x1x64x64xf32>
// CHECK-NOT:     mask
// CHECK:       } else {
// CHECK:         mixer.online_attention {{.+}} {mask = #mixer.mask<causal>} : tensor<1x4x32x64xf32>, tensor<1x1x64x64xf32>
// then the rest of the keys below HI in chunks of 16 (edge-tile), each
// padded to 16 keys: zero k and v rows, a bias of -inf on the padding keys,
// and the element mask (no second, unmasked copy).
// CHECK:     %[[C16:.+]] = arith.constant 16 : index
// CHECK:     %[[REST:.+]]:3 = scf.for %[[JC:.+]] = %[[WHOLE]] to %[[HI]] step %[[C16]] iter_args(%{{.+}} = %[[S]]#0, %{{.+}} = %[[S]]#1, %{{.+}} = %[[S]]#2)
// CHECK:       %[[N:.+]] = affine.min #{{.+}}(%[[JC]], %[[HI]])
// CHECK:       %[[KC:.+]] = tensor.extract_slice %[[KT]][0, 0, %[[JC]], 0] [1, 1, %[[N]], 64]
// CHECK:       %[[KP:.+]] = tensor.pad %[[KC]] low[0, 0, 0, 0] high[0, 0, %{{.+}}, 0]
// CHECK:       } : tensor<1x1x?x64xf32> to tensor<1x1x16x64xf32>
// CHECK:       tensor.extract_slice %[[VT]][0, 0, %[[JC]], 0] [1, 1, %[[N]], 64]
// CHECK:       %[[VP:.+]] = tensor.pad
// CHECK:       %[[KEEP:.+]] = tensor.generate
// CHECK:         %[[LIVE:.+]] = arith.cmpi slt, %{{.+}}, %[[N]] : index
// CHECK:         arith.select %[[LIVE]], %{{.+}}, %{{.+}} : f32
// CHECK:       } : tensor<16xf32>
// CHECK-NOT:   scf.if
// CHECK:       mixer.online_attention %[[QT]], %[[KP]], %[[VP]], bias %[[KEEP]] : tensor<16xf32> at(%[[P0]], %[[JC]]) {{.+}} {mask = #mixer.mask<causal>} : tensor<1x4x32x64xf32>, tensor<1x1x16x64xf32>, tensor<1x1x16x64xf32>
// CHECK:     %[[OT:.+]] = linalg.generic {{.+}} ins(%[[REST]]#0, %[[REST]]#2 : {{.+}}) outs(%[[OD]] : tensor<1x4x32x64xf32>)
// CHECK:     %[[LT:.+]] = linalg.generic {{.+}} outs(%[[LD]] : tensor<1x4x32xf32>)
// CHECK:     tensor.cast %[[OT]] : tensor<1x4x32x64xf32> to tensor<1x4x?x64xf32>
// The last tile (L is static: 4 rows) is built the same way at its own
// static size.
// CHECK:   } else {
// CHECK:     tensor.extract_slice %[[SO]][%[[B]], %[[HQ0]], %[[ROW0]], 0] [1, 4, 4, 64]
// CHECK:     tensor.extract_slice %[[Q]][%[[B]], %[[HQ0]], %[[ROW0]], 0] [1, 4, 4, 64]
// CHECK:     scf.for
// CHECK:       mixer.online_attention {{.+}} : tensor<1x4x4x64xf32>, tensor<1x1x64x64xf32>
// CHECK:     scf.for
// CHECK:       mixer.online_attention {{.+}} : tensor<1x4x4x64xf32>, tensor<1x1x16x64xf32>
// CHECK:     %[[LOT:.+]] = linalg.generic {{.+}} outs(%{{.+}} : tensor<1x4x4x64xf32>)
// CHECK:     tensor.cast %[[LOT]] : tensor<1x4x4x64xf32> to tensor<1x4x?x64xf32>
// CHECK:   scf.forall.in_parallel
// CHECK:     tensor.parallel_insert_slice %[[R]]#0 into %[[SO]][%[[B]], %[[HQ0]], %[[ROW0]], 0] [1, 4, %[[NR]], 64]
// CHECK:     tensor.parallel_insert_slice %[[R]]#1 into %[[SL]][%[[B]], %[[HQ0]], %[[ROW0]]] [1, 4, %[[NR]]]
// CHECK-NOT: mixer.attention

// Without mask bounds the loops cover all 130 keys (two whole blocks, then
// the 2 other keys, S being static, as one block of 2) and every block is
// masked.
// UNBOUNDED-LABEL: func.func @causal_gqa
// UNBOUNDED: %[[W:.+]] = arith.constant 128 : index
// UNBOUNDED: scf.for %{{.+}} = %{{.+}} to %[[W]] step
// UNBOUNDED: scf.yield
// UNBOUNDED-NOT: scf.for
// UNBOUNDED: mixer.online_attention {{.+}} {mask = #mixer.mask<causal>} : tensor<1x4x32x64xf32>, tensor<1x1x2x64xf32>
func.func @causal_gqa(%q: tensor<1x8x100x64xf32>, %k: tensor<1x2x130x64xf32>, %v: tensor<1x2x130x64xf32>) -> (tensor<1x8x100x64xf32>, tensor<1x8x100xf32>) {
  %o, %l = mixer.attention %q, %k, %v {mask = #mixer.mask<causal>} : (tensor<1x8x100x64xf32>, tensor<1x2x130x64xf32>, tensor<1x2x130x64xf32>) -> (tensor<1x8x100x64xf32>, tensor<1x8x100xf32>)
  return %o, %l : tensor<1x8x100x64xf32>, tensor<1x8x100xf32>
}

// -----

// A window bounds the loop on both sides: [max(0, p - left), min(S, p + right + 1)).
// CHECK-LABEL: func.func @window_dynamic
// CHECK: scf.forall (%{{.+}}, %{{.+}}, %{{.+}}) in (%{{.+}}, 1, %{{.+}})
// CHECK: %[[M16:.+]] = arith.constant -16 : index
// CHECK: %[[LO0:.+]] = arith.addi %{{.+}}, %[[M16]] : index
// CHECK: %[[LO1:.+]] = arith.maxsi %[[LO0]], %{{.+}} : index
// CHECK: %[[LO:.+]] = arith.minsi %[[LO1]], %{{.+}} : index
// CHECK: scf.for %{{.+}} = %[[LO]] to %{{.+}} step
// CHECK: mixer.online_attention {{.+}} {mask = #mixer.mask<window, left = 16, right = 0>}
func.func @window_dynamic(%q: tensor<?x1x?x32xf32>, %k: tensor<?x1x?x32xf32>, %v: tensor<?x1x?x32xf32>) -> tensor<?x1x?x32xf32> {
  %o = mixer.attention %q, %k, %v {mask = #mixer.mask<window, left = 16, right = 0>} : (tensor<?x1x?x32xf32>, tensor<?x1x?x32xf32>, tensor<?x1x?x32xf32>) -> tensor<?x1x?x32xf32>
  return %o : tensor<?x1x?x32xf32>
}

// -----

// No mask: one loop over all whole key blocks with no scf.if and no mask
// math inside (none here: 48 keys < 64), then, S being static, the other
// 48 keys as one block of that size; the bias tile is the tile's rows and
// heads of the broadcast bias: 32 rows in a full query tile, 8 in the last.
// CHECK-LABEL: func.func @bias_no_mask
// CHECK: %[[BT:.+]] = tensor.extract_slice %arg3[0, %{{.+}}, %{{.+}}, 0] [1, 2, 32, 48] [1, 1, 1, 1] : tensor<1x4x40x48xf32> to tensor<1x2x32x48xf32>
// CHECK: scf.for
// CHECK-NOT: scf.if
// CHECK: %[[BB:.+]] = tensor.extract_slice %[[BT]][0, 0, 0, %{{.+}}] [1, 2, 32, 64]
// CHECK: mixer.online_attention %{{.+}}, %{{.+}}, %{{.+}}, bias %[[BB]] : tensor<1x2x32x64xf32> at
// CHECK-NOT: mask
// CHECK: scf.yield
// CHECK-NOT: tensor.pad
// CHECK: mixer.online_attention %{{.+}}, %{{.+}}, %{{.+}}, bias %{{.+}} : tensor<1x2x32x48xf32> at
// CHECK-NOT: mask
// CHECK: } else {
// CHECK: tensor.extract_slice %arg3[0, %{{.+}}, %{{.+}}, 0] [1, 2, 8, 48] [1, 1, 1, 1] : tensor<1x4x40x48xf32> to tensor<1x2x8x48xf32>
// CHECK: mixer.online_attention %{{.+}}, %{{.+}}, %{{.+}}, bias %{{.+}} : tensor<1x2x8x48xf32> at
// CHECK: scf.forall.in_parallel
func.func @bias_no_mask(%q: tensor<2x4x40x16xf32>, %k: tensor<2x2x48x16xf32>, %v: tensor<2x2x48x16xf32>, %b: tensor<1x4x40x48xf32>) -> tensor<2x4x40x16xf32> {
  %o = mixer.attention %q, %k, %v, %b : (tensor<2x4x40x16xf32>, tensor<2x2x48x16xf32>, tensor<2x2x48x16xf32>, tensor<1x4x40x48xf32>) -> tensor<2x4x40x16xf32>
  return %o : tensor<2x4x40x16xf32>
}

// -----

// Dynamic L and S with a [1, H, L, S] bias: the keys after the whole blocks
// run in chunks of 16 (edge-tile), the last padded: zero k and v rows, the
// bias columns padded with -inf. The last query tile (min(32, L - i0) rows)
// runs as tiles of 16 rows, the last padded with zero rows of q and of the
// bias; their valid rows are copied into the tile's rows of the output.
// CHECK-LABEL: func.func @edges_dynamic
// CHECK:     scf.if
// CHECK:       scf.for
// CHECK:         mixer.online_attention {{.+}} : tensor<1x1x32x64xf32> at
// CHECK:       %[[KC:.+]] = scf.for %[[JC:.+]] = %{{.+}} to %[[S:.+]] step %[[C16:.+]] iter_args
// CHECK:         %[[N:.+]] = affine.min #{{.+}}(%[[JC]])[%[[S]]]
// CHECK:         tensor.pad
// CHECK:         } : tensor<1x1x?x32xf32> to tensor<1x1x16x32xf32>
// CHECK:         tensor.pad
// CHECK:         } : tensor<1x1x?x32xf32> to tensor<1x1x16x32xf32>
// CHECK:         %[[BC:.+]] = tensor.extract_slice %{{.+}}[0, 0, 0, %[[JC]]] [1, 1, 32, %[[N]]]
// CHECK:         tensor.pad %[[BC]] low[0, 0, 0, 0] high[0, 0, 0, %{{.+}}]
// CHECK:           tensor.yield %[[NEG:.+]] : f32
// CHECK:         } : tensor<1x1x32x?xf32> to tensor<1x1x32x16xf32>
// CHECK:         mixer.online_attention {{.+}} : tensor<1x1x32x16xf32> at
// CHECK:     } else {
// CHECK:       %[[EO:.+]] = tensor.extract_slice %{{.+}} [1, 1, %[[NR:.+]], 32]
// CHECK:       %[[E:.+]] = scf.for %[[T2:.+]] = %{{.+}} to %[[NR]] step %{{.+}} iter_args(%[[EA:.+]] = %[[EO]])
// CHECK:         %[[NV:.+]] = affine.min #{{.+}}(%[[T2]], %[[NR]])
// CHECK:         %[[IOFF:.+]] = affine.apply #{{.+}}(%[[T2]], %{{.+}})
// CHECK:         %[[QE:.+]] = tensor.extract_slice %arg0[%{{.+}}, %{{.+}}, %[[IOFF]], 0] [1, 1, %[[NV]], 32]
// CHECK:         tensor.pad %[[QE]]
// CHECK:         } : tensor<1x1x?x32xf32> to tensor<1x1x16x32xf32>
// CHECK:         %[[BE:.+]] = tensor.extract_slice %arg3[0, %{{.+}}, %[[IOFF]], 0] [1, 1, %[[NV]], %{{.+}}]
// CHECK:         tensor.pad %[[BE]]
// CHECK:         } : tensor<1x1x?x?xf32> to tensor<1x1x16x?xf32>
// CHECK:         scf.for
// CHECK:           mixer.online_attention {{.+}} : tensor<1x1x16x64xf32> at
// CHECK:         scf.for
// CHECK:           mixer.online_attention {{.+}} : tensor<1x1x16x16xf32> at
// CHECK:         %[[EOT:.+]] = linalg.generic {{.+}} outs(%{{.+}} : tensor<1x1x16x32xf32>)
// CHECK:         %[[EV:.+]] = tensor.extract_slice %[[EOT]][0, 0, 0, 0] [1, 1, %[[NV]], 32]
// CHECK:         %[[I1:.+]] = tensor.insert_slice %[[EV]] into %[[EA]][0, 0, %[[T2]], 0] [1, 1, %[[NV]], 32]
// CHECK:         scf.yield %[[I1]]
// CHECK:       scf.yield %[[E]]
func.func @edges_dynamic(%q: tensor<1x2x?x32xf32>, %k: tensor<1x2x?x32xf32>, %v: tensor<1x2x?x32xf32>, %b: tensor<1x2x?x?xf32>) -> tensor<1x2x?x32xf32> {
  %o = mixer.attention %q, %k, %v, %b : (tensor<1x2x?x32xf32>, tensor<1x2x?x32xf32>, tensor<1x2x?x32xf32>, tensor<1x2x?x?xf32>) -> tensor<1x2x?x32xf32>
  return %o : tensor<1x2x?x32xf32>
}

// -----

// global_local: a tile with a global row (p < global) runs over all keys;
// the others visit the global columns [0, min(global, window start)) — every
// row sees them, so those blocks are unmasked — then their window.
// CHECK-LABEL: func.func @global_local
// CHECK: %[[ANY:.+]] = arith.cmpi slt, %[[P:.+]], %[[G:.+]] : index
// CHECK: %[[ALL:.+]] = arith.cmpi slt, %{{.+}}, %[[G]] : index
// CHECK: %[[GHI:.+]] = arith.select %[[ANY]], %{{.+}}, %{{.+}} : index
// CHECK: %[[WLO:.+]] = arith.select %[[ANY]], %{{.+}}, %{{.+}} : index
// CHECK: %[[WHI:.+]] = arith.select %[[ANY]], %{{.+}}, %{{.+}} : index
// (4000 = 125 x 32: every query tile is full, no dynamic path.) Each range
// is a loop over its whole key blocks then its other keys in chunks of 16;
// the state flows from the global columns to the window.
// CHECK: %[[GHI1:.+]] = arith.maxsi %[[GHI]], %{{.+}} : index
// CHECK: %[[GW:.+]] = affine.apply #{{.+}}(%[[GHI1]])
// CHECK: %[[S1:.+]]:3 = scf.for %{{.+}} = %{{.+}} to %[[GW]] step
// CHECK: %[[R1:.+]]:3 = scf.for %{{.+}} = %[[GW]] to %[[GHI]] step %{{.+}} iter_args(%{{.+}} = %[[S1]]#0, %{{.+}} = %[[S1]]#1, %{{.+}} = %[[S1]]#2)
// CHECK: %[[WHI1:.+]] = arith.maxsi %[[WHI]], %[[WLO]] : index
// CHECK: %[[WW:.+]] = affine.apply #{{.+}}(%[[WLO]], %[[WHI1]])
// CHECK: scf.for %{{.+}} = %[[WLO]] to %[[WW]] step %{{.+}} iter_args(%{{.+}} = %[[R1]]#0, %{{.+}} = %[[R1]]#1, %{{.+}} = %[[R1]]#2)
// UNBOUNDED-LABEL: func.func @global_local
// UNBOUNDED-COUNT-1: scf.for
func.func @global_local(%q: tensor<1x1x4000x32xf32>) -> tensor<1x1x4000x32xf32> {
  %o = mixer.attention %q, %q, %q {mask = #mixer.mask<global_local, global = 4, left = 64, right = 64>} : (tensor<1x1x4000x32xf32>, tensor<1x1x4000x32xf32>, tensor<1x1x4000x32xf32>) -> tensor<1x1x4000x32xf32>
  return %o : tensor<1x1x4000x32xf32>
}
