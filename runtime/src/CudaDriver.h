//===- CudaDriver.h - the CUDA driver API, loaded at run time ---*- C++ -*-===//
//
// libtmixrt links nothing CUDA: the driver library (libcuda.so.1, or the file
// named by TMIXRT_CUDA_DRIVER) is opened with dlopen the first time anything
// needs it, and the entry points below are resolved with dlsym. The few types
// and constants of the driver API this needs are declared here (cuda.h is not
// included); they are part of the driver's stable ABI.
//
// Everything here is internal to libtmixrt.
//
//===----------------------------------------------------------------------===//

#ifndef TMIXRT_SRC_CUDADRIVER_H
#define TMIXRT_SRC_CUDADRIVER_H

#include "Internal.h"

#include <cstddef>
#include <cstdint>
#include <string>

// The driver's handle types, under the struct tags cuda.h uses, so that a
// CUstream of mgpu.h is a CUstream of cuda.h in code that includes both.
struct CUctx_st;
struct CUmod_st;
struct CUfunc_st;
struct CUstream_st;
struct CUevent_st;

namespace tmixrt::cuda {

using CUresult = int;
using CUdevice = int;
using CUdeviceptr = unsigned long long;
using CUcontext = CUctx_st *;
using CUmodule = CUmod_st *;
using CUfunction = CUfunc_st *;
using CUstream = CUstream_st *;
using CUevent = CUevent_st *;

// CUresult values the runtime looks at.
constexpr CUresult CUDA_SUCCESS = 0;
constexpr CUresult CUDA_ERROR_OUT_OF_MEMORY = 2;
constexpr CUresult CUDA_ERROR_STUB_LIBRARY = 34;
constexpr CUresult CUDA_ERROR_INSUFFICIENT_DRIVER = 35;
constexpr CUresult CUDA_ERROR_DEVICE_UNAVAILABLE = 46;
constexpr CUresult CUDA_ERROR_NO_DEVICE = 100;
constexpr CUresult CUDA_ERROR_NO_BINARY_FOR_GPU = 209;
constexpr CUresult CUDA_ERROR_INVALID_PTX = 218;
constexpr CUresult CUDA_ERROR_UNSUPPORTED_PTX_VERSION = 222;
constexpr CUresult CUDA_ERROR_SYSTEM_DRIVER_MISMATCH = 803;
constexpr CUresult CUDA_ERROR_COMPAT_NOT_SUPPORTED_ON_DEVICE = 804;

// Flags and enum values passed to the driver.
constexpr unsigned CU_STREAM_NON_BLOCKING = 0x1;
constexpr unsigned CU_EVENT_DISABLE_TIMING = 0x2;
constexpr unsigned CU_MEM_ATTACH_GLOBAL = 0x1;
constexpr int CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75;
constexpr int CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76;
constexpr int CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN = 97;
constexpr int CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES = 8;
constexpr int CU_JIT_ERROR_LOG_BUFFER = 5;
constexpr int CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES = 6;
constexpr int CU_JIT_OPTIMIZATION_LEVEL = 7;

/// Dynamic shared memory a kernel may use without opting in.
constexpr int kDefaultSharedMemoryPerBlock = 48 * 1024;

// The entry points: X(field, exported symbol, function type). The _v2 names
// are the ones cuda.h maps the plain names to (without per-thread default
// streams).
#define TMIXRT_CUDA_ENTRY_POINTS(X)                                            \
  X(init, "cuInit", CUresult (*)(unsigned))                                    \
  X(driverGetVersion, "cuDriverGetVersion", CUresult (*)(int *))               \
  X(getErrorName, "cuGetErrorName", CUresult (*)(CUresult, const char **))     \
  X(getErrorString, "cuGetErrorString", CUresult (*)(CUresult, const char **)) \
  X(deviceGetCount, "cuDeviceGetCount", CUresult (*)(int *))                   \
  X(deviceGet, "cuDeviceGet", CUresult (*)(CUdevice *, int))                   \
  X(deviceGetName, "cuDeviceGetName", CUresult (*)(char *, int, CUdevice))     \
  X(deviceGetAttribute, "cuDeviceGetAttribute",                                \
    CUresult (*)(int *, int, CUdevice))                                        \
  X(deviceTotalMem, "cuDeviceTotalMem_v2", CUresult (*)(size_t *, CUdevice))   \
  X(devicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain",                        \
    CUresult (*)(CUcontext *, CUdevice))                                       \
  X(ctxPushCurrent, "cuCtxPushCurrent_v2", CUresult (*)(CUcontext))            \
  X(ctxPopCurrent, "cuCtxPopCurrent_v2", CUresult (*)(CUcontext *))            \
  X(ctxSynchronize, "cuCtxSynchronize", CUresult (*)())                        \
  X(memAlloc, "cuMemAlloc_v2", CUresult (*)(CUdeviceptr *, size_t))            \
  X(memAllocManaged, "cuMemAllocManaged",                                      \
    CUresult (*)(CUdeviceptr *, size_t, unsigned))                             \
  X(memFree, "cuMemFree_v2", CUresult (*)(CUdeviceptr))                        \
  X(memcpyHtoD, "cuMemcpyHtoD_v2",                                             \
    CUresult (*)(CUdeviceptr, const void *, size_t))                           \
  X(memcpyDtoH, "cuMemcpyDtoH_v2", CUresult (*)(void *, CUdeviceptr, size_t))  \
  X(memcpyDtoD, "cuMemcpyDtoD_v2",                                             \
    CUresult (*)(CUdeviceptr, CUdeviceptr, size_t))                            \
  X(memcpyHtoDAsync, "cuMemcpyHtoDAsync_v2",                                   \
    CUresult (*)(CUdeviceptr, const void *, size_t, CUstream))                 \
  X(memcpyDtoHAsync, "cuMemcpyDtoHAsync_v2",                                   \
    CUresult (*)(void *, CUdeviceptr, size_t, CUstream))                       \
  X(memcpyDtoDAsync, "cuMemcpyDtoDAsync_v2",                                   \
    CUresult (*)(CUdeviceptr, CUdeviceptr, size_t, CUstream))                  \
  X(memcpyAsync, "cuMemcpyAsync",                                              \
    CUresult (*)(CUdeviceptr, CUdeviceptr, size_t, CUstream))                  \
  X(memsetD8, "cuMemsetD8_v2",                                                 \
    CUresult (*)(CUdeviceptr, unsigned char, size_t))                          \
  X(memsetD16Async, "cuMemsetD16Async",                                        \
    CUresult (*)(CUdeviceptr, unsigned short, size_t, CUstream))               \
  X(memsetD32Async, "cuMemsetD32Async",                                        \
    CUresult (*)(CUdeviceptr, unsigned, size_t, CUstream))                     \
  X(streamCreate, "cuStreamCreate", CUresult (*)(CUstream *, unsigned))        \
  X(streamDestroy, "cuStreamDestroy_v2", CUresult (*)(CUstream))               \
  X(streamSynchronize, "cuStreamSynchronize", CUresult (*)(CUstream))          \
  X(streamWaitEvent, "cuStreamWaitEvent",                                      \
    CUresult (*)(CUstream, CUevent, unsigned))                                 \
  X(eventCreate, "cuEventCreate", CUresult (*)(CUevent *, unsigned))           \
  X(eventDestroy, "cuEventDestroy_v2", CUresult (*)(CUevent))                  \
  X(eventRecord, "cuEventRecord", CUresult (*)(CUevent, CUstream))             \
  X(eventSynchronize, "cuEventSynchronize", CUresult (*)(CUevent))             \
  X(moduleLoadData, "cuModuleLoadData",                                        \
    CUresult (*)(CUmodule *, const void *))                                    \
  X(moduleLoadDataEx, "cuModuleLoadDataEx",                                    \
    CUresult (*)(CUmodule *, const void *, unsigned, int *, void **))          \
  X(moduleUnload, "cuModuleUnload", CUresult (*)(CUmodule))                    \
  X(moduleGetFunction, "cuModuleGetFunction",                                  \
    CUresult (*)(CUfunction *, CUmodule, const char *))                        \
  X(funcSetAttribute, "cuFuncSetAttribute",                                    \
    CUresult (*)(CUfunction, int, int))                                        \
  X(launchKernel, "cuLaunchKernel",                                            \
    CUresult (*)(CUfunction, unsigned, unsigned, unsigned, unsigned, unsigned, \
                 unsigned, unsigned, CUstream, void **, void **))

/// The loaded driver. Created once per process and never destroyed (so that
/// artifacts unloading their GPU code at exit still find it).
template <typename T>
using Identity = T;

struct Driver {
#define TMIXRT_CUDA_FIELD(field, symbol, type) Identity<type> field = nullptr;
  TMIXRT_CUDA_ENTRY_POINTS(TMIXRT_CUDA_FIELD)
#undef TMIXRT_CUDA_FIELD
  void *handle = nullptr;
  std::string path;
  int version = 0;
  int deviceCount = 0;
};

/// The driver, loading it and calling cuInit(0) on the first call of the
/// process (thread-safe). On failure returns null and sets `*status` (when
/// `status` is not null) to an UNAVAILABLE status saying why, prefixed with
/// `caller` and ": " when `caller` is not null.
const Driver *driver(const char *caller, tmixrt_status *status);

/// "CUDA_ERROR_OUT_OF_MEMORY (out of memory)", or "CUDA error 12345" for a
/// value the driver has no name for.
std::string describe(const Driver &driver, CUresult result);

/// The tmixrt code for a failed driver call.
tmixrt_code codeFor(CUresult result);

/// Null for CUDA_SUCCESS; otherwise a status "<what>: <describe(result)>".
tmixrt_status check(const Driver &driver, CUresult result, const char *what);

/// "cuda:1".
std::string deviceName(int32_t device);

/// Null when `device` is an ordinal of the loaded driver; otherwise
/// INVALID_ARGUMENT "<caller>: CUDA device 5 does not exist ...".
tmixrt_status checkDevice(const Driver &driver, const char *caller,
                          int32_t device);

/// The device the calling thread's work goes to: mgpuSetDefaultDevice's (or
/// a running CUDA call's) device, else the process default
/// (tmixrt_cuda_set_device, initially 0).
int32_t currentDevice();
void setProcessDevice(int32_t device);
/// Sets the calling thread's device; -1 returns to the process default.
void setThreadDevice(int32_t device);
int32_t threadDevice();

/// Makes the primary context of `device` current on the calling thread for
/// the scope's lifetime (cuCtxPushCurrent/cuCtxPopCurrent). The context is
/// retained on first use and kept for the life of the process.
class ScopedContext {
public:
  ScopedContext() = default;
  ScopedContext(const ScopedContext &) = delete;
  ScopedContext &operator=(const ScopedContext &) = delete;
  ~ScopedContext();
  /// Pushes the context; a status (prefixed with `caller`) on failure.
  tmixrt_status enter(const Driver &driver, const char *caller, int32_t device);

private:
  const Driver *driver = nullptr;
};

/// The largest dynamic shared memory a kernel may use on `device` (the
/// opt-in limit), cached per device; 0 when it cannot be queried.
int maxSharedMemoryPerBlock(const Driver &driver, int32_t device);

/// Frees the device memory of a tensor (ignores errors: a release cannot
/// fail).
void freeDeviceMemory(int32_t device, void *data);

/// Allocates a zeroed, owned device tensor (the implementation of
/// tmixrt_cuda_tensor_create, also used for the results of CUDA calls).
tmixrt_status createDeviceTensor(const char *caller, int32_t device,
                                 tmixrt_dtype dtype, size_t rank,
                                 const int64_t *shape, tmixrt_tensor **out);

//===----------------------------------------------------------------------===//
// The calling thread's sticky error, set by the mgpu* entry points
//===----------------------------------------------------------------------===//

/// Records `code` and the message unless an error is already pending (the
/// first error wins).
void recordError(tmixrt_code code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/// Records `status` (unless an error is pending) and frees it.
void recordStatus(tmixrt_status status);
bool errorPending();
/// The pending error as a status (null when none), clearing it.
tmixrt_status takeError();

/// Runs a CUDA function of an artifact on `device`: clears the thread's
/// sticky error, makes `device` the thread's device, and restores both when
/// destroyed. finish() returns the error the entry point left, if any.
class CallScope {
public:
  explicit CallScope(int32_t device);
  CallScope(const CallScope &) = delete;
  CallScope &operator=(const CallScope &) = delete;
  ~CallScope();
  tmixrt_status finish();

private:
  int32_t savedDevice;
};

} // namespace tmixrt::cuda

#endif // TMIXRT_SRC_CUDADRIVER_H
