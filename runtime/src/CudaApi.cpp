//===- CudaApi.cpp - the public CUDA calls of tmixrt_cuda.h ---------------===//
//
// Devices, device tensors, copies and streams over the dynamically loaded
// driver (CudaDriver.h). Every call loads the driver on first use and fails
// with its load status when that failed.
//
//===----------------------------------------------------------------------===//

#include "tmixrt/tmixrt_cuda.h"

#include "CudaDriver.h"

#include <cstring>
#include <new>

using namespace tmixrt;
using namespace tmixrt::cuda;

struct tmixrt_cuda_stream {
  CUstream stream = nullptr;
  int32_t device = 0;
};

namespace {

/// "[2, 3] f32 on cuda:0".
std::string describeTensorPlace(const tmixrt_tensor &tensor) {
  return format("%s %s on %s", formatShape(tensor.shape, tensor.rank).c_str(),
                tmixrt_dtype_name(tensor.dtype), tensorPlace(tensor).c_str());
}

/// Both non-null, of one dtype and shape.
tmixrt_status checkCopy(const char *caller, const tmixrt_tensor *dst,
                        const tmixrt_tensor *src) {
  if (!dst || !src)
    return makeStatus(TMIXRT_INVALID_ARGUMENT, "%s: the %s is null", caller,
                      dst ? "source" : "destination");
  bool same = dst->dtype == src->dtype && dst->rank == src->rank;
  for (size_t i = 0; same && i < dst->rank; ++i)
    same = dst->shape[i] == src->shape[i];
  if (!same)
    return makeStatus(TMIXRT_INVALID_ARGUMENT,
                      "%s: the destination is %s and the source %s; dtype "
                      "and shape must match",
                      caller, describeTensorPlace(*dst).c_str(),
                      describeTensorPlace(*src).c_str());
  return nullptr;
}

bool onDevice(const tmixrt_tensor &tensor) {
  return tensor.device == TMIXRT_DEVICE_CUDA;
}

/// The device of a copy that involves one; refuses two different devices
/// and overlapping buffers on one.
tmixrt_status copyDevice(const char *caller, const tmixrt_tensor &dst,
                         const tmixrt_tensor &src, int32_t *device) {
  if (onDevice(dst) && onDevice(src)) {
    if (dst.deviceOrdinal != src.deviceOrdinal)
      return makeStatus(TMIXRT_INVALID_ARGUMENT,
                        "%s: copies between two CUDA devices (%s to %s) are "
                        "not supported; copy through a host tensor",
                        caller, tensorPlace(src).c_str(),
                        tensorPlace(dst).c_str());
    auto d0 = reinterpret_cast<uintptr_t>(dst.data);
    auto s0 = reinterpret_cast<uintptr_t>(src.data);
    if (d0 != s0 && d0 < s0 + src.bytes && s0 < d0 + dst.bytes)
      return makeStatus(TMIXRT_INVALID_ARGUMENT,
                        "%s: the source and the destination overlap", caller);
  }
  *device = onDevice(dst) ? dst.deviceOrdinal : src.deviceOrdinal;
  return nullptr;
}

/// Queues (stream non-null) or performs the copy; the device's context is
/// current.
CUresult startCopy(const Driver &d, const tmixrt_tensor &dst,
                   const tmixrt_tensor &src, CUstream stream, bool async,
                   const char **what) {
  auto dstPointer = reinterpret_cast<CUdeviceptr>(dst.data);
  auto srcPointer = reinterpret_cast<CUdeviceptr>(src.data);
  if (onDevice(dst) && onDevice(src)) {
    *what = async ? "cuMemcpyDtoDAsync_v2" : "cuMemcpyDtoD_v2";
    return async ? d.memcpyDtoDAsync(dstPointer, srcPointer, src.bytes, stream)
                 : d.memcpyDtoD(dstPointer, srcPointer, src.bytes);
  }
  if (onDevice(dst)) {
    *what = async ? "cuMemcpyHtoDAsync_v2" : "cuMemcpyHtoD_v2";
    return async ? d.memcpyHtoDAsync(dstPointer, src.data, src.bytes, stream)
                 : d.memcpyHtoD(dstPointer, src.data, src.bytes);
  }
  *what = async ? "cuMemcpyDtoHAsync_v2" : "cuMemcpyDtoH_v2";
  return async ? d.memcpyDtoHAsync(dst.data, srcPointer, src.bytes, stream)
               : d.memcpyDtoH(dst.data, srcPointer, src.bytes);
}

} // namespace

extern "C" {

tmixrt_status tmixrt_cuda_init(void) {
  tmixrt_status status = nullptr;
  driver("tmixrt_cuda_init", &status);
  return status;
}

int tmixrt_cuda_is_available(void) { return driver(nullptr, nullptr) ? 1 : 0; }

tmixrt_status tmixrt_cuda_device_count(int32_t *count) {
  if (!count)
    return makeStatus(TMIXRT_INVALID_ARGUMENT,
                      "tmixrt_cuda_device_count: 'count' is null");
  tmixrt_status status = nullptr;
  const Driver *d = driver("tmixrt_cuda_device_count", &status);
  if (!d)
    return status;
  *count = d->deviceCount;
  return nullptr;
}

tmixrt_status tmixrt_cuda_driver_version(int32_t *version) {
  if (!version)
    return makeStatus(TMIXRT_INVALID_ARGUMENT,
                      "tmixrt_cuda_driver_version: 'version' is null");
  tmixrt_status status = nullptr;
  const Driver *d = driver("tmixrt_cuda_driver_version", &status);
  if (!d)
    return status;
  *version = d->version;
  return nullptr;
}

tmixrt_status
tmixrt_cuda_device_properties_get(int32_t device,
                                  tmixrt_cuda_device_properties *out) {
  const char *caller = "tmixrt_cuda_device_properties_get";
  if (!out)
    return makeStatus(TMIXRT_INVALID_ARGUMENT, "%s: 'out' is null", caller);
  tmixrt_status status = nullptr;
  const Driver *d = driver(caller, &status);
  if (!d)
    return status;
  if ((status = checkDevice(*d, caller, device)))
    return status;
  tmixrt_cuda_device_properties properties;
  std::memset(&properties, 0, sizeof(properties));
  CUdevice handle = 0;
  int major = 0, minor = 0;
  size_t memory = 0;
  if ((status = check(*d, d->deviceGet(&handle, device), "cuDeviceGet")) ||
      (status = check(*d,
                      d->deviceGetName(properties.name,
                                       sizeof(properties.name) - 1, handle),
                      "cuDeviceGetName")) ||
      (status = check(
           *d,
           d->deviceGetAttribute(
               &major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, handle),
           "cuDeviceGetAttribute")) ||
      (status = check(
           *d,
           d->deviceGetAttribute(
               &minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, handle),
           "cuDeviceGetAttribute")) ||
      (status = check(*d, d->deviceTotalMem(&memory, handle),
                      "cuDeviceTotalMem_v2"))) {
    tmixrt_status prefixed = makeStatus(tmixrt_status_code(status), "%s: %s",
                                        caller, tmixrt_status_message(status));
    tmixrt_status_free(status);
    return prefixed;
  }
  properties.name[sizeof(properties.name) - 1] = '\0';
  properties.compute_capability_major = major;
  properties.compute_capability_minor = minor;
  properties.total_memory = memory;
  properties.max_shared_memory_per_block = maxSharedMemoryPerBlock(*d, device);
  *out = properties;
  return nullptr;
}

tmixrt_status tmixrt_cuda_set_device(int32_t device) {
  tmixrt_status status = nullptr;
  const Driver *d = driver("tmixrt_cuda_set_device", &status);
  if (!d)
    return status;
  if ((status = checkDevice(*d, "tmixrt_cuda_set_device", device)))
    return status;
  setProcessDevice(device);
  setThreadDevice(-1); // the calling thread follows the process again
  return nullptr;
}

tmixrt_status tmixrt_cuda_get_device(int32_t *device) {
  if (!device)
    return makeStatus(TMIXRT_INVALID_ARGUMENT,
                      "tmixrt_cuda_get_device: 'device' is null");
  tmixrt_status status = nullptr;
  if (!driver("tmixrt_cuda_get_device", &status))
    return status;
  *device = currentDevice();
  return nullptr;
}

tmixrt_status tmixrt_cuda_synchronize(int32_t device) {
  const char *caller = "tmixrt_cuda_synchronize";
  tmixrt_status status = nullptr;
  const Driver *d = driver(caller, &status);
  if (!d)
    return status;
  ScopedContext scope;
  if ((status = scope.enter(*d, caller, device)))
    return status;
  CUresult result = d->ctxSynchronize();
  if (result != CUDA_SUCCESS)
    return makeStatus(codeFor(result), "%s: cuCtxSynchronize on %s: %s", caller,
                      deviceName(device).c_str(), describe(*d, result).c_str());
  return nullptr;
}

tmixrt_status tmixrt_cuda_tensor_create(int32_t device, tmixrt_dtype dtype,
                                        size_t rank, const int64_t *shape,
                                        tmixrt_tensor **out) {
  return createDeviceTensor("tmixrt_cuda_tensor_create", device, dtype, rank,
                            shape, out);
}

tmixrt_status tmixrt_tensor_copy(tmixrt_tensor *dst, const tmixrt_tensor *src) {
  const char *caller = "tmixrt_tensor_copy";
  if (tmixrt_status status = checkCopy(caller, dst, src))
    return status;
  if (!onDevice(*dst) && !onDevice(*src)) {
    if (src->bytes && dst->data != src->data)
      std::memmove(dst->data, src->data, src->bytes);
    return nullptr;
  }
  tmixrt_status status = nullptr;
  const Driver *d = driver(caller, &status);
  if (!d)
    return status;
  int32_t device = 0;
  if ((status = copyDevice(caller, *dst, *src, &device)))
    return status;
  if (!src->bytes || dst->data == src->data)
    return nullptr;
  ScopedContext scope;
  if ((status = scope.enter(*d, caller, device)))
    return status;
  const char *what = "";
  CUresult result = startCopy(*d, *dst, *src, nullptr, /*async=*/false, &what);
  // Host-to-device and device-to-device copies may still be in flight when
  // the driver returns; kernels on non-blocking streams would not wait.
  if (result == CUDA_SUCCESS) {
    result = d->streamSynchronize(nullptr);
    what = "cuStreamSynchronize";
  }
  if (result != CUDA_SUCCESS)
    return makeStatus(codeFor(result),
                      "%s: copying %zu bytes from %s to %s: "
                      "%s: %s",
                      caller, src->bytes, tensorPlace(*src).c_str(),
                      tensorPlace(*dst).c_str(), what,
                      describe(*d, result).c_str());
  return nullptr;
}

tmixrt_status tmixrt_tensor_copy_async(tmixrt_tensor *dst,
                                       const tmixrt_tensor *src,
                                       tmixrt_cuda_stream *stream) {
  const char *caller = "tmixrt_tensor_copy_async";
  if (tmixrt_status status = checkCopy(caller, dst, src))
    return status;
  if (!stream)
    return makeStatus(TMIXRT_INVALID_ARGUMENT, "%s: the stream is null",
                      caller);
  if (!onDevice(*dst) && !onDevice(*src))
    return makeStatus(TMIXRT_INVALID_ARGUMENT,
                      "%s: both tensors are on the host; use "
                      "tmixrt_tensor_copy",
                      caller);
  tmixrt_status status = nullptr;
  const Driver *d = driver(caller, &status);
  if (!d)
    return status;
  int32_t device = 0;
  if ((status = copyDevice(caller, *dst, *src, &device)))
    return status;
  if (device != stream->device)
    return makeStatus(
        TMIXRT_INVALID_ARGUMENT, "%s: the copy is on %s, but the stream on %s",
        caller, deviceName(device).c_str(), deviceName(stream->device).c_str());
  if (!src->bytes || dst->data == src->data)
    return nullptr;
  ScopedContext scope;
  if ((status = scope.enter(*d, caller, device)))
    return status;
  const char *what = "";
  CUresult result =
      startCopy(*d, *dst, *src, stream->stream, /*async=*/true, &what);
  if (result != CUDA_SUCCESS)
    return makeStatus(codeFor(result),
                      "%s: copying %zu bytes from %s to %s: "
                      "%s: %s",
                      caller, src->bytes, tensorPlace(*src).c_str(),
                      tensorPlace(*dst).c_str(), what,
                      describe(*d, result).c_str());
  return nullptr;
}

tmixrt_status tmixrt_cuda_stream_create(int32_t device,
                                        tmixrt_cuda_stream **out) {
  const char *caller = "tmixrt_cuda_stream_create";
  if (!out)
    return makeStatus(TMIXRT_INVALID_ARGUMENT, "%s: 'out' is null", caller);
  *out = nullptr;
  tmixrt_status status = nullptr;
  const Driver *d = driver(caller, &status);
  if (!d)
    return status;
  ScopedContext scope;
  if ((status = scope.enter(*d, caller, device)))
    return status;
  auto *stream = new (std::nothrow) tmixrt_cuda_stream;
  if (!stream)
    return makeStatus(TMIXRT_OUT_OF_MEMORY, "%s: cannot allocate a stream",
                      caller);
  CUresult result = d->streamCreate(&stream->stream, CU_STREAM_NON_BLOCKING);
  if (result != CUDA_SUCCESS) {
    delete stream;
    return makeStatus(codeFor(result), "%s: cuStreamCreate on %s: %s", caller,
                      deviceName(device).c_str(), describe(*d, result).c_str());
  }
  stream->device = device;
  *out = stream;
  return nullptr;
}

tmixrt_status tmixrt_cuda_stream_destroy(tmixrt_cuda_stream *stream) {
  if (!stream)
    return nullptr;
  const char *caller = "tmixrt_cuda_stream_destroy";
  tmixrt_status status = nullptr;
  const Driver *d = driver(caller, &status); // loaded: the stream exists
  if (d) {
    CUresult result = d->streamDestroy(stream->stream);
    if (result != CUDA_SUCCESS)
      status = makeStatus(codeFor(result), "%s: cuStreamDestroy_v2: %s", caller,
                          describe(*d, result).c_str());
  }
  delete stream;
  return status;
}

tmixrt_status tmixrt_cuda_stream_synchronize(tmixrt_cuda_stream *stream) {
  const char *caller = "tmixrt_cuda_stream_synchronize";
  if (!stream)
    return makeStatus(TMIXRT_INVALID_ARGUMENT, "%s: the stream is null",
                      caller);
  tmixrt_status status = nullptr;
  const Driver *d = driver(caller, &status);
  if (!d)
    return status;
  CUresult result = d->streamSynchronize(stream->stream);
  if (result != CUDA_SUCCESS)
    return makeStatus(codeFor(result), "%s: cuStreamSynchronize on %s: %s",
                      caller, deviceName(stream->device).c_str(),
                      describe(*d, result).c_str());
  return nullptr;
}

int32_t tmixrt_cuda_stream_device(const tmixrt_cuda_stream *stream) {
  return stream ? stream->device : -1;
}

void *tmixrt_cuda_stream_handle(const tmixrt_cuda_stream *stream) {
  return stream ? static_cast<void *>(stream->stream) : nullptr;
}

tmixrt_status tmixrt_cuda_take_error(void) { return takeError(); }

} // extern "C"
