//===- CudaMgpu.cpp - the mgpu* entry points of MLIR's host code ----------===//
//
// The functions MLIR's gpu-to-llvm lowering calls (signatures of LLVM 22's
// CudaRuntimeWrappers.cpp), over the dynamically loaded driver. They cannot
// return a status, so failures go to the calling thread's sticky error (see
// CudaDriver.h and tmixrt/mgpu.h for the contract).
//
//===----------------------------------------------------------------------===//

#include "tmixrt/mgpu.h"

#include "CudaDriver.h"

#include <climits>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <vector>

using namespace tmixrt;
using namespace tmixrt::cuda;

/// A GPU image and the driver module made from it on each device so far.
struct tmixrt_mgpu_module_st {
  char *image = nullptr; // malloc'ed copy
  size_t size = 0;
  bool jit = false;
  int optLevel = 0;
  std::mutex mutex;             // guards `loaded`
  std::vector<CUmodule> loaded; // by device ordinal; null: not loaded yet
};

namespace {

/// The driver, or null after recording why it is unavailable.
const Driver *driverOrRecord(const char *caller) {
  tmixrt_status status = nullptr;
  const Driver *d = driver(caller, &status);
  if (!d)
    recordStatus(status);
  return d;
}

/// Records a failed driver call; true when `result` is a failure.
bool failed(const Driver &d, CUresult result, const char *what) {
  if (result == CUDA_SUCCESS)
    return false;
  recordStatus(check(d, result, what));
  return true;
}

/// Makes the current device's context current; false (recorded) on failure.
bool enter(ScopedContext &scope, const Driver &d, const char *caller) {
  if (tmixrt_status status = scope.enter(d, caller, currentDevice())) {
    recordStatus(status);
    return false;
  }
  return true;
}

tmixrt_mgpu_module newModule(const char *caller, const void *data, size_t size,
                             bool jit, int optLevel) {
  auto *module = new (std::nothrow) tmixrt_mgpu_module_st;
  char *image = static_cast<char *>(std::malloc(size));
  if (!module || !image) {
    delete module;
    std::free(image);
    recordError(TMIXRT_OUT_OF_MEMORY,
                "%s: cannot allocate %zu bytes for the GPU image", caller,
                size);
    return nullptr;
  }
  std::memcpy(image, data, size);
  module->image = image;
  module->size = size;
  module->jit = jit;
  module->optLevel = optLevel;
  return module;
}

/// Loads `module` on `device` (its context is current). Null on failure,
/// after recording the error.
CUmodule loadOn(const Driver &d, tmixrt_mgpu_module module, int32_t device,
                const char *name) {
  CUmodule loaded = nullptr;
  if (!module->jit) {
    CUresult result = d.moduleLoadData(&loaded, module->image);
    if (result != CUDA_SUCCESS) {
      tmixrt_status status = check(d, result, "cuModuleLoadData");
      recordError(tmixrt_status_code(status),
                  "mgpuModuleGetFunction('%s'): cannot load the GPU module "
                  "on %s: %s",
                  name, deviceName(device).c_str(),
                  tmixrt_status_message(status));
      tmixrt_status_free(status);
      return nullptr;
    }
    return loaded;
  }
  char log[4096] = {};
  int options[] = {CU_JIT_ERROR_LOG_BUFFER, CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES,
                   CU_JIT_OPTIMIZATION_LEVEL};
  void *values[] = {
      log, reinterpret_cast<void *>(static_cast<uintptr_t>(sizeof(log) - 1)),
      reinterpret_cast<void *>(static_cast<uintptr_t>(module->optLevel))};
  CUresult result =
      d.moduleLoadDataEx(&loaded, module->image, 3, options, values);
  if (result != CUDA_SUCCESS) {
    log[sizeof(log) - 1] = '\0';
    tmixrt_status status = check(d, result, "cuModuleLoadDataEx");
    recordError(tmixrt_status_code(status),
                "mgpuModuleGetFunction('%s'): cannot compile the PTX of the "
                "GPU module on %s: %s%s%s",
                name, deviceName(device).c_str(), tmixrt_status_message(status),
                log[0] ? ": " : "", log);
    tmixrt_status_free(status);
    return nullptr;
  }
  return loaded;
}

/// True when the launch extent is valid; `empty` is set when it is zero.
bool checkExtent(const char *what, intptr_t x, intptr_t y, intptr_t z,
                 bool &empty) {
  for (intptr_t extent : {x, y, z}) {
    if (extent < 0 || static_cast<uintmax_t>(extent) > UINT_MAX) {
      recordError(TMIXRT_INVALID_ARGUMENT,
                  "mgpuLaunchKernel: the %s %ldx%ldx%ld is out of range", what,
                  static_cast<long>(x), static_cast<long>(y),
                  static_cast<long>(z));
      return false;
    }
    if (extent == 0)
      empty = true;
  }
  return true;
}

} // namespace

extern "C" {

tmixrt_mgpu_module mgpuModuleLoad(void *data, size_t gpuBlobSize) {
  if (!data || !gpuBlobSize) {
    recordError(TMIXRT_INVALID_ARGUMENT, "mgpuModuleLoad: the GPU image is %s",
                data ? "empty" : "null");
    return nullptr;
  }
  return newModule("mgpuModuleLoad", data, gpuBlobSize, /*jit=*/false, 0);
}

tmixrt_mgpu_module mgpuModuleLoadJIT(void *data, int optLevel) {
  if (!data) {
    recordError(TMIXRT_INVALID_ARGUMENT, "mgpuModuleLoadJIT: the PTX is null");
    return nullptr;
  }
  size_t size = std::strlen(static_cast<const char *>(data)) + 1;
  return newModule("mgpuModuleLoadJIT", data, size, /*jit=*/true, optLevel);
}

void mgpuModuleUnload(tmixrt_mgpu_module module) {
  if (!module)
    return;
  std::vector<CUmodule> loaded;
  {
    std::lock_guard<std::mutex> lock(module->mutex);
    loaded.swap(module->loaded);
  }
  for (size_t device = 0; device < loaded.size(); ++device) {
    if (!loaded[device])
      continue;
    // Modules exist only when the driver loaded.
    const Driver *d = driverOrRecord("mgpuModuleUnload");
    if (!d)
      break;
    ScopedContext scope;
    if (tmixrt_status status =
            scope.enter(*d, "mgpuModuleUnload", static_cast<int32_t>(device))) {
      recordStatus(status);
      continue;
    }
    failed(*d, d->moduleUnload(loaded[device]),
           "mgpuModuleUnload: cuModuleUnload");
  }
  std::free(module->image);
  delete module;
}

tmixrt_mgpu_function mgpuModuleGetFunction(tmixrt_mgpu_module module,
                                           const char *name) {
  if (!name) {
    recordError(TMIXRT_INVALID_ARGUMENT,
                "mgpuModuleGetFunction: the kernel name is null");
    return nullptr;
  }
  if (!module) {
    recordError(TMIXRT_INVALID_ARGUMENT,
                "mgpuModuleGetFunction('%s'): the module is null (its "
                "mgpuModuleLoad failed)",
                name);
    return nullptr;
  }
  const Driver *d = driverOrRecord("mgpuModuleGetFunction");
  if (!d)
    return nullptr;
  int32_t device = currentDevice();
  ScopedContext scope;
  if (!enter(scope, *d, "mgpuModuleGetFunction"))
    return nullptr;
  CUmodule loaded = nullptr;
  {
    std::lock_guard<std::mutex> lock(module->mutex);
    if (module->loaded.size() < static_cast<size_t>(d->deviceCount))
      module->loaded.resize(static_cast<size_t>(d->deviceCount), nullptr);
    CUmodule &slot = module->loaded[static_cast<size_t>(device)];
    if (!slot)
      slot = loadOn(*d, module, device, name);
    loaded = slot;
  }
  if (!loaded)
    return nullptr;
  CUfunction function = nullptr;
  CUresult result = d->moduleGetFunction(&function, loaded, name);
  if (result != CUDA_SUCCESS) {
    recordError(codeFor(result),
                "mgpuModuleGetFunction: the GPU module has no kernel '%s' "
                "(cuModuleGetFunction: %s)",
                name, describe(*d, result).c_str());
    return nullptr;
  }
  return function;
}

void mgpuLaunchKernel(tmixrt_mgpu_function function, intptr_t gridX,
                      intptr_t gridY, intptr_t gridZ, intptr_t blockX,
                      intptr_t blockY, intptr_t blockZ, int32_t smem,
                      tmixrt_mgpu_stream stream, void **params, void **extra,
                      size_t paramsCount) {
  if (errorPending())
    return;
  if (!function) {
    recordError(TMIXRT_INVALID_ARGUMENT, "mgpuLaunchKernel: the kernel is "
                                         "null");
    return;
  }
  bool empty = false;
  if (!checkExtent("grid", gridX, gridY, gridZ, empty) ||
      !checkExtent("block", blockX, blockY, blockZ, empty))
    return;
  if (smem < 0) {
    recordError(TMIXRT_INVALID_ARGUMENT,
                "mgpuLaunchKernel: %d bytes of shared memory", smem);
    return;
  }
  if (paramsCount && !params && !extra) {
    recordError(TMIXRT_INVALID_ARGUMENT,
                "mgpuLaunchKernel: %zu kernel parameters, but no parameter "
                "list",
                paramsCount);
    return;
  }
  if (empty)
    return; // no thread would run
  const Driver *d = driverOrRecord("mgpuLaunchKernel");
  if (!d)
    return;
  ScopedContext scope;
  if (!enter(scope, *d, "mgpuLaunchKernel"))
    return;
  if (smem > kDefaultSharedMemoryPerBlock) {
    int32_t device = currentDevice();
    int limit = maxSharedMemoryPerBlock(*d, device);
    if (limit > 0 && smem > limit) {
      recordError(TMIXRT_FAILED_PRECONDITION,
                  "mgpuLaunchKernel: the kernel needs %d bytes of dynamic "
                  "shared memory, but %s allows at most %d per block",
                  smem, deviceName(device).c_str(), limit);
      return;
    }
    if (failed(*d,
               d->funcSetAttribute(
                   function, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                   smem),
               "mgpuLaunchKernel: cuFuncSetAttribute"))
      return;
  }
  failed(*d,
         d->launchKernel(
             function, static_cast<unsigned>(gridX),
             static_cast<unsigned>(gridY), static_cast<unsigned>(gridZ),
             static_cast<unsigned>(blockX), static_cast<unsigned>(blockY),
             static_cast<unsigned>(blockZ), static_cast<unsigned>(smem), stream,
             params, extra),
         "mgpuLaunchKernel: cuLaunchKernel");
}

tmixrt_mgpu_stream mgpuStreamCreate(void) {
  const Driver *d = driverOrRecord("mgpuStreamCreate");
  if (!d)
    return nullptr;
  ScopedContext scope;
  if (!enter(scope, *d, "mgpuStreamCreate"))
    return nullptr;
  CUstream stream = nullptr;
  if (failed(*d, d->streamCreate(&stream, CU_STREAM_NON_BLOCKING),
             "mgpuStreamCreate: cuStreamCreate"))
    return nullptr;
  return stream;
}

void mgpuStreamDestroy(tmixrt_mgpu_stream stream) {
  if (!stream)
    return;
  const Driver *d = driverOrRecord("mgpuStreamDestroy");
  if (!d)
    return;
  failed(*d, d->streamDestroy(stream), "mgpuStreamDestroy: cuStreamDestroy_v2");
}

void mgpuStreamSynchronize(tmixrt_mgpu_stream stream) {
  const Driver *d = driverOrRecord("mgpuStreamSynchronize");
  if (!d)
    return;
  ScopedContext scope; // the legacy stream (NULL) is the current context's
  if (!enter(scope, *d, "mgpuStreamSynchronize"))
    return;
  failed(*d, d->streamSynchronize(stream),
         "mgpuStreamSynchronize: cuStreamSynchronize");
}

void mgpuStreamWaitEvent(tmixrt_mgpu_stream stream, tmixrt_mgpu_event event) {
  if (!event) {
    recordError(TMIXRT_INVALID_ARGUMENT,
                "mgpuStreamWaitEvent: the event is null");
    return;
  }
  const Driver *d = driverOrRecord("mgpuStreamWaitEvent");
  if (!d)
    return;
  ScopedContext scope;
  if (!enter(scope, *d, "mgpuStreamWaitEvent"))
    return;
  failed(*d, d->streamWaitEvent(stream, event, 0),
         "mgpuStreamWaitEvent: cuStreamWaitEvent");
}

tmixrt_mgpu_event mgpuEventCreate(void) {
  const Driver *d = driverOrRecord("mgpuEventCreate");
  if (!d)
    return nullptr;
  ScopedContext scope;
  if (!enter(scope, *d, "mgpuEventCreate"))
    return nullptr;
  CUevent event = nullptr;
  if (failed(*d, d->eventCreate(&event, CU_EVENT_DISABLE_TIMING),
             "mgpuEventCreate: cuEventCreate"))
    return nullptr;
  return event;
}

void mgpuEventDestroy(tmixrt_mgpu_event event) {
  if (!event)
    return;
  const Driver *d = driverOrRecord("mgpuEventDestroy");
  if (!d)
    return;
  failed(*d, d->eventDestroy(event), "mgpuEventDestroy: cuEventDestroy_v2");
}

void mgpuEventSynchronize(tmixrt_mgpu_event event) {
  if (!event) {
    recordError(TMIXRT_INVALID_ARGUMENT,
                "mgpuEventSynchronize: the event is null");
    return;
  }
  const Driver *d = driverOrRecord("mgpuEventSynchronize");
  if (!d)
    return;
  failed(*d, d->eventSynchronize(event),
         "mgpuEventSynchronize: cuEventSynchronize");
}

void mgpuEventRecord(tmixrt_mgpu_event event, tmixrt_mgpu_stream stream) {
  if (!event) {
    recordError(TMIXRT_INVALID_ARGUMENT, "mgpuEventRecord: the event is null");
    return;
  }
  const Driver *d = driverOrRecord("mgpuEventRecord");
  if (!d)
    return;
  ScopedContext scope;
  if (!enter(scope, *d, "mgpuEventRecord"))
    return;
  failed(*d, d->eventRecord(event, stream), "mgpuEventRecord: cuEventRecord");
}

void *mgpuMemAlloc(uint64_t sizeBytes, tmixrt_mgpu_stream /*stream*/,
                   bool isHostShared) {
  if (sizeBytes == 0)
    return nullptr;
  const Driver *d = driverOrRecord("mgpuMemAlloc");
  if (!d)
    return nullptr;
  ScopedContext scope;
  if (!enter(scope, *d, "mgpuMemAlloc"))
    return nullptr;
  CUdeviceptr pointer = 0;
  CUresult result = isHostShared ? d->memAllocManaged(&pointer, sizeBytes,
                                                      CU_MEM_ATTACH_GLOBAL)
                                 : d->memAlloc(&pointer, sizeBytes);
  if (result != CUDA_SUCCESS) {
    recordError(codeFor(result),
                "mgpuMemAlloc: cannot allocate %llu bytes%s on %s: %s: %s",
                static_cast<unsigned long long>(sizeBytes),
                isHostShared ? " of managed memory" : "",
                deviceName(currentDevice()).c_str(),
                isHostShared ? "cuMemAllocManaged" : "cuMemAlloc_v2",
                describe(*d, result).c_str());
    return nullptr;
  }
  return reinterpret_cast<void *>(pointer);
}

void mgpuMemFree(void *ptr, tmixrt_mgpu_stream /*stream*/) {
  if (!ptr)
    return;
  const Driver *d = driverOrRecord("mgpuMemFree");
  if (!d)
    return;
  ScopedContext scope;
  if (!enter(scope, *d, "mgpuMemFree"))
    return;
  failed(*d, d->memFree(reinterpret_cast<CUdeviceptr>(ptr)),
         "mgpuMemFree: cuMemFree_v2");
}

void mgpuMemcpy(void *dst, void *src, size_t sizeBytes,
                tmixrt_mgpu_stream stream) {
  if (errorPending() || sizeBytes == 0)
    return;
  if (!dst || !src) {
    recordError(TMIXRT_INVALID_ARGUMENT,
                "mgpuMemcpy: the %s of a %zu-byte copy is null",
                dst ? "source" : "destination", sizeBytes);
    return;
  }
  const Driver *d = driverOrRecord("mgpuMemcpy");
  if (!d)
    return;
  ScopedContext scope;
  if (!enter(scope, *d, "mgpuMemcpy"))
    return;
  failed(*d,
         d->memcpyAsync(reinterpret_cast<CUdeviceptr>(dst),
                        reinterpret_cast<CUdeviceptr>(src), sizeBytes, stream),
         "mgpuMemcpy: cuMemcpyAsync");
}

void mgpuMemset32(void *dst, unsigned int value, size_t count,
                  tmixrt_mgpu_stream stream) {
  if (errorPending() || count == 0)
    return;
  if (!dst) {
    recordError(TMIXRT_INVALID_ARGUMENT, "mgpuMemset32: the destination is "
                                         "null");
    return;
  }
  const Driver *d = driverOrRecord("mgpuMemset32");
  if (!d)
    return;
  ScopedContext scope;
  if (!enter(scope, *d, "mgpuMemset32"))
    return;
  failed(*d,
         d->memsetD32Async(reinterpret_cast<CUdeviceptr>(dst), value, count,
                           stream),
         "mgpuMemset32: cuMemsetD32Async");
}

void mgpuMemset16(void *dst, unsigned short value, size_t count,
                  tmixrt_mgpu_stream stream) {
  if (errorPending() || count == 0)
    return;
  if (!dst) {
    recordError(TMIXRT_INVALID_ARGUMENT, "mgpuMemset16: the destination is "
                                         "null");
    return;
  }
  const Driver *d = driverOrRecord("mgpuMemset16");
  if (!d)
    return;
  ScopedContext scope;
  if (!enter(scope, *d, "mgpuMemset16"))
    return;
  failed(*d,
         d->memsetD16Async(reinterpret_cast<CUdeviceptr>(dst), value, count,
                           stream),
         "mgpuMemset16: cuMemsetD16Async");
}

void mgpuSetDefaultDevice(int32_t device) {
  if (device < 0) {
    recordError(TMIXRT_INVALID_ARGUMENT,
                "mgpuSetDefaultDevice: device %d is negative", device);
    return;
  }
  setThreadDevice(device);
}

} // extern "C"
