//===- CudaTestUtils.h - helpers of the CUDA backend tests ------*- C++ -*-===//

#ifndef TMIXRT_TEST_RUNTIME_CUDATESTUTILS_H
#define TMIXRT_TEST_RUNTIME_CUDATESTUTILS_H

#include "TestUtils.h"

#include "tmixrt/tmixrt_cuda.h"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace tmixrt::test {

/// A device tensor of `shape` on `device` holding `values`, copied from a
/// host tensor (fails the test on error).
Tensor deviceF32(int32_t device, std::vector<int64_t> shape,
                 const std::vector<float> &values);

/// The elements of an f32 tensor on any device, copied to the host (fails
/// the test on error).
std::vector<float> hostValues(const tmixrt_tensor *tensor);

/// Deterministic, distinct test values: value(i) = (i % 97) * 0.25 - 7.
std::vector<float> pattern(size_t count, float offset = 0.0f);

/// Environment variables to set for a child process; a null value leaves the
/// variable unset.
using EnvSettings = std::vector<std::pair<std::string, const char *>>;

/// This process' environment without TMIXRT_CUDA_*, FAKE_CUDA_* and GTEST_*
/// variables (lit's sharding and JSON output are for this process), plus
/// `settings`: what a child process that loads the CUDA driver should see.
std::vector<std::string> childEnvironment(const EnvSettings &settings);

struct ProcessResult {
  int exitCode = -1; // -1: did not exit normally (a crash)
  std::string out;   // stdout
  std::string err;   // stderr; empty when it went to stdout
};

/// Runs `program` with `args` (argv[1..]) and the environment `env`, its
/// stdout written to the file `outPath` and its stderr to `errPath` (or to
/// the same file when `errPath` is empty), and waits for it.
ProcessResult runProcess(const std::string &program,
                         const std::vector<std::string> &args,
                         const std::vector<std::string> &env,
                         const std::string &outPath,
                         const std::string &errPath = std::string());

/// An owning stream reference.
class Stream {
public:
  Stream() = default;
  ~Stream() { tmixrt_status_free(tmixrt_cuda_stream_destroy(stream)); }
  Stream(const Stream &) = delete;
  Stream &operator=(const Stream &) = delete;
  tmixrt_cuda_stream *get() const { return stream; }
  tmixrt_cuda_stream **out() { return &stream; }

private:
  tmixrt_cuda_stream *stream = nullptr;
};

/// An owning module reference.
class Module {
public:
  Module() = default;
  explicit Module(const char *path) {
    EXPECT_TRUE(isOk(tmixrt_module_load(path, nullptr, &module)));
  }
  ~Module() { tmixrt_module_release(module); }
  Module(const Module &) = delete;
  Module &operator=(const Module &) = delete;
  tmixrt_module *get() const { return module; }
  /// The function `name` (fails the test when there is none).
  const tmixrt_function *fn(const char *name) const;

private:
  tmixrt_module *module = nullptr;
};

} // namespace tmixrt::test

#endif // TMIXRT_TEST_RUNTIME_CUDATESTUTILS_H
