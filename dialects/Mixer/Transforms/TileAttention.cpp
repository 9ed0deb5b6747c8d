//===- TileAttention.cpp - flash-style tiling of mixer.attention ----------===//
//
// Implements TileAttentionPass (see Passes.td).
//
//===----------------------------------------------------------------------===//

#include "Mixer/IR/AttentionUtils.h"
#include "Mixer/IR/MixerOps.h"
#include "Mixer/Transforms/KeyRanges.h"
#include "Mixer/Transforms/Passes.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Tensor/Utils/Utils.h"
#include "mlir/IR/PatternMatch.h"

namespace tmix::mixer {
#define GEN_PASS_DEF_TILEATTENTIONPASS
#include "Mixer/Transforms/Passes.h.inc"
} // namespace tmix::mixer

using namespace mlir;
using namespace tmix::mixer;

namespace {

/// Upper bound of a tile's online-softmax state: it is kept on the stack of
/// the thread running the tile (see tmix-cpu-pipeline).
constexpr int64_t kMaxStateBytes = 1 << 20;

} // namespace

// Declared in KeyRanges.h: also used by mixer-map-attention-to-gpu.
SmallVector<KeyRange, 2>
tmix::mixer::computeKeyRanges(OpBuilder &b, Location loc, MaskAttr mask,
                              Value pMin, Value pMax, Value s,
                              bool boundByMask) {
  auto cst = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(b, loc, v);
  };
  auto add = [&](Value x, int64_t v) -> Value {
    return v == 0 ? x : arith::AddIOp::create(b, loc, x, cst(v)).getResult();
  };
  auto clamp = [&](Value x) -> Value {
    Value lo = arith::MaxSIOp::create(b, loc, x, cst(0));
    return arith::MinSIOp::create(b, loc, lo, s);
  };
  auto floorTo = [&](Value x, int64_t m) -> Value {
    Value d = arith::FloorDivSIOp::create(b, loc, x, cst(m));
    return arith::MulIOp::create(b, loc, d, cst(m));
  };
  Value zero = cst(0);
  KeyRange all{zero, s, zero, s};
  KeyRange none{zero, s, zero, zero}; // every block evaluates the mask
  if (!boundByMask)
    return {mask.isFull() ? all : none};
  switch (mask.getKind()) {
  case MaskKind::none:
    return {all};
  case MaskKind::causal:
    return {{zero, clamp(add(pMax, 1)), zero, clamp(add(pMin, 1))}};
  case MaskKind::window: {
    int64_t l = mask.getLeft(), r = mask.getRight();
    return {{clamp(add(pMin, -l)), clamp(add(pMax, r + 1)),
             clamp(add(pMax, -l)), clamp(add(pMin, r + 1))}};
  }
  case MaskKind::block_local: {
    int64_t bk = mask.getBlock();
    return {{clamp(floorTo(pMin, bk)), clamp(add(floorTo(pMax, bk), bk)),
             clamp(floorTo(pMax, bk)), clamp(add(floorTo(pMin, bk), bk))}};
  }
  case MaskKind::dilated: {
    int64_t w = mask.getWidth(), d = mask.getDilation();
    Value lo = clamp(add(pMin, -(w - 1) * d)), hi = clamp(add(pMax, 1));
    if (d == 1) // a plain causal window of w keys
      return {{lo, hi, clamp(add(pMax, -(w - 1))), clamp(add(pMin, 1))}};
    return {{lo, hi, zero, zero}};
  }
  case MaskKind::global_local: {
    // A tile with a global row (p < g) needs every key; all its rows are
    // global when pMax < g. Otherwise its rows see the global columns
    // [0, g), which every row sees, and their window.
    int64_t g = mask.getGlobal(), l = mask.getLeft(), r = mask.getRight();
    auto select = [&](Value c, Value x, Value y) -> Value {
      return arith::SelectOp::create(b, loc, c, x, y);
    };
    Value gv = cst(g);
    Value anyGlobal =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, pMin, gv);
    Value allGlobal =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, pMax, gv);
    Value winLo = clamp(add(pMin, -l)), winHi = clamp(add(pMax, r + 1));
    Value globalCols = clamp(gv);
    KeyRange globals{zero,
                     select(anyGlobal, s,
                            arith::MinSIOp::create(b, loc, globalCols, winLo)),
                     zero, select(allGlobal, s, globalCols)};
    KeyRange window{select(anyGlobal, s, winLo), select(anyGlobal, s, winHi),
                    clamp(add(pMax, -l)), clamp(add(pMin, r + 1))};
    return {globals, window};
  }
  }
  return {none};
}

namespace {

LogicalResult tileAttention(RewriterBase &rewriter, AttentionOp op,
                            int64_t queryTile, int64_t keyTile,
                            int64_t edgeTile, bool skipMaskedTiles) {
  Location loc = op.getLoc();
  rewriter.setInsertionPoint(op);
  MLIRContext *ctx = rewriter.getContext();
  Value q = op.getQuery(), k = op.getKey(), v = op.getValue(),
        bias = op.getBias();
  // The state of a tile lives on the stack of the thread running it.
  int64_t stateBytes = op.getQueryType().getDimSize(1) /
                       op.getKeyType().getDimSize(1) * queryTile *
                       (op.getValueType().getDimSize(3) + 2) * 4;
  if (stateBytes > kMaxStateBytes)
    return op.emitOpError()
           << "mixer-tile-attention: the softmax state of one tile (" << stateBytes
           << " bytes for " << op.getGroupSize() << " query heads x "
           << queryTile << " rows x Dv = " << op.getValueType().getDimSize(3)
           << ") exceeds " << kMaxStateBytes << " bytes; use a smaller query-tile";
  int64_t hkv = op.getKeyType().getDimSize(1);
  int64_t group = op.getGroupSize();
  int64_t d = op.getQueryType().getDimSize(3);
  int64_t dv = op.getValueType().getDimSize(3);
  Type elt = op.getOutputType().getElementType();
  MaskAttr mask = op.getMaskOrNone();

  OpFoldResult bSize = tensor::getMixedSize(rewriter, loc, q, 0);
  OpFoldResult lSize = tensor::getMixedSize(rewriter, loc, q, 2);
  OpFoldResult sSize = tensor::getMixedSize(rewriter, loc, k, 2);
  Value lVal = getValueOrCreateConstantIndexOp(rewriter, loc, lSize);
  Value sVal = getValueOrCreateConstantIndexOp(rewriter, loc, sSize);
  Value rowPos0 = arith::SubIOp::create(rewriter, loc, sVal, lVal);

  // Results are written tile by tile into these.
  auto emptyLike = [&](RankedTensorType type) -> Value {
    SmallVector<Value> dyn;
    for (int64_t i = 0; i < type.getRank(); ++i)
      if (type.isDynamicDim(i))
        dyn.push_back(tensor::DimOp::create(rewriter, loc, q, i)); // B or L
    return tensor::EmptyOp::create(rewriter, loc, type, dyn);
  };
  SmallVector<Value> inits = {emptyLike(op.getOutputType())};
  if (Value lse = op.getLse())
    inits.push_back(emptyLike(cast<RankedTensorType>(lse.getType())));

  AffineExpr e0, e1;
  bindDims(ctx, e0, e1);
  OpFoldResult numTiles = affine::makeComposedFoldedAffineApply(
      rewriter, loc, e0.ceilDiv(queryTile), {lSize});
  auto forall = scf::ForallOp::create(
      rewriter, loc, ArrayRef<OpFoldResult>{bSize, rewriter.getIndexAttr(hkv), numTiles},
      inits, std::nullopt);

  OpBuilder::InsertionGuard guard(rewriter);
  rewriter.setInsertionPoint(forall.getBody()->getTerminator());
  SmallVector<Value> ivs = forall.getInductionVars();
  Value bIv = ivs[0], hIv = ivs[1], tIv = ivs[2];
  OpFoldResult i0 = affine::makeComposedFoldedAffineApply(
      rewriter, loc, e0 * queryTile, {OpFoldResult(tIv)});
  OpFoldResult tileRows = affine::makeComposedFoldedAffineMin(
      rewriter, loc,
      AffineMap::get(2, 0, {getAffineConstantExpr(queryTile, ctx), e1 - e0},
                     ctx),
      {i0, lSize});
  // Every tile is full when queryTile divides a static L.
  int64_t staticL = op.getQueryType().getDimSize(2);
  if (!ShapedType::isDynamic(staticL) && staticL % queryTile == 0)
    tileRows = rewriter.getIndexAttr(queryTile);
  OpFoldResult h0 = affine::makeComposedFoldedAffineApply(
      rewriter, loc, e0 * group, {OpFoldResult(hIv)});
  OpFoldResult zero = rewriter.getIndexAttr(0), one = rewriter.getIndexAttr(1);
  OpFoldResult g = rewriter.getIndexAttr(group);
  ValueRange shared = forall.getRegionIterArgs();
  SmallVector<OpFoldResult> oneStrides4(4, one), oneStrides3(3, one);

  auto slice = [&](Value src, ArrayRef<OpFoldResult> offs,
                   ArrayRef<OpFoldResult> sizes) -> Value {
    SmallVector<OpFoldResult> strides(offs.size(), one);
    return tensor::ExtractSliceOp::create(rewriter, loc, src, offs, sizes,
                                          strides);
  };
  // The key/value head, shared by the tile's G query heads.
  Value kT = slice(k, {bIv, hIv, zero, zero}, {one, one, sSize, rewriter.getIndexAttr(d)});
  Value vT = slice(v, {bIv, hIv, zero, zero}, {one, one, sSize, rewriter.getIndexAttr(dv)});
  Value colPos = arith::ConstantIndexOp::create(rewriter, loc, 0);
  Value step = arith::ConstantIndexOp::create(rewriter, loc, keyTile);
  int64_t keyChunk = std::min(keyTile, edgeTile);
  int64_t rowChunk = std::min(queryTile, edgeTile);
  auto bType = bias ? cast<RankedTensorType>(bias.getType()) : nullptr;
  auto negInf = [&](OpBuilder &b, Location l, Type type) -> Value {
    return arith::ConstantOp::create(
        b, l, b.getFloatAttr(type, APFloat::getInf(
                                       cast<FloatType>(type).getFloatSemantics(),
                                       /*Negative=*/true)));
  };
  auto zeroOf = [&](OpBuilder &b, Location l, Type type) -> Value {
    return arith::ConstantOp::create(b, l, b.getZeroAttr(type));
  };
  // Pads dimension `dim` of `t` at the end to the static `size` with `pad`.
  auto padDim = [&](OpBuilder &b, Location l, Value t, int64_t dim,
                    int64_t size, Value pad) -> Value {
    auto type = cast<RankedTensorType>(t.getType());
    SmallVector<int64_t> shape(type.getShape());
    shape[dim] = size;
    auto padded = RankedTensorType::get(shape, type.getElementType());
    if (padded == type)
      return t;
    return tensor::createPadHighOp(padded, t, pad, /*nofold=*/false, l, b);
  };

  // A tile of `rows` query rows (static) from row `iOff` of the head's
  // rows: the key loops and the normalisation. With `valid` (the last,
  // partial tile of a length the tiles do not divide) only the first
  // `valid` rows exist: q (and the bias rows) are padded with zeros to
  // `rows`, the padding rows are computed and dropped. Everything below
  // has static shapes, so that the contractions and the softmax passes are
  // vectorized. Returns the output (and lse) rows of the tile, `valid` of
  // them when given, written into `outDest` / `lseDest` when given.
  auto buildTile = [&](int64_t rows, OpFoldResult iOff, OpFoldResult valid,
                       Value outDest, Value lseDest) -> SmallVector<Value> {
    OpFoldResult qRows = valid ? valid : rewriter.getIndexAttr(rows);
    Value qT = slice(q, {bIv, h0, iOff, zero},
                     {one, g, qRows, rewriter.getIndexAttr(d)});
    if (valid)
      qT = padDim(rewriter, loc, qT, 2, rows, zeroOf(rewriter, loc, elt));
    Value biasT;
    if (bias) {
      int64_t rank = bType.getRank();
      const OpFoldResult offs[] = {bIv, h0, iOff, zero};
      const OpFoldResult sizes[] = {one, g, qRows, sSize};
      SmallVector<OpFoldResult> bo, bs;
      for (int64_t i = 0; i < rank; ++i) {
        bool broadcast = bType.getDimSize(i) == 1;
        bo.push_back(broadcast ? zero : offs[i + 4 - rank]);
        bs.push_back(broadcast ? one : sizes[i + 4 - rank]);
      }
      biasT = slice(bias, bo, bs);
      // The padding rows read a zero bias.
      if (valid && rank >= 2 && bType.getDimSize(rank - 2) != 1)
        biasT = padDim(rewriter, loc, biasT, rank - 2, rows,
                       zeroOf(rewriter, loc, bType.getElementType()));
    }
    Value rowPos = arith::AddIOp::create(
        rewriter, loc, rowPos0,
        getValueOrCreateConstantIndexOp(rewriter, loc, iOff));
    Value pMax = arith::AddIOp::create(
        rewriter, loc, rowPos,
        arith::ConstantIndexOp::create(rewriter, loc, rows - 1));
    SmallVector<KeyRange, 2> ranges = computeKeyRanges(
        rewriter, loc, mask, rowPos, pMax, sVal, skipMaskedTiles);
    // A static shape: the CPU pipeline keeps the state on the stack of the
    // thread running the tile.
    OnlineState init = buildInitialState(
        rewriter, loc, {one, g, rewriter.getIndexAttr(rows)}, dv);

    // One block of `keys` (static) keys at `j`, from a whole-tile
    // online_attention through its TilingInterface (which shifts col_pos
    // by the block offset).
    auto foldBlock = [&](OpBuilder &b, Location l, MaskAttr blockMask,
                         ValueRange state, Value j,
                         int64_t keys = 0) -> SmallVector<Value> {
      auto whole = OnlineAttentionOp::create(
          b, l, state.getTypes(), qT, kT, vT, rowPos, colPos, state[0],
          state[1], state[2], biasT, op.getScaleAttr(),
          blockMask.isFull() ? MaskAttr() : blockMask);
      FailureOr<TilingResult> tiled = whole.getTiledImplementation(
          b, {zero, zero, zero, j},
          {one, g, b.getIndexAttr(rows), b.getIndexAttr(keys ? keys : keyTile)});
      assert(succeeded(tiled) && "whole groups of query heads always tile");
      Operation *tileOp = tiled->tiledOps.front();
      whole->erase();
      return SmallVector<Value>(tileOp->getResults());
    };
    // A block the mask keeps for every row skips the element mask.
    auto block = [&](OpBuilder &b, Location l, const KeyRange &range,
                     ValueRange state, Value j) -> SmallVector<Value> {
      if (mask.isFull())
        return foldBlock(b, l, mask, state, j);
      Value end = arith::AddIOp::create(
          b, l, j, arith::ConstantIndexOp::create(b, l, keyTile));
      Value inside = arith::AndIOp::create(
          b, l,
          arith::CmpIOp::create(b, l, arith::CmpIPredicate::sge, j,
                                range.fullLo),
          arith::CmpIOp::create(b, l, arith::CmpIPredicate::sle, end,
                                range.fullHi));
      auto ifOp = scf::IfOp::create(
          b, l, inside,
          [&](OpBuilder &tb, Location tl) {
            scf::YieldOp::create(
                tb, tl, foldBlock(tb, tl, MaskAttr::getNone(ctx), state, j));
          },
          [&](OpBuilder &eb, Location el) {
            scf::YieldOp::create(eb, el, foldBlock(eb, el, mask, state, j));
          });
      return SmallVector<Value>(ifOp.getResults());
    };
    // A chunk of the `n` <= keyChunk keys at `j`, padded to keyChunk:
    // zero k and v rows, and a bias of -inf on the padding keys (the
    // block's element mask applies too).
    auto chunk = [&](OpBuilder &b, Location l, ValueRange state, Value j,
                     Value n) -> SmallVector<Value> {
      OpFoldResult nOfr = n;
      Value kC = padDim(b, l,
                        slice(kT, {zero, zero, j, zero},
                              {one, one, nOfr, b.getIndexAttr(d)}),
                        2, keyChunk, zeroOf(b, l, elt));
      Value vC = padDim(b, l,
                        slice(vT, {zero, zero, j, zero},
                              {one, one, nOfr, b.getIndexAttr(dv)}),
                        2, keyChunk, zeroOf(b, l, elt));
      auto keyMasked = [&](OpBuilder &gb, Location gl, Value jj,
                           Value value) -> Value {
        Value in = arith::CmpIOp::create(gb, gl, arith::CmpIPredicate::slt,
                                         jj, n);
        return arith::SelectOp::create(gb, gl, in, value,
                                       negInf(gb, gl, value.getType()));
      };
      Value biasC;
      auto biasType = biasT ? cast<RankedTensorType>(biasT.getType())
                            : RankedTensorType::get({keyChunk},
                                                    b.getF32Type());
      int64_t last = biasType.getRank() - 1;
      if (biasT && biasType.getDimSize(last) != 1) {
        // The bias varies over the keys: its columns, padded with -inf.
        SmallVector<OpFoldResult> offs(last + 1, zero), sizes;
        for (int64_t i = 0; i < last; ++i)
          sizes.push_back(b.getIndexAttr(biasType.getDimSize(i)));
        offs[last] = j;
        sizes.push_back(nOfr);
        biasC = padDim(b, l, slice(biasT, offs, sizes), last, keyChunk,
                       negInf(b, l, biasType.getElementType()));
      } else {
        // No bias, or one that is the same for every key: generated with
        // -inf on the padding keys.
        SmallVector<int64_t> shape(biasType.getShape());
        shape[last] = keyChunk;
        auto type = RankedTensorType::get(shape, biasType.getElementType());
        biasC = tensor::GenerateOp::create(
            b, l, type, ValueRange{},
            [&](OpBuilder &gb, Location gl, ValueRange idx) {
              Value value = zeroOf(gb, gl, type.getElementType());
              if (biasT) {
                SmallVector<Value> at(idx);
                at[last] = arith::ConstantIndexOp::create(gb, gl, 0);
                value = tensor::ExtractOp::create(gb, gl, biasT, at);
              }
              tensor::YieldOp::create(gb, gl,
                                      keyMasked(gb, gl, idx[last], value));
            });
      }
      auto op2 = OnlineAttentionOp::create(
          b, l, state.getTypes(), qT, kC, vC, rowPos, j, state[0], state[1],
          state[2], biasC, op.getScaleAttr(),
          mask.isFull() ? MaskAttr() : mask);
      return SmallVector<Value>(op2->getResults());
    };

    // Per range: a loop over its whole blocks of keyTile keys, then the
    // rest (fewer than keyTile keys) in chunks of keyChunk keys, the last
    // one padded. The state is carried across.
    AffineExpr loE = e0, hiE = e1;
    auto runRange = [&](const KeyRange &range,
                        ValueRange init) -> SmallVector<Value> {
      Value fullHi = getValueOrCreateConstantIndexOp(
          rewriter, loc,
          affine::makeComposedFoldedAffineApply(
              rewriter, loc, loE + ((hiE - loE).floorDiv(keyTile)) * keyTile,
              {OpFoldResult(range.lo),
               OpFoldResult(rewriter.createOrFold<arith::MaxSIOp>(
                   loc, range.hi, range.lo))}));
      auto loop = scf::ForOp::create(
          rewriter, loc, range.lo, fullHi, step, init,
          [&](OpBuilder &b, Location l, Value j, ValueRange state) {
            scf::YieldOp::create(b, l, block(b, l, range, state, j));
          });
      // A rest of static size (e.g. no mask and a static S) is one block
      // of that size, with the element mask.
      std::optional<int64_t> restKeys = getConstantIntValue(
          affine::makeComposedFoldedAffineApply(
              rewriter, loc, (hiE - loE) % keyTile,
              {OpFoldResult(range.lo), OpFoldResult(range.hi)}));
      if (restKeys && *restKeys == 0)
        return SmallVector<Value>(loop.getResults());
      if (restKeys && *restKeys > 0)
        return foldBlock(rewriter, loc, mask, loop.getResults(), fullHi,
                         *restKeys);
      Value chunkStep = arith::ConstantIndexOp::create(rewriter, loc, keyChunk);
      auto rest = scf::ForOp::create(
          rewriter, loc, fullHi, range.hi, chunkStep, loop.getResults(),
          [&](OpBuilder &b, Location l, Value j, ValueRange state) {
            Value n = getValueOrCreateConstantIndexOp(
                b, l,
                affine::makeComposedFoldedAffineMin(
                    b, l,
                    AffineMap::get(
                        2, 0,
                        {getAffineConstantExpr(keyChunk, ctx), hiE - loE},
                        ctx),
                    {OpFoldResult(j), OpFoldResult(range.hi)}));
            scf::YieldOp::create(b, l, chunk(b, l, state, j, n));
          });
      return SmallVector<Value>(rest.getResults());
    };
    SmallVector<Value> state = {init.acc, init.max, init.sum};
    for (const KeyRange &range : ranges)
      state = runRange(range, state);

    OnlineState final = {state[0], state[1], state[2]};
    auto outTileType =
        RankedTensorType::get({1, group, rows, dv}, elt);
    RankedTensorType lseTileType =
        op.getLse() ? RankedTensorType::get({1, group, rows},
                                            rewriter.getF32Type())
                    : nullptr;
    if (!valid)
      return buildFinalize(rewriter, loc, final, outTileType, lseTileType,
                           outDest, lseDest);
    // The valid rows of a padded tile.
    SmallVector<Value> padded =
        buildFinalize(rewriter, loc, final, outTileType, lseTileType);
    SmallVector<Value> results = {tensor::ExtractSliceOp::create(
        rewriter, loc, padded[0], ArrayRef<OpFoldResult>{zero, zero, zero, zero},
        ArrayRef<OpFoldResult>{one, g, valid, rewriter.getIndexAttr(dv)},
        oneStrides4)};
    if (lseTileType)
      results.push_back(tensor::ExtractSliceOp::create(
          rewriter, loc, padded[1], ArrayRef<OpFoldResult>{zero, zero, zero},
          ArrayRef<OpFoldResult>{one, g, valid}, oneStrides3));
    return results;
  };

  // The results' rows of a tile, to normalise into in place.
  auto destinations = [&](OpFoldResult rows) -> std::pair<Value, Value> {
    Value outDest = tensor::ExtractSliceOp::create(
        rewriter, loc, shared[0], ArrayRef<OpFoldResult>{bIv, h0, i0, zero},
        ArrayRef<OpFoldResult>{one, g, rows, rewriter.getIndexAttr(dv)},
        oneStrides4);
    Value lseDest;
    if (op.getLse())
      lseDest = tensor::ExtractSliceOp::create(
          rewriter, loc, shared[1], ArrayRef<OpFoldResult>{bIv, h0, i0},
          ArrayRef<OpFoldResult>{one, g, rows}, oneStrides3);
    return {outDest, lseDest};
  };

  // A full tile (rows = queryTile) has static shapes. The last tile of a
  // length queryTile does not divide runs as tiles of rowChunk rows, the
  // last one padded: static shapes too, and at most rowChunk - 1 rows
  // computed in vain.
  SmallVector<Value> tiles;
  if (std::optional<int64_t> staticRows = getConstantIntValue(tileRows)) {
    auto [outDest, lseDest] = destinations(tileRows);
    tiles = buildTile(*staticRows, i0, OpFoldResult(), outDest, lseDest);
  } else {
    SmallVector<Type> types = {RankedTensorType::get(
        {1, group, ShapedType::kDynamic, dv}, elt)};
    if (op.getLse())
      types.push_back(RankedTensorType::get({1, group, ShapedType::kDynamic},
                                            rewriter.getF32Type()));
    Value rowsVal = getValueOrCreateConstantIndexOp(rewriter, loc, tileRows);
    Value isFull = arith::CmpIOp::create(
        rewriter, loc, arith::CmpIPredicate::eq, rowsVal,
        arith::ConstantIndexOp::create(rewriter, loc, queryTile));
    auto ifOp = scf::IfOp::create(rewriter, loc, types, isFull,
                                  /*addThenBlock=*/true,
                                  /*addElseBlock=*/true);
    auto yieldCast = [&](SmallVector<Value> values) {
      for (auto [v, t] : llvm::zip(values, types))
        if (v.getType() != t)
          v = tensor::CastOp::create(rewriter, loc, t, v);
      scf::YieldOp::create(rewriter, loc, values);
    };
    rewriter.setInsertionPointToStart(ifOp.thenBlock());
    {
      auto [outDest, lseDest] =
          destinations(rewriter.getIndexAttr(queryTile));
      yieldCast(buildTile(queryTile, i0, OpFoldResult(), outDest, lseDest));
    }
    rewriter.setInsertionPointToStart(ifOp.elseBlock());
    if (!ShapedType::isDynamic(staticL)) {
      // A static L: the last tile has L mod query-tile rows, a static
      // shape already.
      int64_t lastRows = staticL % queryTile;
      auto [outDest, lseDest] = destinations(rewriter.getIndexAttr(lastRows));
      yieldCast(buildTile(lastRows, i0, OpFoldResult(), outDest, lseDest));
    } else {
      auto [outDest, lseDest] = destinations(tileRows);
      SmallVector<Value> inits = {outDest};
      if (lseDest)
        inits.push_back(lseDest);
      auto loop = scf::ForOp::create(
          rewriter, loc, arith::ConstantIndexOp::create(rewriter, loc, 0),
          rowsVal, arith::ConstantIndexOp::create(rewriter, loc, rowChunk),
          inits);
      OpBuilder::InsertionGuard g2(rewriter);
      rewriter.setInsertionPointToStart(loop.getBody());
      Value t = loop.getInductionVar();
      OpFoldResult valid = affine::makeComposedFoldedAffineMin(
          rewriter, loc,
          AffineMap::get(2, 0,
                         {getAffineConstantExpr(rowChunk, ctx), e1 - e0}, ctx),
          {OpFoldResult(t), OpFoldResult(rowsVal)});
      OpFoldResult iOff = affine::makeComposedFoldedAffineApply(
          rewriter, loc, e0 + e1, {i0, OpFoldResult(t)});
      SmallVector<Value> part =
          buildTile(rowChunk, iOff, valid, Value(), Value());
      SmallVector<Value> next = {tensor::InsertSliceOp::create(
          rewriter, loc, part[0], loop.getRegionIterArgs()[0],
          ArrayRef<OpFoldResult>{zero, zero, t, zero},
          ArrayRef<OpFoldResult>{one, g, valid, rewriter.getIndexAttr(dv)},
          oneStrides4)};
      if (part.size() > 1)
        next.push_back(tensor::InsertSliceOp::create(
            rewriter, loc, part[1], loop.getRegionIterArgs()[1],
            ArrayRef<OpFoldResult>{zero, zero, t},
            ArrayRef<OpFoldResult>{one, g, valid}, oneStrides3));
      scf::YieldOp::create(rewriter, loc, next);
      rewriter.setInsertionPointAfter(loop);
      yieldCast(SmallVector<Value>(loop.getResults()));
    }
    rewriter.setInsertionPointAfter(ifOp);
    tiles = SmallVector<Value>(ifOp.getResults());
  }
  OpFoldResult rows = tileRows;

  rewriter.setInsertionPointToStart(forall.getTerminator().getBody());
  tensor::ParallelInsertSliceOp::create(
      rewriter, loc, tiles[0], shared[0],
      ArrayRef<OpFoldResult>{bIv, h0, i0, zero},
      ArrayRef<OpFoldResult>{one, g, rows, rewriter.getIndexAttr(dv)},
      oneStrides4);
  if (tiles.size() > 1)
    tensor::ParallelInsertSliceOp::create(
        rewriter, loc, tiles[1], shared[1],
        ArrayRef<OpFoldResult>{bIv, h0, i0}, ArrayRef<OpFoldResult>{one, g, rows},
        oneStrides3);
  rewriter.replaceOp(op, forall.getResults());
  return success();
}

struct TileAttentionPass
    : public tmix::mixer::impl::TileAttentionPassBase<TileAttentionPass> {
  using Base::Base;
  void runOnOperation() override {
    if (queryTile < 1 || keyTile < 1 || edgeTile < 1) {
      getOperation()->emitError()
          << "mixer-tile-attention: query-tile, key-tile and edge-tile must "
             "be >= 1, got "
          << static_cast<int64_t>(queryTile) << ", "
          << static_cast<int64_t>(keyTile) << " and "
          << static_cast<int64_t>(edgeTile);
      return signalPassFailure();
    }
    SmallVector<AttentionOp> ops;
    getOperation()->walk([&](AttentionOp op) { ops.push_back(op); });
    IRRewriter rewriter(&getContext());
    for (AttentionOp op : ops)
      if (failed(tileAttention(rewriter, op, queryTile, keyTile, edgeTile,
                               skipMaskedTiles)))
        return signalPassFailure();
  }
};
} // namespace
