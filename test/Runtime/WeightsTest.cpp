//===- WeightsTest.cpp - binding weight files to modules ------------------===//
//
// Binds .safetensors files written here to the functions of
// FakeWeightsArtifact.c and checks the binding's refusals (every problem in
// one status), both call forms, and that the bound data is the mapped file.
// Expected values are recomputed here from the values written to the file.
//
//===----------------------------------------------------------------------===//

#include "SafetensorsWriter.h"
#include "TestUtils.h"

#include "tmixrt/abi.h"
#include "tmixrt/tmixrt.h"

#include "gtest/gtest.h"

#include <atomic>
#include <dlfcn.h>
#include <string>
#include <thread>
#include <vector>

using namespace tmixrt::test;

namespace {

std::vector<StTensor> modelTensors(std::vector<float> w, std::vector<float> b) {
  return {
      {"stages.0.norm.weight", "F32", {3}, bytesOf(w)},
      {"stages.0.norm.bias", "F32", {3}, bytesOf(b)},
      {"head.table", "I64", {2}, bytesOf(std::vector<int64_t>{10, -20})},
      // f16 1.5, 0.5, 2, -1
      {"head.half",
       "F16",
       {2, 2},
       bytesOf(std::vector<uint16_t>{0x3E00, 0x3800, 0x4000, 0xBC00})},
      // bf16 2, 0.5
      {"head.gain",
       "BF16",
       {2},
       bytesOf(std::vector<uint16_t>{0x4000, 0x3F00})},
      {"head.k", "I32", {}, bytesOf(std::vector<int32_t>{7})},
  };
}

const std::vector<float> kW = {2.0f, -1.0f, 0.5f};
const std::vector<float> kB = {0.25f, 3.0f, -4.0f};

/// y = x * w + b, rows of 3, as affine computes it.
std::vector<float> affine(const std::vector<float> &x,
                          const std::vector<float> &w,
                          const std::vector<float> &b) {
  std::vector<float> y(x.size());
  for (size_t i = 0; i < x.size(); ++i)
    y[i] = x[i] * w[i % 3] + b[i % 3];
  return y;
}

std::vector<float> values(const Tensor &tensor) {
  return std::vector<float>(
      tensor.f32(), tensor.f32() + tmixrt_tensor_element_count(tensor.get()));
}

class WeightsTest : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_TRUE(
        isOk(tmixrt_module_load(TMIXRT_FAKE_WEIGHTS, nullptr, &module)));
    handle = dlopen(TMIXRT_FAKE_WEIGHTS, RTLD_NOW | RTLD_NOLOAD);
    ASSERT_NE(handle, nullptr);
  }
  void TearDown() override {
    for (tmixrt_weights *w : opened)
      tmixrt_weights_release(w);
    tmixrt_module_release(module);
    if (handle)
      dlclose(handle);
  }

  template <typename T>
  T &observe(const char *name) {
    void *symbol = dlsym(handle, name);
    EXPECT_NE(symbol, nullptr) << name;
    static T dummy{};
    return symbol ? *static_cast<T *>(symbol) : dummy;
  }
  int calls() { return observe<int>("fake_calls"); }

  const tmixrt_function *fn(const char *name) {
    const tmixrt_function *result = nullptr;
    EXPECT_TRUE(isOk(tmixrt_module_lookup(module, name, &result)));
    return result;
  }

  /// Writes and opens a weight file (released by the fixture).
  tmixrt_weights *open(const std::vector<StTensor> &tensors,
                       const std::string &name = "model.safetensors") {
    std::string path = dir.file(name);
    writeFile(path, safetensorsFile(tensors));
    tmixrt_weights *weights = nullptr;
    EXPECT_TRUE(isOk(tmixrt_weights_open(path.c_str(), &weights)));
    if (weights)
      opened.push_back(weights);
    return weights;
  }

  void bindGood() {
    tmixrt_weights *weights = open(modelTensors(kW, kB));
    ASSERT_NE(weights, nullptr);
    ASSERT_TRUE(isOk(tmixrt_module_bind_weights(module, weights)));
  }

  /// affine in the short form on a 2x3 x.
  testing::AssertionResult affineGives(const std::vector<float> &expected) {
    Tensor x = makeF32({2, 3}, {1, 2, 3, 4, 5, 6});
    tmixrt_tensor *args[] = {x.get()};
    tmixrt_tensor *y = nullptr;
    tmixrt_status status = tmixrt_function_invoke(fn("affine"), args, 1, &y, 1);
    if (status)
      return isOk(status);
    Tensor result(y);
    if (values(result) != expected)
      return testing::AssertionFailure() << "unexpected values";
    return testing::AssertionSuccess();
  }

  TempDir dir;
  tmixrt_module *module = nullptr;
  void *handle = nullptr;
  std::vector<tmixrt_weights *> opened;
};

TEST_F(WeightsTest, CountsWeightArguments) {
  EXPECT_EQ(tmixrt_function_num_weights(fn("affine")), 2u);
  EXPECT_EQ(tmixrt_function_num_weights(fn("scale")), 1u);
  EXPECT_EQ(tmixrt_function_num_weights(fn("mixed")), 4u);
  EXPECT_EQ(tmixrt_function_num_weights(fn("plain")), 0u);
  EXPECT_EQ(tmixrt_function_num_weights(nullptr), 0u);
  EXPECT_STREQ(tmixrt_function_arg(fn("mixed"), 2)->weight_name, "head.half");
  EXPECT_EQ(tmixrt_function_arg(fn("mixed"), 1)->weight_name, nullptr);
}

TEST_F(WeightsTest, CallsBeforeBindingAreClearErrors) {
  int before = calls();
  Tensor x = makeF32({2, 3}, {1, 2, 3, 4, 5, 6});
  tmixrt_tensor *shortArgs[] = {x.get()};
  tmixrt_tensor *y = reinterpret_cast<tmixrt_tensor *>(1);
  EXPECT_TRUE(isError(
      tmixrt_function_invoke(fn("affine"), shortArgs, 1, &y, 1),
      TMIXRT_INVALID_ARGUMENT,
      {"'affine' got 1 argument(s), its non-weight arguments (x), but no "
       "weight file is bound to the module to supply its 2 weight(s) (w, b)",
       "tmixrt_module_bind_weights", "pass all 3 arguments"}));
  EXPECT_EQ(y, nullptr);
  tmixrt_tensor *fullArgs[] = {x.get(), nullptr, nullptr};
  EXPECT_TRUE(isError(
      tmixrt_function_invoke(fn("affine"), fullArgs, 3, &y, 1),
      TMIXRT_INVALID_ARGUMENT,
      {"argument 1 ('w') of 'affine' is null: it is the weight "
       "'stages.0.norm.weight', and no weight file is bound to the module"}));
  EXPECT_EQ(tmixrt_module_bound_weights(module), nullptr);
  EXPECT_EQ(calls(), before);

  // With every tensor given, no binding is needed.
  Tensor w = makeF32({3}, kW), b = makeF32({3}, kB);
  tmixrt_tensor *explicitArgs[] = {x.get(), w.get(), b.get()};
  ASSERT_TRUE(
      isOk(tmixrt_function_invoke(fn("affine"), explicitArgs, 3, &y, 1)));
  Tensor result(y);
  EXPECT_EQ(values(result), affine({1, 2, 3, 4, 5, 6}, kW, kB));
}

TEST_F(WeightsTest, ShortFormAndNullSlotsTakeTheBoundWeights) {
  bindGood();
  std::vector<float> xs = {1, 2, 3, 4, 5, 6};
  std::vector<float> expected = affine(xs, kW, kB);
  EXPECT_EQ(expected[0], 2.25f); // 1 * 2 + 0.25, worked by hand
  EXPECT_EQ(expected[5], -1.0f); // 6 * 0.5 - 4
  EXPECT_TRUE(affineGives(expected));

  Tensor x = makeF32({2, 3}, xs);
  tmixrt_tensor *fullArgs[] = {x.get(), nullptr, nullptr};
  tmixrt_tensor *y = nullptr;
  ASSERT_TRUE(isOk(tmixrt_function_invoke(fn("affine"), fullArgs, 3, &y, 1)));
  Tensor result(y);
  EXPECT_EQ(values(result), expected);

  // One slot given, one bound: the given tensor wins.
  Tensor w = makeF32({3}, {1, 1, 1});
  tmixrt_tensor *mixedArgs[] = {x.get(), w.get(), nullptr};
  ASSERT_TRUE(isOk(tmixrt_function_invoke(fn("affine"), mixedArgs, 3, &y, 1)));
  Tensor overridden(y);
  EXPECT_EQ(values(overridden), affine(xs, {1, 1, 1}, kB));

  // The weight shared by two functions; its position first.
  Tensor v = makeF32({3}, {3, 4, 5});
  tmixrt_tensor *scaleArgs[] = {v.get()};
  ASSERT_TRUE(isOk(tmixrt_function_invoke(fn("scale"), scaleArgs, 1, &y, 1)));
  Tensor scaled(y);
  EXPECT_EQ(values(scaled), (std::vector<float>{6, -4, 2.5f}));

  // A function without weights is unaffected.
  Tensor p = makeF32({2}, {1, 2});
  tmixrt_tensor *plainArgs[] = {p.get()};
  ASSERT_TRUE(isOk(tmixrt_function_invoke(fn("plain"), plainArgs, 1, &y, 1)));
  Tensor plain(y);
  EXPECT_EQ(values(plain), (std::vector<float>{2, 3}));
}

TEST_F(WeightsTest, BoundWeightsAreTheMappedFile) {
  bindGood();
  ASSERT_TRUE(affineGives(affine({1, 2, 3, 4, 5, 6}, kW, kB)));
  tmixrt_weights *bound = tmixrt_module_bound_weights(module);
  ASSERT_NE(bound, nullptr);
  EXPECT_EQ(bound, opened[0]);
  const tmixrt_weight_info *w = nullptr, *b = nullptr;
  ASSERT_TRUE(isOk(tmixrt_weights_lookup(bound, "stages.0.norm.weight", &w)));
  ASSERT_TRUE(isOk(tmixrt_weights_lookup(bound, "stages.0.norm.bias", &b)));
  EXPECT_EQ(w->mapped, 1);
  const auto &wd = observe<tmix_abi_memref_1>("fake_last_affine_w");
  const auto &bd = observe<tmix_abi_memref_1>("fake_last_affine_b");
  EXPECT_EQ(wd.aligned, w->data); // no copy between the file and the call
  EXPECT_EQ(bd.aligned, b->data);
  EXPECT_EQ(wd.sizes[0], 3);
  EXPECT_EQ(wd.strides[0], 1);
  tmixrt_weights_release(bound);
}

TEST_F(WeightsTest, EveryDtypeBindsAndInterleavedWeightsLineUp) {
  bindGood();
  Tensor x = makeF32({2}, {3, 4});
  // y[i] = x[i] * (h[i][0] + h[i][1]) * g[i] + t[i] + k
  std::vector<float> expected = {3.0f * (1.5f + 0.5f) * 2.0f + 10 + 7,
                                 4.0f * (2.0f - 1.0f) * 0.5f - 20 + 7};
  tmixrt_tensor *shortArgs[] = {x.get()};
  tmixrt_tensor *y = nullptr;
  ASSERT_TRUE(isOk(tmixrt_function_invoke(fn("mixed"), shortArgs, 1, &y, 1)));
  Tensor shortResult(y);
  EXPECT_EQ(values(shortResult), expected);
  tmixrt_tensor *fullArgs[] = {nullptr, x.get(), nullptr, nullptr, nullptr};
  ASSERT_TRUE(isOk(tmixrt_function_invoke(fn("mixed"), fullArgs, 5, &y, 1)));
  Tensor fullResult(y);
  EXPECT_EQ(values(fullResult), expected);
}

TEST_F(WeightsTest, InvokeIntoAndResultShapeAcceptTheShortForm) {
  bindGood();
  Tensor x = makeF32({4, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12});
  tmixrt_tensor *args[] = {x.get()};
  int64_t shape[2] = {};
  ASSERT_TRUE(
      isOk(tmixrt_function_result_shape(fn("affine"), args, 1, 0, shape, 2)));
  EXPECT_EQ(shape[0], 4);
  EXPECT_EQ(shape[1], 3);
  Tensor y = makeF32({4, 3});
  tmixrt_tensor *results[] = {y.get()};
  ASSERT_TRUE(
      isOk(tmixrt_function_invoke_into(fn("affine"), args, 1, results, 1)));
  EXPECT_EQ(values(y), affine({1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, kW, kB));
  // A result may not alias a bound weight either.
  tmixrt_weights *bound = tmixrt_module_bound_weights(module);
  const tmixrt_weight_info *w = nullptr;
  ASSERT_TRUE(isOk(tmixrt_weights_lookup(bound, "stages.0.norm.weight", &w)));
  const int64_t three[] = {3};
  Tensor alias;
  ASSERT_TRUE(isOk(tmixrt_tensor_wrap(
      TMIXRT_F32, 1, three, const_cast<void *>(w->data), alias.out())));
  Tensor v = makeF32({3}, {1, 1, 1});
  tmixrt_tensor *scaleArgs[] = {v.get()};
  tmixrt_tensor *scaleResults[] = {alias.get()};
  EXPECT_TRUE(isError(
      tmixrt_function_invoke_into(fn("scale"), scaleArgs, 1, scaleResults, 1),
      TMIXRT_INVALID_ARGUMENT,
      {"result 0 ('y') of 'scale' overlaps argument 0 ('w')"}));
  tmixrt_weights_release(bound);
}

TEST_F(WeightsTest, WrongArgumentCountsNameBothForms) {
  bindGood();
  Tensor x = makeF32({2, 3});
  tmixrt_tensor *args[] = {x.get(), x.get()};
  tmixrt_tensor *y = nullptr;
  EXPECT_TRUE(isError(tmixrt_function_invoke(fn("affine"), args, 2, &y, 1),
                      TMIXRT_INVALID_ARGUMENT,
                      {"'affine' takes 3 argument(s) (x, w, b), or only its 1 "
                       "non-weight argument(s) (x) with its weights bound, "
                       "got 2"}));
  EXPECT_TRUE(isError(tmixrt_function_invoke(fn("plain"), args, 2, &y, 1),
                      TMIXRT_INVALID_ARGUMENT,
                      {"'plain' takes 1 argument(s) (x), got 2"}));
  // A null non-weight argument stays an error, bound or not.
  tmixrt_tensor *nullX[] = {nullptr};
  EXPECT_TRUE(isError(tmixrt_function_invoke(fn("affine"), nullX, 1, &y, 1),
                      TMIXRT_INVALID_ARGUMENT,
                      {"argument 0 ('x') of 'affine' is null"}));
}

TEST_F(WeightsTest, BindingListsEveryProblemInOneStatus) {
  bindGood(); // a good binding that a failed rebind must leave in place
  std::vector<StTensor> tensors = modelTensors(kW, kB);
  tensors.erase(tensors.begin() + 1); // no stages.0.norm.bias
  tensors[1].shape = {3};             // head.table: [3] i64
  tensors[1].bytes += std::string(8, '\0');
  tensors[2].dtype = "BF16"; // head.half: bf16, not f16
  tensors[3] = {"head.gain", "F64", {2}, std::string(16, '\0')}; // unusable
  tensors.push_back({"head.extra", "F32", {1}, std::string(4, '\0')});
  tensors[4].dtype = "F32"; // head.k: f32 [], not i32
  tmixrt_weights *bad = open(tensors, "bad.safetensors");
  ASSERT_NE(bad, nullptr);
  int before = calls();
  EXPECT_TRUE(isError(
      tmixrt_module_bind_weights(module, bad), TMIXRT_INVALID_ARGUMENT,
      {"cannot bind '" + dir.file("bad.safetensors") + "' to '" +
           TMIXRT_FAKE_WEIGHTS + "': 6 problem(s): ",
       "missing tensor 'stages.0.norm.bias' (argument 2 ('b') of 'affine': "
       "[3] f32)",
       "tensor 'head.table' is [3] I64, but argument 0 ('t') of 'mixed' is "
       "[2] i64 (shape differs)",
       "tensor 'head.half' is [2, 2] BF16, but argument 2 ('h') of 'mixed' is "
       "[2, 2] f16 (dtype differs)",
       "tensor 'head.gain' is [2] F64, a dtype tmix does not support "
       "(argument 3 ('g') of 'mixed': [2] bf16)",
       "tensor 'head.k' is [] F32, but argument 4 ('k') of 'mixed' is [] i32",
       "unused tensor 'head.extra' ([1] F32): no weight argument of the "
       "module has this name"}));
  EXPECT_EQ(calls(), before);
  // Nothing changed: the good binding still serves calls.
  tmixrt_weights *bound = tmixrt_module_bound_weights(module);
  EXPECT_EQ(bound, opened[0]);
  tmixrt_weights_release(bound);
  EXPECT_TRUE(affineGives(affine({1, 2, 3, 4, 5, 6}, kW, kB)));

  // Both dtype and shape wrong at once.
  tensors = modelTensors(kW, kB);
  tensors[0] = {"stages.0.norm.weight", "I32", {4}, std::string(16, '\0')};
  tmixrt_weights *both = open(tensors, "both.safetensors");
  EXPECT_TRUE(isError(tmixrt_module_bind_weights(module, both),
                      TMIXRT_INVALID_ARGUMENT,
                      {"2 problem(s)",
                       "tensor 'stages.0.norm.weight' is [4] I32, but "
                       "argument 1 ('w') of 'affine' is [3] f32 (dtype and "
                       "shape differ)",
                       "argument 0 ('w') of 'scale' is [3] f32"}));
}

TEST_F(WeightsTest, TheProblemListIsCapped) {
  std::vector<StTensor> tensors = modelTensors(kW, kB);
  for (int i = 0; i < 30; ++i)
    tensors.push_back(
        {"extra." + std::to_string(i), "F32", {1}, std::string(4, '\0')});
  tmixrt_weights *weights = open(tensors);
  tmixrt_status status = tmixrt_module_bind_weights(module, weights);
  std::string message = tmixrt_status_message(status);
  EXPECT_TRUE(isError(status, TMIXRT_INVALID_ARGUMENT,
                      {"30 problem(s)", "unused tensor 'extra.0'",
                       "unused tensor 'extra.19'", "; ... and 10 more"}));
  EXPECT_EQ(message.find("'extra.20'"), std::string::npos) << message;
  EXPECT_EQ(tmixrt_module_bound_weights(module), nullptr);
}

TEST_F(WeightsTest, ADynamicWeightArgumentCannotBeBound) {
  tmixrt_module *dynamic = nullptr;
  ASSERT_TRUE(
      isOk(tmixrt_module_load(TMIXRT_FAKE_WEIGHTS_DYNAMIC, nullptr, &dynamic)));
  std::vector<StTensor> tensors = modelTensors(kW, kB);
  tensors.push_back({"dyn.w", "F32", {4}, std::string(16, '\0')});
  tmixrt_weights *weights = open(tensors);
  EXPECT_TRUE(isError(
      tmixrt_module_bind_weights(dynamic, weights), TMIXRT_INVALID_ARGUMENT,
      {"1 problem(s)", "argument 0 ('w') of 'dynamic' is the weight 'dyn.w' "
                       "but has dynamic shape [?]; weight arguments need "
                       "static shapes"}));
  tmixrt_module_release(dynamic);
}

TEST_F(WeightsTest, RebindingReplacesUnbindingRemovesAndFilesStayAlive) {
  std::string pathA = dir.file("a.safetensors"),
              pathB = dir.file("b.safetensors");
  std::vector<float> wB = {-3, 0, 8}, bB = {1, 1, 1};
  writeFile(pathA, safetensorsFile(modelTensors(kW, kB)));
  writeFile(pathB, safetensorsFile(modelTensors(wB, bB)));
  tmixrt_weights *a = nullptr, *b = nullptr;
  ASSERT_TRUE(isOk(tmixrt_weights_open(pathA.c_str(), &a)));
  ASSERT_TRUE(isOk(tmixrt_module_bind_weights(module, a)));
  tmixrt_weights_release(a); // the module's reference keeps it mapped
  EXPECT_TRUE(affineGives(affine({1, 2, 3, 4, 5, 6}, kW, kB)));

  ASSERT_TRUE(isOk(tmixrt_weights_open(pathB.c_str(), &b)));
  ASSERT_TRUE(isOk(tmixrt_module_bind_weights(module, b)));
  tmixrt_weights_release(b);
  EXPECT_TRUE(affineGives(affine({1, 2, 3, 4, 5, 6}, wB, bB)));
  tmixrt_weights *bound = tmixrt_module_bound_weights(module);
  EXPECT_STREQ(tmixrt_weights_path(bound), pathB.c_str());
  tmixrt_weights_release(bound);

  ASSERT_TRUE(isOk(tmixrt_module_bind_weights(module, nullptr)));
  EXPECT_EQ(tmixrt_module_bound_weights(module), nullptr);
  EXPECT_TRUE(isError(
      [&] {
        Tensor x = makeF32({2, 3});
        tmixrt_tensor *args[] = {x.get()};
        tmixrt_tensor *y = nullptr;
        return tmixrt_function_invoke(fn("affine"), args, 1, &y, 1);
      }(),
      TMIXRT_INVALID_ARGUMENT, {"no weight file is bound"}));
  EXPECT_TRUE(isError(tmixrt_module_bind_weights(nullptr, nullptr),
                      TMIXRT_INVALID_ARGUMENT, {"module is null"}));
  EXPECT_EQ(tmixrt_module_bound_weights(nullptr), nullptr);
}

TEST_F(WeightsTest, OneFileServesTwoModules) {
  tmixrt_module *second = nullptr;
  ASSERT_TRUE(isOk(tmixrt_module_load(TMIXRT_FAKE_WEIGHTS, nullptr, &second)));
  tmixrt_weights *weights = open(modelTensors(kW, kB));
  ASSERT_TRUE(isOk(tmixrt_module_bind_weights(module, weights)));
  ASSERT_TRUE(isOk(tmixrt_module_bind_weights(second, weights)));
  tmixrt_module_release(module); // drops its reference to the file
  module = second;
  EXPECT_TRUE(affineGives(affine({1, 2, 3, 4, 5, 6}, kW, kB)));
}

TEST_F(WeightsTest, CallsRacingWithRebindingSeeOneFileOrTheOther) {
  std::vector<float> wB = {-3, 0, 8}, bB = {1, 1, 1};
  tmixrt_weights *a = open(modelTensors(kW, kB), "a.safetensors");
  tmixrt_weights *b = open(modelTensors(wB, bB), "b.safetensors");
  ASSERT_TRUE(isOk(tmixrt_module_bind_weights(module, a)));
  std::vector<float> xs = {1, 2, 3, 4, 5, 6};
  std::vector<float> fromA = affine(xs, kW, kB), fromB = affine(xs, wB, bB);
  std::atomic<bool> stop{false};
  std::atomic<int> bad{0}, done{0};
  std::vector<std::thread> callers;
  const tmixrt_function *affineFn = fn("affine");
  for (int t = 0; t < 2; ++t)
    callers.emplace_back([&] {
      Tensor x = makeF32({2, 3}, xs);
      Tensor y = makeF32({2, 3});
      tmixrt_tensor *args[] = {x.get()};
      tmixrt_tensor *results[] = {y.get()};
      while (!stop.load()) {
        tmixrt_status status =
            tmixrt_function_invoke_into(affineFn, args, 1, results, 1);
        if (status || (values(y) != fromA && values(y) != fromB))
          ++bad;
        tmixrt_status_free(status);
        ++done;
      }
    });
  for (int i = 0; i < 200; ++i)
    ASSERT_TRUE(isOk(tmixrt_module_bind_weights(module, i % 2 ? a : b)));
  while (done.load() < 100)
    std::this_thread::yield();
  stop = true;
  for (std::thread &caller : callers)
    caller.join();
  EXPECT_EQ(bad.load(), 0);
}

} // namespace
