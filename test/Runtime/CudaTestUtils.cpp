//===- CudaTestUtils.cpp - helpers of the CUDA backend tests --------------===//

#include "CudaTestUtils.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

namespace tmixrt::test {

std::vector<std::string> childEnvironment(const EnvSettings &settings) {
  std::vector<std::string> env;
  for (char **entry = environ; *entry; ++entry) {
    std::string text = *entry;
    if (text.rfind("TMIXRT_CUDA_", 0) == 0 ||
        text.rfind("FAKE_CUDA_", 0) == 0 || text.rfind("GTEST_", 0) == 0)
      continue;
    env.push_back(text);
  }
  for (const auto &[name, value] : settings)
    if (value)
      env.push_back(name + "=" + value);
  return env;
}

ProcessResult runProcess(const std::string &program,
                         const std::vector<std::string> &args,
                         const std::vector<std::string> &env,
                         const std::string &outPath,
                         const std::string &errPath) {
  // Everything the child needs is prepared before fork.
  std::vector<std::string> argStrings{program};
  argStrings.insert(argStrings.end(), args.begin(), args.end());
  std::vector<std::string> envStrings = env;
  std::vector<char *> argv, envp;
  for (std::string &text : argStrings)
    argv.push_back(text.data());
  argv.push_back(nullptr);
  for (std::string &text : envStrings)
    envp.push_back(text.data());
  envp.push_back(nullptr);

  ProcessResult result;
  int out = open(outPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  int err = errPath.empty()
                ? out
                : open(errPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (out < 0 || err < 0) {
    ADD_FAILURE() << "cannot create " << outPath << " or " << errPath;
    if (out >= 0)
      close(out);
    if (err >= 0 && err != out)
      close(err);
    return result;
  }
  pid_t pid = fork();
  if (pid == 0) {
    dup2(out, 1);
    dup2(err, 2);
    execve(program.c_str(), argv.data(), envp.data());
    _exit(127);
  }
  close(out);
  if (err != out)
    close(err);
  int status = 0;
  if (pid < 0 || waitpid(pid, &status, 0) != pid) {
    ADD_FAILURE() << "cannot run " << program;
    return result;
  }
  if (WIFEXITED(status))
    result.exitCode = WEXITSTATUS(status);
  result.out = readFile(outPath);
  if (!errPath.empty())
    result.err = readFile(errPath);
  return result;
}

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
