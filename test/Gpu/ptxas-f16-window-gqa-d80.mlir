// REQUIRES: ptxas
// RUN: tmix-opt %s --tmix-gpu-pipeline="format=isa" | %extract-gpu-asm > %t.sm80.ptx
// RUN: FileCheck %s --check-prefixes=PTX,SM80 < %t.sm80.ptx
// RUN: %ptxas -arch=sm_80 -v %t.sm80.ptx -o %t.sm80.cubin 2>&1 | FileCheck %s --check-prefix=PTXAS
// RUN: tmix-opt %s --tmix-gpu-pipeline="chip=sm_90 format=isa" | %extract-gpu-asm > %t.sm90.ptx
// RUN: FileCheck %s --check-prefixes=PTX,SM90 < %t.sm90.ptx
// RUN: %ptxas -arch=sm_90 -v %t.sm90.ptx -o %t.sm90.cubin 2>&1 | FileCheck %s --check-prefix=PTXAS
// RUN: tmix-opt %s --tmix-gpu-pipeline="format=isa tensor-cores=false" | %extract-gpu-asm | FileCheck %s --check-prefix=SIMT

// f16, sliding window, GQA 8/2, D = Dv = 80, static L = S = 333: both
// products on tensor cores (mma.sync m16n8k16, f32 accumulators). 64 keys
// per step: 8 key fragments x 5 steps of 16 dims for the scores, 10 value
// fragments x 4 steps of 16 keys for P·V.

// SM80: .target sm_80
// SM90: .target sm_90
// PTX: .entry attention_kernel(
// PTX-COUNT-40: mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32
// PTX: bar.sync 0;
// PTX-COUNT-40: mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32
// PTX-NOT: mma.sync

// The 76 floats of per-thread state are in registers (ptxas spills a few
// bytes at most, not the state).
// PTXAS: {{[0-9]}} bytes stack frame
// PTXAS: used 1 barriers, {{.*}}39936 bytes smem

// SIMT-NOT: mma.sync
func.func @attention(%q: tensor<1x8x333x80xf16>, %k: tensor<1x2x333x80xf16>, %v: tensor<1x2x333x80xf16>) -> tensor<1x8x333x80xf16> {
  %o = mixer.attention %q, %k, %v {mask = #mixer.mask<window, left = 128, right = 0>} : (tensor<1x8x333x80xf16>, tensor<1x2x333x80xf16>, tensor<1x2x333x80xf16>) -> tensor<1x8x333x80xf16>
  return %o : tensor<1x8x333x80xf16>
}
