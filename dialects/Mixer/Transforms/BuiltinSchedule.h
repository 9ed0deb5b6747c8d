//===- BuiltinSchedule.h - transform scripts built into passes --*- C++ -*-===//
//
// mixer-vectorize-attention and mixer-tile-layers carry their schedules as
// transform-dialect text; this runs such a text on a pass's operation and
// holds the pieces the texts share.
//
//===----------------------------------------------------------------------===//

#ifndef MIXER_TRANSFORMS_BUILTINSCHEDULE_H
#define MIXER_TRANSFORMS_BUILTINSCHEDULE_H

#include "mlir/Dialect/Transform/IR/TransformDialect.h"
#include "mlir/Dialect/Transform/Interfaces/TransformInterfaces.h"
#include "mlir/Dialect/Transform/Transforms/TransformInterpreterUtils.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Parser/Parser.h"

namespace tmix::mixer {

/// `@peel`: splits off the partial last iteration of an scf.for; a loop
/// whose trip count is a multiple of its step has nothing to peel (a failure
/// the callers suppress). Substituted into the schedules' formatv text, so
/// its braces are single.
constexpr const char *kPeelSequence = R"mlir(
  transform.named_sequence @peel(%loop: !transform.op<"scf.for"> {transform.consumed}) {
    %main, %rest = transform.loop.peel %loop : (!transform.op<"scf.for">) -> (!transform.any_op, !transform.any_op)
    transform.yield
  }
)mlir";

/// Parses `text` (a module with `@__transform_main`) and applies it to
/// `root`. Reports an error naming `pass` when the built-in text does not
/// parse; the interpreter reports its own failures.
inline mlir::LogicalResult applyBuiltinSchedule(mlir::Operation *root,
                                                llvm::StringRef text,
                                                llvm::StringRef pass) {
  mlir::OwningOpRef<mlir::ModuleOp> schedule =
      mlir::parseSourceString<mlir::ModuleOp>(text, root->getContext());
  if (!schedule)
    return root->emitError() << pass << ": invalid built-in schedule";
  mlir::Operation *entry = mlir::transform::detail::findTransformEntryPoint(
      root, *schedule,
      mlir::transform::TransformDialect::kTransformEntryPointSymbolName);
  if (!entry)
    return mlir::failure();
  return mlir::transform::applyTransformNamedSequence(
      root, entry, *schedule, mlir::transform::TransformOptions());
}

/// The longest read scalarizeBroadcastReads splits (a register tile's rows).
constexpr int64_t kMaxScalarizedRead = 8;

/// After a register tile's outer products are lowered, the column of the
/// left operand (k or p in attention, x in a Linear) is a small vector read
/// from a tensor whose elements are each broadcast along one row of the
/// tile. LLVM loads such a vector in pieces when its length is not a power
/// of two (6 for a 6 x 16 tile) and builds the broadcasts with shuffles:
/// one more live register, and on AVX2's 16 an accumulator spills. This
/// rewrites every in-bounds, unmasked read of 2 to kMaxScalarizedRead
/// elements along one dimension whose uses only splat its elements
/// (vector.broadcast, then vector.transpose moving that dimension off the
/// innermost) into one tensor.extract per element, so that each broadcast
/// becomes a broadcast load (vbroadcastss from memory). Reads of whole
/// vectors (a row of v, a row max broadcast over keys) are left alone.
mlir::LogicalResult scalarizeBroadcastReads(mlir::Operation *root);

} // namespace tmix::mixer

#endif // MIXER_TRANSFORMS_BUILTINSCHEDULE_H
