/*===- mgpu.h - the GPU entry points MLIR's host code calls ---------------===
 *
 * MLIR lowers gpu.launch_func, gpu.alloc, gpu.memcpy, gpu.wait, ... (the
 * gpu-to-llvm pass) to calls of these functions, with exactly these
 * signatures (those of LLVM 22's CudaRuntimeWrappers.cpp). libtmixrt exports
 * them over the CUDA driver, so artifacts with CUDA functions need no other
 * runtime library; their references to these symbols resolve against
 * libtmixrt when it is loaded globally (linked into the program) or when the
 * artifact itself depends on libtmixrt.so.
 *
 * None of them returns a status. A failure instead records an error in the
 * calling thread's error slot (the first one wins) and the function returns
 * NULL or does nothing; nothing aborts, prints, or crashes, also when the
 * driver or a device is missing. While an error is pending, the functions
 * that queue work on the device (mgpuLaunchKernel, mgpuMemcpy, mgpuMemset*)
 * do nothing, so that a kernel never runs on a buffer that failed to
 * allocate; the others (creating, synchronizing, destroying, freeing) still
 * run so that resources are released. tmixrt_function_invoke clears the slot
 * before it calls a CUDA function and turns a pending error into the call's
 * status afterwards; other callers use tmixrt_cuda_take_error.
 *
 * Work goes to the calling thread's current device: the one of the CUDA call
 * in progress (the arguments' device), else the last mgpuSetDefaultDevice of
 * the thread, else the process' (tmixrt_cuda_set_device).
 *
 * Modules: mgpuModuleLoad and mgpuModuleLoadJIT only copy the image (MLIR
 * calls them from the artifact's constructor, when dlopen runs, and no
 * driver is needed then); each device loads it at the first
 * mgpuModuleGetFunction that runs there. A failed load is reported by that
 * call. The handle is libtmixrt's own, not a driver CUmodule.
 *===----------------------------------------------------------------------===*/

#ifndef TMIXRT_MGPU_H
#define TMIXRT_MGPU_H

#include "tmixrt/tmixrt.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The driver's handles, under cuda.h's struct tags (so that these are
 * cuda.h's CUfunction, CUstream and CUevent), and libtmixrt's module. */
typedef struct tmixrt_mgpu_module_st *tmixrt_mgpu_module;
typedef struct CUfunc_st *tmixrt_mgpu_function;
typedef struct CUstream_st *tmixrt_mgpu_stream;
typedef struct CUevent_st *tmixrt_mgpu_event;

/* Copies a cubin, fatbin or PTX image of `gpuBlobSize` bytes. NULL (and an
 * error) for a NULL or empty image. */
TMIXRT_API tmixrt_mgpu_module mgpuModuleLoad(void *data, size_t gpuBlobSize);

/* Copies NUL-terminated PTX that the driver compiles (cuModuleLoadDataEx) with
 * optimization level `optLevel` (0..4); the compiler's log ends up in the
 * error of a failed load. */
TMIXRT_API tmixrt_mgpu_module mgpuModuleLoadJIT(void *data, int optLevel);

/* Unloads the module from every device it was loaded on and frees the
 * handle. NULL is a no-op. */
TMIXRT_API void mgpuModuleUnload(tmixrt_mgpu_module module);

/* The kernel `name` of the module on the current device, loading the module
 * there first if needed. NULL (and an error) when the module is NULL, fails
 * to load, or has no such kernel. */
TMIXRT_API tmixrt_mgpu_function mgpuModuleGetFunction(tmixrt_mgpu_module module,
                                                      const char *name);

/* cuLaunchKernel on the current device. `params` points to the kernel's
 * `paramsCount` arguments. A grid or block with a zero extent launches
 * nothing (and is not an error); a negative or too large extent, a NULL
 * function, or more dynamic shared memory (`smem` bytes) than the device
 * allows is an error. Above 48 KiB the kernel is opted in to its `smem`. */
TMIXRT_API void mgpuLaunchKernel(tmixrt_mgpu_function function, intptr_t gridX,
                                 intptr_t gridY, intptr_t gridZ,
                                 intptr_t blockX, intptr_t blockY,
                                 intptr_t blockZ, int32_t smem,
                                 tmixrt_mgpu_stream stream, void **params,
                                 void **extra, size_t paramsCount);

/* A non-blocking stream on the current device. */
TMIXRT_API tmixrt_mgpu_stream mgpuStreamCreate(void);
/* NULL is a no-op. */
TMIXRT_API void mgpuStreamDestroy(tmixrt_mgpu_stream stream);
/* Waits for the stream's work; reports its asynchronous errors. NULL waits
 * for the legacy default stream. */
TMIXRT_API void mgpuStreamSynchronize(tmixrt_mgpu_stream stream);
/* Makes future work of `stream` wait for `event`. */
TMIXRT_API void mgpuStreamWaitEvent(tmixrt_mgpu_stream stream,
                                    tmixrt_mgpu_event event);

/* An event without timing on the current device. */
TMIXRT_API tmixrt_mgpu_event mgpuEventCreate(void);
/* NULL is a no-op. */
TMIXRT_API void mgpuEventDestroy(tmixrt_mgpu_event event);
TMIXRT_API void mgpuEventSynchronize(tmixrt_mgpu_event event);
TMIXRT_API void mgpuEventRecord(tmixrt_mgpu_event event,
                                tmixrt_mgpu_stream stream);

/* `sizeBytes` of device memory on the current device (managed memory, which
 * the host can access too, when `isHostShared`); NULL for 0 bytes (not an
 * error) and on failure. The stream is not used: the allocation is
 * immediate. */
TMIXRT_API void *mgpuMemAlloc(uint64_t sizeBytes, tmixrt_mgpu_stream stream,
                              bool isHostShared);
/* Frees memory of mgpuMemAlloc (waits for the device like cuMemFree). NULL is
 * a no-op. */
TMIXRT_API void mgpuMemFree(void *ptr, tmixrt_mgpu_stream stream);
/* Copies `sizeBytes` on `stream`; either pointer may be host or device
 * memory (unified addressing). */
TMIXRT_API void mgpuMemcpy(void *dst, void *src, size_t sizeBytes,
                           tmixrt_mgpu_stream stream);
/* Sets `count` 32-bit (16-bit) words at `dst` to `value`, on `stream`. */
TMIXRT_API void mgpuMemset32(void *dst, unsigned int value, size_t count,
                             tmixrt_mgpu_stream stream);
TMIXRT_API void mgpuMemset16(void *dst, unsigned short value, size_t count,
                             tmixrt_mgpu_stream stream);

/* Makes `device` the calling thread's current device (a negative value is
 * an error); a CUDA call in progress overrides it for its duration. */
TMIXRT_API void mgpuSetDefaultDevice(int32_t device);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* TMIXRT_MGPU_H */
