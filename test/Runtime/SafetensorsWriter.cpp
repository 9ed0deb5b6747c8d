//===- SafetensorsWriter.cpp - .safetensors images for the tests ----------===//

#include "SafetensorsWriter.h"

#include <cstdio>

namespace tmixrt::test {

std::string jsonString(const std::string &text) {
  std::string out = "\"";
  for (char c : text) {
    unsigned char u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20) {
      char escaped[8];
      std::snprintf(escaped, sizeof(escaped), "\\u%04x", u);
      out += escaped;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string safetensorsHeader(const std::vector<StTensor> &tensors,
                              const StMetadata &metadata) {
  std::string header = "{";
  bool first = true;
  if (!metadata.empty()) {
    header += "\"__metadata__\":{";
    for (size_t i = 0; i < metadata.size(); ++i)
      header += (i ? "," : "") + jsonString(metadata[i].first) + ":" +
                jsonString(metadata[i].second);
    header += "}";
    first = false;
  }
  uint64_t offset = 0;
  for (const StTensor &tensor : tensors) {
    header += (first ? "" : ",") + jsonString(tensor.name) +
              ":{\"dtype\":" + jsonString(tensor.dtype) + ",\"shape\":[";
    for (size_t i = 0; i < tensor.shape.size(); ++i)
      header += (i ? "," : "") + std::to_string(tensor.shape[i]);
    uint64_t end = offset + tensor.bytes.size();
    header += "],\"data_offsets\":[" + std::to_string(offset) + "," +
              std::to_string(end) + "]}";
    offset = end;
    first = false;
  }
  return header + "}";
}

std::string le64(uint64_t value) {
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i)
    bytes[static_cast<size_t>(i)] =
        static_cast<char>((value >> (8 * i)) & 0xff);
  return bytes;
}

std::string rawSafetensors(const std::string &header, const std::string &data) {
  return le64(header.size()) + header + data;
}

std::string safetensorsFile(const std::vector<StTensor> &tensors,
                            const StMetadata &metadata, bool pad) {
  std::string header = safetensorsHeader(tensors, metadata);
  if (pad)
    header.append((8 - header.size() % 8) % 8, ' ');
  std::string data;
  for (const StTensor &tensor : tensors)
    data += tensor.bytes;
  return rawSafetensors(header, data);
}

} // namespace tmixrt::test
