// RUN: tmix-opt %s --tmix-reference-pipeline | FileCheck %s

// The pipeline's promise: only the LLVM dialect is left; functions marked
// llvm.emit_c_interface get a C interface wrapper, others do not.

// CHECK-LABEL: llvm.func @attention
// CHECK-NOT: mixer.
// CHECK-NOT: linalg.
// CHECK-NOT: memref.
// CHECK-NOT: scf.
// CHECK-NOT: func.
// CHECK: llvm.intr.exp
// CHECK-LABEL: llvm.func @_mlir_ciface_attention
// CHECK-LABEL: llvm.func @plain
// CHECK-NOT: _mlir_ciface_plain
func.func @attention(%q: tensor<1x4x?x16xbf16>, %k: tensor<1x2x?x16xbf16>, %v: tensor<1x2x?x16xbf16>) -> (tensor<1x4x?x16xbf16>, tensor<1x4x?xf32>) attributes {llvm.emit_c_interface} {
  %o, %l = mixer.attention %q, %k, %v {mask = #mixer.mask<dilated, width = 4, dilation = 3>} : (tensor<1x4x?x16xbf16>, tensor<1x2x?x16xbf16>, tensor<1x2x?x16xbf16>) -> (tensor<1x4x?x16xbf16>, tensor<1x4x?xf32>)
  return %o, %l : tensor<1x4x?x16xbf16>, tensor<1x4x?xf32>
}

func.func @plain(%q: tensor<1x1x4x8xf32>) -> tensor<1x1x4x8xf32> {
  %o = mixer.attention %q, %q, %q : (tensor<1x1x4x8xf32>, tensor<1x1x4x8xf32>, tensor<1x1x4x8xf32>) -> tensor<1x1x4x8xf32>
  return %o : tensor<1x1x4x8xf32>
}
