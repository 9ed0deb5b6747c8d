//===- JitHarness.h - compile and run IR in unit tests ----------*- C++ -*-===//

#ifndef TMIX_TEST_UNIT_JITHARNESS_H
#define TMIX_TEST_UNIT_JITHARNESS_H

#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace tmix::test {

/// A context with every dialect tmix registers.
std::unique_ptr<mlir::MLIRContext> makeContext();

/// Lowers `module` with the pipeline `buildPipeline` adds and JIT-compiles
/// it (with LLVM's OpenMP runtime loaded). On failure returns null and sets
/// `error` (including the diagnostics).
std::unique_ptr<mlir::ExecutionEngine>
compileWithPipeline(mlir::ModuleOp module,
                    llvm::function_ref<void(mlir::OpPassManager &)> buildPipeline,
                    std::string &error);

/// The LLVM lowering of a ranked memref: what `_mlir_ciface_` wrappers take
/// a pointer to.
template <int N>
struct MemRefDesc {
  void *allocated;
  void *aligned;
  int64_t offset;
  int64_t sizes[N];
  int64_t strides[N];
};

/// A row-major buffer and its descriptor.
template <typename T, int N>
struct Buffer {
  std::vector<T> data;
  MemRefDesc<N> desc;
  explicit Buffer(const std::array<int64_t, N> &shape) {
    int64_t n = 1;
    for (int64_t d : shape)
      n *= d;
    data.assign(n, T());
    desc.allocated = desc.aligned = data.data();
    desc.offset = 0;
    int64_t stride = 1;
    for (int i = N - 1; i >= 0; --i) {
      desc.sizes[i] = shape[i];
      desc.strides[i] = stride;
      stride *= shape[i];
    }
  }
};

/// f32 <-> f16/bf16 bit patterns (round to nearest even).
uint16_t toHalfBits(float v, bool bf16);
float fromHalfBits(uint16_t bits, bool bf16);

} // namespace tmix::test

#endif // TMIX_TEST_UNIT_JITHARNESS_H
