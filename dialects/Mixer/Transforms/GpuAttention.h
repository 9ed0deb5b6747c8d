//===- GpuAttention.h - conventions of the GPU attention passes -*- C++ -*-===//
//
// The attributes through which mixer-map-attention-to-gpu hands its schedule
// to mixer-gpu-tensor-cores and mixer-gpu-launch, and the thread layout they
// share (the fragment layout of PTX's mma.m16n8k16).
//
//===----------------------------------------------------------------------===//

#ifndef MIXER_TRANSFORMS_GPUATTENTION_H
#define MIXER_TRANSFORMS_GPUATTENTION_H

#include "llvm/ADT/StringRef.h"

#include <cstdint>

namespace tmix::mixer::gpu {

/// On a `memref.alloc` in a block loop: where the buffer lives on the GPU.
///  - "workgroup": shared by the threads of a block (shared memory);
///  - "thread_private": dimension 0 is the thread (the induction variable of
///    the thread loops); each thread reads and writes only its own row, so
///    on the GPU the row becomes the thread's private memory (registers).
constexpr llvm::StringLiteral kMemoryAttr = "tmix.gpu.memory";
constexpr llvm::StringLiteral kWorkgroup = "workgroup";
constexpr llvm::StringLiteral kThreadPrivate = "thread_private";

/// On the block loop (`scf.forall` mapped to #gpu.block): the threads of a
/// block, [x, y, z].
constexpr llvm::StringLiteral kBlockDimsAttr = "tmix.gpu.block_dims";

/// On a private function computing one thread's fragment of a warp-level
/// matrix product (see buildFragmentProductFunction); its value is a
/// dictionary {transpose_b = bool}.
constexpr llvm::StringLiteral kFragmentAttr = "tmix.mma_fragment";
constexpr llvm::StringLiteral kTransposeB = "transpose_b";

/// Threads of a warp, and query rows a warp owns (the M of mma.m16n8k16).
constexpr int64_t kWarpSize = 32;
constexpr int64_t kWarpRows = 16;
/// Columns of one accumulator fragment (the N of mma.m16n8k16) and the
/// reduction depth of one tensor-core step (its K).
constexpr int64_t kFragCols = 8;
constexpr int64_t kMmaK = 16;

} // namespace tmix::mixer::gpu

#endif // MIXER_TRANSFORMS_GPUATTENTION_H
