//===- CudaTestUtils.cpp - helpers of the CUDA backend tests --------------===//

#include "CudaTestUtils.h"

namespace tmixrt::test {

Tensor deviceF32(int32_t device, std::vector<int64_t> shape,
                 const std::vector<float> &values) {
  Tensor host = makeF32(shape, values);
  Tensor result;
  EXPECT_TRUE(isOk(tmixrt_cuda_tensor_create(device, TMIXRT_F32, shape.size(),
                                             shape.data(), result.out())));
  if (result.get() && host.get())
    EXPECT_TRUE(isOk(tmixrt_tensor_copy(result.get(), host.get())));
  return result;
}

std::vector<float> hostValues(const tmixrt_tensor *tensor) {
  if (!tensor) {
    ADD_FAILURE() << "no tensor";
    return {};
  }
  EXPECT_EQ(tmixrt_tensor_dtype(tensor), TMIXRT_F32);
  Tensor host;
  EXPECT_TRUE(
      isOk(tmixrt_tensor_create(TMIXRT_F32, tmixrt_tensor_rank(tensor),
                                tmixrt_tensor_shape(tensor), host.out())));
  if (!host.get())
    return {};
  EXPECT_TRUE(isOk(tmixrt_tensor_copy(host.get(), tensor)));
  return std::vector<float>(host.f32(),
                            host.f32() + tmixrt_tensor_element_count(tensor));
}

std::vector<float> pattern(size_t count, float offset) {
  std::vector<float> values(count);
  for (size_t i = 0; i < count; ++i)
    values[i] = static_cast<float>(i % 97) * 0.25f - 7.0f + offset;
  return values;
}

const tmixrt_function *Module::fn(const char *name) const {
  const tmixrt_function *result = nullptr;
  EXPECT_TRUE(isOk(tmixrt_module_lookup(module, name, &result)));
  return result;
}

} // namespace tmixrt::test
