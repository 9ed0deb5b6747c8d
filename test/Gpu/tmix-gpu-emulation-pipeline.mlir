// RUN: tmix-opt %s --tmix-gpu-emulation-pipeline | FileCheck %s
// RUN: tmix-opt %s --tmix-gpu-emulation-pipeline="query-tile=16 key-tile=16 skip-masked-tiles=false" | FileCheck %s

// The mapped GPU kernel as host code: blocks and threads are loops, the
// workgroup and per-thread buffers are ordinary heap buffers (freed per
// block), the fragment products stay calls to their scalar definitions;
// only the LLVM dialect is left (numbers: test/Unit/GpuAttentionCpuTest).

// CHECK-LABEL: llvm.func @attention
// CHECK-NOT: gpu.
// CHECK-NOT: scf.
// CHECK: llvm.call @malloc
// CHECK: llvm.call @__tmix_mma_frag_nt_
// CHECK: llvm.call @__tmix_mma_frag_nn_
// CHECK: llvm.call @free
// CHECK-LABEL: llvm.func @_mlir_ciface_attention
// CHECK: llvm.func @__tmix_mma_frag_nt_
// CHECK: llvm.func @__tmix_mma_frag_nn_
func.func @attention(%q: tensor<1x4x?x64xbf16>, %k: tensor<1x2x?x64xbf16>, %v: tensor<1x2x?x64xbf16>) -> tensor<1x4x?x64xbf16> attributes {llvm.emit_c_interface} {
  %o = mixer.attention %q, %k, %v {mask = #mixer.mask<window, left = 32, right = 4>} : (tensor<1x4x?x64xbf16>, tensor<1x2x?x64xbf16>, tensor<1x2x?x64xbf16>) -> tensor<1x4x?x64xbf16>
  return %o : tensor<1x4x?x64xbf16>
}
