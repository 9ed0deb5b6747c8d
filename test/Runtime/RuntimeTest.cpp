//===- RuntimeTest.cpp - libtmixrt against fake artifacts -----------------===//
//
// Loads the hand-written artifacts of FakeGoodArtifact.c and
// FakeVariantArtifact.c and checks every path of the C API: loading and its
// refusals, introspection, tensors, calls, and every way a call is refused.
//
//===----------------------------------------------------------------------===//

#include "TestUtils.h"

#include "tmixrt/abi.h"
#include "tmixrt/tmixrt.h"
#include "tmixrt/tmixrt_cuda.h"

#include "gtest/gtest.h"

#include <cstring>
#include <dlfcn.h>
#include <string>
#include <vector>

using namespace tmixrt::test;

extern "C" int tmixrt_test_c_api(const char *path);

namespace {

/// Loads `path` with default options, failing the test on error.
tmixrt_module *load(const char *path) {
  tmixrt_module *module = nullptr;
  EXPECT_TRUE(isOk(tmixrt_module_load(path, nullptr, &module)));
  return module;
}

/// The fake artifact's observation globals, through a second dlopen of the
/// already loaded library.
class Observer {
public:
  explicit Observer(const char *path)
      : handle(dlopen(path, RTLD_NOW | RTLD_NOLOAD)) {
    EXPECT_NE(handle, nullptr) << "the artifact is not loaded";
  }
  ~Observer() {
    if (handle)
      dlclose(handle);
  }
  template <typename T>
  T &get(const char *name) {
    void *symbol = handle ? dlsym(handle, name) : nullptr;
    EXPECT_NE(symbol, nullptr) << name;
    static T dummy{};
    return symbol ? *static_cast<T *>(symbol) : dummy;
  }

private:
  void *handle;
};

class RuntimeTest : public ::testing::Test {
protected:
  void SetUp() override {
    module = load(TMIXRT_FAKE_GOOD);
    ASSERT_NE(module, nullptr);
    observer = std::make_unique<Observer>(TMIXRT_FAKE_GOOD);
  }
  void TearDown() override {
    observer.reset();
    tmixrt_module_release(module);
  }

  const tmixrt_function *fn(const char *name) {
    const tmixrt_function *result = nullptr;
    EXPECT_TRUE(isOk(tmixrt_module_lookup(module, name, &result)));
    return result;
  }
  int calls() { return observer->get<int>("fake_calls"); }

  tmixrt_module *module = nullptr;
  std::unique_ptr<Observer> observer;
};

//===----------------------------------------------------------------------===//
// Loading
//===----------------------------------------------------------------------===//

TEST_F(RuntimeTest, ListsFunctionsInOrder) {
  const char *expected[] = {"add",    "scale4",  "stats",   "isum",
                            "matvec", "to_bf16", "gpu_add", "unsized"};
  ASSERT_EQ(tmixrt_module_function_count(module), std::size(expected));
  for (size_t i = 0; i < std::size(expected); ++i)
    EXPECT_STREQ(tmixrt_function_name(tmixrt_module_function_at(module, i)),
                 expected[i]);
  EXPECT_EQ(tmixrt_module_function_at(module, std::size(expected)), nullptr);
  EXPECT_STREQ(tmixrt_module_producer(module), "fake-good 1.0");
  EXPECT_STREQ(tmixrt_module_path(module), TMIXRT_FAKE_GOOD);
  EXPECT_EQ(tmixrt_module_is_multithreaded(module), 1);
}

TEST_F(RuntimeTest, IntrospectsSignatures) {
  const tmixrt_function *add = fn("add");
  ASSERT_NE(add, nullptr);
  EXPECT_EQ(tmixrt_function_device(add), TMIXRT_DEVICE_CPU);
  ASSERT_EQ(tmixrt_function_num_args(add), 2u);
  ASSERT_EQ(tmixrt_function_num_results(add), 1u);
  const tmixrt_tensor_info *y = tmixrt_function_arg(add, 1);
  EXPECT_STREQ(y->name, "y");
  EXPECT_EQ(y->weight_name, nullptr);
  EXPECT_EQ(y->dtype, TMIXRT_F32);
  ASSERT_EQ(y->rank, 2u);
  EXPECT_EQ(y->shape[0], -1);
  EXPECT_EQ(y->shape[1], 4);
  EXPECT_EQ(y->source_arg[0], 0); // y's rows must equal x's
  EXPECT_EQ(y->source_dim[0], 0);
  EXPECT_EQ(y->source_arg[1], -1);
  const tmixrt_tensor_info *z = tmixrt_function_result(add, 0);
  EXPECT_STREQ(z->name, "z");
  EXPECT_EQ(z->shape[0], -1);
  EXPECT_EQ(z->source_arg[0], 0);
  EXPECT_EQ(z->source_dim[0], 0);
  EXPECT_EQ(z->source_arg[1], -1);
  EXPECT_EQ(tmixrt_function_arg(add, 2), nullptr);
  EXPECT_EQ(tmixrt_function_result(add, 1), nullptr);

  const tmixrt_tensor_info *w = tmixrt_function_arg(fn("matvec"), 0);
  EXPECT_STREQ(w->weight_name, "layer0.w");
  const tmixrt_tensor_info *total = tmixrt_function_result(fn("isum"), 0);
  EXPECT_EQ(total->rank, 0u);
  EXPECT_EQ(total->dtype, TMIXRT_I64);
  EXPECT_EQ(tmixrt_function_device(fn("gpu_add")), TMIXRT_DEVICE_CUDA);
  const tmixrt_tensor_info *scaled = tmixrt_function_result(fn("scale4"), 0);
  EXPECT_EQ(scaled->source_arg[2], 0);
  EXPECT_EQ(scaled->source_dim[2], 2);
}

TEST_F(RuntimeTest, FormatsSignatures) {
  const char *expected = "add(x: [?, 4] f32, y: [?, 4] f32) -> (z: [?, 4] f32)";
  char buffer[128];
  size_t length =
      tmixrt_function_format_signature(fn("add"), buffer, sizeof(buffer));
  EXPECT_EQ(length, std::strlen(expected));
  EXPECT_STREQ(buffer, expected);
  // Truncates like snprintf and reports the full length.
  char small[8];
  EXPECT_EQ(tmixrt_function_format_signature(fn("add"), small, sizeof(small)),
            length);
  EXPECT_STREQ(small, "add(x: ");
  EXPECT_EQ(tmixrt_function_format_signature(fn("add"), nullptr, 0), length);
  tmixrt_function_format_signature(fn("isum"), buffer, sizeof(buffer));
  EXPECT_STREQ(buffer, "isum(v: [?] i32) -> (total: [] i64)");
}

TEST_F(RuntimeTest, UnknownFunctionListsTheAvailableOnes) {
  const tmixrt_function *result = fn("add");
  EXPECT_TRUE(isError(tmixrt_module_lookup(module, "nope", &result),
                      TMIXRT_NOT_FOUND,
                      {"'nope'", TMIXRT_FAKE_GOOD,
                       "available: add, scale4, stats, isum, matvec, "
                       "to_bf16, gpu_add, unsized"}));
  EXPECT_EQ(result, nullptr);
  EXPECT_TRUE(isError(tmixrt_module_lookup(module, nullptr, &result),
                      TMIXRT_INVALID_ARGUMENT, {"name"}));
  EXPECT_TRUE(isError(tmixrt_module_lookup(nullptr, "add", &result),
                      TMIXRT_INVALID_ARGUMENT, {"module"}));
  EXPECT_TRUE(isError(tmixrt_module_lookup(module, "add", nullptr),
                      TMIXRT_INVALID_ARGUMENT, {"out"}));
}

TEST_F(RuntimeTest, LookupByDeviceSaysWhereAFunctionExists) {
  const tmixrt_function *result = nullptr;
  EXPECT_TRUE(isOk(tmixrt_module_lookup_device(module, "add",
                                               TMIXRT_DEVICE_CPU, &result)));
  EXPECT_EQ(result, fn("add"));
  EXPECT_TRUE(isOk(tmixrt_module_lookup_device(module, "gpu_add",
                                               TMIXRT_DEVICE_CUDA, &result)));
  EXPECT_EQ(result, fn("gpu_add"));
  EXPECT_TRUE(isError(
      tmixrt_module_lookup_device(module, "add", TMIXRT_DEVICE_CUDA, &result),
      TMIXRT_NOT_FOUND,
      {"'add'", TMIXRT_FAKE_GOOD, "is compiled for cpu, not for cuda",
       "--target=cuda"}));
  EXPECT_EQ(result, nullptr);
  EXPECT_TRUE(isError(
      tmixrt_module_lookup_device(module, "gpu_add", TMIXRT_DEVICE_CPU, &result),
      TMIXRT_NOT_FOUND, {"is compiled for cuda, not for cpu"}));
  EXPECT_TRUE(isError(
      tmixrt_module_lookup_device(module, "nope", TMIXRT_DEVICE_CPU, &result),
      TMIXRT_NOT_FOUND, {"no function named 'nope'", "available: add"}));
  EXPECT_TRUE(isError(tmixrt_module_lookup_device(
                          module, "add", static_cast<tmixrt_device>(7), &result),
                      TMIXRT_INVALID_ARGUMENT, {"unknown device 7"}));
  EXPECT_TRUE(isError(tmixrt_module_lookup_device(module, nullptr,
                                                  TMIXRT_DEVICE_CPU, &result),
                      TMIXRT_INVALID_ARGUMENT, {"name"}));
  EXPECT_TRUE(isError(tmixrt_module_lookup_device(nullptr, "add",
                                                  TMIXRT_DEVICE_CPU, &result),
                      TMIXRT_INVALID_ARGUMENT, {"module"}));
  EXPECT_TRUE(isError(tmixrt_module_lookup_device(module, "add",
                                                  TMIXRT_DEVICE_CPU, nullptr),
                      TMIXRT_INVALID_ARGUMENT, {"out"}));
}

TEST(ModuleLoadTest, OneFunctionPerDeviceUnderOneName) {
  tmixrt_module *module = load(TMIXRT_FAKE_TWO_DEVICES);
  ASSERT_NE(module, nullptr);
  ASSERT_EQ(tmixrt_module_function_count(module), 2u);
  const tmixrt_function *cpu = nullptr, *cuda = nullptr, *first = nullptr;
  EXPECT_TRUE(isOk(tmixrt_module_lookup_device(module, "twice",
                                               TMIXRT_DEVICE_CPU, &cpu)));
  EXPECT_TRUE(isOk(tmixrt_module_lookup_device(module, "twice",
                                               TMIXRT_DEVICE_CUDA, &cuda)));
  EXPECT_TRUE(isOk(tmixrt_module_lookup(module, "twice", &first)));
  EXPECT_EQ(tmixrt_function_device(cpu), TMIXRT_DEVICE_CPU);
  EXPECT_EQ(tmixrt_function_device(cuda), TMIXRT_DEVICE_CUDA);
  EXPECT_EQ(first, cpu); // the first in the artifact's order
  EXPECT_EQ(cpu, tmixrt_module_function_at(module, 0));
  EXPECT_EQ(cuda, tmixrt_module_function_at(module, 1));
  tmixrt_module_release(module);
}

TEST_F(RuntimeTest, SetNumThreadsReachesTheArtifact) {
  int32_t &threads = observer->get<int32_t>("fake_num_threads");
  EXPECT_TRUE(isOk(tmixrt_module_set_num_threads(module, 3)));
  EXPECT_EQ(threads, 3);
  EXPECT_TRUE(isOk(tmixrt_module_set_num_threads(module, 0)));
  EXPECT_EQ(threads, 0);
  EXPECT_TRUE(isError(tmixrt_module_set_num_threads(nullptr, 1),
                      TMIXRT_INVALID_ARGUMENT, {"null"}));

  // Through the load options, on a second reference to the same library.
  tmixrt_module_options options;
  tmixrt_module_options_init(&options);
  EXPECT_EQ(options.num_threads, 0);
  options.num_threads = 7;
  tmixrt_module *second = nullptr;
  ASSERT_TRUE(isOk(tmixrt_module_load(TMIXRT_FAKE_GOOD, &options, &second)));
  EXPECT_EQ(threads, 7);
  tmixrt_module_release(second);
}

TEST_F(RuntimeTest, RetainKeepsTheModuleAlive) {
  tmixrt_module_retain(module);
  tmixrt_module_release(module);
  // Still usable: the fixture's reference remains.
  EXPECT_NE(fn("add"), nullptr);
  tmixrt_module_release(nullptr); // no-op
}

TEST(ModuleLoadTest, SingleFunctionArtifactWithoutThreadHook) {
  tmixrt_module *module = load(TMIXRT_FAKE_SINGLE);
  ASSERT_NE(module, nullptr);
  EXPECT_EQ(tmixrt_module_function_count(module), 1u);
  EXPECT_STREQ(tmixrt_module_producer(module), "");
  EXPECT_EQ(tmixrt_module_is_multithreaded(module), 0);
  EXPECT_TRUE(isOk(tmixrt_module_set_num_threads(module, 4))); // no-op
  tmixrt_module_release(module);
}

TEST(ModuleLoadTest, MissingFileIsNotFound) {
  tmixrt_module *module = reinterpret_cast<tmixrt_module *>(1);
  EXPECT_TRUE(
      isError(tmixrt_module_load("/nonexistent/dir/lib.so", nullptr, &module),
              TMIXRT_NOT_FOUND, {"'/nonexistent/dir/lib.so'"}));
  EXPECT_EQ(module, nullptr);
}

TEST(ModuleLoadTest, GarbageIsNotASharedLibrary) {
  TempDir dir;
  std::string path = dir.file("garbage.so");
  writeFile(path, std::string(4096, '\x5a'));
  tmixrt_module *module = nullptr;
  EXPECT_TRUE(isError(tmixrt_module_load(path.c_str(), nullptr, &module),
                      TMIXRT_INVALID_ARGUMENT,
                      {"'" + path + "'", "not", "shared library"}));
  EXPECT_EQ(module, nullptr);
  std::string empty = dir.file("empty.so");
  writeFile(empty, "");
  EXPECT_TRUE(isError(tmixrt_module_load(empty.c_str(), nullptr, &module),
                      TMIXRT_INVALID_ARGUMENT, {"'" + empty + "'"}));
}

TEST(ModuleLoadTest, DirectoryAndNullArguments) {
  TempDir dir;
  tmixrt_module *module = nullptr;
  std::string path = dir.file("");
  EXPECT_TRUE(isError(tmixrt_module_load(path.c_str(), nullptr, &module),
                      TMIXRT_INVALID_ARGUMENT, {"directory"}));
  EXPECT_TRUE(isError(tmixrt_module_load(nullptr, nullptr, &module),
                      TMIXRT_INVALID_ARGUMENT, {"null"}));
  EXPECT_TRUE(isError(tmixrt_module_load("", nullptr, &module),
                      TMIXRT_INVALID_ARGUMENT, {"empty"}));
  EXPECT_TRUE(isError(tmixrt_module_load(TMIXRT_FAKE_GOOD, nullptr, nullptr),
                      TMIXRT_INVALID_ARGUMENT, {"out"}));
}

TEST(ModuleLoadTest, LibraryWithoutTheSymbol) {
  tmixrt_module *module = nullptr;
  EXPECT_TRUE(
      isError(tmixrt_module_load(TMIXRT_FAKE_NO_SYMBOL, nullptr, &module),
              TMIXRT_INVALID_ARGUMENT,
              {TMIXRT_FAKE_NO_SYMBOL, "not a tmix artifact",
               "does not export 'tmix_artifact_module'"}));
  EXPECT_EQ(module, nullptr);
}

struct BadArtifact {
  const char *name;
  const char *path;
  tmixrt_code code;
  std::vector<std::string> fragments;
};

void PrintTo(const BadArtifact &artifact, std::ostream *os) {
  *os << artifact.name;
}

class BadArtifactTest : public ::testing::TestWithParam<BadArtifact> {};

TEST_P(BadArtifactTest, IsRefusedWithAClearMessage) {
  const BadArtifact &bad = GetParam();
  tmixrt_module *module = reinterpret_cast<tmixrt_module *>(1);
  tmixrt_status status = tmixrt_module_load(bad.path, nullptr, &module);
  EXPECT_EQ(module, nullptr);
  ASSERT_NE(status, nullptr);
  std::string message = tmixrt_status_message(status);
  EXPECT_EQ(tmixrt_status_code(status), bad.code) << message;
  tmixrt_status_free(status);
  EXPECT_NE(message.find(std::string("'") + bad.path + "'"), std::string::npos)
      << message;
  for (const std::string &fragment : bad.fragments)
    EXPECT_NE(message.find(fragment), std::string::npos)
        << "\"" << message << "\" lacks \"" << fragment << "\"";
}

INSTANTIATE_TEST_SUITE_P(
    Runtime, BadArtifactTest,
    ::testing::Values(
        BadArtifact{"BadMagic",
                    TMIXRT_FAKE_BAD_MAGIC,
                    TMIXRT_INVALID_ARGUMENT,
                    {"not a tmix artifact", "0xDEADBEEF", "0x31584D54"}},
        BadArtifact{"BadVersion",
                    TMIXRT_FAKE_BAD_VERSION,
                    TMIXRT_FAILED_PRECONDITION,
                    {"ABI version 2", "supports version 1"}},
        BadArtifact{"Rank99",
                    TMIXRT_FAKE_BAD_RANK,
                    TMIXRT_INVALID_ARGUMENT,
                    {"corrupt", "argument 0 ('x')", "rank 99"}},
        BadArtifact{"ResultDimRefersToArg7",
                    TMIXRT_FAKE_BAD_ARG_REF,
                    TMIXRT_INVALID_ARGUMENT,
                    {"corrupt", "result 0 ('y')",
                     "refers to argument 7, but the function has 1 "
                     "argument"}},
        BadArtifact{"ArgumentDimRefersToItself",
                    TMIXRT_FAKE_ARG_SELF_REF,
                    TMIXRT_INVALID_ARGUMENT,
                    {"corrupt", "argument 0", "dim 0 refers to argument 0, "
                     "which is not an earlier argument"}},
        BadArtifact{"ResultDimRefersToDim5",
                    TMIXRT_FAKE_BAD_DIM_REF,
                    TMIXRT_INVALID_ARGUMENT,
                    {"refers to dim 5 of argument 0, which has rank 2"}},
        BadArtifact{"NegativeSize",
                    TMIXRT_FAKE_NEGATIVE_SIZE,
                    TMIXRT_INVALID_ARGUMENT,
                    {"dim 0 has size -5"}},
        BadArtifact{"NullDims",
                    TMIXRT_FAKE_NULL_DIMS,
                    TMIXRT_INVALID_ARGUMENT,
                    {"has rank 2 but no dims"}},
        BadArtifact{"UnknownDtype",
                    TMIXRT_FAKE_BAD_DTYPE,
                    TMIXRT_INVALID_ARGUMENT,
                    {"unknown dtype 42"}},
        BadArtifact{"NullName",
                    TMIXRT_FAKE_NULL_NAME,
                    TMIXRT_INVALID_ARGUMENT,
                    {"function 0 ('twice') result 0 name is null"}},
        BadArtifact{"UnknownDevice",
                    TMIXRT_FAKE_BAD_DEVICE,
                    TMIXRT_INVALID_ARGUMENT,
                    {"unknown device 9"}},
        BadArtifact{"NullEntry",
                    TMIXRT_FAKE_NULL_ENTRY,
                    TMIXRT_INVALID_ARGUMENT,
                    {"has no entry point"}},
        BadArtifact{"DuplicateName",
                    TMIXRT_FAKE_DUPLICATE_NAME,
                    TMIXRT_INVALID_ARGUMENT,
                    {"two functions are named 'twice' on cpu"}},
        BadArtifact{"NullFunctionList",
                    TMIXRT_FAKE_NULL_FUNCTIONS,
                    TMIXRT_INVALID_ARGUMENT,
                    {"3 functions but no function list"}},
        BadArtifact{"NullModule",
                    TMIXRT_FAKE_NULL_MODULE,
                    TMIXRT_INVALID_ARGUMENT,
                    {"not a tmix artifact", "returned null"}}),
    [](const ::testing::TestParamInfo<BadArtifact> &info) {
      return std::string(info.param.name);
    });

//===----------------------------------------------------------------------===//
// Tensors
//===----------------------------------------------------------------------===//

TEST(TensorTest, CreateOwnsZeroedAlignedMemory) {
  const int64_t shape[] = {2, 3, 5};
  struct {
    tmixrt_dtype dtype;
    size_t size;
    const char *name;
  } dtypes[] = {{TMIXRT_F32, 4, "f32"},
                {TMIXRT_F16, 2, "f16"},
                {TMIXRT_BF16, 2, "bf16"},
                {TMIXRT_I32, 4, "i32"},
                {TMIXRT_I64, 8, "i64"}};
  for (const auto &d : dtypes) {
    Tensor tensor;
    ASSERT_TRUE(isOk(tmixrt_tensor_create(d.dtype, 3, shape, tensor.out())));
    EXPECT_EQ(tmixrt_dtype_size(d.dtype), d.size);
    EXPECT_STREQ(tmixrt_dtype_name(d.dtype), d.name);
    EXPECT_EQ(tmixrt_tensor_dtype(tensor.get()), d.dtype);
    EXPECT_EQ(tensor.shape(), (std::vector<int64_t>{2, 3, 5}));
    EXPECT_EQ(tmixrt_tensor_element_count(tensor.get()), 30u);
    EXPECT_EQ(tmixrt_tensor_byte_size(tensor.get()), 30 * d.size);
    EXPECT_EQ(tmixrt_tensor_is_owned(tensor.get()), 1);
    auto *bytes =
        static_cast<unsigned char *>(tmixrt_tensor_data(tensor.get()));
    EXPECT_EQ(reinterpret_cast<uintptr_t>(bytes) % 64, 0u);
    for (size_t i = 0; i < 30 * d.size; ++i)
      ASSERT_EQ(bytes[i], 0) << i;
  }
}

TEST(TensorTest, ScalarsAndEmptyTensors) {
  Tensor scalar;
  ASSERT_TRUE(isOk(tmixrt_tensor_create(TMIXRT_I64, 0, nullptr, scalar.out())));
  EXPECT_EQ(tmixrt_tensor_rank(scalar.get()), 0u);
  EXPECT_EQ(tmixrt_tensor_element_count(scalar.get()), 1u);
  EXPECT_EQ(tmixrt_tensor_byte_size(scalar.get()), 8u);
  EXPECT_NE(tmixrt_tensor_shape(scalar.get()), nullptr);

  const int64_t emptyShape[] = {4, 0, 1LL << 62};
  Tensor empty;
  ASSERT_TRUE(
      isOk(tmixrt_tensor_create(TMIXRT_F32, 3, emptyShape, empty.out())));
  EXPECT_EQ(tmixrt_tensor_element_count(empty.get()), 0u);
  EXPECT_EQ(tmixrt_tensor_byte_size(empty.get()), 0u);
  EXPECT_NE(tmixrt_tensor_data(empty.get()), nullptr);
}

TEST(TensorTest, CreateRefusesBadDescriptions) {
  tmixrt_tensor *tensor = reinterpret_cast<tmixrt_tensor *>(1);
  const int64_t shape[] = {2, 3, 1, 1, 1, 1, 1};
  EXPECT_TRUE(isError(
      tmixrt_tensor_create(static_cast<tmixrt_dtype>(99), 2, shape, &tensor),
      TMIXRT_INVALID_ARGUMENT, {"unknown dtype 99"}));
  EXPECT_EQ(tensor, nullptr);
  EXPECT_TRUE(isError(tmixrt_tensor_create(TMIXRT_F32, 7, shape, &tensor),
                      TMIXRT_INVALID_ARGUMENT, {"rank 7", "maximum of 6"}));
  EXPECT_TRUE(isError(tmixrt_tensor_create(TMIXRT_F32, 2, nullptr, &tensor),
                      TMIXRT_INVALID_ARGUMENT, {"shape is null"}));
  const int64_t negative[] = {2, -3};
  EXPECT_TRUE(isError(tmixrt_tensor_create(TMIXRT_F32, 2, negative, &tensor),
                      TMIXRT_INVALID_ARGUMENT,
                      {"dimension 1 of shape [2, ?] is negative"}));
  const int64_t huge[] = {1LL << 40, 1LL << 40};
  EXPECT_TRUE(isError(tmixrt_tensor_create(TMIXRT_F32, 2, huge, &tensor),
                      TMIXRT_INVALID_ARGUMENT, {"too large"}));
  EXPECT_TRUE(isError(tmixrt_tensor_create(TMIXRT_F32, 2, shape, nullptr),
                      TMIXRT_INVALID_ARGUMENT, {"out"}));
}

TEST(TensorTest, WrapBorrowsCallerMemory) {
  std::vector<float> data = {1, 2, 3, 4, 5, 6};
  const int64_t shape[] = {2, 3};
  Tensor tensor;
  ASSERT_TRUE(isOk(
      tmixrt_tensor_wrap(TMIXRT_F32, 2, shape, data.data(), tensor.out())));
  EXPECT_EQ(tmixrt_tensor_data(tensor.get()), data.data());
  EXPECT_EQ(tmixrt_tensor_is_owned(tensor.get()), 0);
  EXPECT_EQ(tmixrt_tensor_byte_size(tensor.get()), 24u);
  tensor.f32()[4] = 50;
  EXPECT_EQ(data[4], 50);
  // Releasing the last reference leaves the caller's memory alone (ASan
  // would flag a free of a vector's buffer).
  tmixrt_tensor_retain(tensor.get());
  tmixrt_tensor_release(tensor.get());
  tensor = Tensor();
  EXPECT_EQ(data[0], 1);
}

TEST(TensorTest, WrapRefusesNullAndMisalignedData) {
  const int64_t shape[] = {2, 3};
  tmixrt_tensor *tensor = nullptr;
  EXPECT_TRUE(
      isError(tmixrt_tensor_wrap(TMIXRT_F32, 2, shape, nullptr, &tensor),
              TMIXRT_INVALID_ARGUMENT, {"data is null"}));
  alignas(8) char buffer[64] = {};
  EXPECT_TRUE(
      isError(tmixrt_tensor_wrap(TMIXRT_F32, 2, shape, buffer + 1, &tensor),
              TMIXRT_INVALID_ARGUMENT, {"not aligned"}));
  EXPECT_EQ(tensor, nullptr);
  const int64_t empty[] = {0, 3};
  ASSERT_TRUE(isOk(tmixrt_tensor_wrap(TMIXRT_F32, 2, empty, nullptr, &tensor)));
  tmixrt_tensor_release(tensor);
}

TEST(TensorTest, AccessorsTolerateNull) {
  EXPECT_EQ(tmixrt_tensor_rank(nullptr), 0u);
  EXPECT_EQ(tmixrt_tensor_data(nullptr), nullptr);
  EXPECT_EQ(tmixrt_tensor_byte_size(nullptr), 0u);
  EXPECT_NE(tmixrt_tensor_shape(nullptr), nullptr);
  tmixrt_tensor_release(nullptr);
  tmixrt_tensor_retain(nullptr);
}

TEST(StatusTest, CodesAndMessages) {
  EXPECT_EQ(tmixrt_status_code(nullptr), TMIXRT_OK);
  EXPECT_STREQ(tmixrt_status_message(nullptr), "OK");
  tmixrt_status_free(nullptr);
  EXPECT_EQ(tmixrt_status_create(TMIXRT_OK, "ignored"), nullptr);
  tmixrt_status status = tmixrt_status_create(TMIXRT_INTERNAL, "two\nlines");
  EXPECT_EQ(tmixrt_status_code(status), TMIXRT_INTERNAL);
  EXPECT_STREQ(tmixrt_status_message(status), "two lines");
  tmixrt_status_free(status);
  EXPECT_STREQ(tmixrt_code_name(TMIXRT_UNAVAILABLE), "UNAVAILABLE");
  EXPECT_STREQ(tmixrt_code_name(static_cast<tmixrt_code>(77)), "UNKNOWN");
  EXPECT_STREQ(tmixrt_device_name(TMIXRT_DEVICE_CUDA), "cuda");
}

//===----------------------------------------------------------------------===//
// Calls
//===----------------------------------------------------------------------===//

TEST_F(RuntimeTest, AddComputesAndPassesRowMajorDescriptors) {
  Tensor x = makeF32({3, 4}), y = makeF32({3, 4});
  for (int i = 0; i < 12; ++i) {
    x.f32()[i] = static_cast<float>(i);
    y.f32()[i] = 100.0f * static_cast<float>(i);
  }
  tmixrt_tensor *args[] = {x.get(), y.get()};
  tmixrt_tensor *results[1] = {};
  int before = calls();
  ASSERT_TRUE(isOk(tmixrt_function_invoke(fn("add"), args, 2, results, 1)));
  Tensor z(results[0]);
  EXPECT_EQ(calls(), before + 1);
  EXPECT_EQ(z.shape(), (std::vector<int64_t>{3, 4}));
  EXPECT_EQ(tmixrt_tensor_is_owned(z.get()), 1);
  for (int i = 0; i < 12; ++i)
    EXPECT_EQ(z.f32()[i], 101.0f * static_cast<float>(i)) << i;

  const auto &xd = observer->get<tmix_abi_memref_2>("fake_last_add_x");
  EXPECT_EQ(xd.allocated, tmixrt_tensor_data(x.get()));
  EXPECT_EQ(xd.aligned, tmixrt_tensor_data(x.get()));
  EXPECT_EQ(xd.offset, 0);
  EXPECT_EQ(xd.sizes[0], 3);
  EXPECT_EQ(xd.sizes[1], 4);
  EXPECT_EQ(xd.strides[0], 4);
  EXPECT_EQ(xd.strides[1], 1);
  const auto &zd = observer->get<tmix_abi_memref_2>("fake_last_add_z");
  EXPECT_EQ(zd.aligned, tmixrt_tensor_data(z.get()));
  EXPECT_EQ(zd.sizes[0], 3);
}

TEST_F(RuntimeTest, ResultShapeComesFromADynamicInputDim) {
  Tensor x = makeF32({1, 2, 5, 3});
  for (int i = 0; i < 30; ++i)
    x.f32()[i] = static_cast<float>(i);
  tmixrt_tensor *args[] = {x.get()};
  int64_t shape[4] = {};
  ASSERT_TRUE(
      isOk(tmixrt_function_result_shape(fn("scale4"), args, 1, 0, shape, 4)));
  EXPECT_EQ(std::vector<int64_t>(shape, shape + 4),
            (std::vector<int64_t>{1, 2, 5, 3}));
  tmixrt_tensor *results[1] = {};
  ASSERT_TRUE(isOk(tmixrt_function_invoke(fn("scale4"), args, 1, results, 1)));
  Tensor y(results[0]);
  EXPECT_EQ(y.shape(), (std::vector<int64_t>{1, 2, 5, 3}));
  for (int i = 0; i < 30; ++i)
    EXPECT_EQ(y.f32()[i], 2.0f * static_cast<float>(i) + 1.0f) << i;
  const auto &yd = observer->get<tmix_abi_memref_4>("fake_last_scale4_y");
  EXPECT_EQ(yd.sizes[2], 5);
  EXPECT_EQ(yd.strides[0], 30);
  EXPECT_EQ(yd.strides[1], 15);
  EXPECT_EQ(yd.strides[2], 3);
  EXPECT_EQ(yd.strides[3], 1);
}

TEST_F(RuntimeTest, BorrowedAndOwnedArgumentsMix) {
  std::vector<float> xs = {1, 2, 3, 4, 5, 6, 7, 8};
  const int64_t shape[] = {2, 4};
  Tensor x;
  ASSERT_TRUE(
      isOk(tmixrt_tensor_wrap(TMIXRT_F32, 2, shape, xs.data(), x.out())));
  Tensor y = makeF32({2, 4}, {10, 20, 30, 40, 50, 60, 70, 80});
  tmixrt_tensor *args[] = {x.get(), y.get()};
  tmixrt_tensor *results[1] = {};
  ASSERT_TRUE(isOk(tmixrt_function_invoke(fn("add"), args, 2, results, 1)));
  Tensor z(results[0]);
  for (int i = 0; i < 8; ++i)
    EXPECT_EQ(z.f32()[i], 11.0f * static_cast<float>(i + 1));
  EXPECT_EQ(xs[0], 1.0f); // arguments are read only
}

TEST_F(RuntimeTest, TwoResultsScalarResultsAndStaticShapes) {
  Tensor x = makeF32({2, 4}, {1, 5, 2, 3, -1, -2, -3, -4});
  tmixrt_tensor *args[] = {x.get()};
  tmixrt_tensor *results[2] = {};
  ASSERT_TRUE(isOk(tmixrt_function_invoke(fn("stats"), args, 1, results, 2)));
  Tensor sum(results[0]), max(results[1]);
  EXPECT_EQ(sum.shape(), (std::vector<int64_t>{2}));
  EXPECT_EQ(sum.f32()[0], 11.0f);
  EXPECT_EQ(sum.f32()[1], -10.0f);
  EXPECT_EQ(max.f32()[0], 5.0f);
  EXPECT_EQ(max.f32()[1], -1.0f);

  std::vector<int32_t> values = {1, 2, 3, 40};
  const int64_t n[] = {4};
  Tensor v;
  ASSERT_TRUE(
      isOk(tmixrt_tensor_wrap(TMIXRT_I32, 1, n, values.data(), v.out())));
  tmixrt_tensor *isumArgs[] = {v.get()};
  tmixrt_tensor *total = nullptr;
  ASSERT_TRUE(isOk(tmixrt_function_invoke(fn("isum"), isumArgs, 1, &total, 1)));
  Tensor totalRef(total);
  EXPECT_EQ(tmixrt_tensor_rank(total), 0u);
  EXPECT_EQ(*static_cast<int64_t *>(tmixrt_tensor_data(total)), 46);

  Tensor w = makeF32({3, 2}, {1, 2, 3, 4, 5, 6});
  Tensor vec = makeF32({2}, {1, 10});
  tmixrt_tensor *matvecArgs[] = {w.get(), vec.get()};
  tmixrt_tensor *out = nullptr;
  ASSERT_TRUE(
      isOk(tmixrt_function_invoke(fn("matvec"), matvecArgs, 2, &out, 1)));
  Tensor outRef(out);
  EXPECT_EQ(outRef.shape(), (std::vector<int64_t>{3}));
  EXPECT_EQ(outRef.f32()[0], 21.0f);
  EXPECT_EQ(outRef.f32()[2], 65.0f);
}

TEST_F(RuntimeTest, EmptyDynamicDimension) {
  Tensor x = makeF32({0, 4}), y = makeF32({0, 4});
  tmixrt_tensor *args[] = {x.get(), y.get()};
  tmixrt_tensor *z = nullptr;
  ASSERT_TRUE(isOk(tmixrt_function_invoke(fn("add"), args, 2, &z, 1)));
  Tensor zRef(z);
  EXPECT_EQ(zRef.shape(), (std::vector<int64_t>{0, 4}));
}

/// Invokes `name` expecting a refusal; checks nothing was called and the
/// result slots are cleared.
#define EXPECT_REFUSED(name, args, numArgs, numResults, code, ...)             \
  do {                                                                         \
    int before = calls();                                                      \
    tmixrt_tensor *slots[4] = {reinterpret_cast<tmixrt_tensor *>(1),           \
                               reinterpret_cast<tmixrt_tensor *>(1),           \
                               reinterpret_cast<tmixrt_tensor *>(1),           \
                               reinterpret_cast<tmixrt_tensor *>(1)};          \
    EXPECT_TRUE(isError(                                                       \
        tmixrt_function_invoke(fn(name), args, numArgs, slots, numResults),    \
        code, {__VA_ARGS__}));                                                 \
    for (size_t i = 0; i < (numResults); ++i)                                  \
      EXPECT_EQ(slots[i], nullptr);                                            \
    EXPECT_EQ(calls(), before);                                                \
  } while (false)

TEST_F(RuntimeTest, RefusesWrongArgumentCount) {
  Tensor x = makeF32({3, 4});
  tmixrt_tensor *args[] = {x.get()};
  EXPECT_REFUSED("add", args, 1, 1, TMIXRT_INVALID_ARGUMENT,
                 "'add' takes 2 argument(s) (x, y), got 1");
  EXPECT_REFUSED("add", nullptr, 2, 1, TMIXRT_INVALID_ARGUMENT,
                 "argument list of 'add' is null");
}

TEST_F(RuntimeTest, RefusesInconsistentDynamicDims) {
  Tensor x = makeF32({3, 4}), y = makeF32({2, 4});
  tmixrt_tensor *args[] = {x.get(), y.get()};
  EXPECT_REFUSED("add", args, 2, 1, TMIXRT_INVALID_ARGUMENT,
                 "argument 1 ('y') of 'add': dimension 0 is 2, but it must "
                 "equal dimension 0 of argument 0 ('x'), which is 3; got "
                 "shape [2, 4]");
}

TEST_F(RuntimeTest, RefusesNullTensor) {
  Tensor x = makeF32({3, 4});
  tmixrt_tensor *args[] = {x.get(), nullptr};
  EXPECT_REFUSED("add", args, 2, 1, TMIXRT_INVALID_ARGUMENT,
                 "argument 1 ('y') of 'add' is null");
}

TEST_F(RuntimeTest, RefusesWrongDtype) {
  Tensor x = makeF32({3, 4});
  Tensor y;
  const int64_t shape[] = {3, 4};
  ASSERT_TRUE(isOk(tmixrt_tensor_create(TMIXRT_I32, 2, shape, y.out())));
  tmixrt_tensor *args[] = {x.get(), y.get()};
  EXPECT_REFUSED("add", args, 2, 1, TMIXRT_INVALID_ARGUMENT,
                 "argument 1 ('y') of 'add': expected shape [?, 4] (f32), got "
                 "[3, 4] (i32)",
                 "dtype is i32, expected f32");
}

TEST_F(RuntimeTest, RefusesWrongRank) {
  Tensor x = makeF32({12}), y = makeF32({3, 4});
  tmixrt_tensor *args[] = {x.get(), y.get()};
  EXPECT_REFUSED("add", args, 2, 1, TMIXRT_INVALID_ARGUMENT,
                 "argument 0 ('x') of 'add': expected shape [?, 4] (f32), got "
                 "[12] (f32)",
                 "rank is 1, expected 2");
}

TEST_F(RuntimeTest, RefusesWrongStaticDim) {
  Tensor x = makeF32({1, 2, 128, 32});
  tmixrt_tensor *args[] = {x.get()};
  EXPECT_REFUSED("scale4", args, 1, 1, TMIXRT_INVALID_ARGUMENT,
                 "argument 0 ('x') of 'scale4': expected shape [1, 2, ?, 3] "
                 "(f32), got [1, 2, 128, 32] (f32)",
                 "dimension 3 is 32, expected 3");
}

TEST_F(RuntimeTest, RefusesWrongResultCountOrNullResults) {
  Tensor x = makeF32({3, 4}), y = makeF32({3, 4});
  tmixrt_tensor *args[] = {x.get(), y.get()};
  EXPECT_REFUSED("add", args, 2, 2, TMIXRT_INVALID_ARGUMENT,
                 "'add' returns 1 result(s), got room for 2");
  EXPECT_TRUE(isError(tmixrt_function_invoke(fn("add"), args, 2, nullptr, 1),
                      TMIXRT_INVALID_ARGUMENT,
                      {"result list of 'add' is null"}));
  tmixrt_tensor *z = nullptr;
  EXPECT_TRUE(isError(tmixrt_function_invoke(nullptr, args, 2, &z, 1),
                      TMIXRT_INVALID_ARGUMENT, {"function is null"}));
}

TEST_F(RuntimeTest, CudaFunctionsAreUnavailable) {
  Tensor x = makeF32({3, 4}), y = makeF32({3, 4});
  tmixrt_tensor *args[] = {x.get(), y.get()};
  int &cudaCalls = observer->get<int>("fake_cuda_calls");
  int before = cudaCalls;
  // Host tensors: refused for want of a CUDA backend where there is none
  // (this process uses the system's driver), and for their place where
  // there is one. TmixCudaRuntimeTests covers both with a fake driver.
  if (tmixrt_cuda_is_available())
    EXPECT_REFUSED("gpu_add", args, 2, 1, TMIXRT_INVALID_ARGUMENT,
                   "argument 0 ('x') of 'gpu_add' is a host tensor, but "
                   "'gpu_add' runs on CUDA");
  else
    EXPECT_REFUSED("gpu_add", args, 2, 1, TMIXRT_UNAVAILABLE,
                   "'gpu_add' runs on CUDA, but the CUDA backend is "
                   "unavailable: ");
  EXPECT_EQ(cudaCalls, before);
}

TEST_F(RuntimeTest, RefusesResultsNotDerivedFromArguments) {
  Tensor x = makeF32({4});
  tmixrt_tensor *args[] = {x.get()};
  EXPECT_REFUSED("unsized", args, 1, 1, TMIXRT_FAILED_PRECONDITION,
                 "result 0 ('y') of 'unsized'", "not derived from an argument");
}

TEST_F(RuntimeTest, InvokeIntoWritesCallerResults) {
  Tensor x = makeF32({2, 4}, {1, 2, 3, 4, 5, 6, 7, 8});
  std::vector<float> zs(8, -1.0f);
  const int64_t shape[] = {2, 4};
  Tensor z;
  ASSERT_TRUE(
      isOk(tmixrt_tensor_wrap(TMIXRT_F32, 2, shape, zs.data(), z.out())));
  tmixrt_tensor *args[] = {x.get(), x.get()}; // the same input twice is fine
  tmixrt_tensor *results[] = {z.get()};
  ASSERT_TRUE(
      isOk(tmixrt_function_invoke_into(fn("add"), args, 2, results, 1)));
  for (int i = 0; i < 8; ++i)
    EXPECT_EQ(zs[static_cast<size_t>(i)], 2.0f * static_cast<float>(i + 1));
}

TEST_F(RuntimeTest, InvokeIntoRefusesInconsistentDynamicDims) {
  Tensor x = makeF32({3, 4}), y = makeF32({3, 4});
  Tensor z = makeF32({2, 4}, {7, 7, 7, 7, 7, 7, 7, 7});
  tmixrt_tensor *args[] = {x.get(), y.get()};
  tmixrt_tensor *results[] = {z.get()};
  int before = calls();
  EXPECT_TRUE(isError(
      tmixrt_function_invoke_into(fn("add"), args, 2, results, 1),
      TMIXRT_INVALID_ARGUMENT,
      {"result 0 ('z') of 'add': expected shape [3, 4] (f32), got [2, 4] "
       "(f32)",
       "dimension 0 is 2, but it must equal dimension 0 of argument 0 ('x')"}));
  EXPECT_EQ(calls(), before);
  EXPECT_EQ(z.f32()[0], 7.0f); // untouched

  // A static result dim, a wrong dtype, a null result.
  Tensor wrongStatic = makeF32({3, 5});
  results[0] = wrongStatic.get();
  EXPECT_TRUE(
      isError(tmixrt_function_invoke_into(fn("add"), args, 2, results, 1),
              TMIXRT_INVALID_ARGUMENT, {"dimension 1 is 5, expected 4"}));
  Tensor wrongDtype;
  const int64_t shape[] = {3, 4};
  ASSERT_TRUE(
      isOk(tmixrt_tensor_create(TMIXRT_F16, 2, shape, wrongDtype.out())));
  results[0] = wrongDtype.get();
  EXPECT_TRUE(
      isError(tmixrt_function_invoke_into(fn("add"), args, 2, results, 1),
              TMIXRT_INVALID_ARGUMENT, {"got [3, 4] (f16)", "dtype is f16"}));
  results[0] = nullptr;
  EXPECT_TRUE(
      isError(tmixrt_function_invoke_into(fn("add"), args, 2, results, 1),
              TMIXRT_INVALID_ARGUMENT, {"result 0 ('z') of 'add' is null"}));
  EXPECT_EQ(calls(), before);
}

TEST_F(RuntimeTest, InvokeIntoRefusesAliasing) {
  Tensor x = makeF32({3, 4}), y = makeF32({3, 4});
  tmixrt_tensor *args[] = {x.get(), y.get()};
  tmixrt_tensor *results[] = {y.get()};
  EXPECT_TRUE(
      isError(tmixrt_function_invoke_into(fn("add"), args, 2, results, 1),
              TMIXRT_INVALID_ARGUMENT,
              {"result 0 ('z') of 'add' overlaps argument 1 ('y')"}));
  // Two results on overlapping memory.
  std::vector<float> buffer(4);
  const int64_t three[] = {3};
  Tensor a, b;
  ASSERT_TRUE(
      isOk(tmixrt_tensor_wrap(TMIXRT_F32, 1, three, buffer.data(), a.out())));
  ASSERT_TRUE(isOk(
      tmixrt_tensor_wrap(TMIXRT_F32, 1, three, buffer.data() + 1, b.out())));
  Tensor rows = makeF32({3, 4});
  tmixrt_tensor *statsArgs[] = {rows.get()};
  tmixrt_tensor *statsResults[] = {a.get(), b.get()};
  EXPECT_TRUE(isError(
      tmixrt_function_invoke_into(fn("stats"), statsArgs, 1, statsResults, 2),
      TMIXRT_INVALID_ARGUMENT,
      {"result 1 ('rowmax') of 'stats' overlaps result 0 ('rowsum')"}));
}

TEST_F(RuntimeTest, ResultShapeChecksItsArguments) {
  Tensor x = makeF32({7, 4}), y = makeF32({7, 4});
  tmixrt_tensor *args[] = {x.get(), y.get()};
  int64_t shape[2] = {};
  ASSERT_TRUE(
      isOk(tmixrt_function_result_shape(fn("add"), args, 2, 0, shape, 2)));
  EXPECT_EQ(shape[0], 7);
  EXPECT_EQ(shape[1], 4);
  EXPECT_TRUE(
      isError(tmixrt_function_result_shape(fn("add"), args, 2, 1, shape, 2),
              TMIXRT_INVALID_ARGUMENT, {"asked for result 1"}));
  EXPECT_TRUE(
      isError(tmixrt_function_result_shape(fn("add"), args, 2, 0, shape, 1),
              TMIXRT_INVALID_ARGUMENT, {"holds 1 entries"}));
  EXPECT_TRUE(
      isError(tmixrt_function_result_shape(fn("add"), args, 1, 0, shape, 2),
              TMIXRT_INVALID_ARGUMENT, {"takes 2 argument(s)"}));
}

TEST(CApiTest, WorksFromC) {
  EXPECT_EQ(tmixrt_test_c_api(TMIXRT_FAKE_GOOD), 0)
      << "nonzero: the line of CApiTest.c that failed";
}

} // namespace
