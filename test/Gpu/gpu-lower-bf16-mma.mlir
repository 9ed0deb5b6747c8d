// RUN: tmix-opt %s --mixer-gpu-lower-bf16-mma | FileCheck %s

// bf16 mma.sync becomes nvvm.mma.sync with bf16 multiplicands: each row of
// the A and B fragments (two bf16) is one 32-bit register, the four f32
// accumulators go in and come out of the struct.

// CHECK-LABEL: func.func @bf16
// CHECK-SAME: (%[[A:.+]]: vector<4x2xbf16>, %[[B:.+]]: vector<2x2xbf16>, %[[C:.+]]: vector<2x2xf32>)
// CHECK: %[[A0:.+]] = vector.extract %[[A]][0] : vector<2xbf16> from vector<4x2xbf16>
// CHECK: %[[A0I:.+]] = vector.bitcast %[[A0]] : vector<2xbf16> to vector<1xi32>
// CHECK: %[[R0:.+]] = vector.extract %[[A0I]][0] : i32 from vector<1xi32>
// CHECK-COUNT-3: vector.bitcast %{{.+}} : vector<2xbf16> to vector<1xi32>
// CHECK-COUNT-2: vector.bitcast %{{.+}} : vector<2xbf16> to vector<1xi32>
// CHECK: %[[C00:.+]] = vector.extract %[[C]][0, 0] : f32 from vector<2x2xf32>
// CHECK: %[[MMA:.+]] = nvvm.mma.sync A[%[[R0]], %{{.+}}, %{{.+}}, %{{.+}}] B[%{{.+}}, %{{.+}}] C[%[[C00]], %{{.+}}, %{{.+}}, %{{.+}}] {layoutA = #nvvm.mma_layout<row>, layoutB = #nvvm.mma_layout<col>, multiplicandAPtxType = #nvvm.mma_type<bf16>, multiplicandBPtxType = #nvvm.mma_type<bf16>, shape = #nvvm.shape<m = 16, n = 8, k = 16>} : (i32, i32, f32) -> !llvm.struct<(f32, f32, f32, f32)>
// CHECK: %[[D0:.+]] = llvm.extractvalue %[[MMA]][0]
// CHECK: %[[D3:.+]] = llvm.extractvalue %[[MMA]][3]
// CHECK: %[[V:.+]] = vector.insert %[[D0]], %{{.+}} [0, 0] : f32 into vector<2x2xf32>
// CHECK: %[[V3:.+]] = vector.insert %[[D3]], %{{.+}} [1, 1] : f32 into vector<2x2xf32>
// CHECK: return %[[V3]]
func.func @bf16(%a: vector<4x2xbf16>, %b: vector<2x2xbf16>, %c: vector<2x2xf32>) -> vector<2x2xf32> {
  %d = nvgpu.mma.sync (%a, %b, %c) {mmaShape = [16, 8, 16]} : (vector<4x2xbf16>, vector<2x2xbf16>, vector<2x2xf32>) -> vector<2x2xf32>
  return %d : vector<2x2xf32>
}

// f16 is left to convert-nvgpu-to-nvvm.
// CHECK-LABEL: func.func @f16
// CHECK: nvgpu.mma.sync
// CHECK-NOT: nvvm.mma.sync
func.func @f16(%a: vector<4x2xf16>, %b: vector<2x2xf16>, %c: vector<2x2xf32>) -> vector<2x2xf32> {
  %d = nvgpu.mma.sync (%a, %b, %c) {mmaShape = [16, 8, 16]} : (vector<4x2xf16>, vector<2x2xf16>, vector<2x2xf32>) -> vector<2x2xf32>
  return %d : vector<2x2xf32>
}
