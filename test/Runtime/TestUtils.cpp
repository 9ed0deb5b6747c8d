//===- TestUtils.cpp - helpers of the runtime tests -----------------------===//

#include "TestUtils.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace tmixrt::test {

testing::AssertionResult isOk(tmixrt_status status) {
  if (!status)
    return testing::AssertionSuccess();
  testing::AssertionResult result =
      testing::AssertionFailure()
      << "expected OK, got " << tmixrt_code_name(tmixrt_status_code(status))
      << ": " << tmixrt_status_message(status);
  tmixrt_status_free(status);
  return result;
}

testing::AssertionResult isError(tmixrt_status status, tmixrt_code code,
                                 std::initializer_list<std::string> fragments) {
  if (!status)
    return testing::AssertionFailure()
           << "expected " << tmixrt_code_name(code) << ", got OK";
  std::string message = tmixrt_status_message(status);
  tmixrt_code actual = tmixrt_status_code(status);
  tmixrt_status_free(status);
  if (actual != code)
    return testing::AssertionFailure()
           << "expected " << tmixrt_code_name(code) << ", got "
           << tmixrt_code_name(actual) << ": " << message;
  for (const std::string &fragment : fragments)
    if (message.find(fragment) == std::string::npos)
      return testing::AssertionFailure()
             << "message \"" << message << "\" lacks \"" << fragment << "\"";
  if (message.find('\n') != std::string::npos)
    return testing::AssertionFailure()
           << "message \"" << message << "\" is not one line";
  return testing::AssertionSuccess() << message;
}

Tensor makeF32(std::vector<int64_t> shape, std::vector<float> values) {
  Tensor tensor;
  tmixrt_status status = tmixrt_tensor_create(TMIXRT_F32, shape.size(),
                                              shape.data(), tensor.out());
  EXPECT_TRUE(isOk(status));
  if (tensor.get() && !values.empty()) {
    EXPECT_EQ(values.size(), tmixrt_tensor_element_count(tensor.get()));
    for (size_t i = 0;
         i < values.size() && i < tmixrt_tensor_element_count(tensor.get());
         ++i)
      tensor.f32()[i] = values[i];
  }
  return tensor;
}

TempDir::TempDir() {
  const char *base = std::getenv("TMPDIR");
  std::string pattern =
      std::string(base && *base ? base : "/tmp") + "/tmixrt-test-XXXXXX";
  std::vector<char> buffer(pattern.begin(), pattern.end());
  buffer.push_back('\0');
  if (mkdtemp(buffer.data()))
    path = buffer.data();
  EXPECT_FALSE(path.empty()) << "mkdtemp failed";
}

TempDir::~TempDir() {
  if (path.empty())
    return;
  std::error_code error;
  std::filesystem::remove_all(path, error);
}

std::string TempDir::file(const std::string &name) const {
  return path + "/" + name;
}

void writeFile(const std::string &path, const std::string &bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  EXPECT_TRUE(out.good()) << "cannot write " << path;
}

std::string readFile(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

} // namespace tmixrt::test
