//===- TmixRunTest.cpp - tmix-run, run as a program -----------------------===//
//
// Runs the tmix-run binary on the fake artifacts with .npy files written
// here and checks exit codes, stdout and stderr. (The main lit suite only
// picks up .mlir files, so these checks live in GoogleTest.)
//
//===----------------------------------------------------------------------===//

#include "SafetensorsWriter.h"
#include "TestUtils.h"

#include "tmixrt/npy.h"

#include "gtest/gtest.h"

#include <cstdlib>
#include <string>
#include <sys/wait.h>
#include <vector>

using namespace tmixrt::test;

namespace {

struct RunResult {
  int exitCode = -1; // -1: did not exit normally (a crash)
  std::string out;
  std::string err;
};

std::string quote(const std::string &text) {
  std::string quoted = "'";
  for (char c : text)
    quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

class TmixRunTest : public ::testing::Test {
protected:
  RunResult run(const std::vector<std::string> &args) {
    std::string command = quote(TMIXRT_TMIX_RUN);
    for (const std::string &arg : args)
      command += " " + quote(arg);
    std::string out = dir.file("stdout"), err = dir.file("stderr");
    command += " >" + quote(out) + " 2>" + quote(err);
    int status = std::system(command.c_str());
    RunResult result;
    if (status != -1 && WIFEXITED(status))
      result.exitCode = WEXITSTATUS(status);
    result.out = readFile(out);
    result.err = readFile(err);
    return result;
  }

  /// Expects exit code 1 and one line on stderr containing `fragments`.
  void expectError(const std::vector<std::string> &args,
                   std::initializer_list<std::string> fragments) {
    RunResult r = run(args);
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

  std::vector<float> iota(size_t n, float scale = 1.0f) {
    std::vector<float> values(n);
    for (size_t i = 0; i < n; ++i)
      values[i] = scale * static_cast<float>(i);
    return values;
  }

  TempDir dir;
};

TEST_F(TmixRunTest, ListsFunctionsAndSignatures) {
  RunResult r = run({TMIXRT_FAKE_GOOD, "--list"});
  EXPECT_EQ(r.exitCode, 0) << r.err;
  EXPECT_EQ(r.err, "");
  for (const char *line :
       {"8 function(s), produced by fake-good 1.0, multithreaded",
        "add(x: [?, 4] f32, y: [?, 4] f32) -> (z: [?, 4] f32) [cpu]",
        "  z dim 0 = x dim 0", "isum(v: [?] i32) -> (total: [] i64) [cpu]",
        "  w: weight 'layer0.w'",
        "gpu_add(x: [?, 4] f32, y: [?, 4] f32) -> (z: [?, 4] f32) [cuda]",
        "  y dim 0: not derived from an argument"})
    EXPECT_NE(r.out.find(line), std::string::npos) << line << "\n" << r.out;
}

TEST_F(TmixRunTest, RunsAFunctionOnNpyInputs) {
  std::string x = writeNpy("x.npy", {3, 4}, iota(12));
  std::string y = writeNpy("y.npy", {3, 4}, iota(12, 10.0f));
  std::string z = dir.file("z.npy");
  RunResult r = run({TMIXRT_FAKE_GOOD, "--function", "add", "--input=" + x,
                     "--input", y, "--output=" + z});
  EXPECT_EQ(r.exitCode, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_NE(r.out.find("result 0 'z': [3, 4] f32\n"
                       "  min 0  max 121  mean 60.5\n"
                       "  first: 0 11 22 33 44 55 66 77 ...\n"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("wrote result 0 to " + z), std::string::npos);
  Tensor result;
  ASSERT_TRUE(isOk(tmixrt_npy_read(z.c_str(), result.out())));
  EXPECT_EQ(result.shape(), (std::vector<int64_t>{3, 4}));
  for (int i = 0; i < 12; ++i)
    EXPECT_EQ(result.f32()[i], 11.0f * static_cast<float>(i));
}

TEST_F(TmixRunTest, TopPrintsTheLargestValuesWithTheirIndices) {
  // z = x + y with ties (indices 1 and 2 both 9) and a maximum in the middle.
  std::string x = writeNpy("x.npy", {2, 4}, {1, 4, 5, 7, 0, -2, 3, 3});
  std::string y = writeNpy("y.npy", {2, 4}, {0, 5, 4, 0, 0, 0, 0, 0});
  RunResult r = run({TMIXRT_FAKE_GOOD, "--function=add", "--input=" + x,
                     "--input=" + y, "--top=3"});
  EXPECT_EQ(r.exitCode, 0) << r.err;
  EXPECT_NE(r.out.find("  top 3: [1] 9 [2] 9 [3] 7\n"), std::string::npos)
      << r.out;
  // More than there are: all of them, in order.
  r = run({TMIXRT_FAKE_GOOD, "--function=add", "--input=" + x, "--input=" + y,
           "--top=100"});
  EXPECT_NE(
      r.out.find("  top 8: [1] 9 [2] 9 [3] 7 [6] 3 [7] 3 [0] 1 [4] 0 [5] -2\n"),
      std::string::npos)
      << r.out;
  expectError({TMIXRT_FAKE_GOOD, "--top=0"}, {"--top needs a positive count"});
}

TEST_F(TmixRunTest, UsesTheOnlyFunctionWithoutFunctionFlag) {
  std::string x = writeNpy("x.npy", {2, 2}, {1, 2, 3, 4});
  RunResult r = run({TMIXRT_FAKE_SINGLE, "--input=" + x});
  EXPECT_EQ(r.exitCode, 0) << r.err;
  EXPECT_NE(r.out.find("result 0 'y': [2, 2] f32"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("first: 2 4 6 8\n"), std::string::npos) << r.out;
}

TEST_F(TmixRunTest, MultipleResultsIntegersAndBf16) {
  std::string x = writeNpy("x.npy", {2, 4}, {1, 5, 2, 3, -1, -2, -3, -4});
  std::string sum = dir.file("sum.npy"), max = dir.file("max.npy");
  RunResult r = run({TMIXRT_FAKE_GOOD, "--function=stats", "--input=" + x,
                     "--output=" + sum, "--output=" + max});
  EXPECT_EQ(r.exitCode, 0) << r.err;
  EXPECT_NE(r.out.find("result 1 'rowmax': [2] f32"), std::string::npos);
  Tensor maxValues;
  ASSERT_TRUE(isOk(tmixrt_npy_read(max.c_str(), maxValues.out())));
  EXPECT_EQ(maxValues.f32()[0], 5.0f);

  // i32 in, rank-0 i64 out.
  std::vector<int32_t> values = {1, 2, 3, 40};
  const int64_t n[] = {4};
  Tensor v;
  ASSERT_TRUE(
      isOk(tmixrt_tensor_wrap(TMIXRT_I32, 1, n, values.data(), v.out())));
  std::string vPath = dir.file("v.npy");
  ASSERT_TRUE(isOk(tmixrt_npy_write(vPath.c_str(), v.get())));
  r = run({TMIXRT_FAKE_GOOD, "--function=isum", "--input=" + vPath});
  EXPECT_EQ(r.exitCode, 0) << r.err;
  EXPECT_NE(r.out.find("result 0 'total': [] i64\n  min 46  max 46  mean 46\n"
                       "  first: 46\n"),
            std::string::npos)
      << r.out;

  // bf16 results are written as f32.
  std::string in = writeNpy("in.npy", {3}, {1.0f, 1.00390625f, -2.5f});
  std::string out = dir.file("bf16.npy");
  r = run({TMIXRT_FAKE_GOOD, "--function=to_bf16", "--input=" + in,
           "--output=" + out});
  EXPECT_EQ(r.exitCode, 0) << r.err;
  EXPECT_NE(r.out.find("result 0 'y': [3] bf16"), std::string::npos);
  Tensor back;
  ASSERT_TRUE(isOk(tmixrt_npy_read(out.c_str(), back.out())));
  ASSERT_EQ(tmixrt_tensor_dtype(back.get()), TMIXRT_F32);
  EXPECT_EQ(back.f32()[0], 1.0f);
  EXPECT_EQ(back.f32()[1], 1.0f); // 1 + 2^-8 rounds to even in bf16
  EXPECT_EQ(back.f32()[2], -2.5f);
}

TEST_F(TmixRunTest, RandomInputsWithConcreteShapes) {
  std::vector<std::string> args = {TMIXRT_FAKE_GOOD, "--function=scale4",
                                   "--random-inputs", "--shape=x=1x2x7x3",
                                   "--seed=3"};
  RunResult first = run(args);
  EXPECT_EQ(first.exitCode, 0) << first.err;
  EXPECT_NE(first.out.find("result 0 'y': [1, 2, 7, 3] f32"), std::string::npos)
      << first.out;
  // y = 2x + 1 with x in [-1, 1).
  EXPECT_NE(first.out.find("min "), std::string::npos);
  RunResult again = run(args);
  EXPECT_EQ(again.out, first.out) << "same seed, same values";
  args[4] = "--seed=4";
  RunResult other = run(args);
  EXPECT_EQ(other.exitCode, 0);
  EXPECT_NE(other.out, first.out);
  // Arguments can also be named by index; static shapes need no --shape.
  RunResult byIndex =
      run({TMIXRT_FAKE_GOOD, "--function=add", "--random-inputs",
           "--shape=0=5x4", "--shape=y=5x4"});
  EXPECT_EQ(byIndex.exitCode, 0) << byIndex.err;
  EXPECT_NE(byIndex.out.find("'z': [5, 4] f32"), std::string::npos);
  RunResult isStatic =
      run({TMIXRT_FAKE_GOOD, "--function=matvec", "--random-inputs"});
  EXPECT_EQ(isStatic.exitCode, 0) << isStatic.err;
}

TEST_F(TmixRunTest, RandomInputsNeedShapesForDynamicDims) {
  expectError({TMIXRT_FAKE_GOOD, "--function=scale4", "--random-inputs"},
              {"argument 0 ('x') of 'scale4' has dynamic shape [1, 2, ?, 3]",
               "--shape=x=1x2xNx3"});
  expectError({TMIXRT_FAKE_GOOD, "--function=scale4", "--random-inputs",
               "--shape=x=1x2x7x4"},
              {"[1, 2, 7, 4], which does not match its shape [1, 2, ?, 3]"});
  expectError({TMIXRT_FAKE_GOOD, "--function=scale4", "--random-inputs",
               "--shape=q=1x2x7x3"},
              {"'scale4' has no argument 'q' (arguments: x)"});
  expectError({TMIXRT_FAKE_GOOD, "--function=scale4", "--random-inputs",
               "--shape=x=1x2xax3"},
              {"'a' is not a size"});
  expectError({TMIXRT_FAKE_GOOD, "--function=scale4", "--shape=x=1x2x7x3"},
              {"--shape only applies to --random-inputs"});
}

TEST_F(TmixRunTest, BenchmarkPrintsMedianAndMinimum) {
  std::string x = writeNpy("x.npy", {3, 4}, iota(12));
  RunResult r = run({TMIXRT_FAKE_GOOD, "--function=add", "--input=" + x,
                     "--input=" + x, "--benchmark=3", "--threads=2"});
  EXPECT_EQ(r.exitCode, 0) << r.err;
  EXPECT_NE(r.out.find("benchmark 'add': 3 calls after 1 warm-up: median "),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find(" ms, min "), std::string::npos) << r.out;
  expectError({TMIXRT_FAKE_GOOD, "--function=add", "--input=" + x,
               "--input=" + x, "--benchmark=0"},
              {"--benchmark needs a positive number of calls, got '0'"});
}

TEST_F(TmixRunTest, BadNpyInput) {
  std::string bad = dir.file("bad.npy");
  writeFile(bad, "this is not a numpy file at all");
  std::string x = writeNpy("x.npy", {3, 4}, iota(12));
  expectError(
      {TMIXRT_FAKE_GOOD, "--function=add", "--input=" + x, "--input=" + bad},
      {bad, "not a .npy file"});
  expectError({TMIXRT_FAKE_GOOD, "--function=add", "--input=" + x,
               "--input=" + dir.file("missing.npy")},
              {"missing.npy", "cannot open"});
}

TEST_F(TmixRunTest, WrongShape) {
  std::string x = writeNpy("x.npy", {3, 4}, iota(12));
  std::string y = writeNpy("y.npy", {3, 5}, iota(15));
  expectError(
      {TMIXRT_FAKE_GOOD, "--function=add", "--input=" + x, "--input=" + y},
      {"argument 1 ('y') of 'add': expected shape [?, 4] (f32), got "
       "[3, 5] (f32)"});
  expectError({TMIXRT_FAKE_GOOD, "--function=add", "--input=" + x},
              {"'add' takes 2 argument(s) (x, y), got 1 --input file(s)"});
}

TEST_F(TmixRunTest, UnknownOrUnavailableFunction) {
  std::string x = writeNpy("x.npy", {3, 4}, iota(12));
  expectError({TMIXRT_FAKE_GOOD, "--function=nope", "--input=" + x},
              {"no function named 'nope'", "available: add, scale4"});
  expectError({TMIXRT_FAKE_GOOD, "--input=" + x},
              {"has 8 functions; choose one with --function (add, scale4"});
  expectError(
      {TMIXRT_FAKE_GOOD, "--function=gpu_add", "--input=" + x, "--input=" + x},
      {"'gpu_add' runs on CUDA; pass --device=cuda"});
  expectError({TMIXRT_FAKE_GOOD, "--function=unsized", "--random-inputs"},
              {"not derived from an argument"});
}

TEST_F(TmixRunTest, BadArtifactsAndCommandLines) {
  expectError({dir.file("missing.so"), "--list"},
              {"cannot load", "missing.so"});
  expectError({TMIXRT_FAKE_BAD_MAGIC, "--list"}, {"not a tmix artifact"});
  expectError({TMIXRT_FAKE_NO_SYMBOL}, {"does not export"});
  expectError({}, {"no artifact given"});
  expectError({TMIXRT_FAKE_GOOD, "--frobnicate"},
              {"unknown option '--frobnicate'"});
  expectError({TMIXRT_FAKE_GOOD, TMIXRT_FAKE_SINGLE},
              {"more than one artifact"});
  expectError({TMIXRT_FAKE_GOOD, "--function"}, {"needs a value"});
  expectError({TMIXRT_FAKE_GOOD, "--list=yes"}, {"takes no value"});
  expectError({TMIXRT_FAKE_GOOD, "--threads=many"},
              {"--threads needs an integer"});
  expectError({TMIXRT_FAKE_GOOD, "--random-inputs", "--input=x.npy"},
              {"exclude each other"});
  std::string x = writeNpy("x.npy", {2, 2}, {1, 2, 3, 4});
  expectError(
      {TMIXRT_FAKE_SINGLE, "--input=" + x, "--output=a.npy", "--output=b.npy"},
      {"'twice' has 1 result(s), got 2 --output file(s)"});
  expectError({TMIXRT_FAKE_SINGLE, "--input=" + x,
               "--output=" + dir.file("no/such/dir/y.npy")},
              {"cannot open for writing"});
}

TEST_F(TmixRunTest, Help) {
  RunResult r = run({"--help"});
  EXPECT_EQ(r.exitCode, 0);
  EXPECT_EQ(r.out.rfind("usage: tmix-run", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("--shape=ARG=DxDx..."), std::string::npos);
  EXPECT_NE(r.out.find("--weights=FILE.safetensors"), std::string::npos);
}

//===----------------------------------------------------------------------===//
// --weights, on FakeWeightsArtifact.c
//===----------------------------------------------------------------------===//

class TmixRunWeightsTest : public TmixRunTest {
protected:
  /// The tensors of every weight argument of the fake artifact.
  static std::vector<StTensor> model(std::vector<float> w,
                                     std::vector<float> b) {
    return {
        {"stages.0.norm.weight", "F32", {3}, bytesOf(w)},
        {"stages.0.norm.bias", "F32", {3}, bytesOf(b)},
        {"head.table", "I64", {2}, bytesOf(std::vector<int64_t>{10, -20})},
        {"head.half",
         "F16",
         {2, 2},
         bytesOf(std::vector<uint16_t>{0x3E00, 0x3800, 0x4000, 0xBC00})},
        {"head.gain",
         "BF16",
         {2},
         bytesOf(std::vector<uint16_t>{0x4000, 0x3F00})},
        {"head.k", "I32", {}, bytesOf(std::vector<int32_t>{7})},
    };
  }
  std::string writeWeights(const std::string &name,
                           const std::vector<StTensor> &tensors) {
    std::string path = dir.file(name);
    writeFile(path, safetensorsFile(tensors));
    return path;
  }
};

TEST_F(TmixRunWeightsTest, BindsTheFileAndInputsGiveTheOtherArguments) {
  std::string weights =
      writeWeights("model.safetensors", model({2, -1, 0.5f}, {0.25f, 3, -4}));
  std::string x = writeNpy("x.npy", {2, 3}, iota(6, 1.0f));
  std::string y = dir.file("y.npy");
  RunResult r = run({TMIXRT_FAKE_WEIGHTS, "--weights=" + weights,
                     "--function=affine", "--input=" + x, "--output=" + y});
  EXPECT_EQ(r.exitCode, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_NE(r.out.find("weights: " + weights + ": 6 tensor(s) bound\n"),
            std::string::npos)
      << r.out;
  Tensor result;
  ASSERT_TRUE(isOk(tmixrt_npy_read(y.c_str(), result.out())));
  ASSERT_EQ(result.shape(), (std::vector<int64_t>{2, 3}));
  // y = x * w + b with x = 0..5.
  const float expected[] = {0 * 2 + 0.25f, 1 * -1 + 3.0f, 2 * 0.5f - 4,
                            3 * 2 + 0.25f, 4 * -1 + 3.0f, 5 * 0.5f - 4};
  for (int i = 0; i < 6; ++i)
    EXPECT_EQ(result.f32()[i], expected[i]) << i;

  // Four weights of four dtypes around one input:
  // y[i] = x[i] * (h[i][0] + h[i][1]) * g[i] + t[i] + k.
  std::string v = writeNpy("v.npy", {2}, {3, 4});
  r = run({TMIXRT_FAKE_WEIGHTS, "--weights", weights, "--function=mixed",
           "--input=" + v});
  EXPECT_EQ(r.exitCode, 0) << r.err;
  EXPECT_NE(r.out.find("result 0 'y': [2] f32\n  min -11  max 29  mean 9\n"
                       "  first: 29 -11\n"),
            std::string::npos)
      << r.out;
}

TEST_F(TmixRunWeightsTest, RandomInputsNeverFillWeights) {
  // w = 0 and b = (1, 2, 3): whatever x is, every row of y is b.
  std::string weights =
      writeWeights("zero.safetensors", model({0, 0, 0}, {1, 2, 3}));
  RunResult r =
      run({TMIXRT_FAKE_WEIGHTS, "--weights=" + weights, "--function=affine",
           "--random-inputs", "--shape=x=4x3", "--seed=9", "--benchmark=2"});
  EXPECT_EQ(r.exitCode, 0) << r.err;
  EXPECT_NE(r.out.find("result 0 'y': [4, 3] f32\n  min 1  max 3  mean 2\n"
                       "  first: 1 2 3 1 2 3 1 2 ...\n"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("benchmark 'affine': 2 calls"), std::string::npos);

  // Without --weights every argument is random, as before.
  r = run({TMIXRT_FAKE_WEIGHTS, "--function=affine", "--random-inputs",
           "--shape=x=4x3", "--seed=9"});
  EXPECT_EQ(r.exitCode, 0) << r.err;
  EXPECT_NE(r.out.find("result 0 'y': [4, 3] f32"), std::string::npos);
  EXPECT_EQ(r.out.find("first: 1 2 3 1 2 3"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("weights:"), std::string::npos) << r.out;

  expectError({TMIXRT_FAKE_WEIGHTS, "--weights=" + weights, "--function=affine",
               "--random-inputs", "--shape=x=4x3", "--shape=w=3"},
              {"--shape=w=3: argument 1 ('w') of 'affine' is the weight "
               "'stages.0.norm.weight', which comes from --weights"});
}

TEST_F(TmixRunWeightsTest, ListShowsWeightsAndChecksTheFile) {
  RunResult r = run({TMIXRT_FAKE_WEIGHTS, "--list"});
  EXPECT_EQ(r.exitCode, 0) << r.err;
  for (const char *line :
       {"affine(x: [?, 3] f32, w: [3] f32, b: [3] f32) -> (y: [?, 3] f32) "
        "[cpu]\n  2 of 3 arguments are weights; the others: x\n"
        "  w: weight 'stages.0.norm.weight'\n"
        "  b: weight 'stages.0.norm.bias'\n",
        "  4 of 5 arguments are weights; the others: x\n",
        "plain(x: [2] f32) -> (y: [2] f32) [cpu]\n"})
    EXPECT_NE(r.out.find(line), std::string::npos) << line << "\n" << r.out;
  EXPECT_EQ(r.out.find("weights: "), std::string::npos);

  std::string weights =
      writeWeights("model.safetensors", model({1, 1, 1}, {0, 0, 0}));
  r = run({TMIXRT_FAKE_WEIGHTS, "--list", "--weights=" + weights});
  EXPECT_EQ(r.exitCode, 0) << r.err;
  EXPECT_EQ(r.out.rfind("weights: " + weights + ": 6 tensor(s) bound\n", 0), 0u)
      << r.out;
}

TEST_F(TmixRunWeightsTest, BadWeightFilesAndInputCounts) {
  std::string x = writeNpy("x.npy", {2, 3}, iota(6));
  std::string missing = dir.file("missing.safetensors");
  expectError({TMIXRT_FAKE_WEIGHTS, "--weights=" + missing, "--function=affine",
               "--input=" + x},
              {"cannot open '" + missing + "'"});
  std::string corrupt = dir.file("corrupt.safetensors");
  writeFile(corrupt, std::string("\xff\xff\0\0\0\0\0\0{}", 10));
  expectError({TMIXRT_FAKE_WEIGHTS, "--weights=" + corrupt, "--list"},
              {"'" + corrupt + "' is not a valid safetensors file",
               "header length is 65535 bytes"});

  std::vector<StTensor> tensors = model({1, 1, 1}, {0, 0, 0});
  tensors.erase(tensors.begin() + 1);
  tensors.push_back({"extra", "F32", {1}, std::string(4, '\0')});
  std::string mismatched = writeWeights("mismatched.safetensors", tensors);
  expectError({TMIXRT_FAKE_WEIGHTS, "--weights=" + mismatched,
               "--function=affine", "--input=" + x},
              {"cannot bind '" + mismatched + "'", "2 problem(s)",
               "missing tensor 'stages.0.norm.bias'", "unused tensor 'extra'"});

  std::string weights =
      writeWeights("model.safetensors", model({1, 1, 1}, {0, 0, 0}));
  expectError({TMIXRT_FAKE_WEIGHTS, "--weights=" + weights, "--function=affine",
               "--input=" + x, "--input=" + x, "--input=" + x},
              {"'affine' takes 1 non-weight argument(s) (x), got 3 --input "
               "file(s); its 2 weight(s) come from --weights"});
  expectError({TMIXRT_FAKE_WEIGHTS, "--function=affine", "--input=" + x},
              {"'affine' takes 3 argument(s) (x, w, b), got 1 --input "
               "file(s)"});
  expectError({TMIXRT_FAKE_WEIGHTS, "--weights=" + weights,
               "--weights=" + weights, "--list"},
              {"--weights given twice"});
  expectError({TMIXRT_FAKE_WEIGHTS, "--weights="}, {"--weights needs a file"});
}

} // namespace
