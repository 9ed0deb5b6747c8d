//===- MixerOps.h - mixer dialect operations --------------------*- C++ -*-===//

#ifndef MIXER_IR_MIXEROPS_H
#define MIXER_IR_MIXEROPS_H

#include "Mixer/IR/MixerAttrs.h"
#include "Mixer/IR/MixerBase.h"
#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include <optional>

#define GET_OP_CLASSES
#include "Mixer/IR/MixerOps.h.inc"

#endif // MIXER_IR_MIXEROPS_H
