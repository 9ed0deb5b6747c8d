// RUN: tmix-opt %s --mixer-map-attention-to-gpu --mixer-gpu-tensor-cores -split-input-file | FileCheck %s

// One fragment product C[16x8] += A[16x32] · Bᵀ (B given as [8 x 32], f16):
// two m16n8k16 steps. Lane l of warp w loads A at rows 16w + l/4 (+8),
// columns 2(l%4) (+1, +8, +9) of each 16-wide step, and B at key n0 + l/4,
// the same columns: the PTX fragment layout.

// CHECK-LABEL: func.func @qk_f16
// CHECK-SAME: (%[[A:.+]]: memref<16x32xf16>, %[[B:.+]]: memref<8x32xf16>, %[[TID:.+]]: index, %[[N0:.+]]: index, %[[C:.+]]: vector<4xf32>)
// CHECK-NOT: call @
// CHECK: %[[LANE:.+]] = arith.remui %[[TID]], %{{.+}} : index
// CHECK: %[[WARP:.+]] = arith.divui %[[TID]], %{{.+}} : index
// CHECK: %[[GROUP:.+]] = arith.divui %[[LANE]], %{{.+}} : index
// CHECK: %[[INGROUP:.+]] = arith.remui %[[LANE]], %{{.+}} : index
// CHECK: %[[W16:.+]] = arith.muli %[[WARP]], %{{.+}} : index
// CHECK: %[[ROW:.+]] = arith.addi %[[W16]], %[[GROUP]] : index
// CHECK: %[[COL:.+]] = arith.muli %[[INGROUP]], %{{.+}} : index
// CHECK: %[[KEY:.+]] = arith.addi %[[N0]], %[[GROUP]] : index
// CHECK: memref.load %[[A]][%[[ROW]], %[[COL]]] : memref<16x32xf16>
// CHECK-COUNT-7: memref.load %[[A]]
// CHECK: memref.load %[[B]][%[[KEY]], %[[COL]]] : memref<8x32xf16>
// CHECK-COUNT-3: memref.load %[[B]]
// CHECK: %[[ACC1:.+]] = nvgpu.mma.sync(%{{.+}}, %{{.+}}, %{{.+}}) {mmaShape = [16, 8, 16]} : (vector<4x2xf16>, vector<2x2xf16>, vector<2x2xf32>) -> vector<2x2xf32>
// CHECK-COUNT-8: memref.load %[[A]]
// CHECK-COUNT-4: memref.load %[[B]]
// CHECK: %[[ACC2:.+]] = nvgpu.mma.sync(%{{.+}}, %{{.+}}, %[[ACC1]])
// CHECK: %[[R:.+]] = vector.from_elements {{.+}} : vector<4xf32>
// CHECK: return %[[R]]
// The fragment function is gone once nothing calls it.
// CHECK-NOT: func.func private @frag_nt
func.func @qk_f16(%a: memref<16x32xf16>, %b: memref<8x32xf16>, %tid: index, %n0: index, %c: vector<4xf32>) -> vector<4xf32> {
  %r = func.call @frag_nt(%a, %b, %tid, %n0, %c) : (memref<16x32xf16>, memref<8x32xf16>, index, index, vector<4xf32>) -> vector<4xf32>
  return %r : vector<4xf32>
}
func.func private @frag_nt(%a: memref<16x32xf16>, %b: memref<8x32xf16>, %tid: index, %n0: index, %c: vector<4xf32>) -> vector<4xf32> attributes {tmix.mma_fragment = {transpose_b = true}} {
  return %c : vector<4xf32>
}

// -----

// P·V with B = V [16 keys x 8 columns] not transposed: B is read at
// (k, n0 + lane/4). bf16 goes through the same nvgpu.mma.sync.

// CHECK-LABEL: func.func @pv_bf16
// CHECK-SAME: (%[[A:.+]]: memref<16x16xbf16>, %[[B:.+]]: memref<16x8xbf16>, %[[TID:.+]]: index, %[[N0:.+]]: index
// CHECK: %[[LANE:.+]] = arith.remui %[[TID]]
// CHECK: %[[GROUP:.+]] = arith.divui %[[LANE]]
// CHECK: %[[INGROUP:.+]] = arith.remui %[[LANE]]
// CHECK: %[[COL:.+]] = arith.muli %[[INGROUP]]
// CHECK: %[[KEY:.+]] = arith.addi %[[N0]], %[[GROUP]] : index
// CHECK-COUNT-8: memref.load %[[A]]
// CHECK: memref.load %[[B]][%[[COL]], %[[KEY]]] : memref<16x8xbf16>
// CHECK: nvgpu.mma.sync({{.+}}) {mmaShape = [16, 8, 16]} : (vector<4x2xbf16>, vector<2x2xbf16>, vector<2x2xf32>) -> vector<2x2xf32>
// CHECK-NOT: nvgpu.mma.sync
func.func @pv_bf16(%a: memref<16x16xbf16>, %b: memref<16x8xbf16>, %tid: index, %n0: index, %c: vector<4xf32>) -> vector<4xf32> {
  %r = func.call @frag_nn(%a, %b, %tid, %n0, %c) : (memref<16x16xbf16>, memref<16x8xbf16>, index, index, vector<4xf32>) -> vector<4xf32>
  return %r : vector<4xf32>
}
func.func private @frag_nn(%a: memref<16x16xbf16>, %b: memref<16x8xbf16>, %tid: index, %n0: index, %c: vector<4xf32>) -> vector<4xf32> attributes {tmix.mma_fragment = {transpose_b = false}} {
  return %c : vector<4xf32>
}

// -----

// f32 products, and 16-bit ones whose depth is not a multiple of 16, keep
// their scalar definition (the call stays, and so does the function).

// CHECK-LABEL: func.func @not_for_tensor_cores
// CHECK: call @frag_f32
// CHECK: call @frag_k24
// CHECK-NOT: nvgpu.mma.sync
// CHECK: func.func private @frag_f32
// CHECK: func.func private @frag_k24
func.func @not_for_tensor_cores(%a: memref<16x32xf32>, %b: memref<8x32xf32>, %a2: memref<16x24xf16>, %b2: memref<8x24xf16>, %tid: index, %c: vector<4xf32>) -> vector<4xf32> {
  %r = func.call @frag_f32(%a, %b, %tid, %tid, %c) : (memref<16x32xf32>, memref<8x32xf32>, index, index, vector<4xf32>) -> vector<4xf32>
  %r2 = func.call @frag_k24(%a2, %b2, %tid, %tid, %r) : (memref<16x24xf16>, memref<8x24xf16>, index, index, vector<4xf32>) -> vector<4xf32>
  return %r2 : vector<4xf32>
}
func.func private @frag_f32(%a: memref<16x32xf32>, %b: memref<8x32xf32>, %tid: index, %n0: index, %c: vector<4xf32>) -> vector<4xf32> attributes {tmix.mma_fragment = {transpose_b = true}} {
  return %c : vector<4xf32>
}
func.func private @frag_k24(%a: memref<16x24xf16>, %b: memref<8x24xf16>, %tid: index, %n0: index, %c: vector<4xf32>) -> vector<4xf32> attributes {tmix.mma_fragment = {transpose_b = true}} {
  return %c : vector<4xf32>
}

// -----

// In the mapped attention (f16, D = Dv = 64, 64 keys per step) every
// product goes to tensor cores: 8 key fragments x 4 steps of 16 dims for
// the scores, 8 value fragments x 4 steps of 16 keys for P·V.

// CHECK-LABEL: func.func @attention_f16
// CHECK: scf.forall
// CHECK-NOT: call @
// CHECK-COUNT-32: nvgpu.mma.sync
// CHECK: } {mapping = [#gpu.thread<x>]}
// CHECK: scf.forall
// CHECK: } {mapping = [#gpu.thread<x>]}
// CHECK: scf.forall
// CHECK-COUNT-32: nvgpu.mma.sync
// CHECK: } {mapping = [#gpu.thread<x>]}
// CHECK-NOT: func.func private
func.func @attention_f16(%q: tensor<1x4x?x64xf16>, %k: tensor<1x4x?x64xf16>, %v: tensor<1x4x?x64xf16>) -> tensor<1x4x?x64xf16> {
  %o = mixer.attention %q, %k, %v {mask = #mixer.mask<causal>} : (tensor<1x4x?x64xf16>, tensor<1x4x?x64xf16>, tensor<1x4x?x64xf16>) -> tensor<1x4x?x64xf16>
  return %o : tensor<1x4x?x64xf16>
}
