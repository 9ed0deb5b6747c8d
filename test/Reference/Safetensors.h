//===- Safetensors.h - strict .safetensors reader (reference side) -*- C++
//-*-===//
//
// Reads a whole .safetensors file into double tensors for the references:
//
//   u64 little-endian N | N bytes of JSON header | data buffer
//
// The header is a JSON object; "__metadata__" (optional) maps strings to
// strings; every other member is a tensor {"dtype", "shape", "data_offsets"}
// with exactly those keys. Accepted dtypes: F32, F64, F16, BF16 (converted to
// double). Refused, each with a message: a file shorter than 8 bytes, a header
// length of 0, over 100 MB or past the end of the file, a header that is not
// strict JSON or does not start with '{', unknown keys or dtypes, negative or
// non-integer sizes, offsets that are reversed, past the data buffer or do not
// match dtype x shape, tensors that overlap, and bytes of the data buffer that
// no tensor covers (the format forbids holes). Independent of libtmixrt's own
// reader, on purpose. Used only by tests.
//
//===----------------------------------------------------------------------===//

#ifndef TMIX_TEST_REFERENCE_SAFETENSORS_H
#define TMIX_TEST_REFERENCE_SAFETENSORS_H

#include "Reference/Tensor.h"

#include <cstddef>
#include <map>
#include <string>
#include <vector>

namespace tmix::ref {

struct SafetensorsFile {
  /// "__metadata__", if present.
  std::map<std::string, std::string> metadata;
  /// Tensor names in header order.
  std::vector<std::string> names;
  /// dtype as written ("F32", ...) per tensor.
  std::map<std::string, std::string> dtypes;
  std::map<std::string, Tensor> tensors;
};

/// Parses the file image `bytes[0..size)`. On failure returns false, sets
/// `error` and leaves `out` empty.
bool parseSafetensors(const void *bytes, size_t size, SafetensorsFile &out,
                      std::string &error);

/// Reads and parses the file at `path`; errors start with the path.
bool readSafetensors(const std::string &path, SafetensorsFile &out,
                     std::string &error);

} // namespace tmix::ref

#endif // TMIX_TEST_REFERENCE_SAFETENSORS_H
