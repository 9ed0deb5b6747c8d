//===- Internal.h - libtmixrt's private declarations ------------*- C++ -*-===//
//
// The definitions behind the opaque handles of tmixrt.h and the helpers the
// implementation files share. Nothing here is exported.
//
//===----------------------------------------------------------------------===//

#ifndef TMIXRT_SRC_INTERNAL_H
#define TMIXRT_SRC_INTERNAL_H

#include "tmixrt/abi.h"
#include "tmixrt/tmixrt.h"

#include <atomic>
#include <cstdarg>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

static_assert(TMIXRT_MAX_RANK == TMIX_ABI_MAX_RANK,
              "the runtime's maximum rank is the ABI's");
static_assert(static_cast<int>(TMIXRT_F32) == TMIX_ABI_F32 &&
                  static_cast<int>(TMIXRT_F16) == TMIX_ABI_F16 &&
                  static_cast<int>(TMIXRT_BF16) == TMIX_ABI_BF16 &&
                  static_cast<int>(TMIXRT_I32) == TMIX_ABI_I32 &&
                  static_cast<int>(TMIXRT_I64) == TMIX_ABI_I64,
              "tmixrt_dtype mirrors tmix_abi_dtype");
static_assert(static_cast<int>(TMIXRT_DEVICE_CPU) == TMIX_ABI_DEVICE_CPU &&
                  static_cast<int>(TMIXRT_DEVICE_CUDA) == TMIX_ABI_DEVICE_CUDA,
              "tmixrt_device mirrors tmix_abi_device");

namespace tmixrt {

/// printf into a std::string.
std::string formatv(const char *fmt, va_list ap);
std::string format(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/// A status with a printf-formatted message.
tmixrt_status makeStatus(tmixrt_code code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/// "[1, 2, ?, 64]": -1 (any negative size) prints as "?".
std::string formatShape(const int64_t *shape, size_t rank);

/// True for the values of tmixrt_dtype.
bool isKnownDtype(uint32_t dtype);

/// Multiplies the sizes of `shape` (all >= 0) and the element size. False
/// when the byte size would exceed PTRDIFF_MAX.
bool countElements(const int64_t *shape, size_t rank, size_t elementSize,
                   size_t *elements, size_t *bytes);

/// Validates dtype, rank and shape (messages start with `caller`) and fills
/// the dtype, rank, shape, elements and bytes of `description`.
tmixrt_status describeTensor(const char *caller, tmixrt_dtype dtype,
                             size_t rank, const int64_t *shape,
                             tmixrt_tensor *description);

/// A new tensor with `description`'s dtype, shape and device over `data`.
tmixrt_status newTensor(const tmixrt_tensor &description, void *data,
                        bool owned, tmixrt_tensor **out);

/// Where a tensor lives: "cpu" or "cuda:N".
std::string tensorPlace(const tmixrt_tensor &tensor);

/// One argument or result: the public tmixrt_tensor_info and the storage it
/// points into. Not movable once `info` is set up (kept behind unique_ptr).
struct TensorInfo {
  std::string name;
  std::string weightName;
  bool hasWeightName = false;
  int64_t shape[TMIXRT_MAX_RANK] = {};
  int32_t sourceArg[TMIXRT_MAX_RANK] = {};
  int32_t sourceDim[TMIXRT_MAX_RANK] = {};
  tmixrt_tensor_info info = {};

  TensorInfo() = default;
  TensorInfo(const TensorInfo &) = delete;
  TensorInfo &operator=(const TensorInfo &) = delete;
};

/// A weight file bound to a module: for every function (in module order)
/// and argument, the tensor a weight argument takes (null for the others).
/// Immutable once built; calls share it through shared_ptr, so a rebinding
/// never pulls a file from under a running call.
struct Binding {
  tmixrt_weights *weights = nullptr; // one reference
  std::vector<std::vector<tmixrt_tensor *>> args;
  std::vector<tmixrt_tensor *> tensors; // one reference each

  Binding() = default;
  Binding(const Binding &) = delete;
  Binding &operator=(const Binding &) = delete;
  ~Binding();
};

/// The module's current binding (null when none).
std::shared_ptr<const Binding> currentBinding(tmixrt_module &module);

} // namespace tmixrt

struct tmixrt_tensor {
  std::atomic<int> refs{1};
  tmixrt_dtype dtype = TMIXRT_F32;
  size_t rank = 0;
  int64_t shape[TMIXRT_MAX_RANK] = {};
  void *data = nullptr;
  size_t elements = 0;
  size_t bytes = 0;
  bool owned = false;
  /// Where `data` lives: host memory, or the memory of CUDA device
  /// `deviceOrdinal` (-1 for host tensors); see CudaDriver.h.
  tmixrt_device device = TMIXRT_DEVICE_CPU;
  int32_t deviceOrdinal = -1;
};

struct tmixrt_function {
  std::string name;
  tmixrt_device device = TMIXRT_DEVICE_CPU;
  std::vector<std::unique_ptr<tmixrt::TensorInfo>> args;
  std::vector<std::unique_ptr<tmixrt::TensorInfo>> results;
  void (*entry)(void **) = nullptr;
  tmixrt_module *module = nullptr; // the owner (no reference)
  size_t index = 0;                // in module->functions
  size_t numWeights = 0;           // arguments with a weight name
};

struct tmixrt_module {
  std::atomic<int> refs{1};
  void *handle = nullptr;
  std::string path;
  std::string producer;
  void (*setNumThreads)(int32_t) = nullptr;
  std::vector<std::unique_ptr<tmixrt_function>> functions;
  std::mutex bindingMutex; // guards `binding` (the pointer, not its target)
  std::shared_ptr<const tmixrt::Binding> binding;
};

#endif // TMIXRT_SRC_INTERNAL_H
