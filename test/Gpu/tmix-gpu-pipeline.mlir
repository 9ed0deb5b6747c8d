// REQUIRES: ptxas
// RUN: tmix-opt %s --tmix-gpu-pipeline="format=isa" | FileCheck %s
// RUN: tmix-opt %s --tmix-gpu-pipeline="chip=sm_90 format=bin" | FileCheck %s --check-prefix=BIN
// RUN: tmix-opt %s --tmix-gpu-pipeline | FileCheck %s --check-prefix=FATBIN
// RUN: not tmix-opt %s --tmix-gpu-pipeline="format=bin toolkit=%t.missing" 2>&1 | FileCheck %s --check-prefix=TOOLKIT
// RUN: not tmix-opt %s --tmix-gpu-pipeline="chip=sm_70" 2>&1 | FileCheck %s --check-prefix=CHIP

// The pipeline's promise: a gpu.binary per kernel and host code in the
// LLVM dialect that launches it (one block per batch x kv head x query
// tile, 128 threads); nothing of the loop nest or the mixer dialect is
// left. The result the host allocates is device (managed) memory.

// CHECK-LABEL: llvm.func @attention
// CHECK-DAG: %[[T:.+]] = llvm.mlir.constant(128 : index) : i64
// CHECK-DAG: llvm.call @mgpuMemAlloc
// CHECK-NOT: mixer.
// CHECK-NOT: scf.
// CHECK: gpu.launch_func @attention_kernel::@attention_kernel blocks in (%{{.+}}, %{{.+}}, %{{.+}}) threads in (%[[T]], %{{.+}}, %{{.+}}) : i64 args(
// CHECK: gpu.binary @attention_kernel [#gpu.object<#nvvm.target<O = 3, chip = "sm_80", features = "+ptx80">, {{.*}}assembly = "{{.*}}.target sm_80
// CHECK-NOT: gpu.launch blocks

// BIN: gpu.binary @attention_kernel [#gpu.object<#nvvm.target<O = 3, chip = "sm_90", features = "+ptx80">, {{.*}}bin = "\7FELF

// A fatbin (cubin + PTX) by default.
// FATBIN: gpu.binary @attention_kernel [#gpu.object<#nvvm.target<O = 3, chip = "sm_80", features = "+ptx80">, properties = {{{.+}}}, "P\EDU\BA

// The toolkit option reaches gpu-module-to-binary.
// TOOLKIT: error: CUDA path: {{.+}}.missing does not exist or is not a directory

// CHIP: for the --chip option: Cannot find option named 'sm_70'!
func.func @attention(%q: tensor<2x8x?x64xf32>, %k: tensor<2x2x?x64xf32>, %v: tensor<2x2x?x64xf32>) -> tensor<2x8x?x64xf32> {
  %o = mixer.attention %q, %k, %v {mask = #mixer.mask<causal>} : (tensor<2x8x?x64xf32>, tensor<2x2x?x64xf32>, tensor<2x2x?x64xf32>) -> tensor<2x8x?x64xf32>
  return %o : tensor<2x8x?x64xf32>
}
