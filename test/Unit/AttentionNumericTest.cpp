//===- AttentionNumericTest.cpp - numbers of the compiled mixer.attention -===//
//
// Builds mixer.attention through the C++ API, compiles it with each lowering
// (tmix-reference-pipeline: the unfused decomposition; tmix-cpu-pipeline:
// flash-style tiles, with tiny odd tiles, with the default tiles on all
// cores (register-tiled and vectorized, with partial register tiles at the
// edges), without mask-bounded loops, and without vectorization) and compares every output and lse
// against the double-precision reference of test/Reference, over masks, GQA,
// L != S, odd head dims, biases, element types and dynamic shapes.
//
//===----------------------------------------------------------------------===//

#include "AttentionTestUtils.h"
#include "JitHarness.h"
#include "Reference/Attention.h"

#include "Mixer/IR/MixerOps.h"
#include "tmix/Pipelines/Pipelines.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Verifier.h"

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
  std::optional<std::array<int64_t, 4>> biasDims; // bias present when set
  Elt elt = Elt::F32;
  std::optional<float> scale;
  bool withLse = true;
  bool dynamic = false; // B, L and S dynamic in the signature
};

std::ostream &operator<<(std::ostream &os, const Case &c) { return os << c.name; }

/// func @attn(q, k, v, [bias], out: memref, [lse: memref]) writing the op's
/// results into the caller's buffers.
OwningOpRef<ModuleOp> buildModule(MLIRContext *ctx, const Case &c) {
  OpBuilder b(ctx);
  Location loc = b.getUnknownLoc();
  OwningOpRef<ModuleOp> module = ModuleOp::create(loc);
  b.setInsertionPointToEnd(module->getBody());
  Type elt = eltType(ctx, c.elt);
  const int64_t dyn = ShapedType::kDynamic;
  const auto &s = c.sh;
  int64_t B = c.dynamic ? dyn : s.B, L = c.dynamic ? dyn : s.L,
          S = c.dynamic ? dyn : s.S;
  SmallVector<Type> args = {
      RankedTensorType::get({B, s.Hq, L, s.D}, elt),
      RankedTensorType::get({B, s.Hkv, S, s.D}, elt),
      RankedTensorType::get({B, s.Hkv, S, s.Dv}, elt)};
  if (c.biasDims)
    args.push_back(RankedTensorType::get(*c.biasDims, elt));
  args.push_back(MemRefType::get({B, s.Hq, L, s.Dv}, elt));
  if (c.withLse)
    args.push_back(MemRefType::get({B, s.Hq, L}, b.getF32Type()));
  auto func = func::FuncOp::create(b, loc, "attn", b.getFunctionType(args, {}));
  func->setAttr(LLVM::LLVMDialect::getEmitCWrapperAttrName(), b.getUnitAttr());
  Block *body = func.addEntryBlock();
  b.setInsertionPointToEnd(body);
  Value bias = c.biasDims ? body->getArgument(3) : Value();
  unsigned outIdx = c.biasDims ? 4 : 3;
  auto op = mixer::AttentionOp::create(
      b, loc, body->getArgument(0), body->getArgument(1), body->getArgument(2),
      bias, c.mask.kind == ref::MaskKind::None ? mixer::MaskAttr()
                                               : toAttr(ctx, c.mask),
      c.scale, c.withLse);
  auto store = [&](Value result, Value dest) {
    auto m = bufferization::MaterializeInDestinationOp::create(b, loc, result,
                                                               dest);
    m.setRestrict(true);
    m.setWritable(true);
  };
  store(op.getOutput(), body->getArgument(outIdx));
  if (c.withLse)
    store(op.getLse(), body->getArgument(outIdx + 1));
  func::ReturnOp::create(b, loc);
  return module;
}

/// Runs the compiled `attn` of `engine` on random inputs of shape `sh` and
/// compares with the reference.
void runAndCompare(ExecutionEngine &engine, const Case &c,
                   const ref::AttentionShape &sh, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  bool half = c.elt != Elt::F32, bf16 = c.elt == Elt::BF16;
  auto count = [](std::array<int64_t, 4> d) { return d[0] * d[1] * d[2] * d[3]; };
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

  // Random values, rounded to the element type; the reference sees exactly
  // what the kernel sees.
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
  std::vector<float> qf = random(count(qShape), qd), kf = random(count(kShape), kd),
                     vf = random(count(vShape), vd);
  std::vector<float> bf;
  if (c.biasDims)
    bf = random(count(biasShape), bd);

  test::Buffer<float, 4> q32(qShape), k32(kShape), v32(vShape), b32(biasShape),
      o32(oShape);
  test::Buffer<uint16_t, 4> q16(qShape), k16(kShape), v16(vShape),
      b16(biasShape), o16(oShape);
  test::Buffer<float, 3> lse({sh.B, sh.Hq, sh.L});
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
  auto add = [&](void *desc) { ptrs.push_back(desc); };
  add(half ? (void *)&q16.desc : (void *)&q32.desc);
  add(half ? (void *)&k16.desc : (void *)&k32.desc);
  add(half ? (void *)&v16.desc : (void *)&v32.desc);
  if (c.biasDims)
    add(half ? (void *)&b16.desc : (void *)&b32.desc);
  add(half ? (void *)&o16.desc : (void *)&o32.desc);
  if (c.withLse)
    add(&lse.desc);
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
    EXPECT_NEAR(lse.data[i], refLse[i], 1e-4) << "lse[" << i << "]";
  }
}

/// The lowerings under test.
enum class Lowering {
  Reference,
  TiledOddSerial,
  TiledParallel,
  TiledUnbounded,
  TiledScalar
};

const char *name(Lowering l) {
  switch (l) {
  case Lowering::Reference:
    return "reference";
  case Lowering::TiledOddSerial:
    return "tiled_q3_k5_serial";
  case Lowering::TiledParallel:
    return "tiled_default_parallel";
  case Lowering::TiledUnbounded:
    return "tiled_q4_k4_unbounded";
  case Lowering::TiledScalar:
    return "tiled_q8_k24_not_vectorized";
  }
  return "";
}

void buildPipeline(OpPassManager &pm, Lowering l) {
  if (l == Lowering::Reference)
    return tmix::buildReferencePipeline(pm);
  tmix::CPUPipelineOptions options;
  if (l == Lowering::TiledOddSerial) {
    options.queryTile = 3;
    options.keyTile = 5;
    options.parallel = false;
  } else if (l == Lowering::TiledUnbounded) {
    options.queryTile = 4;
    options.keyTile = 4;
    options.skipMaskedTiles = false;
  } else if (l == Lowering::TiledScalar) {
    options.queryTile = 8;
    options.keyTile = 24;
    options.vectorize = false;
  }
  tmix::buildCPUPipeline(pm, options);
}

const Lowering kLowerings[] = {Lowering::Reference, Lowering::TiledOddSerial,
                               Lowering::TiledParallel, Lowering::TiledUnbounded,
                               Lowering::TiledScalar};

std::unique_ptr<ExecutionEngine> compile(ModuleOp module, Lowering l,
                                         std::string &error) {
  return test::compileWithPipeline(
      module, [&](OpPassManager &pm) { buildPipeline(pm, l); }, error);
}

class AttentionNumeric
    : public ::testing::TestWithParam<std::tuple<Case, Lowering>> {};

TEST_P(AttentionNumeric, MatchesReference) {
  const auto &[c, lowering] = GetParam();
  auto ctx = test::makeContext();
  OwningOpRef<ModuleOp> module = buildModule(ctx.get(), c);
  ASSERT_TRUE(succeeded(verify(*module)));
  std::string error;
  auto engine = compile(*module, lowering, error);
  ASSERT_TRUE(engine) << error;
  runAndCompare(*engine, c, c.sh, 1234);
}

std::vector<Case> cases() {
  using K = ref::MaskKind;
  const ref::Mask masks[] = {
      {K::None},
      {K::Causal},
      {K::Window, /*left=*/3, /*right=*/1},
      {K::Window, /*left=*/0, /*right=*/0},
      {K::BlockLocal, 0, 0, /*block=*/4},
      {K::Dilated, 0, 0, 0, /*width=*/3, /*dilation=*/2},
      {K::GlobalLocal, /*left=*/2, /*right=*/1, 0, 0, 0, /*global=*/2},
  };
  const char *maskNames[] = {"none",  "causal",  "window",      "diag",
                             "block", "dilated", "global_local"};
  struct Shape {
    const char *name;
    ref::AttentionShape sh;
  };
  const Shape shapes[] = {
      {"mha_7x7", {1, 2, 2, 7, 7, 8, 8}},
      {"gqa4_L5_S9", {2, 4, 1, 5, 9, 16, 8}},   // L < S: right-aligned
      {"gqa2_L9_S5", {1, 4, 2, 9, 5, 8, 12}},   // L > S: masked rows
      {"decode_L1_S13", {1, 8, 2, 1, 13, 32, 32}},
      {"d80_L33_S17", {1, 2, 1, 33, 17, 80, 80}},
  };
  std::vector<Case> out;
  for (size_t m = 0; m < std::size(masks); ++m)
    for (const Shape &s : shapes) {
      Case c;
      c.name = std::string(maskNames[m]) + "_" + s.name;
      c.sh = s.sh;
      c.mask = masks[m];
      out.push_back(c);
    }
  // Bias: full, broadcast over batch and heads, per-key, per-row; an
  // explicit scale.
  Case full{"bias_full", {2, 4, 2, 6, 11, 16, 16}, {K::Causal}};
  full.biasDims = std::array<int64_t, 4>{2, 4, 6, 11};
  out.push_back(full);
  Case bcast{"bias_broadcast_LS", {2, 4, 2, 6, 11, 16, 16}, {K::None}};
  bcast.biasDims = std::array<int64_t, 4>{1, 1, 6, 11};
  bcast.scale = 0.3f;
  out.push_back(bcast);
  Case perKey{"bias_per_key_window", {1, 2, 1, 9, 9, 8, 8},
              {K::Window, 2, 2}};
  perKey.biasDims = std::array<int64_t, 4>{1, 1, 1, 9};
  out.push_back(perKey);
  // The same for every key of a row: the tiled lowerings pad the last keys
  // of a row with a generated bias (-inf on the padding keys).
  Case perRow{"bias_per_row_causal", {2, 4, 2, 6, 11, 16, 16}, {K::Causal}};
  perRow.biasDims = std::array<int64_t, 4>{1, 4, 6, 1};
  out.push_back(perRow);
  Case noLse{"no_lse_causal", {1, 2, 2, 5, 5, 8, 8}, {K::Causal}};
  noLse.withLse = false;
  out.push_back(noLse);
  // Half precision: f32 accumulation, rounded output.
  for (Elt e : {Elt::F16, Elt::BF16}) {
    const char *n = e == Elt::F16 ? "f16" : "bf16";
    Case h{std::string(n) + "_gqa_causal", {1, 4, 2, 9, 12, 16, 16},
           {K::Causal}};
    h.elt = e;
    out.push_back(h);
    Case hb{std::string(n) + "_bias_window", {1, 2, 1, 7, 7, 80, 80},
            {K::Window, 2, 0}};
    hb.elt = e;
    hb.biasDims = std::array<int64_t, 4>{1, 2, 7, 7};
    out.push_back(hb);
  }
  return out;
}

INSTANTIATE_TEST_SUITE_P(
    Matrix, AttentionNumeric,
    ::testing::Combine(::testing::ValuesIn(cases()),
                       ::testing::ValuesIn(kLowerings)),
    [](const auto &info) {
      return std::get<0>(info.param).name + "_" +
             name(std::get<1>(info.param));
    });

// One compiled function with dynamic B, L and S, run at several lengths.
class AttentionDynamic : public ::testing::TestWithParam<Lowering> {};

TEST_P(AttentionDynamic, OneFunctionManyLengths) {
  Case c{"dynamic", {1, 4, 2, 1, 1, 16, 8}, {ref::MaskKind::Window, 5, 2}};
  c.dynamic = true;
  auto ctx = test::makeContext();
  OwningOpRef<ModuleOp> module = buildModule(ctx.get(), c);
  ASSERT_TRUE(succeeded(verify(*module)));
  std::string error;
  auto engine = compile(*module, GetParam(), error);
  ASSERT_TRUE(engine) << error;
  const ref::AttentionShape runs[] = {{1, 4, 2, 1, 1, 16, 8},
                                      {2, 4, 2, 7, 13, 16, 8},
                                      {3, 4, 2, 20, 5, 16, 8},
                                      {1, 4, 2, 64, 64, 16, 8}};
  unsigned seed = 7;
  for (const auto &sh : runs) {
    SCOPED_TRACE("B=" + std::to_string(sh.B) + " L=" + std::to_string(sh.L) +
                 " S=" + std::to_string(sh.S));
    runAndCompare(*engine, c, sh, seed++);
  }
}

INSTANTIATE_TEST_SUITE_P(Lowerings, AttentionDynamic,
                         ::testing::ValuesIn(kLowerings),
                         [](const auto &info) { return name(info.param); });

} // namespace
