/*===- FakeCudaDriver.c - a CUDA driver library over host memory ----------===
 *
 * Stands in for libcuda.so.1 in the runtime tests (TMIXRT_CUDA_DRIVER names
 * it), so that libtmixrt's CUDA backend runs for real on machines without a
 * GPU. It exports the driver API entry points libtmixrt resolves, with the
 * driver's error codes and names, and checks what a driver checks: cuInit
 * first, a current context for work, live handles, device pointers inside
 * live allocations.
 *
 * Device memory is host memory behind fake device addresses at 2^52 and up,
 * which are not canonical x86-64 addresses: a host dereference of a device
 * pointer crashes instead of silently working. Managed memory is plain host
 * memory. All work is done synchronously when it is queued.
 *
 * Kernels: a module image is accepted when it contains ".entry"; it has the
 * kernels below whose ".entry NAME" it contains (the PTX of the fake CUDA
 * artifact, which runs unchanged on a real device), implemented here:
 *   tmix_add_f32(const float *x, const float *y, float *z, uint64_t n)
 *       z[i] = x[i] + y[i]
 *   tmix_axpy_f32(float a, const float *x, float *y, uint64_t n)
 *       y[i] = a * x[i] + y[i]
 * for i = blockIdx.x * blockDim.x + threadIdx.x < n.
 *
 * Switches (environment variables, read when used):
 *   FAKE_CUDA_INIT_RESULT=N     cuInit returns N
 *   FAKE_CUDA_DEVICE_COUNT=N    devices (default 1, at most 8; 0: none)
 *   FAKE_CUDA_MEMORY_BYTES=N    memory per device (default 1 GiB): larger
 *                               allocations give CUDA_ERROR_OUT_OF_MEMORY
 *   FAKE_CUDA_LAUNCH_RESULT=N   cuLaunchKernel returns N
 *   FAKE_CUDA_MODULE_RESULT=N   cuModuleLoadData(Ex) return N
 *   FAKE_CUDA_LAUNCH_LOG=FILE   any other kernel whose ".entry NAME(" the
 *                               image contains (what tmix-compile
 *                               --target=cuda --gpu-format=isa embeds) can
 *                               be looked up and launched: a launch does
 *                               nothing but append a line
 *                                 launch NAME grid X Y Z block X Y Z shared N
 *                                 params P0 P1 ...
 *                               to FILE (the host code's launch geometry
 *                               and arguments, checked by lit tests); the
 *                               parameter sizes come from the .entry's
 *                               .param list, and each 8-byte argument is
 *                               logged as "dev" (inside a live allocation),
 *                               "bad" (a device address outside them) or
 *                               its value as a signed integer
 * Built with FAKE_CUDA_OMIT_MEMALLOC, it lacks cuMemAlloc_v2.
 *
 * Observers for the tests (fake_cuda_*) count live objects and launches.
 *===----------------------------------------------------------------------===*/

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXPORT __attribute__((visibility("default")))

typedef int CUresult;
typedef int CUdevice;
typedef unsigned long long CUdeviceptr;

enum {
  CUDA_SUCCESS = 0,
  CUDA_ERROR_INVALID_VALUE = 1,
  CUDA_ERROR_OUT_OF_MEMORY = 2,
  CUDA_ERROR_NOT_INITIALIZED = 3,
  CUDA_ERROR_NO_DEVICE = 100,
  CUDA_ERROR_INVALID_DEVICE = 101,
  CUDA_ERROR_INVALID_IMAGE = 200,
  CUDA_ERROR_INVALID_CONTEXT = 201,
  CUDA_ERROR_NO_BINARY_FOR_GPU = 209,
  CUDA_ERROR_INVALID_PTX = 218,
  CUDA_ERROR_INVALID_HANDLE = 400,
  CUDA_ERROR_NOT_FOUND = 500,
  CUDA_ERROR_ILLEGAL_ADDRESS = 700,
  CUDA_ERROR_LAUNCH_FAILED = 719,
  CUDA_ERROR_SYSTEM_DRIVER_MISMATCH = 803,
  CUDA_ERROR_UNKNOWN = 999,
};

static const struct {
  CUresult code;
  const char *name;
  const char *text;
} errors[] = {
    {CUDA_SUCCESS, "CUDA_SUCCESS", "no error"},
    {CUDA_ERROR_INVALID_VALUE, "CUDA_ERROR_INVALID_VALUE", "invalid argument"},
    {CUDA_ERROR_OUT_OF_MEMORY, "CUDA_ERROR_OUT_OF_MEMORY", "out of memory"},
    {CUDA_ERROR_NOT_INITIALIZED, "CUDA_ERROR_NOT_INITIALIZED",
     "initialization error"},
    {CUDA_ERROR_NO_DEVICE, "CUDA_ERROR_NO_DEVICE",
     "no CUDA-capable device is detected"},
    {CUDA_ERROR_INVALID_DEVICE, "CUDA_ERROR_INVALID_DEVICE",
     "invalid device ordinal"},
    {CUDA_ERROR_INVALID_IMAGE, "CUDA_ERROR_INVALID_IMAGE",
     "device kernel image is invalid"},
    {CUDA_ERROR_INVALID_CONTEXT, "CUDA_ERROR_INVALID_CONTEXT",
     "invalid device context"},
    {CUDA_ERROR_NO_BINARY_FOR_GPU, "CUDA_ERROR_NO_BINARY_FOR_GPU",
     "no kernel image is available for execution on the device"},
    {CUDA_ERROR_INVALID_PTX, "CUDA_ERROR_INVALID_PTX",
     "a PTX JIT compilation failed"},
    {CUDA_ERROR_INVALID_HANDLE, "CUDA_ERROR_INVALID_HANDLE",
     "invalid resource handle"},
    {CUDA_ERROR_NOT_FOUND, "CUDA_ERROR_NOT_FOUND", "named symbol not found"},
    {CUDA_ERROR_ILLEGAL_ADDRESS, "CUDA_ERROR_ILLEGAL_ADDRESS",
     "an illegal memory access was encountered"},
    {CUDA_ERROR_LAUNCH_FAILED, "CUDA_ERROR_LAUNCH_FAILED",
     "unspecified launch failure"},
    {CUDA_ERROR_SYSTEM_DRIVER_MISMATCH, "CUDA_ERROR_SYSTEM_DRIVER_MISMATCH",
     "system has unsupported display driver / cuda driver combination"},
    {CUDA_ERROR_UNKNOWN, "CUDA_ERROR_UNKNOWN", "unknown error"},
};

#define MAX_DEVICES 8
#define MAX_DEPTH 16
#define MAGIC_STREAM 0x5354524du
#define MAGIC_EVENT 0x45564e54u
#define MAGIC_MODULE 0x4d4f444cu
#define DEVICE_BASE (1ull << 52)

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int initialized;

static long long env_value(const char *name, long long fallback) {
  const char *value = getenv(name);
  return value && *value ? strtoll(value, NULL, 0) : fallback;
}

static int device_count(void) {
  long long count = env_value("FAKE_CUDA_DEVICE_COUNT", 1);
  return count < 0 ? 0 : count > MAX_DEVICES ? MAX_DEVICES : (int)count;
}

/*===--- contexts ---------------------------------------------------------===*/

struct CUctx_st {
  int device;
  int retained;
};
static struct CUctx_st contexts[MAX_DEVICES];
static __thread struct CUctx_st *stack[MAX_DEPTH];
static __thread int depth;

/* The current context, or NULL. */
static struct CUctx_st *current(void) {
  return depth > 0 ? stack[depth - 1] : NULL;
}

/*===--- memory -----------------------------------------------------------===*/

struct allocation {
  CUdeviceptr base;
  size_t size;
  char *host;
  int device;
  int managed;
  struct allocation *next;
};
static struct allocation *allocations;
static CUdeviceptr next_address = DEVICE_BASE;
static unsigned long long used[MAX_DEVICES];
static int live_allocations;

/* The host memory behind [pointer, pointer + size) of one live allocation,
 * or NULL. */
static char *resolve(CUdeviceptr pointer, size_t size) {
  for (struct allocation *a = allocations; a; a = a->next)
    if (pointer >= a->base && pointer - a->base <= a->size &&
        size <= a->size - (pointer - a->base))
      return a->host + (pointer - a->base);
  return NULL;
}

/* With unified addressing: device addresses resolve, others are host. */
static char *resolve_any(CUdeviceptr pointer, size_t size) {
  if (pointer >= DEVICE_BASE)
    return resolve(pointer, size);
  return (char *)(uintptr_t)pointer;
}

static CUresult allocate(CUdeviceptr *out, size_t size, int managed) {
  struct CUctx_st *ctx = current();
  if (!ctx)
    return CUDA_ERROR_INVALID_CONTEXT;
  if (!out || size == 0)
    return CUDA_ERROR_INVALID_VALUE;
  unsigned long long capacity =
      (unsigned long long)env_value("FAKE_CUDA_MEMORY_BYTES", 1ll << 30);
  if (size > capacity || used[ctx->device] > capacity - size)
    return CUDA_ERROR_OUT_OF_MEMORY;
  struct allocation *a = calloc(1, sizeof(*a));
  char *host = malloc(size);
  if (!a || !host) {
    free(a);
    free(host);
    return CUDA_ERROR_OUT_OF_MEMORY;
  }
  memset(host, 0xA5, size); /* garbage, as fresh device memory would be */
  a->size = size;
  a->host = host;
  a->device = ctx->device;
  a->managed = managed;
  if (managed) {
    a->base = (CUdeviceptr)(uintptr_t)host;
  } else {
    a->base = next_address;
    /* Never reuse an address, and leave a gap: stale and out-of-bounds
     * pointers resolve to nothing. */
    next_address += (size + 4096 + 255) / 256 * 256;
  }
  a->next = allocations;
  allocations = a;
  used[ctx->device] += size;
  ++live_allocations;
  *out = a->base;
  return CUDA_SUCCESS;
}

/*===--- streams, events, modules -----------------------------------------===*/

struct CUstream_st {
  unsigned magic;
  int device;
  struct CUstream_st *next;
};
static struct CUstream_st *streams;
static int live_streams;

struct CUevent_st {
  unsigned magic;
  int device;
  int recorded;
  struct CUevent_st *next;
};
static struct CUevent_st *events;
static int live_events;

enum { KERNEL_ADD, KERNEL_AXPY, NUM_KERNELS, KERNEL_OPAQUE = NUM_KERNELS };
enum { MAX_OPAQUE = 16, MAX_OPAQUE_NAME = 256, MAX_PARAMS = 256 };
static const char *kernel_names[NUM_KERNELS] = {"tmix_add_f32",
                                                "tmix_axpy_f32"};

struct CUmod_st;
struct CUfunc_st {
  struct CUmod_st *module;
  int kernel;
  /* Opaque kernels: the byte size of each parameter (0: unknown type). */
  int num_params;
  unsigned param_sizes[MAX_PARAMS];
};
struct CUmod_st {
  unsigned magic;
  int device;
  int has[NUM_KERNELS];
  struct CUfunc_st functions[NUM_KERNELS];
  /* With FAKE_CUDA_LAUNCH_LOG: the image, and the opaque kernels looked up. */
  char *text;
  int num_opaque;
  struct CUfunc_st opaque[MAX_OPAQUE];
  char opaque_names[MAX_OPAQUE][MAX_OPAQUE_NAME];
  struct CUmod_st *next;
};
static struct CUmod_st *modules;
static int live_modules;
static int launches;

static int stream_ok(struct CUstream_st *stream) {
  for (struct CUstream_st *s = streams; s; s = s->next)
    if (s == stream)
      return 1;
  return 0;
}

static int event_ok(struct CUevent_st *event) {
  for (struct CUevent_st *e = events; e; e = e->next)
    if (e == event)
      return 1;
  return 0;
}

static int module_ok(struct CUmod_st *module) {
  for (struct CUmod_st *m = modules; m; m = m->next)
    if (m == module)
      return 1;
  return 0;
}

/* A stream argument: NULL (the legacy stream, which needs a current
 * context) or a live stream. */
static CUresult check_stream(struct CUstream_st *stream) {
  if (!stream)
    return current() ? CUDA_SUCCESS : CUDA_ERROR_INVALID_CONTEXT;
  return stream_ok(stream) ? CUDA_SUCCESS : CUDA_ERROR_INVALID_HANDLE;
}

/*===--- the API ----------------------------------------------------------===*/

#define ENTER()                                                                \
  pthread_mutex_lock(&lock);                                                   \
  CUresult result_ = CUDA_SUCCESS;                                             \
  if (!initialized) {                                                          \
    result_ = CUDA_ERROR_NOT_INITIALIZED;                                      \
    goto done;                                                                 \
  }
#define FAIL(code)                                                             \
  do {                                                                         \
    result_ = (code);                                                          \
    goto done;                                                                 \
  } while (0)
#define LEAVE()                                                                \
  done:                                                                        \
  pthread_mutex_unlock(&lock);                                                 \
  return result_

EXPORT CUresult cuGetErrorName(CUresult error, const char **out) {
  for (size_t i = 0; i < sizeof(errors) / sizeof(errors[0]); ++i)
    if (errors[i].code == error) {
      *out = errors[i].name;
      return CUDA_SUCCESS;
    }
  *out = NULL;
  return CUDA_ERROR_INVALID_VALUE;
}

EXPORT CUresult cuGetErrorString(CUresult error, const char **out) {
  for (size_t i = 0; i < sizeof(errors) / sizeof(errors[0]); ++i)
    if (errors[i].code == error) {
      *out = errors[i].text;
      return CUDA_SUCCESS;
    }
  *out = NULL;
  return CUDA_ERROR_INVALID_VALUE;
}

EXPORT CUresult cuInit(unsigned flags) {
  if (flags != 0)
    return CUDA_ERROR_INVALID_VALUE;
  CUresult result = (CUresult)env_value("FAKE_CUDA_INIT_RESULT", 0);
  if (result != CUDA_SUCCESS)
    return result;
  pthread_mutex_lock(&lock);
  initialized = 1;
  pthread_mutex_unlock(&lock);
  return CUDA_SUCCESS;
}

EXPORT CUresult cuDriverGetVersion(int *version) {
  if (!version)
    return CUDA_ERROR_INVALID_VALUE;
  *version = 13000;
  return CUDA_SUCCESS;
}

EXPORT CUresult cuDeviceGetCount(int *count) {
  ENTER();
  if (!count)
    FAIL(CUDA_ERROR_INVALID_VALUE);
  *count = device_count();
  LEAVE();
}

EXPORT CUresult cuDeviceGet(CUdevice *device, int ordinal) {
  ENTER();
  if (!device)
    FAIL(CUDA_ERROR_INVALID_VALUE);
  if (ordinal < 0 || ordinal >= device_count())
    FAIL(CUDA_ERROR_INVALID_DEVICE);
  *device = ordinal;
  LEAVE();
}

EXPORT CUresult cuDeviceGetName(char *name, int length, CUdevice device) {
  ENTER();
  if (!name || length <= 0)
    FAIL(CUDA_ERROR_INVALID_VALUE);
  if (device < 0 || device >= device_count())
    FAIL(CUDA_ERROR_INVALID_DEVICE);
  char text[64];
  size_t n =
      (size_t)snprintf(text, sizeof(text), "Fake CUDA Device %d", device);
  if (n >= (size_t)length)
    n = (size_t)length - 1;
  memcpy(name, text, n);
  name[n] = '\0';
  LEAVE();
}

EXPORT CUresult cuDeviceGetAttribute(int *value, int attribute,
                                     CUdevice device) {
  ENTER();
  if (!value)
    FAIL(CUDA_ERROR_INVALID_VALUE);
  if (device < 0 || device >= device_count())
    FAIL(CUDA_ERROR_INVALID_DEVICE);
  switch (attribute) {
  case 75: /* compute capability major */
    *value = 9;
    break;
  case 76: /* minor */
    *value = 0;
    break;
  case 97: /* max shared memory per block, opt-in */
    *value = 232448;
    break;
  default:
    FAIL(CUDA_ERROR_INVALID_VALUE);
  }
  LEAVE();
}

EXPORT CUresult cuDeviceTotalMem_v2(size_t *bytes, CUdevice device) {
  ENTER();
  if (!bytes)
    FAIL(CUDA_ERROR_INVALID_VALUE);
  if (device < 0 || device >= device_count())
    FAIL(CUDA_ERROR_INVALID_DEVICE);
  *bytes = (size_t)env_value("FAKE_CUDA_MEMORY_BYTES", 1ll << 30);
  LEAVE();
}

EXPORT CUresult cuDevicePrimaryCtxRetain(struct CUctx_st **ctx,
                                         CUdevice device) {
  ENTER();
  if (!ctx)
    FAIL(CUDA_ERROR_INVALID_VALUE);
  if (device < 0 || device >= device_count())
    FAIL(CUDA_ERROR_INVALID_DEVICE);
  contexts[device].device = device;
  ++contexts[device].retained;
  *ctx = &contexts[device];
  LEAVE();
}

EXPORT CUresult cuCtxPushCurrent_v2(struct CUctx_st *ctx) {
  ENTER();
  if (!ctx || ctx < contexts || ctx >= contexts + MAX_DEVICES || !ctx->retained)
    FAIL(CUDA_ERROR_INVALID_CONTEXT);
  if (depth == MAX_DEPTH)
    FAIL(CUDA_ERROR_INVALID_VALUE);
  stack[depth++] = ctx;
  LEAVE();
}

EXPORT CUresult cuCtxPopCurrent_v2(struct CUctx_st **ctx) {
  ENTER();
  if (depth == 0)
    FAIL(CUDA_ERROR_INVALID_CONTEXT);
  --depth;
  if (ctx)
    *ctx = stack[depth];
  LEAVE();
}

EXPORT CUresult cuCtxSynchronize(void) {
  ENTER();
  if (!current())
    FAIL(CUDA_ERROR_INVALID_CONTEXT);
  LEAVE();
}

#ifndef FAKE_CUDA_OMIT_MEMALLOC
EXPORT CUresult cuMemAlloc_v2(CUdeviceptr *pointer, size_t size) {
  ENTER();
  result_ = allocate(pointer, size, 0);
  LEAVE();
}
#endif

EXPORT CUresult cuMemAllocManaged(CUdeviceptr *pointer, size_t size,
                                  unsigned flags) {
  ENTER();
  if (flags != 1 && flags != 2)
    FAIL(CUDA_ERROR_INVALID_VALUE);
  result_ = allocate(pointer, size, 1);
  LEAVE();
}

EXPORT CUresult cuMemFree_v2(CUdeviceptr pointer) {
  ENTER();
  if (!current())
    FAIL(CUDA_ERROR_INVALID_CONTEXT);
  for (struct allocation **a = &allocations; *a; a = &(*a)->next) {
    if ((*a)->base != pointer)
      continue;
    struct allocation *dead = *a;
    *a = dead->next;
    used[dead->device] -= dead->size;
    --live_allocations;
    free(dead->host);
    free(dead);
    goto done;
  }
  FAIL(CUDA_ERROR_INVALID_VALUE);
  LEAVE();
}

/* A copy between two resolved regions. */
static CUresult copy(char *dst, const char *src, size_t size) {
  if (!dst || !src)
    return CUDA_ERROR_INVALID_VALUE;
  memmove(dst, src, size);
  return CUDA_SUCCESS;
}

EXPORT CUresult cuMemcpyHtoD_v2(CUdeviceptr dst, const void *src, size_t size) {
  ENTER();
  if (!current())
    FAIL(CUDA_ERROR_INVALID_CONTEXT);
  result_ = copy(resolve(dst, size), src, size);
  LEAVE();
}

EXPORT CUresult cuMemcpyDtoH_v2(void *dst, CUdeviceptr src, size_t size) {
  ENTER();
  if (!current())
    FAIL(CUDA_ERROR_INVALID_CONTEXT);
  result_ = copy(dst, resolve(src, size), size);
  LEAVE();
}

EXPORT CUresult cuMemcpyDtoD_v2(CUdeviceptr dst, CUdeviceptr src, size_t size) {
  ENTER();
  if (!current())
    FAIL(CUDA_ERROR_INVALID_CONTEXT);
  result_ = copy(resolve(dst, size), resolve(src, size), size);
  LEAVE();
}

EXPORT CUresult cuMemcpyHtoDAsync_v2(CUdeviceptr dst, const void *src,
                                     size_t size, struct CUstream_st *stream) {
  ENTER();
  if ((result_ = check_stream(stream)) != CUDA_SUCCESS)
    goto done;
  result_ = copy(resolve(dst, size), src, size);
  LEAVE();
}

EXPORT CUresult cuMemcpyDtoHAsync_v2(void *dst, CUdeviceptr src, size_t size,
                                     struct CUstream_st *stream) {
  ENTER();
  if ((result_ = check_stream(stream)) != CUDA_SUCCESS)
    goto done;
  result_ = copy(dst, resolve(src, size), size);
  LEAVE();
}

EXPORT CUresult cuMemcpyDtoDAsync_v2(CUdeviceptr dst, CUdeviceptr src,
                                     size_t size, struct CUstream_st *stream) {
  ENTER();
  if ((result_ = check_stream(stream)) != CUDA_SUCCESS)
    goto done;
  result_ = copy(resolve(dst, size), resolve(src, size), size);
  LEAVE();
}

EXPORT CUresult cuMemcpyAsync(CUdeviceptr dst, CUdeviceptr src, size_t size,
                              struct CUstream_st *stream) {
  ENTER();
  if ((result_ = check_stream(stream)) != CUDA_SUCCESS)
    goto done;
  result_ = copy(resolve_any(dst, size), resolve_any(src, size), size);
  LEAVE();
}

EXPORT CUresult cuMemsetD8_v2(CUdeviceptr dst, unsigned char value,
                              size_t count) {
  ENTER();
  if (!current())
    FAIL(CUDA_ERROR_INVALID_CONTEXT);
  char *host = resolve(dst, count);
  if (!host)
    FAIL(CUDA_ERROR_INVALID_VALUE);
  memset(host, value, count);
  LEAVE();
}

EXPORT CUresult cuMemsetD16Async(CUdeviceptr dst, unsigned short value,
                                 size_t count, struct CUstream_st *stream) {
  ENTER();
  if ((result_ = check_stream(stream)) != CUDA_SUCCESS)
    goto done;
  if (dst % 2 || count > SIZE_MAX / 2)
    FAIL(CUDA_ERROR_INVALID_VALUE);
  char *host = resolve(dst, count * 2);
  if (!host)
    FAIL(CUDA_ERROR_INVALID_VALUE);
  for (size_t i = 0; i < count; ++i)
    memcpy(host + 2 * i, &value, 2);
  LEAVE();
}

EXPORT CUresult cuMemsetD32Async(CUdeviceptr dst, unsigned value, size_t count,
                                 struct CUstream_st *stream) {
  ENTER();
  if ((result_ = check_stream(stream)) != CUDA_SUCCESS)
    goto done;
  if (dst % 4 || count > SIZE_MAX / 4)
    FAIL(CUDA_ERROR_INVALID_VALUE);
  char *host = resolve(dst, count * 4);
  if (!host)
    FAIL(CUDA_ERROR_INVALID_VALUE);
  for (size_t i = 0; i < count; ++i)
    memcpy(host + 4 * i, &value, 4);
  LEAVE();
}

EXPORT CUresult cuStreamCreate(struct CUstream_st **out, unsigned flags) {
  ENTER();
  struct CUctx_st *ctx = current();
  if (!ctx)
    FAIL(CUDA_ERROR_INVALID_CONTEXT);
  if (!out || flags > 1)
    FAIL(CUDA_ERROR_INVALID_VALUE);
  struct CUstream_st *stream = calloc(1, sizeof(*stream));
  if (!stream)
    FAIL(CUDA_ERROR_OUT_OF_MEMORY);
  stream->magic = MAGIC_STREAM;
  stream->device = ctx->device;
  stream->next = streams;
  streams = stream;
  ++live_streams;
  *out = stream;
  LEAVE();
}

EXPORT CUresult cuStreamDestroy_v2(struct CUstream_st *stream) {
  ENTER();
  for (struct CUstream_st **s = &streams; *s; s = &(*s)->next) {
    if (*s != stream)
      continue;
    *s = stream->next;
    --live_streams;
    free(stream);
    goto done;
  }
  FAIL(CUDA_ERROR_INVALID_HANDLE);
  LEAVE();
}

EXPORT CUresult cuStreamSynchronize(struct CUstream_st *stream) {
  ENTER();
  result_ = check_stream(stream);
  LEAVE();
}

EXPORT CUresult cuStreamWaitEvent(struct CUstream_st *stream,
                                  struct CUevent_st *event, unsigned flags) {
  ENTER();
  if ((result_ = check_stream(stream)) != CUDA_SUCCESS)
    goto done;
  if (!event_ok(event))
    FAIL(CUDA_ERROR_INVALID_HANDLE);
  if (flags != 0)
    FAIL(CUDA_ERROR_INVALID_VALUE);
  LEAVE();
}

EXPORT CUresult cuEventCreate(struct CUevent_st **out, unsigned flags) {
  ENTER();
  struct CUctx_st *ctx = current();
  if (!ctx)
    FAIL(CUDA_ERROR_INVALID_CONTEXT);
  if (!out || flags > 0xf)
    FAIL(CUDA_ERROR_INVALID_VALUE);
  struct CUevent_st *event = calloc(1, sizeof(*event));
  if (!event)
    FAIL(CUDA_ERROR_OUT_OF_MEMORY);
  event->magic = MAGIC_EVENT;
  event->device = ctx->device;
  event->next = events;
  events = event;
  ++live_events;
  *out = event;
  LEAVE();
}

EXPORT CUresult cuEventDestroy_v2(struct CUevent_st *event) {
  ENTER();
  for (struct CUevent_st **e = &events; *e; e = &(*e)->next) {
    if (*e != event)
      continue;
    *e = event->next;
    --live_events;
    free(event);
    goto done;
  }
  FAIL(CUDA_ERROR_INVALID_HANDLE);
  LEAVE();
}

EXPORT CUresult cuEventRecord(struct CUevent_st *event,
                              struct CUstream_st *stream) {
  ENTER();
  if (!event_ok(event))
    FAIL(CUDA_ERROR_INVALID_HANDLE);
  if ((result_ = check_stream(stream)) != CUDA_SUCCESS)
    goto done;
  event->recorded = 1;
  LEAVE();
}

EXPORT CUresult cuEventSynchronize(struct CUevent_st *event) {
  ENTER();
  if (!event_ok(event))
    FAIL(CUDA_ERROR_INVALID_HANDLE);
  LEAVE();
}

/* Reads the .param list that follows `entry` ("... .entry NAME(") in PTX:
 * the byte size of each parameter. Returns the count, or -1 when the list is
 * malformed or too long. */
static int parse_params(const char *entry, unsigned *sizes) {
  const char *p = strchr(entry, '(');
  const char *end = p ? strchr(p, ')') : NULL;
  if (!end)
    return -1;
  int count = 0;
  for (const char *q = p; (q = strstr(q, ".param")) && q < end; q += 6) {
    if (count == MAX_PARAMS)
      return -1;
    const char *next = strchr(q, ',');
    if (!next || next > end)
      next = end;
    unsigned size = 0;
    static const struct {
      const char *type;
      unsigned size;
    } types[] = {{".u64", 8}, {".b64", 8}, {".s64", 8}, {".f64", 8},
                 {".u32", 4}, {".b32", 4}, {".s32", 4}, {".f32", 4},
                 {".u16", 2}, {".b16", 2}, {".s16", 2}, {".f16", 2},
                 {".u8", 1},  {".s8", 1}};
    for (size_t t = 0; t < sizeof(types) / sizeof(types[0]) && !size; ++t) {
      const char *found = strstr(q + 6, types[t].type);
      if (found && found < next)
        size = types[t].size;
    }
    const char *bytes = strstr(q + 6, ".b8");
    const char *bracket = bytes && bytes < next ? strchr(bytes, '[') : NULL;
    if (bracket && bracket < next)
      size = (unsigned)strtoul(bracket + 1, NULL, 10);
    else if (!size && bytes && bytes < next)
      size = 1;
    sizes[count++] = size;
  }
  return count;
}

static CUresult load_module(struct CUmod_st **out, const void *image) {
  struct CUctx_st *ctx = current();
  if (!ctx)
    return CUDA_ERROR_INVALID_CONTEXT;
  if (!out || !image)
    return CUDA_ERROR_INVALID_VALUE;
  CUresult forced = (CUresult)env_value("FAKE_CUDA_MODULE_RESULT", 0);
  if (forced != CUDA_SUCCESS)
    return forced;
  const char *text = image;
  if (!strstr(text, ".entry"))
    return CUDA_ERROR_INVALID_IMAGE;
  struct CUmod_st *module = calloc(1, sizeof(*module));
  if (!module)
    return CUDA_ERROR_OUT_OF_MEMORY;
  module->magic = MAGIC_MODULE;
  module->device = ctx->device;
  if (getenv("FAKE_CUDA_LAUNCH_LOG")) {
    module->text = strdup(text);
    if (!module->text) {
      free(module);
      return CUDA_ERROR_OUT_OF_MEMORY;
    }
  }
  for (int k = 0; k < NUM_KERNELS; ++k) {
    char entry[64];
    snprintf(entry, sizeof(entry), ".entry %s(", kernel_names[k]);
    module->has[k] = strstr(text, entry) != NULL;
    module->functions[k].module = module;
    module->functions[k].kernel = k;
  }
  module->next = modules;
  modules = module;
  ++live_modules;
  *out = module;
  return CUDA_SUCCESS;
}

EXPORT CUresult cuModuleLoadData(struct CUmod_st **out, const void *image) {
  ENTER();
  result_ = load_module(out, image);
  LEAVE();
}

EXPORT CUresult cuModuleLoadDataEx(struct CUmod_st **out, const void *image,
                                   unsigned count, int *options,
                                   void **values) {
  ENTER();
  char *log = NULL;
  size_t logSize = 0;
  for (unsigned i = 0; i < count; ++i) {
    if (options[i] == 5) /* CU_JIT_ERROR_LOG_BUFFER */
      log = values[i];
    else if (options[i] == 6) /* CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES */
      logSize = (size_t)(uintptr_t)values[i];
    else if (options[i] == 7) { /* CU_JIT_OPTIMIZATION_LEVEL */
      uintptr_t level = (uintptr_t)values[i];
      if (level > 4)
        FAIL(CUDA_ERROR_INVALID_VALUE);
    } else
      FAIL(CUDA_ERROR_INVALID_VALUE);
  }
  result_ = load_module(out, image);
  if (result_ != CUDA_SUCCESS && log && logSize)
    snprintf(log, logSize, "ptxas fatal : fake JIT error %d", result_);
  LEAVE();
}

EXPORT CUresult cuModuleUnload(struct CUmod_st *module) {
  ENTER();
  for (struct CUmod_st **m = &modules; *m; m = &(*m)->next) {
    if (*m != module)
      continue;
    *m = module->next;
    --live_modules;
    free(module->text);
    free(module);
    goto done;
  }
  FAIL(CUDA_ERROR_INVALID_HANDLE);
  LEAVE();
}

EXPORT CUresult cuModuleGetFunction(struct CUfunc_st **out,
                                    struct CUmod_st *module, const char *name) {
  ENTER();
  if (!out || !name)
    FAIL(CUDA_ERROR_INVALID_VALUE);
  if (!module_ok(module))
    FAIL(CUDA_ERROR_INVALID_HANDLE);
  for (int k = 0; k < NUM_KERNELS; ++k)
    if (module->has[k] && strcmp(name, kernel_names[k]) == 0) {
      *out = &module->functions[k];
      goto done;
    }
  if (module->text && strlen(name) + 9 < MAX_OPAQUE_NAME) {
    for (int k = 0; k < module->num_opaque; ++k)
      if (strcmp(name, module->opaque_names[k]) == 0) {
        *out = &module->opaque[k];
        goto done;
      }
    char entry[MAX_OPAQUE_NAME + 16];
    snprintf(entry, sizeof(entry), ".entry %s(", name);
    const char *found = strstr(module->text, entry);
    if (found && module->num_opaque < MAX_OPAQUE) {
      int k = module->num_opaque;
      struct CUfunc_st *f = &module->opaque[k];
      f->num_params = parse_params(found, f->param_sizes);
      if (f->num_params < 0)
        FAIL(CUDA_ERROR_INVALID_IMAGE);
      module->num_opaque++;
      snprintf(module->opaque_names[k], MAX_OPAQUE_NAME, "%s", name);
      f->module = module;
      f->kernel = KERNEL_OPAQUE;
      *out = &module->opaque[k];
      goto done;
    }
  }
  FAIL(CUDA_ERROR_NOT_FOUND);
  LEAVE();
}

EXPORT CUresult cuFuncSetAttribute(struct CUfunc_st *function, int attribute,
                                   int value) {
  ENTER();
  if (!function || !module_ok(function->module))
    FAIL(CUDA_ERROR_INVALID_HANDLE);
  if (attribute != 8 || value < 0 || value > 232448)
    FAIL(CUDA_ERROR_INVALID_VALUE);
  LEAVE();
}

EXPORT CUresult cuLaunchKernel(struct CUfunc_st *function, unsigned gridX,
                               unsigned gridY, unsigned gridZ, unsigned blockX,
                               unsigned blockY, unsigned blockZ,
                               unsigned sharedMemBytes,
                               struct CUstream_st *stream, void **params,
                               void **extra) {
  ENTER();
  struct CUctx_st *ctx = current();
  if (!ctx)
    FAIL(CUDA_ERROR_INVALID_CONTEXT);
  if (!function || !module_ok(function->module))
    FAIL(CUDA_ERROR_INVALID_HANDLE);
  if (function->module->device != ctx->device)
    FAIL(CUDA_ERROR_INVALID_CONTEXT);
  if ((result_ = check_stream(stream)) != CUDA_SUCCESS)
    goto done;
  if (!gridX || !gridY || !gridZ || !blockX || !blockY || !blockZ ||
      blockX * blockY * blockZ > 1024 || !params || extra ||
      sharedMemBytes > 232448)
    FAIL(CUDA_ERROR_INVALID_VALUE);
  result_ = (CUresult)env_value("FAKE_CUDA_LAUNCH_RESULT", 0);
  if (result_ != CUDA_SUCCESS)
    goto done;
  ++launches;
  uint64_t threads = (uint64_t)gridX * blockX;
  if (function->kernel == KERNEL_OPAQUE) {
    const char *path = getenv("FAKE_CUDA_LAUNCH_LOG");
    FILE *log = path ? fopen(path, "a") : NULL;
    if (!log)
      FAIL(CUDA_ERROR_LAUNCH_FAILED);
    const struct CUmod_st *m = function->module;
    fprintf(log, "launch %s grid %u %u %u block %u %u %u shared %u params",
            m->opaque_names[function - m->opaque], gridX, gridY, gridZ, blockX,
            blockY, blockZ, sharedMemBytes);
    for (int i = 0; i < function->num_params; ++i) {
      unsigned size = function->param_sizes[i];
      if (size == 8) {
        uint64_t v;
        memcpy(&v, params[i], 8);
        if (v >= DEVICE_BASE && v < (1ull << 63))
          fprintf(log, resolve(v, 0) ? " dev" : " bad");
        else
          fprintf(log, " %lld", (long long)v);
      } else if (size == 4) {
        uint32_t v;
        memcpy(&v, params[i], 4);
        fprintf(log, " %u", v);
      } else {
        fprintf(log, " ?%u", size);
      }
    }
    fprintf(log, "\n");
    fclose(log);
  } else if (function->kernel == KERNEL_ADD) {
    CUdeviceptr x = *(CUdeviceptr *)params[0];
    CUdeviceptr y = *(CUdeviceptr *)params[1];
    CUdeviceptr z = *(CUdeviceptr *)params[2];
    uint64_t n = *(uint64_t *)params[3];
    uint64_t count = n < threads ? n : threads;
    float *xs = (float *)resolve(x, count * 4);
    float *ys = (float *)resolve(y, count * 4);
    float *zs = (float *)resolve(z, count * 4);
    if (count && (!xs || !ys || !zs))
      FAIL(CUDA_ERROR_ILLEGAL_ADDRESS);
    for (uint64_t i = 0; i < count; ++i)
      zs[i] = xs[i] + ys[i];
  } else {
    float a = *(float *)params[0];
    CUdeviceptr x = *(CUdeviceptr *)params[1];
    CUdeviceptr y = *(CUdeviceptr *)params[2];
    uint64_t n = *(uint64_t *)params[3];
    uint64_t count = n < threads ? n : threads;
    float *xs = (float *)resolve(x, count * 4);
    float *ys = (float *)resolve(y, count * 4);
    if (count && (!xs || !ys))
      FAIL(CUDA_ERROR_ILLEGAL_ADDRESS);
    for (uint64_t i = 0; i < count; ++i)
      ys[i] = a * xs[i] + ys[i];
  }
  LEAVE();
}

/*===--- observers --------------------------------------------------------===*/

#define OBSERVER(name, value)                                                  \
  EXPORT int fake_cuda_##name(void) {                                          \
    pthread_mutex_lock(&lock);                                                 \
    int result = (value);                                                      \
    pthread_mutex_unlock(&lock);                                               \
    return result;                                                             \
  }
OBSERVER(live_allocations, live_allocations)
OBSERVER(live_streams, live_streams)
OBSERVER(live_events, live_events)
OBSERVER(live_modules, live_modules)
OBSERVER(launches, launches)
/* The calling thread's context stack depth: 0 between runtime calls. */
OBSERVER(context_depth, depth)
