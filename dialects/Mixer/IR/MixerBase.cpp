//===- MixerBase.cpp - mixer dialect --------------------------------------===//

#include "Mixer/IR/MixerBase.h"
#include "Mixer/IR/MixerOps.h"

#include "mlir/Transforms/InliningUtils.h"

using namespace mlir;
using namespace tmix::mixer;

#include "Mixer/IR/MixerDialect.cpp.inc"

namespace {
/// Mixer ops have value semantics and no side effects: a function made of
/// them can be inlined anywhere (tmix-compile inlines every exported
/// function into its entry wrapper).
struct MixerInlinerInterface : public DialectInlinerInterface {
  using DialectInlinerInterface::DialectInlinerInterface;
  bool isLegalToInline(Operation *, Region *, bool, IRMapping &) const final {
    return true;
  }
  bool isLegalToInline(Region *, Region *, bool, IRMapping &) const final {
    return true;
  }
};
} // namespace

void MixerDialect::initialize() {
  addInterfaces<MixerInlinerInterface>();
  addOperations<
#define GET_OP_LIST
#include "Mixer/IR/MixerOps.cpp.inc"
      >();
  registerAttributes();
}
