//===- Safetensors.h - weight files, privately ------------------*- C++ -*-===//
//
// The definition behind the opaque tmixrt_weights handle: a memory-mapped
// .safetensors file whose header has been parsed and checked completely.
// Immutable after tmixrt_weights_open, so any number of threads may read it.
//
//===----------------------------------------------------------------------===//

#ifndef TMIXRT_SRC_SAFETENSORS_H
#define TMIXRT_SRC_SAFETENSORS_H

#include "Internal.h"

#include <unordered_map>
#include <utility>

namespace tmixrt {

/// One tensor of the file. `info` points into the other fields, so entries
/// live behind unique_ptr and never move.
struct WeightEntry {
  std::string name;
  std::string dtypeName; // the file's spelling, e.g. "BF16"
  tmixrt_dtype dtype{};  // 0 when tmix has no such dtype
  std::vector<int64_t> shape;
  uint64_t begin = 0, end = 0; // data_offsets, relative to the data section
  void *copy = nullptr;        // an aligned copy when the mapping is misaligned
  tmixrt_weight_info info = {};

  WeightEntry() = default;
  WeightEntry(const WeightEntry &) = delete;
  WeightEntry &operator=(const WeightEntry &) = delete;
  ~WeightEntry();
};

} // namespace tmixrt

struct tmixrt_weights {
  std::atomic<int> refs{1};
  std::string path;
  void *mapping = nullptr; // the whole file, PROT_READ
  size_t mappingSize = 0;
  /// In the order of the file's header.
  std::vector<std::unique_ptr<tmixrt::WeightEntry>> tensors;
  std::unordered_map<std::string, size_t> byName;
  /// The "__metadata__" object, in the header's order.
  std::vector<std::pair<std::string, std::string>> metadata;

  tmixrt_weights() = default;
  tmixrt_weights(const tmixrt_weights &) = delete;
  tmixrt_weights &operator=(const tmixrt_weights &) = delete;
  ~tmixrt_weights();

  /// The entry named `name`, or null.
  const tmixrt::WeightEntry *find(const std::string &name) const;
};

#endif // TMIXRT_SRC_SAFETENSORS_H
