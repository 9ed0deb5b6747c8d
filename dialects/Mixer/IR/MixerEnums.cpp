//===- MixerEnums.cpp - mixer dialect enums -------------------------------===//

#include "Mixer/IR/MixerEnums.h"

#include "Mixer/IR/MixerEnums.cpp.inc"
