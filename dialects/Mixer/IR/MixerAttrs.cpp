//===- MixerAttrs.cpp - mixer dialect attributes --------------------------===//

#include "Mixer/IR/MixerAttrs.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringSwitch.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace tmix::mixer;

#define GET_ATTRDEF_CLASSES
#include "Mixer/IR/MixerAttrs.cpp.inc"

void MixerDialect::registerAttributes() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "Mixer/IR/MixerAttrs.cpp.inc"
      >();
}

//===----------------------------------------------------------------------===//
// MaskAttr
//===----------------------------------------------------------------------===//

namespace {
/// The keys of one mask kind, in the order they are printed.
ArrayRef<StringRef> keysOf(MaskKind kind) {
  static const StringRef window[] = {"left", "right"};
  static const StringRef block[] = {"block"};
  static const StringRef dilated[] = {"width", "dilation"};
  static const StringRef globalLocal[] = {"global", "left", "right"};
  switch (kind) {
  case MaskKind::none:
  case MaskKind::causal:
    return {};
  case MaskKind::window:
    return window;
  case MaskKind::block_local:
    return block;
  case MaskKind::dilated:
    return dilated;
  case MaskKind::global_local:
    return globalLocal;
  }
  return {};
}

struct MaskParams {
  int64_t left = 0, right = 0, block = 0, width = 0, dilation = 0, global = 0;
  int64_t *slot(StringRef key) {
    return llvm::StringSwitch<int64_t *>(key)
        .Case("left", &left)
        .Case("right", &right)
        .Case("block", &block)
        .Case("width", &width)
        .Case("dilation", &dilation)
        .Case("global", &global)
        .Default(nullptr);
  }
};

std::string joinKeys(ArrayRef<StringRef> keys) {
  if (keys.empty())
    return "no keys";
  std::string s;
  llvm::raw_string_ostream os(s);
  llvm::interleave(keys, os, [&](StringRef k) { os << "'" << k << "'"; },
                   ", ");
  return s;
}
} // namespace

Attribute MaskAttr::parse(AsmParser &parser, Type) {
  SMLoc loc = parser.getCurrentLocation();
  if (parser.parseLess())
    return {};
  StringRef kindName;
  SMLoc kindLoc = parser.getCurrentLocation();
  if (parser.parseKeyword(&kindName))
    return {};
  std::optional<MaskKind> kind = symbolizeMaskKind(kindName);
  if (!kind) {
    parser.emitError(kindLoc, "unknown mask kind '")
        << kindName
        << "'; expected one of none, causal, window, block_local, dilated, "
           "global_local";
    return {};
  }
  ArrayRef<StringRef> allowed = keysOf(*kind);
  MaskParams params;
  llvm::SmallVector<StringRef> seen;
  while (succeeded(parser.parseOptionalComma())) {
    SMLoc keyLoc = parser.getCurrentLocation();
    StringRef key;
    int64_t value;
    if (parser.parseKeyword(&key))
      return {};
    if (!llvm::is_contained(allowed, key)) {
      parser.emitError(keyLoc, "mask kind '")
          << kindName << "' does not take key '" << key << "'; it takes "
          << joinKeys(allowed);
      return {};
    }
    if (llvm::is_contained(seen, key)) {
      parser.emitError(keyLoc, "mask key '") << key << "' is given twice";
      return {};
    }
    seen.push_back(key);
    if (parser.parseEqual() || parser.parseInteger(value))
      return {};
    *params.slot(key) = value;
  }
  if (parser.parseGreater())
    return {};
  for (StringRef key : allowed) {
    if (!llvm::is_contained(seen, key)) {
      parser.emitError(loc, "mask kind '")
          << kindName << "' requires key '" << key << "' (it takes "
          << joinKeys(allowed) << ")";
      return {};
    }
  }
  return MaskAttr::getChecked([&] { return parser.emitError(loc); },
                              parser.getContext(), *kind, params.left,
                              params.right, params.block, params.width,
                              params.dilation, params.global);
}

void MaskAttr::print(AsmPrinter &printer) const {
  printer << "<" << stringifyMaskKind(getKind());
  auto value = [&](StringRef key) -> int64_t {
    return llvm::StringSwitch<int64_t>(key)
        .Case("left", getLeft())
        .Case("right", getRight())
        .Case("block", getBlock())
        .Case("width", getWidth())
        .Case("dilation", getDilation())
        .Case("global", getGlobal())
        .Default(0);
  };
  for (StringRef key : keysOf(getKind()))
    printer << ", " << key << " = " << value(key);
  printer << ">";
}

LogicalResult
MaskAttr::verify(llvm::function_ref<InFlightDiagnostic()> emitError,
                 MaskKind kind, int64_t left, int64_t right, int64_t block,
                 int64_t width, int64_t dilation, int64_t global) {
  ArrayRef<StringRef> keys = keysOf(kind);
  StringRef kindName = stringifyMaskKind(kind);
  const std::pair<StringRef, int64_t> all[] = {
      {"left", left},   {"right", right},       {"block", block},
      {"width", width}, {"dilation", dilation}, {"global", global}};
  for (auto [key, value] : all) {
    if (!llvm::is_contained(keys, key)) {
      if (value != 0)
        return emitError() << "mask kind '" << kindName
                           << "' does not use '" << key
                           << "', which must be 0, got " << value;
      continue;
    }
    // Window extents may be 0 (only the diagonal); sizes must be positive.
    // The bound keeps position arithmetic (p - left, width * dilation) far
    // from 64-bit overflow.
    constexpr int64_t kMax = int64_t(1) << 31;
    if (value > kMax)
      return emitError() << "mask '" << kindName << "': '" << key
                         << "' must be <= " << kMax << ", got " << value;
    bool isExtent = key == "left" || key == "right";
    if (isExtent && value < 0)
      return emitError() << "mask '" << kindName << "': '" << key
                         << "' must be >= 0, got " << value;
    if (!isExtent && value < 1)
      return emitError() << "mask '" << kindName << "': '" << key
                         << "' must be >= 1, got " << value;
  }
  return success();
}
