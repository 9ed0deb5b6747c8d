//===- Safetensors.cpp - a strict, memory-mapping safetensors reader ------===//
//
// Format (https://huggingface.co/docs/safetensors): an 8-byte little-endian
// header length N, N bytes of JSON mapping each tensor name to {"dtype",
// "shape", "data_offsets": [begin, end]} (plus an optional "__metadata__"
// object of strings), then the data section, which the offsets index.
//
// The file is mapped read-only and never copied, except for a tensor whose
// data is not aligned to its element size in the mapping: that one is copied
// into an aligned buffer, so every pointer handed out is aligned.
//
// Everything is checked before anything is handed out, and every check that
// involves an offset or a size is done in 64-bit arithmetic with explicit
// overflow checks against the real file size. The rules are those of the
// reference implementation (huggingface/safetensors), made stricter where it
// is lenient: the tensors must cover the data section exactly (no overlap,
// no hole, nothing after the last one), and unknown fields, duplicate names
// and duplicate fields are errors.
//
//===----------------------------------------------------------------------===//

#include "Safetensors.h"

#include "Json.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <new>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <unordered_set>

using namespace tmixrt;

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "safetensors data is little-endian, and so must the host be");

namespace {

/// The header may be at most this long (the reference implementation's
/// limit); anything longer is garbage, not a header.
constexpr uint64_t kMaxHeaderSize = 100000000;
/// Tensors of a higher rank are refused as absurd.
constexpr size_t kMaxFileRank = 64;
/// Alignment of the copies made for misaligned tensors.
constexpr size_t kCopyAlignment = 64;
/// Names in messages are cut after this many bytes.
constexpr size_t kNameLimit = 120;

/// The shape of rank-0 tensors: never a null pointer.
const int64_t kNoShape[1] = {0};
/// The data of empty tensors: a non-null, aligned address.
alignas(kCopyAlignment) const unsigned char kEmptyData[kCopyAlignment] = {};

struct DtypeInfo {
  const char *name;
  unsigned bits;      // per element
  tmixrt_dtype dtype; // 0 when tmix has none
};

/// Every dtype of the safetensors format.
const DtypeInfo kDtypes[] = {
    {"BOOL", 8, tmixrt_dtype(0)},    {"U8", 8, tmixrt_dtype(0)},
    {"I8", 8, tmixrt_dtype(0)},      {"F8_E5M2", 8, tmixrt_dtype(0)},
    {"F8_E4M3", 8, tmixrt_dtype(0)}, {"F8_E8M0", 8, tmixrt_dtype(0)},
    {"I16", 16, tmixrt_dtype(0)},    {"U16", 16, tmixrt_dtype(0)},
    {"F16", 16, TMIXRT_F16},         {"BF16", 16, TMIXRT_BF16},
    {"I32", 32, TMIXRT_I32},         {"U32", 32, tmixrt_dtype(0)},
    {"F32", 32, TMIXRT_F32},         {"F64", 64, tmixrt_dtype(0)},
    {"I64", 64, TMIXRT_I64},         {"U64", 64, tmixrt_dtype(0)},
    {"C64", 64, tmixrt_dtype(0)},    {"F4", 4, tmixrt_dtype(0)},
    {"F6_E2M3", 6, tmixrt_dtype(0)}, {"F6_E3M2", 6, tmixrt_dtype(0)},
};

const DtypeInfo *findDtype(const std::string &name) {
  for (const DtypeInfo &info : kDtypes)
    if (name == info.name)
      return &info;
  return nullptr;
}

std::string quoted(const std::string &name) {
  return json::quote(name, kNameLimit);
}

/// "[2, 3]" for a file shape (any rank).
std::string fileShape(const std::vector<int64_t> &shape) {
  return formatShape(shape.data(), shape.size());
}

/// What a JSON value is, for messages: a number's text, else its kind.
std::string describeValue(const json::Value &value) {
  if (value.kind == json::Kind::Number)
    return value.text.size() > 40 ? value.text.substr(0, 40) + "..."
                                  : value.text;
  if (value.kind == json::Kind::String)
    return "the string " + quoted(value.text);
  return json::kindName(value.kind);
}

/// Parses and checks one file image into `weights`; "" or what is wrong.
class HeaderReader {
public:
  HeaderReader(const unsigned char *bytes, size_t size, tmixrt_weights &weights)
      : bytes(bytes), size(size), weights(weights) {}

  /// Fills weights.tensors/byName/metadata. Returns "" or the problem; sets
  /// `outOfMemory` when an aligned copy could not be allocated.
  std::string read(bool &outOfMemory) {
    outOfMemory = false;
    if (size < 8)
      return format("it has %zu byte(s), but a safetensors file starts with "
                    "an 8-byte header length",
                    size);
    uint64_t headerSize = 0;
    for (int i = 7; i >= 0; --i)
      headerSize = (headerSize << 8) | bytes[i];
    if (headerSize > kMaxHeaderSize)
      return format("the header length is %llu bytes, more than the limit of "
                    "%llu (not a safetensors file?)",
                    static_cast<unsigned long long>(headerSize),
                    static_cast<unsigned long long>(kMaxHeaderSize));
    if (headerSize > size - 8)
      return format("the header length is %llu bytes, but only %zu byte(s) "
                    "follow the length field (truncated?)",
                    static_cast<unsigned long long>(headerSize), size - 8);
    const char *header = reinterpret_cast<const char *>(bytes + 8);
    dataStart = bytes + 8 + headerSize;
    dataSize = size - 8 - static_cast<size_t>(headerSize);

    json::Value root;
    std::string error =
        json::parse(header, static_cast<size_t>(headerSize), root);
    if (!error.empty())
      return "bad JSON in the header " + error;
    if (root.kind != json::Kind::Object)
      return std::string("the header is ") + json::kindName(root.kind) +
             ", expected a JSON object";

    bool haveMetadata = false;
    for (const json::Member &member : root.members) {
      if (member.key == "__metadata__") {
        if (haveMetadata)
          return "the header has '__metadata__' twice";
        haveMetadata = true;
        error = readMetadata(member.value);
      } else {
        error = readTensor(member.key, member.value);
      }
      if (!error.empty())
        return error;
    }
    error = checkLayout();
    if (!error.empty())
      return error;
    return placeData(outOfMemory);
  }

private:
  const unsigned char *bytes;
  size_t size;
  tmixrt_weights &weights;
  const unsigned char *dataStart = nullptr;
  size_t dataSize = 0;

  std::string readMetadata(const json::Value &value) {
    if (value.kind != json::Kind::Object)
      return std::string("'__metadata__' is ") + json::kindName(value.kind) +
             ", expected an object of strings";
    std::unordered_set<std::string> keys;
    for (const json::Member &member : value.members) {
      if (member.value.kind != json::Kind::String)
        return "'__metadata__' entry " + quoted(member.key) + " is " +
               describeValue(member.value) + ", expected a string";
      if (member.key.find('\0') != std::string::npos ||
          member.value.text.find('\0') != std::string::npos)
        return "'__metadata__' entry " + quoted(member.key) +
               " contains a NUL character";
      if (!keys.insert(member.key).second)
        return "'__metadata__' has the key " + quoted(member.key) + " twice";
      weights.metadata.emplace_back(member.key, member.value.text);
    }
    return std::string();
  }

  std::string readTensor(const std::string &name, const json::Value &value) {
    std::string tensor = "tensor " + quoted(name);
    if (name.find('\0') != std::string::npos)
      return tensor + ": the name contains a NUL character";
    if (weights.byName.count(name))
      return tensor + " appears twice in the header";
    if (value.kind != json::Kind::Object)
      return tensor + ": the entry is " + json::kindName(value.kind) +
             ", expected an object with 'dtype', 'shape' and 'data_offsets'";
    const json::Value *dtype = nullptr, *shape = nullptr, *offsets = nullptr;
    for (const json::Member &field : value.members) {
      const json::Value **slot = field.key == "dtype"          ? &dtype
                                 : field.key == "shape"        ? &shape
                                 : field.key == "data_offsets" ? &offsets
                                                               : nullptr;
      if (!slot)
        return tensor + " has an unexpected field " + quoted(field.key) +
               " (expected 'dtype', 'shape' and 'data_offsets')";
      if (*slot)
        return tensor + " has the field '" + field.key + "' twice";
      *slot = &field.value;
    }
    for (auto [field, key] :
         {std::pair{dtype, "dtype"}, std::pair{shape, "shape"},
          std::pair{offsets, "data_offsets"}})
      if (!field)
        return tensor + " lacks the field '" + key + "'";

    auto entry = std::make_unique<WeightEntry>();
    entry->name = name;
    if (dtype->kind != json::Kind::String)
      return tensor + ": 'dtype' is " + describeValue(*dtype) +
             ", expected a string such as \"F32\"";
    const DtypeInfo *dtypeInfo = findDtype(dtype->text);
    if (!dtypeInfo)
      return tensor + " has unknown dtype " + quoted(dtype->text);
    entry->dtypeName = dtypeInfo->name;
    entry->dtype = dtypeInfo->dtype;

    if (shape->kind != json::Kind::Array)
      return tensor + ": 'shape' is " + describeValue(*shape) +
             ", expected an array of non-negative integers";
    if (shape->elements.size() > kMaxFileRank)
      return tensor + format(" has rank %zu, more than %zu",
                             shape->elements.size(), kMaxFileRank);
    // The element count, in 64 bits; an empty tensor is small whatever else
    // its shape says, but its other sizes must still be integers.
    uint64_t elements = 1;
    bool overflow = false;
    for (size_t i = 0; i < shape->elements.size(); ++i) {
      uint64_t dim = 0;
      if (!json::asUnsigned(shape->elements[i], dim) ||
          dim > static_cast<uint64_t>(INT64_MAX))
        return tensor + format(": shape entry %zu is ", i) +
               describeValue(shape->elements[i]) +
               ", expected a non-negative integer";
      entry->shape.push_back(static_cast<int64_t>(dim));
      if (__builtin_mul_overflow(elements, dim, &elements))
        overflow = true;
    }
    bool empty = std::find(entry->shape.begin(), entry->shape.end(), 0) !=
                 entry->shape.end();
    // Whole-byte dtypes multiply bytes; sub-byte ones count bits, which must
    // add up to whole bytes.
    unsigned bits = dtypeInfo->bits;
    uint64_t byteSize = 0;
    if (!empty &&
        (overflow ||
         __builtin_mul_overflow(elements, uint64_t(bits % 8 ? bits : bits / 8),
                                &byteSize)))
      return tensor + ": shape " + fileShape(entry->shape) + " of " +
             entry->dtypeName + " has more bytes than fit in 64 bits";
    if (bits % 8) {
      if (byteSize % 8)
        return tensor + ": shape " + fileShape(entry->shape) + " of " +
               entry->dtypeName + " is not a whole number of bytes";
      byteSize /= 8;
    }

    if (offsets->kind != json::Kind::Array || offsets->elements.size() != 2)
      return tensor + ": 'data_offsets' is " + describeValue(*offsets) +
             (offsets->kind == json::Kind::Array
                  ? format(" of %zu entries", offsets->elements.size())
                  : std::string()) +
             ", expected [begin, end]";
    uint64_t range[2];
    for (size_t i = 0; i < 2; ++i)
      if (!json::asUnsigned(offsets->elements[i], range[i]))
        return tensor + ": data_offsets " + (i ? "end" : "begin") + " is " +
               describeValue(offsets->elements[i]) +
               ", expected a non-negative integer";
    std::string where = format(" data_offsets [%llu, %llu]",
                               static_cast<unsigned long long>(range[0]),
                               static_cast<unsigned long long>(range[1]));
    if (range[0] > range[1])
      return tensor + ":" + where + " has begin > end";
    if (range[1] > dataSize)
      return tensor + ":" + where +
             format(" end beyond the data section, which has %zu byte(s)",
                    dataSize);
    if (range[1] - range[0] != byteSize)
      return tensor +
             format(" has %llu byte(s) (",
                    static_cast<unsigned long long>(range[1] - range[0])) +
             where.substr(1) + "), but shape " + fileShape(entry->shape) +
             " of " + entry->dtypeName +
             format(" needs %llu", static_cast<unsigned long long>(byteSize));
    entry->begin = range[0];
    entry->end = range[1];
    weights.byName.emplace(name, weights.tensors.size());
    weights.tensors.push_back(std::move(entry));
    return std::string();
  }

  /// The tensors must tile the data section: no overlap, no gap, no tail.
  std::string checkLayout() {
    std::vector<const WeightEntry *> sorted;
    for (const auto &entry : weights.tensors)
      sorted.push_back(entry.get());
    std::sort(sorted.begin(), sorted.end(),
              [](const WeightEntry *a, const WeightEntry *b) {
                return a->begin != b->begin ? a->begin < b->begin
                                            : a->end < b->end;
              });
    uint64_t covered = 0;
    const WeightEntry *last = nullptr; // the tensor that ends at `covered`
    auto range = [](const WeightEntry &e) {
      return format("(bytes [%llu, %llu))",
                    static_cast<unsigned long long>(e.begin),
                    static_cast<unsigned long long>(e.end));
    };
    for (const WeightEntry *entry : sorted) {
      if (entry->begin < covered)
        return "tensor " + quoted(entry->name) + " " + range(*entry) +
               " overlaps tensor " + quoted(last->name) + " " + range(*last);
      if (entry->begin > covered)
        return format("bytes [%llu, %llu) of the data section belong to no "
                      "tensor (safetensors files have no holes)",
                      static_cast<unsigned long long>(covered),
                      static_cast<unsigned long long>(entry->begin));
      if (entry->end > covered || !last) {
        covered = entry->end;
        last = entry;
      }
    }
    if (covered != dataSize)
      return format("the last %llu byte(s) of the data section (from byte "
                    "%llu of %zu) belong to no tensor",
                    static_cast<unsigned long long>(dataSize - covered),
                    static_cast<unsigned long long>(covered), dataSize);
    return std::string();
  }

  /// Points every entry at its data, copying the misaligned ones.
  std::string placeData(bool &outOfMemory) {
    for (auto &entry : weights.tensors) {
      const DtypeInfo *dtype = findDtype(entry->dtypeName);
      size_t alignment = dtype->bits >= 8 ? dtype->bits / 8 : 1;
      size_t byteSize = static_cast<size_t>(entry->end - entry->begin);
      const unsigned char *data = dataStart + entry->begin;
      tmixrt_weight_info &info = entry->info;
      info.mapped = 1;
      if (byteSize == 0) {
        data = kEmptyData;
      } else if (reinterpret_cast<uintptr_t>(data) % alignment) {
        size_t allocation =
            (byteSize + kCopyAlignment - 1) / kCopyAlignment * kCopyAlignment;
        entry->copy = std::aligned_alloc(kCopyAlignment, allocation);
        if (!entry->copy) {
          outOfMemory = true;
          return "cannot allocate " + std::to_string(byteSize) +
                 " bytes to align tensor " + quoted(entry->name);
        }
        std::memcpy(entry->copy, data, byteSize);
        data = static_cast<const unsigned char *>(entry->copy);
        info.mapped = 0;
      }
      info.name = entry->name.c_str();
      info.dtype_name = dtype->name;
      info.dtype = entry->dtype;
      info.rank = entry->shape.size();
      info.shape = entry->shape.empty() ? kNoShape : entry->shape.data();
      info.data = data;
      info.byte_size = byteSize;
    }
    return std::string();
  }
};

} // namespace

WeightEntry::~WeightEntry() { std::free(copy); }

tmixrt_weights::~tmixrt_weights() {
  tensors.clear(); // frees the copies
  if (mapping)
    munmap(mapping, mappingSize);
}

const WeightEntry *tmixrt_weights::find(const std::string &name) const {
  auto it = byName.find(name);
  return it == byName.end() ? nullptr : tensors[it->second].get();
}

extern "C" {

tmixrt_status tmixrt_weights_open(const char *path, tmixrt_weights **out) {
  if (!out)
    return makeStatus(TMIXRT_INVALID_ARGUMENT,
                      "tmixrt_weights_open: 'out' is null");
  *out = nullptr;
  if (!path || !*path)
    return makeStatus(TMIXRT_INVALID_ARGUMENT,
                      "tmixrt_weights_open: the path is %s",
                      path ? "empty" : "null");
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int error = errno;
    return makeStatus(error == ENOENT || error == ENOTDIR
                          ? TMIXRT_NOT_FOUND
                          : TMIXRT_INVALID_ARGUMENT,
                      "cannot open '%s': %s", path, std::strerror(error));
  }
  struct Closer {
    int fd;
    ~Closer() { close(fd); }
  } closer{fd};
  struct stat info;
  if (fstat(fd, &info) != 0) {
    int error = errno;
    return makeStatus(TMIXRT_INTERNAL, "cannot stat '%s': %s", path,
                      std::strerror(error));
  }
  if (S_ISDIR(info.st_mode))
    return makeStatus(TMIXRT_INVALID_ARGUMENT,
                      "cannot open '%s' as a weight file: it is a directory",
                      path);
  if (!S_ISREG(info.st_mode))
    return makeStatus(TMIXRT_INVALID_ARGUMENT,
                      "cannot open '%s' as a weight file: it is not a "
                      "regular file",
                      path);
  auto weights =
      std::unique_ptr<tmixrt_weights>(new (std::nothrow) tmixrt_weights);
  if (!weights)
    return makeStatus(TMIXRT_OUT_OF_MEMORY, "cannot allocate a weight file");
  weights->path = path;
  size_t size = static_cast<size_t>(info.st_size);
  const unsigned char *bytes = nullptr;
  if (size >= 8) { // shorter files are refused below, without a mapping
    void *mapping = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (mapping == MAP_FAILED) {
      int error = errno;
      return makeStatus(error == ENOMEM ? TMIXRT_OUT_OF_MEMORY
                                        : TMIXRT_INTERNAL,
                        "cannot map '%s' (%zu bytes) into memory: %s", path,
                        size, std::strerror(error));
    }
    weights->mapping = mapping;
    weights->mappingSize = size;
    bytes = static_cast<const unsigned char *>(mapping);
  }
  bool outOfMemory = false;
  std::string error = HeaderReader(bytes, size, *weights).read(outOfMemory);
  if (!error.empty())
    return makeStatus(
        outOfMemory ? TMIXRT_OUT_OF_MEMORY : TMIXRT_INVALID_ARGUMENT,
        "'%s' is not a valid safetensors file: %s", path, error.c_str());
  *out = weights.release();
  return nullptr;
}

void tmixrt_weights_retain(tmixrt_weights *weights) {
  if (weights)
    weights->refs.fetch_add(1, std::memory_order_relaxed);
}

void tmixrt_weights_release(tmixrt_weights *weights) {
  if (weights && weights->refs.fetch_sub(1, std::memory_order_acq_rel) == 1)
    delete weights;
}

const char *tmixrt_weights_path(const tmixrt_weights *weights) {
  return weights ? weights->path.c_str() : "";
}

size_t tmixrt_weights_count(const tmixrt_weights *weights) {
  return weights ? weights->tensors.size() : 0;
}

const tmixrt_weight_info *tmixrt_weights_at(const tmixrt_weights *weights,
                                            size_t index) {
  if (!weights || index >= weights->tensors.size())
    return nullptr;
  return &weights->tensors[index]->info;
}

tmixrt_status tmixrt_weights_lookup(const tmixrt_weights *weights,
                                    const char *name,
                                    const tmixrt_weight_info **out) {
  if (!out)
    return makeStatus(TMIXRT_INVALID_ARGUMENT,
                      "tmixrt_weights_lookup: 'out' is null");
  *out = nullptr;
  if (!weights || !name)
    return makeStatus(TMIXRT_INVALID_ARGUMENT,
                      "tmixrt_weights_lookup: the %s is null",
                      weights ? "name" : "weight file");
  const WeightEntry *entry = weights->find(name);
  if (!entry)
    return makeStatus(TMIXRT_NOT_FOUND,
                      "no tensor named %s in '%s' (%zu "
                      "tensor(s))",
                      quoted(name).c_str(), weights->path.c_str(),
                      weights->tensors.size());
  *out = &entry->info;
  return nullptr;
}

size_t tmixrt_weights_metadata_count(const tmixrt_weights *weights) {
  return weights ? weights->metadata.size() : 0;
}

const char *tmixrt_weights_metadata_key(const tmixrt_weights *weights,
                                        size_t index) {
  if (!weights || index >= weights->metadata.size())
    return nullptr;
  return weights->metadata[index].first.c_str();
}

const char *tmixrt_weights_metadata(const tmixrt_weights *weights,
                                    const char *key) {
  if (!weights || !key)
    return nullptr;
  for (const auto &entry : weights->metadata)
    if (entry.first == key)
      return entry.second.c_str();
  return nullptr;
}

} // extern "C"
