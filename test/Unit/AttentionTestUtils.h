//===- AttentionTestUtils.h - shared pieces of the attention tests -*- C++ -*-===//
//
// What the numeric tests of the CPU lowerings (AttentionNumericTest) and of
// the GPU mapping run on the CPU (GpuAttentionCpuTest) share: element types,
// the reference mask as a #mixer.mask, and the tolerances.
//
//===----------------------------------------------------------------------===//

#ifndef TMIX_TEST_UNIT_ATTENTIONTESTUTILS_H
#define TMIX_TEST_UNIT_ATTENTIONTESTUTILS_H

#include "Reference/Attention.h"

#include "Mixer/IR/MixerAttrs.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/MLIRContext.h"

namespace tmix::test {

enum class Elt { F32, F16, BF16 };

inline mlir::Type eltType(mlir::MLIRContext *ctx, Elt e) {
  mlir::Builder b(ctx);
  switch (e) {
  case Elt::F32:
    return b.getF32Type();
  case Elt::F16:
    return b.getF16Type();
  case Elt::BF16:
    return b.getBF16Type();
  }
  return {};
}

inline mixer::MaskAttr toAttr(mlir::MLIRContext *ctx, const ref::Mask &m) {
  static const mixer::MaskKind kinds[] = {
      mixer::MaskKind::none,    mixer::MaskKind::causal,
      mixer::MaskKind::window,  mixer::MaskKind::block_local,
      mixer::MaskKind::dilated, mixer::MaskKind::global_local};
  return mixer::MaskAttr::get(ctx, kinds[static_cast<int>(m.kind)], m.left,
                              m.right, m.block, m.width, m.dilation, m.global);
}

/// Max abs error allowed against the double reference: f32 accumulation,
/// inputs rounded to the element type.
inline double tolerance(Elt e) {
  switch (e) {
  case Elt::F32:
    return 1e-4;
  case Elt::F16:
    return 2e-3;
  case Elt::BF16:
    return 1.5e-2;
  }
  return 0;
}

} // namespace tmix::test

#endif // TMIX_TEST_UNIT_ATTENTIONTESTUTILS_H
