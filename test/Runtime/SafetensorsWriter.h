//===- SafetensorsWriter.h - .safetensors images for the tests --*- C++ -*-===//
//
// A tiny writer that lays files out the way the reference implementation
// does (header padded with spaces to a multiple of 8, tensors back to back in
// the given order), and helpers to build deliberately broken ones. Shares no
// code with the reader in runtime/src.
//
//===----------------------------------------------------------------------===//

#ifndef TMIXRT_TEST_RUNTIME_SAFETENSORSWRITER_H
#define TMIXRT_TEST_RUNTIME_SAFETENSORSWRITER_H

#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

namespace tmixrt::test {

struct StTensor {
  std::string name;
  std::string dtype; // "F32", "BF16", ...
  std::vector<int64_t> shape;
  std::string bytes; // raw little-endian data
};

using StMetadata = std::vector<std::pair<std::string, std::string>>;

/// `text` as a JSON string literal (quotes, backslashes, control characters
/// escaped; other bytes verbatim).
std::string jsonString(const std::string &text);

/// The JSON header for `tensors` laid out back to back in order.
std::string safetensorsHeader(const std::vector<StTensor> &tensors,
                              const StMetadata &metadata = {});

/// A complete file: length, header (padded with spaces to a multiple of 8
/// when `pad`), data.
std::string safetensorsFile(const std::vector<StTensor> &tensors,
                            const StMetadata &metadata = {}, bool pad = true);

/// A file with `header` verbatim (its length from its size) and `data`.
std::string rawSafetensors(const std::string &header,
                           const std::string &data = std::string());

/// The 8-byte little-endian encoding of `value`.
std::string le64(uint64_t value);

/// The bytes of `values`.
template <typename T>
std::string bytesOf(const std::vector<T> &values) {
  std::string bytes(values.size() * sizeof(T), '\0');
  if (!values.empty())
    std::memcpy(&bytes[0], values.data(), bytes.size());
  return bytes;
}

} // namespace tmixrt::test

#endif // TMIXRT_TEST_RUNTIME_SAFETENSORSWRITER_H
