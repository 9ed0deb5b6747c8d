//===- MixerAttrs.h - mixer dialect attributes ------------------*- C++ -*-===//

#ifndef MIXER_IR_MIXERATTRS_H
#define MIXER_IR_MIXERATTRS_H

#include "Mixer/IR/MixerBase.h"
#include "Mixer/IR/MixerEnums.h"
#include "mlir/IR/Attributes.h"
#include "mlir/IR/BuiltinAttributes.h"

#define GET_ATTRDEF_CLASSES
#include "Mixer/IR/MixerAttrs.h.inc"

#endif // MIXER_IR_MIXERATTRS_H
