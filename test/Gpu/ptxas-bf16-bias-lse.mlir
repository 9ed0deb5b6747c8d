// REQUIRES: ptxas
// RUN: tmix-opt %s --tmix-gpu-pipeline="format=isa" | %extract-gpu-asm > %t.sm80.ptx
// RUN: FileCheck %s --check-prefixes=PTX,SM80 < %t.sm80.ptx
// RUN: %ptxas -arch=sm_80 -v %t.sm80.ptx -o %t.sm80.cubin 2>&1 | FileCheck %s --check-prefix=PTXAS
// RUN: tmix-opt %s --tmix-gpu-pipeline="chip=sm_90 format=isa" | %extract-gpu-asm > %t.sm90.ptx
// RUN: FileCheck %s --check-prefixes=PTX,SM90 < %t.sm90.ptx
// RUN: %ptxas -arch=sm_90 -v %t.sm90.ptx -o %t.sm90.cubin 2>&1 | FileCheck %s --check-prefix=PTXAS

// bf16, causal, MHA, D = 64, with an f32 bias and lse (dynamic B, L, S):
// bf16 mma.sync through tmix's bf16 lowering to nvvm.mma.sync; exp and
// log come from libdevice, linked from the toolkit (no __nv_ call is left).

// SM80: .target sm_80
// SM90: .target sm_90
// PTX: .entry attention_kernel(
// PTX-COUNT-32: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
// PTX: bar.sync 0;
// PTX-COUNT-32: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
// PTX-NOT: __nv_

// PTXAS: 0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
// PTXAS: used 1 barriers
func.func @attention(%q: tensor<?x4x?x64xbf16>, %k: tensor<?x4x?x64xbf16>, %v: tensor<?x4x?x64xbf16>, %b: tensor<?x4x?x?xf32>) -> (tensor<?x4x?x64xbf16>, tensor<?x4x?xf32>) {
  %o, %lse = mixer.attention %q, %k, %v, %b {mask = #mixer.mask<causal>} : (tensor<?x4x?x64xbf16>, tensor<?x4x?x64xbf16>, tensor<?x4x?x64xbf16>, tensor<?x4x?x?xf32>) -> (tensor<?x4x?x64xbf16>, tensor<?x4x?xf32>)
  return %o, %lse : tensor<?x4x?x64xbf16>, tensor<?x4x?xf32>
}
