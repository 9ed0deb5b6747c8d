//===- Passes.h - mixer dialect passes --------------------------*- C++ -*-===//

#ifndef MIXER_TRANSFORMS_PASSES_H
#define MIXER_TRANSFORMS_PASSES_H

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Transform/IR/TransformDialect.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Pass/Pass.h"

namespace tmix::mixer {

#define GEN_PASS_DECL
#include "Mixer/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "Mixer/Transforms/Passes.h.inc"

} // namespace tmix::mixer

#endif // MIXER_TRANSFORMS_PASSES_H
