/*===- FakeVariantArtifact.c - one-function artifacts, good and broken ----===
 *
 * Without a FAKE_* definition this is a well-formed artifact with one function,
 *
 *   twice(x: [?, 2] f32) -> (y: [?, 2] f32)   y = 2 x, y dim 0 = x dim 0
 *
 * and no set_num_threads. Each FAKE_* definition (see CMakeLists.txt) breaks
 * one thing the loader must refuse, except FAKE_TWO_DEVICES, which adds the
 * same function on CUDA (what tmix-compile --target=cpu,cuda writes).
 *===----------------------------------------------------------------------===*/

#include "tmixrt/abi.h"

#include <stddef.h>

#define EXPORT __attribute__((visibility("default")))
/* Some variants leave a definition unreferenced. */
#define MAYBE_UNUSED __attribute__((unused))

MAYBE_UNUSED static void twice_entry(void **args) {
  const tmix_abi_memref_2 *x = args[0], *y = args[1];
  const float *in = (const float *)x->aligned + x->offset;
  float *out = (float *)y->aligned + y->offset;
  for (int64_t i = 0; i < x->sizes[0]; ++i)
    for (int64_t j = 0; j < x->sizes[1]; ++j)
      out[i * y->strides[0] + j * y->strides[1]] =
          2.0f * in[i * x->strides[0] + j * x->strides[1]];
}

#if defined(FAKE_BAD_RANK)
#define X_RANK 99
#else
#define X_RANK 2
#endif

#if defined(FAKE_NULL_DIMS)
#define X_DIMS NULL
#else
#define X_DIMS x_dims
#endif

#if defined(FAKE_BAD_DTYPE)
#define X_DTYPE 42
#else
#define X_DTYPE TMIX_ABI_F32
#endif

#if defined(FAKE_NULL_NAME)
#define Y_NAME NULL
#else
#define Y_NAME "y"
#endif

#if defined(FAKE_BAD_DEVICE)
#define DEVICE 9
#else
#define DEVICE TMIX_ABI_DEVICE_CPU
#endif

#if defined(FAKE_NULL_ENTRY)
#define ENTRY NULL
#else
#define ENTRY twice_entry
#endif

MAYBE_UNUSED static const tmix_abi_dim x_dims[] = {
#if defined(FAKE_ARG_SELF_REF)
    {-1, 0, 0}, /* an argument dim may only name an earlier argument */
#else
    {-1, -1, -1},
#endif
    {2, -1, -1}};
static const tmix_abi_dim y_dims[] = {
#if defined(FAKE_BAD_ARG_REF)
    {-1, 7, 0},
#elif defined(FAKE_BAD_DIM_REF)
    {-1, 0, 5},
#elif defined(FAKE_NEGATIVE_SIZE)
    {-5, -1, -1},
#else
    {-1, 0, 0},
#endif
    {2, -1, -1}};

static const tmix_abi_tensor args[] = {{"x", NULL, X_DTYPE, X_RANK, X_DIMS}};
static const tmix_abi_tensor results[] = {
    {Y_NAME, NULL, TMIX_ABI_F32, 2, y_dims}};

MAYBE_UNUSED static const tmix_abi_function functions[] = {
    {"twice", DEVICE, 1, args, 1, results, ENTRY},
#if defined(FAKE_DUPLICATE_NAME)
    {"twice", TMIX_ABI_DEVICE_CPU, 1, args, 1, results, twice_entry},
#endif
#if defined(FAKE_TWO_DEVICES)
    /* Well-formed: a CPU+CUDA artifact has each name once per device (the
     * entry is never called: the tests run no CUDA function). */
    {"twice", TMIX_ABI_DEVICE_CUDA, 1, args, 1, results, twice_entry},
#endif
};

MAYBE_UNUSED static const tmix_abi_module module = {
#if defined(FAKE_BAD_MAGIC)
    0xDEADBEEFu,
#else
    TMIX_ABI_MAGIC,
#endif
#if defined(FAKE_BAD_VERSION)
    TMIX_ABI_VERSION + 1,
#else
    TMIX_ABI_VERSION,
#endif
    NULL, /* no producer string */
#if defined(FAKE_NULL_FUNCTIONS)
    3,
    NULL,
#else
    sizeof(functions) / sizeof(functions[0]),
    functions,
#endif
    NULL,
};

EXPORT const tmix_abi_module *tmix_artifact_module(void) {
#if defined(FAKE_NULL_MODULE)
  return NULL;
#else
  return &module;
#endif
}
