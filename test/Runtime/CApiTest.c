/*===- CApiTest.c - the C API compiles and works as C ----------------------===
 *
 * tmixrt.h and npy.h are C headers; this file includes them from a C
 * translation unit and runs the add function of the good fake artifact.
 *===----------------------------------------------------------------------===*/

#include "tmixrt/npy.h"
#include "tmixrt/tmixrt.h"

#include <stddef.h>

int tmixrt_test_c_api(const char *path);

#define CHECK(condition)                                                       \
  do {                                                                         \
    if (!(condition))                                                          \
      return __LINE__;                                                         \
  } while (0)

/* Returns 0 on success, or the line of the failed check. */
int tmixrt_test_c_api(const char *path) {
  tmixrt_module_options options;
  tmixrt_module *module = NULL;
  const tmixrt_function *add = NULL;
  tmixrt_tensor *x = NULL, *y = NULL, *z = NULL;
  tmixrt_tensor *args[2];
  const int64_t shape[2] = {2, 4};
  float *xs, *ys, *zs;
  int i;

  tmixrt_module_options_init(&options);
  CHECK(tmixrt_module_load(path, &options, &module) == NULL);
  CHECK(tmixrt_module_lookup(module, "add", &add) == NULL);
  CHECK(tmixrt_tensor_create(TMIXRT_F32, 2, shape, &x) == NULL);
  CHECK(tmixrt_tensor_create(TMIXRT_F32, 2, shape, &y) == NULL);
  xs = (float *)tmixrt_tensor_data(x);
  ys = (float *)tmixrt_tensor_data(y);
  for (i = 0; i < 8; ++i) {
    xs[i] = (float)i;
    ys[i] = 0.5f;
  }
  args[0] = x;
  args[1] = y;
  CHECK(tmixrt_function_invoke(add, args, 2, &z, 1) == NULL);
  zs = (float *)tmixrt_tensor_data(z);
  for (i = 0; i < 8; ++i)
    CHECK(zs[i] == (float)i + 0.5f);
  CHECK(tmixrt_npy_descr(TMIXRT_F32) != NULL);
  tmixrt_tensor_release(z);
  tmixrt_tensor_release(y);
  tmixrt_tensor_release(x);
  tmixrt_module_release(module);
  return 0;
}
