// REQUIRES: ptxas
// RUN: tmix-opt %s --tmix-gpu-pipeline="format=isa" | %extract-gpu-asm > %t.sm80.ptx
// RUN: FileCheck %s --check-prefixes=PTX,SM80 < %t.sm80.ptx
// RUN: %ptxas -arch=sm_80 -v %t.sm80.ptx -o %t.sm80.cubin 2>&1 | FileCheck %s --check-prefix=PTXAS
// RUN: tmix-opt %s --tmix-gpu-pipeline="chip=sm_90 format=isa" | %extract-gpu-asm > %t.sm90.ptx
// RUN: FileCheck %s --check-prefixes=PTX,SM90 < %t.sm90.ptx
// RUN: %ptxas -arch=sm_90 -v %t.sm90.ptx -o %t.sm90.cubin 2>&1 | FileCheck %s --check-prefix=PTXAS

// f32, causal, GQA 8/2, D = 64: the SIMT kernel (FMAs, no tensor cores).
// PTX produced by gpu-module-to-binary and assembled by ptxas for each
// chip. The per-thread softmax state and accumulators stay in registers
// (no stack frame); K/V, Q and P are in shared memory; the phases are
// separated by bar.sync.

// SM80: .target sm_80
// SM90: .target sm_90
// PTX: .entry attention_kernel(
// PTX: .shared .align {{[0-9]+}} .b8
// PTX-NOT: mma.sync
// PTX: bar.sync 0;
// PTX: fma.rn.f32
// PTX: ex2.approx
// PTX-NOT: __nv_

// PTXAS: 0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
// PTXAS: Used {{[0-9]+}} registers, used 1 barriers, 41984 bytes smem
func.func @attention(%q: tensor<1x8x?x64xf32>, %k: tensor<1x2x?x64xf32>, %v: tensor<1x2x?x64xf32>) -> tensor<1x8x?x64xf32> {
  %o = mixer.attention %q, %k, %v {mask = #mixer.mask<causal>} : (tensor<1x8x?x64xf32>, tensor<1x2x?x64xf32>, tensor<1x2x?x64xf32>) -> tensor<1x8x?x64xf32>
  return %o : tensor<1x8x?x64xf32>
}
