//===- Support.cpp - formatting and size helpers --------------------------===//
//
// Compiled into both libtmixrt and tmixrt_npy (hidden in the former), so the
// static library does not depend on libtmixrt's private symbols.
//
//===----------------------------------------------------------------------===//

#include "Internal.h"

#include <cstdio>

namespace tmixrt {

std::string formatv(const char *fmt, va_list ap) {
  va_list copy;
  va_copy(copy, ap);
  int length = std::vsnprintf(nullptr, 0, fmt, copy);
  va_end(copy);
  if (length <= 0)
    return std::string();
  std::string result(static_cast<size_t>(length) + 1, '\0');
  std::vsnprintf(&result[0], result.size(), fmt, ap);
  result.resize(static_cast<size_t>(length));
  return result;
}

std::string format(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  std::string result = formatv(fmt, ap);
  va_end(ap);
  return result;
}

tmixrt_status makeStatus(tmixrt_code code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  std::string message = formatv(fmt, ap);
  va_end(ap);
  return tmixrt_status_create(code, message.c_str());
}

std::string formatShape(const int64_t *shape, size_t rank) {
  std::string result = "[";
  for (size_t i = 0; i < rank; ++i) {
    if (i)
      result += ", ";
    if (shape[i] < 0)
      result += "?";
    else
      result += std::to_string(shape[i]);
  }
  result += "]";
  return result;
}

bool isKnownDtype(uint32_t dtype) {
  return dtype >= TMIXRT_F32 && dtype <= TMIXRT_I64;
}

bool countElements(const int64_t *shape, size_t rank, size_t elementSize,
                   size_t *elements, size_t *bytes) {
  const uint64_t limit = static_cast<uint64_t>(PTRDIFF_MAX);
  uint64_t count = 1;
  bool overflow = false;
  for (size_t i = 0; i < rank; ++i) {
    uint64_t size = static_cast<uint64_t>(shape[i]);
    if (size == 0) {
      count = 0;
      overflow = false; // an empty tensor is small whatever else it says
      break;
    }
    if (count > limit / size)
      overflow = true;
    else
      count *= size;
  }
  if (overflow || (elementSize && count > limit / elementSize))
    return false;
  *elements = static_cast<size_t>(count);
  *bytes = static_cast<size_t>(count * elementSize);
  return true;
}

} // namespace tmixrt
