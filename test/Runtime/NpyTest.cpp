//===- NpyTest.cpp - the .npy reader and writer ---------------------------===//

#include "TestUtils.h"

#include "tmixrt/npy.h"

#include "gtest/gtest.h"

#include <cstring>
#include <string>
#include <vector>

using namespace tmixrt::test;

namespace {

/// A .npy image: magic, version, header length, `header` (padded as NumPy
/// does when `pad`), then `data`.
std::string npyImage(const std::string &header, const std::string &data,
                     unsigned major = 1, unsigned minor = 0, bool pad = true) {
  std::string text = header;
  size_t preamble = major == 1 ? 10 : 12;
  if (pad) {
    size_t total = (preamble + text.size() + 1 + 63) / 64 * 64;
    text.append(total - preamble - text.size() - 1, ' ');
    text += '\n';
  }
  std::string image("\x93NUMPY", 6);
  image += static_cast<char>(major);
  image += static_cast<char>(minor);
  size_t length = text.size();
  for (size_t i = 0; i < (major == 1 ? 2u : 4u); ++i)
    image += static_cast<char>((length >> (8 * i)) & 0xff);
  return image + text + data;
}

std::string floats(std::vector<float> values) {
  return std::string(reinterpret_cast<const char *>(values.data()),
                     values.size() * sizeof(float));
}

const char kHeader22[] =
    "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }";

tmixrt_status parse(const std::string &image, Tensor &tensor) {
  return tmixrt_npy_parse(image.data(), image.size(), tensor.out());
}

TEST(NpyTest, RoundTripsF32) {
  TempDir dir;
  std::string path = dir.file("a.npy");
  Tensor tensor = makeF32({2, 3}, {1.5f, -2, 3, 4, 5, 6.25f});
  ASSERT_TRUE(isOk(tmixrt_npy_write(path.c_str(), tensor.get())));
  std::string bytes = readFile(path);
  ASSERT_GE(bytes.size(), 10u);
  EXPECT_EQ(bytes.compare(0, 6, "\x93NUMPY"), 0);
  EXPECT_EQ(bytes[6], 1);
  EXPECT_EQ(bytes[7], 0);
  size_t headerLength = static_cast<unsigned char>(bytes[8]) |
                        static_cast<unsigned char>(bytes[9]) << 8;
  EXPECT_EQ((10 + headerLength) % 64, 0u);
  EXPECT_EQ(bytes.size(), 10 + headerLength + 24);
  std::string header = bytes.substr(10, headerLength);
  EXPECT_NE(header.find("{'descr': '<f4', 'fortran_order': False, 'shape': "
                        "(2, 3), }"),
            std::string::npos)
      << header;
  EXPECT_EQ(header.back(), '\n');

  Tensor back;
  ASSERT_TRUE(isOk(tmixrt_npy_read(path.c_str(), back.out())));
  EXPECT_EQ(tmixrt_tensor_dtype(back.get()), TMIXRT_F32);
  EXPECT_EQ(back.shape(), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(std::memcmp(back.f32(), tensor.f32(), 24), 0);
}

TEST(NpyTest, RoundTripsOtherDtypesAndRanks) {
  TempDir dir;
  struct Case {
    tmixrt_dtype dtype;
    std::vector<int64_t> shape;
    const char *shapeText;
  } cases[] = {{TMIXRT_F16, {5}, "(5,)"},
               {TMIXRT_I32, {2, 1, 3}, "(2, 1, 3)"},
               {TMIXRT_I64, {}, "()"},
               {TMIXRT_F32, {0, 3}, "(0, 3)"},
               {TMIXRT_F32, {1, 1, 1, 1, 1, 2}, "(1, 1, 1, 1, 1, 2)"}};
  for (const Case &c : cases) {
    Tensor tensor;
    ASSERT_TRUE(isOk(tmixrt_tensor_create(c.dtype, c.shape.size(),
                                          c.shape.data(), tensor.out())));
    auto *bytes =
        static_cast<unsigned char *>(tmixrt_tensor_data(tensor.get()));
    for (size_t i = 0; i < tmixrt_tensor_byte_size(tensor.get()); ++i)
      bytes[i] = static_cast<unsigned char>(i * 7 + 3);
    std::string path = dir.file("t.npy");
    ASSERT_TRUE(isOk(tmixrt_npy_write(path.c_str(), tensor.get())));
    EXPECT_NE(readFile(path).find(std::string("'shape': ") + c.shapeText),
              std::string::npos)
        << c.shapeText;
    Tensor back;
    ASSERT_TRUE(isOk(tmixrt_npy_read(path.c_str(), back.out())));
    EXPECT_EQ(tmixrt_tensor_dtype(back.get()), c.dtype);
    EXPECT_EQ(back.shape(), c.shape);
    ASSERT_EQ(tmixrt_tensor_byte_size(back.get()),
              tmixrt_tensor_byte_size(tensor.get()));
    EXPECT_EQ(std::memcmp(tmixrt_tensor_data(back.get()), bytes,
                          tmixrt_tensor_byte_size(tensor.get())),
              0);
  }
}

TEST(NpyTest, ReadsNumPyStyleHeadersOfAllVersions) {
  std::string data = floats({1, 2, 3, 4});
  for (unsigned major : {1u, 2u, 3u}) {
    Tensor tensor;
    ASSERT_TRUE(isOk(parse(npyImage(kHeader22, data, major), tensor)))
        << "version " << major;
    EXPECT_EQ(tensor.shape(), (std::vector<int64_t>{2, 2}));
    EXPECT_EQ(tensor.f32()[3], 4.0f);
  }
  // Key order, quotes, spacing and Python 2 longs vary between writers.
  Tensor tensor;
  EXPECT_TRUE(isOk(parse(npyImage("{\"shape\":(2L,2L),\"fortran_order\":"
                                  "False,\"descr\":\"<f4\"}",
                                  data, 1, 0, false),
                         tensor)));
  EXPECT_EQ(tensor.shape(), (std::vector<int64_t>{2, 2}));
  for (const char *descr : {"<f2", "<i4", "<i8"}) {
    std::string header = std::string("{'descr': '") + descr +
                         "', 'fortran_order': False, 'shape': (2,), }";
    size_t size = descr[2] == '8' ? 8 : descr[2] == '4' ? 4 : 2;
    EXPECT_TRUE(
        isOk(parse(npyImage(header, std::string(2 * size, '\0')), tensor)))
        << descr;
  }
}

TEST(NpyTest, WriteRefusesBf16AndBadPaths) {
  TempDir dir;
  const int64_t shape[] = {2};
  Tensor bf16;
  ASSERT_TRUE(isOk(tmixrt_tensor_create(TMIXRT_BF16, 1, shape, bf16.out())));
  std::string path = dir.file("bf16.npy");
  EXPECT_TRUE(isError(tmixrt_npy_write(path.c_str(), bf16.get()),
                      TMIXRT_INVALID_ARGUMENT, {"no bf16 dtype"}));
  Tensor f32 = makeF32({2});
  std::string missing = dir.file("no/such/dir/x.npy");
  EXPECT_TRUE(isError(tmixrt_npy_write(missing.c_str(), f32.get()),
                      TMIXRT_NOT_FOUND, {missing}));
  EXPECT_TRUE(isError(tmixrt_npy_write(path.c_str(), nullptr),
                      TMIXRT_INVALID_ARGUMENT, {"tensor is null"}));
}

TEST(NpyTest, ReadReportsMissingFilesAndDirectories) {
  TempDir dir;
  Tensor tensor;
  std::string missing = dir.file("missing.npy");
  EXPECT_TRUE(isError(tmixrt_npy_read(missing.c_str(), tensor.out()),
                      TMIXRT_NOT_FOUND, {missing}));
  EXPECT_TRUE(isError(tmixrt_npy_read(dir.file("").c_str(), tensor.out()),
                      TMIXRT_INVALID_ARGUMENT, {"not a regular file"}));
}

struct BadNpy {
  const char *name;
  std::string image;
  std::vector<std::string> fragments;
};

void PrintTo(const BadNpy &bad, std::ostream *os) { *os << bad.name; }

class BadNpyTest : public ::testing::TestWithParam<BadNpy> {};

TEST_P(BadNpyTest, IsRefusedFromMemoryAndFromFile) {
  const BadNpy &bad = GetParam();
  Tensor tensor;
  tmixrt_status status =
      tmixrt_npy_parse(bad.image.data(), bad.image.size(), tensor.out());
  EXPECT_EQ(tensor.get(), nullptr);
  ASSERT_NE(status, nullptr);
  std::string message = tmixrt_status_message(status);
  EXPECT_EQ(tmixrt_status_code(status), TMIXRT_INVALID_ARGUMENT) << message;
  tmixrt_status_free(status);
  for (const std::string &fragment : bad.fragments)
    EXPECT_NE(message.find(fragment), std::string::npos)
        << "\"" << message << "\" lacks \"" << fragment << "\"";

  TempDir dir;
  std::string path = dir.file("bad.npy");
  writeFile(path, bad.image);
  status = tmixrt_npy_read(path.c_str(), tensor.out());
  ASSERT_NE(status, nullptr);
  message = tmixrt_status_message(status);
  EXPECT_EQ(tmixrt_status_code(status), TMIXRT_INVALID_ARGUMENT) << message;
  tmixrt_status_free(status);
  EXPECT_EQ(message.rfind(path, 0), 0u) << message;
  for (const std::string &fragment : bad.fragments)
    EXPECT_NE(message.find(fragment), std::string::npos)
        << "\"" << message << "\" lacks \"" << fragment << "\"";
}

std::string withDescr(const char *descr) {
  return npyImage(std::string("{'descr': '") + descr +
                      "', 'fortran_order': False, 'shape': (2, 2), }",
                  floats({1, 2, 3, 4}));
}

std::string versioned(unsigned major, unsigned minor) {
  std::string image = npyImage(kHeader22, floats({1, 2, 3, 4}));
  image[6] = static_cast<char>(major);
  image[7] = static_cast<char>(minor);
  return image;
}

std::string headerPastEnd() {
  std::string image = npyImage(kHeader22, floats({1, 2, 3, 4}));
  image[8] = '\xff';
  image[9] = '\x7f';
  return image;
}

INSTANTIATE_TEST_SUITE_P(
    Runtime, BadNpyTest,
    ::testing::Values(
        BadNpy{"BadMagic",
               "\x93NUMPZ\x01\x00" + std::string(60, ' '),
               {"not a .npy file"}},
        BadNpy{"TooShort", std::string("\x93NU", 3), {"not a .npy file"}},
        BadNpy{"Version4",
               versioned(4, 0),
               {"unsupported .npy format version 4.0"}},
        BadNpy{"Version1_1",
               versioned(1, 1),
               {"unsupported .npy format version 1.1"}},
        BadNpy{"BigEndian",
               withDescr(">f4"),
               {"big-endian dtype '>f4' is not supported"}},
        BadNpy{"Float64", withDescr("<f8"), {"unsupported dtype '<f8'"}},
        BadNpy{"Object", withDescr("|O"), {"unsupported dtype '|O'"}},
        BadNpy{"Structured",
               npyImage("{'descr': [('a', '<f4')], 'fortran_order': False, "
                        "'shape': (2, 2), }",
                        floats({1, 2, 3, 4})),
               {"structured dtypes are not supported"}},
        BadNpy{"FortranOrder",
               npyImage("{'descr': '<f4', 'fortran_order': True, "
                        "'shape': (2, 2), }",
                        floats({1, 2, 3, 4})),
               {"fortran_order True"}},
        BadNpy{"TruncatedData",
               npyImage(kHeader22, floats({1, 2, 3})),
               {"truncated data", "[2, 2] of f32 needs 16 data bytes, but 12 "
                                  "follow the header"}},
        BadNpy{"TrailingData",
               npyImage(kHeader22, floats({1, 2, 3, 4, 5})),
               {"size mismatch", "needs 16 data bytes, but 20"}},
        BadNpy{
            "NoShape",
            npyImage("{'descr': '<f4', 'fortran_order': False, }", floats({1})),
            {"the header has no 'shape'"}},
        BadNpy{
            "NoDescr",
            npyImage("{'fortran_order': False, 'shape': (1,), }", floats({1})),
            {"the header has no 'descr'"}},
        BadNpy{"HeaderPastEnd",
               headerPastEnd(),
               {"header length 32767 points past the end of the file"}},
        BadNpy{"UnclosedDict",
               npyImage("{'descr': '<f4', 'fortran_order': False, "
                        "'shape': (2, 2)",
                        floats({1, 2, 3, 4})),
               {"malformed header dict"}},
        BadNpy{"NotADict", npyImage("[1, 2]", ""), {"not a Python dict"}},
        BadNpy{"UnknownKey",
               npyImage("{'descr': '<f4', 'fortran_order': False, "
                        "'shape': (1,), 'extra': 1}",
                        floats({1})),
               {"unexpected key 'extra'"}},
        BadNpy{"RepeatedKey",
               npyImage("{'descr': '<f4', 'descr': '<f4', "
                        "'fortran_order': False, 'shape': (1,)}",
                        floats({1})),
               {"repeats 'descr'"}},
        BadNpy{"NegativeDim",
               npyImage("{'descr': '<f4', 'fortran_order': False, "
                        "'shape': (-1, 2), }",
                        floats({1, 2})),
               {"negative dimension"}},
        BadNpy{"ShapeNotInts",
               npyImage("{'descr': '<f4', 'fortran_order': False, "
                        "'shape': (2.5,), }",
                        floats({1, 2})),
               {"'shape' is not a tuple of integers"}},
        BadNpy{"AbsurdSize",
               npyImage("{'descr': '<f4', 'fortran_order': False, "
                        "'shape': (1000000000000, 1000000000000), }",
                        floats({1})),
               {"absurdly large"}},
        BadNpy{"HugeButTruncated",
               npyImage("{'descr': '<f4', 'fortran_order': False, "
                        "'shape': (100000000000,), }",
                        floats({1})),
               {"truncated data"}},
        BadNpy{"Rank7",
               npyImage("{'descr': '<f4', 'fortran_order': False, "
                        "'shape': (1, 1, 1, 1, 1, 1, 1), }",
                        floats({1})),
               {"more than 6 dimensions"}}),
    [](const ::testing::TestParamInfo<BadNpy> &info) {
      return std::string(info.param.name);
    });

} // namespace
