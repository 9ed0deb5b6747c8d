//===- SafetensorsTest.cpp - the safetensors reader -----------------------===//
//
// Writes .safetensors files with SafetensorsWriter (or by hand, broken on
// purpose) and reads them back through the public C API: exact round trips,
// one test per way a file can be corrupt, truncation at every byte, random
// header damage, and the aligned copies of misaligned tensors.
//
//===----------------------------------------------------------------------===//

#include "SafetensorsWriter.h"
#include "TestUtils.h"

#include "tmixrt/tmixrt.h"

#include "gtest/gtest.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

using namespace tmixrt::test;

namespace {

/// An owning weight-file reference.
class Weights {
public:
  Weights() = default;
  ~Weights() { tmixrt_weights_release(weights); }
  Weights(const Weights &) = delete;
  Weights &operator=(const Weights &) = delete;
  tmixrt_weights *get() const { return weights; }
  tmixrt_weights **out() {
    tmixrt_weights_release(weights);
    weights = nullptr;
    return &weights;
  }

private:
  tmixrt_weights *weights = nullptr;
};

std::vector<int64_t> shapeOf(const tmixrt_weight_info *info) {
  return std::vector<int64_t>(info->shape, info->shape + info->rank);
}

std::string dataOf(const tmixrt_weight_info *info) {
  return std::string(static_cast<const char *>(info->data), info->byte_size);
}

class SafetensorsTest : public ::testing::Test {
protected:
  /// Writes `bytes` to a fresh file and returns its path.
  std::string write(const std::string &bytes, const std::string &name = "") {
    std::string path = dir.file(
        name.empty() ? "w" + std::to_string(counter++) + ".safetensors" : name);
    writeFile(path, bytes);
    return path;
  }

  TempDir dir;
  int counter = 0;
};

//===----------------------------------------------------------------------===//
// Good files
//===----------------------------------------------------------------------===//

TEST_F(SafetensorsTest, RoundTripsEveryTmixDtypeExactly) {
  // Values chosen to catch any conversion: -0, a NaN payload, subnormals,
  // extremes of each type.
  uint32_t nanBits = 0x7fc12345u;
  float nan;
  std::memcpy(&nan, &nanBits, sizeof(nan));
  std::vector<float> f32 = {1.5f, -0.0f, nan, 1e-45f, 3.4028235e38f, -7.25f};
  std::vector<uint16_t> f16 = {0x3C00, 0xC000, 0x7BFF, 0x0001, 0x8000, 0x7E00};
  std::vector<uint16_t> bf16 = {0x3F80, 0xC0A0, 0x7F7F, 0x0001};
  std::vector<int32_t> i32 = {std::numeric_limits<int32_t>::min(), -1, 0,
                              std::numeric_limits<int32_t>::max()};
  std::vector<int64_t> i64 = {std::numeric_limits<int64_t>::min(),
                              std::numeric_limits<int64_t>::max(), 42};
  std::vector<int32_t> scalar = {-77};
  std::vector<double> f64 = {0.1, -2.0};
  // In the reference writer's order (by decreasing alignment), so every
  // tensor is aligned in the mapping and nothing is copied.
  std::vector<StTensor> tensors = {
      {"layer.i64", "I64", {3}, bytesOf(i64)},
      {"double", "F64", {2}, bytesOf(f64)},
      {"layer.f32", "F32", {2, 3}, bytesOf(f32)},
      {"layer.i32", "I32", {2, 1, 2}, bytesOf(i32)},
      {"scalar", "I32", {}, bytesOf(scalar)},
      {"empty", "F32", {0, 3}, ""},
      {"layer.f16", "F16", {3, 2}, bytesOf(f16)},
      {"layer.bf16", "BF16", {4}, bytesOf(bf16)},
  };
  StMetadata metadata = {{"format", "pt"}, {"note", "caf\xC3\xA9 \"q\"\n"}};
  std::string path = write(safetensorsFile(tensors, metadata));
  Weights weights;
  ASSERT_TRUE(isOk(tmixrt_weights_open(path.c_str(), weights.out())));
  EXPECT_STREQ(tmixrt_weights_path(weights.get()), path.c_str());
  ASSERT_EQ(tmixrt_weights_count(weights.get()), tensors.size());
  EXPECT_EQ(tmixrt_weights_at(weights.get(), tensors.size()), nullptr);

  const tmixrt_dtype expectedDtypes[] = {
      TMIXRT_I64, static_cast<tmixrt_dtype>(0),
      TMIXRT_F32, TMIXRT_I32,
      TMIXRT_I32, TMIXRT_F32,
      TMIXRT_F16, TMIXRT_BF16};
  const size_t elementSizes[] = {8, 8, 4, 4, 4, 4, 2, 2};
  const char *firstData = nullptr;
  size_t offset = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    SCOPED_TRACE(tensors[i].name);
    const tmixrt_weight_info *info = tmixrt_weights_at(weights.get(), i);
    ASSERT_NE(info, nullptr);
    EXPECT_STREQ(info->name, tensors[i].name.c_str()); // header order
    EXPECT_STREQ(info->dtype_name, tensors[i].dtype.c_str());
    EXPECT_EQ(info->dtype, expectedDtypes[i]);
    EXPECT_EQ(shapeOf(info), tensors[i].shape);
    EXPECT_NE(info->shape, nullptr);
    EXPECT_EQ(info->byte_size, tensors[i].bytes.size());
    EXPECT_EQ(dataOf(info), tensors[i].bytes); // bit-exact
    EXPECT_NE(info->data, nullptr);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(info->data) % elementSizes[i], 0u);
    EXPECT_EQ(info->mapped, 1);
    // Mapped, not copied: the tensors sit back to back as in the file.
    if (info->byte_size) {
      if (!firstData)
        firstData = static_cast<const char *>(info->data);
      EXPECT_EQ(static_cast<const char *>(info->data), firstData + offset);
      offset += info->byte_size;
    }
    const tmixrt_weight_info *found = nullptr;
    ASSERT_TRUE(isOk(
        tmixrt_weights_lookup(weights.get(), tensors[i].name.c_str(), &found)));
    EXPECT_EQ(found, info);
  }
  // Typed reads, against the values written.
  auto data = [&](const char *name) {
    const tmixrt_weight_info *info = nullptr;
    EXPECT_TRUE(isOk(tmixrt_weights_lookup(weights.get(), name, &info)));
    return info ? info->data : nullptr;
  };
  const auto *f32Back = static_cast<const float *>(data("layer.f32"));
  EXPECT_EQ(f32Back[0], 1.5f);
  EXPECT_TRUE(std::signbit(f32Back[1]));
  EXPECT_TRUE(std::isnan(f32Back[2]));
  EXPECT_EQ(f32Back[4], 3.4028235e38f);
  const auto *i64Back = static_cast<const int64_t *>(data("layer.i64"));
  EXPECT_EQ(i64Back[0], std::numeric_limits<int64_t>::min());
  EXPECT_EQ(i64Back[2], 42);
  EXPECT_EQ(*static_cast<const int32_t *>(data("scalar")), -77);
  EXPECT_EQ(tmixrt_weights_at(weights.get(), 4)->rank, 0u);
  EXPECT_EQ(static_cast<const uint16_t *>(data("layer.f16"))[2], 0x7BFF);
  EXPECT_EQ(static_cast<const uint16_t *>(data("layer.bf16"))[1], 0xC0A0);
  EXPECT_EQ(static_cast<const int32_t *>(data("layer.i32"))[3],
            std::numeric_limits<int32_t>::max());

  // Metadata.
  ASSERT_EQ(tmixrt_weights_metadata_count(weights.get()), 2u);
  EXPECT_STREQ(tmixrt_weights_metadata_key(weights.get(), 0), "format");
  EXPECT_STREQ(tmixrt_weights_metadata_key(weights.get(), 1), "note");
  EXPECT_EQ(tmixrt_weights_metadata_key(weights.get(), 2), nullptr);
  EXPECT_STREQ(tmixrt_weights_metadata(weights.get(), "format"), "pt");
  EXPECT_STREQ(tmixrt_weights_metadata(weights.get(), "note"),
               "caf\xC3\xA9 \"q\"\n");
  EXPECT_EQ(tmixrt_weights_metadata(weights.get(), "nope"), nullptr);

  // Lookup failures.
  const tmixrt_weight_info *found =
      reinterpret_cast<const tmixrt_weight_info *>(1);
  EXPECT_TRUE(
      isError(tmixrt_weights_lookup(weights.get(), "layer.nope", &found),
              TMIXRT_NOT_FOUND, {"'layer.nope'", path, "8 tensor(s)"}));
  EXPECT_EQ(found, nullptr);
  EXPECT_TRUE(isError(tmixrt_weights_lookup(weights.get(), nullptr, &found),
                      TMIXRT_INVALID_ARGUMENT, {"name"}));
  EXPECT_TRUE(isError(tmixrt_weights_lookup(nullptr, "x", &found),
                      TMIXRT_INVALID_ARGUMENT, {"weight file"}));
  EXPECT_TRUE(isError(tmixrt_weights_lookup(weights.get(), "x", nullptr),
                      TMIXRT_INVALID_ARGUMENT, {"out"}));

  // Reference counting: a retained handle outlives the first release.
  tmixrt_weights *second = weights.get();
  tmixrt_weights_retain(second);
  weights.out(); // drops the first reference
  EXPECT_EQ(dataOf(tmixrt_weights_at(second, 6)), tensors[6].bytes);
  tmixrt_weights_release(second);
}

TEST_F(SafetensorsTest, EmptyFileOfTheReferenceWriterAndNullHandles) {
  // The reference implementation's serialization of no tensors.
  std::string path = write(std::string("\x08\0\0\0\0\0\0\0{}      ", 16));
  Weights weights;
  ASSERT_TRUE(isOk(tmixrt_weights_open(path.c_str(), weights.out())));
  EXPECT_EQ(tmixrt_weights_count(weights.get()), 0u);
  EXPECT_EQ(tmixrt_weights_metadata_count(weights.get()), 0u);

  EXPECT_EQ(tmixrt_weights_count(nullptr), 0u);
  EXPECT_EQ(tmixrt_weights_at(nullptr, 0), nullptr);
  EXPECT_STREQ(tmixrt_weights_path(nullptr), "");
  EXPECT_EQ(tmixrt_weights_metadata(nullptr, "k"), nullptr);
  tmixrt_weights_release(nullptr);
  tmixrt_weights_retain(nullptr);
}

TEST_F(SafetensorsTest, DecodesEveryJsonEscapeInNames) {
  // "\u00e9", a surrogate pair (U+1F600), raw UTF-8, and the short escapes.
  std::string header =
      "{ \"caf\\u00e9\" : {\"dtype\":\"I32\",\"shape\":[1],"
      "\"data_offsets\":[0,4]},\n\t\"smile\\ud83d\\ude00\\/\\\"\\\\\\n\\t"
      "\\b\\f\\r\":{\"shape\":[1],\"data_offsets\":[4,8],\"dtype\":\"I32\"},"
      "\"\xE2\x82\xAC\":{\"dtype\":\"I32\",\"shape\":[],\"data_offsets\":[8,"
      "12]} }   ";
  std::vector<int32_t> values = {1, 2, 3};
  std::string path = write(rawSafetensors(header, bytesOf(values)));
  Weights weights;
  ASSERT_TRUE(isOk(tmixrt_weights_open(path.c_str(), weights.out())));
  ASSERT_EQ(tmixrt_weights_count(weights.get()), 3u);
  EXPECT_STREQ(tmixrt_weights_at(weights.get(), 0)->name, "caf\xC3\xA9");
  EXPECT_STREQ(tmixrt_weights_at(weights.get(), 1)->name,
               "smile\xF0\x9F\x98\x80/\"\\\n\t\b\f\r");
  EXPECT_STREQ(tmixrt_weights_at(weights.get(), 2)->name, "\xE2\x82\xAC");
  const tmixrt_weight_info *info = nullptr;
  ASSERT_TRUE(isOk(tmixrt_weights_lookup(weights.get(), "caf\xC3\xA9", &info)));
  EXPECT_EQ(*static_cast<const int32_t *>(info->data), 1);
}

TEST_F(SafetensorsTest, DtypesTmixCannotUseAreParsed) {
  std::vector<StTensor> tensors = {
      {"d", "F64", {1}, std::string(8, '\1')},
      {"u64", "U64", {1}, std::string(8, '\2')},
      {"c", "C64", {1}, std::string(8, '\3')},
      {"u32", "U32", {1}, std::string(4, '\4')},
      {"h", "I16", {1}, std::string(2, '\5')},
      {"u16", "U16", {1}, std::string(2, '\6')},
      {"b", "BOOL", {3}, std::string(3, '\1')},
      {"i8", "I8", {1}, std::string(1, '\7')},
      {"u8", "U8", {1}, std::string(1, '\7')},
      {"e5", "F8_E5M2", {1}, std::string(1, '\7')},
      {"e4", "F8_E4M3", {1}, std::string(1, '\7')},
      {"e8", "F8_E8M0", {1}, std::string(1, '\7')},
      {"f4", "F4", {2, 3}, std::string(3, '\x21')},   // 6 x 4 bits
      {"f6", "F6_E2M3", {4}, std::string(3, '\x22')}, // 4 x 6 bits
      {"f6b", "F6_E3M2", {4}, std::string(3, '\x23')},
  };
  std::string path = write(safetensorsFile(tensors));
  Weights weights;
  ASSERT_TRUE(isOk(tmixrt_weights_open(path.c_str(), weights.out())));
  ASSERT_EQ(tmixrt_weights_count(weights.get()), tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    const tmixrt_weight_info *info = tmixrt_weights_at(weights.get(), i);
    EXPECT_STREQ(info->dtype_name, tensors[i].dtype.c_str());
    EXPECT_EQ(info->dtype, static_cast<tmixrt_dtype>(0)) << info->name;
    EXPECT_EQ(dataOf(info), tensors[i].bytes) << info->name;
  }
}

TEST_F(SafetensorsTest, MisalignedTensorsAreCopiedToAlignedMemory) {
  // Header padded to 8, so the data section is 8-aligned in the mapping;
  // then f16 [1] at 0 (aligned), f32 [3] at 2 and i64 [2] at 14 (both
  // misaligned), bf16 [1] at 30 (aligned).
  std::vector<float> f32 = {1.25f, -3.5f, 1e-30f};
  std::vector<int64_t> i64 = {-5, 1LL << 40};
  std::vector<StTensor> tensors = {
      {"h", "F16", {1}, bytesOf(std::vector<uint16_t>{0x3C00})},
      {"f", "F32", {3}, bytesOf(f32)},
      {"q", "I64", {2}, bytesOf(i64)},
      {"g", "BF16", {1}, bytesOf(std::vector<uint16_t>{0x4049})},
  };
  std::string path = write(safetensorsFile(tensors));
  Weights weights;
  ASSERT_TRUE(isOk(tmixrt_weights_open(path.c_str(), weights.out())));
  const tmixrt_weight_info *h = tmixrt_weights_at(weights.get(), 0);
  const tmixrt_weight_info *f = tmixrt_weights_at(weights.get(), 1);
  const tmixrt_weight_info *q = tmixrt_weights_at(weights.get(), 2);
  const tmixrt_weight_info *g = tmixrt_weights_at(weights.get(), 3);
  EXPECT_EQ(h->mapped, 1);
  EXPECT_EQ(f->mapped, 0);
  EXPECT_EQ(q->mapped, 0);
  EXPECT_EQ(g->mapped, 1);
  // The aligned ones are where the file puts them; the copies are aligned.
  EXPECT_EQ(static_cast<const char *>(g->data),
            static_cast<const char *>(h->data) + 30);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(f->data) % 4, 0u);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(q->data) % 8, 0u);
  EXPECT_EQ(dataOf(f), bytesOf(f32));
  EXPECT_EQ(dataOf(q), bytesOf(i64));
  EXPECT_EQ(static_cast<const float *>(f->data)[1], -3.5f);
  EXPECT_EQ(static_cast<const int64_t *>(q->data)[1], 1LL << 40);
  // An aligned view is what a tensor needs (wrap checks the alignment).
  Tensor wrapped;
  EXPECT_TRUE(
      isOk(tmixrt_tensor_wrap(TMIXRT_F32, f->rank, f->shape,
                              const_cast<void *>(f->data), wrapped.out())));
}

//===----------------------------------------------------------------------===//
// Refusals
//===----------------------------------------------------------------------===//

TEST_F(SafetensorsTest, MissingFilesDirectoriesAndNullArguments) {
  Weights weights;
  std::string missing = dir.file("missing.safetensors");
  EXPECT_TRUE(isError(tmixrt_weights_open(missing.c_str(), weights.out()),
                      TMIXRT_NOT_FOUND, {"cannot open", missing}));
  EXPECT_EQ(weights.get(), nullptr);
  EXPECT_TRUE(isError(tmixrt_weights_open(dir.file("").c_str(), weights.out()),
                      TMIXRT_INVALID_ARGUMENT, {"directory"}));
  EXPECT_TRUE(isError(tmixrt_weights_open("/dev/null", weights.out()),
                      TMIXRT_INVALID_ARGUMENT, {"not a regular file"}));
  EXPECT_TRUE(isError(tmixrt_weights_open(nullptr, weights.out()),
                      TMIXRT_INVALID_ARGUMENT, {"null"}));
  EXPECT_TRUE(isError(tmixrt_weights_open("", weights.out()),
                      TMIXRT_INVALID_ARGUMENT, {"empty"}));
  EXPECT_TRUE(isError(tmixrt_weights_open(missing.c_str(), nullptr),
                      TMIXRT_INVALID_ARGUMENT, {"out"}));
}

struct CorruptFile {
  const char *name;
  std::string bytes;
  std::vector<std::string> fragments;
};

void PrintTo(const CorruptFile &file, std::ostream *os) { *os << file.name; }

/// A one-tensor header around `entry`, with `data` after it.
std::string oneTensor(const std::string &entry, const std::string &data) {
  return rawSafetensors("{\"t\":" + entry + "}", data);
}

const std::string k12(12, '\x11'); // three f32 elements

std::vector<CorruptFile> corruptFiles() {
  std::string deep = "{\"__metadata__\":";
  for (int i = 0; i < 70; ++i)
    deep += "[";
  return {
      {"Empty", "", {"has 0 byte(s)", "8-byte header length"}},
      {"ShorterThanTheLength", std::string("\x05\0\0\0", 4), {"has 4 byte(s)"}},
      {"HeaderLengthBeyondTheFile",
       le64(1000) + "{}",
       {"header length is 1000 bytes, but only 2 byte(s) follow"}},
      {"HeaderLengthAbsurd",
       le64(uint64_t(1) << 62) + "{}",
       {"header length is 4611686018427387904 bytes, more than the limit"}},
      {"HeaderLengthAllOnes",
       le64(~uint64_t(0)) + "{}",
       {"header length is 18446744073709551615 bytes"}},
      {"EmptyHeader", le64(0), {"bad JSON", "expected a value, got end"}},
      {"BadJson",
       rawSafetensors("{\"t\": }"),
       {"bad JSON in the header at byte 6: expected a value, got '}'"}},
      {"TrailingGarbage",
       rawSafetensors("{} x"),
       {"at byte 3: unexpected 'x' after the JSON value"}},
      {"TrailingComma",
       rawSafetensors("{\"__metadata__\":{},}"),
       {"expected a string key, got '}'"}},
      {"NulPaddedHeader",
       rawSafetensors(std::string("{}\0\0", 4)),
       {"unexpected byte 0x00 after the JSON value"}},
      {"LeadingZero",
       oneTensor("{\"dtype\":\"F32\",\"shape\":[03],\"data_offsets\":[0,12]}",
                 k12),
       {"leading zero"}},
      {"InvalidUtf8",
       rawSafetensors("{\"\xC3\x28\":1}"),
       {"invalid UTF-8 continuation byte 0x28"}},
      {"OverlongUtf8",
       rawSafetensors("{\"\xC0\xAF\":1}"),
       {"invalid UTF-8 lead byte 0xC0"}},
      {"EncodedSurrogate",
       rawSafetensors("{\"\xED\xA0\x80\":1}"),
       {"invalid UTF-8 sequence"}},
      {"LoneLowSurrogate",
       rawSafetensors("{\"\\udc00\":1}"),
       {"lone low surrogate"}},
      {"UnpairedHighSurrogate",
       rawSafetensors("{\"\\ud800x\":1}"),
       {"high surrogate is not followed by a low one"}},
      {"ShortUnicodeEscape",
       rawSafetensors("{\"\\u12g4\":1}"),
       {"needs 4 hex digits, got 'g'"}},
      {"BadEscape",
       rawSafetensors("{\"\\x\":1}"),
       {"invalid escape character 'x' after '\\'"}},
      {"RawControlCharacter",
       rawSafetensors("{\"a\tb\":1}"),
       {"raw control character 0x09"}},
      {"UnterminatedString",
       rawSafetensors("{\"abc"),
       {"a string is not terminated"}},
      {"TooDeep", rawSafetensors(deep), {"nesting deeper than 64 levels"}},
      {"HeaderNotAnObject",
       rawSafetensors("[]"),
       {"the header is an array, expected a JSON object"}},
      {"EntryNotAnObject",
       rawSafetensors("{\"t\":[0,4]}"),
       {"tensor 't': the entry is an array, expected an object"}},
      {"MissingDtype",
       oneTensor("{\"shape\":[3],\"data_offsets\":[0,12]}", k12),
       {"tensor 't' lacks the field 'dtype'"}},
      {"MissingShape",
       oneTensor("{\"dtype\":\"F32\",\"data_offsets\":[0,12]}", k12),
       {"tensor 't' lacks the field 'shape'"}},
      {"MissingDataOffsets",
       oneTensor("{\"dtype\":\"F32\",\"shape\":[3]}", k12),
       {"tensor 't' lacks the field 'data_offsets'"}},
      {"ExtraField",
       oneTensor("{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12],"
                 "\"stride\":[1]}",
                 k12),
       {"tensor 't' has an unexpected field 'stride'"}},
      {"DuplicateField",
       oneTensor("{\"dtype\":\"F32\",\"shape\":[3],\"dtype\":\"F32\","
                 "\"data_offsets\":[0,12]}",
                 k12),
       {"tensor 't' has the field 'dtype' twice"}},
      {"DtypeNotAString",
       oneTensor("{\"dtype\":4,\"shape\":[3],\"data_offsets\":[0,12]}", k12),
       {"tensor 't': 'dtype' is 4, expected a string"}},
      {"UnknownDtype",
       oneTensor("{\"dtype\":\"F128\",\"shape\":[3],\"data_offsets\":[0,12]}",
                 k12),
       {"tensor 't' has unknown dtype 'F128'"}},
      {"LowercaseDtype",
       oneTensor("{\"dtype\":\"f32\",\"shape\":[3],\"data_offsets\":[0,12]}",
                 k12),
       {"unknown dtype 'f32'"}},
      {"ShapeNotAnArray",
       oneTensor("{\"dtype\":\"F32\",\"shape\":\"3\",\"data_offsets\":[0,12]}",
                 k12),
       {"'shape' is the string '3', expected an array"}},
      {"NegativeDimension",
       oneTensor("{\"dtype\":\"F32\",\"shape\":[1,-3],\"data_offsets\":[0,12]}",
                 k12),
       {"tensor 't': shape entry 1 is -3, expected a non-negative integer"}},
      {"FractionalDimension",
       oneTensor("{\"dtype\":\"F32\",\"shape\":[3.0],\"data_offsets\":[0,12]}",
                 k12),
       {"shape entry 0 is 3.0"}},
      {"ExponentDimension",
       oneTensor("{\"dtype\":\"F32\",\"shape\":[3e0],\"data_offsets\":[0,12]}",
                 k12),
       {"shape entry 0 is 3e0"}},
      {"DimensionBeyondInt64",
       oneTensor("{\"dtype\":\"F32\",\"shape\":[9223372036854775808],"
                 "\"data_offsets\":[0,12]}",
                 k12),
       {"shape entry 0 is 9223372036854775808"}},
      {"DimensionBeyondUint64",
       oneTensor("{\"dtype\":\"F32\",\"shape\":[99999999999999999999],"
                 "\"data_offsets\":[0,12]}",
                 k12),
       {"shape entry 0 is 99999999999999999999"}},
      {"NullDimension",
       oneTensor("{\"dtype\":\"F32\",\"shape\":[null],\"data_offsets\":[0,12]}",
                 k12),
       {"shape entry 0 is null"}},
      {"ShapeProductOverflows",
       oneTensor("{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,2],"
                 "\"data_offsets\":[0,12]}",
                 k12),
       {"shape [4294967296, 4294967296, 2] of F32 has more bytes than fit"}},
      {"ByteCountOverflows",
       oneTensor("{\"dtype\":\"I64\",\"shape\":[4611686018427387904],"
                 "\"data_offsets\":[0,12]}",
                 k12),
       {"has more bytes than fit in 64 bits"}},
      {"RankAbsurd",
       oneTensor(
           "{\"dtype\":\"F32\",\"shape\":[" +
               [] {
                 std::string ones = "3";
                 for (int i = 0; i < 64; ++i)
                   ones += ",1";
                 return ones;
               }() +
               "],\"data_offsets\":[0,12]}",
           k12),
       {"tensor 't' has rank 65, more than 64"}},
      {"SubByteDtypeNotWholeBytes",
       oneTensor("{\"dtype\":\"F4\",\"shape\":[3],\"data_offsets\":[0,2]}",
                 "\1\1"),
       {"shape [3] of F4 is not a whole number of bytes"}},
      {"OffsetsNotAPair",
       oneTensor("{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[12]}",
                 k12),
       {"'data_offsets' is an array of 1 entries, expected [begin, end]"}},
      {"OffsetsNotAnArray",
       oneTensor("{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":{}}", k12),
       {"'data_offsets' is an object, expected [begin, end]"}},
      {"NegativeOffset",
       oneTensor("{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[-4,8]}",
                 k12),
       {"data_offsets begin is -4, expected a non-negative integer"}},
      {"OffsetBeyondUint64",
       oneTensor("{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,"
                 "18446744073709551616]}",
                 k12),
       {"data_offsets end is 18446744073709551616"}},
      {"BeginAfterEnd",
       oneTensor("{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[12,4]}",
                 k12),
       {"tensor 't': data_offsets [12, 4] has begin > end"}},
      {"EndBeyondTheData",
       oneTensor("{\"dtype\":\"F32\",\"shape\":[100],\"data_offsets\":[0,400]}",
                 k12),
       {"data_offsets [0, 400] end beyond the data section, which has 12 "
        "byte(s)"}},
      {"HugeEndBeyondTheData",
       oneTensor("{\"dtype\":\"U8\",\"shape\":[9223372036854775807],"
                 "\"data_offsets\":[0,9223372036854775807]}",
                 k12),
       {"end beyond the data section"}},
      {"ByteSizeDiffersFromShape",
       oneTensor("{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,12]}",
                 k12),
       {"tensor 't' has 12 byte(s) (data_offsets [0, 12]), but shape [2] of "
        "F32 needs 8"}},
      {"OverlappingTensors",
       rawSafetensors(
           "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
           "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
           k12),
       {"tensor 'b' (bytes [4, 12)) overlaps tensor 'a' (bytes [0, 8))"}},
      {"SameRangeTwice",
       rawSafetensors(
           "{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12]},"
           "\"b\":{\"dtype\":\"I32\",\"shape\":[3],\"data_offsets\":[0,12]}}",
           k12),
       {"overlaps tensor"}},
      {"EmptyTensorInsideAnother",
       rawSafetensors(
           "{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12]},"
           "\"e\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,4]}}",
           k12),
       {"tensor 'e' (bytes [4, 4)) overlaps tensor 'a' (bytes [0, 12))"}},
      {"HoleBetweenTensors",
       rawSafetensors(
           "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
           "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}",
           k12),
       {"bytes [4, 8) of the data section belong to no tensor"}},
      {"BytesAfterTheLastTensor",
       oneTensor("{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}",
                 k12),
       {"the last 4 byte(s) of the data section (from byte 8 of 12) belong "
        "to no tensor"}},
      {"DataWithoutTensors",
       rawSafetensors("{}", k12),
       {"the last 12 byte(s)"}},
      {"DuplicateName",
       rawSafetensors(
           "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
           "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
           k12),
       {"tensor 'a' appears twice in the header"}},
      {"NulInName",
       rawSafetensors("{\"a\\u0000b\":{\"dtype\":\"F32\",\"shape\":[3],"
                      "\"data_offsets\":[0,12]}}",
                      k12),
       {"tensor 'a\\x00b': the name contains a NUL character"}},
      {"MetadataNotAnObject",
       rawSafetensors("{\"__metadata__\":\"pt\"}"),
       {"'__metadata__' is a string, expected an object of strings"}},
      {"MetadataValueNotAString",
       rawSafetensors("{\"__metadata__\":{\"epoch\":3}}"),
       {"'__metadata__' entry 'epoch' is 3, expected a string"}},
      {"MetadataTwice",
       rawSafetensors("{\"__metadata__\":{},\"__metadata__\":{}}"),
       {"the header has '__metadata__' twice"}},
      {"MetadataKeyTwice",
       rawSafetensors("{\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"}}"),
       {"'__metadata__' has the key 'k' twice"}},
      {"MetadataWithNul",
       rawSafetensors("{\"__metadata__\":{\"k\":\"a\\u0000\"}}"),
       {"'__metadata__' entry 'k' contains a NUL character"}},
  };
}

class CorruptFileTest : public ::testing::TestWithParam<CorruptFile> {};

TEST_P(CorruptFileTest, IsRefusedWithAClearMessage) {
  const CorruptFile &file = GetParam();
  TempDir dir;
  std::string path = dir.file("bad.safetensors");
  writeFile(path, file.bytes);
  tmixrt_weights *weights = reinterpret_cast<tmixrt_weights *>(1);
  tmixrt_status status = tmixrt_weights_open(path.c_str(), &weights);
  EXPECT_EQ(weights, nullptr);
  std::vector<std::string> fragments = {"'" + path +
                                        "' is not a valid safetensors file: "};
  fragments.insert(fragments.end(), file.fragments.begin(),
                   file.fragments.end());
  testing::AssertionResult result =
      isError(status, TMIXRT_INVALID_ARGUMENT, {});
  // isError takes an initializer list; check the fragments one by one.
  ASSERT_TRUE(result);
  std::string message = result.message();
  for (const std::string &fragment : fragments)
    EXPECT_NE(message.find(fragment), std::string::npos)
        << "\"" << message << "\" lacks \"" << fragment << "\"";
}

INSTANTIATE_TEST_SUITE_P(Safetensors, CorruptFileTest,
                         ::testing::ValuesIn(corruptFiles()),
                         [](const ::testing::TestParamInfo<CorruptFile> &info) {
                           return std::string(info.param.name);
                         });

//===----------------------------------------------------------------------===//
// Damage
//===----------------------------------------------------------------------===//

std::vector<StTensor> smallModel() {
  return {
      {"stem.weight",
       "F32",
       {2, 3},
       bytesOf(std::vector<float>{1, 2, 3, 4, 5, 6})},
      {"stem.bias", "F16", {3}, bytesOf(std::vector<uint16_t>{1, 2, 3})},
      {"head.index", "I64", {1}, bytesOf(std::vector<int64_t>{9})},
  };
}

TEST_F(SafetensorsTest, TruncationAtEveryByteIsAnError) {
  std::string file = safetensorsFile(smallModel(), {{"format", "pt"}});
  std::string path = dir.file("truncated.safetensors");
  for (size_t size = 0; size < file.size(); ++size) {
    writeFile(path, file.substr(0, size));
    tmixrt_weights *weights = nullptr;
    tmixrt_status status = tmixrt_weights_open(path.c_str(), &weights);
    ASSERT_NE(status, nullptr) << "a file cut to " << size << " of "
                               << file.size() << " bytes was accepted";
    EXPECT_EQ(tmixrt_status_code(status), TMIXRT_INVALID_ARGUMENT);
    std::string message = tmixrt_status_message(status);
    EXPECT_NE(message.find("is not a valid safetensors file"),
              std::string::npos)
        << message;
    tmixrt_status_free(status);
    EXPECT_EQ(weights, nullptr);
  }
  writeFile(path, file);
  Weights weights;
  EXPECT_TRUE(isOk(tmixrt_weights_open(path.c_str(), weights.out())));
}

TEST_F(SafetensorsTest, RandomDamageToTheHeaderNeverCrashes) {
  std::string file = safetensorsFile(smallModel(), {{"format", "pt"}});
  size_t headerEnd = 8 + static_cast<unsigned char>(file[0]) +
                     256 * static_cast<unsigned char>(file[1]);
  ASSERT_LT(headerEnd, file.size());
  std::mt19937 random(1234);
  std::string path = dir.file("damaged.safetensors");
  int accepted = 0;
  for (int iteration = 0; iteration < 1000; ++iteration) {
    std::string damaged = file;
    int flips = 1 + static_cast<int>(random() % 3);
    for (int f = 0; f < flips; ++f) {
      size_t at = random() % headerEnd;
      // Mostly single-bit flips, sometimes a JSON-significant character.
      const char special[] = "{}[]\",:\\0-9e ";
      if (random() % 4)
        damaged[at] = static_cast<char>(damaged[at] ^ (1 << (random() % 8)));
      else
        damaged[at] = special[random() % (sizeof(special) - 1)];
    }
    writeFile(path, damaged);
    tmixrt_weights *weights = nullptr;
    tmixrt_status status = tmixrt_weights_open(path.c_str(), &weights);
    if (status) {
      EXPECT_EQ(tmixrt_status_code(status), TMIXRT_INVALID_ARGUMENT)
          << tmixrt_status_message(status);
      tmixrt_status_free(status);
      EXPECT_EQ(weights, nullptr);
      continue;
    }
    // Still a consistent file (e.g. a flipped name or metadata byte): every
    // tensor's bytes are readable and match its shape.
    ++accepted;
    for (size_t i = 0; i < tmixrt_weights_count(weights); ++i) {
      const tmixrt_weight_info *info = tmixrt_weights_at(weights, i);
      unsigned sum = 0;
      for (size_t b = 0; b < info->byte_size; ++b)
        sum += static_cast<const unsigned char *>(info->data)[b];
      (void)sum;
    }
    tmixrt_weights_release(weights);
  }
  // Most damage is caught; some (inside a name) is harmless.
  EXPECT_GT(accepted, 0);
  EXPECT_LT(accepted, 500);
}

} // namespace
