// RUN: tmix-opt %s --tmix-cpu-pipeline | FileCheck %s
// RUN: tmix-opt %s --tmix-cpu-pipeline="parallel=false query-tile=16 key-tile=32" | FileCheck %s --check-prefix=SERIAL

// The pipeline's promise: only the LLVM dialect is left; the tile loop runs
// in an OpenMP parallel region (unless parallel=false); exp is a polynomial
// (no libm call); no L×S buffer is allocated (the only dynamic allocations
// are tiles).
// CHECK-LABEL: llvm.func @attention
// CHECK-NOT: mixer.
// CHECK-NOT: linalg.
// CHECK: omp.parallel
// CHECK-NOT: llvm.call @expf
// CHECK-NOT: llvm.call @__expf
// CHECK-LABEL: llvm.func @_mlir_ciface_attention

// SERIAL-LABEL: llvm.func @attention
// SERIAL-NOT: omp.
// SERIAL: llvm.func @_mlir_ciface_attention
func.func @attention(%q: tensor<1x4x?x64xf32>, %k: tensor<1x2x?x64xf32>, %v: tensor<1x2x?x64xf32>) -> tensor<1x4x?x64xf32> attributes {llvm.emit_c_interface} {
  %o = mixer.attention %q, %k, %v {mask = #mixer.mask<causal>} : (tensor<1x4x?x64xf32>, tensor<1x2x?x64xf32>, tensor<1x2x?x64xf32>) -> tensor<1x4x?x64xf32>
  return %o : tensor<1x4x?x64xf32>
}
