//===- Json.h - a small strict JSON parser for the references ---*- C++ -*-===//
//
// Parses the headers of .safetensors files and the model configurations that
// scripts/metaformer.py writes. Strict RFC 8259: one value, surrounded by
// optional whitespace; no comments, no trailing commas, no duplicate object
// keys, no control characters in strings, nesting at most 64 deep. Errors
// name the byte offset. Used only by tests; shares nothing with the compiler.
//
//===----------------------------------------------------------------------===//

#ifndef TMIX_TEST_REFERENCE_JSON_H
#define TMIX_TEST_REFERENCE_JSON_H

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tmix::ref {

struct JsonValue {
  enum class Kind { Null, Bool, Number, String, Array, Object };
  Kind kind = Kind::Null;
  bool boolean = false;
  /// For numbers: the value as a double, and whether the literal was an
  /// integer (no fraction or exponent) that fits int64 exactly.
  double number = 0;
  bool isInteger = false;
  int64_t integer = 0;
  std::string string;
  std::vector<JsonValue> array;
  /// Object members in the order of the text (keys are unique).
  std::vector<std::pair<std::string, JsonValue>> object;

  /// The member named `key` of an object, or nullptr.
  const JsonValue *find(std::string_view key) const;
  bool isObject() const { return kind == Kind::Object; }
  bool isArray() const { return kind == Kind::Array; }
  bool isString() const { return kind == Kind::String; }
  bool isNumber() const { return kind == Kind::Number; }
  bool isBool() const { return kind == Kind::Bool; }
  bool isNull() const { return kind == Kind::Null; }
};

/// Parses `text` into `out`. On failure returns false and sets `error` to a
/// message with the byte offset; `out` is then unspecified.
bool parseJson(std::string_view text, JsonValue &out, std::string &error);

} // namespace tmix::ref

#endif // TMIX_TEST_REFERENCE_JSON_H
