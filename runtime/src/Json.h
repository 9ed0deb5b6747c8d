//===- Json.h - a small strict JSON parser ----------------------*- C++ -*-===//
//
// RFC 8259 JSON into a tree, for the headers of safetensors files. Strict:
// UTF-8 only (no overlong forms, no encoded surrogates), every escape of the
// RFC including \uXXXX surrogate pairs (a lone surrogate is an error), no raw
// control characters in strings, no leading zeros, no trailing commas, no
// comments, nothing but whitespace after the top-level value, nesting at
// most kMaxDepth deep and at most kMaxValues values. Numbers keep their literal
// text; asUnsigned() reads the plain non-negative integers the safetensors
// header uses.
//
// Duplicate object keys are kept (in order): the caller decides whether they
// are an error, and can then name the key.
//
//===----------------------------------------------------------------------===//

#ifndef TMIXRT_SRC_JSON_H
#define TMIXRT_SRC_JSON_H

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace tmixrt::json {

/// Containers may nest this deep (the outermost value is level 1).
constexpr size_t kMaxDepth = 64;
/// At most this many values (of any kind) in one document, which bounds the
/// memory of the tree (about 100 bytes a value) whatever the input.
constexpr size_t kMaxValues = size_t(1) << 20;

enum class Kind { Null, Bool, Number, String, Array, Object };

struct Member;

struct Value {
  Kind kind = Kind::Null;
  /// Byte offset of the value's first character in the parsed text.
  size_t offset = 0;
  bool boolean = false;
  /// The decoded UTF-8 contents of a string (may contain NUL bytes), or the
  /// literal text of a number.
  std::string text;
  std::vector<Value> elements; // Array
  std::vector<Member> members; // Object, in document order
};

struct Member {
  std::string key;
  Value value;
};

/// Parses `text[0..size)` as one JSON value surrounded by optional
/// whitespace. Returns "" on success, otherwise a message naming the byte
/// offset and what was expected (and leaves `out` unspecified).
std::string parse(const char *text, size_t size, Value &out);

/// "null", "a boolean", "a number", "a string", "an array", "an object".
const char *kindName(Kind kind);

/// A number that is a plain non-negative integer (no sign, fraction or
/// exponent) within uint64_t.
bool asUnsigned(const Value &value, uint64_t &out);

/// `text` with quotes, printable for messages: control characters, quotes
/// and backslashes escaped, at most `limit` bytes of it ("..." after).
std::string quote(const std::string &text, size_t limit = 80);

} // namespace tmixrt::json

#endif // TMIXRT_SRC_JSON_H
