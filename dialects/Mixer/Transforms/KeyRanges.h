//===- KeyRanges.h - mask-derived key loop bounds ---------------*- C++ -*-===//
//
// The keys a tile of query rows can see under a structured mask, as loop
// bounds: shared by the CPU tiling (mixer-tile-attention) and the GPU
// mapping (mixer-map-attention-to-gpu), so both visit the same key blocks.
//
//===----------------------------------------------------------------------===//

#ifndef MIXER_TRANSFORMS_KEYRANGES_H
#define MIXER_TRANSFORMS_KEYRANGES_H

#include "Mixer/IR/MixerAttrs.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/Value.h"

namespace tmix::mixer {

/// The keys a tile of query rows needs, as index values: the loop runs over
/// [lo, hi); a key block inside [fullLo, fullHi) is kept by the mask for
/// every row of the tile.
struct KeyRange {
  mlir::Value lo, hi, fullLo, fullHi;
};

/// The key ranges (one or two, visited in order) of rows at absolute
/// positions [pMin, pMax] over `s` keys. Without `boundByMask` the one range
/// is every key, and no block counts as fully kept unless the mask is full.
llvm::SmallVector<KeyRange, 2> computeKeyRanges(mlir::OpBuilder &b,
                                                mlir::Location loc,
                                                MaskAttr mask, mlir::Value pMin,
                                                mlir::Value pMax, mlir::Value s,
                                                bool boundByMask);

} // namespace tmix::mixer

#endif // MIXER_TRANSFORMS_KEYRANGES_H
