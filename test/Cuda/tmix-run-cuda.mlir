// The CPU+CUDA artifact on a real GPU: the same seeded inputs through the
// CPU and the CUDA variant of each function agree (f32 within 1e-4, f16
// within 2e-3, bf16, whose results tmix-run writes as f32, within 1.5e-2),
// and --benchmark times CUDA calls. Needs a CUDA device; unsupported
// otherwise. (AotAttentionCuda in test/Unit runs the whole attention matrix
// against the double-precision reference.)
// REQUIRES: cuda-device, ptxas
// RUN: rm -rf %t && mkdir -p %t
// RUN: tmix-compile %s -o %t/both.so --target=cpu,cuda --gpu-chip=%cuda-chip

// RUN: tmix-run %t/both.so --function=causal_f16 --random-inputs --seed=3 --shape=0=2x8x333x64 --shape=1=2x2x333x64 --shape=2=2x2x333x64 --output=%t/causal-cpu.npy
// RUN: tmix-run %t/both.so --function=causal_f16 --device=cuda --random-inputs --seed=3 --shape=0=2x8x333x64 --shape=1=2x2x333x64 --shape=2=2x2x333x64 --output=%t/causal-cuda.npy --benchmark=5 | FileCheck %s --check-prefix=BENCH
// RUN: %python %S/compare-npy.py %t/causal-cpu.npy %t/causal-cuda.npy --tol=2e-3
// BENCH: device: cuda:0:
// BENCH: result 0 'result0': [2, 8, 333, 64] f16
// BENCH: median {{[0-9.]+}} ms

// RUN: tmix-run %t/both.so --function=window_f32 --random-inputs --seed=4 --shape=0=1x4x1000x80 --shape=1=1x4x777x80 --shape=2=1x4x777x80 --output=%t/window-cpu.npy --output=%t/window-lse-cpu.npy
// RUN: tmix-run %t/both.so --function=window_f32 --device=cuda --random-inputs --seed=4 --shape=0=1x4x1000x80 --shape=1=1x4x777x80 --shape=2=1x4x777x80 --output=%t/window-cuda.npy --output=%t/window-lse-cuda.npy
// RUN: %python %S/compare-npy.py %t/window-cpu.npy %t/window-cuda.npy --tol=1e-4
// RUN: %python %S/compare-npy.py %t/window-lse-cpu.npy %t/window-lse-cuda.npy --tol=1e-4

// RUN: tmix-run %t/both.so --function=full_bf16 --random-inputs --seed=5 --shape=0=1x8x129x128 --shape=1=1x8x257x128 --shape=2=1x8x257x128 --output=%t/full-cpu.npy
// RUN: tmix-run %t/both.so --function=full_bf16 --device=cuda --random-inputs --seed=5 --shape=0=1x8x129x128 --shape=1=1x8x257x128 --shape=2=1x8x257x128 --output=%t/full-cuda.npy
// RUN: %python %S/compare-npy.py %t/full-cpu.npy %t/full-cuda.npy --tol=1.5e-2

func.func @causal_f16(%q: tensor<?x8x?x64xf16>, %k: tensor<?x2x?x64xf16>, %v: tensor<?x2x?x64xf16>) -> tensor<?x8x?x64xf16> {
  %o = mixer.attention %q, %k, %v {mask = #mixer.mask<causal>} : (tensor<?x8x?x64xf16>, tensor<?x2x?x64xf16>, tensor<?x2x?x64xf16>) -> tensor<?x8x?x64xf16>
  return %o : tensor<?x8x?x64xf16>
}

func.func @window_f32(%q: tensor<1x4x?x80xf32>, %k: tensor<1x4x?x80xf32>, %v: tensor<1x4x?x80xf32>) -> (tensor<1x4x?x80xf32>, tensor<1x4x?xf32>) {
  %o, %l = mixer.attention %q, %k, %v {mask = #mixer.mask<window, left = 100, right = 7>} : (tensor<1x4x?x80xf32>, tensor<1x4x?x80xf32>, tensor<1x4x?x80xf32>) -> (tensor<1x4x?x80xf32>, tensor<1x4x?xf32>)
  return %o, %l : tensor<1x4x?x80xf32>, tensor<1x4x?xf32>
}

func.func @full_bf16(%q: tensor<1x8x?x128xbf16>, %k: tensor<1x8x?x128xbf16>, %v: tensor<1x8x?x128xbf16>) -> tensor<1x8x?x128xbf16> {
  %o = mixer.attention %q, %k, %v : (tensor<1x8x?x128xbf16>, tensor<1x8x?x128xbf16>, tensor<1x8x?x128xbf16>) -> tensor<1x8x?x128xbf16>
  return %o : tensor<1x8x?x128xbf16>
}
