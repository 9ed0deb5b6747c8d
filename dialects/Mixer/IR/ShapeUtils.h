//===- ShapeUtils.h - shape helpers shared by the mixer ops ----*- C++ -*-===//

#ifndef MIXER_IR_SHAPEUTILS_H
#define MIXER_IR_SHAPEUTILS_H

#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/raw_ostream.h"

#include <string>

namespace tmix::mixer {

/// Prints a shape as `[2, ?, 64]`.
inline std::string formatShape(llvm::ArrayRef<int64_t> shape) {
  std::string s = "[";
  llvm::raw_string_ostream os(s);
  llvm::interleave(
      shape, os,
      [&](int64_t d) {
        if (mlir::ShapedType::isDynamic(d))
          os << "?";
        else
          os << d;
      },
      ", ");
  os << "]";
  return s;
}

/// Two extents are compatible when either is dynamic or they are equal.
inline bool compatible(int64_t a, int64_t b) {
  return mlir::ShapedType::isDynamic(a) || mlir::ShapedType::isDynamic(b) ||
         a == b;
}

} // namespace tmix::mixer

#endif // MIXER_IR_SHAPEUTILS_H
