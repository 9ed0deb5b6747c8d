//===- CudaScenarioTests.cpp - the CUDA backend under one driver setup ----===//
//
// libtmixrt loads the CUDA driver once per process, so each driver setup
// (none, a driver without a symbol, cuInit failing, no device, the fake
// driver with two devices, out of memory, failing launches, rejected images)
// runs in a process of its own: TmixCudaRuntimeTests (CudaRuntimeTest.cpp)
// runs this program once per test suite below, with
// --gtest_filter=<Suite>.* and the suite's environment (TMIXRT_CUDA_DRIVER,
// FAKE_CUDA_* for FakeCudaDriver.c, and TMIXRT_CUDA_SCENARIO=<Suite>). Run
// any other way, every test skips.
//
//===----------------------------------------------------------------------===//

#include "CudaTestUtils.h"
#include "TestUtils.h"

#include "tmixrt/mgpu.h"
#include "tmixrt/npy.h"
#include "tmixrt/tmixrt_cuda.h"

#include "gtest/gtest.h"

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <memory>
#include <string>
#include <sys/stat.h>
#include <thread>
#include <vector>

using namespace tmixrt::test;

namespace {

/// Skips unless TmixCudaRuntimeTests set up this suite's environment.
class Scenario : public ::testing::Test {
protected:
  void SetUp() override {
    const char *scenario = std::getenv("TMIXRT_CUDA_SCENARIO");
    std::string suite =
        ::testing::UnitTest::GetInstance()->current_test_suite()->name();
    if (!scenario || suite != scenario)
      GTEST_SKIP() << "runs only in the environment TmixCudaRuntimeTests "
                      "sets up for "
                   << suite;
  }
};

/// Observer `fake_cuda_<name>` of the fake driver libtmixrt loaded.
int fake(const std::string &name) {
  const char *path = std::getenv("TMIXRT_CUDA_DRIVER");
  void *handle = path ? dlopen(path, RTLD_NOW | RTLD_NOLOAD) : nullptr;
  if (!handle) {
    ADD_FAILURE() << "the fake driver is not loaded";
    return -1;
  }
  auto observer =
      reinterpret_cast<int (*)()>(dlsym(handle, ("fake_cuda_" + name).c_str()));
  int value = observer ? observer() : -1;
  dlclose(handle);
  EXPECT_NE(observer, nullptr) << name;
  return value;
}

/// Expects the calling thread's pending mgpu* error (and clears it).
testing::AssertionResult pending(tmixrt_code code,
                                 std::initializer_list<std::string> fragments) {
  return isError(tmixrt_cuda_take_error(), code, fragments);
}

testing::AssertionResult nothingPending() {
  return isOk(tmixrt_cuda_take_error());
}

/// Calls `fn` with `args` and one result; returns it (or null on failure,
/// with the status in `*status`).
Tensor invoke1(const tmixrt_function *fn, std::vector<tmixrt_tensor *> args,
               tmixrt_status *status) {
  Tensor result;
  *status =
      tmixrt_function_invoke(fn, args.data(), args.size(), result.out(), 1);
  return result;
}

/// Runs `body` on another thread and waits.
template <typename F>
void onOtherThread(F body) {
  std::thread thread(body);
  thread.join();
}

//===----------------------------------------------------------------------===//
// No driver: TMIXRT_CUDA_DRIVER names a file that does not exist
//===----------------------------------------------------------------------===//

class NoDriver : public Scenario {};

constexpr const char *kNotFound = "CUDA driver not found (";

TEST_F(NoDriver, EveryPublicCallIsUnavailable) {
  std::string path = std::getenv("TMIXRT_CUDA_DRIVER");
  std::initializer_list<std::string> why = {
      kNotFound, path + ": cannot open shared object file"};
  EXPECT_TRUE(isError(tmixrt_cuda_init(), TMIXRT_UNAVAILABLE, why));
  EXPECT_EQ(tmixrt_cuda_is_available(), 0);
  int32_t count = -7, version = -7, device = -7;
  EXPECT_TRUE(isError(tmixrt_cuda_device_count(&count), TMIXRT_UNAVAILABLE,
                      {"tmixrt_cuda_device_count: CUDA driver not found"}));
  EXPECT_EQ(count, -7);
  EXPECT_TRUE(
      isError(tmixrt_cuda_driver_version(&version), TMIXRT_UNAVAILABLE, why));
  tmixrt_cuda_device_properties properties;
  EXPECT_TRUE(isError(tmixrt_cuda_device_properties_get(0, &properties),
                      TMIXRT_UNAVAILABLE, why));
  EXPECT_TRUE(isError(tmixrt_cuda_set_device(0), TMIXRT_UNAVAILABLE, why));
  EXPECT_TRUE(
      isError(tmixrt_cuda_get_device(&device), TMIXRT_UNAVAILABLE, why));
  EXPECT_EQ(device, -7);
  EXPECT_TRUE(isError(tmixrt_cuda_synchronize(0), TMIXRT_UNAVAILABLE, why));

  int64_t shape[] = {2, 3};
  Tensor tensor;
  EXPECT_TRUE(
      isError(tmixrt_cuda_tensor_create(0, TMIXRT_F32, 2, shape, tensor.out()),
              TMIXRT_UNAVAILABLE,
              {"tmixrt_cuda_tensor_create: CUDA driver not found"}));
  EXPECT_EQ(tensor.get(), nullptr);
  Stream stream;
  EXPECT_TRUE(isError(tmixrt_cuda_stream_create(0, stream.out()),
                      TMIXRT_UNAVAILABLE, why));
  EXPECT_EQ(stream.get(), nullptr);
  // The result is the same every time: the driver is not looked for again.
  EXPECT_TRUE(isError(tmixrt_cuda_init(), TMIXRT_UNAVAILABLE, why));
}

TEST_F(NoDriver, HostCopiesNeedNoDriver) {
  Tensor src = makeF32({2, 3}, pattern(6)), dst = makeF32({2, 3});
  ASSERT_TRUE(isOk(tmixrt_tensor_copy(dst.get(), src.get())));
  EXPECT_EQ(std::vector<float>(dst.f32(), dst.f32() + 6), pattern(6));
  EXPECT_EQ(tmixrt_tensor_device(dst.get()), TMIXRT_DEVICE_CPU);
  EXPECT_EQ(tmixrt_tensor_device_ordinal(dst.get()), -1);
  Tensor wrong = makeF32({3, 2});
  EXPECT_TRUE(isError(tmixrt_tensor_copy(wrong.get(), src.get()),
                      TMIXRT_INVALID_ARGUMENT,
                      {"the destination is [3, 2] f32 on cpu and the source "
                       "[2, 3] f32 on cpu; dtype and shape must match"}));
  EXPECT_TRUE(isError(tmixrt_tensor_copy(nullptr, src.get()),
                      TMIXRT_INVALID_ARGUMENT, {"the destination is null"}));
}

TEST_F(NoDriver, MgpuCallsRecordTheErrorAndDoNotCrash) {
  ASSERT_TRUE(nothingPending());
  EXPECT_EQ(mgpuStreamCreate(), nullptr);
  EXPECT_TRUE(pending(TMIXRT_UNAVAILABLE,
                      {"mgpuStreamCreate: CUDA driver not found ("}));
  EXPECT_EQ(mgpuEventCreate(), nullptr);
  EXPECT_TRUE(pending(TMIXRT_UNAVAILABLE, {"mgpuEventCreate: ", kNotFound}));
  EXPECT_EQ(mgpuMemAlloc(64, nullptr, false), nullptr);
  EXPECT_TRUE(pending(TMIXRT_UNAVAILABLE, {"mgpuMemAlloc: ", kNotFound}));
  EXPECT_EQ(mgpuMemAlloc(64, nullptr, true), nullptr);
  EXPECT_TRUE(pending(TMIXRT_UNAVAILABLE, {kNotFound}));
  // The first error wins until it is taken.
  mgpuStreamSynchronize(nullptr);
  char host[16] = {};
  mgpuMemcpy(host, host + 8, 8, nullptr);
  EXPECT_TRUE(pending(TMIXRT_UNAVAILABLE, {"mgpuStreamSynchronize: "}));
  mgpuMemcpy(host, host + 8, 8, nullptr);
  EXPECT_TRUE(pending(TMIXRT_UNAVAILABLE, {"mgpuMemcpy: ", kNotFound}));
  mgpuMemset32(host, 1, 2, nullptr);
  EXPECT_TRUE(pending(TMIXRT_UNAVAILABLE, {"mgpuMemset32: "}));
  mgpuMemset16(host, 1, 2, nullptr);
  EXPECT_TRUE(pending(TMIXRT_UNAVAILABLE, {"mgpuMemset16: "}));
  EXPECT_EQ(std::string(host, 16), std::string(16, '\0'));

  // Module loads only copy the image: no driver is needed yet.
  const char image[] = ".version 7.0\n.entry k() { ret; }\n";
  tmixrt_mgpu_module module =
      mgpuModuleLoad(const_cast<char *>(image), sizeof(image));
  ASSERT_NE(module, nullptr);
  tmixrt_mgpu_module jit = mgpuModuleLoadJIT(const_cast<char *>(image), 3);
  ASSERT_NE(jit, nullptr);
  EXPECT_TRUE(nothingPending());
  EXPECT_EQ(mgpuModuleGetFunction(module, "k"), nullptr);
  EXPECT_TRUE(
      pending(TMIXRT_UNAVAILABLE, {"mgpuModuleGetFunction: ", kNotFound}));
  mgpuModuleUnload(module);
  mgpuModuleUnload(jit);
  EXPECT_TRUE(nothingPending());

  // Calls that have nothing to do record nothing.
  mgpuModuleUnload(nullptr);
  mgpuStreamDestroy(nullptr);
  mgpuEventDestroy(nullptr);
  mgpuMemFree(nullptr, nullptr);
  EXPECT_EQ(mgpuMemAlloc(0, nullptr, false), nullptr);
  mgpuMemcpy(nullptr, nullptr, 0, nullptr);
  mgpuMemset32(nullptr, 0, 0, nullptr);
  EXPECT_TRUE(nothingPending());

  // Bad arguments are errors of their own.
  EXPECT_EQ(mgpuModuleLoad(nullptr, 10), nullptr);
  EXPECT_TRUE(pending(TMIXRT_INVALID_ARGUMENT,
                      {"mgpuModuleLoad: the GPU image is null"}));
  EXPECT_EQ(mgpuModuleLoad(const_cast<char *>(image), 0), nullptr);
  EXPECT_TRUE(pending(TMIXRT_INVALID_ARGUMENT, {"the GPU image is empty"}));
  EXPECT_EQ(mgpuModuleLoadJIT(nullptr, 2), nullptr);
  EXPECT_TRUE(pending(TMIXRT_INVALID_ARGUMENT, {"the PTX is null"}));
  EXPECT_EQ(mgpuModuleGetFunction(nullptr, "k"), nullptr);
  EXPECT_TRUE(pending(TMIXRT_INVALID_ARGUMENT,
                      {"mgpuModuleGetFunction('k'): the module is null"}));
  mgpuLaunchKernel(nullptr, 1, 1, 1, 1, 1, 1, 0, nullptr, nullptr, nullptr, 0);
  EXPECT_TRUE(pending(TMIXRT_INVALID_ARGUMENT,
                      {"mgpuLaunchKernel: the kernel is null"}));
  mgpuStreamWaitEvent(nullptr, nullptr);
  EXPECT_TRUE(pending(TMIXRT_INVALID_ARGUMENT, {"the event is null"}));
  mgpuEventSynchronize(nullptr);
  EXPECT_TRUE(pending(TMIXRT_INVALID_ARGUMENT, {"the event is null"}));
  mgpuEventRecord(nullptr, nullptr);
  EXPECT_TRUE(pending(TMIXRT_INVALID_ARGUMENT, {"the event is null"}));
  mgpuSetDefaultDevice(-2);
  EXPECT_TRUE(pending(TMIXRT_INVALID_ARGUMENT,
                      {"mgpuSetDefaultDevice: device -2 is negative"}));
}

TEST_F(NoDriver, ErrorsArePerThread) {
  EXPECT_EQ(mgpuStreamCreate(), nullptr);
  onOtherThread([] {
    EXPECT_TRUE(nothingPending());
    EXPECT_EQ(mgpuMemAlloc(8, nullptr, false), nullptr);
    EXPECT_TRUE(pending(TMIXRT_UNAVAILABLE, {"mgpuMemAlloc: "}));
  });
  EXPECT_TRUE(pending(TMIXRT_UNAVAILABLE, {"mgpuStreamCreate: "}));
}

TEST_F(NoDriver, CudaFunctionsFailCleanly) {
  // Loading an artifact with CUDA functions needs no driver.
  Module module(TMIXRT_FAKE_CUDA);
  ASSERT_NE(module.get(), nullptr);
  EXPECT_TRUE(nothingPending());
  EXPECT_EQ(tmixrt_function_device(module.fn("add")), TMIXRT_DEVICE_CUDA);
  Tensor x = makeF32({4}, pattern(4)), y = makeF32({4}, pattern(4, 1));
  tmixrt_status status = nullptr;
  Tensor z = invoke1(module.fn("add"), {x.get(), y.get()}, &status);
  EXPECT_TRUE(isError(status, TMIXRT_UNAVAILABLE,
                      {"'add' runs on CUDA, but the CUDA backend is "
                       "unavailable: CUDA driver not found ("}));
  EXPECT_EQ(z.get(), nullptr);
  Tensor into = makeF32({4});
  tmixrt_tensor *args[] = {x.get(), y.get()};
  tmixrt_tensor *results[] = {into.get()};
  EXPECT_TRUE(isError(
      tmixrt_function_invoke_into(module.fn("add"), args, 2, results, 1),
      TMIXRT_UNAVAILABLE, {"'add' runs on CUDA", kNotFound}));
  int64_t shape[1] = {};
  EXPECT_TRUE(isError(
      tmixrt_function_result_shape(module.fn("add"), args, 2, 0, shape, 1),
      TMIXRT_UNAVAILABLE, {kNotFound}));
  Tensor none;
  EXPECT_TRUE(isError(
      tmixrt_function_invoke(module.fn("constant"), nullptr, 0, none.out(), 1),
      TMIXRT_UNAVAILABLE, {"'constant' runs on CUDA", kNotFound}));
  // The artifact's CPU function works.
  Tensor twice = invoke1(module.fn("twice"), {x.get()}, &status);
  ASSERT_TRUE(isOk(status));
  std::vector<float> expected = pattern(4);
  for (float &v : expected)
    v *= 2.0f;
  EXPECT_EQ(std::vector<float>(twice.f32(), twice.f32() + 4), expected);
  // The hand-written fake of RuntimeTest.cpp refuses the same way.
  Module good(TMIXRT_FAKE_GOOD);
  Tensor gpu = invoke1(good.fn("gpu_add"), {x.get(), x.get()}, &status);
  EXPECT_TRUE(isError(status, TMIXRT_UNAVAILABLE, {"'gpu_add' runs on CUDA"}));
}

//===----------------------------------------------------------------------===//
// A driver library that lacks an entry point
//===----------------------------------------------------------------------===//

class MissingSymbol : public Scenario {};

TEST_F(MissingSymbol, DriverIsUnusable) {
  std::string path = std::getenv("TMIXRT_CUDA_DRIVER");
  std::initializer_list<std::string> why = {
      "the CUDA driver '" + path + "' is unusable: it lacks cuMemAlloc_v2 (",
      "undefined symbol"};
  EXPECT_TRUE(isError(tmixrt_cuda_init(), TMIXRT_UNAVAILABLE, why));
  EXPECT_EQ(tmixrt_cuda_is_available(), 0);
  int64_t shape[] = {3};
  Tensor tensor;
  EXPECT_TRUE(
      isError(tmixrt_cuda_tensor_create(0, TMIXRT_F32, 1, shape, tensor.out()),
              TMIXRT_UNAVAILABLE, why));
  EXPECT_EQ(mgpuMemAlloc(16, nullptr, false), nullptr);
  EXPECT_TRUE(pending(TMIXRT_UNAVAILABLE, {"lacks cuMemAlloc_v2"}));
  Module module(TMIXRT_FAKE_CUDA);
  Tensor x = makeF32({2}, {1, 2});
  tmixrt_status status = nullptr;
  Tensor z = invoke1(module.fn("add"), {x.get(), x.get()}, &status);
  EXPECT_TRUE(isError(status, TMIXRT_UNAVAILABLE,
                      {"'add' runs on CUDA", "lacks cuMemAlloc_v2"}));
}

//===----------------------------------------------------------------------===//
// cuInit fails
//===----------------------------------------------------------------------===//

class InitNoDevice : public Scenario {};

TEST_F(InitNoDevice, SaysNoDevice) {
  std::initializer_list<std::string> why = {
      "no CUDA device (cuInit: CUDA_ERROR_NO_DEVICE (no CUDA-capable device "
      "is detected))"};
  EXPECT_TRUE(isError(tmixrt_cuda_init(), TMIXRT_UNAVAILABLE, why));
  int32_t count = 0;
  EXPECT_TRUE(
      isError(tmixrt_cuda_device_count(&count), TMIXRT_UNAVAILABLE, why));
  EXPECT_EQ(mgpuStreamCreate(), nullptr);
  EXPECT_TRUE(pending(TMIXRT_UNAVAILABLE, why));
}

class InitFails : public Scenario {};

TEST_F(InitFails, NamesTheDriverError) {
  std::string path = std::getenv("TMIXRT_CUDA_DRIVER");
  EXPECT_TRUE(isError(
      tmixrt_cuda_init(), TMIXRT_UNAVAILABLE,
      {"the CUDA driver '" + path +
       "' failed to initialize: cuInit: "
       "CUDA_ERROR_SYSTEM_DRIVER_MISMATCH (system has unsupported display "
       "driver / cuda driver combination)"}));
}

class InitUnknownError : public Scenario {};

TEST_F(InitUnknownError, GivesTheNumber) {
  EXPECT_TRUE(isError(tmixrt_cuda_init(), TMIXRT_UNAVAILABLE,
                      {"failed to initialize: cuInit: CUDA error 12345"}));
}

//===----------------------------------------------------------------------===//
// The driver loads but has no device
//===----------------------------------------------------------------------===//

class NoDevice : public Scenario {};

TEST_F(NoDevice, SaysNoDevice) {
  std::string path = std::getenv("TMIXRT_CUDA_DRIVER");
  std::string why =
      "no CUDA device (the CUDA driver '" + path + "' reports 0 devices)";
  EXPECT_TRUE(isError(tmixrt_cuda_init(), TMIXRT_UNAVAILABLE, {why}));
  EXPECT_TRUE(isError(tmixrt_cuda_set_device(0), TMIXRT_UNAVAILABLE, {why}));
  Stream stream;
  EXPECT_TRUE(isError(tmixrt_cuda_stream_create(0, stream.out()),
                      TMIXRT_UNAVAILABLE, {why}));
  Module module(TMIXRT_FAKE_CUDA);
  Tensor x = makeF32({2}, {1, 2});
  tmixrt_status status = nullptr;
  Tensor z = invoke1(module.fn("add"), {x.get(), x.get()}, &status);
  EXPECT_TRUE(isError(status, TMIXRT_UNAVAILABLE, {"'add' runs on CUDA", why}));
  mgpuLaunchKernel(reinterpret_cast<tmixrt_mgpu_function>(1), 1, 1, 1, 1, 1, 1,
                   0, nullptr, nullptr, nullptr, 0);
  EXPECT_TRUE(
      pending(TMIXRT_UNAVAILABLE, {"mgpuLaunchKernel: no CUDA device"}));
}

//===----------------------------------------------------------------------===//
// The fake driver with two devices: everything works
//===----------------------------------------------------------------------===//

class FakeDevice : public Scenario {
protected:
  void SetUp() override {
    Scenario::SetUp();
    if (IsSkipped())
      return;
    ASSERT_TRUE(isOk(tmixrt_cuda_init()));
    allocations = fake("live_allocations");
  }
  void TearDown() override {
    if (IsSkipped())
      return;
    // Nothing leaks, contexts are balanced, no error is left over.
    EXPECT_EQ(fake("live_allocations"), allocations);
    EXPECT_EQ(fake("live_streams"), 0);
    EXPECT_EQ(fake("live_events"), 0);
    EXPECT_EQ(fake("context_depth"), 0);
    EXPECT_TRUE(nothingPending());
  }
  int allocations = 0;
};

TEST_F(FakeDevice, DescribesDevices) {
  EXPECT_EQ(tmixrt_cuda_is_available(), 1);
  int32_t count = 0, version = 0;
  ASSERT_TRUE(isOk(tmixrt_cuda_device_count(&count)));
  EXPECT_EQ(count, 2);
  ASSERT_TRUE(isOk(tmixrt_cuda_driver_version(&version)));
  EXPECT_EQ(version, 13000);
  tmixrt_cuda_device_properties properties;
  ASSERT_TRUE(isOk(tmixrt_cuda_device_properties_get(1, &properties)));
  EXPECT_STREQ(properties.name, "Fake CUDA Device 1");
  EXPECT_EQ(properties.compute_capability_major, 9);
  EXPECT_EQ(properties.compute_capability_minor, 0);
  EXPECT_EQ(properties.total_memory, uint64_t(1) << 30);
  EXPECT_EQ(properties.max_shared_memory_per_block, 232448);
  EXPECT_TRUE(isError(
      tmixrt_cuda_device_properties_get(2, &properties),
      TMIXRT_INVALID_ARGUMENT,
      {"tmixrt_cuda_device_properties_get: CUDA device 2 does not exist; "
       "there are 2 (0..1)"}));
  EXPECT_TRUE(isError(tmixrt_cuda_device_properties_get(0, nullptr),
                      TMIXRT_INVALID_ARGUMENT, {"'out' is null"}));
  EXPECT_TRUE(isError(tmixrt_cuda_device_count(nullptr),
                      TMIXRT_INVALID_ARGUMENT, {"'count' is null"}));
  EXPECT_TRUE(isOk(tmixrt_cuda_synchronize(1)));
  EXPECT_TRUE(isError(tmixrt_cuda_synchronize(-1), TMIXRT_INVALID_ARGUMENT,
                      {"CUDA device -1 does not exist"}));
}

TEST_F(FakeDevice, SelectsDevices) {
  int32_t device = -1;
  ASSERT_TRUE(isOk(tmixrt_cuda_get_device(&device)));
  EXPECT_EQ(device, 0);
  ASSERT_TRUE(isOk(tmixrt_cuda_set_device(1)));
  ASSERT_TRUE(isOk(tmixrt_cuda_get_device(&device)));
  EXPECT_EQ(device, 1);
  onOtherThread([] {
    int32_t other = -1;
    EXPECT_TRUE(isOk(tmixrt_cuda_get_device(&other)));
    EXPECT_EQ(other, 1);     // the process' device
    mgpuSetDefaultDevice(0); // this thread only
    EXPECT_TRUE(isOk(tmixrt_cuda_get_device(&other)));
    EXPECT_EQ(other, 0);
  });
  ASSERT_TRUE(isOk(tmixrt_cuda_get_device(&device)));
  EXPECT_EQ(device, 1);
  EXPECT_TRUE(isError(tmixrt_cuda_set_device(2), TMIXRT_INVALID_ARGUMENT,
                      {"tmixrt_cuda_set_device: CUDA device 2 does not "
                       "exist"}));
  // mgpu* work goes to the thread's device; a missing one is an error then.
  mgpuSetDefaultDevice(5);
  EXPECT_EQ(mgpuStreamCreate(), nullptr);
  EXPECT_TRUE(pending(TMIXRT_INVALID_ARGUMENT,
                      {"mgpuStreamCreate: CUDA device 5 does not exist; "
                       "there are 2 (0..1)"}));
  ASSERT_TRUE(isOk(tmixrt_cuda_get_device(&device)));
  EXPECT_EQ(device, 5);
  // tmixrt_cuda_set_device also drops the thread's own choice.
  ASSERT_TRUE(isOk(tmixrt_cuda_set_device(0)));
  ASSERT_TRUE(isOk(tmixrt_cuda_get_device(&device)));
  EXPECT_EQ(device, 0);
}

TEST_F(FakeDevice, CreatesZeroedDeviceTensors) {
  int64_t shape[] = {2, 3};
  Tensor tensor;
  ASSERT_TRUE(
      isOk(tmixrt_cuda_tensor_create(1, TMIXRT_F32, 2, shape, tensor.out())));
  EXPECT_EQ(fake("live_allocations"), allocations + 1);
  EXPECT_EQ(tmixrt_tensor_device(tensor.get()), TMIXRT_DEVICE_CUDA);
  EXPECT_EQ(tmixrt_tensor_device_ordinal(tensor.get()), 1);
  EXPECT_EQ(tmixrt_tensor_is_owned(tensor.get()), 1);
  EXPECT_EQ(tmixrt_tensor_byte_size(tensor.get()), 24u);
  EXPECT_EQ(tmixrt_tensor_element_count(tensor.get()), 6u);
  EXPECT_EQ(tensor.shape(), (std::vector<int64_t>{2, 3}));
  EXPECT_NE(tmixrt_tensor_data(tensor.get()), nullptr);
  // The fake driver fills fresh memory with 0xA5 bytes; the runtime zeroes.
  EXPECT_EQ(hostValues(tensor.get()), std::vector<float>(6, 0.0f));

  int64_t empty[] = {0, 3};
  Tensor none;
  ASSERT_TRUE(
      isOk(tmixrt_cuda_tensor_create(0, TMIXRT_F32, 2, empty, none.out())));
  EXPECT_NE(tmixrt_tensor_data(none.get()), nullptr);
  EXPECT_EQ(tmixrt_tensor_byte_size(none.get()), 0u);

  Tensor bad;
  EXPECT_TRUE(
      isError(tmixrt_cuda_tensor_create(0, static_cast<tmixrt_dtype>(42), 2,
                                        shape, bad.out()),
              TMIXRT_INVALID_ARGUMENT,
              {"tmixrt_cuda_tensor_create: unknown dtype 42"}));
  int64_t negative[] = {2, -3};
  EXPECT_TRUE(isError(
      tmixrt_cuda_tensor_create(0, TMIXRT_F32, 2, negative, bad.out()),
      TMIXRT_INVALID_ARGUMENT, {"dimension 1 of shape [2, ?] is negative"}));
  EXPECT_TRUE(
      isError(tmixrt_cuda_tensor_create(7, TMIXRT_F32, 2, shape, bad.out()),
              TMIXRT_INVALID_ARGUMENT, {"CUDA device 7 does not exist"}));
  EXPECT_TRUE(
      isError(tmixrt_cuda_tensor_create(0, TMIXRT_F32, 2, shape, nullptr),
              TMIXRT_INVALID_ARGUMENT, {"'out' is null"}));
  EXPECT_EQ(bad.get(), nullptr);
  tensor = Tensor();
  none = Tensor();
  EXPECT_EQ(fake("live_allocations"), allocations);
}

TEST_F(FakeDevice, CopiesRoundTrip) {
  std::vector<float> values = pattern(300);
  for (int32_t device : {0, 1}) {
    Tensor host = makeF32({3, 100}, values);
    Tensor a = deviceF32(device, {3, 100}, values);
    Tensor b;
    int64_t shape[] = {3, 100};
    ASSERT_TRUE(
        isOk(tmixrt_cuda_tensor_create(device, TMIXRT_F32, 2, shape, b.out())));
    ASSERT_TRUE(isOk(tmixrt_tensor_copy(b.get(), a.get()))); // device to device
    EXPECT_EQ(hostValues(b.get()), values);
    ASSERT_TRUE(isOk(tmixrt_tensor_copy(b.get(), b.get()))); // itself
    EXPECT_EQ(hostValues(b.get()), values);
  }
  // Other dtypes copy their bytes.
  int64_t shape[] = {5};
  Tensor bytes, device, back;
  ASSERT_TRUE(isOk(tmixrt_tensor_create(TMIXRT_I64, 1, shape, bytes.out())));
  auto *longs = static_cast<int64_t *>(tmixrt_tensor_data(bytes.get()));
  for (int i = 0; i < 5; ++i)
    longs[i] = (int64_t(1) << 40) * (i + 1) - i;
  ASSERT_TRUE(
      isOk(tmixrt_cuda_tensor_create(1, TMIXRT_I64, 1, shape, device.out())));
  ASSERT_TRUE(isOk(tmixrt_tensor_create(TMIXRT_I64, 1, shape, back.out())));
  ASSERT_TRUE(isOk(tmixrt_tensor_copy(device.get(), bytes.get())));
  ASSERT_TRUE(isOk(tmixrt_tensor_copy(back.get(), device.get())));
  EXPECT_EQ(std::memcmp(tmixrt_tensor_data(back.get()), longs, 40), 0);
}

TEST_F(FakeDevice, RefusesMismatchedCopies) {
  Tensor host = makeF32({2, 3}, pattern(6));
  Tensor device = deviceF32(0, {3, 2}, pattern(6));
  Tensor other = deviceF32(1, {3, 2}, pattern(6));
  EXPECT_TRUE(isError(tmixrt_tensor_copy(device.get(), host.get()),
                      TMIXRT_INVALID_ARGUMENT,
                      {"tmixrt_tensor_copy: the destination is [3, 2] f32 on "
                       "cuda:0 and the source [2, 3] f32 on cpu; dtype and "
                       "shape must match"}));
  int64_t shape[] = {3, 2};
  Tensor f16;
  ASSERT_TRUE(
      isOk(tmixrt_cuda_tensor_create(0, TMIXRT_F16, 2, shape, f16.out())));
  EXPECT_TRUE(isError(tmixrt_tensor_copy(f16.get(), device.get()),
                      TMIXRT_INVALID_ARGUMENT,
                      {"[3, 2] f16 on cuda:0 and the source [3, 2] f32 on "
                       "cuda:0"}));
  EXPECT_TRUE(isError(tmixrt_tensor_copy(other.get(), device.get()),
                      TMIXRT_INVALID_ARGUMENT,
                      {"copies between two CUDA devices (cuda:0 to cuda:1) "
                       "are not supported; copy through a host tensor"}));
  EXPECT_TRUE(isError(tmixrt_tensor_copy(device.get(), nullptr),
                      TMIXRT_INVALID_ARGUMENT, {"the source is null"}));
  EXPECT_EQ(hostValues(other.get()), pattern(6));
}

TEST_F(FakeDevice, StreamsQueueCopies) {
  Stream stream;
  ASSERT_TRUE(isOk(tmixrt_cuda_stream_create(1, stream.out())));
  EXPECT_EQ(fake("live_streams"), 1);
  EXPECT_EQ(tmixrt_cuda_stream_device(stream.get()), 1);
  EXPECT_NE(tmixrt_cuda_stream_handle(stream.get()), nullptr);
  std::vector<float> values = pattern(64, 0.5f);
  Tensor host = makeF32({64}, values), back = makeF32({64});
  Tensor device, copy;
  int64_t shape[] = {64};
  ASSERT_TRUE(
      isOk(tmixrt_cuda_tensor_create(1, TMIXRT_F32, 1, shape, device.out())));
  ASSERT_TRUE(
      isOk(tmixrt_cuda_tensor_create(1, TMIXRT_F32, 1, shape, copy.out())));
  ASSERT_TRUE(
      isOk(tmixrt_tensor_copy_async(device.get(), host.get(), stream.get())));
  ASSERT_TRUE(
      isOk(tmixrt_tensor_copy_async(copy.get(), device.get(), stream.get())));
  ASSERT_TRUE(
      isOk(tmixrt_tensor_copy_async(back.get(), copy.get(), stream.get())));
  ASSERT_TRUE(isOk(tmixrt_cuda_stream_synchronize(stream.get())));
  EXPECT_EQ(std::vector<float>(back.f32(), back.f32() + 64), values);

  Tensor elsewhere = deviceF32(0, {64}, values);
  EXPECT_TRUE(isError(
      tmixrt_tensor_copy_async(back.get(), elsewhere.get(), stream.get()),
      TMIXRT_INVALID_ARGUMENT,
      {"tmixrt_tensor_copy_async: the copy is on cuda:0, but the stream on "
       "cuda:1"}));
  EXPECT_TRUE(
      isError(tmixrt_tensor_copy_async(back.get(), host.get(), stream.get()),
              TMIXRT_INVALID_ARGUMENT,
              {"both tensors are on the host; use tmixrt_tensor_copy"}));
  EXPECT_TRUE(
      isError(tmixrt_tensor_copy_async(device.get(), host.get(), nullptr),
              TMIXRT_INVALID_ARGUMENT,
              {"tmixrt_tensor_copy_async: the stream is null"}));
  EXPECT_TRUE(isError(tmixrt_cuda_stream_synchronize(nullptr),
                      TMIXRT_INVALID_ARGUMENT, {"the stream is null"}));
  Stream bad;
  EXPECT_TRUE(isError(tmixrt_cuda_stream_create(9, bad.out()),
                      TMIXRT_INVALID_ARGUMENT,
                      {"CUDA device 9 does not "
                       "exist"}));
  EXPECT_EQ(bad.get(), nullptr);
  EXPECT_TRUE(isOk(tmixrt_cuda_stream_destroy(nullptr)));
  ASSERT_TRUE(isOk(tmixrt_cuda_stream_destroy(stream.get())));
  *stream.out() = nullptr;
  EXPECT_EQ(fake("live_streams"), 0);
}

TEST_F(FakeDevice, NpyRefusesDeviceTensors) {
  TempDir dir;
  std::string path = dir.file("x.npy");
  Tensor device = deviceF32(1, {2}, {1, 2});
  EXPECT_TRUE(isError(tmixrt_npy_write(path.c_str(), device.get()),
                      TMIXRT_INVALID_ARGUMENT,
                      {"the tensor is on cuda:1; copy it to a host tensor"}));
  struct stat info;
  EXPECT_NE(stat(path.c_str(), &info), 0) << "a file was written";
}

class FakeDeviceCalls : public FakeDevice {
protected:
  void SetUp() override {
    FakeDevice::SetUp();
    if (IsSkipped())
      return;
    module = std::make_unique<Module>(TMIXRT_FAKE_CUDA);
    ASSERT_NE(module->get(), nullptr);
    launches = fake("launches");
  }
  void TearDown() override {
    module.reset();
    FakeDevice::TearDown();
  }
  const tmixrt_function *fn(const char *name) { return module->fn(name); }

  std::unique_ptr<Module> module;
  int launches = 0;
};

/// x + y, computed on the host.
std::vector<float> sum(const std::vector<float> &x,
                       const std::vector<float> &y) {
  std::vector<float> z(x.size());
  for (size_t i = 0; i < x.size(); ++i)
    z[i] = x[i] + y[i];
  return z;
}

TEST_F(FakeDeviceCalls, AddsOnEitherDevice) {
  std::vector<float> xs = pattern(1000), ys = pattern(1000, 0.125f);
  for (int32_t device : {0, 1}) {
    Tensor x = deviceF32(device, {1000}, xs), y = deviceF32(device, {1000}, ys);
    tmixrt_status status = nullptr;
    Tensor z = invoke1(fn("add"), {x.get(), y.get()}, &status);
    ASSERT_TRUE(isOk(status));
    EXPECT_EQ(tmixrt_tensor_device(z.get()), TMIXRT_DEVICE_CUDA);
    EXPECT_EQ(tmixrt_tensor_device_ordinal(z.get()), device);
    EXPECT_EQ(tmixrt_tensor_is_owned(z.get()), 1);
    EXPECT_EQ(z.shape(), (std::vector<int64_t>{1000}));
    EXPECT_EQ(hostValues(z.get()), sum(xs, ys));
    EXPECT_EQ(hostValues(x.get()), xs); // arguments are read only
  }
  EXPECT_EQ(fake("launches"), launches + 2);
  // The GPU module was loaded once per device, at first use.
  EXPECT_EQ(fake("live_modules"), 2);
  // Releasing the artifact unloads it (its destructor's mgpuModuleUnload).
  module.reset();
  EXPECT_EQ(fake("live_modules"), 0);
}

TEST_F(FakeDeviceCalls, RunsStreamsEventsAndTemporaries) {
  std::vector<float> xs = pattern(333), ys = pattern(333, -2.0f);
  Tensor x = deviceF32(0, {333}, xs), y = deviceF32(0, {333}, ys);
  tmixrt_status status = nullptr;
  Tensor z = invoke1(fn("combine"), {x.get(), y.get()}, &status);
  ASSERT_TRUE(isOk(status));
  std::vector<float> expected(333);
  for (size_t i = 0; i < xs.size(); ++i)
    expected[i] = std::fma(2.0f, xs[i], 1.0f) + ys[i];
  EXPECT_EQ(hostValues(z.get()), expected);
  EXPECT_EQ(fake("launches"), launches + 2);
  // The temporary is freed (the fixture checks streams and events).
  EXPECT_EQ(fake("live_allocations"), allocations + 3);
}

TEST_F(FakeDeviceCalls, LoadsJitModulesAndSetsHalves) {
  std::vector<float> xs = pattern(70), ys = pattern(70, 3.0f);
  Tensor x = deviceF32(1, {70}, xs), y = deviceF32(1, {70}, ys);
  tmixrt_status status = nullptr;
  Tensor z = invoke1(fn("add_jit"), {x.get(), y.get()}, &status);
  ASSERT_TRUE(isOk(status));
  EXPECT_EQ(hostValues(z.get()), sum(xs, ys));

  int64_t shape[] = {9};
  Tensor h;
  ASSERT_TRUE(
      isOk(tmixrt_cuda_tensor_create(1, TMIXRT_F16, 1, shape, h.out())));
  Tensor filled = invoke1(fn("fill_f16"), {h.get()}, &status);
  ASSERT_TRUE(isOk(status));
  Tensor back;
  ASSERT_TRUE(isOk(tmixrt_tensor_create(TMIXRT_F16, 1, shape, back.out())));
  ASSERT_TRUE(isOk(tmixrt_tensor_copy(back.get(), filled.get())));
  auto *halves = static_cast<uint16_t *>(tmixrt_tensor_data(back.get()));
  EXPECT_EQ(std::vector<uint16_t>(halves, halves + 9),
            std::vector<uint16_t>(9, 0x3C00));
}

TEST_F(FakeDeviceCalls, CallsWithoutArgumentsRunOnTheCurrentDevice) {
  for (int32_t device : {1, 0}) {
    ASSERT_TRUE(isOk(tmixrt_cuda_set_device(device)));
    Tensor y;
    ASSERT_TRUE(
        isOk(tmixrt_function_invoke(fn("constant"), nullptr, 0, y.out(), 1)));
    EXPECT_EQ(tmixrt_tensor_device_ordinal(y.get()), device);
    EXPECT_EQ(hostValues(y.get()), std::vector<float>(4, 3.0f));
  }
}

TEST_F(FakeDeviceCalls, InvokesIntoDeviceResults) {
  std::vector<float> xs = pattern(50), ys = pattern(50, 1.5f);
  Tensor x = deviceF32(0, {50}, xs), y = deviceF32(0, {50}, ys);
  Tensor z = deviceF32(0, {50}, std::vector<float>(50, -1.0f));
  tmixrt_tensor *args[] = {x.get(), y.get()};
  tmixrt_tensor *results[] = {z.get()};
  ASSERT_TRUE(
      isOk(tmixrt_function_invoke_into(fn("add"), args, 2, results, 1)));
  EXPECT_EQ(hostValues(z.get()), sum(xs, ys));

  Tensor host = makeF32({50});
  results[0] = host.get();
  EXPECT_TRUE(isError(
      tmixrt_function_invoke_into(fn("add"), args, 2, results, 1),
      TMIXRT_INVALID_ARGUMENT,
      {"result 0 ('z') of 'add' is a host tensor, but 'add' runs on CUDA"}));
  Tensor other = deviceF32(1, {50}, xs);
  results[0] = other.get();
  EXPECT_TRUE(isError(
      tmixrt_function_invoke_into(fn("add"), args, 2, results, 1),
      TMIXRT_INVALID_ARGUMENT,
      {"result 0 ('z') of 'add' is on cuda:1, but the call runs on cuda:0"}));
  results[0] = x.get();
  EXPECT_TRUE(
      isError(tmixrt_function_invoke_into(fn("add"), args, 2, results, 1),
              TMIXRT_INVALID_ARGUMENT,
              {"result 0 ('z') of 'add' overlaps argument 0"}));
  EXPECT_EQ(fake("launches"), launches + 1);
  EXPECT_EQ(hostValues(x.get()), xs);
}

TEST_F(FakeDeviceCalls, RefusesTensorsOnTheWrongDevice) {
  std::vector<float> xs = pattern(8);
  Tensor hx = makeF32({8}, xs), hy = makeF32({8}, xs);
  Tensor x0 = deviceF32(0, {8}, xs), y1 = deviceF32(1, {8}, xs);
  tmixrt_status status = nullptr;
  Tensor z = invoke1(fn("add"), {hx.get(), hy.get()}, &status);
  EXPECT_TRUE(isError(status, TMIXRT_INVALID_ARGUMENT,
                      {"argument 0 ('x') of 'add' is a host tensor, but 'add' "
                       "runs on CUDA; pass a device tensor"}));
  EXPECT_EQ(z.get(), nullptr);
  z = invoke1(fn("add"), {x0.get(), y1.get()}, &status);
  EXPECT_TRUE(isError(status, TMIXRT_INVALID_ARGUMENT,
                      {"argument 1 ('y') of 'add' is on cuda:1, but the call "
                       "runs on cuda:0",
                       "all tensors of a call must be on one device"}));
  z = invoke1(fn("twice"), {x0.get()}, &status);
  EXPECT_TRUE(isError(status, TMIXRT_INVALID_ARGUMENT,
                      {"argument 0 ('x') of 'twice' is on cuda:0, but 'twice' "
                       "runs on the CPU; copy it to a host tensor first"}));
  // Shapes are still checked first.
  Tensor short0 = deviceF32(0, {7}, pattern(7));
  z = invoke1(fn("add"), {x0.get(), short0.get()}, &status);
  EXPECT_TRUE(isError(status, TMIXRT_INVALID_ARGUMENT,
                      {"argument 1 ('y') of 'add': dimension 0 is 7, but it "
                       "must equal dimension 0 of argument 0 ('x')"}));
  EXPECT_EQ(fake("launches"), launches);
  // The CPU function of the artifact still runs on host tensors.
  Tensor twice = invoke1(fn("twice"), {hx.get()}, &status);
  ASSERT_TRUE(isOk(status));
  EXPECT_EQ(twice.f32()[7], 2.0f * xs[7]);
}

TEST_F(FakeDeviceCalls, EmptyTensorsLaunchNothing) {
  Tensor x = deviceF32(0, {0}, {}), y = deviceF32(0, {0}, {});
  tmixrt_status status = nullptr;
  Tensor z = invoke1(fn("combine"), {x.get(), y.get()}, &status);
  ASSERT_TRUE(isOk(status));
  EXPECT_EQ(z.shape(), std::vector<int64_t>{0});
  EXPECT_EQ(fake("launches"), launches);
}

TEST_F(FakeDeviceCalls, ReportsAMissingKernel) {
  Tensor x = deviceF32(0, {16}, pattern(16));
  tmixrt_status status = nullptr;
  Tensor y = invoke1(fn("missing_kernel"), {x.get()}, &status);
  EXPECT_TRUE(isError(status, TMIXRT_INTERNAL,
                      {"'missing_kernel' failed on cuda:0: "
                       "mgpuModuleGetFunction: the GPU module has no kernel "
                       "'tmix_no_such_kernel' (cuModuleGetFunction: "
                       "CUDA_ERROR_NOT_FOUND (named symbol not found))"}));
  EXPECT_EQ(y.get(), nullptr);
  // The launch after the error was skipped; the stream was still destroyed
  // (the fixture checks), and invoke took the error.
  EXPECT_EQ(fake("launches"), launches);
}

TEST_F(FakeDevice, MgpuEntryPointsWork) {
  // Device memory: set, copy to and from the host (unified addressing).
  void *device = mgpuMemAlloc(64, nullptr, false);
  ASSERT_NE(device, nullptr);
  tmixrt_mgpu_stream stream = mgpuStreamCreate();
  ASSERT_NE(stream, nullptr);
  mgpuMemset32(device, 0x01020304u, 16, stream);
  uint32_t words[16] = {};
  mgpuMemcpy(words, device, sizeof(words), stream);
  mgpuStreamSynchronize(stream);
  EXPECT_EQ(std::vector<uint32_t>(words, words + 16),
            std::vector<uint32_t>(16, 0x01020304u));
  mgpuMemset16(static_cast<char *>(device) + 2, 0xBEEF, 2, stream);
  mgpuMemcpy(words, device, 8, stream);
  mgpuStreamSynchronize(stream);
  EXPECT_EQ(words[0], 0xBEEF0304u);
  EXPECT_EQ(words[1], 0x0102BEEFu);
  uint32_t ones[4] = {1, 1, 1, 1};
  mgpuMemcpy(device, ones, sizeof(ones), stream);
  mgpuMemcpy(words, device, 16, stream);
  mgpuStreamSynchronize(nullptr);
  EXPECT_EQ(words[3], 1u);
  // Managed memory is visible to the host.
  auto *shared = static_cast<float *>(mgpuMemAlloc(16, stream, true));
  ASSERT_NE(shared, nullptr);
  mgpuMemset32(shared, 0x40000000u, 4, stream); // 2.0f
  mgpuStreamSynchronize(stream);
  EXPECT_EQ(shared[3], 2.0f);
  EXPECT_EQ(fake("live_allocations"), allocations + 2);
  // Events.
  tmixrt_mgpu_event event = mgpuEventCreate();
  ASSERT_NE(event, nullptr);
  mgpuEventRecord(event, stream);
  mgpuStreamWaitEvent(stream, event);
  mgpuEventSynchronize(event);
  EXPECT_EQ(fake("live_events"), 1);
  mgpuEventDestroy(event);
  EXPECT_TRUE(nothingPending());

  // Launches: shared memory is checked and opted into; zero extents run
  // nothing; bad extents are errors.
  static const char image[] =
      ".version 7.0\n.visible .entry tmix_axpy_f32(.param .f32 a) {}\n";
  tmixrt_mgpu_module module =
      mgpuModuleLoad(const_cast<char *>(image), sizeof(image));
  tmixrt_mgpu_function axpy = mgpuModuleGetFunction(module, "tmix_axpy_f32");
  ASSERT_NE(axpy, nullptr);
  EXPECT_EQ(fake("live_modules"), 1);
  mgpuMemset32(device, 0x3F800000u, 16, stream); // 1.0f
  float a = 0.5f;
  void *x = shared, *y = device;
  uint64_t n = 4;
  void *params[] = {&a, &x, &y, &n};
  int before = fake("launches");
  mgpuLaunchKernel(axpy, 1, 1, 1, 32, 1, 1, 64 * 1024, stream, params, nullptr,
                   4);
  mgpuStreamSynchronize(stream);
  EXPECT_TRUE(nothingPending());
  mgpuMemcpy(words, device, 16, stream);
  mgpuStreamSynchronize(stream);
  float computed[4];
  std::memcpy(computed, words, sizeof(computed));
  EXPECT_EQ(std::vector<float>(computed, computed + 4),
            std::vector<float>(4, 0.5f * 2.0f + 1.0f));
  mgpuLaunchKernel(axpy, 0, 1, 1, 32, 1, 1, 0, stream, params, nullptr, 4);
  mgpuLaunchKernel(axpy, 1, 1, 1, 32, 0, 1, 0, stream, params, nullptr, 4);
  EXPECT_TRUE(nothingPending());
  EXPECT_EQ(fake("launches"), before + 1);
  mgpuLaunchKernel(axpy, -1, 1, 1, 32, 1, 1, 0, stream, params, nullptr, 4);
  EXPECT_TRUE(pending(TMIXRT_INVALID_ARGUMENT,
                      {"mgpuLaunchKernel: the grid -1x1x1 is out of range"}));
  mgpuLaunchKernel(axpy, 1, 1, 1, 32, 1, 1, 300000, stream, params, nullptr, 4);
  EXPECT_TRUE(pending(TMIXRT_FAILED_PRECONDITION,
                      {"mgpuLaunchKernel: the kernel needs 300000 bytes of "
                       "dynamic shared memory, but cuda:0 allows at most "
                       "232448 per block"}));
  mgpuLaunchKernel(axpy, 1, 1, 1, 32, 1, 1, 0, stream, nullptr, nullptr, 4);
  EXPECT_TRUE(pending(TMIXRT_INVALID_ARGUMENT, {"4 kernel parameters, but no "
                                                "parameter list"}));
  EXPECT_EQ(fake("launches"), before + 1);

  // While an error is pending, work is skipped; other calls still run.
  std::memset(words, 0x11, sizeof(words));
  mgpuSetDefaultDevice(-1);
  mgpuMemset32(device, 0, 16, stream);
  mgpuLaunchKernel(axpy, 1, 1, 1, 32, 1, 1, 0, stream, params, nullptr, 4);
  mgpuMemcpy(words, device, 16, stream);
  EXPECT_EQ(words[0], 0x11111111u); // not copied
  EXPECT_EQ(fake("launches"), before + 1);
  EXPECT_TRUE(pending(TMIXRT_INVALID_ARGUMENT, {"device -1 is negative"}));
  mgpuMemset32(device, 0, 16, stream);
  mgpuMemcpy(words, device, 16, stream);
  mgpuStreamSynchronize(stream);
  EXPECT_EQ(words[0], 0u);

  // Driver errors name the call and the driver's error.
  mgpuStreamWaitEvent(stream, reinterpret_cast<tmixrt_mgpu_event>(words));
  EXPECT_TRUE(pending(TMIXRT_INTERNAL,
                      {"mgpuStreamWaitEvent: cuStreamWaitEvent: "
                       "CUDA_ERROR_INVALID_HANDLE (invalid resource handle)"}));
  mgpuMemFree(words, stream);
  EXPECT_TRUE(pending(TMIXRT_INTERNAL, {"mgpuMemFree: cuMemFree_v2: "
                                        "CUDA_ERROR_INVALID_VALUE"}));
  EXPECT_EQ(mgpuModuleGetFunction(module, "tmix_add_f32"), nullptr);
  EXPECT_TRUE(pending(TMIXRT_INTERNAL,
                      {"the GPU module has no kernel 'tmix_add_f32'"}));
  EXPECT_EQ(mgpuModuleGetFunction(module, nullptr), nullptr);
  EXPECT_TRUE(pending(TMIXRT_INVALID_ARGUMENT, {"the kernel name is null"}));

  // Images the driver rejects fail at the first lookup on a device.
  static const char garbage[] = "not a GPU image";
  tmixrt_mgpu_module bad =
      mgpuModuleLoad(const_cast<char *>(garbage), sizeof(garbage));
  ASSERT_NE(bad, nullptr);
  EXPECT_TRUE(nothingPending());
  EXPECT_EQ(mgpuModuleGetFunction(bad, "k"), nullptr);
  EXPECT_TRUE(pending(TMIXRT_INTERNAL,
                      {"mgpuModuleGetFunction('k'): cannot load the GPU module "
                       "on cuda:0: cuModuleLoadData: CUDA_ERROR_INVALID_IMAGE "
                       "(device kernel image is invalid)"}));
  tmixrt_mgpu_module badJit = mgpuModuleLoadJIT(const_cast<char *>(garbage), 1);
  EXPECT_EQ(mgpuModuleGetFunction(badJit, "k"), nullptr);
  EXPECT_TRUE(pending(TMIXRT_INTERNAL,
                      {"mgpuModuleGetFunction('k'): cannot compile the PTX of "
                       "the GPU module on cuda:0: cuModuleLoadDataEx: "
                       "CUDA_ERROR_INVALID_IMAGE (device kernel image is "
                       "invalid): ptxas fatal : fake JIT error 200"}));
  mgpuModuleUnload(bad);
  mgpuModuleUnload(badJit);
  mgpuModuleUnload(module);
  EXPECT_EQ(fake("live_modules"), 0);

  mgpuMemFree(shared, stream);
  mgpuMemFree(device, stream);
  mgpuStreamDestroy(stream);
  EXPECT_TRUE(nothingPending());
}

//===----------------------------------------------------------------------===//
// Device memory runs out (4 KiB per device)
//===----------------------------------------------------------------------===//

class OutOfMemory : public FakeDeviceCalls {};

TEST_F(OutOfMemory, TensorsReportIt) {
  int64_t shape[] = {2048};
  Tensor big;
  EXPECT_TRUE(isError(
      tmixrt_cuda_tensor_create(0, TMIXRT_F32, 1, shape, big.out()),
      TMIXRT_OUT_OF_MEMORY,
      {"tmixrt_cuda_tensor_create: cannot allocate 8192 bytes on cuda:0 for a "
       "f32 tensor of shape [2048]: cuMemAlloc_v2: CUDA_ERROR_OUT_OF_MEMORY "
       "(out of memory)"}));
  EXPECT_EQ(big.get(), nullptr);
  EXPECT_EQ(mgpuMemAlloc(1 << 20, nullptr, false), nullptr);
  EXPECT_TRUE(pending(TMIXRT_OUT_OF_MEMORY,
                      {"mgpuMemAlloc: cannot allocate 1048576 bytes on cuda:0: "
                       "cuMemAlloc_v2: CUDA_ERROR_OUT_OF_MEMORY"}));
}

TEST_F(OutOfMemory, ResultsThatDoNotFitFailTheCall) {
  // x and y take 3200 of the 4096 bytes; z does not fit.
  Tensor x = deviceF32(0, {400}, pattern(400)),
         y = deviceF32(0, {400}, pattern(400));
  tmixrt_status status = nullptr;
  Tensor z = invoke1(fn("add"), {x.get(), y.get()}, &status);
  EXPECT_TRUE(isError(status, TMIXRT_OUT_OF_MEMORY,
                      {"tmixrt_function_invoke: cannot allocate 1600 bytes on "
                       "cuda:0",
                       "CUDA_ERROR_OUT_OF_MEMORY"}));
  EXPECT_EQ(z.get(), nullptr);
  EXPECT_EQ(fake("launches"), launches);
}

TEST_F(OutOfMemory, TemporariesThatDoNotFitFailTheCall) {
  // x, y and z take 3600 bytes; combine's temporary does not fit.
  Tensor x = deviceF32(0, {300}, pattern(300)),
         y = deviceF32(0, {300}, pattern(300));
  tmixrt_status status = nullptr;
  Tensor z = invoke1(fn("combine"), {x.get(), y.get()}, &status);
  EXPECT_TRUE(isError(status, TMIXRT_OUT_OF_MEMORY,
                      {"'combine' failed on cuda:0: mgpuMemAlloc: cannot "
                       "allocate 1200 bytes on cuda:0: cuMemAlloc_v2: "
                       "CUDA_ERROR_OUT_OF_MEMORY (out of memory)"}));
  EXPECT_EQ(z.get(), nullptr);
  // Nothing ran on the missing buffer; streams and events were released
  // (the fixture checks), and z was freed.
  EXPECT_EQ(fake("launches"), launches);
  EXPECT_EQ(fake("live_allocations"), allocations + 2);
}

//===----------------------------------------------------------------------===//
// Launches fail
//===----------------------------------------------------------------------===//

class LaunchFails : public FakeDeviceCalls {};

TEST_F(LaunchFails, CallsFailWithTheDriverError) {
  Tensor x = deviceF32(0, {8}, pattern(8)), y = deviceF32(0, {8}, pattern(8));
  tmixrt_status status = nullptr;
  Tensor z = invoke1(fn("add"), {x.get(), y.get()}, &status);
  EXPECT_TRUE(isError(status, TMIXRT_INTERNAL,
                      {"'add' failed on cuda:0: mgpuLaunchKernel: "
                       "cuLaunchKernel: CUDA_ERROR_LAUNCH_FAILED (unspecified "
                       "launch failure)"}));
  EXPECT_EQ(z.get(), nullptr);
  EXPECT_EQ(fake("live_allocations"), allocations + 2);
  Tensor into = deviceF32(0, {8}, pattern(8));
  tmixrt_tensor *args[] = {x.get(), y.get()};
  tmixrt_tensor *results[] = {into.get()};
  EXPECT_TRUE(
      isError(tmixrt_function_invoke_into(fn("add"), args, 2, results, 1),
              TMIXRT_INTERNAL, {"CUDA_ERROR_LAUNCH_FAILED"}));
}

class LaunchUnknownError : public FakeDeviceCalls {};

TEST_F(LaunchUnknownError, GivesTheNumber) {
  Tensor x = deviceF32(0, {8}, pattern(8));
  tmixrt_status status = nullptr;
  Tensor z = invoke1(fn("add"), {x.get(), x.get()}, &status);
  EXPECT_TRUE(isError(status, TMIXRT_INTERNAL,
                      {"mgpuLaunchKernel: cuLaunchKernel: CUDA error 12345"}));
}

//===----------------------------------------------------------------------===//
// The driver rejects the GPU image
//===----------------------------------------------------------------------===//

class BadImage : public FakeDeviceCalls {};

TEST_F(BadImage, CallsSayTheCodeDoesNotFit) {
  Tensor x = deviceF32(0, {8}, pattern(8));
  tmixrt_status status = nullptr;
  Tensor z = invoke1(fn("add"), {x.get(), x.get()}, &status);
  EXPECT_TRUE(isError(
      status, TMIXRT_FAILED_PRECONDITION,
      {"'add' failed on cuda:0: mgpuModuleGetFunction('tmix_add_f32'): cannot "
       "load the GPU module on cuda:0: cuModuleLoadData: "
       "CUDA_ERROR_NO_BINARY_FOR_GPU (no kernel image is available for "
       "execution on the device)"}));
  z = invoke1(fn("add_jit"), {x.get(), x.get()}, &status);
  EXPECT_TRUE(isError(status, TMIXRT_FAILED_PRECONDITION,
                      {"cannot compile the PTX of the GPU module on cuda:0: "
                       "cuModuleLoadDataEx: CUDA_ERROR_NO_BINARY_FOR_GPU",
                       "ptxas fatal : fake JIT error 209"}));
  EXPECT_EQ(fake("launches"), launches);
  EXPECT_EQ(fake("live_modules"), 0);
}

//===----------------------------------------------------------------------===//
// The default driver path (TMIXRT_CUDA_DRIVER unset)
//===----------------------------------------------------------------------===//

class DefaultDriver : public Scenario {};

TEST_F(DefaultDriver, LooksForLibcuda) {
  ASSERT_EQ(std::getenv("TMIXRT_CUDA_DRIVER"), nullptr);
  tmixrt_status status = tmixrt_cuda_init();
  if (!status)
    return; // a real driver with a device
  std::string message = tmixrt_status_message(status);
  EXPECT_EQ(tmixrt_status_code(status), TMIXRT_UNAVAILABLE) << message;
  tmixrt_status_free(status);
  // Either libcuda.so.1 is missing, or it loaded and found no device.
  bool missing = message.find("CUDA driver not found (libcuda.so.1: ") !=
                 std::string::npos;
  bool noDevice = message.find("no CUDA device") != std::string::npos ||
                  message.find("'libcuda.so.1'") != std::string::npos;
  EXPECT_TRUE(missing || noDevice) << message;
}

} // namespace
