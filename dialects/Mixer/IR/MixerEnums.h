//===- MixerEnums.h - mixer dialect enums -----------------------*- C++ -*-===//

#ifndef MIXER_IR_MIXERENUMS_H
#define MIXER_IR_MIXERENUMS_H

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"

#include "Mixer/IR/MixerEnums.h.inc"

#endif // MIXER_IR_MIXERENUMS_H
