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
                            bool skipMaskedTiles) {
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
  Value iVal = getValueOrCreateConstantIndexOp(rewriter, loc, i0);
  Value rowPos = arith::AddIOp::create(rewriter, loc, rowPos0, iVal);

  // The tile of `rows` query rows (a constant for full tiles, so that
  // everything below has static shapes): the key loops and the
  // normalisation into the tile's rows of the results.
  auto buildTile = [&](OpFoldResult rows) -> SmallVector<Value> {
    Value qT = slice(q, {bIv, h0, i0, zero},
                     {one, g, rows, rewriter.getIndexAttr(d)});
    Value biasT;
    if (bias) {
      auto bType = cast<RankedTensorType>(bias.getType());
      int64_t rank = bType.getRank();
      const OpFoldResult offs[] = {bIv, h0, i0, zero};
      const OpFoldResult sizes[] = {one, g, rows, sSize};
      SmallVector<OpFoldResult> bo, bs;
      for (int64_t i = 0; i < rank; ++i) {
        bool broadcast = bType.getDimSize(i) == 1;
        bo.push_back(broadcast ? zero : offs[i + 4 - rank]);
        bs.push_back(broadcast ? one : sizes[i + 4 - rank]);
      }
      biasT = slice(bias, bo, bs);
    }
    Value rowsVal = getValueOrCreateConstantIndexOp(rewriter, loc, rows);
    Value pMax = arith::AddIOp::create(
        rewriter, loc, rowPos,
        arith::SubIOp::create(rewriter, loc, rowsVal,
                              arith::ConstantIndexOp::create(rewriter, loc, 1)));
    SmallVector<KeyRange, 2> ranges = computeKeyRanges(
        rewriter, loc, mask, rowPos, pMax, sVal, skipMaskedTiles);
    // The state is allocated at the full tile size (a static shape, so that
    // the CPU pipeline can keep it on the stack of the thread running the
    // tile) and sliced to the tile's rows.
    OnlineState full = buildInitialState(
        rewriter, loc, {one, g, rewriter.getIndexAttr(queryTile)}, dv);
    auto rowsOf = [&](Value t, int64_t rank) -> Value {
      SmallVector<OpFoldResult> offs(rank, zero), sizes = {one, g, rows};
      if (rank == 4)
        sizes.push_back(rewriter.getIndexAttr(dv));
      SmallVector<OpFoldResult> strides(rank, one);
      return tensor::ExtractSliceOp::create(rewriter, loc, t, offs, sizes,
                                            strides);
    };
    OnlineState init = {rowsOf(full.acc, 4), rowsOf(full.max, 3),
                        rowsOf(full.sum, 3)};

    // One key block of the tile, from a whole-tile online_attention through
    // its TilingInterface (which shifts col_pos by the block offset).
    auto foldBlock = [&](OpBuilder &b, Location l, MaskAttr blockMask,
                         ValueRange state, Value j,
                         OpFoldResult cur) -> SmallVector<Value> {
      auto whole = OnlineAttentionOp::create(
          b, l, state.getTypes(), qT, kT, vT, rowPos, colPos, state[0],
          state[1], state[2], biasT, op.getScaleAttr(),
          blockMask.isFull() ? MaskAttr() : blockMask);
      FailureOr<TilingResult> tiled = whole.getTiledImplementation(
          b, {zero, zero, zero, j}, {one, g, rows, cur});
      assert(succeeded(tiled) && "whole groups of query heads always tile");
      Operation *tileOp = tiled->tiledOps.front();
      whole->erase();
      return SmallVector<Value>(tileOp->getResults());
    };
    // One block of `cur` keys at `j`: blocks the mask keeps for every row
    // skip the element mask.
    auto block = [&](OpBuilder &b, Location l, const KeyRange &range,
                     ValueRange state, Value j, OpFoldResult cur,
                     bool maskedOnly) -> SmallVector<Value> {
      if (mask.isFull() || maskedOnly)
        return foldBlock(b, l, mask, state, j, cur);
      Value end = arith::AddIOp::create(
          b, l, j, getValueOrCreateConstantIndexOp(b, l, cur));
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
                tb, tl,
                foldBlock(tb, tl, MaskAttr::getNone(ctx), state, j, cur));
          },
          [&](OpBuilder &eb, Location el) {
            scf::YieldOp::create(eb, el,
                                 foldBlock(eb, el, mask, state, j, cur));
          });
      return SmallVector<Value>(ifOp.getResults());
    };

    // Per range in a full tile: a loop over its whole blocks of keyTile
    // keys (static shapes), then the last, partial block if there is one
    // (always with the element mask: one block per tile is not worth a
    // second copy). The last tile of a length queryTile does not divide
    // runs one loop over all blocks, every block with the element mask
    // (compile time: its body is a second copy of everything). The state
    // is carried across.
    AffineExpr loE = e0, hiE = e1;
    bool fullTile = getConstantIntValue(rows).has_value();
    auto runRange = [&](const KeyRange &range,
                        ValueRange init) -> SmallVector<Value> {
      if (!fullTile) {
        auto loop = scf::ForOp::create(
            rewriter, loc, range.lo, range.hi, step, init,
            [&](OpBuilder &b, Location l, Value j, ValueRange state) {
              OpFoldResult cur = affine::makeComposedFoldedAffineMin(
                  b, l,
                  AffineMap::get(
                      2, 0, {getAffineConstantExpr(keyTile, ctx), hiE - loE},
                      ctx),
                  {OpFoldResult(j), OpFoldResult(range.hi)});
              scf::YieldOp::create(
                  b, l, block(b, l, range, state, j, cur, /*maskedOnly=*/true));
            });
        return SmallVector<Value>(loop.getResults());
      }
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
            scf::YieldOp::create(b, l,
                                 block(b, l, range, state, j,
                                       b.getIndexAttr(keyTile),
                                       /*maskedOnly=*/false));
          });
      Value partial = rewriter.createOrFold<arith::CmpIOp>(
          loc, arith::CmpIPredicate::slt, fullHi, range.hi);
      auto last = scf::IfOp::create(
          rewriter, loc, partial,
          [&](OpBuilder &b, Location l) {
            Value cur = arith::SubIOp::create(b, l, range.hi, fullHi);
            scf::YieldOp::create(b, l,
                                 block(b, l, range, loop.getResults(), fullHi,
                                       cur, /*maskedOnly=*/true));
          },
          [&](OpBuilder &b, Location l) {
            scf::YieldOp::create(b, l, loop.getResults());
          });
      return SmallVector<Value>(last.getResults());
    };
    SmallVector<Value> state = {init.acc, init.max, init.sum};
    for (const KeyRange &range : ranges)
      state = runRange(range, state);

    OnlineState final = {state[0], state[1], state[2]};
    auto accType = cast<RankedTensorType>(final.acc.getType());
    auto outTileType = RankedTensorType::get(accType.getShape(), elt);
    RankedTensorType lseTileType =
        op.getLse() ? cast<RankedTensorType>(final.max.getType()) : nullptr;
    // Normalise straight into the tile's rows of the results.
    Value outDest = tensor::ExtractSliceOp::create(
        rewriter, loc, outTileType, shared[0],
        ArrayRef<OpFoldResult>{bIv, h0, i0, zero},
        ArrayRef<OpFoldResult>{one, g, rows, rewriter.getIndexAttr(dv)},
        oneStrides4);
    Value lseDest;
    if (lseTileType)
      lseDest = tensor::ExtractSliceOp::create(
          rewriter, loc, lseTileType, shared[1],
          ArrayRef<OpFoldResult>{bIv, h0, i0},
          ArrayRef<OpFoldResult>{one, g, rows}, oneStrides3);
    return buildFinalize(rewriter, loc, final, outTileType, lseTileType,
                         outDest, lseDest);
  };

  // A full tile (rows = queryTile) is built with static shapes; only the
  // last tile of a length that queryTile does not divide takes the dynamic
  // path.
  SmallVector<Value> tiles;
  if (getConstantIntValue(tileRows)) {
    tiles = buildTile(tileRows);
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
    yieldCast(buildTile(rewriter.getIndexAttr(queryTile)));
    rewriter.setInsertionPointToStart(ifOp.elseBlock());
    yieldCast(buildTile(tileRows));
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
    if (queryTile < 1 || keyTile < 1) {
      getOperation()->emitError()
          << "mixer-tile-attention: query-tile and key-tile must be >= 1, got "
          << static_cast<int64_t>(queryTile) << " and "
          << static_cast<int64_t>(keyTile);
      return signalPassFailure();
    }
    SmallVector<AttentionOp> ops;
    getOperation()->walk([&](AttentionOp op) { ops.push_back(op); });
    IRRewriter rewriter(&getContext());
    for (AttentionOp op : ops)
      if (failed(tileAttention(rewriter, op, queryTile, keyTile,
                               skipMaskedTiles)))
        return signalPassFailure();
  }
};
} // namespace
