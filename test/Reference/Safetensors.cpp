//===- Safetensors.cpp - strict .safetensors reader (reference side) ------===//

#include "Reference/Safetensors.h"

#include "Reference/Json.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>

using namespace tmix::ref;

namespace {

constexpr uint64_t kMaxHeader = 100000000; // as the reference implementation

bool hostIsLittleEndian() {
  const uint16_t one = 1;
  unsigned char first;
  std::memcpy(&first, &one, 1);
  return first == 1;
}

uint64_t readU64(const unsigned char *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i)
    v = (v << 8) | p[i];
  return v;
}

double halfToDouble(uint16_t h) {
  const int sign = (h >> 15) & 1;
  const int exponent = (h >> 10) & 0x1F;
  const int mantissa = h & 0x3FF;
  double v;
  if (exponent == 0)
    v = std::ldexp(static_cast<double>(mantissa), -24);
  else if (exponent == 31)
    v = mantissa ? std::numeric_limits<double>::quiet_NaN()
                 : std::numeric_limits<double>::infinity();
  else
    v = std::ldexp(static_cast<double>(mantissa + 1024), exponent - 25);
  return sign ? -v : v;
}

size_t dtypeSize(const std::string &dtype) {
  if (dtype == "F32")
    return 4;
  if (dtype == "F64")
    return 8;
  if (dtype == "F16" || dtype == "BF16")
    return 2;
  return 0;
}

void convert(const std::string &dtype, const unsigned char *p, size_t count,
             std::vector<double> &out) {
  out.resize(count);
  for (size_t i = 0; i < count; ++i) {
    if (dtype == "F32") {
      float f;
      std::memcpy(&f, p + 4 * i, 4);
      out[i] = f;
    } else if (dtype == "F64") {
      std::memcpy(&out[i], p + 8 * i, 8);
    } else if (dtype == "F16") {
      uint16_t h;
      std::memcpy(&h, p + 2 * i, 2);
      out[i] = halfToDouble(h);
    } else { // BF16: the high half of an f32
      uint16_t h;
      std::memcpy(&h, p + 2 * i, 2);
      uint32_t bits = static_cast<uint32_t>(h) << 16;
      float f;
      std::memcpy(&f, &bits, 4);
      out[i] = f;
    }
  }
}

struct Entry {
  std::string name, dtype;
  std::vector<int64_t> shape;
  uint64_t begin = 0, end = 0;
};

bool readEntry(const std::string &name, const JsonValue &value, Entry &entry,
               std::string &error) {
  const std::string where = "tensor '" + name + "'";
  if (!value.isObject()) {
    error = where + " is not a JSON object";
    return false;
  }
  for (const auto &member : value.object)
    if (member.first != "dtype" && member.first != "shape" &&
        member.first != "data_offsets") {
      error = where + " has unknown key '" + member.first + "'";
      return false;
    }
  const JsonValue *dtype = value.find("dtype");
  const JsonValue *shape = value.find("shape");
  const JsonValue *offsets = value.find("data_offsets");
  if (!dtype || !shape || !offsets) {
    error = where + " lacks " +
            (!dtype   ? "dtype"
             : !shape ? "shape"
                      : "data_offsets");
    return false;
  }
  if (!dtype->isString() || dtypeSize(dtype->string) == 0) {
    error = where + " has unsupported dtype " +
            (dtype->isString() ? "'" + dtype->string + "'" : "(not a string)") +
            "; supported: F32, F64, F16, BF16";
    return false;
  }
  entry.name = name;
  entry.dtype = dtype->string;
  if (!shape->isArray()) {
    error = where + ": shape is not an array";
    return false;
  }
  uint64_t count = 1;
  for (const JsonValue &d : shape->array) {
    if (!d.isNumber() || !d.isInteger || d.integer < 0) {
      error = where + ": shape entries must be non-negative integers";
      return false;
    }
    if (d.integer != 0 && count > std::numeric_limits<uint64_t>::max() / 16 /
                                      static_cast<uint64_t>(d.integer)) {
      error = where + ": shape is too large";
      return false;
    }
    count *= static_cast<uint64_t>(d.integer);
    entry.shape.push_back(d.integer);
  }
  if (!offsets->isArray() || offsets->array.size() != 2) {
    error = where + ": data_offsets must be [begin, end]";
    return false;
  }
  for (const JsonValue &o : offsets->array)
    if (!o.isNumber() || !o.isInteger || o.integer < 0) {
      error = where + ": data_offsets must be non-negative integers";
      return false;
    }
  entry.begin = static_cast<uint64_t>(offsets->array[0].integer);
  entry.end = static_cast<uint64_t>(offsets->array[1].integer);
  if (entry.end < entry.begin) {
    error = where + ": data_offsets [" + std::to_string(entry.begin) + ", " +
            std::to_string(entry.end) + "] are reversed";
    return false;
  }
  const uint64_t bytes = count * dtypeSize(entry.dtype);
  if (entry.end - entry.begin != bytes) {
    error = where + ": data_offsets span " +
            std::to_string(entry.end - entry.begin) + " bytes but " +
            entry.dtype + " " + Tensor::shapeToString(entry.shape) + " needs " +
            std::to_string(bytes);
    return false;
  }
  return true;
}

} // namespace

bool tmix::ref::parseSafetensors(const void *data, size_t size,
                                 SafetensorsFile &out, std::string &error) {
  out = SafetensorsFile();
  if (!hostIsLittleEndian()) {
    error = "the safetensors reader needs a little-endian host";
    return false;
  }
  const auto *bytes = static_cast<const unsigned char *>(data);
  if (size < 8) {
    error = "file of " + std::to_string(size) +
            " bytes is too short for a safetensors header length";
    return false;
  }
  const uint64_t headerSize = readU64(bytes);
  if (headerSize == 0 || headerSize > kMaxHeader) {
    error = "header length " + std::to_string(headerSize) +
            " is out of range (1 to " + std::to_string(kMaxHeader) + ")";
    return false;
  }
  if (headerSize > size - 8) {
    error = "header length " + std::to_string(headerSize) +
            " runs past the end of the file (" + std::to_string(size) +
            " bytes)";
    return false;
  }
  std::string_view headerText(reinterpret_cast<const char *>(bytes + 8),
                              headerSize);
  if (headerText.front() != '{') {
    error = "header does not start with '{'";
    return false;
  }
  JsonValue header;
  std::string jsonError;
  if (!parseJson(headerText, header, jsonError)) {
    error = "header: " + jsonError;
    return false;
  }
  if (!header.isObject()) {
    error = "header is not a JSON object";
    return false;
  }
  const uint64_t dataSize = size - 8 - headerSize;
  const unsigned char *buffer = bytes + 8 + headerSize;
  SafetensorsFile file;
  std::vector<Entry> entries;
  for (const auto &member : header.object) {
    if (member.first == "__metadata__") {
      if (!member.second.isObject()) {
        error = "__metadata__ is not a JSON object";
        return false;
      }
      for (const auto &m : member.second.object) {
        if (!m.second.isString()) {
          error = "__metadata__ value of '" + m.first + "' is not a string";
          return false;
        }
        file.metadata[m.first] = m.second.string;
      }
      continue;
    }
    Entry entry;
    if (!readEntry(member.first, member.second, entry, error))
      return false;
    if (entry.end > dataSize) {
      error = "tensor '" + entry.name + "': data_offsets end " +
              std::to_string(entry.end) + " is past the data buffer of " +
              std::to_string(dataSize) + " bytes";
      return false;
    }
    entries.push_back(std::move(entry));
  }
  // Sorted by offset, the tensors must tile the data buffer exactly.
  std::vector<const Entry *> sorted;
  for (const Entry &e : entries)
    sorted.push_back(&e);
  std::sort(sorted.begin(), sorted.end(), [](const Entry *a, const Entry *b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  uint64_t cursor = 0;
  for (const Entry *e : sorted) {
    if (e->begin < cursor) {
      error = "tensor '" + e->name + "' overlaps another tensor at byte " +
              std::to_string(e->begin);
      return false;
    }
    if (e->begin > cursor) {
      error = "bytes " + std::to_string(cursor) + " to " +
              std::to_string(e->begin) +
              " of the data buffer belong to no tensor";
      return false;
    }
    cursor = e->end;
  }
  if (cursor != dataSize) {
    error = "bytes " + std::to_string(cursor) + " to " +
            std::to_string(dataSize) +
            " of the data buffer belong to no tensor";
    return false;
  }
  for (const Entry &e : entries) {
    Tensor t;
    t.shape = e.shape;
    convert(e.dtype, buffer + e.begin,
            static_cast<size_t>(Tensor::elementCount(e.shape)), t.data);
    file.names.push_back(e.name);
    file.dtypes[e.name] = e.dtype;
    file.tensors.emplace(e.name, std::move(t));
  }
  out = std::move(file);
  return true;
}

bool tmix::ref::readSafetensors(const std::string &path, SafetensorsFile &out,
                                std::string &error) {
  out = SafetensorsFile();
  std::FILE *f = std::fopen(path.c_str(), "rb");
  if (!f) {
    error = path + ": cannot open: " + std::strerror(errno);
    return false;
  }
  std::vector<unsigned char> bytes;
  unsigned char chunk[1 << 16];
  size_t n;
  while ((n = std::fread(chunk, 1, sizeof(chunk), f)) > 0)
    bytes.insert(bytes.end(), chunk, chunk + n);
  const bool readError = std::ferror(f);
  std::fclose(f);
  if (readError) {
    error = path + ": read error";
    return false;
  }
  if (!parseSafetensors(bytes.data(), bytes.size(), out, error)) {
    error = path + ": " + error;
    return false;
  }
  return true;
}
