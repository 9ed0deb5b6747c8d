// RUN: tmix-opt %s --mixer-map-attention-to-gpu -split-input-file -verify-diagnostics
// RUN: not tmix-opt %s --mixer-map-attention-to-gpu="query-tile=6" -split-input-file 2>&1 | FileCheck %s --check-prefix=QTILE
// RUN: not tmix-opt %s --mixer-map-attention-to-gpu="key-tile=24" -split-input-file 2>&1 | FileCheck %s --check-prefix=KTILE
// RUN: not tmix-opt %s --mixer-map-attention-to-gpu="query-tile=-1" -split-input-file 2>&1 | FileCheck %s --check-prefix=NEG
// RUN: not tmix-opt %s --tmix-gpu-pipeline -split-input-file 2>&1 | FileCheck %s --check-prefix=PIPE

// Every refusal of the GPU mapping is a diagnostic on the op.

// Options the schedule cannot use:
// QTILE: error: 'mixer.attention' op mixer-map-attention-to-gpu: a block holds G x query-tile = 1 x 6 query rows, which must be a multiple of 16 (the rows of a warp)
// KTILE: error: 'mixer.attention' op mixer-map-attention-to-gpu: key-tile must be a positive multiple of 16, got 24
// NEG: error: mixer-map-attention-to-gpu: query-tile and key-tile must be >= 0 (0 = automatic), got -1 and 0

// The pipeline stops at the first of them, with the same diagnostics.
// PIPE: error: 'mixer.attention' op mixer-map-attention-to-gpu: the value head dim Dv = 12 must be a multiple of 8
// PIPE: error: 'mixer.attention' op mixer-map-attention-to-gpu: a block of 16 query rows x 32 keys (D = 256, Dv = 256) needs 84224 bytes of shared memory
// PIPE: error: 'mixer.attention' op mixer-map-attention-to-gpu: a block of 1024 query rows (G = 1024 heads x 1) needs 2048 threads
// PIPE: error: 'mixer.online_attention' op mixer-map-attention-to-gpu: only mixer.attention has a GPU lowering

// The accumulator fragments hold 8 value columns each.
func.func @dv_not_multiple_of_8(%q: tensor<1x2x16x16xf32>, %k: tensor<1x2x16x16xf32>, %v: tensor<1x2x16x12xf32>) -> tensor<1x2x16x12xf32> {
  // expected-error @below {{mixer-map-attention-to-gpu: the value head dim Dv = 12 must be a multiple of 8 (the columns of an accumulator fragment)}}
  %o = mixer.attention %q, %k, %v : (tensor<1x2x16x16xf32>, tensor<1x2x16x16xf32>, tensor<1x2x16x12xf32>) -> tensor<1x2x16x12xf32>
  return %o : tensor<1x2x16x12xf32>
}

// -----

// K, V, Q and P tiles of a 256-wide f32 head do not fit in 48 KiB of shared
// memory even with 16 rows per block.
func.func @shared_memory(%q: tensor<1x1x16x256xf32>, %k: tensor<1x1x16x256xf32>, %v: tensor<1x1x16x256xf32>) -> tensor<1x1x16x256xf32> {
  // expected-error @below {{mixer-map-attention-to-gpu: a block of 16 query rows x 32 keys (D = 256, Dv = 256) needs 84224 bytes of shared memory, more than 49152; use a smaller key-tile}}
  %o = mixer.attention %q, %k, %v : (tensor<1x1x16x256xf32>, tensor<1x1x16x256xf32>, tensor<1x1x16x256xf32>) -> tensor<1x1x16x256xf32>
  return %o : tensor<1x1x16x256xf32>
}

// -----

// 1024 query heads per kv head: even one row per head makes 1024 rows, 2048
// threads.
func.func @too_many_threads(%q: tensor<1x1024x4x16xf16>, %k: tensor<1x1x4x16xf16>, %v: tensor<1x1x4x16xf16>) -> tensor<1x1024x4x16xf16> {
  // expected-error @below {{mixer-map-attention-to-gpu: a block of 1024 query rows (G = 1024 heads x 1) needs 2048 threads, more than 1024; use a smaller query-tile}}
  %o = mixer.attention %q, %k, %v : (tensor<1x1024x4x16xf16>, tensor<1x1x4x16xf16>, tensor<1x1x4x16xf16>) -> tensor<1x1024x4x16xf16>
  return %o : tensor<1x1024x4x16xf16>
}

// -----

// The tiled form is a CPU-pipeline intermediate; on the GPU only whole
// attention ops are mapped.
func.func @online(%q: tensor<1x4x64x64xf32>, %k: tensor<1x1x128x64xf32>, %v: tensor<1x1x128x64xf32>, %acc: tensor<1x4x64x64xf32>, %m: tensor<1x4x64xf32>, %s: tensor<1x4x64xf32>, %rp: index, %cp: index) -> tensor<1x4x64x64xf32> {
  // expected-error @below {{mixer-map-attention-to-gpu: only mixer.attention has a GPU lowering}}
  %a, %mm, %l = mixer.online_attention %q, %k, %v at(%rp, %cp) outs(%acc, %m, %s) {mask = #mixer.mask<causal>} : tensor<1x4x64x64xf32>, tensor<1x1x128x64xf32>, tensor<1x1x128x64xf32> -> tensor<1x4x64x64xf32>, tensor<1x4x64xf32>, tensor<1x4x64xf32>
  return %a : tensor<1x4x64x64xf32>
}
