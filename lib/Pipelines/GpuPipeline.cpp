//===- GpuPipeline.cpp - tmix's GPU pass pipelines ------------------------===//
//
// tmix-gpu-pipeline (mixer.attention -> gpu.binary + host launch code) and
// tmix-gpu-emulation-pipeline (the same mapped kernel run as loops on the
// CPU). See docs/gpu.md.
//
//===----------------------------------------------------------------------===//

#include "tmix/Config.h"
#include "tmix/Pipelines/Pipelines.h"

#include "Mixer/Transforms/Passes.h"
#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Arith/Transforms/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Dialect/LLVMIR/Transforms/OptimizeForNVVM.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Dialect/SCF/Transforms/Passes.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

std::string tmix::GPUPipelineOptions::defaultCudaToolkit() {
  return TMIX_CUDA_TOOLKIT_DIR;
}

void tmix::buildGpuMappingPipeline(OpPassManager &pm,
                                   const GPUPipelineOptions &options) {
  // The layer ops (MetaFormer blocks) as linalg on tensors; a self_attention
  // leaves a mixer.attention, which is mapped next.
  pm.addPass(mixer::createDecomposeLayersPass());
  pm.addPass(createCanonicalizerPass());
  mixer::MapAttentionToGpuPassOptions map;
  map.queryTile = options.queryTile;
  map.keyTile = options.keyTile;
  map.skipMaskedTiles = options.skipMaskedTiles;
  pm.addPass(mixer::createMapAttentionToGpuPass(map));
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  // The block loop's destinations become the caller's buffers (or new ones);
  // the kernel nest already works on buffers.
  pm.addPass(bufferization::createEmptyTensorEliminationPass());
  bufferization::OneShotBufferizePassOptions bufferize;
  bufferize.bufferizeFunctionBoundaries = true;
  bufferize.functionBoundaryTypeConversion =
      bufferization::LayoutMapOption::IdentityLayoutMap;
  pm.addPass(bufferization::createOneShotBufferizePass(bufferize));
  // A block writes its rows of the results in place: the copy back from its
  // slice into the same slice folds away once the two subviews are merged.
  pm.addPass(createCSEPass());
  pm.addPass(createCanonicalizerPass());
}

void tmix::buildGpuPipeline(OpPassManager &pm,
                            const GPUPipelineOptions &options) {
  buildGpuMappingPipeline(pm, options);
  // The layer ops become kernels of their own (their temporaries are freed
  // by mixer-gpu-launch).
  pm.addNestedPass<func::FuncOp>(mixer::createMapLayersToGpuPass());
  pm.addPass(createConvertParallelLoopToGpuPass());
  pm.addPass(createCanonicalizerPass());
  if (options.tensorCores)
    pm.addPass(mixer::createGpuTensorCoresPass());
  // The products left to the scalar definition (f32) are inlined.
  pm.addPass(createInlinerPass());
  pm.addPass(createSymbolDCEPass());
  pm.addPass(mixer::createGpuLaunchPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());

  // Upstream from here (the order of gpu-lower-to-nvvm-pipeline, with the
  // target options spelled out).
  // Constants (hoisted out of the launch by the canonicalizer) go back in,
  // so that the private state's indices stay constant in the kernel and
  // LLVM keeps that state in registers.
  pm.addPass(createGpuLaunchSinkIndexComputationsPass());
  pm.addPass(createGpuKernelOutliningPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  GpuNVVMAttachTargetOptions target;
  target.chip = options.chip == GpuChip::sm_90 ? "sm_90" : "sm_80";
  // PTX ISA 8.0 covers sm_80 and sm_90 (the upstream default, +ptx60, does
  // not know sm_90).
  target.features = "+ptx80";
  target.optLevel = 3;
  pm.addPass(createGpuNVVMAttachTarget(target));

  OpPassManager &dev = pm.nest<gpu::GPUModuleOp>();
  dev.addPass(mixer::createGpuLowerBf16MmaPass());
  dev.addPass(createConvertNVGPUToNVVMPass());
  dev.addPass(createSCFToControlFlowPass());
  dev.addPass(createConvertGpuOpsToNVVMOps());
  dev.addPass(LLVM::createNVVMOptimizeForTargetPass());
  dev.addPass(createCanonicalizerPass());
  dev.addPass(createCSEPass());
  dev.addPass(createReconcileUnrealizedCastsPass());

  pm.addPass(createSCFToControlFlowPass());
  pm.addPass(createConvertFuncToLLVMPass());
  pm.addPass(createGpuToLLVMConversionPass());
  GpuModuleToBinaryPassOptions binary;
  binary.toolkitPath = options.toolkit;
  switch (options.format) {
  case GpuBinaryFormat::isa:
    binary.compilationTarget = "isa";
    break;
  case GpuBinaryFormat::bin:
    binary.compilationTarget = "bin";
    break;
  case GpuBinaryFormat::fatbin:
    binary.compilationTarget = "fatbin";
    break;
  }
  pm.addPass(createGpuModuleToBinaryPass(binary));
  pm.addPass(createReconcileUnrealizedCastsPass());
  pm.addPass(createCanonicalizerPass());
}

void tmix::buildGpuEmulationPipeline(OpPassManager &pm,
                                     const GPUPipelineOptions &options) {
  buildGpuMappingPipeline(pm, options);
  // Blocks and threads become sequential loops: each thread loop is a phase
  // that ends before the next begins, as a block barrier makes it on the
  // GPU.
  pm.addNestedPass<func::FuncOp>(createForallToForLoopPass());
  arith::ArithExpandOpsPassOptions expand;
  expand.includeBf16 = true;
  pm.addPass(arith::createArithExpandOpsPass(expand));
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createFinalizeMemRefToLLVMConversionPass());
  pm.addPass(createSCFToControlFlowPass());
  pm.addPass(createConvertVectorToLLVMPass());
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createConvertIndexToLLVMPass());
  pm.addPass(createConvertControlFlowToLLVMPass());
  pm.addPass(createConvertFuncToLLVMPass());
  pm.addPass(createUBToLLVMConversionPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
  pm.addPass(createCanonicalizerPass());
}

void tmix::registerGpuPipelines() {
  PassPipelineRegistration<GPUPipelineOptions>(
      "tmix-gpu-pipeline",
      "Map attention to GPU blocks and threads (shared-memory K/V tiles, "
      "tensor cores for f16/bf16), outline kernels, lower to NVVM and "
      "serialize them with gpu-module-to-binary; host code launches them",
      buildGpuPipeline);
  PassPipelineRegistration<GPUPipelineOptions>(
      "tmix-gpu-emulation-pipeline",
      "Map attention to GPU blocks and threads, then run the mapped loop "
      "nest as plain loops on the host CPU (the GPU kernel's algorithm, "
      "testable without a GPU)",
      buildGpuEmulationPipeline);
}
