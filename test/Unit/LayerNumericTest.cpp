//===- LayerNumericTest.cpp - numbers of the compiled MetaFormer ops ------===//
//
// Compiles each MetaFormer op of the mixer dialect (on odd shapes: 13×11 and
// 7×5 maps, channel counts that are not multiples of 16, a batch of 2,
// rank-1..4 inputs) with every lowering, runs it on seeded random inputs and
// compares with the double-precision reference of test/Reference/MetaFormer.
//
//===----------------------------------------------------------------------===//

#include "JitHarness.h"
#include "Reference/MetaFormer.h"
#include "tmix/Pipelines/Pipelines.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Parser/Parser.h"
#include "llvm/Support/FormatVariadic.h"

#include "gtest/gtest.h"

#include <cmath>
#include <cstring>
#include <functional>
#include <random>

using namespace mlir;
using tmix::ref::Tensor;
namespace ref = tmix::ref;
namespace test = tmix::test;

namespace {
using Shape = std::vector<int64_t>;

std::string tensorType(const Shape &shape, bool dynamicBatch = false) {
  std::string s = "tensor<";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i == 0 && dynamicBatch ? std::string("?") : std::to_string(shape[i])) +
         "x";
  return s + "f32>";
}

/// One argument: its shape and the range its uniform random values come from.
struct Arg {
  Shape shape;
  double lo = -1.0, hi = 1.0;
};

struct LayerCase {
  std::string name;
  std::vector<Arg> args;
  Shape result;
  /// The function body: uses %a0, %a1, ... and defines %r.
  std::string body;
  std::function<Tensor(const std::vector<Tensor> &)> reference;
  /// Compile with a dynamic batch (dim 0 of %a0 and of the result) and run
  /// at these batch sizes; empty: static shapes.
  std::vector<int64_t> batches;
};

/// gtest prints a failing parameter with this instead of its bytes.
void PrintTo(const LayerCase &c, std::ostream *os) { *os << c.name; }

/// `T(shape)` for case bodies.
std::string T(const Shape &s) { return tensorType(s); }

std::string moduleText(const LayerCase &c) {
  bool dyn = !c.batches.empty();
  std::string sig;
  for (size_t i = 0; i < c.args.size(); ++i)
    sig += llvm::formatv("%a{0}: {1}, ", i,
                         tensorType(c.args[i].shape, dyn && i == 0))
               .str();
  std::string resultTensor = tensorType(c.result, dyn);
  std::string resultMemref =
      "memref" + resultTensor.substr(std::string("tensor").size());
  return llvm::formatv(R"mlir(
func.func @f({0}%out: {1}) attributes {{llvm.emit_c_interface} {{
  {2}
  bufferization.materialize_in_destination %r in restrict writable %out
      : ({3}, {1}) -> ()
  return
})mlir",
                       sig, resultMemref, c.body, resultTensor)
      .str();
}

enum class Lowering { Reference, Cpu, CpuSerialOddTiles };
const char *name(Lowering l);
void PrintTo(Lowering l, std::ostream *os) { *os << name(l); }

const char *name(Lowering l) {
  switch (l) {
  case Lowering::Reference:
    return "reference";
  case Lowering::Cpu:
    return "cpu";
  case Lowering::CpuSerialOddTiles:
    return "cpu_serial_q3_k5_scalar";
  }
  return "";
}

void buildPipeline(OpPassManager &pm, Lowering l) {
  if (l == Lowering::Reference)
    return tmix::buildReferencePipeline(pm);
  tmix::CPUPipelineOptions options;
  if (l == Lowering::CpuSerialOddTiles) {
    options.queryTile = 3;
    options.keyTile = 5;
    options.parallel = false;
    options.vectorize = false;
  }
  tmix::buildCPUPipeline(pm, options);
}

/// A row-major f32 buffer with a memref descriptor of any rank:
/// {allocated, aligned, offset, sizes[rank], strides[rank]}.
struct DynBuffer {
  std::vector<float> data;
  std::vector<int64_t> desc;
  explicit DynBuffer(const Shape &shape) {
    data.assign(static_cast<size_t>(Tensor::elementCount(shape)), 0.0f);
    size_t rank = shape.size();
    desc.assign(3 + 2 * rank, 0);
    void *ptr = data.data();
    std::memcpy(&desc[0], &ptr, sizeof(void *));
    std::memcpy(&desc[1], &ptr, sizeof(void *));
    int64_t stride = 1;
    for (size_t i = rank; i-- > 0;) {
      desc[3 + i] = shape[i];
      desc[3 + rank + i] = stride;
      stride *= shape[i];
    }
  }
};

void runAndCompare(ExecutionEngine &engine, const LayerCase &c,
                   int64_t batch, unsigned seed) {
  std::mt19937 rng(seed);
  std::vector<DynBuffer> buffers;
  std::vector<Tensor> inputs;
  for (size_t i = 0; i < c.args.size(); ++i) {
    Shape shape = c.args[i].shape;
    if (i == 0 && batch > 0)
      shape[0] = batch;
    std::uniform_real_distribution<float> dist(float(c.args[i].lo),
                                               float(c.args[i].hi));
    DynBuffer buffer(shape);
    Tensor t(shape);
    for (size_t j = 0; j < buffer.data.size(); ++j) {
      buffer.data[j] = dist(rng);
      t.data[j] = buffer.data[j];
    }
    buffers.push_back(std::move(buffer));
    inputs.push_back(std::move(t));
  }
  Shape resultShape = c.result;
  if (batch > 0)
    resultShape[0] = batch;
  DynBuffer out(resultShape);
  std::fill(out.data.begin(), out.data.end(), std::nanf(""));

  std::vector<void *> ptrs;
  for (DynBuffer &b : buffers)
    ptrs.push_back(b.desc.data());
  ptrs.push_back(out.desc.data());
  std::vector<void *> packed;
  for (void *&p : ptrs)
    packed.push_back(&p);
  llvm::Error err = engine.invokePacked("_mlir_ciface_f", packed);
  ASSERT_FALSE(err) << llvm::toString(std::move(err));

  Tensor expected = c.reference(inputs);
  ASSERT_EQ(expected.shape, resultShape) << "reference result shape";
  double scale = 1.0, maxErr = 0.0;
  size_t worst = 0;
  for (double v : expected.data)
    scale = std::max(scale, std::abs(v));
  for (size_t i = 0; i < expected.data.size(); ++i) {
    double got = out.data[i];
    ASSERT_TRUE(std::isfinite(got)) << "result[" << i << "] = " << got;
    double e = std::abs(got - expected.data[i]);
    if (e > maxErr) {
      maxErr = e;
      worst = i;
    }
  }
  // f32 storage and accumulation over at most a few thousand terms.
  EXPECT_LE(maxErr, 1e-4 * scale)
      << "max abs error at element " << worst << ": got " << out.data[worst]
      << ", expected " << expected.data[worst] << " (scale " << scale << ")";
}

double scalar(const Tensor &t) { return t.data.at(0); }

std::vector<LayerCase> cases() {
  std::vector<LayerCase> cs;
  const Shape map = {2, 13, 11, 20}, small = {1, 7, 5, 24};

  // Norms: GroupNorm(1) style (all but batch, no bias), per-token LN with
  // bias, a rank-3 input reduced over two axes.
  cs.push_back({"layer_norm_hwc", {{map}, {{20}, 0.5, 1.5}}, map,
                "%r = mixer.layer_norm %a0, %a1 {axes = array<i64: 1, 2, 3>, "
                "epsilon = 1.0e-06 : f64} : (" + T(map) + ", " + T({20}) +
                    ") -> " + T(map),
                [](const std::vector<Tensor> &in) {
                  return ref::layerNorm(in[0], {1, 2, 3}, in[1], nullptr, 1e-6);
                }});
  cs.push_back({"layer_norm_c_bias", {{{1, 7, 7, 80}, -3, 5}, {{80}}, {{80}}},
                {1, 7, 7, 80},
                "%r = mixer.layer_norm %a0, %a1, %a2 {axes = array<i64: 3>, "
                "epsilon = 1.0e-05 : f64} : (" + T({1, 7, 7, 80}) + ", " +
                    T({80}) + ", " + T({80}) + ") -> " + T({1, 7, 7, 80}),
                [](const std::vector<Tensor> &in) {
                  return ref::layerNorm(in[0], {3}, in[1], &in[2], 1e-5);
                }});
  cs.push_back({"layer_norm_rank3_dynamic_batch",
                {{{3, 5, 24}}, {{24}}},
                {3, 5, 24},
                "%r = mixer.layer_norm %a0, %a1 {axes = array<i64: 1, 2>, "
                "epsilon = 1.0e-06 : f64} : (tensor<?x5x24xf32>, " + T({24}) +
                    ") -> tensor<?x5x24xf32>",
                [](const std::vector<Tensor> &in) {
                  return ref::layerNorm(in[0], {1, 2}, in[1], nullptr, 1e-6);
                },
                {1, 3}});

  // Activations, over a range that covers erf's tails.
  const Shape act = {3, 37};
  cs.push_back({"gelu", {{act, -6, 6}}, act,
                "%r = mixer.gelu %a0 : (" + T(act) + ") -> " + T(act),
                [](const std::vector<Tensor> &in) { return ref::gelu(in[0]); }});
  cs.push_back({"squared_relu", {{act, -3, 3}}, act,
                "%r = mixer.squared_relu %a0 : (" + T(act) + ") -> " + T(act),
                [](const std::vector<Tensor> &in) {
                  return ref::squaredRelu(in[0]);
                }});
  cs.push_back({"star_relu", {{act, -3, 3}, {{1}, 0.5, 1.5}, {{1}, -0.5, 0.5}},
                act,
                "%r = mixer.star_relu %a0, %a1, %a2 : (" + T(act) + ", " +
                    T({1}) + ", " + T({1}) + ") -> " + T(act),
                [](const std::vector<Tensor> &in) {
                  return ref::starRelu(in[0], scalar(in[1]), scalar(in[2]));
                }});

  // Linear layers: a 1×1 conv weight with bias on a map, a rank-2 input, a
  // rank-1 input, a dynamic batch.
  cs.push_back({"linear_conv1x1_bias", {{map}, {{36, 20, 1, 1}}, {{36}}},
                {2, 13, 11, 36},
                "%r = mixer.linear %a0, %a1, %a2 : (" + T(map) + ", " +
                    T({36, 20, 1, 1}) + ", " + T({36}) + ") -> " +
                    T({2, 13, 11, 36}),
                [](const std::vector<Tensor> &in) {
                  return ref::linear(in[0], in[1], &in[2]);
                }});
  cs.push_back({"linear_rank2", {{{5, 80}}, {{33, 80}}}, {5, 33},
                "%r = mixer.linear %a0, %a1 : (" + T({5, 80}) + ", " +
                    T({33, 80}) + ") -> " + T({5, 33}),
                [](const std::vector<Tensor> &in) {
                  return ref::linear(in[0], in[1], nullptr);
                }});
  cs.push_back({"linear_rank1", {{{80}}, {{17, 80}}, {{17}}}, {17},
                "%r = mixer.linear %a0, %a1, %a2 : (" + T({80}) + ", " +
                    T({17, 80}) + ", " + T({17}) + ") -> " + T({17}),
                [](const std::vector<Tensor> &in) {
                  return ref::linear(in[0], in[1], &in[2]);
                }});
  cs.push_back({"linear_dynamic_batch", {{{2, 9, 24}}, {{40, 24}}, {{40}}},
                {2, 9, 40},
                "%r = mixer.linear %a0, %a1, %a2 : (tensor<?x9x24xf32>, " +
                    T({40, 24}) + ", " + T({40}) + ") -> tensor<?x9x40xf32>",
                [](const std::vector<Tensor> &in) {
                  return ref::linear(in[0], in[1], &in[2]);
                },
                {1, 2, 5}});

  // MLPs: v1 (GELU, biases, conv weights) and v2 (StarReLU, no bias).
  cs.push_back(
      {"mlp_gelu_bias",
       {{small}, {{96, 24, 1, 1}}, {{24, 96, 1, 1}}, {{96}}, {{24}}},
       small,
       "%r = mixer.mlp %a0, %a1, %a2 activation = gelu bias(%a3, %a4) : (" +
           T(small) + ", " + T({96, 24, 1, 1}) + ", " + T({24, 96, 1, 1}) +
           ", " + T({96}) + ", " + T({24}) + ") -> " + T(small),
       [](const std::vector<Tensor> &in) {
         return ref::mlp(in[0], in[1], &in[3], {ref::Activation::Gelu}, in[2],
                         &in[4]);
       }});
  cs.push_back(
      {"mlp_star_relu",
       {{small}, {{96, 24}}, {{24, 96}}, {{1}, 0.8, 1.2}, {{1}, -0.2, 0.2}},
       small,
       "%r = mixer.mlp %a0, %a1, %a2 activation = star_relu(%a3, %a4) : (" +
           T(small) + ", " + T({96, 24}) + ", " + T({24, 96}) + ", " + T({1}) +
           ", " + T({1}) + ") -> " + T(small),
       [](const std::vector<Tensor> &in) {
         ref::ActivationSpec act{ref::Activation::StarRelu, scalar(in[3]),
                                 scalar(in[4])};
         return ref::mlp(in[0], in[1], nullptr, act, in[2], nullptr);
       }});

  // Token mixers.
  cs.push_back({"pool_3", {{map}}, map,
                "%r = mixer.pool %a0 : (" + T(map) + ") -> " + T(map),
                [](const std::vector<Tensor> &in) { return ref::pool(in[0], 3); }});
  cs.push_back({"pool_5_thin", {{{1, 1, 6, 3}}}, {1, 1, 6, 3},
                "%r = mixer.pool %a0 {kernel_size = 5} : (" + T({1, 1, 6, 3}) +
                    ") -> " + T({1, 1, 6, 3}),
                [](const std::vector<Tensor> &in) { return ref::pool(in[0], 5); }});
  cs.push_back({"random_mix", {{{2, 7, 5, 12}}, {{35, 35}, 0, 1}},
                {2, 7, 5, 12},
                "%r = mixer.random_mix %a0, %a1 : (" + T({2, 7, 5, 12}) + ", " +
                    T({35, 35}) + ") -> " + T({2, 7, 5, 12}),
                [](const std::vector<Tensor> &in) {
                  return ref::randomMix(in[0], in[1]);
                }});
  cs.push_back({"random_mix_one_sample", {{{1, 7, 5, 12}}, {{35, 35}, 0, 1}},
                {1, 7, 5, 12},
                "%r = mixer.random_mix %a0, %a1 : (" + T({1, 7, 5, 12}) + ", " +
                    T({35, 35}) + ") -> " + T({1, 7, 5, 12}),
                [](const std::vector<Tensor> &in) {
                  return ref::randomMix(in[0], in[1]);
                }});
  cs.push_back({"random_mix_tokens", {{{1, 9, 8}}, {{9, 9}, 0, 1}}, {1, 9, 8},
                "%r = mixer.random_mix %a0, %a1 : (" + T({1, 9, 8}) + ", " +
                    T({9, 9}) + ") -> " + T({1, 9, 8}),
                [](const std::vector<Tensor> &in) {
                  return ref::randomMix(in[0], in[1]);
                }});
  const Shape sep = {1, 13, 11, 16};
  cs.push_back(
      {"sepconv",
       {{sep}, {{32, 16, 1, 1}}, {{1}, 0.8, 1.2}, {{1}, -0.2, 0.2},
        {{32, 1, 7, 7}}, {{16, 32, 1, 1}}},
       sep,
       "%r = mixer.sepconv %a0, %a1, %a2, %a3, %a4, %a5 {kernel_size = 7, "
       "padding = 3} : (" + T(sep) + ", " + T({32, 16, 1, 1}) + ", " + T({1}) +
           ", " + T({1}) + ", " + T({32, 1, 7, 7}) + ", " + T({16, 32, 1, 1}) +
           ") -> " + T(sep),
       [](const std::vector<Tensor> &in) {
         return ref::sepconv(in[0], in[1], scalar(in[2]), scalar(in[3]), in[4],
                             in[5], 7, 3);
       }});
  cs.push_back({"self_attention_map", {{{1, 7, 5, 48}}, {{144, 48}}, {{48, 48}}},
                {1, 7, 5, 48},
                "%r = mixer.self_attention %a0, %a1, %a2 {head_dim = 16} : (" +
                    T({1, 7, 5, 48}) + ", " + T({144, 48}) + ", " +
                    T({48, 48}) + ") -> " + T({1, 7, 5, 48}),
                [](const std::vector<Tensor> &in) {
                  return ref::selfAttention(in[0], in[1], in[2], 16);
                }});
  cs.push_back({"self_attention_tokens", {{{2, 9, 32}}, {{192, 32}}, {{32, 64}}},
                {2, 9, 32},
                "%r = mixer.self_attention %a0, %a1, %a2 {head_dim = 32} : (" +
                    T({2, 9, 32}) + ", " + T({192, 32}) + ", " + T({32, 64}) +
                    ") -> " + T({2, 9, 32}),
                [](const std::vector<Tensor> &in) {
                  return ref::selfAttention(in[0], in[1], in[2], 32);
                }});

  // Convolutions: the stem (k7 s4 p2) on an odd image, a downsampling layer
  // (k3 s2 p1), a grouped and a depthwise conv.
  cs.push_back({"conv_stem", {{{1, 29, 27, 3}}, {{20, 3, 7, 7}}, {{20}}},
                {1, 7, 7, 20},
                "%r = mixer.conv2d %a0, %a1, %a2 {stride = array<i64: 4, 4>, "
                "padding = array<i64: 2, 2>} : (" + T({1, 29, 27, 3}) + ", " +
                    T({20, 3, 7, 7}) + ", " + T({20}) + ") -> " +
                    T({1, 7, 7, 20}),
                [](const std::vector<Tensor> &in) {
                  return ref::conv2d(in[0], in[1], &in[2], {4, 4}, {2, 2});
                }});
  cs.push_back({"conv_downsample", {{sep}, {{24, 16, 3, 3}}, {{24}}},
                {1, 7, 6, 24},
                "%r = mixer.conv2d %a0, %a1, %a2 {stride = array<i64: 2, 2>, "
                "padding = array<i64: 1, 1>} : (" + T(sep) + ", " +
                    T({24, 16, 3, 3}) + ", " + T({24}) + ") -> " +
                    T({1, 7, 6, 24}),
                [](const std::vector<Tensor> &in) {
                  return ref::conv2d(in[0], in[1], &in[2], {2, 2}, {1, 1});
                }});
  cs.push_back({"conv_grouped", {{{2, 6, 5, 6}}, {{4, 3, 3, 2}}}, {2, 4, 4, 4},
                "%r = mixer.conv2d %a0, %a1 {groups = 2} : (" +
                    T({2, 6, 5, 6}) + ", " + T({4, 3, 3, 2}) + ") -> " +
                    T({2, 4, 4, 4}),
                [](const std::vector<Tensor> &in) {
                  return ref::conv2d(in[0], in[1], nullptr, {1, 1}, {0, 0}, 2);
                }});
  cs.push_back({"conv_depthwise", {{sep}, {{16, 1, 3, 3}}}, sep,
                "%r = mixer.conv2d %a0, %a1 {groups = 16, padding = array<i64: "
                "1, 1>} : (" + T(sep) + ", " + T({16, 1, 3, 3}) + ") -> " +
                    T(sep),
                [](const std::vector<Tensor> &in) {
                  return ref::conv2d(in[0], in[1], nullptr, {1, 1}, {1, 1}, 16);
                }});

  // Heads.
  cs.push_back({"global_avg_pool", {{map}}, {2, 20},
                "%r = mixer.global_avg_pool %a0 : (" + T(map) + ") -> " +
                    T({2, 20}),
                [](const std::vector<Tensor> &in) {
                  return ref::globalAvgPool(in[0]);
                }});
  cs.push_back(
      {"mlp_head",
       {{{2, 24}}, {{96, 24}}, {{96}}, {{96}, 0.5, 1.5}, {{96}}, {{10, 96}},
        {{10}}},
       {2, 10},
       "%r = mixer.mlp_head %a0, %a1, %a2, %a3, %a4, %a5, %a6 {epsilon = "
       "1.0e-05 : f64} : (" + T({2, 24}) + ", " + T({96, 24}) + ", " +
           T({96}) + ", " + T({96}) + ", " + T({96}) + ", " + T({10, 96}) +
           ", " + T({10}) + ") -> " + T({2, 10}),
       [](const std::vector<Tensor> &in) {
         return ref::mlpHead(in[0], in[1], in[2], in[3], in[4], in[5], in[6],
                             1e-5);
       }});

  // Blocks: PoolFormer v1 (GroupNorm(1) with bias, pooling, GELU MLP with
  // biases, layer scales) and MetaFormer v2 (channel LN without bias,
  // separable conv, StarReLU MLP, res scales).
  const std::string ts = T(sep), tc = T({16});
  cs.push_back(
      {"block_poolformer_v1",
       {{sep}, {{16}, 0.5, 1.5}, {{16}}, {{16}, 0.5, 1.5}, {{16}},
        {{64, 16, 1, 1}}, {{64}}, {{16, 64, 1, 1}}, {{16}},
        {{16}, 0.5, 1.5}, {{16}, 0.5, 1.5}},
       sep,
       "%r = mixer.block %a0 layer_scale(%a9, %a10) : (" + ts + ", " + tc +
           ", " + tc + ") -> " + ts + " token_mixer {\n^bb0(%x: " + ts +
           "):\n %n = mixer.layer_norm %x, %a1, %a2 {axes = array<i64: 1, 2, "
           "3>, epsilon = 1.0e-05 : f64} : (" + ts + ", " + tc + ", " + tc +
           ") -> " + ts + "\n %m = mixer.pool %n : (" + ts + ") -> " + ts +
           "\n mixer.yield %m : " + ts + "\n} mlp {\n^bb0(%x: " + ts +
           "):\n %n = mixer.layer_norm %x, %a3, %a4 {axes = array<i64: 1, 2, "
           "3>, epsilon = 1.0e-05 : f64} : (" + ts + ", " + tc + ", " + tc +
           ") -> " + ts + "\n %m = mixer.mlp %n, %a5, %a7 activation = gelu "
           "bias(%a6, %a8) : (" + ts + ", " + T({64, 16, 1, 1}) + ", " +
           T({16, 64, 1, 1}) + ", " + T({64}) + ", " + tc + ") -> " + ts +
           "\n mixer.yield %m : " + ts + "\n}",
       [](const std::vector<Tensor> &in) {
         auto mixer = [&](const Tensor &x) {
           return ref::pool(ref::layerNorm(x, {1, 2, 3}, in[1], &in[2], 1e-5),
                            3);
         };
         auto mlp = [&](const Tensor &x) {
           return ref::mlp(ref::layerNorm(x, {1, 2, 3}, in[3], &in[4], 1e-5),
                           in[5], &in[6], {ref::Activation::Gelu}, in[7],
                           &in[8]);
         };
         return ref::block(in[0], mixer, mlp, &in[9], &in[10], nullptr,
                           nullptr);
       }});
  cs.push_back(
      {"block_convformer_v2",
       {{sep}, {{16}, 0.5, 1.5}, {{32, 16, 1, 1}}, {{1}, 0.8, 1.2},
        {{1}, -0.2, 0.2}, {{32, 1, 7, 7}}, {{16, 32, 1, 1}}, {{16}, 0.5, 1.5},
        {{64, 16, 1, 1}}, {{16, 64, 1, 1}}, {{1}, 0.8, 1.2}, {{1}, -0.2, 0.2},
        {{16}, 0.5, 1.5}, {{16}, 0.5, 1.5}},
       sep,
       "%r = mixer.block %a0 res_scale(%a12, %a13) : (" + ts + ", " + tc +
           ", " + tc + ") -> " + ts + " token_mixer {\n^bb0(%x: " + ts +
           "):\n %n = mixer.layer_norm %x, %a1 {axes = array<i64: 3>, epsilon "
           "= 1.0e-06 : f64} : (" + ts + ", " + tc + ") -> " + ts +
           "\n %m = mixer.sepconv %n, %a2, %a3, %a4, %a5, %a6 : (" + ts + ", " +
           T({32, 16, 1, 1}) + ", " + T({1}) + ", " + T({1}) + ", " +
           T({32, 1, 7, 7}) + ", " + T({16, 32, 1, 1}) + ") -> " + ts +
           "\n mixer.yield %m : " + ts + "\n} mlp {\n^bb0(%x: " + ts +
           "):\n %n = mixer.layer_norm %x, %a7 {axes = array<i64: 3>, epsilon "
           "= 1.0e-06 : f64} : (" + ts + ", " + tc + ") -> " + ts +
           "\n %m = mixer.mlp %n, %a8, %a9 activation = star_relu(%a10, %a11) "
           ": (" + ts + ", " + T({64, 16, 1, 1}) + ", " + T({16, 64, 1, 1}) +
           ", " + T({1}) + ", " + T({1}) + ") -> " + ts +
           "\n mixer.yield %m : " + ts + "\n}",
       [](const std::vector<Tensor> &in) {
         auto mixer = [&](const Tensor &x) {
           return ref::sepconv(ref::layerNorm(x, {3}, in[1], nullptr, 1e-6),
                               in[2], scalar(in[3]), scalar(in[4]), in[5],
                               in[6], 7, 3);
         };
         auto mlp = [&](const Tensor &x) {
           ref::ActivationSpec act{ref::Activation::StarRelu, scalar(in[10]),
                                   scalar(in[11])};
           return ref::mlp(ref::layerNorm(x, {3}, in[7], nullptr, 1e-6), in[8],
                           nullptr, act, in[9], nullptr);
         };
         return ref::block(in[0], mixer, mlp, nullptr, nullptr, &in[12],
                           &in[13]);
       }});
  return cs;
}

class LayerNumeric
    : public ::testing::TestWithParam<std::tuple<LayerCase, Lowering>> {};

TEST_P(LayerNumeric, MatchesReference) {
  const LayerCase &c = std::get<0>(GetParam());
  Lowering lowering = std::get<1>(GetParam());
  auto ctx = test::makeContext();
  std::string text = moduleText(c);
  OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(text, ctx.get());
  ASSERT_TRUE(module) << "could not parse:\n" << text;
  std::string error;
  auto engine = test::compileWithPipeline(
      *module, [&](OpPassManager &pm) { buildPipeline(pm, lowering); }, error);
  ASSERT_TRUE(engine) << error;
  if (c.batches.empty()) {
    runAndCompare(*engine, c, 0, 4321);
    return;
  }
  for (int64_t batch : c.batches) {
    SCOPED_TRACE("batch " + std::to_string(batch));
    runAndCompare(*engine, c, batch, 4321 + unsigned(batch));
  }
}

INSTANTIATE_TEST_SUITE_P(
    Ops, LayerNumeric,
    ::testing::Combine(::testing::ValuesIn(cases()),
                       ::testing::Values(Lowering::Reference, Lowering::Cpu,
                                         Lowering::CpuSerialOddTiles)),
    [](const auto &info) {
      return std::get<0>(info.param).name + "_" +
             name(std::get<1>(info.param));
    });
} // namespace
