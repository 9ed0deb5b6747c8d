//===- AotAttentionTest.cpp - compiled artifacts, run through libtmixrt ---===//
//
// The whole ahead-of-time path: one module with an attention function per
// configuration (mask kind × head dim × GQA grouping, with bias, lse, f16
// and dynamic B, L, S) is compiled by tmix::compileArtifact into a shared
// library; each function is then loaded and called through libtmixrt at many
// shapes (L, S ∈ {1, 7, 64, 333, 1000}, L ≠ S, B ∈ {1, 3}) and compared with
// the double-precision reference (f32: max abs error <= 1e-4).
//
// AotAttentionCuda runs the same matrix (plus bf16 configurations) compiled
// with --target=cuda on CUDA device 0, with device tensors; without a usable
// CUDA driver and device its tests skip, saying why.
//
//===----------------------------------------------------------------------===//

#include "AttentionTestUtils.h"
#include "JitHarness.h"
#include "Reference/Attention.h"

#include "tmix/Target/Artifact.h"
#include "tmixrt/tmixrt.h"
#include "tmixrt/tmixrt_cuda.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/Parser/Parser.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

#include "gtest/gtest.h"

#include <cmath>
#include <random>

using namespace tmix;

namespace {

struct Config {
  std::string name;
  int64_t hq, hkv, d;
  ref::Mask mask;
  bool bias = false; // [1, Hq, ?, ?] bias broadcast over the batch
  bool lse = false;
  test::Elt elt = test::Elt::F32;
  bool isHalf() const { return elt != test::Elt::F32; }
  bool isBf16() const { return elt == test::Elt::BF16; }
};

std::vector<Config> configs(bool withBf16) {
  using K = ref::MaskKind;
  const ref::Mask masks[] = {{K::None},
                             {K::Causal},
                             {K::Window, 37, 5},
                             {K::BlockLocal, 0, 0, 48},
                             {K::Dilated, 0, 0, 0, 9, 3},
                             {K::GlobalLocal, 20, 20, 0, 0, 0, 3}};
  const char *maskNames[] = {"none",  "causal",  "window",
                             "block", "dilated", "global"};
  const int64_t dims[] = {32, 64, 80, 128};
  const std::pair<int64_t, int64_t> heads[] = {{8, 8}, {8, 2}, {8, 1}};
  // Every mask, head dim and grouping appears, without the full product
  // (each function costs seconds to compile).
  std::vector<Config> out;
  auto add = [&](size_t m, int64_t d, std::pair<int64_t, int64_t> h) {
    out.push_back({std::string(maskNames[m]) + "_d" + std::to_string(d) +
                       "_h" + std::to_string(h.first) + "x" +
                       std::to_string(h.second),
                   h.first, h.second, d, masks[m]});
  };
  for (size_t m = 0; m < std::size(masks); ++m)
    add(m, dims[m % 4], heads[m % 3]);
  add(0, 80, heads[1]);
  add(1, 128, heads[2]);
  add(1, 32, heads[0]);
  out.push_back({"causal_bias_lse_d64_h8x2", 8, 2, 64, {K::Causal}, true, true});
  out.push_back({"window_lse_d80_h8x1", 8, 1, 80, {K::Window, 64, 0}, false, true});
  out.push_back({"causal_f16_d64_h8x2", 8, 2, 64, {K::Causal}, false, false,
                 test::Elt::F16});
  if (withBf16) {
    // The GPU kernel's tensor-core path: bf16 with bias and lse, f16 at
    // D = 80 and 128.
    out.push_back({"causal_bias_lse_bf16_d64_h8x2", 8, 2, 64, {K::Causal},
                   true, true, test::Elt::BF16});
    out.push_back({"none_bf16_d128_h8x8", 8, 8, 128, {K::None}, false, false,
                   test::Elt::BF16});
    out.push_back({"window_f16_d80_h8x1", 8, 1, 80, {K::Window, 37, 5}, false,
                   false, test::Elt::F16});
    out.push_back({"dilated_f16_d128_h8x2", 8, 2, 128,
                   {K::Dilated, 0, 0, 0, 9, 3}, false, true, test::Elt::F16});
  }
  return out;
}

std::string functionText(const Config &c) {
  std::string elt = c.elt == test::Elt::F16    ? "f16"
                    : c.elt == test::Elt::BF16 ? "bf16"
                                               : "f32";
  auto t = [&](int64_t h, int64_t d) {
    return "tensor<?x" + std::to_string(h) + "x?x" + std::to_string(d) + "x" +
           elt + ">";
  };
  std::string q = t(c.hq, c.d), kv = t(c.hkv, c.d), o = t(c.hq, c.d);
  std::string bias = "tensor<1x" + std::to_string(c.hq) + "x?x?x" + elt + ">";
  std::string lse = "tensor<?x" + std::to_string(c.hq) + "x?xf32>";
  std::string args = "%q: " + q + ", %k: " + kv + ", %v: " + kv;
  std::string operands = "%q, %k, %v", types = q + ", " + kv + ", " + kv;
  if (c.bias) {
    args += ", %b: " + bias;
    operands += ", %b";
    types += ", " + bias;
  }
  std::string results = c.lse ? "(" + o + ", " + lse + ")" : o;
  std::string attrs =
      c.mask.kind == ref::MaskKind::None ? "" : " {mask = " + c.mask.toMLIR() + "}";
  return "func.func @" + c.name + "(" + args + ") -> " + results + " {\n" +
         "  %o" + (c.lse ? ", %l" : "") + " = mixer.attention " + operands +
         attrs + " : (" + types + ") -> " + results + "\n  return %o" +
         (c.lse ? ", %l : " + o + ", " + lse : " : " + o) + "\n}\n";
}

/// Compiles the configurations into one library for `target` ("cpu" or
/// "cuda") and runs them through libtmixrt on that device.
class AotAttentionBase {
protected:
  struct Library {
    std::string dir, path;
    tmixrt_module *module = nullptr;
    bool cuda = false;
    std::vector<Config> configs;
  };

  static void compile(Library &lib, const ArtifactOptions &options) {
    lib.cuda = options.target == "cuda";
    lib.configs = configs(lib.cuda);
    std::string text;
    for (const Config &c : lib.configs)
      text += functionText(c);
    auto ctx = test::makeContext();
    std::string diagnostics;
    mlir::ScopedDiagnosticHandler handler(ctx.get(), [&](mlir::Diagnostic &d) {
      diagnostics += d.str() + "\n";
      return mlir::success();
    });
    mlir::OwningOpRef<mlir::ModuleOp> module =
        mlir::parseSourceString<mlir::ModuleOp>(text, ctx.get());
    ASSERT_TRUE(module) << diagnostics << text;
    llvm::SmallString<128> dir;
    ASSERT_FALSE(llvm::sys::fs::createUniqueDirectory("tmix-aot", dir));
    lib.dir = std::string(dir);
    lib.path = lib.dir + "/libattention.so";
    ASSERT_TRUE(mlir::succeeded(compileArtifact(*module, lib.path, options)))
        << diagnostics;
    tmixrt_status status = tmixrt_module_load(lib.path.c_str(), nullptr,
                                              &lib.module);
    ASSERT_EQ(status, nullptr) << tmixrt_status_message(status);
  }

  static void release(Library &lib) {
    if (lib.module)
      tmixrt_module_release(lib.module);
    lib.module = nullptr;
    if (!lib.path.empty())
      llvm::sys::fs::remove(lib.path);
    if (!lib.dir.empty())
      llvm::sys::fs::remove(lib.dir);
  }

  static const Config *find(const Library &lib, const std::string &name) {
    for (const Config &c : lib.configs)
      if (c.name == name)
        return &c;
    return nullptr;
  }

  /// Runs `c` at (B, L, S) and compares with the reference.
  static void run(const Library &lib, const Config &c, int64_t B, int64_t L,
                  int64_t S) {
    SCOPED_TRACE(c.name + " B=" + std::to_string(B) + " L=" +
                 std::to_string(L) + " S=" + std::to_string(S) +
                 (lib.cuda ? " on cuda:0" : ""));
    ASSERT_NE(lib.module, nullptr);
    const tmixrt_function *fn = nullptr;
    ASSERT_EQ(tmixrt_module_lookup_device(
                  lib.module, c.name.c_str(),
                  lib.cuda ? TMIXRT_DEVICE_CUDA : TMIXRT_DEVICE_CPU, &fn),
              nullptr);
    std::mt19937 rng(static_cast<unsigned>(B * 1000003 + L * 1009 + S));
    std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
    tmixrt_dtype dtype = c.elt == test::Elt::F16    ? TMIXRT_F16
                         : c.elt == test::Elt::BF16 ? TMIXRT_BF16
                                                    : TMIXRT_F32;
    std::vector<tmixrt_tensor *> hostArgs, args;
    std::vector<std::vector<double>> exact;
    auto make = [&](std::vector<int64_t> shape) {
      tmixrt_tensor *t = nullptr;
      EXPECT_EQ(tmixrt_tensor_create(dtype, shape.size(), shape.data(), &t),
                nullptr);
      size_t n = tmixrt_tensor_element_count(t);
      std::vector<double> values(n);
      for (size_t i = 0; i < n; ++i) {
        float f = dist(rng);
        if (c.isHalf()) {
          uint16_t bits = test::toHalfBits(f, c.isBf16());
          static_cast<uint16_t *>(tmixrt_tensor_data(t))[i] = bits;
          f = test::fromHalfBits(bits, c.isBf16());
        } else {
          static_cast<float *>(tmixrt_tensor_data(t))[i] = f;
        }
        values[i] = f;
      }
      hostArgs.push_back(t);
      exact.push_back(std::move(values));
      if (!lib.cuda) {
        args.push_back(t);
        return;
      }
      tmixrt_tensor *d = nullptr;
      tmixrt_status status =
          tmixrt_cuda_tensor_create(0, dtype, shape.size(), shape.data(), &d);
      EXPECT_EQ(status, nullptr) << tmixrt_status_message(status);
      status = tmixrt_tensor_copy(d, t);
      EXPECT_EQ(status, nullptr) << tmixrt_status_message(status);
      args.push_back(d);
    };
    make({B, c.hq, L, c.d});
    make({B, c.hkv, S, c.d});
    make({B, c.hkv, S, c.d});
    if (c.bias)
      make({1, c.hq, L, S});
    std::vector<tmixrt_tensor *> results(c.lse ? 2 : 1, nullptr);
    tmixrt_status status = tmixrt_function_invoke(
        fn, args.data(), args.size(), results.data(), results.size());
    ASSERT_EQ(status, nullptr) << tmixrt_status_message(status);
    if (lib.cuda) {
      // The results back on the host.
      for (tmixrt_tensor *&r : results) {
        tmixrt_tensor *host = nullptr;
        ASSERT_EQ(tmixrt_tensor_create(tmixrt_tensor_dtype(r),
                                       tmixrt_tensor_rank(r),
                                       tmixrt_tensor_shape(r), &host),
                  nullptr);
        status = tmixrt_tensor_copy(host, r);
        ASSERT_EQ(status, nullptr) << tmixrt_status_message(status);
        tmixrt_tensor_release(r);
        r = host;
      }
    }

    ref::AttentionShape sh{B, c.hq, c.hkv, L, S, c.d, c.d};
    std::vector<double> out, lse;
    ref::attention(sh, exact[0], exact[1], exact[2],
                   c.bias ? exact[3] : std::vector<double>(), {1, c.hq, L, S},
                   1.0 / std::sqrt(double(c.d)), c.mask, out, lse);
    double maxErr = 0, tol = test::tolerance(c.elt);
    for (size_t i = 0; i < out.size(); ++i) {
      double got =
          c.isHalf()
              ? test::fromHalfBits(
                    static_cast<uint16_t *>(tmixrt_tensor_data(results[0]))[i],
                    c.isBf16())
              : static_cast<float *>(tmixrt_tensor_data(results[0]))[i];
      maxErr = std::max(maxErr, std::abs(got - out[i]));
    }
    EXPECT_LE(maxErr, tol) << "output max abs error";
    if (c.lse) {
      const float *got = static_cast<float *>(tmixrt_tensor_data(results[1]));
      for (size_t i = 0; i < lse.size(); ++i) {
        if (std::isinf(lse[i]))
          EXPECT_TRUE(std::isinf(got[i]) && got[i] < 0) << "lse[" << i << "]";
        else
          EXPECT_NEAR(got[i], lse[i], 1e-4) << "lse[" << i << "]";
      }
    }
    for (tmixrt_tensor *t : hostArgs)
      tmixrt_tensor_release(t);
    if (lib.cuda)
      for (tmixrt_tensor *t : args)
        tmixrt_tensor_release(t);
    for (tmixrt_tensor *t : results)
      tmixrt_tensor_release(t);
  }

  static void smallAndOddShapes(const Library &lib) {
    const int64_t shapes[][3] = {{1, 1, 1},  {1, 7, 7},   {3, 64, 64},
                                 {1, 1, 333}, {1, 7, 64}, {3, 64, 7}};
    for (const Config &c : lib.configs)
      for (const auto &s : shapes)
        run(lib, c, s[0], s[1], s[2]);
  }

  static void longSequences(const Library &lib) {
    // L, S in {333, 1000}: several query tiles and key blocks, partial tails.
    for (const Config &c : lib.configs) {
      if (c.d != 64 && c.d != 80 && c.d != 128)
        continue;
      run(lib, c, 1, 333, 333);
      run(lib, c, 1, 333, 1000);
    }
    if (const Config *c = find(lib, "causal_d64_h8x2"))
      run(lib, *c, 1, 1000, 1000);
    if (const Config *c = find(lib, "window_lse_d80_h8x1"))
      run(lib, *c, 1, 1000, 333); // L > S
  }
};

/// The CPU artifact, compiled once for the test suite.
class AotAttention : public ::testing::Test, protected AotAttentionBase {
protected:
  static void SetUpTestSuite() {
    ArtifactOptions options;
    options.queryTile = 32; // several query tiles even at L = 64
    options.keyTile = 48;
    compile(lib, options);
  }
  static void TearDownTestSuite() { release(lib); }
  static Library lib;
};
AotAttention::Library AotAttention::lib;

/// The CUDA artifact, compiled for device 0's architecture (sm_90 and up:
/// sm_90; else sm_80) when a CUDA device is usable.
class AotAttentionCuda : public ::testing::Test, protected AotAttentionBase {
protected:
  static void SetUpTestSuite() {
    if (tmixrt_status status = tmixrt_cuda_init()) {
      skipReason = std::string("no usable CUDA driver and device: ") +
                   tmixrt_status_message(status);
      tmixrt_status_free(status);
      return;
    }
    tmixrt_cuda_device_properties properties;
    if (tmixrt_status status =
            tmixrt_cuda_device_properties_get(0, &properties)) {
      skipReason = std::string("cannot query CUDA device 0: ") +
                   tmixrt_status_message(status);
      tmixrt_status_free(status);
      return;
    }
    std::printf("AotAttentionCuda: device 0: %s, sm_%d%d\n", properties.name,
                properties.compute_capability_major,
                properties.compute_capability_minor);
    ArtifactOptions options;
    options.target = "cuda";
    options.gpu.chip = properties.compute_capability_major >= 9
                           ? GpuChip::sm_90
                           : GpuChip::sm_80;
    compile(lib, options);
  }
  static void TearDownTestSuite() { release(lib); }
  void SetUp() override {
    if (!skipReason.empty())
      GTEST_SKIP() << skipReason;
  }
  static Library lib;
  static std::string skipReason;
};
AotAttentionCuda::Library AotAttentionCuda::lib;
std::string AotAttentionCuda::skipReason;

TEST_F(AotAttention, EveryConfigurationAtSmallAndOddShapes) {
  smallAndOddShapes(lib);
}

TEST_F(AotAttention, LongSequences) { longSequences(lib); }

TEST_F(AotAttentionCuda, EveryConfigurationAtSmallAndOddShapes) {
  smallAndOddShapes(lib);
}

TEST_F(AotAttentionCuda, LongSequences) { longSequences(lib); }

TEST_F(AotAttention, MismatchedKeyAndValueLengthsAreRefused) {
  const tmixrt_function *fn = nullptr;
  ASSERT_EQ(tmixrt_module_lookup(lib.module, "causal_d64_h8x2", &fn), nullptr);
  const int64_t q[] = {1, 8, 16, 64}, k[] = {1, 2, 16, 64}, v[] = {1, 2, 15, 64};
  tmixrt_tensor *args[3] = {};
  ASSERT_EQ(tmixrt_tensor_create(TMIXRT_F32, 4, q, &args[0]), nullptr);
  ASSERT_EQ(tmixrt_tensor_create(TMIXRT_F32, 4, k, &args[1]), nullptr);
  ASSERT_EQ(tmixrt_tensor_create(TMIXRT_F32, 4, v, &args[2]), nullptr);
  tmixrt_tensor *result = nullptr;
  tmixrt_status status = tmixrt_function_invoke(fn, args, 3, &result, 1);
  ASSERT_NE(status, nullptr);
  EXPECT_NE(std::string(tmixrt_status_message(status))
                .find("must equal dimension 2 of argument 1"),
            std::string::npos)
      << tmixrt_status_message(status);
  EXPECT_EQ(result, nullptr);
  tmixrt_status_free(status);
  for (tmixrt_tensor *t : args)
    tmixrt_tensor_release(t);
}

} // namespace
