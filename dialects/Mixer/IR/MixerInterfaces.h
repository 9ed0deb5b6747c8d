//===- MixerInterfaces.h - mixer dialect interfaces -------------*- C++ -*-===//

#ifndef MIXER_IR_MIXERINTERFACES_H
#define MIXER_IR_MIXERINTERFACES_H

#include "mlir/IR/OpDefinition.h"

#include <array>

#include "Mixer/IR/MixerInterfaces.h.inc"

#endif // MIXER_IR_MIXERINTERFACES_H
