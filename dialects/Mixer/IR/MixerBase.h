//===- MixerBase.h - mixer dialect ------------------------------*- C++ -*-===//

#ifndef MIXER_IR_MIXERBASE_H
#define MIXER_IR_MIXERBASE_H

#include "mlir/IR/Dialect.h"

#include "Mixer/IR/MixerDialect.h.inc"

#endif // MIXER_IR_MIXERBASE_H
