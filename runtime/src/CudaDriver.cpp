//===- CudaDriver.cpp - loading the CUDA driver, devices, contexts --------===//
//
// The driver is loaded once per process (std::call_once) on first use; the
// outcome, success or the reason for failure, is kept for the life of the
// process, so every later call answers the same way without trying again.
// Nothing here is ever destroyed: artifacts unload their GPU code from their
// own destructors, possibly at exit, and must still find the driver then.
//
//===----------------------------------------------------------------------===//

#include "CudaDriver.h"

#include <atomic>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <mutex>
#include <type_traits>
#include <vector>

namespace tmixrt::cuda {
namespace {

constexpr const char *kDefaultDriverPath = "libcuda.so.1";
constexpr const char *kDriverPathVariable = "TMIXRT_CUDA_DRIVER";

/// What loading the driver came to.
struct LoadResult {
  Driver *driver = nullptr; // null when loading failed
  tmixrt_code code = TMIXRT_OK;
  std::string message;
};

/// Per-device state, created with the driver.
struct DeviceState {
  std::mutex mutex;
  CUcontext context = nullptr; // the retained primary context, once known
  int maxSharedMemory = -1;    // -1: not queried yet
};

LoadResult *loadResult = nullptr;
std::vector<DeviceState> *deviceStates = nullptr;
std::once_flag loadOnce;

void fail(LoadResult &result, tmixrt_code code, std::string message) {
  result.code = code;
  result.message = std::move(message);
}

void load(LoadResult &result) {
  const char *variable = std::getenv(kDriverPathVariable);
  std::string path = variable && *variable ? variable : kDefaultDriverPath;
  dlerror();
  void *handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char *error = dlerror();
    fail(result, TMIXRT_UNAVAILABLE,
         format("CUDA driver not found (%s)",
                error ? error : (path + ": cannot be loaded").c_str()));
    return;
  }

  // Kept only when everything works; on failure the library stays loaded
  // (below) but this goes.
  auto driver = std::make_unique<Driver>();
  driver->handle = handle;
  driver->path = path;
  // Resolve everything before calling anything.
  const char *missing = nullptr;
  std::string missingError;
  auto resolve = [&](const char *symbol, auto &field) {
    if (missing)
      return;
    dlerror();
    void *address = dlsym(handle, symbol);
    if (!address) {
      const char *error = dlerror();
      missing = symbol;
      missingError = error ? error : "not exported";
      return;
    }
    field = reinterpret_cast<std::remove_reference_t<decltype(field)>>(address);
  };
#define TMIXRT_CUDA_RESOLVE(field, symbol, type) resolve(symbol, driver->field);
  TMIXRT_CUDA_ENTRY_POINTS(TMIXRT_CUDA_RESOLVE)
#undef TMIXRT_CUDA_RESOLVE
  if (missing) {
    fail(result, TMIXRT_UNAVAILABLE,
         format("the CUDA driver '%s' is unusable: it lacks %s (%s)",
                path.c_str(), missing, missingError.c_str()));
    dlclose(handle);
    return;
  }

  // From here on the library stays loaded: once cuInit ran, the driver may
  // hold on to resources that an unload would pull from under it.
  CUresult status = driver->init(0);
  if (status == CUDA_ERROR_NO_DEVICE) {
    fail(result, TMIXRT_UNAVAILABLE,
         format("no CUDA device (cuInit: %s)",
                describe(*driver, status).c_str()));
    return;
  }
  if (status != CUDA_SUCCESS) {
    fail(result,
         codeFor(status) == TMIXRT_OUT_OF_MEMORY ? TMIXRT_OUT_OF_MEMORY
                                                 : TMIXRT_UNAVAILABLE,
         format("the CUDA driver '%s' failed to initialize: cuInit: %s",
                path.c_str(), describe(*driver, status).c_str()));
    return;
  }
  if (driver->driverGetVersion(&driver->version) != CUDA_SUCCESS)
    driver->version = 0;
  int count = 0;
  status = driver->deviceGetCount(&count);
  if (status != CUDA_SUCCESS) {
    fail(result, TMIXRT_UNAVAILABLE,
         format("cannot count the CUDA devices: cuDeviceGetCount: %s",
                describe(*driver, status).c_str()));
    return;
  }
  if (count <= 0) {
    fail(result, TMIXRT_UNAVAILABLE,
         format("no CUDA device (the CUDA driver '%s' reports %d devices)",
                path.c_str(), count));
    return;
  }
  driver->deviceCount = count;
  deviceStates = new std::vector<DeviceState>(static_cast<size_t>(count));
  result.driver = driver.release();
}

/// The calling thread's pending error. Plain data on purpose: thread_local
/// objects with destructors may already be gone when an artifact's
/// destructor calls mgpuModuleUnload at exit.
struct Sticky {
  tmixrt_code code;
  char message[1024];
};
thread_local Sticky sticky;
thread_local int32_t threadDeviceOverride = -1;
std::atomic<int32_t> processDevice{0};

} // namespace

const Driver *driver(const char *caller, tmixrt_status *status) {
  std::call_once(loadOnce, [] {
    loadResult = new LoadResult;
    load(*loadResult);
  });
  if (loadResult->driver)
    return loadResult->driver;
  if (status)
    *status = caller ? makeStatus(loadResult->code, "%s: %s", caller,
                                  loadResult->message.c_str())
                     : tmixrt_status_create(loadResult->code,
                                            loadResult->message.c_str());
  return nullptr;
}

std::string describe(const Driver &driver, CUresult result) {
  const char *name = nullptr;
  if (driver.getErrorName(result, &name) != CUDA_SUCCESS || !name)
    return format("CUDA error %d", result);
  const char *text = nullptr;
  if (driver.getErrorString(result, &text) != CUDA_SUCCESS || !text)
    return name;
  return format("%s (%s)", name, text);
}

tmixrt_code codeFor(CUresult result) {
  switch (result) {
  case CUDA_ERROR_OUT_OF_MEMORY:
    return TMIXRT_OUT_OF_MEMORY;
  case CUDA_ERROR_STUB_LIBRARY:
  case CUDA_ERROR_INSUFFICIENT_DRIVER:
  case CUDA_ERROR_DEVICE_UNAVAILABLE:
  case CUDA_ERROR_NO_DEVICE:
  case CUDA_ERROR_SYSTEM_DRIVER_MISMATCH:
  case CUDA_ERROR_COMPAT_NOT_SUPPORTED_ON_DEVICE:
    return TMIXRT_UNAVAILABLE;
  case CUDA_ERROR_NO_BINARY_FOR_GPU:
  case CUDA_ERROR_INVALID_PTX:
  case CUDA_ERROR_UNSUPPORTED_PTX_VERSION:
    return TMIXRT_FAILED_PRECONDITION;
  default:
    break;
  }
  return TMIXRT_INTERNAL;
}

tmixrt_status check(const Driver &driver, CUresult result, const char *what) {
  if (result == CUDA_SUCCESS)
    return nullptr;
  return makeStatus(codeFor(result), "%s: %s", what,
                    describe(driver, result).c_str());
}

std::string deviceName(int32_t device) { return format("cuda:%d", device); }

tmixrt_status checkDevice(const Driver &driver, const char *caller,
                          int32_t device) {
  if (device >= 0 && device < driver.deviceCount)
    return nullptr;
  return makeStatus(TMIXRT_INVALID_ARGUMENT,
                    "%s: CUDA device %d does not exist; there %s %d (0..%d)",
                    caller, device, driver.deviceCount == 1 ? "is" : "are",
                    driver.deviceCount, driver.deviceCount - 1);
}

int32_t currentDevice() {
  int32_t device = threadDeviceOverride;
  return device >= 0 ? device : processDevice.load(std::memory_order_relaxed);
}

void setProcessDevice(int32_t device) {
  processDevice.store(device, std::memory_order_relaxed);
}

void setThreadDevice(int32_t device) { threadDeviceOverride = device; }

int32_t threadDevice() { return threadDeviceOverride; }

ScopedContext::~ScopedContext() {
  if (driver)
    driver->ctxPopCurrent(nullptr);
}

tmixrt_status ScopedContext::enter(const Driver &driver, const char *caller,
                                   int32_t device) {
  if (tmixrt_status status = checkDevice(driver, caller, device))
    return status;
  DeviceState &state = (*deviceStates)[static_cast<size_t>(device)];
  CUcontext context = nullptr;
  {
    std::lock_guard<std::mutex> lock(state.mutex);
    if (!state.context) {
      CUdevice handle = 0;
      CUresult result = driver.deviceGet(&handle, device);
      if (result == CUDA_SUCCESS)
        result = driver.devicePrimaryCtxRetain(&state.context, handle);
      if (result != CUDA_SUCCESS) {
        state.context = nullptr;
        return makeStatus(codeFor(result),
                          "%s: cannot get the primary context of %s: %s",
                          caller, deviceName(device).c_str(),
                          describe(driver, result).c_str());
      }
    }
    context = state.context;
  }
  CUresult result = driver.ctxPushCurrent(context);
  if (result != CUDA_SUCCESS)
    return makeStatus(codeFor(result),
                      "%s: cannot make the context of %s current: "
                      "cuCtxPushCurrent_v2: %s",
                      caller, deviceName(device).c_str(),
                      describe(driver, result).c_str());
  this->driver = &driver;
  return nullptr;
}

int maxSharedMemoryPerBlock(const Driver &driver, int32_t device) {
  if (device < 0 || device >= driver.deviceCount)
    return 0;
  DeviceState &state = (*deviceStates)[static_cast<size_t>(device)];
  std::lock_guard<std::mutex> lock(state.mutex);
  if (state.maxSharedMemory < 0) {
    CUdevice handle = 0;
    int value = 0;
    if (driver.deviceGet(&handle, device) != CUDA_SUCCESS ||
        driver.deviceGetAttribute(
            &value, CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN,
            handle) != CUDA_SUCCESS)
      return 0; // not cached: ask again next time
    state.maxSharedMemory = value;
  }
  return state.maxSharedMemory;
}

void freeDeviceMemory(int32_t device, void *data) {
  const Driver *d = driver(nullptr, nullptr);
  if (!d || !data)
    return;
  ScopedContext scope;
  if (tmixrt_status status = scope.enter(*d, "tmixrt_tensor_release", device)) {
    tmixrt_status_free(status);
    return;
  }
  d->memFree(reinterpret_cast<CUdeviceptr>(data));
}

tmixrt_status createDeviceTensor(const char *caller, int32_t device,
                                 tmixrt_dtype dtype, size_t rank,
                                 const int64_t *shape, tmixrt_tensor **out) {
  if (!out)
    return makeStatus(TMIXRT_INVALID_ARGUMENT, "%s: 'out' is null", caller);
  *out = nullptr;
  tmixrt_tensor description;
  if (tmixrt_status status =
          describeTensor(caller, dtype, rank, shape, &description))
    return status;
  tmixrt_status status = nullptr;
  const Driver *d = driver(caller, &status);
  if (!d)
    return status;
  ScopedContext scope;
  if ((status = scope.enter(*d, caller, device)))
    return status;
  // Never a null buffer, even for an empty tensor (as on the host).
  size_t bytes = description.bytes ? description.bytes : 1;
  CUdeviceptr pointer = 0;
  CUresult result = d->memAlloc(&pointer, bytes);
  if (result != CUDA_SUCCESS)
    return makeStatus(codeFor(result),
                      "%s: cannot allocate %zu bytes on %s for a %s tensor of "
                      "shape %s: cuMemAlloc_v2: %s",
                      caller, description.bytes, deviceName(device).c_str(),
                      tmixrt_dtype_name(dtype),
                      formatShape(shape, rank).c_str(),
                      describe(*d, result).c_str());
  // Zero it like host tensors, and wait: memsets are asynchronous, and
  // kernels on non-blocking streams would not wait for the legacy stream.
  result = d->memsetD8(pointer, 0, bytes);
  const char *what = "cuMemsetD8_v2";
  if (result == CUDA_SUCCESS) {
    result = d->streamSynchronize(nullptr);
    what = "cuStreamSynchronize";
  }
  if (result != CUDA_SUCCESS) {
    d->memFree(pointer);
    return makeStatus(
        codeFor(result), "%s: cannot zero a new tensor on %s: %s: %s", caller,
        deviceName(device).c_str(), what, describe(*d, result).c_str());
  }
  description.device = TMIXRT_DEVICE_CUDA;
  description.deviceOrdinal = device;
  status = newTensor(description, reinterpret_cast<void *>(pointer),
                     /*owned=*/true, out);
  if (status)
    d->memFree(pointer);
  return status;
}

//===----------------------------------------------------------------------===//
// Sticky errors
//===----------------------------------------------------------------------===//

void recordError(tmixrt_code code, const char *fmt, ...) {
  if (sticky.code != TMIXRT_OK)
    return;
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(sticky.message, sizeof(sticky.message), fmt, ap);
  va_end(ap);
  sticky.code = code == TMIXRT_OK ? TMIXRT_INTERNAL : code;
}

void recordStatus(tmixrt_status status) {
  if (!status)
    return;
  if (sticky.code == TMIXRT_OK) {
    std::snprintf(sticky.message, sizeof(sticky.message), "%s",
                  tmixrt_status_message(status));
    sticky.code = tmixrt_status_code(status);
  }
  tmixrt_status_free(status);
}

bool errorPending() { return sticky.code != TMIXRT_OK; }

tmixrt_status takeError() {
  if (sticky.code == TMIXRT_OK)
    return nullptr;
  tmixrt_status status = tmixrt_status_create(sticky.code, sticky.message);
  sticky.code = TMIXRT_OK;
  sticky.message[0] = '\0';
  return status;
}

CallScope::CallScope(int32_t device) : savedDevice(threadDeviceOverride) {
  threadDeviceOverride = device;
  sticky.code = TMIXRT_OK;
  sticky.message[0] = '\0';
}

CallScope::~CallScope() { threadDeviceOverride = savedDevice; }

tmixrt_status CallScope::finish() { return takeError(); }

} // namespace tmixrt::cuda
