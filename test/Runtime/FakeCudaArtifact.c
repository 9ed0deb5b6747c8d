/*===- FakeCudaArtifact.c - a hand-written artifact with CUDA functions ---===
 *
 * Stands in for tmix-compile --target=cuda in the runtime tests: ABI
 * metadata with CUDA (and one CPU) functions whose entry points do what
 * MLIR's gpu-to-llvm host code does. A constructor hands the GPU image to
 * mgpuModuleLoad (and a second copy to mgpuModuleLoadJIT) when the library is
 * loaded, a destructor gives both back with mgpuModuleUnload, and the entry
 * points look up kernels, create streams and events, allocate, copy, set and
 * free device memory and launch kernels through libtmixrt's mgpu* functions,
 * which this library links against.
 *
 * The image is PTX for sm_80 (it assembles with ptxas -arch=sm_80 and
 * sm_90), so the same artifact runs on a real GPU and on the fake driver of
 * FakeCudaDriver.c, which implements the two kernels on the host.
 *
 *   add(x: [?] f32, y: [?] f32) -> (z: [?] f32)          z = x + y
 *   combine(x: [?] f32, y: [?] f32) -> (z: [?] f32)      z = 2 x + 1 + y
 *       (a temporary set to 1 with mgpuMemset32, axpy into it on one stream,
 *       an event, a copy into z and an add on a second stream)
 *   add_jit: add, with the kernel of the module loaded by mgpuModuleLoadJIT
 *   fill_f16(x: [?] f16) -> (y: [?] f16)                 y = 1.0 (0x3C00)
 *   constant() -> (y: [4] f32)                            y = 3.0
 *   missing_kernel(x: [?] f32) -> (y: [?] f32)           asks for a kernel
 *       the module does not have
 *   twice(x: [?] f32) -> (y: [?] f32)                     on the CPU: y = 2 x
 * y, z and the second arguments have x's length.
 *
 * With FAKE_CUDA_WEIGHTS (tmix-run's --weights tests) it also has CUDA
 * functions with weight arguments, which bound weights (host tensors) cannot
 * feed directly:
 *
 *   bias2(w: [4] f32 "layer.w", x: [4] f32, b: [4] f32 "layer.b")
 *       -> (y: [4] f32)                                  y = (x + w) + b
 *   bias_twice(x: [4] f32, b: [4] f32 "layer.b", c: [4] f32 "layer.b")
 *       -> (y: [4] f32)                                  y = (x + b) + c
 *       (one weight of the file in two arguments)
 *===----------------------------------------------------------------------===*/

#include "tmixrt/abi.h"
#include "tmixrt/mgpu.h"
#include "tmixrt/tmixrt_cuda.h" /* unused: checks that it compiles as C */

#include <stddef.h>
#include <string.h>

#define EXPORT __attribute__((visibility("default")))

/* clang-format off */
static char ptx[] = /* not const: the mgpu* calls take void * */
    ".version 7.0\n"
    ".target sm_80\n"
    ".address_size 64\n"
    "\n"
    ".visible .entry tmix_add_f32(.param .u64 x, .param .u64 y, .param .u64 z,\n"
    "                             .param .u64 n)\n"
    "{\n"
    "  .reg .pred %p<2>;\n"
    "  .reg .b32 %r<4>;\n"
    "  .reg .b64 %rd<12>;\n"
    "  .reg .f32 %f<4>;\n"
    "  ld.param.u64 %rd1, [x];\n"
    "  ld.param.u64 %rd2, [y];\n"
    "  ld.param.u64 %rd3, [z];\n"
    "  ld.param.u64 %rd4, [n];\n"
    "  mov.u32 %r1, %ctaid.x;\n"
    "  mov.u32 %r2, %ntid.x;\n"
    "  mov.u32 %r3, %tid.x;\n"
    "  mul.wide.u32 %rd5, %r1, %r2;\n"
    "  cvt.u64.u32 %rd6, %r3;\n"
    "  add.u64 %rd5, %rd5, %rd6;\n"
    "  setp.ge.u64 %p1, %rd5, %rd4;\n"
    "  @%p1 bra DONE;\n"
    "  cvta.to.global.u64 %rd1, %rd1;\n"
    "  cvta.to.global.u64 %rd2, %rd2;\n"
    "  cvta.to.global.u64 %rd3, %rd3;\n"
    "  shl.b64 %rd7, %rd5, 2;\n"
    "  add.u64 %rd8, %rd1, %rd7;\n"
    "  add.u64 %rd9, %rd2, %rd7;\n"
    "  add.u64 %rd10, %rd3, %rd7;\n"
    "  ld.global.f32 %f1, [%rd8];\n"
    "  ld.global.f32 %f2, [%rd9];\n"
    "  add.rn.f32 %f3, %f1, %f2;\n"
    "  st.global.f32 [%rd10], %f3;\n"
    "DONE:\n"
    "  ret;\n"
    "}\n"
    "\n"
    ".visible .entry tmix_axpy_f32(.param .f32 a, .param .u64 x, .param .u64 y,\n"
    "                              .param .u64 n)\n"
    "{\n"
    "  .reg .pred %p<2>;\n"
    "  .reg .b32 %r<4>;\n"
    "  .reg .b64 %rd<12>;\n"
    "  .reg .f32 %f<5>;\n"
    "  ld.param.f32 %f1, [a];\n"
    "  ld.param.u64 %rd1, [x];\n"
    "  ld.param.u64 %rd2, [y];\n"
    "  ld.param.u64 %rd4, [n];\n"
    "  mov.u32 %r1, %ctaid.x;\n"
    "  mov.u32 %r2, %ntid.x;\n"
    "  mov.u32 %r3, %tid.x;\n"
    "  mul.wide.u32 %rd5, %r1, %r2;\n"
    "  cvt.u64.u32 %rd6, %r3;\n"
    "  add.u64 %rd5, %rd5, %rd6;\n"
    "  setp.ge.u64 %p1, %rd5, %rd4;\n"
    "  @%p1 bra DONE;\n"
    "  cvta.to.global.u64 %rd1, %rd1;\n"
    "  cvta.to.global.u64 %rd2, %rd2;\n"
    "  shl.b64 %rd7, %rd5, 2;\n"
    "  add.u64 %rd8, %rd1, %rd7;\n"
    "  add.u64 %rd9, %rd2, %rd7;\n"
    "  ld.global.f32 %f2, [%rd8];\n"
    "  ld.global.f32 %f3, [%rd9];\n"
    "  fma.rn.f32 %f4, %f1, %f2, %f3;\n"
    "  st.global.f32 [%rd9], %f4;\n"
    "DONE:\n"
    "  ret;\n"
    "}\n";
/* clang-format on */

static tmixrt_mgpu_module module;
static tmixrt_mgpu_module jit_module;

/* What MLIR puts in llvm.global_ctors / llvm.global_dtors. */
__attribute__((constructor)) static void load_gpu_modules(void) {
  module = mgpuModuleLoad(ptx, sizeof(ptx));
  jit_module = mgpuModuleLoadJIT(ptx, 2);
}

__attribute__((destructor)) static void unload_gpu_modules(void) {
  mgpuModuleUnload(module);
  mgpuModuleUnload(jit_module);
}

static void *data(const tmix_abi_memref_1 *m, size_t element_size) {
  return (char *)m->aligned + m->offset * (int64_t)element_size;
}

static void launch_add(tmixrt_mgpu_module from, void *x, void *y, void *z,
                       uint64_t n, tmixrt_mgpu_stream stream) {
  tmixrt_mgpu_function kernel = mgpuModuleGetFunction(from, "tmix_add_f32");
  void *params[] = {&x, &y, &z, &n};
  mgpuLaunchKernel(kernel, (intptr_t)((n + 127) / 128), 1, 1, 128, 1, 1, 0,
                   stream, params, NULL, 4);
}

static void launch_axpy(float a, void *x, void *y, uint64_t n,
                        tmixrt_mgpu_stream stream) {
  tmixrt_mgpu_function kernel = mgpuModuleGetFunction(module, "tmix_axpy_f32");
  void *params[] = {&a, &x, &y, &n};
  mgpuLaunchKernel(kernel, (intptr_t)((n + 63) / 64), 1, 1, 64, 1, 1, 0, stream,
                   params, NULL, 4);
}

static void add_with(tmixrt_mgpu_module from, void **args) {
  const tmix_abi_memref_1 *x = args[0], *y = args[1], *z = args[2];
  tmixrt_mgpu_stream stream = mgpuStreamCreate();
  launch_add(from, data(x, 4), data(y, 4), data(z, 4), (uint64_t)x->sizes[0],
             stream);
  mgpuStreamSynchronize(stream);
  mgpuStreamDestroy(stream);
}

static void add_entry(void **args) { add_with(module, args); }
static void add_jit_entry(void **args) { add_with(jit_module, args); }

static void combine_entry(void **args) {
  const tmix_abi_memref_1 *x = args[0], *y = args[1], *z = args[2];
  uint64_t n = (uint64_t)x->sizes[0];
  float one = 1.0f;
  unsigned one_bits;
  memcpy(&one_bits, &one, 4);
  tmixrt_mgpu_stream first = mgpuStreamCreate();
  tmixrt_mgpu_stream second = mgpuStreamCreate();
  void *tmp = mgpuMemAlloc(n * 4, first, false);
  mgpuMemset32(tmp, one_bits, n, first);        /* tmp = 1 */
  launch_axpy(2.0f, data(x, 4), tmp, n, first); /* tmp = 2x + 1 */
  tmixrt_mgpu_event ready = mgpuEventCreate();
  mgpuEventRecord(ready, first);
  mgpuStreamWaitEvent(second, ready);
  mgpuMemcpy(data(z, 4), tmp, n * 4, second);               /* z = tmp */
  launch_add(module, data(z, 4), data(y, 4), data(z, 4), n, /* z += y */
             second);
  mgpuStreamSynchronize(second);
  mgpuEventSynchronize(ready);
  mgpuEventDestroy(ready);
  mgpuMemFree(tmp, second);
  mgpuStreamDestroy(second);
  mgpuStreamDestroy(first);
}

static void fill_f16_entry(void **args) {
  const tmix_abi_memref_1 *y = args[1];
  tmixrt_mgpu_stream stream = mgpuStreamCreate();
  mgpuMemset16(data(y, 2), 0x3C00, (size_t)y->sizes[0], stream);
  mgpuStreamSynchronize(stream);
  mgpuStreamDestroy(stream);
}

static void constant_entry(void **args) {
  const tmix_abi_memref_1 *y = args[0];
  float three = 3.0f;
  unsigned bits;
  memcpy(&bits, &three, 4);
  tmixrt_mgpu_stream stream = mgpuStreamCreate();
  mgpuMemset32(data(y, 4), bits, (size_t)y->sizes[0], stream);
  mgpuStreamSynchronize(stream);
  mgpuStreamDestroy(stream);
}

static void missing_kernel_entry(void **args) {
  const tmix_abi_memref_1 *x = args[0], *y = args[1];
  uint64_t n = (uint64_t)x->sizes[0];
  void *in = data(x, 4), *out = data(y, 4);
  tmixrt_mgpu_stream stream = mgpuStreamCreate();
  tmixrt_mgpu_function kernel =
      mgpuModuleGetFunction(module, "tmix_no_such_kernel");
  void *params[] = {&in, &in, &out, &n};
  mgpuLaunchKernel(kernel, 1, 1, 1, 128, 1, 1, 0, stream, params, NULL, 4);
  mgpuStreamSynchronize(stream);
  mgpuStreamDestroy(stream);
}

#ifdef FAKE_CUDA_WEIGHTS
/* y = (first + second) + third, each a [4] f32 memref (args[3] is y). */
static void add3(const tmix_abi_memref_1 *first,
                 const tmix_abi_memref_1 *second,
                 const tmix_abi_memref_1 *third, const tmix_abi_memref_1 *y) {
  tmixrt_mgpu_stream stream = mgpuStreamCreate();
  launch_add(module, data(first, 4), data(second, 4), data(y, 4), 4, stream);
  launch_add(module, data(y, 4), data(third, 4), data(y, 4), 4, stream);
  mgpuStreamSynchronize(stream);
  mgpuStreamDestroy(stream);
}

static void bias2_entry(void **args) {
  add3(args[1], args[0], args[2], args[3]); /* (x + w) + b */
}

static void bias_twice_entry(void **args) {
  add3(args[0], args[1], args[2], args[3]); /* (x + b) + c */
}
#endif

static void twice_entry(void **args) {
  const tmix_abi_memref_1 *x = args[0], *y = args[1];
  const float *in = data(x, 4);
  float *out = data(y, 4);
  for (int64_t i = 0; i < x->sizes[0]; ++i)
    out[i * y->strides[0]] = 2.0f * in[i * x->strides[0]];
}

/* clang-format off */
#define DYN {-1, -1, -1}
#define STATIC(n) {n, -1, -1}
#define FROM(a, d) {-1, a, d}
/* clang-format on */

static const tmix_abi_dim free_length[] = {DYN};
static const tmix_abi_dim x_length[] = {FROM(0, 0)};
static const tmix_abi_dim four[] = {STATIC(4)};

static const tmix_abi_tensor binary_args[] = {
    {"x", NULL, TMIX_ABI_F32, 1, free_length},
    {"y", NULL, TMIX_ABI_F32, 1, x_length},
};
static const tmix_abi_tensor z_result[] = {
    {"z", NULL, TMIX_ABI_F32, 1, x_length}};
static const tmix_abi_tensor x_arg[] = {
    {"x", NULL, TMIX_ABI_F32, 1, free_length}};
static const tmix_abi_tensor y_result[] = {
    {"y", NULL, TMIX_ABI_F32, 1, x_length}};
static const tmix_abi_tensor x_f16_arg[] = {
    {"x", NULL, TMIX_ABI_F16, 1, free_length}};
static const tmix_abi_tensor y_f16_result[] = {
    {"y", NULL, TMIX_ABI_F16, 1, x_length}};
static const tmix_abi_tensor four_result[] = {
    {"y", NULL, TMIX_ABI_F32, 1, four}};
#ifdef FAKE_CUDA_WEIGHTS
static const tmix_abi_tensor bias2_args[] = {
    {"w", "layer.w", TMIX_ABI_F32, 1, four},
    {"x", NULL, TMIX_ABI_F32, 1, four},
    {"b", "layer.b", TMIX_ABI_F32, 1, four},
};
static const tmix_abi_tensor bias_twice_args[] = {
    {"x", NULL, TMIX_ABI_F32, 1, four},
    {"b", "layer.b", TMIX_ABI_F32, 1, four},
    {"c", "layer.b", TMIX_ABI_F32, 1, four},
};
#endif

static const tmix_abi_function functions[] = {
    {"add", TMIX_ABI_DEVICE_CUDA, 2, binary_args, 1, z_result, add_entry},
    {"combine", TMIX_ABI_DEVICE_CUDA, 2, binary_args, 1, z_result,
     combine_entry},
    {"add_jit", TMIX_ABI_DEVICE_CUDA, 2, binary_args, 1, z_result,
     add_jit_entry},
    {"fill_f16", TMIX_ABI_DEVICE_CUDA, 1, x_f16_arg, 1, y_f16_result,
     fill_f16_entry},
    {"constant", TMIX_ABI_DEVICE_CUDA, 0, NULL, 1, four_result, constant_entry},
    {"missing_kernel", TMIX_ABI_DEVICE_CUDA, 1, x_arg, 1, y_result,
     missing_kernel_entry},
    {"twice", TMIX_ABI_DEVICE_CPU, 1, x_arg, 1, y_result, twice_entry},
#ifdef FAKE_CUDA_WEIGHTS
    {"bias2", TMIX_ABI_DEVICE_CUDA, 3, bias2_args, 1, four_result, bias2_entry},
    {"bias_twice", TMIX_ABI_DEVICE_CUDA, 3, bias_twice_args, 1, four_result,
     bias_twice_entry},
#endif
};

static const tmix_abi_module abi_module = {
    .magic = TMIX_ABI_MAGIC,
    .version = TMIX_ABI_VERSION,
    .producer = "fake-cuda 1.0",
    .num_functions = sizeof(functions) / sizeof(functions[0]),
    .functions = functions,
    .set_num_threads = NULL,
};

EXPORT const tmix_abi_module *tmix_artifact_module(void) { return &abi_module; }
