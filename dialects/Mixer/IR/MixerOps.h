//===- MixerOps.h - mixer dialect operations --------------------*- C++ -*-===//

#ifndef MIXER_IR_MIXEROPS_H
#define MIXER_IR_MIXEROPS_H

#include "Mixer/IR/MixerAttrs.h"
#include "Mixer/IR/MixerBase.h"
#include "Mixer/IR/MixerInterfaces.h"
#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/Dialect/Linalg/IR/LinalgInterfaces.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/ControlFlowInterfaces.h"
#include "mlir/Interfaces/DestinationStyleOpInterface.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/TilingInterface.h"

#include <optional>

namespace tmix::mixer {
// Upstream interface declarations (AggregatedOpInterface) spell these
// unqualified.
using ::mlir::FailureOr;
using ::mlir::OpBuilder;
using ::mlir::SmallVector;
using ::mlir::Value;
} // namespace tmix::mixer

namespace mlir {
class RewriterBase;
} // namespace mlir

#define GET_OP_CLASSES
#include "Mixer/IR/MixerOps.h.inc"

#endif // MIXER_IR_MIXEROPS_H
