/*===- abi.h - the tmix compiled-artifact ABI ------------------------------===
 *
 * The one contract between code generation (tmix-compile) and the loader
 * (libtmixrt). Dependency-free C, included by both; nothing else is shared.
 *
 * An artifact is a shared library exporting one symbol,
 *
 *     const tmix_abi_module *tmix_artifact_module(void);
 *
 * returning static, immutable metadata: a magic number, the ABI version, and
 * one entry per exported function. The loader refuses a library without the
 * symbol, with another magic, or with a version it does not understand.
 *
 * Calling convention of an entry point (`tmix_abi_function.entry`):
 *
 *     void entry(void **args);
 *
 * `args` holds `num_args + num_results` pointers, in order: one per argument,
 * then one per result. Each points to a memref descriptor of the tensor's
 * rank R (tmix_abi_memref_R below: allocated pointer, aligned pointer, element
 * offset, R sizes, R strides, all in elements). Results are written into
 * buffers the caller allocated (destination passing); the caller computes
 * their dynamic sizes from `tmix_abi_dim.arg`/`.dim` before the call.
 * Entry points never allocate memory they return and never abort.
 *===----------------------------------------------------------------------===*/

#ifndef TMIXRT_ABI_H
#define TMIXRT_ABI_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TMIX_ABI_MAGIC 0x31584D54u /* "TMX1" little-endian */
#define TMIX_ABI_VERSION 1u
#define TMIX_ABI_MODULE_SYMBOL "tmix_artifact_module"

/* Element types. Values are stable across ABI versions. */
typedef enum tmix_abi_dtype {
  TMIX_ABI_F32 = 1,
  TMIX_ABI_F16 = 2,
  TMIX_ABI_BF16 = 3,
  TMIX_ABI_I32 = 4,
  TMIX_ABI_I64 = 5,
} tmix_abi_dtype;

/* The device an entry point's buffers must live on. */
typedef enum tmix_abi_device {
  TMIX_ABI_DEVICE_CPU = 1,
  TMIX_ABI_DEVICE_CUDA = 2,
} tmix_abi_device;

/* One dimension of a tensor's shape: `size` >= 0 when static. When dynamic,
 * `size` is -1 and (`arg`, `dim`) may name an argument dimension it equals:
 * - for a result, the argument dim its size is taken from (`arg` = -1 when
 *   it is not derived from an input; such functions cannot be called through
 *   this ABI version);
 * - for an argument, an EARLIER argument's dim that it must equal (e.g. the
 *   value length equals the key length), which the loader checks before a
 *   call; `arg` = `dim` = -1 when the size is free. */
typedef struct tmix_abi_dim {
  int64_t size;
  int32_t arg;
  int32_t dim;
} tmix_abi_dim;

typedef struct tmix_abi_tensor {
  const char *name;         /* argument/result name, never null */
  const char *weight_name;  /* tensor name in a weight file, or null */
  uint32_t dtype;           /* tmix_abi_dtype */
  uint32_t rank;
  const tmix_abi_dim *dims; /* `rank` entries */
} tmix_abi_tensor;

typedef struct tmix_abi_function {
  const char *name;
  uint32_t device; /* tmix_abi_device */
  uint32_t num_args;
  const tmix_abi_tensor *args;
  uint32_t num_results;
  const tmix_abi_tensor *results;
  void (*entry)(void **args);
} tmix_abi_function;

typedef struct tmix_abi_module {
  uint32_t magic;   /* TMIX_ABI_MAGIC */
  uint32_t version; /* TMIX_ABI_VERSION */
  const char *producer; /* e.g. "tmix-compile 0.1 (LLVM 22)" */
  uint32_t num_functions;
  const tmix_abi_function *functions;
  /* Sets the number of threads compiled code may use (<= 0: all cores).
   * May be null when the artifact is single-threaded. */
  void (*set_num_threads)(int32_t);
} tmix_abi_module;

typedef const tmix_abi_module *(*tmix_abi_module_fn)(void);

/* Memref descriptors as the compiled code reads them. */
#define TMIX_ABI_DEFINE_MEMREF(R)                                              \
  typedef struct tmix_abi_memref_##R {                                         \
    void *allocated;                                                           \
    void *aligned;                                                             \
    int64_t offset;                                                            \
    int64_t sizes[R];                                                          \
    int64_t strides[R];                                                        \
  } tmix_abi_memref_##R;
TMIX_ABI_DEFINE_MEMREF(1)
TMIX_ABI_DEFINE_MEMREF(2)
TMIX_ABI_DEFINE_MEMREF(3)
TMIX_ABI_DEFINE_MEMREF(4)
TMIX_ABI_DEFINE_MEMREF(5)
TMIX_ABI_DEFINE_MEMREF(6)
#undef TMIX_ABI_DEFINE_MEMREF

/* A rank-0 memref has no sizes or strides. */
typedef struct tmix_abi_memref_0 {
  void *allocated;
  void *aligned;
  int64_t offset;
} tmix_abi_memref_0;

#define TMIX_ABI_MAX_RANK 6

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* TMIXRT_ABI_H */
