//===- TestUtils.h - helpers of the runtime tests ---------------*- C++ -*-===//

#ifndef TMIXRT_TEST_RUNTIME_TESTUTILS_H
#define TMIXRT_TEST_RUNTIME_TESTUTILS_H

#include "tmixrt/tmixrt.h"

#include "gtest/gtest.h"

#include <initializer_list>
#include <string>
#include <vector>

namespace tmixrt::test {

/// Succeeds for an OK status; frees the status.
testing::AssertionResult isOk(tmixrt_status status);

/// Succeeds when `status` has `code` and its message contains every one of
/// `fragments`; frees the status.
testing::AssertionResult isError(tmixrt_status status, tmixrt_code code,
                                 std::initializer_list<std::string> fragments);

/// An owning tensor reference.
class Tensor {
public:
  Tensor() = default;
  explicit Tensor(tmixrt_tensor *tensor) : tensor(tensor) {}
  Tensor(Tensor &&other) noexcept : tensor(other.tensor) {
    other.tensor = nullptr;
  }
  Tensor &operator=(Tensor &&other) noexcept {
    std::swap(tensor, other.tensor);
    return *this;
  }
  ~Tensor() { tmixrt_tensor_release(tensor); }

  tmixrt_tensor *get() const { return tensor; }
  /// Releases the current tensor and returns the slot for an out-parameter.
  tmixrt_tensor **out() {
    tmixrt_tensor_release(tensor);
    tensor = nullptr;
    return &tensor;
  }
  float *f32() const {
    return static_cast<float *>(tmixrt_tensor_data(tensor));
  }
  std::vector<int64_t> shape() const {
    const int64_t *s = tmixrt_tensor_shape(tensor);
    return std::vector<int64_t>(s, s + tmixrt_tensor_rank(tensor));
  }

private:
  tmixrt_tensor *tensor = nullptr;
};

/// An owned f32 tensor of `shape` holding `values` (or zeros).
Tensor makeF32(std::vector<int64_t> shape, std::vector<float> values = {});

/// A fresh directory under $TMPDIR (or /tmp), removed with its contents.
class TempDir {
public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir &) = delete;
  TempDir &operator=(const TempDir &) = delete;
  /// The path of `name` inside the directory.
  std::string file(const std::string &name) const;

private:
  std::string path;
};

/// Writes `bytes` to `path` (test setup; fails the test on error).
void writeFile(const std::string &path, const std::string &bytes);
std::string readFile(const std::string &path);

} // namespace tmixrt::test

#endif // TMIXRT_TEST_RUNTIME_TESTUTILS_H
