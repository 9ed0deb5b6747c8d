//===- GpuAttentionCpuTest.cpp - the GPU kernel's algorithm, run on the CPU
//===//
//
// tmix-gpu-pipeline cannot run here (no GPU), but everything before its
// tensor-core and launch rewrites can: tmix-gpu-emulation-pipeline maps
// mixer.attention to the same block/thread loop nest (same tiles, same mask
// bounds, same mma fragment layout, same phases, same shared and per-thread
// buffers) and runs each block's threads as loops. This test JIT-compiles
// that form and compares every output and lse with the double-precision
// reference of test/Reference, over masks, GQA, odd lengths, head dims,
// element types, bias, and several block schedules.
//
//===----------------------------------------------------------------------===//

#include "AttentionTestUtils.h"
#include "JitHarness.h"
#include "Reference/Attention.h"

#include "Mixer/IR/MixerOps.h"
#include "Mixer/Transforms/Passes.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"
#include "tmix/Pipelines/Pipelines.h"
#include "llvm/Support/FormatVariadic.h"

#include "gtest/gtest.h"

#include <cmath>
#include <optional>
#include <random>

using namespace mlir;
using namespace tmix;

namespace {

using test::Elt;
using test::eltType;
using test::tolerance;
using test::toAttr;

struct Case {
  std::string name;
  ref::AttentionShape sh;
  ref::Mask mask;
  Elt elt = Elt::F32;
  std::optional<std::array<int64_t, 4>> biasDims; // bias present when set
  bool withLse = true;
  std::optional<float> scale;
};

/// Block schedules: the pipeline's automatic choice, small tiles (many
/// blocks, partial key blocks), and every key block visited with the mask
/// evaluated everywhere (no mask-bounded loops).
struct Schedule {
  const char *name;
  int64_t queryTile, keyTile;
  bool skipMaskedTiles;
};
const Schedule kSchedules[] = {
    {"auto", 0, 0, true},
    {"q16_k16", 16, 16, true},
    {"auto_k32_unbounded", 0, 32, false},
};

std::ostream &operator<<(std::ostream &os, const Schedule &s) {
  return os << s.name;
}

std::ostream &operator<<(std::ostream &os, const Case &c) {
  return os << c.name;
}

/// func @attn(q, k, v, [bias], out: memref, [lse: memref]) writing the
/// results into the caller's buffers; B, L and S dynamic.
OwningOpRef<ModuleOp> buildModule(MLIRContext *ctx, const Case &c) {
  OpBuilder b(ctx);
  Location loc = b.getUnknownLoc();
  OwningOpRef<ModuleOp> module = ModuleOp::create(loc);
  b.setInsertionPointToEnd(module->getBody());
  Type elt = eltType(ctx, c.elt);
  const int64_t dyn = ShapedType::kDynamic;
  const auto &s = c.sh;
  SmallVector<Type> args = {
      RankedTensorType::get({dyn, s.Hq, dyn, s.D}, elt),
      RankedTensorType::get({dyn, s.Hkv, dyn, s.D}, elt),
      RankedTensorType::get({dyn, s.Hkv, dyn, s.Dv}, elt)};
  if (c.biasDims) {
    SmallVector<int64_t> dims;
    for (int64_t d : *c.biasDims)
      dims.push_back(d == 1 ? 1 : dyn);
    // Static head dim when not broadcast (the verifier wants Hq there).
    if ((*c.biasDims)[1] != 1)
      dims[1] = s.Hq;
    args.push_back(RankedTensorType::get(dims, elt));
  }
  args.push_back(MemRefType::get({dyn, s.Hq, dyn, s.Dv}, elt));
  if (c.withLse)
    args.push_back(MemRefType::get({dyn, s.Hq, dyn}, b.getF32Type()));
  auto func = func::FuncOp::create(b, loc, "attn", b.getFunctionType(args, {}));
  func->setAttr(LLVM::LLVMDialect::getEmitCWrapperAttrName(), b.getUnitAttr());
  Block *body = func.addEntryBlock();
  b.setInsertionPointToEnd(body);
  Value bias = c.biasDims ? body->getArgument(3) : Value();
  unsigned outIdx = c.biasDims ? 4 : 3;
  auto op = mixer::AttentionOp::create(
      b, loc, body->getArgument(0), body->getArgument(1), body->getArgument(2),
      bias,
      c.mask.kind == ref::MaskKind::None ? mixer::MaskAttr()
                                         : toAttr(ctx, c.mask),
      c.scale, c.withLse);
  auto store = [&](Value result, Value dest) {
    auto m =
        bufferization::MaterializeInDestinationOp::create(b, loc, result, dest);
    m.setRestrict(true);
    m.setWritable(true);
  };
  store(op.getOutput(), body->getArgument(outIdx));
  if (c.withLse)
    store(op.getLse(), body->getArgument(outIdx + 1));
  func::ReturnOp::create(b, loc);
  return module;
}

void runAndCompare(ExecutionEngine &engine, const Case &c, unsigned seed) {
  const ref::AttentionShape &sh = c.sh;
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  bool half = c.elt != Elt::F32, bf16 = c.elt == Elt::BF16;
  auto count = [](std::array<int64_t, 4> d) {
    return d[0] * d[1] * d[2] * d[3];
  };
  std::array<int64_t, 4> qShape = {sh.B, sh.Hq, sh.L, sh.D},
                         kShape = {sh.B, sh.Hkv, sh.S, sh.D},
                         vShape = {sh.B, sh.Hkv, sh.S, sh.Dv},
                         oShape = {sh.B, sh.Hq, sh.L, sh.Dv};
  std::array<int64_t, 4> biasShape = {1, 1, 1, 1};
  if (c.biasDims)
    for (int i = 0; i < 4; ++i)
      biasShape[i] = (*c.biasDims)[i] == 1
                         ? 1
                         : std::array<int64_t, 4>{sh.B, sh.Hq, sh.L, sh.S}[i];
  // Values rounded to the element type: the reference sees what the kernel
  // sees.
  auto random = [&](int64_t n, std::vector<double> &exact) {
    std::vector<float> f(n);
    exact.resize(n);
    for (int64_t i = 0; i < n; ++i) {
      f[i] = dist(rng);
      if (half)
        f[i] = test::fromHalfBits(test::toHalfBits(f[i], bf16), bf16);
      exact[i] = f[i];
    }
    return f;
  };
  std::vector<double> qd, kd, vd, bd;
  std::vector<float> qf = random(count(qShape), qd),
                     kf = random(count(kShape), kd),
                     vf = random(count(vShape), vd), bf;
  if (c.biasDims)
    bf = random(count(biasShape), bd);

  test::Buffer<float, 4> q32(qShape), k32(kShape), v32(vShape), b32(biasShape),
      o32(oShape);
  test::Buffer<uint16_t, 4> q16(qShape), k16(kShape), v16(vShape),
      b16(biasShape), o16(oShape);
  test::Buffer<float, 3> lse({sh.B, sh.Hq, sh.L});
  // Poison the outputs: every element must be written.
  std::fill(o32.data.begin(), o32.data.end(), std::nanf(""));
  std::fill(o16.data.begin(), o16.data.end(), uint16_t(0x7fff));
  std::fill(lse.data.begin(), lse.data.end(), std::nanf(""));
  auto fill = [&](const std::vector<float> &src, test::Buffer<float, 4> &f,
                  test::Buffer<uint16_t, 4> &h) {
    for (size_t i = 0; i < src.size(); ++i) {
      f.data[i] = src[i];
      h.data[i] = test::toHalfBits(src[i], bf16);
    }
  };
  fill(qf, q32, q16);
  fill(kf, k32, k16);
  fill(vf, v32, v16);
  if (c.biasDims)
    fill(bf, b32, b16);

  std::vector<void *> ptrs;
  auto pick = [&](auto &b32v, auto &b16v) -> void * {
    return half ? (void *)&b16v.desc : (void *)&b32v.desc;
  };
  ptrs.push_back(pick(q32, q16));
  ptrs.push_back(pick(k32, k16));
  ptrs.push_back(pick(v32, v16));
  if (c.biasDims)
    ptrs.push_back(pick(b32, b16));
  ptrs.push_back(pick(o32, o16));
  if (c.withLse)
    ptrs.push_back(&lse.desc);
  std::vector<void *> packed;
  for (void *&p : ptrs)
    packed.push_back(&p);
  llvm::Error err = engine.invokePacked("_mlir_ciface_attn", packed);
  ASSERT_FALSE(err) << llvm::toString(std::move(err));

  std::vector<double> refOut, refLse;
  double scale = c.scale ? *c.scale : 1.0 / std::sqrt(double(sh.D));
  ref::attention(sh, qd, kd, vd, bd, biasShape, scale, c.mask, refOut, refLse);

  double tol = tolerance(c.elt), maxErr = 0;
  for (size_t i = 0; i < refOut.size(); ++i) {
    double got = half ? test::fromHalfBits(o16.data[i], bf16) : o32.data[i];
    ASSERT_TRUE(std::isfinite(got)) << "output[" << i << "] = " << got;
    maxErr = std::max(maxErr, std::abs(got - refOut[i]));
  }
  EXPECT_LE(maxErr, tol) << "output max abs error";
  if (!c.withLse)
    return;
  for (size_t i = 0; i < refLse.size(); ++i) {
    if (std::isinf(refLse[i])) {
      EXPECT_TRUE(std::isinf(lse.data[i]) && lse.data[i] < 0)
          << "lse[" << i << "] = " << lse.data[i] << ", expected -inf";
      continue;
    }
    ASSERT_NEAR(lse.data[i], refLse[i], 1e-4) << "lse[" << i << "]";
  }
}

std::vector<Case> cases() {
  using K = ref::MaskKind;
  std::vector<Case> out;
  const ref::Mask full{K::None}, causal{K::Causal}, window{K::Window, 40, 7};
  // The brief's matrix: masks x GQA 8/2 x L = S = 333 x D = 64, 80.
  for (auto [mname, m] : {std::pair{"full", full}, std::pair{"causal", causal},
                          std::pair{"window", window}})
    for (int64_t d : {64, 80})
      out.push_back({std::string(mname) + "_gqa8x2_L333_D" + std::to_string(d),
                     {1, 8, 2, 333, 333, d, d},
                     m});
  // Other masks, L != S (right-aligned queries; rows past S see nothing),
  // batch > 1, MHA and MQA, a tiny decode step.
  out.push_back({"block_L37_S50",
                 {2, 4, 4, 37, 50, 16, 16},
                 {K::BlockLocal, 0, 0, /*block=*/8}});
  out.push_back({"dilated_L29_S29",
                 {1, 2, 1, 29, 29, 32, 24},
                 {K::Dilated, 0, 0, 0, /*width=*/4, /*dilation=*/3}});
  out.push_back({"global_local_L45_S45",
                 {1, 4, 2, 45, 45, 16, 8},
                 {K::GlobalLocal, /*left=*/3, /*right=*/2, 0, 0, 0,
                  /*global=*/5}});
  out.push_back(
      {"causal_L40_S23_masked_rows", {1, 4, 2, 40, 23, 16, 16}, causal});
  out.push_back({"window_L7_S61", {2, 8, 1, 7, 61, 16, 16}, {K::Window, 9, 0}});
  out.push_back({"decode_L1_S77", {1, 8, 2, 1, 77, 64, 64}, causal});
  // Half precision (f32 accumulation).
  for (Elt e : {Elt::F16, Elt::BF16}) {
    std::string n = e == Elt::F16 ? "f16" : "bf16";
    Case h{n + "_causal_gqa8x2_L97_D64", {1, 8, 2, 97, 97, 64, 64}, causal, e};
    out.push_back(h);
    Case w{n + "_window_L70_D80",
           {1, 2, 1, 70, 70, 80, 80},
           {K::Window, 20, 3},
           e};
    out.push_back(w);
  }
  // Wide heads: an MQA decode step with D = 128, and D = 72 (the score
  // product's depth is not a multiple of 16: scalar on the GPU too).
  out.push_back(
      {"f16_mqa_decode_D128", {3, 8, 1, 1, 200, 128, 128}, causal, Elt::F16});
  out.push_back({"f16_dilated_D72",
                 {2, 2, 2, 77, 77, 72, 72},
                 {K::Dilated, 0, 0, 0, /*width=*/4, /*dilation=*/2},
                 Elt::F16});
  // Bias (full, broadcast, per key), an explicit scale, no lse.
  Case bias{"bias_full_causal", {2, 4, 2, 19, 27, 16, 16}, causal};
  bias.biasDims = std::array<int64_t, 4>{2, 4, 19, 27};
  out.push_back(bias);
  Case bcast{"bias_per_key_scale", {1, 4, 1, 21, 21, 32, 32}, full};
  bcast.biasDims = std::array<int64_t, 4>{1, 1, 1, 21};
  bcast.scale = 0.3f;
  out.push_back(bcast);
  Case biasH{"bias_bf16_window",
             {1, 2, 2, 33, 33, 16, 16},
             {K::Window, 4, 4},
             Elt::BF16};
  biasH.biasDims = std::array<int64_t, 4>{1, 2, 33, 33};
  out.push_back(biasH);
  Case noLse{"no_lse_causal", {1, 2, 1, 17, 17, 16, 16}, causal};
  noLse.withLse = false;
  out.push_back(noLse);
  return out;
}

class GpuAttentionCpu
    : public ::testing::TestWithParam<std::tuple<Case, Schedule>> {};

TEST_P(GpuAttentionCpu, MatchesReference) {
  const Case &c = std::get<0>(GetParam());
  const Schedule &sched = std::get<1>(GetParam());
  auto ctx = test::makeContext();
  OwningOpRef<ModuleOp> module = buildModule(ctx.get(), c);
  ASSERT_TRUE(succeeded(verify(*module)));
  std::string error;
  auto engine = test::compileWithPipeline(
      *module,
      [&](OpPassManager &pm) {
        GPUPipelineOptions options;
        options.queryTile = sched.queryTile;
        options.keyTile = sched.keyTile;
        options.skipMaskedTiles = sched.skipMaskedTiles;
        buildGpuEmulationPipeline(pm, options);
      },
      error);
  ASSERT_TRUE(engine) << error;
  runAndCompare(*engine, c, 4321);
}

INSTANTIATE_TEST_SUITE_P(Matrix, GpuAttentionCpu,
                         ::testing::Combine(::testing::ValuesIn(cases()),
                                            ::testing::ValuesIn(kSchedules)),
                         [](const auto &info) {
                           return std::get<0>(info.param).name + "_" +
                                  std::get<1>(info.param).name;
                         });

/// The mapping refuses what it cannot schedule with a diagnostic (and the
/// pipeline fails without touching the module further).
TEST(GpuAttentionCpuErrors, ValueDimNotMultipleOf8) {
  auto ctx = test::makeContext();
  Case c{"dv12", {1, 2, 1, 8, 8, 16, 12}, {ref::MaskKind::None}};
  OwningOpRef<ModuleOp> module = buildModule(ctx.get(), c);
  std::string error;
  auto engine = test::compileWithPipeline(
      *module,
      [&](OpPassManager &pm) {
        buildGpuEmulationPipeline(pm, GPUPipelineOptions());
      },
      error);
  EXPECT_FALSE(engine);
  EXPECT_NE(error.find("Dv = 12 must be a multiple of 8"), std::string::npos)
      << error;
}

/// The lanes' fragments of mixer-gpu-tensor-cores, against the operand
/// layout of PTX's mma.m16n8k16 (PTX ISA, "Matrix Fragments for mma.m16n8k16
/// with floating point type"). Tensor cores cannot run here, so each
/// nvgpu.mma.sync of the rewritten fragment product is replaced by stores of
/// the lane's A and B fragments into a record; every lane of a warp runs on
/// the CPU; the recorded registers must hold exactly the matrix elements the
/// PTX tables assign to that lane and register. Covers both operand forms
/// (Kᵀ for the scores, V for P·V), two k steps and a column offset n0.
class GpuTensorCoreLayout : public ::testing::TestWithParam<bool> {};

TEST_P(GpuTensorCoreLayout, LaneFragmentsFollowPtx) {
  const bool transposeB = GetParam();
  constexpr int64_t kSteps = 2, kN0 = 8;
  // A [16 x 32]; B is K [16 keys x 32 dims] (read transposed) or
  // V [32 keys x 16 columns].
  const char *bType = transposeB ? "memref<16x32xf16>" : "memref<32x16xf16>";
  std::string text = llvm::formatv(
      R"mlir(
func.func @lane(%a: memref<16x32xf16>, %b: {0}, %tid: index, %rec: memref<32x{2}x12xf32>) attributes {{llvm.emit_c_interface} {{
  %n0 = arith.constant {3} : index
  %z = arith.constant dense<0.0> : vector<4xf32>
  %r = func.call @frag(%a, %b, %tid, %n0, %z) : (memref<16x32xf16>, {0}, index, index, vector<4xf32>) -> vector<4xf32>
  return
}
func.func private @frag(%a: memref<16x32xf16>, %b: {0}, %tid: index, %n0: index, %c: vector<4xf32>) -> vector<4xf32> attributes {{tmix.mma_fragment = {{transpose_b = {1}}} {{
  return %c : vector<4xf32>
}
)mlir",
      bType, transposeB ? "true" : "false", kSteps, kN0);
  auto ctx = test::makeContext();
  OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(text, ctx.get());
  ASSERT_TRUE(module);
  PassManager pm(ctx.get());
  pm.addPass(mixer::createGpuTensorCoresPass());
  ASSERT_TRUE(succeeded(pm.run(*module)));

  // Each mma step s records lane (tid % 32)'s a0..a7 and b0..b3.
  auto lane = module->lookupSymbol<func::FuncOp>("lane");
  SmallVector<nvgpu::MmaSyncOp> steps;
  lane.walk([&](nvgpu::MmaSyncOp op) { steps.push_back(op); });
  ASSERT_EQ(steps.size(), static_cast<size_t>(kSteps));
  Value tid = lane.getArgument(2), rec = lane.getArgument(3);
  for (int64_t s = 0; s < kSteps; ++s) {
    nvgpu::MmaSyncOp op = steps[s];
    OpBuilder b(op);
    Location loc = op.getLoc();
    auto idx = [&](int64_t v) -> Value {
      return arith::ConstantIndexOp::create(b, loc, v);
    };
    Value l = arith::RemUIOp::create(b, loc, tid, idx(32));
    auto record = [&](Value frag, int64_t rows, int64_t first) {
      for (int64_t i = 0; i < rows; ++i)
        for (int64_t j = 0; j < 2; ++j) {
          Value x =
              vector::ExtractOp::create(b, loc, frag, ArrayRef<int64_t>{i, j});
          Value f = arith::ExtFOp::create(b, loc, b.getF32Type(), x);
          memref::StoreOp::create(b, loc, f, rec,
                                  ValueRange{l, idx(static_cast<int64_t>(s)),
                                             idx(first + 2 * i + j)});
        }
    };
    record(op.getMatrixA(), 4, 0);
    record(op.getMatrixB(), 2, 8);
    op.getResult().replaceAllUsesWith(op.getMatrixC());
    op.erase();
  }
  std::string error;
  auto engine = test::compileWithPipeline(
      *module,
      [&](OpPassManager &p) {
        buildGpuEmulationPipeline(p, GPUPipelineOptions());
      },
      error);
  ASSERT_TRUE(engine) << error;

  // Distinct small integers (exact in f16): A[r][k] = 32 r + k, B from 512.
  test::Buffer<uint16_t, 2> a({16, 32});
  test::Buffer<uint16_t, 2> bm(transposeB ? std::array<int64_t, 2>{16, 32}
                                          : std::array<int64_t, 2>{32, 16});
  for (size_t i = 0; i < a.data.size(); ++i)
    a.data[i] = test::toHalfBits(static_cast<float>(i), false);
  for (size_t i = 0; i < bm.data.size(); ++i)
    bm.data[i] = test::toHalfBits(static_cast<float>(512 + i), false);
  test::Buffer<float, 3> recB({32, kSteps, 12});
  std::fill(recB.data.begin(), recB.data.end(), -1.0f);
  for (int64_t t = 0; t < 32; ++t) {
    void *pa = &a.desc, *pb = &bm.desc, *pr = &recB.desc;
    int64_t tidV = t;
    void *args[] = {&pa, &pb, &tidV, &pr};
    llvm::Error err = engine->invokePacked("_mlir_ciface_lane", args);
    ASSERT_FALSE(err) << llvm::toString(std::move(err));
  }

  // The PTX tables. groupID = lane >> 2, threadID_in_group = lane % 4.
  //  A: row = groupID for a0, a1, a4, a5 and groupID + 8 for a2, a3, a6, a7;
  //     col = threadID_in_group * 2 + (i & 1), + 8 for i >= 4.
  //  B: row (k) = threadID_in_group * 2 + (i & 1), + 8 for i >= 2;
  //     col (n) = groupID.
  auto aValue = [&](int64_t r, int64_t k) { return float(32 * r + k); };
  auto bValue = [&](int64_t k, int64_t n) {
    return transposeB ? float(512 + 32 * (kN0 + n) + k)
                      : float(512 + 16 * k + (kN0 + n));
  };
  for (int64_t s = 0; s < kSteps; ++s) {
    std::vector<int> seenA(16 * 16, 0), seenB(16 * 8, 0);
    for (int64_t ln = 0; ln < 32; ++ln) {
      int64_t group = ln >> 2, inGroup = ln % 4;
      auto at = [&](int64_t reg) {
        return recB.data[(ln * kSteps + s) * 12 + reg];
      };
      for (int64_t i = 0; i < 8; ++i) {
        bool upper = i == 2 || i == 3 || i == 6 || i == 7;
        int64_t row = upper ? group + 8 : group;
        int64_t col = inGroup * 2 + (i & 1) + (i >= 4 ? 8 : 0);
        EXPECT_EQ(at(i), aValue(row, 16 * s + col))
            << "step " << s << " lane " << ln << " a" << i;
        ++seenA[row * 16 + col];
      }
      for (int64_t i = 0; i < 4; ++i) {
        int64_t k = inGroup * 2 + (i & 1) + (i >= 2 ? 8 : 0);
        EXPECT_EQ(at(8 + i), bValue(16 * s + k, group))
            << "step " << s << " lane " << ln << " b" << i;
        ++seenB[k * 8 + group];
      }
    }
    // Each element of the 16x16 A and 16x8 B tiles is held exactly once.
    for (int v : seenA)
      EXPECT_EQ(v, 1);
    for (int v : seenB)
      EXPECT_EQ(v, 1);
  }
}

INSTANTIATE_TEST_SUITE_P(Operands, GpuTensorCoreLayout, ::testing::Bool(),
                         [](const auto &info) {
                           return info.param ? "scores_k_transposed"
                                             : "values_v";
                         });

} // namespace
