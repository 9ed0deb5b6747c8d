//===- Tensor.cpp - owned and borrowed host tensors -----------------------===//
//
// Device tensors share the object: their creation is in CudaDriver.cpp, and
// release hands their memory back to the driver.
//
//===----------------------------------------------------------------------===//

#include "CudaDriver.h"
#include "Internal.h"

#include <cstdlib>
#include <cstring>
#include <new>

using namespace tmixrt;

namespace {

constexpr size_t kAlignment = 64;

/// Validates dtype, rank and shape and fills everything but `data`/`owned`.
tmixrt_status describe(const char *caller, tmixrt_dtype dtype, size_t rank,
                       const int64_t *shape, tmixrt_tensor *tensor) {
  if (!isKnownDtype(static_cast<uint32_t>(dtype)))
    return makeStatus(TMIXRT_INVALID_ARGUMENT, "%s: unknown dtype %d", caller,
                      static_cast<int>(dtype));
  if (rank > TMIXRT_MAX_RANK)
    return makeStatus(TMIXRT_INVALID_ARGUMENT,
                      "%s: rank %zu exceeds the maximum of %d", caller, rank,
                      TMIXRT_MAX_RANK);
  if (rank && !shape)
    return makeStatus(TMIXRT_INVALID_ARGUMENT, "%s: shape is null for rank %zu",
                      caller, rank);
  for (size_t i = 0; i < rank; ++i)
    if (shape[i] < 0)
      return makeStatus(TMIXRT_INVALID_ARGUMENT,
                        "%s: dimension %zu of shape %s is negative", caller, i,
                        formatShape(shape, rank).c_str());
  if (!countElements(shape, rank, tmixrt_dtype_size(dtype), &tensor->elements,
                     &tensor->bytes))
    return makeStatus(
        TMIXRT_INVALID_ARGUMENT, "%s: a %s tensor of shape %s is too large",
        caller, tmixrt_dtype_name(dtype), formatShape(shape, rank).c_str());
  tensor->dtype = dtype;
  tensor->rank = rank;
  for (size_t i = 0; i < rank; ++i)
    tensor->shape[i] = shape[i];
  return nullptr;
}

} // namespace

extern "C" {

namespace {
/// A new tensor with `description`'s dtype and shape over `data`.
tmixrt_status finish(const tmixrt_tensor &description, void *data, bool owned,
                     tmixrt_tensor **out) {
  auto *tensor = new (std::nothrow) tmixrt_tensor;
  if (!tensor)
    return makeStatus(TMIXRT_OUT_OF_MEMORY, "cannot allocate a tensor");
  tensor->dtype = description.dtype;
  tensor->rank = description.rank;
  std::memcpy(tensor->shape, description.shape, sizeof(tensor->shape));
  tensor->elements = description.elements;
  tensor->bytes = description.bytes;
  tensor->data = data;
  tensor->owned = owned;
  tensor->device = description.device;
  tensor->deviceOrdinal = description.deviceOrdinal;
  *out = tensor;
  return nullptr;
}
} // namespace

} // extern "C"

namespace tmixrt {

tmixrt_status describeTensor(const char *caller, tmixrt_dtype dtype,
                             size_t rank, const int64_t *shape,
                             tmixrt_tensor *description) {
  return describe(caller, dtype, rank, shape, description);
}

tmixrt_status newTensor(const tmixrt_tensor &description, void *data,
                        bool owned, tmixrt_tensor **out) {
  return finish(description, data, owned, out);
}

std::string tensorPlace(const tmixrt_tensor &tensor) {
  if (tensor.device == TMIXRT_DEVICE_CUDA)
    return format("cuda:%d", tensor.deviceOrdinal);
  return "cpu";
}

} // namespace tmixrt

extern "C" {

tmixrt_status tmixrt_tensor_create(tmixrt_dtype dtype, size_t rank,
                                   const int64_t *shape, tmixrt_tensor **out) {
  if (!out)
    return makeStatus(TMIXRT_INVALID_ARGUMENT,
                      "tmixrt_tensor_create: 'out' is null");
  *out = nullptr;
  tmixrt_tensor description;
  if (tmixrt_status status =
          describe("tmixrt_tensor_create", dtype, rank, shape, &description))
    return status;
  // Never a null buffer, even for an empty tensor; round up to the alignment
  // as aligned_alloc requires.
  size_t allocation =
      (description.bytes + kAlignment - 1) / kAlignment * kAlignment;
  if (allocation == 0)
    allocation = kAlignment;
  void *data = std::aligned_alloc(kAlignment, allocation);
  if (!data)
    return makeStatus(TMIXRT_OUT_OF_MEMORY,
                      "cannot allocate %zu bytes for a %s tensor of shape %s",
                      description.bytes, tmixrt_dtype_name(dtype),
                      formatShape(shape, rank).c_str());
  std::memset(data, 0, allocation);
  tmixrt_status status = finish(description, data, /*owned=*/true, out);
  if (status)
    std::free(data);
  return status;
}

tmixrt_status tmixrt_tensor_wrap(tmixrt_dtype dtype, size_t rank,
                                 const int64_t *shape, void *data,
                                 tmixrt_tensor **out) {
  if (!out)
    return makeStatus(TMIXRT_INVALID_ARGUMENT,
                      "tmixrt_tensor_wrap: 'out' is null");
  *out = nullptr;
  tmixrt_tensor description;
  if (tmixrt_status status =
          describe("tmixrt_tensor_wrap", dtype, rank, shape, &description))
    return status;
  if (!data && description.elements)
    return makeStatus(TMIXRT_INVALID_ARGUMENT,
                      "tmixrt_tensor_wrap: data is null for a %s tensor of "
                      "shape %s",
                      tmixrt_dtype_name(dtype),
                      formatShape(shape, rank).c_str());
  size_t elementSize = tmixrt_dtype_size(dtype);
  if (reinterpret_cast<uintptr_t>(data) % elementSize)
    return makeStatus(TMIXRT_INVALID_ARGUMENT,
                      "tmixrt_tensor_wrap: data %p is not aligned to the %zu "
                      "bytes of a %s element",
                      data, elementSize, tmixrt_dtype_name(dtype));
  return finish(description, data, /*owned=*/false, out);
}

void tmixrt_tensor_retain(tmixrt_tensor *tensor) {
  if (tensor)
    tensor->refs.fetch_add(1, std::memory_order_relaxed);
}

void tmixrt_tensor_release(tmixrt_tensor *tensor) {
  if (!tensor || tensor->refs.fetch_sub(1, std::memory_order_acq_rel) != 1)
    return;
  if (tensor->owned) {
    if (tensor->device == TMIXRT_DEVICE_CUDA)
      cuda::freeDeviceMemory(tensor->deviceOrdinal, tensor->data);
    else
      std::free(tensor->data);
  }
  delete tensor;
}

// Accessors accept NULL and then return zeros, so that a caller's mistake is
// not a crash.

tmixrt_dtype tmixrt_tensor_dtype(const tmixrt_tensor *tensor) {
  return tensor ? tensor->dtype : static_cast<tmixrt_dtype>(0);
}

size_t tmixrt_tensor_rank(const tmixrt_tensor *tensor) {
  return tensor ? tensor->rank : 0;
}

const int64_t *tmixrt_tensor_shape(const tmixrt_tensor *tensor) {
  static const int64_t kNoShape[TMIXRT_MAX_RANK] = {};
  return tensor ? tensor->shape : kNoShape;
}

void *tmixrt_tensor_data(const tmixrt_tensor *tensor) {
  return tensor ? tensor->data : nullptr;
}

size_t tmixrt_tensor_element_count(const tmixrt_tensor *tensor) {
  return tensor ? tensor->elements : 0;
}

size_t tmixrt_tensor_byte_size(const tmixrt_tensor *tensor) {
  return tensor ? tensor->bytes : 0;
}

int tmixrt_tensor_is_owned(const tmixrt_tensor *tensor) {
  return tensor && tensor->owned ? 1 : 0;
}

tmixrt_device tmixrt_tensor_device(const tmixrt_tensor *tensor) {
  return tensor ? tensor->device : static_cast<tmixrt_device>(0);
}

int32_t tmixrt_tensor_device_ordinal(const tmixrt_tensor *tensor) {
  return tensor ? tensor->deviceOrdinal : -1;
}

} // extern "C"
