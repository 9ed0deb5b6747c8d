//===- Status.cpp - statuses and enum names ------------------------------===//

#include "Internal.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>

struct tmixrt_status_t {
  tmixrt_code code;
  const char *message; // points just past the struct, in the same allocation
};

namespace {

/// Returned when a status itself cannot be allocated; never freed.
tmixrt_status_t outOfMemoryStatus = {TMIXRT_OUT_OF_MEMORY,
                                     "out of memory (while creating a status)"};

} // namespace

extern "C" {

tmixrt_code tmixrt_status_code(tmixrt_status status) {
  return status ? status->code : TMIXRT_OK;
}

const char *tmixrt_status_message(tmixrt_status status) {
  return status ? status->message : "OK";
}

void tmixrt_status_free(tmixrt_status status) {
  if (status && status != &outOfMemoryStatus)
    std::free(status);
}

tmixrt_status tmixrt_status_create(tmixrt_code code, const char *message) {
  if (code == TMIXRT_OK)
    return nullptr;
  if (!message)
    message = "";
  size_t length = std::strlen(message);
  if (length > (size_t(1) << 20))
    length = size_t(1) << 20;
  void *memory = std::malloc(sizeof(tmixrt_status_t) + length + 1);
  if (!memory)
    return &outOfMemoryStatus;
  auto *status = static_cast<tmixrt_status_t *>(memory);
  char *text = reinterpret_cast<char *>(status + 1);
  // Messages are one line: control characters become spaces.
  for (size_t i = 0; i < length; ++i) {
    unsigned char c = static_cast<unsigned char>(message[i]);
    text[i] = (c < 0x20 || c == 0x7f) ? ' ' : message[i];
  }
  text[length] = '\0';
  status->code = code;
  status->message = text;
  return status;
}

const char *tmixrt_code_name(tmixrt_code code) {
  switch (code) {
  case TMIXRT_OK:
    return "OK";
  case TMIXRT_INVALID_ARGUMENT:
    return "INVALID_ARGUMENT";
  case TMIXRT_NOT_FOUND:
    return "NOT_FOUND";
  case TMIXRT_FAILED_PRECONDITION:
    return "FAILED_PRECONDITION";
  case TMIXRT_UNAVAILABLE:
    return "UNAVAILABLE";
  case TMIXRT_INTERNAL:
    return "INTERNAL";
  case TMIXRT_OUT_OF_MEMORY:
    return "OUT_OF_MEMORY";
  default:
    break;
  }
  return "UNKNOWN";
}

const char *tmixrt_dtype_name(tmixrt_dtype dtype) {
  switch (dtype) {
  case TMIXRT_F32:
    return "f32";
  case TMIXRT_F16:
    return "f16";
  case TMIXRT_BF16:
    return "bf16";
  case TMIXRT_I32:
    return "i32";
  case TMIXRT_I64:
    return "i64";
  default:
    break;
  }
  return "unknown";
}

size_t tmixrt_dtype_size(tmixrt_dtype dtype) {
  switch (dtype) {
  case TMIXRT_F32:
  case TMIXRT_I32:
    return 4;
  case TMIXRT_F16:
  case TMIXRT_BF16:
    return 2;
  case TMIXRT_I64:
    return 8;
  default:
    break;
  }
  return 0;
}

const char *tmixrt_device_name(tmixrt_device device) {
  switch (device) {
  case TMIXRT_DEVICE_CPU:
    return "cpu";
  case TMIXRT_DEVICE_CUDA:
    return "cuda";
  default:
    break;
  }
  return "unknown";
}

} // extern "C"
