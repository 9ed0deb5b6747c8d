//===- Pipelines.h - tmix's named pass pipelines ----------------*- C++ -*-===//

#ifndef TMIX_PIPELINES_PIPELINES_H
#define TMIX_PIPELINES_PIPELINES_H

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassOptions.h"

namespace tmix {

/// `tmix-reference-pipeline`: decomposes every mixer op into unfused linalg,
/// bufferizes, lowers to scalar loops and then to the LLVM dialect. Simple
/// and slow; the compiled oracle that faster lowerings are checked against.
/// Functions marked `llvm.emit_c_interface` also get a `_mlir_ciface_`
/// wrapper taking memref descriptors.
///
/// Promises: the output contains only `llvm` dialect ops (and `builtin`).
void buildReferencePipeline(mlir::OpPassManager &pm);

/// Options of `tmix-cpu-pipeline`.
struct CPUPipelineOptions
    : public mlir::PassPipelineOptions<CPUPipelineOptions> {
  Option<int64_t> queryTile{*this, "query-tile",
                            llvm::cl::desc("Query rows per attention tile"),
                            llvm::cl::init(64)};
  Option<int64_t> keyTile{*this, "key-tile",
                          llvm::cl::desc("Keys per step of the key loop"),
                          llvm::cl::init(128)};
  Option<int64_t> edgeTile{
      *this, "edge-tile",
      llvm::cl::desc("Rows and keys per padded piece of an attention "
                     "tile's dynamic edges"),
      llvm::cl::init(16)};
  Option<bool> skipMaskedTiles{
      *this, "skip-masked-tiles",
      llvm::cl::desc("Bound key loops by the mask; no mask math in blocks "
                     "the mask keeps entirely"),
      llvm::cl::init(true)};
  Option<bool> vectorize{
      *this, "vectorize",
      llvm::cl::desc("Register-tile and vectorize the attention contractions "
                     "(mixer-vectorize-attention)"),
      llvm::cl::init(true)};
  Option<int64_t> registerRows{
      *this, "register-rows",
      llvm::cl::desc("Rows of a register tile of the layers' Linears"),
      llvm::cl::init(4)};
  Option<int64_t> attentionRegisterRows{
      *this, "attention-register-rows",
      llvm::cl::desc("Rows of a register tile of the attention "
                     "contractions (keys of q·kᵀ, query rows of p·v)"),
      llvm::cl::init(6)};
  Option<int64_t> registerCols{
      *this, "register-cols",
      llvm::cl::desc("Columns of a register tile (multiple of the vector "
                     "width)"),
      llvm::cl::init(16)};
  Option<bool> parallel{
      *this, "parallel",
      llvm::cl::desc("Run tile loops on all cores (OpenMP; the code then "
                     "needs LLVM's libomp)"),
      llvm::cl::init(true)};
  Option<bool> fuseLayers{
      *this, "fuse-layers",
      llvm::cl::desc("Give the elementwise epilogues of the layers' Linear "
                     "contractions (activations, scaled residuals) the "
                     "contraction's thread tiles"),
      llvm::cl::init(true)};
};

/// `tmix-cpu-pipeline`: tiles attention into flash-style loops
/// (mixer-tile-attention), decomposes the tiles into linalg, bufferizes,
/// runs the tile loops in parallel, and lowers to the LLVM dialect.
///
/// Promises: the output contains only `llvm` (and, with `parallel`, no
/// `omp`: it is translated) dialect ops; no L×S buffer is allocated for
/// attention.
void buildCPUPipeline(mlir::OpPassManager &pm,
                      const CPUPipelineOptions &options);

/// Registers tmix's pipelines with the pass registry.
void registerPipelines();

//===----------------------------------------------------------------------===//
// GPU (lib/Pipelines/GpuPipeline.cpp, docs/gpu.md)
//===----------------------------------------------------------------------===//

/// NVIDIA architectures tmix-gpu-pipeline compiles for.
enum class GpuChip { sm_80, sm_90 };
/// What gpu-module-to-binary embeds: PTX, a cubin, or a fatbin of both.
enum class GpuBinaryFormat { isa, bin, fatbin };

/// Options of `tmix-gpu-pipeline` (and of the mapping stage that
/// `tmix-gpu-emulation-pipeline` runs on the CPU).
struct GPUPipelineOptions
    : public mlir::PassPipelineOptions<GPUPipelineOptions> {
  Option<GpuChip> chip{
      *this, "chip", llvm::cl::desc("Target architecture"),
      llvm::cl::init(GpuChip::sm_80),
      llvm::cl::values(
          clEnumValN(GpuChip::sm_80, "sm_80", "Ampere (mma.sync)"),
          clEnumValN(GpuChip::sm_90, "sm_90",
                     "Hopper (the sm_80 mma.sync code; wgmma/TMA later)"))};
  Option<int64_t> queryTile{
      *this, "query-tile",
      llvm::cl::desc("Query rows per head in a thread block (0: automatic)"),
      llvm::cl::init(0)};
  Option<int64_t> keyTile{
      *this, "key-tile",
      llvm::cl::desc("Keys per step of the key loop, a multiple of 16 (0: "
                     "automatic)"),
      llvm::cl::init(0)};
  Option<bool> skipMaskedTiles{
      *this, "skip-masked-tiles",
      llvm::cl::desc("Bound key loops by the mask; no mask math in blocks "
                     "the mask keeps entirely"),
      llvm::cl::init(true)};
  Option<bool> tensorCores{
      *this, "tensor-cores",
      llvm::cl::desc("Run the f16/bf16 products on tensor cores "
                     "(nvgpu.mma.sync)"),
      llvm::cl::init(true)};
  Option<GpuBinaryFormat> format{
      *this, "format", llvm::cl::desc("What gpu.binary holds"),
      llvm::cl::init(GpuBinaryFormat::fatbin),
      llvm::cl::values(
          clEnumValN(GpuBinaryFormat::isa, "isa", "PTX assembly"),
          clEnumValN(GpuBinaryFormat::bin, "bin", "a cubin (runs ptxas)"),
          clEnumValN(GpuBinaryFormat::fatbin, "fatbin",
                     "a fatbin with cubin and PTX (runs ptxas, fatbinary)"))};
  Option<std::string> toolkit{
      *this, "toolkit",
      llvm::cl::desc("CUDA toolkit (ptxas, fatbinary, nvvm/libdevice); "
                     "default: the one found when tmix was configured"),
      llvm::cl::init(defaultCudaToolkit())};

  /// The toolkit found at configure time ("" when none).
  static std::string defaultCudaToolkit();
};

/// The GPU mapping stage shared by both GPU pipelines: mixer.attention →
/// block/thread loop nest (mixer-map-attention-to-gpu), bufferized.
void buildGpuMappingPipeline(mlir::OpPassManager &pm,
                             const GPUPipelineOptions &options);

/// `tmix-gpu-pipeline`: the mapping stage, tensor cores for f16/bf16
/// (mixer-gpu-tensor-cores), gpu.launch with shared/private memory
/// (mixer-gpu-launch), kernel outlining, NVVM, nvvm-attach-target (chip,
/// +ptx80, O=3), host code calling gpu.launch_func (gpu-to-llvm) and
/// gpu-module-to-binary with the toolkit passed explicitly.
///
/// Promises: the output holds `gpu.binary` ops (with PTX for format=isa)
/// and host functions in the `llvm` dialect that launch them; no
/// `mixer`, `scf.forall` or `gpu.launch` op remains.
void buildGpuPipeline(mlir::OpPassManager &pm,
                      const GPUPipelineOptions &options);

/// `tmix-gpu-emulation-pipeline`: the mapping stage, then every block and
/// thread loop as a plain loop and the whole program for the host CPU (the
/// `llvm` dialect, like tmix-reference-pipeline). Runs the GPU kernel's
/// algorithm — same tiles, same fragment layout, same phases — where no GPU
/// exists; only the tensor-core and launch rewrites are left out.
void buildGpuEmulationPipeline(mlir::OpPassManager &pm,
                               const GPUPipelineOptions &options);

/// Registers tmix-gpu-pipeline and tmix-gpu-emulation-pipeline.
void registerGpuPipelines();

} // namespace tmix

#endif // TMIX_PIPELINES_PIPELINES_H
