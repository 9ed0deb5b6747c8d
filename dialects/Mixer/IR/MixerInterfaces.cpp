//===- MixerInterfaces.cpp - mixer dialect interfaces ---------------------===//

#include "Mixer/IR/MixerInterfaces.h"

#include "Mixer/IR/MixerInterfaces.cpp.inc"
