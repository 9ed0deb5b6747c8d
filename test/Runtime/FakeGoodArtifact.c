/*===- FakeGoodArtifact.c - a hand-written, well-formed tmix artifact -----===
 *
 * Stands in for tmix-compile's output in the runtime tests: the metadata of
 * abi.h and entry points following its memref-descriptor convention, written
 * by hand. The `fake_*` globals let the tests observe what the runtime passed
 * (they dlopen this library again and dlsym them).
 *
 *   add(x: [?, 4] f32, y: [?, 4] f32) -> (z: [?, 4] f32)   z dim 0 = x dim 0
 *   scale4(x: [1, 2, ?, 3] f32) -> (y: [1, 2, ?, 3] f32)   y = 2 x + 1
 *   stats(x: [?, 4] f32) -> (rowsum: [?] f32, rowmax: [?] f32)
 *   isum(v: [?] i32) -> (total: [] i64)
 *   matvec(w: [3, 2] f32 (weight "layer0.w"), v: [2] f32) -> (out: [3] f32)
 *   to_bf16(x: [?] f32) -> (y: [?] bf16)
 *   gpu_add: add's signature, on CUDA
 *   unsized(x: [4] f32) -> (y: [?] f32)  y dim 0 not derived: not callable
 *===----------------------------------------------------------------------===*/

#include "tmixrt/abi.h"

#include <stddef.h>

#define EXPORT __attribute__((visibility("default")))

/* Observations. */
EXPORT int32_t fake_num_threads = -12345;
EXPORT int fake_calls = 0;
EXPORT int fake_cuda_calls = 0;
EXPORT int fake_add_size_mismatch = 0;
EXPORT tmix_abi_memref_2 fake_last_add_x;
EXPORT tmix_abi_memref_2 fake_last_add_z;
EXPORT tmix_abi_memref_4 fake_last_scale4_x;
EXPORT tmix_abi_memref_4 fake_last_scale4_y;

static float *at2(const tmix_abi_memref_2 *m, int64_t i, int64_t j) {
  return (float *)m->aligned + m->offset + i * m->strides[0] +
         j * m->strides[1];
}

static void add_entry(void **args) {
  const tmix_abi_memref_2 *x = args[0], *y = args[1], *z = args[2];
  ++fake_calls;
  fake_last_add_x = *x;
  fake_last_add_z = *z;
  if (y->sizes[0] != x->sizes[0] || z->sizes[0] != x->sizes[0]) {
    /* ABI v1 cannot express that x and y share dim 0; be defensive. */
    fake_add_size_mismatch = 1;
    return;
  }
  for (int64_t i = 0; i < x->sizes[0]; ++i)
    for (int64_t j = 0; j < x->sizes[1]; ++j)
      *at2(z, i, j) = *at2(x, i, j) + *at2(y, i, j);
}

static void scale4_entry(void **args) {
  const tmix_abi_memref_4 *x = args[0], *y = args[1];
  ++fake_calls;
  fake_last_scale4_x = *x;
  fake_last_scale4_y = *y;
  for (int64_t a = 0; a < x->sizes[0]; ++a)
    for (int64_t b = 0; b < x->sizes[1]; ++b)
      for (int64_t c = 0; c < x->sizes[2]; ++c)
        for (int64_t d = 0; d < x->sizes[3]; ++d) {
          const float *in = (const float *)x->aligned + x->offset +
                            a * x->strides[0] + b * x->strides[1] +
                            c * x->strides[2] + d * x->strides[3];
          float *out = (float *)y->aligned + y->offset + a * y->strides[0] +
                       b * y->strides[1] + c * y->strides[2] +
                       d * y->strides[3];
          *out = 2.0f * *in + 1.0f;
        }
}

static void stats_entry(void **args) {
  const tmix_abi_memref_2 *x = args[0];
  const tmix_abi_memref_1 *sum = args[1], *max = args[2];
  ++fake_calls;
  for (int64_t i = 0; i < x->sizes[0]; ++i) {
    float s = 0.0f, m = *at2(x, i, 0);
    for (int64_t j = 0; j < x->sizes[1]; ++j) {
      float v = *at2(x, i, j);
      s += v;
      m = v > m ? v : m;
    }
    ((float *)sum->aligned)[sum->offset + i * sum->strides[0]] = s;
    ((float *)max->aligned)[max->offset + i * max->strides[0]] = m;
  }
}

static void isum_entry(void **args) {
  const tmix_abi_memref_1 *v = args[0];
  const tmix_abi_memref_0 *total = args[1];
  int64_t s = 0;
  ++fake_calls;
  for (int64_t i = 0; i < v->sizes[0]; ++i)
    s += ((const int32_t *)v->aligned)[v->offset + i * v->strides[0]];
  ((int64_t *)total->aligned)[total->offset] = s;
}

static void matvec_entry(void **args) {
  const tmix_abi_memref_2 *w = args[0];
  const tmix_abi_memref_1 *v = args[1], *out = args[2];
  ++fake_calls;
  for (int64_t i = 0; i < w->sizes[0]; ++i) {
    float s = 0.0f;
    for (int64_t j = 0; j < w->sizes[1]; ++j)
      s += *at2(w, i, j) *
           ((const float *)v->aligned)[v->offset + j * v->strides[0]];
    ((float *)out->aligned)[out->offset + i * out->strides[0]] = s;
  }
}

static void to_bf16_entry(void **args) {
  const tmix_abi_memref_1 *x = args[0], *y = args[1];
  ++fake_calls;
  for (int64_t i = 0; i < x->sizes[0]; ++i) {
    union {
      float f;
      uint32_t u;
    } bits;
    bits.f = ((const float *)x->aligned)[x->offset + i * x->strides[0]];
    /* Round to nearest even (finite inputs only in the tests). */
    uint32_t rounded = bits.u + 0x7fffu + ((bits.u >> 16) & 1u);
    ((uint16_t *)y->aligned)[y->offset + i * y->strides[0]] =
        (uint16_t)(rounded >> 16);
  }
}

static void gpu_add_entry(void **args) {
  (void)args;
  ++fake_cuda_calls;
}

static void unsized_entry(void **args) {
  (void)args;
  ++fake_calls;
}

static void set_num_threads(int32_t n) { fake_num_threads = n; }

/* clang-format off */
#define DYN {-1, -1, -1}
#define STATIC(n) {n, -1, -1}
#define FROM(a, d) {-1, a, d}
/* clang-format on */

static const tmix_abi_dim row4[] = {DYN, STATIC(4)};
static const tmix_abi_dim row4_from_x[] = {FROM(0, 0), STATIC(4)};
static const tmix_abi_tensor add_args[] = {
    {"x", NULL, TMIX_ABI_F32, 2, row4},
    {"y", NULL, TMIX_ABI_F32, 2, row4_from_x},
};
static const tmix_abi_tensor add_results[] = {
    {"z", NULL, TMIX_ABI_F32, 2, row4_from_x},
};

static const tmix_abi_dim scale4_in[] = {STATIC(1), STATIC(2), DYN, STATIC(3)};
static const tmix_abi_dim scale4_out[] = {STATIC(1), STATIC(2), FROM(0, 2),
                                          STATIC(3)};
static const tmix_abi_tensor scale4_args[] = {
    {"x", NULL, TMIX_ABI_F32, 4, scale4_in}};
static const tmix_abi_tensor scale4_results[] = {
    {"y", NULL, TMIX_ABI_F32, 4, scale4_out}};

static const tmix_abi_dim rows_from_x[] = {FROM(0, 0)};
static const tmix_abi_tensor stats_results[] = {
    {"rowsum", NULL, TMIX_ABI_F32, 1, rows_from_x},
    {"rowmax", NULL, TMIX_ABI_F32, 1, rows_from_x},
};

static const tmix_abi_dim vector_dyn[] = {DYN};
static const tmix_abi_tensor isum_args[] = {
    {"v", NULL, TMIX_ABI_I32, 1, vector_dyn}};
static const tmix_abi_tensor isum_results[] = {
    {"total", NULL, TMIX_ABI_I64, 0, NULL}};

static const tmix_abi_dim w_dims[] = {STATIC(3), STATIC(2)};
static const tmix_abi_dim v_dims[] = {STATIC(2)};
static const tmix_abi_dim out_dims[] = {STATIC(3)};
static const tmix_abi_tensor matvec_args[] = {
    {"w", "layer0.w", TMIX_ABI_F32, 2, w_dims},
    {"v", NULL, TMIX_ABI_F32, 1, v_dims},
};
static const tmix_abi_tensor matvec_results[] = {
    {"out", NULL, TMIX_ABI_F32, 1, out_dims}};

static const tmix_abi_tensor to_bf16_args[] = {
    {"x", NULL, TMIX_ABI_F32, 1, vector_dyn}};
static const tmix_abi_tensor to_bf16_results[] = {
    {"y", NULL, TMIX_ABI_BF16, 1, rows_from_x}};

static const tmix_abi_dim four[] = {STATIC(4)};
static const tmix_abi_dim not_derived[] = {{-1, -1, -1}};
static const tmix_abi_tensor unsized_args[] = {
    {"x", NULL, TMIX_ABI_F32, 1, four}};
static const tmix_abi_tensor unsized_results[] = {
    {"y", NULL, TMIX_ABI_F32, 1, not_derived}};

static const tmix_abi_function functions[] = {
    {"add", TMIX_ABI_DEVICE_CPU, 2, add_args, 1, add_results, add_entry},
    {"scale4", TMIX_ABI_DEVICE_CPU, 1, scale4_args, 1, scale4_results,
     scale4_entry},
    {"stats", TMIX_ABI_DEVICE_CPU, 1, add_args, 2, stats_results, stats_entry},
    {"isum", TMIX_ABI_DEVICE_CPU, 1, isum_args, 1, isum_results, isum_entry},
    {"matvec", TMIX_ABI_DEVICE_CPU, 2, matvec_args, 1, matvec_results,
     matvec_entry},
    {"to_bf16", TMIX_ABI_DEVICE_CPU, 1, to_bf16_args, 1, to_bf16_results,
     to_bf16_entry},
    {"gpu_add", TMIX_ABI_DEVICE_CUDA, 2, add_args, 1, add_results,
     gpu_add_entry},
    {"unsized", TMIX_ABI_DEVICE_CPU, 1, unsized_args, 1, unsized_results,
     unsized_entry},
};

static const tmix_abi_module module = {
    .magic = TMIX_ABI_MAGIC,
    .version = TMIX_ABI_VERSION,
    .producer = "fake-good 1.0",
    .num_functions = sizeof(functions) / sizeof(functions[0]),
    .functions = functions,
    .set_num_threads = set_num_threads,
};

EXPORT const tmix_abi_module *tmix_artifact_module(void) { return &module; }
