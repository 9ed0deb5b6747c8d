/*===- FakeWeightsArtifact.c - a hand-written artifact with weights -------===
 *
 * Functions whose arguments are weights (tmix_abi_tensor.weight_name set),
 * for the weight-binding tests. Each entry computes something the tests
 * recompute from the values they wrote into the .safetensors file:
 *
 *   affine(x: [?, 3] f32, w: [3] f32 "stages.0.norm.weight",
 *          b: [3] f32 "stages.0.norm.bias") -> (y: [?, 3] f32)
 *       y[i][j] = x[i][j] * w[j] + b[j]
 *   scale(w: [3] f32 "stages.0.norm.weight", x: [3] f32) -> (y: [3] f32)
 *       y[j] = w[j] * x[j]           (shares its weight with affine)
 *   mixed(t: [2] i64 "head.table", x: [2] f32, h: [2, 2] f16 "head.half",
 *         g: [2] bf16 "head.gain", k: [] i32 "head.k") -> (y: [2] f32)
 *       y[i] = x[i] * (h[i][0] + h[i][1]) * g[i] + t[i] + k
 *   plain(x: [2] f32) -> (y: [2] f32)
 *       y = x + 1                    (no weights)
 *
 * With FAKE_DYNAMIC_WEIGHT it also has
 *
 *   dynamic(w: [?] f32 "dyn.w", x: [?] f32) -> (y: [?] f32)
 *
 * whose weight has a dynamic shape, which binding must refuse.
 *===----------------------------------------------------------------------===*/

#include "tmixrt/abi.h"

#include <stddef.h>
#include <string.h>

#define EXPORT __attribute__((visibility("default")))

/* Observations. */
EXPORT int fake_calls = 0;
EXPORT tmix_abi_memref_1 fake_last_affine_w;
EXPORT tmix_abi_memref_1 fake_last_affine_b;

static float f32_at1(const tmix_abi_memref_1 *m, int64_t i) {
  return ((const float *)m->aligned)[m->offset + i * m->strides[0]];
}

static float half_to_float(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
  uint32_t exponent = (h >> 10) & 0x1fu, mantissa = h & 0x3ffu, bits;
  float value;
  if (exponent == 0) {
    /* Zero or subnormal: mantissa * 2^-24. */
    value = (float)mantissa * (1.0f / 16777216.0f);
    return sign ? -value : value;
  }
  if (exponent == 0x1f)
    bits = sign | 0x7f800000u | (mantissa << 13);
  else
    bits = sign | ((exponent + 112) << 23) | (mantissa << 13);
  memcpy(&value, &bits, sizeof(value));
  return value;
}

static float bf16_to_float(uint16_t b) {
  uint32_t bits = (uint32_t)b << 16;
  float value;
  memcpy(&value, &bits, sizeof(value));
  return value;
}

static void affine_entry(void **args) {
  const tmix_abi_memref_2 *x = args[0], *y = args[3];
  const tmix_abi_memref_1 *w = args[1], *b = args[2];
  ++fake_calls;
  fake_last_affine_w = *w;
  fake_last_affine_b = *b;
  for (int64_t i = 0; i < x->sizes[0]; ++i)
    for (int64_t j = 0; j < x->sizes[1]; ++j) {
      float in =
          ((const float *)
               x->aligned)[x->offset + i * x->strides[0] + j * x->strides[1]];
      ((float *)y->aligned)[y->offset + i * y->strides[0] + j * y->strides[1]] =
          in * f32_at1(w, j) + f32_at1(b, j);
    }
}

static void scale_entry(void **args) {
  const tmix_abi_memref_1 *w = args[0], *x = args[1], *y = args[2];
  ++fake_calls;
  for (int64_t j = 0; j < x->sizes[0]; ++j)
    ((float *)y->aligned)[y->offset + j * y->strides[0]] =
        f32_at1(w, j) * f32_at1(x, j);
}

static void mixed_entry(void **args) {
  const tmix_abi_memref_1 *t = args[0], *x = args[1], *g = args[3];
  const tmix_abi_memref_2 *h = args[2];
  const tmix_abi_memref_0 *k = args[4];
  const tmix_abi_memref_1 *y = args[5];
  ++fake_calls;
  for (int64_t i = 0; i < 2; ++i) {
    const uint16_t *hs = (const uint16_t *)h->aligned + h->offset;
    float hsum = half_to_float(hs[i * h->strides[0]]) +
                 half_to_float(hs[i * h->strides[0] + h->strides[1]]);
    float gain = bf16_to_float(
        ((const uint16_t *)g->aligned)[g->offset + i * g->strides[0]]);
    int64_t table =
        ((const int64_t *)t->aligned)[t->offset + i * t->strides[0]];
    int32_t kv = ((const int32_t *)k->aligned)[k->offset];
    ((float *)y->aligned)[y->offset + i * y->strides[0]] =
        f32_at1(x, i) * hsum * gain + (float)table + (float)kv;
  }
}

static void plain_entry(void **args) {
  const tmix_abi_memref_1 *x = args[0], *y = args[1];
  ++fake_calls;
  for (int64_t i = 0; i < x->sizes[0]; ++i)
    ((float *)y->aligned)[y->offset + i * y->strides[0]] = f32_at1(x, i) + 1.0f;
}

#ifdef FAKE_DYNAMIC_WEIGHT
static void dynamic_entry(void **args) {
  (void)args;
  ++fake_calls;
}
#endif

/* clang-format off */
#define DYN {-1, -1, -1}
#define STATIC(n) {n, -1, -1}
#define FROM(a, d) {-1, a, d}
/* clang-format on */

static const tmix_abi_dim rows3[] = {DYN, STATIC(3)};
static const tmix_abi_dim rows3_from_x[] = {FROM(0, 0), STATIC(3)};
static const tmix_abi_dim three[] = {STATIC(3)};
static const tmix_abi_dim two[] = {STATIC(2)};
static const tmix_abi_dim two_by_two[] = {STATIC(2), STATIC(2)};

static const tmix_abi_tensor affine_args[] = {
    {"x", NULL, TMIX_ABI_F32, 2, rows3},
    {"w", "stages.0.norm.weight", TMIX_ABI_F32, 1, three},
    {"b", "stages.0.norm.bias", TMIX_ABI_F32, 1, three},
};
static const tmix_abi_tensor affine_results[] = {
    {"y", NULL, TMIX_ABI_F32, 2, rows3_from_x}};

static const tmix_abi_tensor scale_args[] = {
    {"w", "stages.0.norm.weight", TMIX_ABI_F32, 1, three},
    {"x", NULL, TMIX_ABI_F32, 1, three},
};
static const tmix_abi_tensor scale_results[] = {
    {"y", NULL, TMIX_ABI_F32, 1, three}};

static const tmix_abi_tensor mixed_args[] = {
    {"t", "head.table", TMIX_ABI_I64, 1, two},
    {"x", NULL, TMIX_ABI_F32, 1, two},
    {"h", "head.half", TMIX_ABI_F16, 2, two_by_two},
    {"g", "head.gain", TMIX_ABI_BF16, 1, two},
    {"k", "head.k", TMIX_ABI_I32, 0, NULL},
};
static const tmix_abi_tensor two_results[] = {
    {"y", NULL, TMIX_ABI_F32, 1, two}};

static const tmix_abi_tensor plain_args[] = {{"x", NULL, TMIX_ABI_F32, 1, two}};

#ifdef FAKE_DYNAMIC_WEIGHT
static const tmix_abi_dim vector_dyn[] = {DYN};
static const tmix_abi_dim vector_from_x[] = {FROM(1, 0)};
static const tmix_abi_tensor dynamic_args[] = {
    {"w", "dyn.w", TMIX_ABI_F32, 1, vector_dyn},
    {"x", NULL, TMIX_ABI_F32, 1, vector_dyn},
};
static const tmix_abi_tensor dynamic_results[] = {
    {"y", NULL, TMIX_ABI_F32, 1, vector_from_x}};
#endif

static const tmix_abi_function functions[] = {
    {"affine", TMIX_ABI_DEVICE_CPU, 3, affine_args, 1, affine_results,
     affine_entry},
    {"scale", TMIX_ABI_DEVICE_CPU, 2, scale_args, 1, scale_results,
     scale_entry},
    {"mixed", TMIX_ABI_DEVICE_CPU, 5, mixed_args, 1, two_results, mixed_entry},
    {"plain", TMIX_ABI_DEVICE_CPU, 1, plain_args, 1, two_results, plain_entry},
#ifdef FAKE_DYNAMIC_WEIGHT
    {"dynamic", TMIX_ABI_DEVICE_CPU, 2, dynamic_args, 1, dynamic_results,
     dynamic_entry},
#endif
};

static const tmix_abi_module module = {
    .magic = TMIX_ABI_MAGIC,
    .version = TMIX_ABI_VERSION,
    .producer = "fake-weights 1.0",
    .num_functions = sizeof(functions) / sizeof(functions[0]),
    .functions = functions,
    .set_num_threads = NULL,
};

EXPORT const tmix_abi_module *tmix_artifact_module(void) { return &module; }
