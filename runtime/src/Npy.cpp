//===- Npy.cpp - a strict .npy reader and writer --------------------------===//
//
// Format:
// https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html
// "\x93NUMPY", major and minor version bytes, a little-endian header length
// (2 bytes in 1.0, 4 bytes in 2.0/3.0), then a Python dict literal
// {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), } padded with
// spaces and a newline, then the raw data.
//
//===----------------------------------------------------------------------===//

#include "tmixrt/npy.h"

#include "Internal.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <sys/stat.h>

using namespace tmixrt;

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "the .npy code assumes a little-endian host");

namespace {

const char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicSize = 6;
// Headers are small; anything bigger is garbage, not a tensor.
constexpr size_t kMaxHeaderSize = 1u << 20;

struct Header {
  tmixrt_dtype dtype = TMIXRT_F32;
  size_t rank = 0;
  int64_t shape[TMIXRT_MAX_RANK] = {};
  size_t dataOffset = 0;
  size_t dataBytes = 0;
};

/// A recursive-descent parser for the header dict. Python literal syntax,
/// restricted to what NumPy writes: string keys, a string descr, True/False,
/// and a tuple of non-negative integers.
class HeaderParser {
public:
  HeaderParser(const char *text, size_t size) : p(text), end(text + size) {}

  /// Parses the dict into `header`; returns "" or what is wrong.
  std::string parse(Header &header) {
    skipSpace();
    if (!consume('{'))
      return "the header is not a Python dict";
    bool haveDescr = false, haveOrder = false, haveShape = false;
    std::string descr;
    bool fortranOrder = false;
    while (true) {
      skipSpace();
      if (consume('}'))
        break;
      std::string key;
      if (!parseString(key))
        return "malformed header dict: expected a quoted key";
      skipSpace();
      if (!consume(':'))
        return "malformed header dict: expected ':' after '" + key + "'";
      skipSpace();
      if (key == "descr") {
        if (haveDescr)
          return "the header repeats 'descr'";
        haveDescr = true;
        if (p < end && *p == '[')
          return "structured dtypes are not supported";
        if (!parseString(descr))
          return "malformed header dict: 'descr' is not a string";
      } else if (key == "fortran_order") {
        if (haveOrder)
          return "the header repeats 'fortran_order'";
        haveOrder = true;
        if (consumeWord("True"))
          fortranOrder = true;
        else if (consumeWord("False"))
          fortranOrder = false;
        else
          return "malformed header dict: 'fortran_order' is not True or "
                 "False";
      } else if (key == "shape") {
        if (haveShape)
          return "the header repeats 'shape'";
        haveShape = true;
        std::string error = parseShape(header);
        if (!error.empty())
          return error;
      } else {
        return "unexpected key '" + key + "' in the header";
      }
      skipSpace();
      if (consume(','))
        continue;
      skipSpace();
      if (consume('}'))
        break;
      return "malformed header dict: expected ',' or '}' after '" + key + "'";
    }
    skipSpace();
    if (p != end)
      return "unexpected characters after the header dict";
    if (!haveDescr)
      return "the header has no 'descr'";
    if (!haveOrder)
      return "the header has no 'fortran_order'";
    if (!haveShape)
      return "the header has no 'shape'";
    if (fortranOrder)
      return "fortran_order True (column-major) arrays are not supported; "
             "save a C-order array (np.ascontiguousarray)";
    if (descr == "<f4")
      header.dtype = TMIXRT_F32;
    else if (descr == "<f2")
      header.dtype = TMIXRT_F16;
    else if (descr == "<i4")
      header.dtype = TMIXRT_I32;
    else if (descr == "<i8")
      header.dtype = TMIXRT_I64;
    else if (!descr.empty() && descr[0] == '>')
      return "big-endian dtype '" + descr + "' is not supported";
    else
      return "unsupported dtype '" + descr +
             "' (supported: '<f4', '<f2', '<i4', '<i8')";
    return "";
  }

private:
  void skipSpace() {
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
      ++p;
  }

  bool consume(char c) {
    if (p < end && *p == c) {
      ++p;
      return true;
    }
    return false;
  }

  bool consumeWord(const char *word) {
    size_t n = std::strlen(word);
    if (static_cast<size_t>(end - p) < n || std::memcmp(p, word, n) != 0)
      return false;
    p += n;
    return true;
  }

  bool parseString(std::string &out) {
    if (p >= end || (*p != '\'' && *p != '"'))
      return false;
    char quote = *p++;
    out.clear();
    while (p < end && *p != quote) {
      if (*p == '\\' || *p == '\n')
        return false; // NumPy never writes escapes
      out += *p++;
    }
    return consume(quote);
  }

  std::string parseShape(Header &header) {
    if (!consume('('))
      return "malformed header dict: 'shape' is not a tuple";
    header.rank = 0;
    while (true) {
      skipSpace();
      if (consume(')'))
        return "";
      if (p < end && *p == '-')
        return "the shape has a negative dimension";
      if (p >= end || *p < '0' || *p > '9')
        return "malformed header dict: 'shape' is not a tuple of integers";
      uint64_t value = 0;
      while (p < end && *p >= '0' && *p <= '9') {
        value = value * 10 + static_cast<uint64_t>(*p++ - '0');
        if (value > static_cast<uint64_t>(INT64_MAX) / 16)
          return "the shape has an absurdly large dimension";
      }
      consume('L'); // Python 2 longs
      if (header.rank == TMIXRT_MAX_RANK)
        return format("the shape has more than %d dimensions", TMIXRT_MAX_RANK);
      header.shape[header.rank++] = static_cast<int64_t>(value);
      skipSpace();
      if (consume(','))
        continue;
      skipSpace();
      if (consume(')'))
        return "";
      return "malformed header dict: 'shape' is not a tuple of integers";
    }
  }

  const char *p;
  const char *end;
};

/// Reads the preamble in `bytes[0..size)` (at least the first 12 bytes, or the
/// whole file when shorter) and the header, which must lie within `size`.
/// `fileSize` is the size of the whole file. On success fills `header`,
/// including the data offset and size, checked against `fileSize`.
tmixrt_status parseHeader(const std::string &what, const unsigned char *bytes,
                          size_t size, size_t fileSize, Header &header) {
  auto invalid = [&](const std::string &problem) {
    return makeStatus(TMIXRT_INVALID_ARGUMENT, "%s: %s", what.c_str(),
                      problem.c_str());
  };
  if (size < kMagicSize || std::memcmp(bytes, kMagic, kMagicSize) != 0)
    return invalid("not a .npy file (it does not start with \"\\x93NUMPY\")");
  if (size < kMagicSize + 2)
    return invalid("truncated .npy preamble");
  unsigned major = bytes[6], minor = bytes[7];
  if ((major != 1 && major != 2 && major != 3) || minor != 0)
    return invalid(format("unsupported .npy format version %u.%u (supported: "
                          "1.0, 2.0, 3.0)",
                          major, minor));
  size_t lengthBytes = major == 1 ? 2 : 4;
  size_t headerStart = kMagicSize + 2 + lengthBytes;
  if (size < headerStart)
    return invalid("truncated .npy preamble");
  size_t headerLength = 0;
  for (size_t i = lengthBytes; i-- > 0;)
    headerLength = headerLength << 8 | bytes[kMagicSize + 2 + i];
  if (headerLength > fileSize - headerStart)
    return invalid(format("the header length %zu points past the end of the "
                          "file (%zu bytes)",
                          headerLength, fileSize));
  if (headerLength > kMaxHeaderSize)
    return invalid(format("the header length %zu is absurd", headerLength));
  if (headerLength > size - headerStart)
    return makeStatus(TMIXRT_INTERNAL, "%s: header not read", what.c_str());
  HeaderParser parser(reinterpret_cast<const char *>(bytes + headerStart),
                      headerLength);
  std::string error = parser.parse(header);
  if (!error.empty())
    return invalid(error);
  header.dataOffset = headerStart + headerLength;
  size_t elements = 0;
  if (!countElements(header.shape, header.rank, tmixrt_dtype_size(header.dtype),
                     &elements, &header.dataBytes))
    return invalid(format("the shape %s is absurdly large",
                          formatShape(header.shape, header.rank).c_str()));
  size_t available = fileSize - header.dataOffset;
  if (available != header.dataBytes)
    return invalid(format(
        "%s: shape %s of %s needs %zu data bytes, but %zu "
        "follow the header",
        available < header.dataBytes ? "truncated data" : "size mismatch",
        formatShape(header.shape, header.rank).c_str(),
        tmixrt_dtype_name(header.dtype), header.dataBytes, available));
  return nullptr;
}

struct FileCloser {
  std::FILE *file;
  ~FileCloser() {
    if (file)
      std::fclose(file);
  }
};

} // namespace

extern "C" {

const char *tmixrt_npy_descr(tmixrt_dtype dtype) {
  switch (dtype) {
  case TMIXRT_F32:
    return "<f4";
  case TMIXRT_F16:
    return "<f2";
  case TMIXRT_I32:
    return "<i4";
  case TMIXRT_I64:
    return "<i8";
  default: // bf16 has no .npy dtype
    return nullptr;
  }
}

tmixrt_status tmixrt_npy_parse(const void *bytes, size_t size,
                               tmixrt_tensor **out) {
  if (!out)
    return makeStatus(TMIXRT_INVALID_ARGUMENT, "tmixrt_npy_parse: 'out' is "
                                               "null");
  *out = nullptr;
  if (!bytes && size)
    return makeStatus(TMIXRT_INVALID_ARGUMENT,
                      "tmixrt_npy_parse: the buffer is null");
  const auto *data = static_cast<const unsigned char *>(bytes);
  Header header;
  if (tmixrt_status status =
          parseHeader(".npy image", data, size, size, header))
    return status;
  tmixrt_tensor *tensor = nullptr;
  if (tmixrt_status status = tmixrt_tensor_create(header.dtype, header.rank,
                                                  header.shape, &tensor))
    return status;
  if (header.dataBytes)
    std::memcpy(tmixrt_tensor_data(tensor), data + header.dataOffset,
                header.dataBytes);
  *out = tensor;
  return nullptr;
}

tmixrt_status tmixrt_npy_read(const char *path, tmixrt_tensor **out) {
  if (!out)
    return makeStatus(TMIXRT_INVALID_ARGUMENT,
                      "tmixrt_npy_read: 'out' is null");
  *out = nullptr;
  if (!path)
    return makeStatus(TMIXRT_INVALID_ARGUMENT,
                      "tmixrt_npy_read: the path is null");
  FileCloser file{std::fopen(path, "rb")};
  if (!file.file) {
    int error = errno;
    return makeStatus(error == ENOENT || error == ENOTDIR
                          ? TMIXRT_NOT_FOUND
                          : TMIXRT_INVALID_ARGUMENT,
                      "%s: cannot open: %s", path, std::strerror(error));
  }
  struct stat info;
  if (fstat(fileno(file.file), &info) != 0 || !S_ISREG(info.st_mode))
    return makeStatus(TMIXRT_INVALID_ARGUMENT, "%s: not a regular file", path);
  size_t fileSize = static_cast<size_t>(info.st_size);

  // The preamble, then the header it announces, then the data straight into
  // the tensor.
  std::string buffer(fileSize < 12 ? fileSize : 12, '\0');
  if (std::fread(&buffer[0], 1, buffer.size(), file.file) != buffer.size())
    return makeStatus(TMIXRT_INVALID_ARGUMENT, "%s: read error", path);
  Header header;
  const auto *bytes = reinterpret_cast<const unsigned char *>(buffer.data());
  if (buffer.size() >= 8 && std::memcmp(bytes, kMagic, kMagicSize) == 0 &&
      (bytes[6] == 1 || bytes[6] == 2 || bytes[6] == 3)) {
    // Learn the header length from a lenient first pass, then read it all.
    size_t lengthBytes = bytes[6] == 1 ? 2 : 4;
    size_t headerStart = kMagicSize + 2 + lengthBytes;
    if (buffer.size() >= headerStart) {
      size_t headerLength = 0;
      for (size_t i = lengthBytes; i-- > 0;)
        headerLength = headerLength << 8 | bytes[kMagicSize + 2 + i];
      if (headerLength <= kMaxHeaderSize &&
          headerLength <= fileSize - headerStart) {
        size_t have = buffer.size();
        buffer.resize(headerStart + headerLength);
        size_t want = buffer.size() - have;
        if (std::fread(&buffer[have], 1, want, file.file) != want)
          return makeStatus(TMIXRT_INVALID_ARGUMENT, "%s: read error", path);
      }
    }
  }
  bytes = reinterpret_cast<const unsigned char *>(buffer.data());
  if (tmixrt_status status =
          parseHeader(path, bytes, buffer.size(), fileSize, header))
    return status;
  if (std::fseek(file.file, static_cast<long>(header.dataOffset), SEEK_SET))
    return makeStatus(TMIXRT_INVALID_ARGUMENT, "%s: seek error", path);
  tmixrt_tensor *tensor = nullptr;
  if (tmixrt_status status = tmixrt_tensor_create(header.dtype, header.rank,
                                                  header.shape, &tensor))
    return status;
  if (header.dataBytes &&
      std::fread(tmixrt_tensor_data(tensor), 1, header.dataBytes, file.file) !=
          header.dataBytes) {
    tmixrt_tensor_release(tensor);
    return makeStatus(TMIXRT_INVALID_ARGUMENT, "%s: read error in the data",
                      path);
  }
  *out = tensor;
  return nullptr;
}

tmixrt_status tmixrt_npy_write(const char *path, const tmixrt_tensor *tensor) {
  if (!path || !tensor)
    return makeStatus(TMIXRT_INVALID_ARGUMENT,
                      "tmixrt_npy_write: the %s is null",
                      path ? "tensor" : "path");
  if (tmixrt_tensor_device(tensor) != TMIXRT_DEVICE_CPU)
    return makeStatus(TMIXRT_INVALID_ARGUMENT,
                      "%s: the tensor is on cuda:%d; copy it to a host tensor "
                      "first (tmixrt_tensor_copy)",
                      path, tmixrt_tensor_device_ordinal(tensor));
  tmixrt_dtype dtype = tmixrt_tensor_dtype(tensor);
  const char *descr = tmixrt_npy_descr(dtype);
  if (!descr)
    return makeStatus(TMIXRT_INVALID_ARGUMENT,
                      "%s: .npy has no %s dtype; convert the tensor to f32 "
                      "first",
                      path, tmixrt_dtype_name(dtype));
  size_t rank = tmixrt_tensor_rank(tensor);
  const int64_t *shape = tmixrt_tensor_shape(tensor);
  std::string dict = format("{'descr': '%s', 'fortran_order': False, "
                            "'shape': (",
                            descr);
  for (size_t i = 0; i < rank; ++i)
    dict += format("%lld,%s", static_cast<long long>(shape[i]),
                   i + 1 < rank ? " " : "");
  if (rank > 1)
    dict.pop_back(); // NumPy writes (3,) but (3, 4)
  dict += "), }";
  // Pad with spaces and a newline so the data starts 64-byte aligned.
  size_t preamble = kMagicSize + 2 + 2;
  size_t total = (preamble + dict.size() + 1 + 63) / 64 * 64;
  dict.append(total - preamble - dict.size() - 1, ' ');
  dict += '\n';
  std::string image(kMagic, kMagicSize);
  image += '\x01';
  image += '\x00';
  image += static_cast<char>(dict.size() & 0xff);
  image += static_cast<char>(dict.size() >> 8);
  image += dict;

  std::FILE *file = std::fopen(path, "wb");
  if (!file) {
    int error = errno;
    return makeStatus(
        error == ENOENT ? TMIXRT_NOT_FOUND : TMIXRT_INVALID_ARGUMENT,
        "%s: cannot open for writing: %s", path, std::strerror(error));
  }
  size_t bytes = tmixrt_tensor_byte_size(tensor);
  bool ok = std::fwrite(image.data(), 1, image.size(), file) == image.size();
  if (ok && bytes)
    ok = std::fwrite(tmixrt_tensor_data(tensor), 1, bytes, file) == bytes;
  int error = ok ? 0 : errno;
  if (std::fclose(file) != 0 && ok) {
    ok = false;
    error = errno;
  }
  if (!ok) {
    std::remove(path);
    return makeStatus(TMIXRT_INTERNAL, "%s: write error: %s", path,
                      std::strerror(error));
  }
  return nullptr;
}

} // extern "C"
