//===- CudaRuntimeTest.cpp - the CUDA backend, without and with a GPU -----===//
//
// TmixCudaRuntimeTests. libtmixrt loads the CUDA driver once per process, so
// each driver setup runs the scenario program (CudaScenarioTests.cpp) in a
// fresh process with its environment: no driver, a driver missing a symbol,
// cuInit failing, no device, and the fake driver of FakeCudaDriver.c with
// two devices, too little memory, failing launches or rejected images.
//
// RealDevice runs in this process against the system's driver: the fake
// CUDA artifact (real PTX) on device 0. It skips, saying why, when there is
// no usable device.
//
//===----------------------------------------------------------------------===//

#include "CudaTestUtils.h"
#include "TestUtils.h"

#include "tmixrt/tmixrt_cuda.h"

#include "gtest/gtest.h"

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

using namespace tmixrt::test;

namespace {

struct Scenario {
  const char *suite;
  /// Environment variables; a null value leaves the variable unset.
  EnvSettings env;
};

std::ostream &operator<<(std::ostream &os, const Scenario &scenario) {
  return os << scenario.suite;
}

const Scenario kScenarios[] = {
    {"NoDriver",
     {{"TMIXRT_CUDA_DRIVER", "/nonexistent/tmixrt-test/libcuda.so.1"}}},
    {"MissingSymbol",
     {{"TMIXRT_CUDA_DRIVER", TMIXRT_FAKE_CUDA_DRIVER_NO_ALLOC}}},
    {"InitNoDevice",
     {{"TMIXRT_CUDA_DRIVER", TMIXRT_FAKE_CUDA_DRIVER},
      {"FAKE_CUDA_INIT_RESULT", "100"}}},
    {"InitFails",
     {{"TMIXRT_CUDA_DRIVER", TMIXRT_FAKE_CUDA_DRIVER},
      {"FAKE_CUDA_INIT_RESULT", "803"}}},
    {"InitUnknownError",
     {{"TMIXRT_CUDA_DRIVER", TMIXRT_FAKE_CUDA_DRIVER},
      {"FAKE_CUDA_INIT_RESULT", "12345"}}},
    {"NoDevice",
     {{"TMIXRT_CUDA_DRIVER", TMIXRT_FAKE_CUDA_DRIVER},
      {"FAKE_CUDA_DEVICE_COUNT", "0"}}},
    {"FakeDevice",
     {{"TMIXRT_CUDA_DRIVER", TMIXRT_FAKE_CUDA_DRIVER},
      {"FAKE_CUDA_DEVICE_COUNT", "2"}}},
    {"FakeDeviceCalls",
     {{"TMIXRT_CUDA_DRIVER", TMIXRT_FAKE_CUDA_DRIVER},
      {"FAKE_CUDA_DEVICE_COUNT", "2"}}},
    {"OutOfMemory",
     {{"TMIXRT_CUDA_DRIVER", TMIXRT_FAKE_CUDA_DRIVER},
      {"FAKE_CUDA_MEMORY_BYTES", "4096"}}},
    {"LaunchFails",
     {{"TMIXRT_CUDA_DRIVER", TMIXRT_FAKE_CUDA_DRIVER},
      {"FAKE_CUDA_LAUNCH_RESULT", "719"}}},
    {"LaunchUnknownError",
     {{"TMIXRT_CUDA_DRIVER", TMIXRT_FAKE_CUDA_DRIVER},
      {"FAKE_CUDA_LAUNCH_RESULT", "12345"}}},
    {"BadImage",
     {{"TMIXRT_CUDA_DRIVER", TMIXRT_FAKE_CUDA_DRIVER},
      {"FAKE_CUDA_MODULE_RESULT", "209"}}},
    {"DefaultDriver", {{"TMIXRT_CUDA_DRIVER", nullptr}}},
};

/// Runs the scenario program with --gtest_filter=<suite>.* in the scenario's
/// environment (see childEnvironment), its output going to `log`.
ProcessResult runScenario(const Scenario &scenario, const std::string &log) {
  EnvSettings settings = scenario.env;
  settings.emplace_back("TMIXRT_CUDA_SCENARIO", scenario.suite);
  return runProcess(TMIXRT_CUDA_SCENARIOS,
                    {std::string("--gtest_filter=") + scenario.suite + ".*"},
                    childEnvironment(settings), log);
}

class CudaScenario : public ::testing::TestWithParam<Scenario> {};

TEST_P(CudaScenario, Passes) {
  TempDir dir;
  const Scenario &scenario = GetParam();
  ProcessResult run = runScenario(scenario, dir.file("output"));
  EXPECT_EQ(run.exitCode, 0) << run.out;
  // Every test of the suite ran (none skipped for a wrong environment).
  EXPECT_NE(run.out.find("[  PASSED  ]"), std::string::npos) << run.out;
  EXPECT_EQ(run.out.find("[  SKIPPED ]"), std::string::npos) << run.out;
  EXPECT_EQ(run.out.find("Running 0 tests"), std::string::npos) << run.out;
}

INSTANTIATE_TEST_SUITE_P(Driver, CudaScenario, ::testing::ValuesIn(kScenarios),
                         [](const ::testing::TestParamInfo<Scenario> &info) {
                           return std::string(info.param.suite);
                         });

//===----------------------------------------------------------------------===//
// A real GPU, when there is one
//===----------------------------------------------------------------------===//

class RealDevice : public ::testing::Test {
protected:
  void SetUp() override {
    tmixrt_status status = tmixrt_cuda_init();
    if (status) {
      std::string message = tmixrt_status_message(status);
      tmixrt_status_free(status);
      GTEST_SKIP() << "no usable CUDA device: " << message;
    }
  }
};

TEST_F(RealDevice, RunsTheFakeArtifactsKernels) {
  tmixrt_cuda_device_properties properties;
  ASSERT_TRUE(isOk(tmixrt_cuda_device_properties_get(0, &properties)));
  std::printf("device 0: %s, sm_%d%d, %llu MiB\n", properties.name,
              properties.compute_capability_major,
              properties.compute_capability_minor,
              static_cast<unsigned long long>(properties.total_memory >> 20));
  Module module(TMIXRT_FAKE_CUDA);
  ASSERT_NE(module.get(), nullptr);
  const size_t n = 100003;
  std::vector<float> xs = pattern(n), ys = pattern(n, 0.375f);
  Tensor x = deviceF32(0, {int64_t(n)}, xs), y = deviceF32(0, {int64_t(n)}, ys);
  tmixrt_tensor *args[] = {x.get(), y.get()};
  for (const char *name : {"add", "add_jit", "combine"}) {
    Tensor z;
    ASSERT_TRUE(
        isOk(tmixrt_function_invoke(module.fn(name), args, 2, z.out(), 1)))
        << name;
    std::vector<float> got = hostValues(z.get());
    ASSERT_EQ(got.size(), n);
    bool combine = std::strcmp(name, "combine") == 0;
    for (size_t i = 0; i < n; ++i) {
      float want =
          combine ? std::fma(2.0f, xs[i], 1.0f) + ys[i] : xs[i] + ys[i];
      ASSERT_EQ(got[i], want) << name << " element " << i;
    }
  }
  // Streams and asynchronous copies.
  Stream stream;
  ASSERT_TRUE(isOk(tmixrt_cuda_stream_create(0, stream.out())));
  Tensor back = makeF32({int64_t(n)});
  ASSERT_TRUE(
      isOk(tmixrt_tensor_copy_async(back.get(), y.get(), stream.get())));
  ASSERT_TRUE(isOk(tmixrt_cuda_stream_synchronize(stream.get())));
  EXPECT_EQ(std::vector<float>(back.f32(), back.f32() + n), ys);
  Tensor missing;
  tmixrt_tensor *one[] = {x.get()};
  EXPECT_TRUE(isError(tmixrt_function_invoke(module.fn("missing_kernel"), one,
                                             1, missing.out(), 1),
                      TMIXRT_INTERNAL,
                      {"no kernel 'tmix_no_such_kernel'", "CUDA_ERROR_"}));
  EXPECT_TRUE(isOk(tmixrt_cuda_synchronize(0)));
}

} // namespace
