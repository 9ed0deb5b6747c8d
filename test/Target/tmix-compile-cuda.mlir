// tmix-compile --target=cuda and --target=cpu,cuda: the kernels are embedded
// in the artifact, the ABI metadata marks the functions as CUDA functions,
// and their host code launches the kernels through libtmixrt's mgpu*
// functions. Without a GPU the host code runs against the fake driver of
// test/Runtime/FakeCudaDriver.c, which logs each launch's geometry.
// REQUIRES: ptxas
// RUN: rm -rf %t && mkdir -p %t

// A CUDA-only artifact with PTX (which the fake driver can read).
// RUN: tmix-compile %s -o %t/cuda.so --target=cuda --gpu-format=isa --emit-header %t/cuda.h
// RUN: tmix-run %t/cuda.so --list | FileCheck %s --check-prefix=LIST
// RUN: FileCheck %s --check-prefix=HEADER < %t/cuda.h
// LIST: cuda.so: 2 function(s), produced by tmix-compile
// LIST-NOT: multithreaded
// LIST-NEXT: causal(arg0: [?, 8, ?, 64] f16, arg1: [?, 2, ?, 64] f16, arg2: [?, 2, ?, 64] f16) -> (result0: [?, 8, ?, 64] f16) [cuda]
// LIST: full_lse(arg0: [2, 4, ?, 80] f32, arg1: [2, 4, ?, 80] f32, arg2: [2, 4, ?, 80] f32) -> (result0: [2, 4, ?, 80] f32, result1: [2, 4, ?] f32) [cuda]
// HEADER: The functions run on
// HEADER-NEXT: CUDA.
// HEADER: #define TMIX_FN_CAUSAL "causal"

// A CPU call of a CUDA function, and a CUDA call without a driver, fail with
// a message.
// RUN: not tmix-run %t/cuda.so --function=causal --random-inputs --shape=0=1x8x5x64 --shape=1=1x2x5x64 --shape=2=1x2x5x64 2>&1 | FileCheck %s --check-prefix=ONCPU
// ONCPU: error: 'causal' runs on CUDA; pass --device=cuda
// RUN: env TMIXRT_CUDA_DRIVER=%t/no-driver.so not tmix-run %t/cuda.so --function=causal --device=cuda --random-inputs --shape=0=1x8x5x64 --shape=1=1x2x5x64 --shape=2=1x2x5x64 2>&1 | FileCheck %s --check-prefix=NODRIVER
// NODRIVER: error: --device=cuda: tmixrt_cuda_init: CUDA driver not found ({{.*}}no-driver.so

// The host code launches one kernel per call: grid (query tiles, kv heads,
// batch), G x query-tile x 2 threads. causal: G = 4, 16 rows per head, so
// L = 100 gives 7 tiles; full_lse (f32): G = 1, 32 rows, L = 33 gives 2.
// The kernel arguments are the memref descriptors of the buffers (pointers
// into live device allocations, offset, sizes, strides) and, for causal
// with L != S, the mask's diagonal offset S - L.
// RUN: env TMIXRT_CUDA_DRIVER=%fake-cuda-driver FAKE_CUDA_LAUNCH_LOG=%t/launches tmix-run %t/cuda.so --function=causal --device=cuda --random-inputs --shape=0=3x8x100x64 --shape=1=3x2x77x64 --shape=2=3x2x77x64 | FileCheck %s --check-prefix=RUN-CAUSAL
// RUN: env TMIXRT_CUDA_DRIVER=%fake-cuda-driver FAKE_CUDA_LAUNCH_LOG=%t/launches tmix-run %t/cuda.so --function=full_lse --device=cuda --random-inputs --shape=0=2x4x33x80 --shape=1=2x4x50x80 --shape=2=2x4x50x80 | FileCheck %s --check-prefix=RUN-LSE
// RUN: FileCheck %s --check-prefix=LAUNCH < %t/launches
// RUN-CAUSAL: device: cuda:0: Fake CUDA Device 0
// RUN-CAUSAL: result 0 'result0': [3, 8, 100, 64] f16
// RUN-LSE: result 0 'result0': [2, 4, 33, 80] f32
// RUN-LSE: result 1 'result1': [2, 4, 33] f32
// LAUNCH: launch __tmix_cuda_causal_kernel grid 7 2 3 block 128 1 1 shared 0 params
// LAUNCH-SAME: dev dev 0 3 8 100 64 51200 6400 64 1
// LAUNCH-SAME: dev dev 0 3 2 77 64 9856 4928 64 1
// LAUNCH-SAME: dev dev 0 3 8 100 64 51200 6400 64 1
// LAUNCH-SAME: -23
// LAUNCH-SAME: dev dev 0 3 2 77 64 9856 4928 64 1{{$}}
// LAUNCH-NEXT: launch __tmix_cuda_full_lse_kernel grid 2 4 2 block 64 1 1 shared 0 params
// LAUNCH-SAME: dev dev 0 2 4 33 80 10560 2640 80 1
// LAUNCH-SAME: dev dev 0 2 4 50 80 16000 4000 80 1
// LAUNCH-SAME: dev dev 0 2 4 33 80 10560 2640 80 1
// LAUNCH-SAME: dev dev 0 2 4 33 132 33 1
// LAUNCH-SAME: dev dev 0 2 4 50 80 16000 4000 80 1{{$}}
// LAUNCH-NOT: launch

// A CPU+CUDA artifact: each function once per device under one name;
// --device picks the variant.
// RUN: tmix-compile %s -o %t/both.so --target=cpu,cuda --gpu-format=isa
// RUN: tmix-run %t/both.so --list | FileCheck %s --check-prefix=BOTH
// BOTH: both.so: 4 function(s), produced by tmix-compile {{.*}}, multithreaded
// BOTH-NEXT: causal({{.*}}) [cpu]
// BOTH: full_lse({{.*}}) [cpu]
// BOTH: causal({{.*}}) [cuda]
// BOTH: full_lse({{.*}}) [cuda]
// RUN: tmix-run %t/both.so --function=causal --random-inputs --shape=0=1x8x9x64 --shape=1=1x2x9x64 --shape=2=1x2x9x64 | FileCheck %s --check-prefix=BOTH-CPU
// BOTH-CPU-NOT: device:
// BOTH-CPU: result 0 'result0': [1, 8, 9, 64] f16
// BOTH-CPU-NEXT: min -{{[0-9.]+}}  max {{[0-9.]+}}
// RUN: env TMIXRT_CUDA_DRIVER=%fake-cuda-driver FAKE_CUDA_LAUNCH_LOG=%t/launches-both tmix-run %t/both.so --function=causal --device=cuda --random-inputs --shape=0=1x8x9x64 --shape=1=1x2x9x64 --shape=2=1x2x9x64
// RUN: FileCheck %s --check-prefix=BOTH-LAUNCH < %t/launches-both
// BOTH-LAUNCH: launch __tmix_cuda_causal_kernel grid 1 2 1 block 128 1 1 shared 0 params dev dev 0 1 8 9 64
// BOTH-LAUNCH-NOT: bad

// The default embeds a fatbin (cubin + PTX), which goes to cuModuleLoadData
// (the fake driver reads only PTX and refuses it).
// RUN: tmix-compile %s -o %t/fatbin.so --target=cuda --gpu-chip=sm_90
// RUN: env TMIXRT_CUDA_DRIVER=%fake-cuda-driver not tmix-run %t/fatbin.so --function=causal --device=cuda --random-inputs --shape=0=1x8x9x64 --shape=1=1x2x9x64 --shape=2=1x2x9x64 2>&1 | FileCheck %s --check-prefix=FATBIN
// FATBIN: error: 'causal' failed on cuda:0: mgpuModuleGetFunction('__tmix_cuda_causal_kernel'): cannot load the GPU module on cuda:0: cuModuleLoadData: CUDA_ERROR_INVALID_IMAGE

// The other layer ops run as kernels of their own (mixer-map-layers-to-gpu):
// a layer norm is a few of them, on device temporaries.
// RUN: tmix-compile %S/Inputs/layer-norm.mlir -o %t/norm.so --target=cuda --gpu-format=isa
// RUN: env TMIXRT_CUDA_DRIVER=%fake-cuda-driver FAKE_CUDA_LAUNCH_LOG=%t/launches-norm tmix-run %t/norm.so --device=cuda --random-inputs
// RUN: FileCheck %s --check-prefix=NORM < %t/launches-norm
// NORM: launch __tmix_cuda_norm_kernel grid {{.+}} params dev dev 0
// NORM: launch __tmix_cuda_norm_kernel grid {{.+}} params dev dev 0
// NORM-NOT: bad

// A missing runtime library is an error, and nothing is written.
// RUN: not tmix-compile %s -o %t/noruntime.so --target=cuda --runtime-dir=%t/nowhere 2>&1 | FileCheck %s --check-prefix=NORUNTIME
// NORUNTIME: error: tmix-compile: CUDA artifacts link against libtmixrt (its mgpu* functions load and launch the kernels), but {{.*}}nowhere/libtmixrt.so does not exist
// RUN: not ls %t/noruntime.so

func.func @causal(%q: tensor<?x8x?x64xf16>, %k: tensor<?x2x?x64xf16>, %v: tensor<?x2x?x64xf16>) -> tensor<?x8x?x64xf16> {
  %o = mixer.attention %q, %k, %v {mask = #mixer.mask<causal>} : (tensor<?x8x?x64xf16>, tensor<?x2x?x64xf16>, tensor<?x2x?x64xf16>) -> tensor<?x8x?x64xf16>
  return %o : tensor<?x8x?x64xf16>
}

func.func @full_lse(%q: tensor<2x4x?x80xf32>, %k: tensor<2x4x?x80xf32>, %v: tensor<2x4x?x80xf32>) -> (tensor<2x4x?x80xf32>, tensor<2x4x?xf32>) {
  %o, %l = mixer.attention %q, %k, %v : (tensor<2x4x?x80xf32>, tensor<2x4x?x80xf32>, tensor<2x4x?x80xf32>) -> (tensor<2x4x?x80xf32>, tensor<2x4x?xf32>)
  return %o, %l : tensor<2x4x?x80xf32>, tensor<2x4x?xf32>
}
