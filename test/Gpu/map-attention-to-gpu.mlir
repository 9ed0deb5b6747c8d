// RUN: tmix-opt %s --mixer-map-attention-to-gpu -split-input-file | FileCheck %s
// RUN: tmix-opt %s --mixer-map-attention-to-gpu="key-tile=16 skip-masked-tiles=false" -split-input-file | FileCheck %s --check-prefix=OPTS

// Causal GQA (8 query heads over 2 kv heads: G = 4), f32, dynamic lengths.
// One block per (batch, kv head, query tile); automatic schedule: 16 rows
// per head x 4 heads = 64 rows (4 warps, 128 threads), 32 keys per step.
// The key loop stops at the last key the tile's last row can see:
// min(max(p_max + 1, 0), S) with p_max = S - L + i0 + rows - 1.

// CHECK-LABEL: func.func @causal_gqa
// CHECK-SAME: %[[Q:[^:]+]]: tensor<1x8x?x64xf32>, %[[K:[^:]+]]: tensor<1x2x?x64xf32>, %[[V:[^:]+]]: tensor<1x2x?x64xf32>
// CHECK-DAG: %[[QB:.+]] = bufferization.to_buffer %[[Q]] read_only
// CHECK-DAG: %[[KB:.+]] = bufferization.to_buffer %[[K]] read_only
// CHECK-DAG: %[[VB:.+]] = bufferization.to_buffer %[[V]] read_only
// CHECK-DAG: %[[L:.+]] = tensor.dim %[[Q]], %{{.+}} : tensor<1x8x?x64xf32>
// CHECK-DAG: %[[S:.+]] = tensor.dim %[[K]], %{{.+}} : tensor<1x2x?x64xf32>
// CHECK: %[[ROW0:.+]] = arith.subi %[[S]], %[[L]]
// CHECK: %[[TILES:.+]] = arith.ceildivui %[[L]], %{{.+}} : index
// CHECK: scf.forall (%[[B:.+]], %[[H:.+]], %[[T:.+]]) in (1, 2, %[[TILES]]) shared_outs(%[[OUT:.+]] = %{{.+}}) -> (tensor<1x8x?x64xf32>)
// CHECK: %[[C16:.+]] = arith.constant 16 : index
// CHECK: %[[I0:.+]] = arith.muli %[[T]], %[[C16]]
// CHECK: %[[ROWS:.+]] = arith.minsi %{{.+}}, %{{.+}}
// The 4 query heads h * 4 .. h * 4 + 3 of kv head h share the block.
// CHECK: %[[C4:.+]] = arith.constant 4 : index
// CHECK: %[[H0:.+]] = arith.muli %[[H]], %[[C4]]
// CHECK: %[[SLICE:.+]] = tensor.extract_slice %[[OUT]][%[[B]], %[[H0]], %[[I0]], 0] [1, 4, %[[ROWS]], 64]
// CHECK: %[[OB:.+]] = bufferization.to_buffer %[[SLICE]] : tensor<1x4x?x64xf32> to memref<1x4x?x64xf32, strided<[?, ?, ?, ?], offset: ?>>
// CHECK: %[[QS:.+]] = memref.alloc() {tmix.gpu.memory = "workgroup"} : memref<64x64xf32>
// CHECK: %[[KS:.+]] = memref.alloc() {tmix.gpu.memory = "workgroup"} : memref<32x64xf32>
// CHECK: %[[VS:.+]] = memref.alloc() {tmix.gpu.memory = "workgroup"} : memref<32x64xf32>
// CHECK: %[[PS:.+]] = memref.alloc() {tmix.gpu.memory = "workgroup"} : memref<64x32xf32>
// CHECK: %[[RED:.+]] = memref.alloc() {tmix.gpu.memory = "workgroup"} : memref<64x4xf32>
// CHECK: %[[ST:.+]] = memref.alloc() {tmix.gpu.memory = "thread_private"} : memref<128x52xf32>
// Phase 0: the empty state, the queries staged (head h0 + row / 16).
// CHECK: scf.forall (%[[TID:.+]]) in (128) {
// CHECK: memref.store %{{.+}}, %[[ST]][%[[TID]], %{{.+}}] : memref<128x52xf32>
// CHECK: memref.load %[[QB]][%[[B]], %{{.+}}, %{{.+}}, %{{.+}}]
// CHECK: memref.store %{{.+}}, %[[QS]]
// CHECK: } {mapping = [#gpu.thread<x>]}
// The key loop, bounded by the causal mask.
// CHECK: %[[RP:.+]] = arith.addi %[[ROW0]], %[[I0]]
// CHECK: %[[LAST:.+]] = arith.addi %[[RP]], %[[ROWS]]
// CHECK: %[[PMAX:.+]] = arith.subi %[[LAST]], %{{.+}}
// CHECK: %[[END:.+]] = arith.addi %[[PMAX]], %{{.+}}
// CHECK: %[[CL:.+]] = arith.maxsi %[[END]], %{{.+}}
// CHECK: %[[HI:.+]] = arith.minsi %[[CL]], %[[S]]
// CHECK: scf.for %[[J:.+]] = %{{.+}} to %[[HI]] step %{{.+}} {
// P1: the K and V block of the kv head, once for the 4 query heads.
// CHECK: scf.forall (%{{.+}}) in (128) {
// CHECK: memref.load %[[KB]][%[[B]], %[[H]], %{{.+}}, %{{.+}}]
// CHECK: memref.store %{{.+}}, %[[KS]]
// CHECK: memref.load %[[VB]][%[[B]], %[[H]], %{{.+}}, %{{.+}}]
// CHECK: memref.store %{{.+}}, %[[VS]]
// CHECK: } {mapping = [#gpu.thread<x>]}
// P2: the scores of the thread's fragments (4 of 8 keys each), the causal
// mask only outside the blocks every row sees entirely.
// CHECK: scf.forall (%[[TID2:.+]]) in (128) {
// CHECK-COUNT-4: func.call @[[QK:__tmix_mma_frag_nt_[a-z0-9_]+]](%[[QS]], %[[KS]], %[[TID2]], %{{.+}}, %{{.+}})
// CHECK: scf.if
// CHECK: arith.cmpi sle
// CHECK: memref.store %{{.+}}, %[[RED]]
// CHECK: } {mapping = [#gpu.thread<x>]}
// P3: online softmax; p in the workgroup buffer.
// CHECK: scf.forall (%{{.+}}) in (128) {
// CHECK: math.exp
// CHECK: memref.store %{{.+}}, %[[PS]]
// CHECK: } {mapping = [#gpu.thread<x>]}
// P4: acc += P V (8 fragments of 8 value columns).
// CHECK: scf.forall (%[[TID4:.+]]) in (128) {
// CHECK-COUNT-8: func.call @[[PV:__tmix_mma_frag_nn_[a-z0-9_]+]](%[[PS]], %[[VS]], %[[TID4]], %{{.+}}, %{{.+}})
// CHECK: } {mapping = [#gpu.thread<x>]}
// CHECK: }
// The partial row sums, then acc / sum into this block's rows.
// CHECK: scf.forall (%{{.+}}) in (128) {
// CHECK: } {mapping = [#gpu.thread<x>]}
// CHECK: scf.forall (%{{.+}}) in (128) {
// CHECK: arith.divf
// CHECK: memref.store %{{.+}}, %[[OB]]
// CHECK: } {mapping = [#gpu.thread<x>]}
// CHECK-DAG: memref.dealloc %[[QS]]
// CHECK-DAG: memref.dealloc %[[ST]]
// CHECK: %[[OT:.+]] = bufferization.to_tensor %[[OB]] restrict writable
// CHECK: scf.forall.in_parallel {
// CHECK: tensor.parallel_insert_slice %[[OT]] into %[[OUT]][%[[B]], %[[H0]], %[[I0]], 0] [1, 4, %[[ROWS]], 64]
// CHECK: } {mapping = [#gpu.block<z>, #gpu.block<y>, #gpu.block<x>], tmix.gpu.block_dims = array<i64: 128, 1, 1>}
// The fragment products: one thread's 4 accumulators, scalar in f32.
// CHECK: func.func private @[[QK]](%{{.+}}: memref<64x64xf32>, %{{.+}}: memref<32x64xf32>, %{{.+}}: index, %{{.+}}: index, %{{.+}}: vector<4xf32>) -> vector<4xf32> attributes {tmix.mma_fragment = {transpose_b = true}}
// CHECK: scf.for {{.+}} iter_args
// CHECK-COUNT-4: arith.mulf {{.+}} fastmath<contract>
// CHECK: func.func private @[[PV]](%{{.+}}: memref<64x32xf32>, %{{.+}}: memref<32x64xf32>, %{{.+}}: index, %{{.+}}: index, %{{.+}}: vector<4xf32>) -> vector<4xf32> attributes {tmix.mma_fragment = {transpose_b = false}}
// With key-tile=16, blocks of 16 keys; without mask bounds every key block
// is visited (and masked).
// OPTS-LABEL: func.func @causal_gqa
// OPTS-DAG: %[[S:.+]] = tensor.dim %arg1, %{{.+}} : tensor<1x2x?x64xf32>
// OPTS: memref.alloc() {tmix.gpu.memory = "workgroup"} : memref<64x64xf32>
// OPTS: memref.alloc() {tmix.gpu.memory = "workgroup"} : memref<16x64xf32>
// OPTS: memref.alloc() {tmix.gpu.memory = "thread_private"} : memref<128x44xf32>
// OPTS: scf.for %[[J:.+]] = %[[ZERO:.+]] to %[[S]] step
// No block counts as kept entirely: [fullLo, fullHi) = [0, 0).
// OPTS: arith.cmpi sge, %[[J]], %[[ZERO]]
// OPTS: arith.cmpi sle, %{{.+}}, %[[ZERO]]
// OPTS: tmix.gpu.block_dims = array<i64: 128, 1, 1>
func.func @causal_gqa(%q: tensor<1x8x?x64xf32>, %k: tensor<1x2x?x64xf32>, %v: tensor<1x2x?x64xf32>) -> tensor<1x8x?x64xf32> {
  %o = mixer.attention %q, %k, %v {mask = #mixer.mask<causal>} : (tensor<1x8x?x64xf32>, tensor<1x2x?x64xf32>, tensor<1x2x?x64xf32>) -> tensor<1x8x?x64xf32>
  return %o : tensor<1x8x?x64xf32>
}

// -----

// Sliding window (16 keys back), f16, D = 80, MHA: the key loop starts at
// the first key the tile's first row can see, max(p_min - 16, 0), and ends
// after the last row's own key; 16-bit buffers, 64 keys per step.

// CHECK-LABEL: func.func @window_f16
// CHECK-DAG: %[[L:.+]] = tensor.dim %arg0, %{{.+}} : tensor<2x4x?x80xf16>
// CHECK-DAG: %[[S:.+]] = tensor.dim %arg1, %{{.+}} : tensor<2x4x?x80xf16>
// CHECK: %[[ROW0:.+]] = arith.subi %[[S]], %[[L]]
// CHECK: scf.forall (%{{.+}}, %{{.+}}, %[[T:.+]]) in (2, 4, %{{.+}})
// CHECK: %[[I0:.+]] = arith.muli %[[T]], %{{.+}}
// CHECK: memref.alloc() {tmix.gpu.memory = "workgroup"} : memref<64x80xf16>
// CHECK: memref.alloc() {tmix.gpu.memory = "workgroup"} : memref<64x80xf16>
// CHECK: memref.alloc() {tmix.gpu.memory = "workgroup"} : memref<64x80xf16>
// CHECK: memref.alloc() {tmix.gpu.memory = "workgroup"} : memref<64x64xf16>
// CHECK: memref.alloc() {tmix.gpu.memory = "thread_private"} : memref<128x76xf32>
// CHECK: %[[PMIN:.+]] = arith.addi %[[ROW0]], %[[I0]] : index
// CHECK: %[[PMAX:.+]] = arith.subi %{{.+}}, %{{.+}} : index
// CHECK: %[[C_16:.+]] = arith.constant -16 : index
// CHECK: %[[BACK:.+]] = arith.addi %[[PMIN]], %[[C_16]]
// CHECK: %[[LO0:.+]] = arith.maxsi %[[BACK]], %{{.+}}
// CHECK: %[[LO:.+]] = arith.minsi %[[LO0]], %[[S]]
// CHECK: %[[END:.+]] = arith.addi %[[PMAX]], %{{.+}}
// CHECK: %[[HI0:.+]] = arith.maxsi %[[END]], %{{.+}}
// CHECK: %[[HI:.+]] = arith.minsi %[[HI0]], %[[S]]
// CHECK: scf.for %{{.+}} = %[[LO]] to %[[HI]] step %{{.+}} {
// CHECK: scf.forall
// CHECK: scf.forall
// CHECK-COUNT-8: func.call @{{__tmix_mma_frag_nt_[a-z0-9_]+}}
// CHECK: scf.forall
// CHECK: arith.truncf %{{.+}} : f32 to f16
// CHECK: scf.forall
// CHECK-COUNT-10: func.call @{{__tmix_mma_frag_nn_[a-z0-9_]+}}
// CHECK: func.func private @{{.+}}(%{{.+}}: memref<64x80xf16>, %{{.+}}: memref<64x80xf16>, {{.+}} attributes {tmix.mma_fragment = {transpose_b = true}}
// CHECK: arith.extf
// CHECK: func.func private @{{.+}}(%{{.+}}: memref<64x64xf16>, %{{.+}}: memref<64x80xf16>, {{.+}} attributes {tmix.mma_fragment = {transpose_b = false}}
func.func @window_f16(%q: tensor<2x4x?x80xf16>, %k: tensor<2x4x?x80xf16>, %v: tensor<2x4x?x80xf16>) -> tensor<2x4x?x80xf16> {
  %o = mixer.attention %q, %k, %v {mask = #mixer.mask<window, left = 16, right = 0>} : (tensor<2x4x?x80xf16>, tensor<2x4x?x80xf16>, tensor<2x4x?x80xf16>) -> tensor<2x4x?x80xf16>
  return %o : tensor<2x4x?x80xf16>
}

// -----

// No mask: every key, no mask predicate (only the keys past S in the last
// block are dropped). bf16 with a per-key f32 bias and lse.

// CHECK-LABEL: func.func @full_bias_lse_bf16
// CHECK-SAME: %[[BIAS:[^:]+]]: tensor<1x1x1x?xf32>
// CHECK-DAG: %[[S:.+]] = tensor.dim %arg1, %{{.+}} : tensor<1x2x?x64xbf16>
// CHECK-DAG: %[[BB:.+]] = bufferization.to_buffer %[[BIAS]] read_only
// CHECK: %{{.+}}:2 = scf.forall {{.+}} shared_outs(%[[OUT:.+]] = %{{.+}}, %[[LSE:.+]] = %{{.+}}) -> (tensor<1x2x?x64xbf16>, tensor<1x2x?xf32>)
// CHECK: %[[LSEB:.+]] = bufferization.to_buffer %{{.+}} : tensor<1x1x?xf32> to memref<1x1x?xf32
// CHECK: memref.alloc() {tmix.gpu.memory = "workgroup"} : memref<64x64xbf16>
// CHECK: scf.for %{{.+}} = %{{.+}} to %[[S]] step
// CHECK: memref.load %[[BB]][%{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}] : memref<1x1x1x?xf32
// CHECK: scf.if
// CHECK: arith.cmpi slt
// CHECK-NOT: arith.cmpi sle
// CHECK: arith.maximumf
// CHECK: math.log
// CHECK: memref.store %{{.+}}, %[[LSEB]]
// CHECK: scf.forall.in_parallel {
// CHECK: tensor.parallel_insert_slice %{{.+}} into %[[OUT]]
// CHECK: tensor.parallel_insert_slice %{{.+}} into %[[LSE]]
func.func @full_bias_lse_bf16(%q: tensor<1x2x?x64xbf16>, %k: tensor<1x2x?x64xbf16>, %v: tensor<1x2x?x64xbf16>, %b: tensor<1x1x1x?xf32>) -> (tensor<1x2x?x64xbf16>, tensor<1x2x?xf32>) {
  %o, %lse = mixer.attention %q, %k, %v, %b : (tensor<1x2x?x64xbf16>, tensor<1x2x?x64xbf16>, tensor<1x2x?x64xbf16>, tensor<1x1x1x?xf32>) -> (tensor<1x2x?x64xbf16>, tensor<1x2x?xf32>)
  return %o, %lse : tensor<1x2x?x64xbf16>, tensor<1x2x?xf32>
}

// -----

// global_local: a tile of non-global rows visits the global columns, then
// its window: two key loops carrying the same per-thread state.

// CHECK-LABEL: func.func @global_local
// CHECK: %[[ST:.+]] = memref.alloc() {tmix.gpu.memory = "thread_private"}
// CHECK: scf.for
// CHECK: memref.store %{{.+}}, %[[ST]]
// CHECK: scf.for
// CHECK: memref.store %{{.+}}, %[[ST]]
// CHECK: } {mapping = [#gpu.block<z>, #gpu.block<y>, #gpu.block<x>]
func.func @global_local(%q: tensor<1x2x128x32xf32>, %k: tensor<1x2x128x32xf32>, %v: tensor<1x2x128x32xf32>) -> tensor<1x2x128x32xf32> {
  %o = mixer.attention %q, %k, %v {mask = #mixer.mask<global_local, global = 4, left = 8, right = 8>} : (tensor<1x2x128x32xf32>, tensor<1x2x128x32xf32>, tensor<1x2x128x32xf32>) -> tensor<1x2x128x32xf32>
  return %o : tensor<1x2x128x32xf32>
}
