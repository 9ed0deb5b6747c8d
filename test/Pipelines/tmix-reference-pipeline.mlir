// RUN: tmix-opt %s --tmix-reference-pipeline | FileCheck %s
// RUN: tmix-opt %s --tmix-reference-pipeline=emit-c-interface=false | FileCheck %s --check-prefix=NOCIFACE

// The pipeline's promise: only the LLVM dialect is left, and with the
// default options every public function has a C interface wrapper.

// CHECK-LABEL: llvm.func @attention
// CHECK-NOT: mixer.
// CHECK-NOT: linalg.
// CHECK-NOT: memref.
// CHECK-NOT: scf.
// CHECK-NOT: func.
// CHECK: llvm.intr.exp
// CHECK-LABEL: llvm.func @_mlir_ciface_attention
// NOCIFACE-LABEL: llvm.func @attention
// NOCIFACE-NOT: _mlir_ciface_attention
func.func @attention(%q: tensor<1x4x?x16xbf16>, %k: tensor<1x2x?x16xbf16>, %v: tensor<1x2x?x16xbf16>) -> (tensor<1x4x?x16xbf16>, tensor<1x4x?xf32>) {
  %o, %l = mixer.attention %q, %k, %v {mask = #mixer.mask<dilated, width = 4, dilation = 3>} : (tensor<1x4x?x16xbf16>, tensor<1x2x?x16xbf16>, tensor<1x2x?x16xbf16>) -> (tensor<1x4x?x16xbf16>, tensor<1x4x?xf32>)
  return %o, %l : tensor<1x4x?x16xbf16>, tensor<1x4x?xf32>
}
