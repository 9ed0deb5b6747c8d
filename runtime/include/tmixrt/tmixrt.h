/*===- tmixrt.h - the tmix runtime C API -----------------------------------===
 *
 * libtmixrt loads compiled tmix artifacts (shared libraries that follow
 * tmixrt/abi.h), checks calls against the functions' signatures and runs
 * them. It is plain C on the outside and C++17 without exceptions inside; it
 * needs neither LLVM nor MLIR.
 *
 * Conventions:
 *  - Every fallible call returns a `tmixrt_status`: NULL means OK; anything
 *    else carries a code and a one-line message and must be freed with
 *    tmixrt_status_free(). The library never aborts and never prints.
 *  - Objects are opaque handles. Reference-counted ones have
 *    `_retain`/`_release`; creating or loading returns one reference.
 *    `_release(NULL)` is a no-op.
 *  - Out-parameters are set to NULL (or left untouched for plain values) on
 *    failure, and nothing the caller passed is modified by a failed call.
 *  - Strings returned by the library are borrowed: they live as long as the
 *    object they were obtained from.
 *
 * See docs/runtime.md for an overview and an example.
 *===----------------------------------------------------------------------===*/

#ifndef TMIXRT_TMIXRT_H
#define TMIXRT_TMIXRT_H

#include <stddef.h>
#include <stdint.h>

#if defined(TMIXRT_BUILDING_LIBRARY)
#define TMIXRT_API __attribute__((visibility("default")))
#else
#define TMIXRT_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/*===----------------------------------------------------------------------===
 * Status
 *===----------------------------------------------------------------------===*/

/* Status codes. TMIXRT_OK is only ever returned for a NULL status. */
typedef enum tmixrt_code {
  TMIXRT_OK = 0,
  /* The caller passed something wrong: a null pointer, a tensor of the wrong
   * shape, a file that is not a tmix artifact, a malformed .npy file. */
  TMIXRT_INVALID_ARGUMENT = 1,
  /* A file or a function of that name does not exist. */
  TMIXRT_NOT_FOUND = 2,
  /* The request is valid but cannot be honored in the current state, e.g. an
   * artifact built for another ABI version, or a function whose result shape
   * cannot be computed before the call. */
  TMIXRT_FAILED_PRECONDITION = 3,
  /* A feature this build of libtmixrt does not have (e.g. the CUDA backend). */
  TMIXRT_UNAVAILABLE = 4,
  /* A bug, or an I/O error the library cannot classify. */
  TMIXRT_INTERNAL = 5,
  /* A memory allocation failed. */
  TMIXRT_OUT_OF_MEMORY = 6,
  /* Not a code: makes every 32-bit value a valid tmixrt_code, so that a
   * caller passing an unknown value is not undefined behavior in C++. */
  TMIXRT_CODE_MAX_ENUM = 0x7FFFFFFF,
} tmixrt_code;

/* A failure: NULL means OK. */
typedef struct tmixrt_status_t *tmixrt_status;

/* The status' code; TMIXRT_OK for NULL. */
TMIXRT_API tmixrt_code tmixrt_status_code(tmixrt_status status);

/* The status' one-line message (no trailing newline); "OK" for NULL. Valid
 * until the status is freed. */
TMIXRT_API const char *tmixrt_status_message(tmixrt_status status);

/* Frees a status; NULL is a no-op. */
TMIXRT_API void tmixrt_status_free(tmixrt_status status);

/* Creates a status with `code` and a copy of `message`, for code built on top
 * of the runtime that reports errors the same way. Returns NULL for
 * TMIXRT_OK. Never fails: when memory is short the result is a shared
 * TMIXRT_OUT_OF_MEMORY status (which tmixrt_status_free accepts). */
TMIXRT_API tmixrt_status tmixrt_status_create(tmixrt_code code,
                                              const char *message);

/* The code's name, e.g. "INVALID_ARGUMENT"; "UNKNOWN" for other values. */
TMIXRT_API const char *tmixrt_code_name(tmixrt_code code);

/*===----------------------------------------------------------------------===
 * Element types and devices (the values of tmix_abi_dtype/tmix_abi_device)
 *===----------------------------------------------------------------------===*/

typedef enum tmixrt_dtype {
  TMIXRT_F32 = 1,
  TMIXRT_F16 = 2,
  TMIXRT_BF16 = 3,
  TMIXRT_I32 = 4,
  TMIXRT_I64 = 5,
  TMIXRT_DTYPE_MAX_ENUM = 0x7FFFFFFF, /* not a dtype (see tmixrt_code) */
} tmixrt_dtype;

typedef enum tmixrt_device {
  TMIXRT_DEVICE_CPU = 1,
  TMIXRT_DEVICE_CUDA = 2,
  TMIXRT_DEVICE_MAX_ENUM = 0x7FFFFFFF, /* not a device (see tmixrt_code) */
} tmixrt_device;

/* The largest tensor rank the runtime handles (TMIX_ABI_MAX_RANK). */
#define TMIXRT_MAX_RANK 6

/* "f32", "f16", "bf16", "i32", "i64"; "unknown" for other values. */
TMIXRT_API const char *tmixrt_dtype_name(tmixrt_dtype dtype);

/* Bytes per element; 0 for unknown values. */
TMIXRT_API size_t tmixrt_dtype_size(tmixrt_dtype dtype);

/* "cpu", "cuda"; "unknown" for other values. */
TMIXRT_API const char *tmixrt_device_name(tmixrt_device device);

/*===----------------------------------------------------------------------===
 * Tensors: dense, row-major, contiguous buffers on the host or on a CUDA
 * device (device tensors: tmixrt/tmixrt_cuda.h)
 *===----------------------------------------------------------------------===*/

typedef struct tmixrt_tensor tmixrt_tensor;

/* Creates a tensor that owns a zeroed, 64-byte aligned buffer. `shape` has
 * `rank` (<= TMIXRT_MAX_RANK) non-negative entries; it may be NULL when rank
 * is 0 (a scalar). Fails with INVALID_ARGUMENT for a bad dtype, rank or
 * shape, or a size that overflows, and OUT_OF_MEMORY when allocation fails. */
TMIXRT_API tmixrt_status tmixrt_tensor_create(tmixrt_dtype dtype, size_t rank,
                                              const int64_t *shape,
                                              tmixrt_tensor **out);

/* Creates a tensor over memory the caller owns and keeps alive (and does not
 * free) while the tensor exists. `data` is row-major and contiguous and must
 * be aligned to the element size; it may be NULL only when the tensor has no
 * elements. */
TMIXRT_API tmixrt_status tmixrt_tensor_wrap(tmixrt_dtype dtype, size_t rank,
                                            const int64_t *shape, void *data,
                                            tmixrt_tensor **out);

/* Adds a reference. */
TMIXRT_API void tmixrt_tensor_retain(tmixrt_tensor *tensor);

/* Drops a reference; the last one frees the tensor (and its buffer when the
 * tensor owns it). NULL is a no-op. */
TMIXRT_API void tmixrt_tensor_release(tmixrt_tensor *tensor);

TMIXRT_API tmixrt_dtype tmixrt_tensor_dtype(const tmixrt_tensor *tensor);
TMIXRT_API size_t tmixrt_tensor_rank(const tmixrt_tensor *tensor);
/* The `rank` sizes; never NULL, even for a scalar. */
TMIXRT_API const int64_t *tmixrt_tensor_shape(const tmixrt_tensor *tensor);
/* The element buffer (row-major, contiguous). For a device tensor, a CUDA
 * device address the host must not dereference. */
TMIXRT_API void *tmixrt_tensor_data(const tmixrt_tensor *tensor);
/* Number of elements (1 for a scalar). */
TMIXRT_API size_t tmixrt_tensor_element_count(const tmixrt_tensor *tensor);
/* element_count * dtype size. */
TMIXRT_API size_t tmixrt_tensor_byte_size(const tmixrt_tensor *tensor);
/* 1 when the tensor owns its buffer (tmixrt_tensor_create), 0 when it wraps
 * caller memory (tmixrt_tensor_wrap). */
TMIXRT_API int tmixrt_tensor_is_owned(const tmixrt_tensor *tensor);
/* Where the buffer lives: TMIXRT_DEVICE_CPU for host tensors
 * (tmixrt_tensor_create/_wrap), TMIXRT_DEVICE_CUDA for device tensors
 * (tmixrt_cuda_tensor_create); 0 for NULL. */
TMIXRT_API tmixrt_device tmixrt_tensor_device(const tmixrt_tensor *tensor);
/* The CUDA device ordinal of a device tensor; -1 for host tensors and NULL. */
TMIXRT_API int32_t tmixrt_tensor_device_ordinal(const tmixrt_tensor *tensor);

/* Copies the elements of `src` into `dst`, in any direction: host to host,
 * host to device, device to host, device to device (one device). Both must
 * have the same dtype and shape (INVALID_ARGUMENT showing both otherwise).
 * Returns when the copy is complete. Copies that involve a device need the
 * CUDA backend (UNAVAILABLE without it); host-to-host copies do not. */
TMIXRT_API tmixrt_status tmixrt_tensor_copy(tmixrt_tensor *dst,
                                            const tmixrt_tensor *src);

/*===----------------------------------------------------------------------===
 * Modules: loaded artifacts
 *===----------------------------------------------------------------------===*/

typedef struct tmixrt_module tmixrt_module;
typedef struct tmixrt_function tmixrt_function;

typedef struct tmixrt_module_options {
  /* 0: leave the artifact's default. Otherwise passed to the artifact's
   * set_num_threads right after loading (< 0: all cores). */
  int32_t num_threads;
} tmixrt_module_options;

/* Fills `options` with the defaults. */
TMIXRT_API void tmixrt_module_options_init(tmixrt_module_options *options);

/* Loads the artifact at `path` (dlopen with RTLD_NOW | RTLD_LOCAL), finds
 * TMIX_ABI_MODULE_SYMBOL, checks magic and ABI version and validates all
 * metadata. `options` may be NULL for the defaults. Fails with
 *  - NOT_FOUND when `path` does not exist,
 *  - INVALID_ARGUMENT when it is not a loadable shared library, does not
 *    export the symbol, has another magic number or malformed metadata,
 *  - FAILED_PRECONDITION when its ABI version is not TMIX_ABI_VERSION.
 * The messages name the path and the values found and expected. */
TMIXRT_API tmixrt_status
tmixrt_module_load(const char *path, const tmixrt_module_options *options,
                   tmixrt_module **out);

/* Adds a reference. */
TMIXRT_API void tmixrt_module_retain(tmixrt_module *module);

/* Drops a reference; the last one unloads the library. Function handles and
 * every string obtained from the module become invalid then. NULL is a
 * no-op. */
TMIXRT_API void tmixrt_module_release(tmixrt_module *module);

/* The path the module was loaded from. */
TMIXRT_API const char *tmixrt_module_path(const tmixrt_module *module);

/* The artifact's producer string (e.g. "tmix-compile 0.1 (LLVM 22)"), "" when
 * the artifact gives none. */
TMIXRT_API const char *tmixrt_module_producer(const tmixrt_module *module);

/* Passes `num_threads` (<= 0: all cores) to the artifact's set_num_threads;
 * does nothing for single-threaded artifacts. Not safe to call while a
 * function of the module runs. */
TMIXRT_API tmixrt_status tmixrt_module_set_num_threads(tmixrt_module *module,
                                                       int32_t num_threads);

/* 1 when the artifact has a set_num_threads hook, 0 otherwise. */
TMIXRT_API int tmixrt_module_is_multithreaded(const tmixrt_module *module);

/* Number of functions, in the artifact's order. */
TMIXRT_API size_t tmixrt_module_function_count(const tmixrt_module *module);

/* The index-th function, or NULL when index >= count. The handle is borrowed
 * from the module. */
TMIXRT_API const tmixrt_function *
tmixrt_module_function_at(const tmixrt_module *module, size_t index);

/* Finds a function by name. NOT_FOUND names the function and lists the
 * available ones. An artifact compiled for the CPU and CUDA
 * (tmix-compile --target=cpu,cuda) has each function twice, once per
 * device, under the same name; this returns the first, the CPU one. */
TMIXRT_API tmixrt_status tmixrt_module_lookup(const tmixrt_module *module,
                                              const char *name,
                                              const tmixrt_function **out);

/* Finds the function `name` compiled for `device`. NOT_FOUND says on which
 * devices the function exists instead, or lists the available functions. */
TMIXRT_API tmixrt_status tmixrt_module_lookup_device(
    const tmixrt_module *module, const char *name, tmixrt_device device,
    const tmixrt_function **out);

/*===----------------------------------------------------------------------===
 * Functions: signatures and calls
 *===----------------------------------------------------------------------===*/

/* One argument or result of a function's signature. */
typedef struct tmixrt_tensor_info {
  const char *name;        /* never NULL */
  const char *weight_name; /* name in a weight file, or NULL */
  tmixrt_dtype dtype;
  size_t rank;
  /* `rank` sizes; -1 marks a dynamic dimension. */
  const int64_t *shape;
  /* For results: for each dynamic dimension, the argument index and the
   * argument dimension it equals (-1, -1 when it is not derived from an
   * argument; such functions cannot be called). -1 for static dimensions and
   * for all argument dimensions. */
  const int32_t *source_arg;
  const int32_t *source_dim;
} tmixrt_tensor_info;

TMIXRT_API const char *tmixrt_function_name(const tmixrt_function *fn);
TMIXRT_API tmixrt_device tmixrt_function_device(const tmixrt_function *fn);
TMIXRT_API size_t tmixrt_function_num_args(const tmixrt_function *fn);
TMIXRT_API size_t tmixrt_function_num_results(const tmixrt_function *fn);
/* The index-th argument/result, or NULL when out of range. Borrowed from the
 * module. */
TMIXRT_API const tmixrt_tensor_info *
tmixrt_function_arg(const tmixrt_function *fn, size_t index);
TMIXRT_API const tmixrt_tensor_info *
tmixrt_function_result(const tmixrt_function *fn, size_t index);

/* Writes the signature, e.g.
 *   add(x: [?, 4] f32, y: [?, 4] f32) -> (z: [?, 4] f32)
 * to `buffer` like snprintf: at most `capacity` bytes including the
 * terminating NUL, and returns the length of the full string. */
TMIXRT_API size_t tmixrt_function_format_signature(const tmixrt_function *fn,
                                                   char *buffer,
                                                   size_t capacity);

/* Checks `args` like tmixrt_function_invoke and writes the shape of result
 * `result_index` (its rank is tmixrt_function_result(fn, i)->rank) to
 * `shape`, which has room for `capacity` entries. */
TMIXRT_API tmixrt_status tmixrt_function_result_shape(
    const tmixrt_function *fn, tmixrt_tensor *const *args, size_t num_args,
    size_t result_index, int64_t *shape, size_t capacity);

/* Calls `fn`. `args` has one of two forms (see "Weights" below):
 *  - all tmixrt_function_num_args(fn) arguments in signature order, where a
 *    weight argument may be NULL to take it from the weight file bound to the
 *    module (a non-NULL tensor there is used instead of the bound one);
 *  - for a function with weight arguments, only its non-weight arguments in
 *    signature order (num_args == num_args(fn) - num_weights(fn)); every
 *    weight then comes from the bound file.
 * A NULL weight slot or the short form without a bound file is an
 * INVALID_ARGUMENT error that names the weight and says how to bind one.
 * All checks come first, and nothing is called or written unless they all
 * pass:
 *  - for a CUDA function, the CUDA backend is available (UNAVAILABLE with
 *    the reason: no driver, no device; see tmixrt/tmixrt_cuda.h),
 *  - num_args (in one of the two forms)/num_results match the signature,
 *  - every argument is non-NULL (or bound) and has the signature's dtype,
 *    rank and static sizes (a message names the argument and shows the
 *    expected and the given shape),
 *  - every result's shape can be computed (static, or equal to an argument
 *    dimension),
 *  - every argument lives where the function runs: on the host for a CPU
 *    function; on one CUDA device for a CUDA function (the call runs on that
 *    device; the current device of tmixrt_cuda_set_device when there are no
 *    arguments).
 * Then it creates the results (owned tensors, on the call's CUDA device for
 * a CUDA function; the caller releases them),
 * stores them in `results[0..num_results)` and calls the entry point. On
 * failure every results[i] is set to NULL. Arguments are read only. */
TMIXRT_API tmixrt_status tmixrt_function_invoke(const tmixrt_function *fn,
                                                tmixrt_tensor *const *args,
                                                size_t num_args,
                                                tmixrt_tensor **results,
                                                size_t num_results);

/* Like tmixrt_function_invoke, but writes into caller-provided result
 * tensors, which are checked the same way (dtype, rank, and every size,
 * including the dynamic ones computed from the arguments, and the device)
 * and must not overlap an argument or each other. Useful to reuse buffers
 * across calls. */
TMIXRT_API tmixrt_status tmixrt_function_invoke_into(
    const tmixrt_function *fn, tmixrt_tensor *const *args, size_t num_args,
    tmixrt_tensor *const *results, size_t num_results);

/* The number of weight arguments of `fn` (those with a weight_name); the
 * short call form passes the other num_args - num_weights. */
TMIXRT_API size_t tmixrt_function_num_weights(const tmixrt_function *fn);

/*===----------------------------------------------------------------------===
 * Weights: .safetensors files bound to a module's weight arguments
 *
 * An argument whose tmixrt_tensor_info has a weight_name (set by
 * `tmix.weight = "stages.0.norm.weight"` on the function argument) is a
 * weight: a tensor of fixed name, dtype and static shape that a weight file
 * supplies. tmixrt_weights_open maps a .safetensors file read-only (no copy)
 * after checking all of it; tmixrt_module_bind_weights checks it against
 * every weight argument of every function of a module and binds it; calls
 * then take their weights from it (see tmixrt_function_invoke).
 *===----------------------------------------------------------------------===*/

typedef struct tmixrt_weights tmixrt_weights;

/* One tensor of a weight file. */
typedef struct tmixrt_weight_info {
  const char *name;
  /* The file's dtype: "F32", "F16", "BF16", "I32", "I64", or one tmix has no
   * tensors of ("F64", "I8", "BOOL", "F8_E4M3", ...). */
  const char *dtype_name;
  /* The tmix dtype, or 0 when tmix has none for dtype_name. Such tensors can
   * be inspected; binding one to an argument is an error. */
  tmixrt_dtype dtype;
  size_t rank;
  /* `rank` sizes (any rank up to 64); never NULL. */
  const int64_t *shape;
  /* The elements as stored (row-major, little-endian): `byte_size` bytes,
   * aligned to the element size, never NULL (even when empty). Read only. */
  const void *data;
  size_t byte_size;
  /* 1 when `data` points into the file's mapping; 0 when the tensor was not
   * aligned to its element size there and `data` is an aligned copy. */
  int mapped;
} tmixrt_weight_info;

/* Opens and memory-maps the .safetensors file at `path` and checks all of it
 * before returning: the 8-byte header length (within the file, at most
 * 100,000,000), the JSON header (strict RFC 8259, nesting and size bounded),
 * each entry (an object with exactly "dtype", "shape" and "data_offsets", a
 * known safetensors dtype, non-negative integer sizes whose byte count does
 * not overflow, 0 <= begin <= end <= data size, end - begin == the byte
 * count), unique names, and a data section the tensors cover exactly (no
 * overlap, no hole, nothing after the last). "__metadata__", when present,
 * must map strings to strings. Fails with NOT_FOUND when the file does not
 * exist and INVALID_ARGUMENT otherwise; the message names the file and the
 * tensor or field at fault. Tensors whose data is misaligned in the file are
 * copied into aligned memory (see tmixrt_weight_info.mapped); nothing else
 * is read or copied.
 *
 * The file must not be truncated or modified while it is open: as with any
 * mapping, the process could then read changed data or receive SIGBUS. */
TMIXRT_API tmixrt_status tmixrt_weights_open(const char *path,
                                             tmixrt_weights **out);

/* Adds a reference. */
TMIXRT_API void tmixrt_weights_retain(tmixrt_weights *weights);

/* Drops a reference; the last one unmaps the file. Bound modules hold their
 * own reference. NULL is a no-op. */
TMIXRT_API void tmixrt_weights_release(tmixrt_weights *weights);

/* The path the file was opened from. */
TMIXRT_API const char *tmixrt_weights_path(const tmixrt_weights *weights);

/* Number of tensors, in the order of the file's header. */
TMIXRT_API size_t tmixrt_weights_count(const tmixrt_weights *weights);

/* The index-th tensor, or NULL when index >= count. Borrowed from `weights`,
 * like the data it points to. */
TMIXRT_API const tmixrt_weight_info *
tmixrt_weights_at(const tmixrt_weights *weights, size_t index);

/* Finds a tensor by name; NOT_FOUND names the tensor and the file. */
TMIXRT_API tmixrt_status tmixrt_weights_lookup(const tmixrt_weights *weights,
                                               const char *name,
                                               const tmixrt_weight_info **out);

/* The "__metadata__" entries: their number, the index-th key (NULL when out
 * of range) and the value of a key (NULL when absent). */
TMIXRT_API size_t
tmixrt_weights_metadata_count(const tmixrt_weights *weights);
TMIXRT_API const char *
tmixrt_weights_metadata_key(const tmixrt_weights *weights, size_t index);
TMIXRT_API const char *tmixrt_weights_metadata(const tmixrt_weights *weights,
                                               const char *key);

/* Binds `weights` to `module`. Every weight argument of every function of
 * the module is checked: the file has a tensor of its weight_name, of the
 * same dtype and the same shape (weight arguments must have static shapes:
 * a dynamic dimension is itself a problem), and every tensor of the file is
 * used by at least one weight argument. All problems (missing, mismatched,
 * unsupported dtype, dynamic, unused) go into one INVALID_ARGUMENT status
 * that lists them (the first 20, then "... and N more"), and then nothing
 * changes. On success the module holds a reference to `weights` and the
 * binding replaces any previous one atomically: a call that runs
 * concurrently uses either the old or the new file, entirely. NULL `weights`
 * removes the binding. Safe to call while functions of the module run. */
TMIXRT_API tmixrt_status tmixrt_module_bind_weights(tmixrt_module *module,
                                                    tmixrt_weights *weights);

/* The weight file bound to `module` with one new reference (release it), or
 * NULL when none is bound. */
TMIXRT_API tmixrt_weights *tmixrt_module_bound_weights(tmixrt_module *module);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* TMIXRT_TMIXRT_H */
