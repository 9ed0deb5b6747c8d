//===- Json.cpp - a small strict JSON parser ------------------------------===//
//
// Recursive descent over a bounded buffer: every read checks `p < end`, and
// the recursion depth is limited by kMaxDepth, so no input can read out of
// bounds or exhaust the stack.
//
//===----------------------------------------------------------------------===//

#include "Json.h"

#include <cstdio>

namespace tmixrt::json {

namespace {

class Parser {
public:
  Parser(const char *text, size_t size)
      : begin(reinterpret_cast<const unsigned char *>(text)), p(begin),
        end(begin + size) {}

  std::string run(Value &out) {
    skipSpace();
    if (!parseValue(out, 1))
      return error;
    skipSpace();
    if (p != end) {
      fail("unexpected " + describeHere() + " after the JSON value");
      return error;
    }
    return std::string();
  }

private:
  const unsigned char *begin, *p, *end;
  std::string error;
  size_t values = 0;

  size_t offset() const { return static_cast<size_t>(p - begin); }

  bool fail(const std::string &what) {
    if (error.empty()) {
      char prefix[64];
      std::snprintf(prefix, sizeof(prefix), "at byte %zu: ", offset());
      error = prefix + what;
    }
    return false;
  }

  /// "end of input", "'x'" or "byte 0x01".
  std::string describeHere() const {
    if (p >= end)
      return "end of input";
    char text[32];
    if (*p >= 0x20 && *p < 0x7f)
      std::snprintf(text, sizeof(text), "'%c'", *p);
    else
      std::snprintf(text, sizeof(text), "byte 0x%02X", *p);
    return text;
  }

  void skipSpace() {
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
      ++p;
  }

  bool consumeWord(const char *word) {
    const unsigned char *q = p;
    for (; *word; ++word, ++q)
      if (q >= end || *q != static_cast<unsigned char>(*word))
        return false;
    p = q;
    return true;
  }

  bool parseValue(Value &value, size_t depth) {
    value.offset = offset();
    if (++values > kMaxValues)
      return fail("more than " + std::to_string(kMaxValues) + " values");
    if (p >= end)
      return fail("expected a value, got end of input");
    switch (*p) {
    case '{':
      return parseObject(value, depth);
    case '[':
      return parseArray(value, depth);
    case '"':
      value.kind = Kind::String;
      return parseString(value.text);
    case 't':
    case 'f':
      value.kind = Kind::Bool;
      value.boolean = *p == 't';
      if (consumeWord(value.boolean ? "true" : "false"))
        return true;
      return fail("expected a value, got an invalid literal");
    case 'n':
      value.kind = Kind::Null;
      if (consumeWord("null"))
        return true;
      return fail("expected a value, got an invalid literal");
    default:
      if (*p == '-' || (*p >= '0' && *p <= '9'))
        return parseNumber(value);
      return fail("expected a value, got " + describeHere());
    }
  }

  bool enter(size_t depth) {
    if (depth > kMaxDepth)
      return fail("nesting deeper than " + std::to_string(kMaxDepth) +
                  " levels");
    return true;
  }

  bool parseObject(Value &value, size_t depth) {
    if (!enter(depth))
      return false;
    value.kind = Kind::Object;
    ++p; // '{'
    skipSpace();
    if (p < end && *p == '}') {
      ++p;
      return true;
    }
    while (true) {
      skipSpace();
      if (p >= end || *p != '"')
        return fail("expected a string key, got " + describeHere());
      value.members.emplace_back();
      Member &member = value.members.back();
      if (!parseString(member.key))
        return false;
      skipSpace();
      if (p >= end || *p != ':')
        return fail("expected ':' after an object key, got " + describeHere());
      ++p;
      skipSpace();
      if (!parseValue(member.value, depth + 1))
        return false;
      skipSpace();
      if (p < end && *p == ',') {
        ++p;
        continue;
      }
      if (p < end && *p == '}') {
        ++p;
        return true;
      }
      return fail("expected ',' or '}' in an object, got " + describeHere());
    }
  }

  bool parseArray(Value &value, size_t depth) {
    if (!enter(depth))
      return false;
    value.kind = Kind::Array;
    ++p; // '['
    skipSpace();
    if (p < end && *p == ']') {
      ++p;
      return true;
    }
    while (true) {
      skipSpace();
      value.elements.emplace_back();
      if (!parseValue(value.elements.back(), depth + 1))
        return false;
      skipSpace();
      if (p < end && *p == ',') {
        ++p;
        continue;
      }
      if (p < end && *p == ']') {
        ++p;
        return true;
      }
      return fail("expected ',' or ']' in an array, got " + describeHere());
    }
  }

  bool parseNumber(Value &value) {
    value.kind = Kind::Number;
    const unsigned char *start = p;
    auto digits = [&] {
      const unsigned char *first = p;
      while (p < end && *p >= '0' && *p <= '9')
        ++p;
      return p != first;
    };
    if (*p == '-')
      ++p;
    if (p < end && *p == '0') {
      ++p;
      if (p < end && *p >= '0' && *p <= '9')
        return fail("a number has a leading zero");
    } else if (!digits()) {
      return fail("expected a digit in a number, got " + describeHere());
    }
    if (p < end && *p == '.') {
      ++p;
      if (!digits())
        return fail("expected a digit after '.' in a number, got " +
                    describeHere());
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
      ++p;
      if (p < end && (*p == '+' || *p == '-'))
        ++p;
      if (!digits())
        return fail("expected a digit in a number's exponent, got " +
                    describeHere());
    }
    value.text.assign(reinterpret_cast<const char *>(start),
                      static_cast<size_t>(p - start));
    return true;
  }

  static void appendUtf8(std::string &out, uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  bool hex4(uint32_t &out) {
    out = 0;
    for (int i = 0; i < 4; ++i, ++p) {
      if (p >= end)
        return fail("a \\u escape ends early");
      unsigned char c = *p;
      uint32_t digit;
      if (c >= '0' && c <= '9')
        digit = c - '0';
      else if (c >= 'a' && c <= 'f')
        digit = c - 'a' + 10;
      else if (c >= 'A' && c <= 'F')
        digit = c - 'A' + 10;
      else
        return fail("a \\u escape needs 4 hex digits, got " + describeHere());
      out = out * 16 + digit;
    }
    return true;
  }

  /// One UTF-8 sequence starting at p (a byte >= 0x80), validated and
  /// copied to `out`.
  bool copyUtf8(std::string &out) {
    const unsigned char *start = p;
    unsigned char c = *p;
    size_t length;
    uint32_t cp, min;
    if (c >= 0xC2 && c <= 0xDF) {
      length = 2, cp = c & 0x1F, min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
      length = 3, cp = c & 0x0F, min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
      length = 4, cp = c & 0x07, min = 0x10000;
    } else {
      return fail("invalid UTF-8 lead byte 0x" + hexByte(c));
    }
    if (static_cast<size_t>(end - p) < length)
      return fail("a UTF-8 sequence ends early");
    for (size_t i = 1; i < length; ++i) {
      unsigned char k = p[i];
      if ((k & 0xC0) != 0x80) {
        p += i;
        return fail("invalid UTF-8 continuation byte 0x" + hexByte(k));
      }
      cp = (cp << 6) | (k & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
      return fail("invalid UTF-8 sequence (overlong, surrogate or beyond "
                  "U+10FFFF)");
    p += length;
    out.append(reinterpret_cast<const char *>(start), length);
    return true;
  }

  static std::string hexByte(unsigned char c) {
    char text[4];
    std::snprintf(text, sizeof(text), "%02X", c);
    return text;
  }

  bool parseString(std::string &out) {
    ++p; // '"'
    out.clear();
    while (true) {
      if (p >= end)
        return fail("a string is not terminated");
      unsigned char c = *p;
      if (c == '"') {
        ++p;
        return true;
      }
      if (c < 0x20)
        return fail("a string contains the raw control character 0x" +
                    hexByte(c) + " (it must be escaped)");
      if (c >= 0x80) {
        if (!copyUtf8(out))
          return false;
        continue;
      }
      if (c != '\\') {
        out += static_cast<char>(c);
        ++p;
        continue;
      }
      ++p;
      if (p >= end)
        return fail("a string ends inside an escape");
      c = *p++;
      switch (c) {
      case '"':
      case '\\':
      case '/':
        out += static_cast<char>(c);
        break;
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'u': {
        uint32_t cp;
        if (!hex4(cp))
          return false;
        if (cp >= 0xDC00 && cp <= 0xDFFF)
          return fail("a \\u escape is a lone low surrogate");
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          uint32_t low;
          if (!(p + 1 < end && p[0] == '\\' && p[1] == 'u'))
            return fail("a \\u high surrogate is not followed by a low one");
          p += 2;
          if (!hex4(low))
            return false;
          if (low < 0xDC00 || low > 0xDFFF)
            return fail("a \\u high surrogate is not followed by a low one");
          cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
        }
        appendUtf8(out, cp);
        break;
      }
      default:
        --p;
        return fail("invalid escape character " + describeHere() +
                    " after '\\'");
      }
    }
  }
};

} // namespace

std::string parse(const char *text, size_t size, Value &out) {
  out = Value();
  return Parser(text, size).run(out);
}

const char *kindName(Kind kind) {
  switch (kind) {
  case Kind::Null:
    return "null";
  case Kind::Bool:
    return "a boolean";
  case Kind::Number:
    return "a number";
  case Kind::String:
    return "a string";
  case Kind::Array:
    return "an array";
  case Kind::Object:
    return "an object";
  }
  return "a value";
}

bool asUnsigned(const Value &value, uint64_t &out) {
  if (value.kind != Kind::Number || value.text.empty())
    return false;
  uint64_t result = 0;
  for (char c : value.text) {
    if (c < '0' || c > '9')
      return false; // a sign, fraction or exponent
    uint64_t digit = static_cast<uint64_t>(c - '0');
    if (result > (UINT64_MAX - digit) / 10)
      return false;
    result = result * 10 + digit;
  }
  out = result;
  return true;
}

std::string quote(const std::string &text, size_t limit) {
  std::string out = "'";
  size_t n = text.size() < limit ? text.size() : limit;
  // Do not cut a UTF-8 sequence in half.
  while (n < text.size() && n > 0 &&
         (static_cast<unsigned char>(text[n]) & 0xC0) == 0x80)
    --n;
  for (size_t i = 0; i < n; ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == '\'' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7f) {
      char escaped[8];
      std::snprintf(escaped, sizeof(escaped), "\\x%02X", c);
      out += escaped;
    } else {
      out += static_cast<char>(c);
    }
  }
  out += "'";
  if (n < text.size())
    out += "...";
  return out;
}

} // namespace tmixrt::json
