//===- ReferenceTest.cpp - tests of the MetaFormer reference side ---------===//
//
// The double-precision MetaFormer reference (test/Reference/MetaFormer), its
// JSON parser and its .safetensors reader, against hand-computed values and
// hand-built files. The reference is the oracle of the compiled models, so it
// is checked on its own here, independently of the compiler.
//
//===----------------------------------------------------------------------===//

#include "Reference/Json.h"
#include "Reference/MetaFormer.h"
#include "Reference/Safetensors.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>

using namespace tmix::ref;

namespace {

void expectNear(const Tensor &t, const std::vector<double> &expected,
                double tol = 1e-12) {
  ASSERT_EQ(t.numel(), static_cast<int64_t>(expected.size()));
  for (size_t i = 0; i < expected.size(); ++i)
    EXPECT_NEAR(t[static_cast<int64_t>(i)], expected[i], tol) << "at " << i;
}

//===----------------------------------------------------------------------===//
// JSON
//===----------------------------------------------------------------------===//

TEST(ReferenceJson, ParsesValues) {
  JsonValue v;
  std::string error;
  ASSERT_TRUE(parseJson(
      R"( {"a": [1, -2.5e1, true, false, null], "b": "x\u00e9\"\n", "c": {}} )",
      v, error))
      << error;
  ASSERT_TRUE(v.isObject());
  const JsonValue *a = v.find("a");
  ASSERT_TRUE(a && a->isArray());
  ASSERT_EQ(a->array.size(), 5u);
  EXPECT_TRUE(a->array[0].isInteger);
  EXPECT_EQ(a->array[0].integer, 1);
  EXPECT_FALSE(a->array[1].isInteger);
  EXPECT_EQ(a->array[1].number, -25.0);
  EXPECT_TRUE(a->array[2].boolean);
  EXPECT_TRUE(a->array[4].isNull());
  EXPECT_EQ(v.find("b")->string, "x\xc3\xa9\"\n");
  EXPECT_TRUE(v.find("c")->isObject());
  EXPECT_EQ(v.find("missing"), nullptr);
  // Large integers stay exact.
  ASSERT_TRUE(parseJson("9007199254740993", v, error));
  EXPECT_EQ(v.integer, 9007199254740993LL);
}

TEST(ReferenceJson, RejectsMalformedText) {
  const char *bad[] = {"",
                       "{",
                       "[1,]",
                       "{\"a\":1,}",
                       "{\"a\":1 \"b\":2}",
                       "{\"a\":1, \"a\":2}",
                       "01",
                       "1.",
                       "-",
                       "1e",
                       "\"\\x\"",
                       "\"a\tb\"",
                       "tru",
                       "[1] 2",
                       "\"\\ud800\"",
                       "{1: 2}",
                       "nan",
                       "1e999"};
  for (const char *text : bad) {
    JsonValue v;
    std::string error;
    EXPECT_FALSE(parseJson(text, v, error)) << text;
    EXPECT_NE(error.find("JSON error at byte"), std::string::npos) << text;
  }
  std::string deep(100, '[');
  deep += std::string(100, ']');
  JsonValue v;
  std::string error;
  EXPECT_FALSE(parseJson(deep, v, error));
  EXPECT_NE(error.find("nesting"), std::string::npos) << error;
}

//===----------------------------------------------------------------------===//
// Safetensors
//===----------------------------------------------------------------------===//

std::string fileImage(const std::string &header, const std::string &data) {
  std::string out(8, '\0');
  uint64_t n = header.size();
  for (int i = 0; i < 8; ++i)
    out[i] = static_cast<char>((n >> (8 * i)) & 0xFF);
  return out + header + data;
}

std::string floats(std::initializer_list<float> values) {
  std::string s;
  for (float v : values)
    s.append(reinterpret_cast<const char *>(&v), 4);
  return s;
}

bool parse(const std::string &image, SafetensorsFile &file,
           std::string &error) {
  return parseSafetensors(image.data(), image.size(), file, error);
}

TEST(ReferenceSafetensors, ReadsTensorsAndMetadata) {
  std::string header =
      R"({"__metadata__":{"format":"pt"},)"
      R"("b":{"dtype":"F32","shape":[2],"data_offsets":[12,20]},)"
      R"("a":{"dtype":"F32","shape":[1,3],"data_offsets":[0,12]}})";
  header += std::string((8 - header.size() % 8) % 8, ' ');
  std::string image = fileImage(header, floats({1, 2, 3, -4.5f, 0.25f}));
  SafetensorsFile file;
  std::string error;
  ASSERT_TRUE(parse(image, file, error)) << error;
  EXPECT_EQ(file.metadata.at("format"), "pt");
  ASSERT_EQ(file.names, (std::vector<std::string>{"b", "a"}));
  EXPECT_EQ(file.tensors.at("a").shape, (std::vector<int64_t>{1, 3}));
  expectNear(file.tensors.at("a"), {1, 2, 3});
  expectNear(file.tensors.at("b"), {-4.5, 0.25});
  EXPECT_EQ(file.dtypes.at("b"), "F32");
}

TEST(ReferenceSafetensors, ConvertsOtherFloatTypes) {
  std::string data;
  const uint16_t f16[2] = {0x3C00, 0xC100};  // 1.0, -2.5
  const uint16_t bf16[2] = {0x3F80, 0x4040}; // 1.0, 3.0
  const double f64 = 0.1;
  data.append(reinterpret_cast<const char *>(f16), 4);
  data.append(reinterpret_cast<const char *>(bf16), 4);
  data.append(reinterpret_cast<const char *>(&f64), 8);
  std::string header =
      R"({"h":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},)"
      R"("g":{"dtype":"BF16","shape":[2],"data_offsets":[4,8]},)"
      R"("d":{"dtype":"F64","shape":[],"data_offsets":[8,16]}})";
  SafetensorsFile file;
  std::string error;
  ASSERT_TRUE(parse(fileImage(header, data), file, error)) << error;
  expectNear(file.tensors.at("h"), {1.0, -2.5});
  expectNear(file.tensors.at("g"), {1.0, 3.0});
  expectNear(file.tensors.at("d"), {0.1});
}

TEST(ReferenceSafetensors, RejectsCorruptFiles) {
  const std::string data = floats({1, 2});
  auto entry = [](const std::string &body) { return "{\"t\":{" + body + "}}"; };
  struct Case {
    std::string image, expected;
  } cases[] = {
      {"abc", "too short"},
      {fileImage("", data), "out of range"},
      {std::string("\xff\xff\xff\xff\xff\xff\xff\x7f", 8) + "{}",
       "out of range"},
      {std::string("\x40\x00\x00\x00\x00\x00\x00\x00", 8) + "{}",
       "past the end"},
      {fileImage("[]", ""), "does not start with '{'"},
      {fileImage("{\"t\":", data), "JSON error"},
      {fileImage(entry(R"("dtype":"I8","shape":[2],"data_offsets":[0,2])"),
                 "ab"),
       "unsupported dtype 'I8'"},
      {fileImage(
           entry(R"("dtype":"F32","shape":[2],"data_offsets":[0,8],"x":1)"),
           data),
       "unknown key 'x'"},
      {fileImage(entry(R"("dtype":"F32","shape":[2])"), data),
       "lacks data_offsets"},
      {fileImage(entry(R"("dtype":"F32","shape":[-2],"data_offsets":[0,8])"),
                 data),
       "non-negative"},
      {fileImage(entry(R"("dtype":"F32","shape":[2],"data_offsets":[8,0])"),
                 data),
       "reversed"},
      {fileImage(entry(R"("dtype":"F32","shape":[3],"data_offsets":[0,8])"),
                 data),
       "needs 12"},
      {fileImage(entry(R"("dtype":"F32","shape":[4],"data_offsets":[0,16])"),
                 data),
       "past the data buffer"},
      {fileImage(entry(R"("dtype":"F32","shape":[1],"data_offsets":[0,4])"),
                 data),
       "belong to no tensor"},
      {fileImage(entry(R"("dtype":"F32","shape":[1],"data_offsets":[4,8])"),
                 data),
       "belong to no tensor"},
      {fileImage(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                 R"("b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                 data),
       "overlaps"},
      {fileImage(R"({"__metadata__":{"k":1}})", ""), "not a string"},
      {fileImage(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                 R"("a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                 data),
       "duplicate key"},
  };
  for (const Case &c : cases) {
    SafetensorsFile file;
    std::string error;
    EXPECT_FALSE(parse(c.image, file, error)) << c.expected;
    EXPECT_NE(error.find(c.expected), std::string::npos)
        << "expected '" << c.expected << "' in: " << error;
    EXPECT_TRUE(file.tensors.empty());
  }
}

TEST(ReferenceSafetensors, SurvivesCorruptedBytes) {
  // Every single-byte corruption, truncation and junk-length of a valid file
  // either parses or fails with a message (never a crash or an out-of-bounds
  // read, which the sanitizer builds would catch).
  std::string header =
      R"({"__metadata__":{"format":"pt"},)"
      R"("a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
      R"("b":{"dtype":"F16","shape":[1,1],"data_offsets":[8,10]}})";
  const std::string good = fileImage(header, floats({1, 2}) + "\x00\x3c");
  uint64_t state = 7;
  auto next = [&] {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return state >> 33;
  };
  int failures = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string image = good;
    switch (i % 3) {
    case 0:
      image[next() % image.size()] = static_cast<char>(next() & 0xFF);
      break;
    case 1:
      image.resize(next() % image.size());
      break;
    default:
      image[next() % 8] = static_cast<char>(next() & 0xFF);
      break;
    }
    SafetensorsFile file;
    std::string error;
    if (!parse(image, file, error)) {
      ++failures;
      EXPECT_FALSE(error.empty());
    }
  }
  EXPECT_GT(failures, 1000);
}

TEST(ReferenceSafetensors, ReportsMissingFile) {
  SafetensorsFile file;
  std::string error;
  EXPECT_FALSE(readSafetensors("/nonexistent/x.safetensors", file, error));
  EXPECT_NE(error.find("/nonexistent/x.safetensors: cannot open"),
            std::string::npos)
      << error;
}

//===----------------------------------------------------------------------===//
// Ops, against hand-computed values
//===----------------------------------------------------------------------===//

TEST(ReferenceOps, LayerNormOverChannels) {
  // [1, 1, 2, 2]: two tokens of two channels. Token (1, 3): mean 2, var 1.
  Tensor x({1, 1, 2, 2}, std::vector<double>{1, 3, 10, 14});
  Tensor w({2}, std::vector<double>{1, 2});
  Tensor b({2}, std::vector<double>{0.5, -0.5});
  const double eps = 1e-6, s = 1 / std::sqrt(1 + eps),
               t = 1 / std::sqrt(4 + eps);
  expectNear(layerNorm(x, {3}, w, nullptr, eps),
             {-s, 2 * s, -2 * t, 2 * 2 * t});
  expectNear(layerNorm(x, {3}, w, &b, eps),
             {-s + 0.5, 2 * s - 0.5, -2 * t + 0.5, 4 * t - 0.5});
}

TEST(ReferenceOps, LayerNormOverAllAxesDiffersFromChannels) {
  // Over (H, W, C): mean 7, var (36 + 16 + 9 + 49) / 4 = 27.5.
  Tensor x({1, 1, 2, 2}, std::vector<double>{1, 3, 10, 14});
  Tensor w({2}, std::vector<double>{1, 1});
  const double eps = 1e-5, r = 1 / std::sqrt(27.5 + eps);
  Tensor all = layerNorm(x, {1, 2, 3}, w, nullptr, eps);
  expectNear(all, {-6 * r, -4 * r, 3 * r, 7 * r});
  Tensor channel = layerNorm(x, {3}, w, nullptr, eps);
  EXPECT_GT(std::fabs(all[0] - channel[0]), 0.1);
  // Per sample: a second batch element is normalised on its own.
  Tensor x2({2, 1, 1, 2}, std::vector<double>{0, 2, 100, 104});
  expectNear(layerNorm(x2, {1, 2, 3}, w, nullptr, 0.0), {-1, 1, -1, 1});
}

TEST(ReferenceOps, Activations) {
  Tensor x({5}, std::vector<double>{-2, -1, 0, 1, 2});
  expectNear(gelu(x),
             {-0.04550026389635842, -0.15865525393145707, 0, 0.8413447460685429,
              1.9544997361036416},
             1e-15);
  expectNear(squaredRelu(x), {0, 0, 0, 1, 4});
  // StarReLU with loaded (s, b) != (1, 0).
  expectNear(starRelu(x, 0.5, -0.25), {-0.25, -0.25, -0.25, 0.25, 1.75});
  ActivationSpec star{Activation::StarRelu, 2.0, 0.125};
  expectNear(activate(x, star), {0.125, 0.125, 0.125, 2.125, 8.125});
}

TEST(ReferenceOps, LinearAcceptsBothWeightLayouts) {
  Tensor x({2, 2}, std::vector<double>{1, 2, 3, 4});
  Tensor w({3, 2}, std::vector<double>{1, 0, 0, 1, 1, 1});
  Tensor b({3}, std::vector<double>{0.5, 0, -1});
  expectNear(linear(x, w, &b), {1.5, 2, 2, 3.5, 4, 6});
  Tensor w4({3, 2, 1, 1}, w.data);
  expectNear(linear(x, w4, nullptr), {1, 2, 3, 3, 4, 7});
}

TEST(ReferenceOps, MlpWithBiasAndGelu) {
  Tensor x({1, 1}, std::vector<double>{1});
  Tensor w1({2, 1}, std::vector<double>{1, -1});
  Tensor b1({2}, std::vector<double>{0, 0});
  Tensor w2({1, 2}, std::vector<double>{1, 1});
  Tensor b2({1}, std::vector<double>{0.5});
  expectNear(mlp(x, w1, &b1, {Activation::Gelu}, w2, &b2),
             {0.8413447460685429 - 0.15865525393145707 + 0.5}, 1e-15);
}

TEST(ReferenceOps, PoolBorderDivisors) {
  // A 3x4 map 1..12; k = 3: corners average 4 values, edges 6, inside 9.
  Tensor x({1, 3, 4, 1});
  for (int i = 0; i < 12; ++i)
    x[i] = i + 1;
  Tensor y = pool(x, 3);
  EXPECT_DOUBLE_EQ(y[0], (1 + 2 + 5 + 6) / 4.0 - 1);          // corner: 2.5
  EXPECT_DOUBLE_EQ(y[1], (1 + 2 + 3 + 5 + 6 + 7) / 6.0 - 2);  // edge: 2
  EXPECT_DOUBLE_EQ(y[4], (1 + 2 + 5 + 6 + 9 + 10) / 6.0 - 5); // edge: 0.5
  EXPECT_DOUBLE_EQ(y[5], 54 / 9.0 - 6);                       // inside: 0
  EXPECT_DOUBLE_EQ(y[11], (7 + 8 + 11 + 12) / 4.0 - 12);      // -2.5
  expectNear(y, {2.5, 2, 2, 1.5, 0.5, 0, 0, -0.5, -1.5, -2, -2, -2.5});
  // Channels are pooled independently: a 1x2 map of two channels.
  Tensor x2({1, 1, 2, 2}, std::vector<double>{1, 10, 3, 30});
  expectNear(pool(x2, 3), {1, 10, -1, -10});
}

TEST(ReferenceOps, RandomMixOverFlattenedTokens) {
  // [1, 1, 2, 2]: tokens n = h * W + w; two channels.
  Tensor x({1, 1, 2, 2}, std::vector<double>{1, 2, 3, 4});
  Tensor m({2, 2}, std::vector<double>{0.25, 0.75, 1, 0});
  expectNear(randomMix(x, m), {0.25 + 2.25, 0.5 + 3, 1, 2});
  Tensor seq({1, 2, 2}, x.data);
  expectNear(randomMix(seq, m), {2.5, 3.5, 1, 2});
}

TEST(ReferenceOps, Conv2dStridePaddingAndShapes) {
  Tensor x({1, 3, 3, 1});
  for (int i = 0; i < 9; ++i)
    x[i] = i + 1;
  Tensor ones2({1, 1, 2, 2}, 1.0), ones3({1, 1, 3, 3}, 1.0);
  Tensor y = conv2d(x, ones2, nullptr, {1, 1}, {0, 0});
  EXPECT_EQ(y.shape, (std::vector<int64_t>{1, 2, 2, 1}));
  expectNear(y, {12, 16, 24, 28});
  Tensor bias({1}, std::vector<double>{-1});
  y = conv2d(x, ones3, &bias, {2, 2}, {1, 1});
  EXPECT_EQ(y.shape, (std::vector<int64_t>{1, 2, 2, 1}));
  expectNear(y, {11, 15, 23, 27});
  // The models' stem and downsampling arithmetic.
  auto outSize = [](int64_t in, int64_t k, int64_t s, int64_t p) {
    Tensor img({1, in, in, 1}), w({1, 1, k, k});
    return conv2d(img, w, nullptr, {s, s}, {p, p}).shape[1];
  };
  EXPECT_EQ(outSize(224, 7, 4, 2), 56);
  EXPECT_EQ(outSize(64, 7, 4, 2), 16);
  EXPECT_EQ(outSize(56, 3, 2, 1), 28);
  EXPECT_EQ(outSize(7, 3, 2, 1), 4);
  EXPECT_EQ(outSize(2, 3, 2, 1), 1);
  // OIHW with two output channels and two input channels: the weight index
  // is [o, i, kh, kw] and the input is channels-last.
  Tensor xc({1, 1, 1, 2}, std::vector<double>{1, 10});
  Tensor wc({2, 2, 1, 1}, std::vector<double>{1, 2, 3, 4});
  expectNear(conv2d(xc, wc, nullptr, {1, 1}, {0, 0}), {21, 43});
}

TEST(ReferenceOps, DepthwiseConvUsesItsOwnChannel) {
  Tensor x({1, 1, 3, 2}, std::vector<double>{1, 10, 2, 20, 3, 30});
  Tensor w({2, 1, 1, 3}, std::vector<double>{1, 1, 1, 0, 1, 0});
  // Channel 0: box sum over width with padding; channel 1: identity.
  expectNear(conv2d(x, w, nullptr, {1, 1}, {0, 1}, 2), {3, 10, 6, 20, 5, 30});
}

TEST(ReferenceOps, SepConvComposesItsParts) {
  // C = 1, mid = 2, kernel 3: pw1 = [1, -1], StarReLU(2, 0.5), depthwise
  // kernels [0,1,0] (identity) and [1,1,1] (3-tap sum), pw2 = [1, 1].
  Tensor x({1, 1, 3, 1}, std::vector<double>{1, -2, 3});
  Tensor pw1({2, 1, 1, 1}, std::vector<double>{1, -1});
  Tensor dw({2, 1, 3, 3}, 0.0);
  dw[4] = 1;                             // channel 0: centre tap
  dw[9 + 3] = dw[9 + 4] = dw[9 + 5] = 1; // channel 1: middle row
  Tensor pw2({1, 2, 1, 1}, std::vector<double>{1, 1});
  // After StarReLU: channel 0 = 2*relu(x)^2+0.5 = [2.5, 0.5, 18.5],
  // channel 1 = 2*relu(-x)^2+0.5 = [0.5, 8.5, 0.5]; 3-tap sums of channel 1
  // with zero padding: [9, 9.5, 9].
  expectNear(sepconv(x, pw1, 2, 0.5, dw, pw2, 3, 1),
             {2.5 + 9, 0.5 + 9.5, 18.5 + 9});
}

TEST(ReferenceOps, SelfAttentionSingleHead) {
  // One head of dim 1, q = k = v = x, tokens x = [0, 1], proj = 2.
  Tensor x({1, 2, 1}, std::vector<double>{0, 1});
  Tensor qkv({3, 1}, std::vector<double>{1, 1, 1});
  Tensor proj({1, 1}, std::vector<double>{2});
  const double e = std::exp(1.0);
  expectNear(selfAttention(x, qkv, proj, 1), {1.0, 2 * e / (1 + e)});
}

TEST(ReferenceOps, SelfAttentionSplitsChannelsAsThreeHeadsHeadDim) {
  // Two heads of dim 1 (A = C = 2). q = 0 makes every head average its values
  // uniformly; v of head 0 reads channel 0, v of head 1 reads 10 x channel 1.
  // Rows of Wqkv: q_h0, q_h1, k_h0, k_h1, v_h0, v_h1.
  Tensor x({1, 1, 3, 2}, std::vector<double>{1, 2, 3, 4, 5, 6});
  Tensor qkv({6, 2}, std::vector<double>{0, 0, 0, 0, 1, 0, 0, 1, 1, 0, 0, 10});
  Tensor proj({2, 2}, std::vector<double>{1, 0, 0, 1});
  expectNear(selfAttention(x, qkv, proj, 1), {3, 40, 3, 40, 3, 40}, 1e-12);
}

TEST(ReferenceOps, GlobalAvgPoolAndMlpHead) {
  Tensor x({1, 2, 1, 2}, std::vector<double>{1, 2, 3, 6});
  Tensor p = globalAvgPool(x);
  EXPECT_EQ(p.shape, (std::vector<int64_t>{1, 2}));
  expectNear(p, {2, 4});
  // fc1 = identity (2 -> 2, bias [0, -5]) -> SquaredReLU -> LN -> fc2.
  Tensor w1({2, 2}, std::vector<double>{1, 0, 0, 1});
  Tensor b1({2}, std::vector<double>{0, -5});
  Tensor nw({2}, std::vector<double>{1, 1}), nb({2}, std::vector<double>{0, 1});
  Tensor w2({1, 2}, std::vector<double>{1, 2});
  Tensor b2({1}, std::vector<double>{0.5});
  // hidden [2, -1] -> [4, 0] -> LN: mean 2, var 4 -> [1, -1] (+ bias [0, 1]) =
  // [1, 0] -> 1 * 1 + 2 * 0 + 0.5.
  expectNear(mlpHead(p, w1, b1, nw, nb, w2, b2, 0.0), {1.5});
}

TEST(ReferenceOps, BlockScalesAndResiduals) {
  Tensor x({1, 1, 1, 2}, std::vector<double>{1, 2});
  Branch tm = [](const Tensor &a) {
    Tensor r(a.shape);
    for (int64_t i = 0; i < a.numel(); ++i)
      r[i] = 10 * a[i];
    return r;
  };
  Branch mlpBranch = [](const Tensor &a) {
    Tensor r(a.shape);
    for (int64_t i = 0; i < a.numel(); ++i)
      r[i] = a[i] + 1;
    return r;
  };
  // No scales: y = x + 10x = [11, 22]; z = y + y + 1 = [23, 45].
  expectNear(block(x, tm, mlpBranch, nullptr, nullptr, nullptr, nullptr),
             {23, 45});
  Tensor l1({2}, std::vector<double>{0.5, 1}),
      l2({2}, std::vector<double>{2, 0});
  Tensor r1({2}, std::vector<double>{1, 3}), r2({2}, std::vector<double>{0, 1});
  // y = r1*x + l1*10x = [1 + 5, 6 + 20] = [6, 26];
  // z = r2*y + l2*(y + 1) = [0 + 14, 26 + 0].
  expectNear(block(x, tm, mlpBranch, &l1, &l2, &r1, &r2), {14, 26});
}

TEST(ReferenceOps, NchwToNhwc) {
  Tensor x({1, 2, 1, 2}, std::vector<double>{1, 2, 3, 4});
  Tensor y = nchwToNhwc(x);
  EXPECT_EQ(y.shape, (std::vector<int64_t>{1, 1, 2, 2}));
  expectNear(y, {1, 3, 2, 4});
}

//===----------------------------------------------------------------------===//
// Whole-model forward on a tiny configuration
//===----------------------------------------------------------------------===//

// Two stages: pooling (GroupNorm-style norm with bias, layer scale, GELU MLP
// with bias, conv layout) and attention (channel norm, res scale, StarReLU,
// linear layout), a linear head. 8x8 image -> 2x2 -> 1x1 maps.
const char *kTinyConfig = R"({
 "model": "tiny", "generator": "test", "image": [8, 8], "in_chans": 3,
 "num_classes": 5,
 "stem": {"kernel": 7, "stride": 4, "padding": 2,
          "norm": {"reduce": "channel", "eps": 1e-6, "bias": false}},
 "stages": [
  {"depth": 1, "dim": 4, "size": [2, 2], "mixer": "pool",
   "norm": {"reduce": "all", "eps": 1e-5, "bias": true},
   "mlp_act": "gelu", "mlp_bias": true, "mlp_hidden": 16,
   "layer_scale": true, "res_scale": false, "downsample": null, "heads": 0},
  {"depth": 1, "dim": 32, "size": [1, 1], "mixer": "attention",
   "norm": {"reduce": "channel", "eps": 1e-6, "bias": false},
   "mlp_act": "star_relu", "mlp_bias": false, "mlp_hidden": 128,
   "layer_scale": false, "res_scale": true,
   "downsample": {"kernel": 3, "stride": 2, "padding": 1,
                  "norm": {"reduce": "channel", "eps": 1e-6, "bias": false}},
   "heads": 1}
 ],
 "pool_size": 3, "sepconv": {"expansion": 2, "kernel": 7, "padding": 3},
 "attention_head_dim": 32,
 "head": {"norm": {"reduce": "channel", "eps": 1e-6, "bias": true},
          "kind": "linear", "mlp_hidden": 128,
          "mlp_norm": {"reduce": "channel", "eps": 1e-6, "bias": true}}
})";

std::map<std::string, Tensor> tinyWeights() {
  std::map<std::string, Tensor> w;
  uint64_t state = 12345;
  auto add = [&](const std::string &name, std::vector<int64_t> shape, double lo,
                 double hi) {
    Tensor t(shape);
    for (double &v : t.data) {
      state = state * 6364136223846793005ULL + 1442695040888963407ULL;
      v = lo + (hi - lo) * static_cast<double>(state >> 11) * 0x1.0p-53;
    }
    w[name] = t;
  };
  add("stem.conv.weight", {4, 3, 7, 7}, -0.2, 0.2);
  add("stem.conv.bias", {4}, -0.1, 0.1);
  add("stem.norm.weight", {4}, 0.8, 1.2);
  const std::string b0 = "stages.0.blocks.0.";
  add(b0 + "norm1.weight", {4}, 0.8, 1.2);
  add(b0 + "norm1.bias", {4}, -0.1, 0.1);
  add(b0 + "layer_scale1.scale", {4}, 0.5, 1.5);
  add(b0 + "norm2.weight", {4}, 0.8, 1.2);
  add(b0 + "norm2.bias", {4}, -0.1, 0.1);
  add(b0 + "mlp.fc1.weight", {16, 4, 1, 1}, -0.8, 0.8);
  add(b0 + "mlp.fc1.bias", {16}, -0.1, 0.1);
  add(b0 + "mlp.fc2.weight", {4, 16, 1, 1}, -0.4, 0.4);
  add(b0 + "mlp.fc2.bias", {4}, -0.1, 0.1);
  add(b0 + "layer_scale2.scale", {4}, 0.5, 1.5);
  add("stages.1.downsample.norm.weight", {4}, 0.8, 1.2);
  add("stages.1.downsample.conv.weight", {32, 4, 3, 3}, -0.3, 0.3);
  add("stages.1.downsample.conv.bias", {32}, -0.1, 0.1);
  const std::string b1 = "stages.1.blocks.0.";
  add(b1 + "norm1.weight", {32}, 0.8, 1.2);
  add(b1 + "token_mixer.qkv.weight", {96, 32}, -0.3, 0.3);
  add(b1 + "token_mixer.proj.weight", {32, 32}, -0.3, 0.3);
  add(b1 + "res_scale1.scale", {32}, 0.5, 1.5);
  add(b1 + "norm2.weight", {32}, 0.8, 1.2);
  add(b1 + "mlp.fc1.weight", {128, 32}, -0.3, 0.3);
  add(b1 + "mlp.act.scale", {1}, 0.8, 1.2);
  add(b1 + "mlp.act.bias", {1}, -0.2, 0.2);
  add(b1 + "mlp.fc2.weight", {32, 128}, -0.15, 0.15);
  add(b1 + "res_scale2.scale", {32}, 0.5, 1.5);
  add("head.norm.weight", {32}, 0.8, 1.2);
  add("head.norm.bias", {32}, -0.1, 0.1);
  add("head.fc.weight", {5, 32}, -0.3, 0.3);
  add("head.fc.bias", {5}, -0.1, 0.1);
  return w;
}

Tensor tinyImage() {
  Tensor img({1, 3, 8, 8});
  for (int64_t i = 0; i < img.numel(); ++i)
    img[i] = std::sin(0.37 * static_cast<double>(i));
  return img;
}

TEST(ReferenceModel, TinyForwardMatchesAHandWiredComposition) {
  ModelConfig cfg;
  std::string error;
  ASSERT_TRUE(parseModelConfig(kTinyConfig, cfg, error)) << error;
  auto w = tinyWeights();
  Tensor logits;
  ASSERT_TRUE(referenceForward(cfg, w, tinyImage(), logits, error)) << error;
  EXPECT_EQ(logits.shape, (std::vector<int64_t>{1, 5}));

  // The same network wired by hand from the ops.
  Tensor x = conv2d(nchwToNhwc(tinyImage()), w["stem.conv.weight"],
                    &w["stem.conv.bias"], {4, 4}, {2, 2});
  x = layerNorm(x, {3}, w["stem.norm.weight"], nullptr, 1e-6);
  const std::string b0 = "stages.0.blocks.0.";
  x = block(
      x,
      [&](const Tensor &a) {
        return pool(layerNorm(a, {1, 2, 3}, w[b0 + "norm1.weight"],
                              &w[b0 + "norm1.bias"], 1e-5),
                    3);
      },
      [&](const Tensor &a) {
        return mlp(layerNorm(a, {1, 2, 3}, w[b0 + "norm2.weight"],
                             &w[b0 + "norm2.bias"], 1e-5),
                   w[b0 + "mlp.fc1.weight"], &w[b0 + "mlp.fc1.bias"],
                   {Activation::Gelu}, w[b0 + "mlp.fc2.weight"],
                   &w[b0 + "mlp.fc2.bias"]);
      },
      &w[b0 + "layer_scale1.scale"], &w[b0 + "layer_scale2.scale"], nullptr,
      nullptr);
  x = layerNorm(x, {3}, w["stages.1.downsample.norm.weight"], nullptr, 1e-6);
  x = conv2d(x, w["stages.1.downsample.conv.weight"],
             &w["stages.1.downsample.conv.bias"], {2, 2}, {1, 1});
  const std::string b1 = "stages.1.blocks.0.";
  x = block(
      x,
      [&](const Tensor &a) {
        return selfAttention(
            layerNorm(a, {3}, w[b1 + "norm1.weight"], nullptr, 1e-6),
            w[b1 + "token_mixer.qkv.weight"], w[b1 + "token_mixer.proj.weight"],
            32);
      },
      [&](const Tensor &a) {
        ActivationSpec act{Activation::StarRelu, w[b1 + "mlp.act.scale"][0],
                           w[b1 + "mlp.act.bias"][0]};
        return mlp(layerNorm(a, {3}, w[b1 + "norm2.weight"], nullptr, 1e-6),
                   w[b1 + "mlp.fc1.weight"], nullptr, act,
                   w[b1 + "mlp.fc2.weight"], nullptr);
      },
      nullptr, nullptr, &w[b1 + "res_scale1.scale"],
      &w[b1 + "res_scale2.scale"]);
  Tensor h = layerNorm(globalAvgPool(x), {1}, w["head.norm.weight"],
                       &w["head.norm.bias"], 1e-6);
  Tensor expected = linear(h, w["head.fc.weight"], &w["head.fc.bias"]);
  expectNear(logits, expected.data, 1e-12);

  // f32 rounding of every op moves the logits only a little.
  Tensor rounded;
  ForwardOptions fo;
  fo.roundToFloat = true;
  ASSERT_TRUE(referenceForward(cfg, w, tinyImage(), rounded, error, fo));
  expectNear(rounded, logits.data, 1e-5);
}

TEST(ReferenceModel, ListsEveryWeightProblem) {
  ModelConfig cfg;
  std::string error;
  ASSERT_TRUE(parseModelConfig(kTinyConfig, cfg, error)) << error;
  auto w = tinyWeights();
  w.erase("stages.0.blocks.0.norm1.bias");
  w["head.fc.weight"] = Tensor({5, 31});
  w["stages.1.blocks.0.mlp.fc1.weight"] = Tensor({128, 32, 1, 1});
  w["extra.tensor"] = Tensor({3});
  Tensor logits;
  EXPECT_FALSE(referenceForward(cfg, w, tinyImage(), logits, error));
  EXPECT_NE(error.find("4 problem(s)"), std::string::npos) << error;
  EXPECT_NE(error.find("missing tensor 'stages.0.blocks.0.norm1.bias' [4]"),
            std::string::npos)
      << error;
  EXPECT_NE(error.find("'head.fc.weight' is [5, 31], expected [5, 32]"),
            std::string::npos)
      << error;
  EXPECT_NE(error.find("'stages.1.blocks.0.mlp.fc1.weight' is [128, 32, 1, "
                       "1], expected [128, 32]"),
            std::string::npos)
      << error;
  EXPECT_NE(error.find("unexpected tensor 'extra.tensor' [3]"),
            std::string::npos)
      << error;
  EXPECT_TRUE(logits.data.empty());
  // A wrong image size is refused before anything runs.
  EXPECT_FALSE(referenceForward(cfg, tinyWeights(), Tensor({1, 3, 9, 8}),
                                logits, error));
  EXPECT_NE(error.find("should be [B, 3, 8, 8]"), std::string::npos) << error;
}

TEST(ReferenceModel, RejectsInconsistentConfigs) {
  struct Case {
    std::string from, to, expected;
  } cases[] = {
      {"\"mixer\": \"pool\"", "\"mixer\": \"spin\"",
       "mixer \"spin\" is unknown"},
      {"\"size\": [2, 2]", "\"size\": [3, 3]", "does not follow"},
      {"\"mlp_act\": \"gelu\"", "\"mlp_act\": \"tanh\"", "mlp_act"},
      {"\"kind\": \"linear\"", "\"kind\": \"conv\"", "head.kind"},
      {"\"downsample\": null", "\"downsample\": 3", "no downsampling"},
      {"\"num_classes\": 5", "\"num_classes\": 0", "num_classes"},
      {"\"heads\": 1}", "\"heads\": 0}", "heads must be positive"},
      {"\"eps\": 1e-5", "\"eps\": -1", "eps must be a positive"},
  };
  for (const Case &c : cases) {
    std::string text = kTinyConfig;
    size_t at = text.find(c.from);
    ASSERT_NE(at, std::string::npos) << c.from;
    text.replace(at, c.from.size(), c.to);
    ModelConfig cfg;
    std::string error;
    EXPECT_FALSE(parseModelConfig(text, cfg, error)) << c.to;
    EXPECT_NE(error.find(c.expected), std::string::npos)
        << "expected '" << c.expected << "' in: " << error;
  }
}

} // namespace
