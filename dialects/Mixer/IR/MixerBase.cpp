//===- MixerBase.cpp - mixer dialect --------------------------------------===//

#include "Mixer/IR/MixerBase.h"
#include "Mixer/IR/MixerOps.h"

using namespace mlir;
using namespace tmix::mixer;

#include "Mixer/IR/MixerDialect.cpp.inc"

void MixerDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "Mixer/IR/MixerOps.cpp.inc"
      >();
  registerAttributes();
}
