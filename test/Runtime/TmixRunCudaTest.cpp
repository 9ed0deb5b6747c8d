//===- TmixRunCudaTest.cpp - tmix-run --device=cuda, run as a program -----===//
//
// Part of TmixCudaRuntimeTests. Runs the tmix-run binary in a fresh process
// per call (libtmixrt loads the CUDA driver once per process) with the
// environment of each driver setup: no driver, and the fake driver of
// FakeCudaDriver.c with one or two devices, little memory or failing
// launches. The artifacts are FakeCudaArtifact.c (CUDA functions and one CPU
// function) and its FAKE_CUDA_WEIGHTS build (CUDA functions with weight
// arguments). Expected values are recomputed here from the inputs.
//
// TmixRunRealDevice runs the same artifact on device 0 of the system's
// driver and skips, saying why, without a usable device.
//
//===----------------------------------------------------------------------===//

#include "CudaTestUtils.h"
#include "SafetensorsWriter.h"
#include "TestUtils.h"

#include "tmixrt/npy.h"
#include "tmixrt/tmixrt_cuda.h"

#include "gtest/gtest.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <unistd.h>
#include <vector>

using namespace tmixrt::test;

namespace {

const char kMissingDriver[] = "/nonexistent/tmixrt-test/libcuda.so.1";

/// The fake driver with `devices` devices, and further settings.
EnvSettings fakeDriver(const char *devices = "1", EnvSettings more = {}) {
  EnvSettings settings = {{"TMIXRT_CUDA_DRIVER", TMIXRT_FAKE_CUDA_DRIVER},
                          {"FAKE_CUDA_DEVICE_COUNT", devices}};
  settings.insert(settings.end(), more.begin(), more.end());
  return settings;
}

const EnvSettings kNoDriver = {{"TMIXRT_CUDA_DRIVER", kMissingDriver}};

const char kDevice0[] =
    "device: cuda:0: Fake CUDA Device 0, sm_90, 1024 MiB, CUDA driver 13.0\n";

bool fileExists(const std::string &path) {
  return access(path.c_str(), F_OK) == 0;
}

class TmixRunCudaTest : public ::testing::Test {
protected:
  ProcessResult run(const EnvSettings &env,
                    const std::vector<std::string> &args) {
    return runProcess(TMIXRT_TMIX_RUN, args, childEnvironment(env),
                      dir.file("stdout"), dir.file("stderr"));
  }

  /// Expects exit code 1 and one line on stderr, "tmix-run: error: ...",
  /// containing `fragments`.
  void expectError(const EnvSettings &env, const std::vector<std::string> &args,
                   std::initializer_list<std::string> fragments) {
    ProcessResult r = run(env, args);
    EXPECT_EQ(r.exitCode, 1) << r.out << r.err;
    EXPECT_EQ(r.err.rfind("tmix-run: error: ", 0), 0u) << r.err;
    ASSERT_FALSE(r.err.empty());
    EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "not one line: " << r.err;
    for (const std::string &fragment : fragments)
      EXPECT_NE(r.err.find(fragment), std::string::npos)
          << "\"" << r.err << "\" lacks \"" << fragment << "\"";
  }

  std::string writeNpy(const std::string &name, std::vector<int64_t> shape,
                       std::vector<float> values) {
    std::string path = dir.file(name);
    Tensor tensor = makeF32(shape, values);
    EXPECT_TRUE(isOk(tmixrt_npy_write(path.c_str(), tensor.get())));
    return path;
  }

  /// The f32 values of the .npy file at `path` (and its shape).
  std::vector<float> readNpy(const std::string &path,
                             std::vector<int64_t> *shape = nullptr) {
    Tensor tensor;
    EXPECT_TRUE(isOk(tmixrt_npy_read(path.c_str(), tensor.out())));
    if (!tensor.get())
      return {};
    EXPECT_EQ(tmixrt_tensor_dtype(tensor.get()), TMIXRT_F32);
    if (shape)
      *shape = tensor.shape();
    return std::vector<float>(
        tensor.f32(), tensor.f32() + tmixrt_tensor_element_count(tensor.get()));
  }

  static std::vector<float> iota(size_t n, float scale = 1.0f) {
    std::vector<float> values(n);
    for (size_t i = 0; i < n; ++i)
      values[i] = scale * static_cast<float>(i);
    return values;
  }

  TempDir dir;
};

TEST_F(TmixRunCudaTest, WithoutADriverDeviceCudaFailsWithTheDriversMessage) {
  std::string x = writeNpy("x.npy", {3}, {1, 2, 3});
  for (const char *device : {"--device=cuda", "--device=cuda:0"}) {
    expectError(kNoDriver,
                {TMIXRT_FAKE_CUDA, device, "--function=add", "--input=" + x,
                 "--input=" + x},
                {std::string(device) +
                 ": tmixrt_cuda_init: CUDA driver not "
                 "found (" +
                 kMissingDriver + ": cannot open shared object file"});
    expectError(kNoDriver, {TMIXRT_FAKE_CUDA, device, "--list"},
                {"CUDA driver not found"});
  }
  // A driver without devices.
  expectError(fakeDriver("0"), {TMIXRT_FAKE_CUDA, "--device=cuda", "--list"},
              {"--device=cuda: tmixrt_cuda_init: no CUDA device"});
  // The CPU function of the CPU+CUDA artifact still runs: no driver needed.
  ProcessResult r =
      run(kNoDriver, {TMIXRT_FAKE_CUDA, "--function=twice", "--input=" + x});
  EXPECT_EQ(r.exitCode, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(r.out, "result 0 'y': [3] f32\n  min 2  max 6  mean 4\n"
                   "  first: 2 4 6\n");
  // So does --list, without a device line.
  r = run(kNoDriver, {TMIXRT_FAKE_CUDA, "--list"});
  EXPECT_EQ(r.exitCode, 0) << r.err;
  EXPECT_EQ(r.out.find("device:"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("add(x: [?] f32, y: [?] f32) -> (z: [?] f32) [cuda]"),
            std::string::npos)
      << r.out;
}

TEST_F(TmixRunCudaTest, RunsACudaFunctionEndToEnd) {
  // combine: z = 2 x + 1 + y = 12 i + 1 for x = i, y = 10 i.
  std::string x = writeNpy("x.npy", {12}, iota(12));
  std::string y = writeNpy("y.npy", {12}, iota(12, 10.0f));
  std::string z = dir.file("z.npy");
  ProcessResult r =
      run(fakeDriver(),
          {TMIXRT_FAKE_CUDA, "--device=cuda", "--function=combine",
           "--input=" + x, "--input=" + y, "--output=" + z, "--top=2"});
  EXPECT_EQ(r.exitCode, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(r.out, std::string(kDevice0) +
                       "result 0 'z': [12] f32\n"
                       "  min 1  max 133  mean 67\n"
                       "  first: 1 13 25 37 49 61 73 85 ...\n"
                       "  top 2: [11] 133 [10] 121\n"
                       "wrote result 0 to " +
                       z + "\n");
  std::vector<int64_t> shape;
  std::vector<float> got = readNpy(z, &shape);
  EXPECT_EQ(shape, (std::vector<int64_t>{12}));
  ASSERT_EQ(got.size(), 12u);
  for (size_t i = 0; i < 12; ++i)
    EXPECT_EQ(got[i], 12.0f * static_cast<float>(i) + 1.0f) << i;

  // add and add_jit: z = x + y, on fractional values.
  std::vector<float> xs = pattern(300), ys = pattern(300, 0.375f);
  x = writeNpy("x2.npy", {300}, xs);
  y = writeNpy("y2.npy", {300}, ys);
  for (const char *fn : {"add", "add_jit"}) {
    std::string out = dir.file(std::string(fn) + ".npy");
    r = run(fakeDriver(), {TMIXRT_FAKE_CUDA, "--device", "cuda:0",
                           std::string("--function=") + fn, "--input=" + x,
                           "--input=" + y, "--output=" + out});
    EXPECT_EQ(r.exitCode, 0) << fn << ": " << r.err;
    got = readNpy(out);
    ASSERT_EQ(got.size(), 300u) << fn;
    for (size_t i = 0; i < 300; ++i)
      EXPECT_EQ(got[i], xs[i] + ys[i]) << fn << " element " << i;
  }
}

TEST_F(TmixRunCudaTest, RandomInputsF16AndFunctionsWithoutArguments) {
  // fill_f16 sets y = 1.0 (0x3C00); the .npy file keeps f16.
  std::string y = dir.file("y.npy");
  ProcessResult r =
      run(fakeDriver(),
          {TMIXRT_FAKE_CUDA, "--device=cuda", "--function=fill_f16",
           "--random-inputs", "--shape=x=5", "--seed=3", "--output=" + y});
  EXPECT_EQ(r.exitCode, 0) << r.err;
  EXPECT_NE(r.out.find("result 0 'y': [5] f16\n  min 1  max 1  mean 1\n"
                       "  first: 1 1 1 1 1\n"),
            std::string::npos)
      << r.out;
  Tensor half;
  ASSERT_TRUE(isOk(tmixrt_npy_read(y.c_str(), half.out())));
  ASSERT_EQ(tmixrt_tensor_dtype(half.get()), TMIXRT_F16);
  ASSERT_EQ(tmixrt_tensor_element_count(half.get()), 5u);
  const uint16_t *bits =
      static_cast<const uint16_t *>(tmixrt_tensor_data(half.get()));
  for (size_t i = 0; i < 5; ++i)
    EXPECT_EQ(bits[i], 0x3C00) << i;

  // constant() has no arguments: it runs on the chosen device, here cuda:1.
  r = run(fakeDriver("2"),
          {TMIXRT_FAKE_CUDA, "--device=cuda:1", "--function=constant"});
  EXPECT_EQ(r.exitCode, 0) << r.err;
  EXPECT_EQ(r.out, "device: cuda:1: Fake CUDA Device 1, sm_90, 1024 MiB, CUDA "
                   "driver 13.0\n"
                   "result 0 'y': [4] f32\n  min 3  max 3  mean 3\n"
                   "  first: 3 3 3 3\n");
}

TEST_F(TmixRunCudaTest, BenchmarkReusesTheDeviceResults) {
  std::string x = writeNpy("x.npy", {12}, iota(12));
  std::string z = dir.file("z.npy");
  ProcessResult r =
      run(fakeDriver(),
          {TMIXRT_FAKE_CUDA, "--device=cuda", "--function=combine",
           "--input=" + x, "--input=" + x, "--benchmark=3", "--output=" + z});
  EXPECT_EQ(r.exitCode, 0) << r.err;
  EXPECT_NE(r.out.find("  first: 1 4 7 10 13 16 19 22 ...\n"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("benchmark 'combine': 3 calls after 1 warm-up: median "),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find(" ms, min "), std::string::npos) << r.out;
  // The file holds the first call's results: 3 i + 1.
  std::vector<float> got = readNpy(z);
  ASSERT_EQ(got.size(), 12u);
  for (size_t i = 0; i < 12; ++i)
    EXPECT_EQ(got[i], 3.0f * static_cast<float>(i) + 1.0f) << i;

  // A launch that fails: the first call reports it and nothing is written.
  std::string never = dir.file("never.npy");
  expectError(fakeDriver("1", {{"FAKE_CUDA_LAUNCH_RESULT", "719"}}),
              {TMIXRT_FAKE_CUDA, "--device=cuda", "--function=add",
               "--input=" + x, "--input=" + x, "--output=" + never,
               "--benchmark=2"},
              {"'add' failed on cuda:0", "CUDA_ERROR_LAUNCH_FAILED"});
  EXPECT_FALSE(fileExists(never));
  // Inputs that do not fit the device.
  std::string big = writeNpy("big.npy", {2048}, iota(2048));
  expectError(fakeDriver("1", {{"FAKE_CUDA_MEMORY_BYTES", "4096"}}),
              {TMIXRT_FAKE_CUDA, "--device=cuda", "--function=add",
               "--input=" + big, "--input=" + big, "--output=" + never},
              {"tmixrt_cuda_tensor_create", "CUDA_ERROR_OUT_OF_MEMORY"});
  EXPECT_FALSE(fileExists(never));
}

TEST_F(TmixRunCudaTest, FunctionsOfTheOtherDeviceAreRefused) {
  std::string x = writeNpy("x.npy", {4}, {1, 2, 3, 4});
  // A CPU function with --device=cuda.
  for (const char *device : {"--device=cuda", "--device=cuda:0"})
    expectError(fakeDriver(),
                {TMIXRT_FAKE_CUDA, device, "--function=twice", "--input=" + x},
                {"'twice' runs on the CPU, not on CUDA; drop " +
                 std::string(device) + " (or pass --device=cpu) to run it"});
  expectError(fakeDriver(),
              {TMIXRT_FAKE_GOOD, "--device=cuda", "--function=add",
               "--random-inputs", "--shape=x=2x4", "--shape=y=2x4"},
              {"'add' runs on the CPU, not on CUDA"});
  // A CUDA function on the CPU, explicitly or by default; also when a device
  // is there.
  for (const EnvSettings &env : {fakeDriver(), kNoDriver}) {
    expectError(env,
                {TMIXRT_FAKE_CUDA, "--device=cpu", "--function=add",
                 "--input=" + x, "--input=" + x},
                {"'add' runs on CUDA; pass --device=cuda (or --device=cuda:N "
                 "for CUDA device N) to run it"});
    expectError(env, {TMIXRT_FAKE_CUDA, "--function=constant"},
                {"'constant' runs on CUDA; pass --device=cuda"});
  }
  // --device=cpu is the default: the CPU function runs the same with it.
  ProcessResult r = run(fakeDriver(), {TMIXRT_FAKE_CUDA, "--device=cpu",
                                       "--function=twice", "--input=" + x});
  EXPECT_EQ(r.exitCode, 0) << r.err;
  EXPECT_EQ(r.out, "result 0 'y': [4] f32\n  min 2  max 8  mean 5\n"
                   "  first: 2 4 6 8\n");
}

TEST_F(TmixRunCudaTest, BadDeviceValuesAreRefused) {
  for (const char *value :
       {"cuda:x", "gpu", "cuda:-1", "cuda:", "CUDA", "cuda:1.5", "cuda:+1",
        "cuda0", "", "cpu:0", "cuda:99999999999"})
    expectError(fakeDriver(),
                {TMIXRT_FAKE_CUDA, std::string("--device=") + value, "--list"},
                {"--device needs cpu, cuda or cuda:N (N: a CUDA device "
                 "number, 0 for the first), got '" +
                 std::string(value) + "'"});
  expectError(fakeDriver(), {TMIXRT_FAKE_CUDA, "--device"},
              {"option '--device' needs a value"});
  expectError(fakeDriver(),
              {TMIXRT_FAKE_CUDA, "--device=cuda", "--device=cpu", "--list"},
              {"--device given twice"});
  // Device numbers the driver does not have.
  expectError(fakeDriver(), {TMIXRT_FAKE_CUDA, "--device=cuda:99", "--list"},
              {"--device=cuda:99: there is no CUDA device 99; the driver "
               "reports 1 device(s) (cuda:0)"});
  expectError(fakeDriver("2"), {TMIXRT_FAKE_CUDA, "--device=cuda:2", "--list"},
              {"--device=cuda:2: there is no CUDA device 2; the driver "
               "reports 2 device(s) (cuda:0 .. cuda:1)"});
}

TEST_F(TmixRunCudaTest, ListDescribesTheDevice) {
  ProcessResult r =
      run(fakeDriver("2"), {TMIXRT_FAKE_CUDA, "--device=cuda:1", "--list"});
  EXPECT_EQ(r.exitCode, 0) << r.err;
  EXPECT_EQ(r.out.rfind("device: cuda:1: Fake CUDA Device 1, sm_90, 1024 MiB, "
                        "CUDA driver 13.0\n" +
                            std::string(TMIXRT_FAKE_CUDA) +
                            ": 7 function(s), produced by fake-cuda 1.0\n",
                        0),
            0u)
      << r.out;
  EXPECT_NE(r.out.find("twice(x: [?] f32) -> (y: [?] f32) [cpu]"),
            std::string::npos);
  r = run(fakeDriver("1", {{"FAKE_CUDA_MEMORY_BYTES", "3145728"}}),
          {TMIXRT_FAKE_CUDA, "--list", "--device=cuda"});
  EXPECT_EQ(r.exitCode, 0) << r.err;
  EXPECT_EQ(r.out.rfind("device: cuda:0: Fake CUDA Device 0, sm_90, 3 MiB", 0),
            0u)
      << r.out;
}

TEST_F(TmixRunCudaTest, HelpMentionsDevice) {
  ProcessResult r = run(kNoDriver, {"--help"});
  EXPECT_EQ(r.exitCode, 0);
  EXPECT_NE(r.out.find("--device=DEVICE"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("cuda:N"), std::string::npos) << r.out;
}

//===----------------------------------------------------------------------===//
// --weights with CUDA functions (FakeCudaArtifact.c with FAKE_CUDA_WEIGHTS)
//===----------------------------------------------------------------------===//

class TmixRunCudaWeightsTest : public TmixRunCudaTest {
protected:
  std::string writeWeights(const std::vector<float> &w,
                           const std::vector<float> &b) {
    std::string path = dir.file("layer.safetensors");
    writeFile(path, safetensorsFile({{"layer.w", "F32", {4}, bytesOf(w)},
                                     {"layer.b", "F32", {4}, bytesOf(b)}}));
    return path;
  }
};

TEST_F(TmixRunCudaWeightsTest, UploadsTheBoundWeightsAndPassesThemAll) {
  std::vector<float> w = {0.5f, -2, 8, 0.25f}, b = {100, 200, -300, 0.125f};
  std::vector<float> xs = {1, 2, 3, 4};
  std::string weights = writeWeights(w, b);
  std::string x = writeNpy("x.npy", {4}, xs);
  std::string y = dir.file("y.npy");
  // bias2(w, x, b): the input sits between two weights.
  ProcessResult r =
      run(fakeDriver(),
          {TMIXRT_FAKE_CUDA_WEIGHTS, "--device=cuda", "--weights=" + weights,
           "--function=bias2", "--input=" + x, "--output=" + y});
  EXPECT_EQ(r.exitCode, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(r.out.rfind(std::string(kDevice0) + "weights: " + weights +
                            ": 2 tensor(s) bound\n",
                        0),
            0u)
      << r.out;
  std::vector<float> got = readNpy(y);
  ASSERT_EQ(got.size(), 4u);
  for (size_t i = 0; i < 4; ++i)
    EXPECT_EQ(got[i], (xs[i] + w[i]) + b[i]) << i;

  // bias_twice(x, b, c): one tensor of the file in two arguments.
  r = run(fakeDriver(), {TMIXRT_FAKE_CUDA_WEIGHTS, "--device=cuda",
                         "--weights=" + weights, "--function=bias_twice",
                         "--input=" + x, "--output=" + y, "--benchmark=2"});
  EXPECT_EQ(r.exitCode, 0) << r.err;
  EXPECT_NE(r.out.find("benchmark 'bias_twice': 2 calls"), std::string::npos)
      << r.out;
  got = readNpy(y);
  ASSERT_EQ(got.size(), 4u);
  for (size_t i = 0; i < 4; ++i)
    EXPECT_EQ(got[i], (xs[i] + b[i]) + b[i]) << i;

  // Random inputs fill only the non-weight argument: y - x = w + b.
  r = run(fakeDriver(),
          {TMIXRT_FAKE_CUDA_WEIGHTS, "--device=cuda", "--weights=" + weights,
           "--function=bias2", "--random-inputs", "--output=" + y});
  EXPECT_EQ(r.exitCode, 0) << r.err;
  got = readNpy(y);
  ASSERT_EQ(got.size(), 4u);
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_NE(got[i], w[i] + b[i]) << "x was zero at " << i;
    EXPECT_NEAR(got[i] - (w[i] + b[i]), 0.0f, 1.0f + 1e-4f) << i;
  }

  // Without --weights every argument is an input, weights included.
  std::string wf = writeNpy("w.npy", {4}, w), bf = writeNpy("b.npy", {4}, b);
  r = run(fakeDriver(),
          {TMIXRT_FAKE_CUDA_WEIGHTS, "--device=cuda", "--function=bias2",
           "--input=" + wf, "--input=" + x, "--input=" + bf, "--output=" + y});
  EXPECT_EQ(r.exitCode, 0) << r.err;
  got = readNpy(y);
  ASSERT_EQ(got.size(), 4u);
  for (size_t i = 0; i < 4; ++i)
    EXPECT_EQ(got[i], (xs[i] + w[i]) + b[i]) << i;
}

TEST_F(TmixRunCudaWeightsTest, InputCountsAndDevicesWithWeights) {
  std::string weights = writeWeights({1, 1, 1, 1}, {2, 2, 2, 2});
  std::string x = writeNpy("x.npy", {4}, {1, 2, 3, 4});
  expectError(fakeDriver(),
              {TMIXRT_FAKE_CUDA_WEIGHTS, "--device=cuda",
               "--weights=" + weights, "--function=bias2", "--input=" + x,
               "--input=" + x},
              {"'bias2' takes 1 non-weight argument(s) (x), got 2 --input "
               "file(s); its 2 weight(s) come from --weights"});
  expectError(fakeDriver(),
              {TMIXRT_FAKE_CUDA_WEIGHTS, "--weights=" + weights,
               "--function=bias2", "--input=" + x},
              {"'bias2' runs on CUDA; pass --device=cuda"});
  // The CPU function of the artifact with the file bound, on the CPU.
  ProcessResult r =
      run(fakeDriver(), {TMIXRT_FAKE_CUDA_WEIGHTS, "--weights=" + weights,
                         "--function=twice", "--input=" + x});
  EXPECT_EQ(r.exitCode, 0) << r.err;
  EXPECT_NE(r.out.find("  first: 2 4 6 8\n"), std::string::npos) << r.out;
}

//===----------------------------------------------------------------------===//
// A real GPU, when there is one
//===----------------------------------------------------------------------===//

TEST_F(TmixRunCudaTest, RealDevice) {
  tmixrt_status status = tmixrt_cuda_init();
  if (status) {
    std::string message = tmixrt_status_message(status);
    tmixrt_status_free(status);
    GTEST_SKIP() << "no usable CUDA device: " << message;
  }
  std::vector<float> xs = pattern(100003), ys = pattern(100003, 0.375f);
  std::string x = writeNpy("x.npy", {100003}, xs);
  std::string y = writeNpy("y.npy", {100003}, ys);
  std::string z = dir.file("z.npy");
  // The driver this process found (TMIXRT_CUDA_DRIVER when it is set).
  const char *driver = std::getenv("TMIXRT_CUDA_DRIVER");
  ProcessResult r =
      run({{"TMIXRT_CUDA_DRIVER", driver}},
          {TMIXRT_FAKE_CUDA, "--device=cuda", "--function=combine",
           "--input=" + x, "--input=" + y, "--output=" + z, "--benchmark=5"});
  EXPECT_EQ(r.exitCode, 0) << r.err;
  std::printf("%s", r.out.c_str());
  std::vector<float> got = readNpy(z);
  ASSERT_EQ(got.size(), xs.size());
  for (size_t i = 0; i < xs.size(); ++i)
    ASSERT_EQ(got[i], std::fma(2.0f, xs[i], 1.0f) + ys[i]) << i;
}

} // namespace
