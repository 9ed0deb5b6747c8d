/*===- tmixrt_cuda.h - the CUDA backend of the tmix runtime ---------------===
 *
 * libtmixrt links nothing CUDA. The first call that needs the GPU opens the
 * driver library with dlopen ("libcuda.so.1", or the file named by the
 * environment variable TMIXRT_CUDA_DRIVER), resolves the driver API entry
 * points it uses, calls cuInit(0) and counts the devices. The outcome is kept
 * for the life of the process: when it failed, every call below returns a
 * status with the same code and message, e.g.
 *   UNAVAILABLE "CUDA driver not found (libcuda.so.1: cannot open shared
 *               object file: No such file or directory)"
 *   UNAVAILABLE "no CUDA device (the CUDA driver 'libcuda.so.1' reports 0
 *               devices)"
 *   UNAVAILABLE "the CUDA driver '...' is unusable: it lacks cuMemAlloc_v2
 *               (...)"
 * prefixed with the name of the function that was called. Errors of driver
 * calls name the call and the driver's error name and string:
 *   "cuMemAlloc_v2: CUDA_ERROR_OUT_OF_MEMORY (out of memory)"
 * with code OUT_OF_MEMORY for CUDA_ERROR_OUT_OF_MEMORY, FAILED_PRECONDITION
 * when the GPU code does not fit the device (no binary for it, bad or too new
 * PTX), UNAVAILABLE for driver/device availability errors and INTERNAL for
 * everything else.
 *
 * Devices are numbered 0..count-1 like the driver's ordinals. Each device is
 * used through its primary context, retained on first use and kept for the
 * life of the process.
 *
 * Device tensors are tmixrt_tensor objects whose data is device memory (see
 * tmixrt_tensor_device); tmixrt_tensor_copy moves data between them and host
 * tensors. A CUDA function of an artifact is called with tmixrt_function_invoke
 * like a CPU function, with device tensors that all live on one device; its
 * results are created on that device. See docs/runtime.md, "CUDA backend".
 *===----------------------------------------------------------------------===*/

#ifndef TMIXRT_TMIXRT_CUDA_H
#define TMIXRT_TMIXRT_CUDA_H

#include "tmixrt/tmixrt.h"

#ifdef __cplusplus
extern "C" {
#endif

/*===----------------------------------------------------------------------===
 * Availability and devices
 *===----------------------------------------------------------------------===*/

/* Loads the driver when this is the first CUDA call of the process. NULL when
 * the driver is loaded and has at least one device; otherwise the status
 * every CUDA call returns (see above). */
TMIXRT_API tmixrt_status tmixrt_cuda_init(void);

/* 1 when tmixrt_cuda_init would succeed, 0 otherwise. */
TMIXRT_API int tmixrt_cuda_is_available(void);

/* The number of devices (>= 1 on success). */
TMIXRT_API tmixrt_status tmixrt_cuda_device_count(int32_t *count);

/* The driver's version, e.g. 13000 for CUDA 13.0 (cuDriverGetVersion; 0 when
 * the driver does not say). */
TMIXRT_API tmixrt_status tmixrt_cuda_driver_version(int32_t *version);

typedef struct tmixrt_cuda_device_properties {
  char name[256];                   /* e.g. "NVIDIA H200", NUL-terminated */
  int32_t compute_capability_major; /* 9 for sm_90 */
  int32_t compute_capability_minor; /* 0 for sm_90 */
  uint64_t total_memory;            /* bytes */
  /* The most dynamic shared memory one block may use (opt-in limit). */
  int32_t max_shared_memory_per_block;
} tmixrt_cuda_device_properties;

/* Describes device `device`; INVALID_ARGUMENT for an ordinal out of range. */
TMIXRT_API tmixrt_status tmixrt_cuda_device_properties_get(
    int32_t device, tmixrt_cuda_device_properties *out);

/* Makes `device` the process' current device: the device of new work when
 * nothing else says (calls without arguments, mgpu* calls of threads that
 * did not call mgpuSetDefaultDevice). Initially 0. The calling thread drops
 * its own mgpuSetDefaultDevice choice and follows the process' device. */
TMIXRT_API tmixrt_status tmixrt_cuda_set_device(int32_t device);

/* The calling thread's current device (see tmixrt_cuda_set_device). */
TMIXRT_API tmixrt_status tmixrt_cuda_get_device(int32_t *device);

/* Waits for all work on `device` (cuCtxSynchronize), and reports the first
 * asynchronous error of that work. */
TMIXRT_API tmixrt_status tmixrt_cuda_synchronize(int32_t device);

/*===----------------------------------------------------------------------===
 * Device tensors
 *===----------------------------------------------------------------------===*/

/* Creates a tensor that owns zeroed memory of device `device` (cuMemAlloc;
 * at least one byte, so the data pointer is never NULL). dtype, rank and
 * shape are checked as by tmixrt_tensor_create (INVALID_ARGUMENT); a full
 * device gives OUT_OF_MEMORY. tmixrt_tensor_release frees the memory. */
TMIXRT_API tmixrt_status tmixrt_cuda_tensor_create(int32_t device,
                                                   tmixrt_dtype dtype,
                                                   size_t rank,
                                                   const int64_t *shape,
                                                   tmixrt_tensor **out);

/*===----------------------------------------------------------------------===
 * Streams
 *===----------------------------------------------------------------------===*/

typedef struct tmixrt_cuda_stream tmixrt_cuda_stream;

/* Creates a non-blocking stream on `device`. */
TMIXRT_API tmixrt_status tmixrt_cuda_stream_create(int32_t device,
                                                   tmixrt_cuda_stream **out);

/* Destroys the stream after its work completes (cuStreamDestroy returns at
 * once; the driver releases the stream then). NULL is a no-op. The status
 * reports a failure of the driver call; the stream is freed either way. */
TMIXRT_API tmixrt_status tmixrt_cuda_stream_destroy(tmixrt_cuda_stream *stream);

/* Waits for all work queued on the stream. */
TMIXRT_API tmixrt_status
tmixrt_cuda_stream_synchronize(tmixrt_cuda_stream *stream);

/* The stream's device; -1 for NULL. */
TMIXRT_API int32_t tmixrt_cuda_stream_device(const tmixrt_cuda_stream *stream);

/* The driver's CUstream, for use with other CUDA code; NULL for NULL. */
TMIXRT_API void *tmixrt_cuda_stream_handle(const tmixrt_cuda_stream *stream);

/* Like tmixrt_tensor_copy, but queued on `stream` and returning at once. At
 * least one tensor must be a device tensor on the stream's device (two host
 * tensors: use tmixrt_tensor_copy). Both tensors must stay alive and
 * unchanged until the stream has been synchronized. */
TMIXRT_API tmixrt_status tmixrt_tensor_copy_async(tmixrt_tensor *dst,
                                                  const tmixrt_tensor *src,
                                                  tmixrt_cuda_stream *stream);

/*===----------------------------------------------------------------------===
 * Errors of the mgpu* entry points (tmixrt/mgpu.h)
 *===----------------------------------------------------------------------===*/

/* The calling thread's pending mgpu* error (the first since the last take),
 * or NULL; clears it. tmixrt_function_invoke does this itself around a call
 * of a CUDA function; this is for code that calls the mgpu* entry points
 * directly. */
TMIXRT_API tmixrt_status tmixrt_cuda_take_error(void);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* TMIXRT_TMIXRT_CUDA_H */
