//===- MapAttentionToGpu.cpp - attention as a GPU-mapped loop nest --------===//
//
// Implements MapAttentionToGpuPass (see Passes.td).
//
// One block loop iteration = one GPU thread block = one (batch, kv head,
// query tile). Its R = G x Bm query rows (the G query heads of the kv head
// folded into the rows) are owned by R / 16 warps; lane `l` of warp `w` owns
// rows 16w + l/4 and 16w + l/4 + 8 and, in every 8-column fragment, columns
// 2(l%4) and 2(l%4)+1: the accumulator layout of PTX's mma.m16n8k16. The
// block runs a sequence of thread loops (phases); the end of a phase is a
// block barrier. Per key block:
//
//   P1  copy the K and V block into workgroup buffers (zero past the keys);
//   P2  scores of the thread's fragment = scale * Q·Kᵀ (+ bias), masked to
//       -inf outside the mask (only in blocks the mask does not keep
//       entirely); the thread's row maxima of its columns -> `red`;
//   P3  new row max from the 4 partial maxima, p = exp(s - max) for the
//       thread's columns -> `p` buffer (element type), partial row sums and
//       the accumulator rescaled by exp(old max - new max);
//   P4  accumulator fragment += P·V.
//
// Q is staged once (rows past L are zero) before the key loop; the end
// gathers the 4 partial row sums and writes acc / sum (and lse) for the valid
// rows. The per-thread state (scores, accumulator, max, partial sum) is a
// `thread_private` buffer indexed by the thread: on the CPU an ordinary
// array, on the GPU (mixer-gpu-launch) private memory that LLVM keeps in
// registers. The two products are calls to fragment functions whose bodies
// are the per-thread scalar definition; mixer-gpu-tensor-cores replaces
// them by nvgpu.mma.sync for f16/bf16. So the same IR runs on the CPU
// (tmix-gpu-emulation-pipeline) and, after those two rewrites, on the GPU.
//
//===----------------------------------------------------------------------===//

#include "Mixer/IR/AttentionUtils.h"
#include "Mixer/IR/MixerOps.h"
#include "Mixer/Transforms/GpuAttention.h"
#include "Mixer/Transforms/KeyRanges.h"
#include "Mixer/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/IR/SymbolTable.h"

#include <limits>
#include <numeric>

namespace tmix::mixer {
#define GEN_PASS_DEF_MAPATTENTIONTOGPUPASS
#include "Mixer/Transforms/Passes.h.inc"
} // namespace tmix::mixer

using namespace mlir;
using namespace tmix::mixer;
namespace tg = tmix::mixer::gpu;

namespace {

/// Static shared memory of a kernel (PTX's limit without opt-in).
constexpr int64_t kMaxSharedBytes = 48 * 1024;
constexpr int64_t kMaxThreads = 1024;
constexpr float kNegInf = -std::numeric_limits<float>::infinity();

/// The block schedule of one attention op.
struct Schedule {
  int64_t bm;      // query rows per head in a block
  int64_t bn;      // keys per step of the key loop
  int64_t rows;    // R = G * bm, a multiple of 16
  int64_t threads; // 32 per 16 rows
  int64_t sharedBytes;
};

int64_t sharedBytesFor(int64_t rows, int64_t bn, int64_t d, int64_t dv,
                       int64_t eltBytes) {
  // q [R, D], k [Bn, D], v [Bn, Dv], p [R, Bn] in the element type; the
  // partial row maxima / sums [R, 4] in f32.
  return (rows * d + bn * d + bn * dv + rows * bn) * eltBytes + rows * 4 * 4;
}

FailureOr<Schedule> chooseSchedule(AttentionOp op, int64_t queryTile,
                                   int64_t keyTile) {
  int64_t g = op.getGroupSize();
  int64_t d = op.getQueryType().getDimSize(3);
  int64_t dv = op.getValueType().getDimSize(3);
  int64_t eltBytes =
      op.getOutputType().getElementType().getIntOrFloatBitWidth() / 8;
  auto fail = [&]() {
    return op.emitOpError() << "mixer-map-attention-to-gpu: ";
  };
  if (dv % tg::kFragCols != 0) {
    fail() << "the value head dim Dv = " << dv << " must be a multiple of "
           << tg::kFragCols << " (the columns of an accumulator fragment)";
    return failure();
  }
  int64_t bn = keyTile > 0 ? keyTile : (eltBytes == 2 ? 64 : 32);
  if (bn % tg::kMmaK != 0) {
    fail() << "key-tile must be a positive multiple of " << tg::kMmaK
           << ", got " << bn;
    return failure();
  }
  // Rows of a block must fill whole warps (16 rows each).
  int64_t step = tg::kWarpRows / std::gcd(g, tg::kWarpRows);
  SmallVector<int64_t> candidates;
  if (queryTile > 0) {
    if ((g * queryTile) % tg::kWarpRows != 0) {
      fail() << "a block holds G x query-tile = " << g << " x " << queryTile
             << " query rows, which must be a multiple of " << tg::kWarpRows
             << " (the rows of a warp)";
      return failure();
    }
    candidates.push_back(queryTile);
  } else {
    for (int64_t target : {64, 32, 16}) {
      int64_t bm = std::max<int64_t>(1, target / g);
      bm = (bm + step - 1) / step * step;
      if (candidates.empty() || candidates.back() != bm)
        candidates.push_back(bm);
    }
  }
  for (int64_t bm : candidates) {
    int64_t rows = g * bm;
    int64_t bytes = sharedBytesFor(rows, bn, d, dv, eltBytes);
    if (bytes > kMaxSharedBytes && bm != candidates.back())
      continue;
    if (2 * rows > kMaxThreads) {
      fail() << "a block of " << rows << " query rows (G = " << g << " heads x "
             << bm << ") needs " << 2 * rows << " threads, more than "
             << kMaxThreads << "; use a smaller query-tile";
      return failure();
    }
    if (bytes > kMaxSharedBytes) {
      fail() << "a block of " << rows << " query rows x " << bn
             << " keys (D = " << d << ", Dv = " << dv << ") needs " << bytes
             << " bytes of shared memory, more than " << kMaxSharedBytes
             << "; use a smaller key-tile"
             << (queryTile > 0 ? " or query-tile" : "");
      return failure();
    }
    return Schedule{bm, bn, rows, 2 * rows, bytes};
  }
  llvm_unreachable("at least one candidate");
}

/// Small IR-building helpers at a fixed location.
struct Emitter {
  OpBuilder &b;
  Location loc;

  Value idx(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }
  Value f32(float v) {
    return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(v));
  }
  Value add(Value x, Value y) { return arith::AddIOp::create(b, loc, x, y); }
  Value add(Value x, int64_t y) { return y == 0 ? x : add(x, idx(y)); }
  Value sub(Value x, Value y) { return arith::SubIOp::create(b, loc, x, y); }
  Value mul(Value x, int64_t y) {
    return arith::MulIOp::create(b, loc, x, idx(y));
  }
  Value div(Value x, int64_t y) {
    return arith::DivUIOp::create(b, loc, x, idx(y));
  }
  Value rem(Value x, int64_t y) {
    return arith::RemUIOp::create(b, loc, x, idx(y));
  }
  Value min(Value x, Value y) { return arith::MinSIOp::create(b, loc, x, y); }
  Value cmp(arith::CmpIPredicate p, Value x, Value y) {
    return arith::CmpIOp::create(b, loc, p, x, y);
  }
  Value lt(Value x, Value y) { return cmp(arith::CmpIPredicate::slt, x, y); }
  Value andI(Value x, Value y) { return arith::AndIOp::create(b, loc, x, y); }
  Value select(Value c, Value x, Value y) {
    return arith::SelectOp::create(b, loc, c, x, y);
  }
  Value load(Value m, ValueRange ivs) {
    return memref::LoadOp::create(b, loc, m, ivs);
  }
  void store(Value v, Value m, ValueRange ivs) {
    memref::StoreOp::create(b, loc, v, m, ivs);
  }
  Value toF32(Value v) {
    return v.getType().isF32()
               ? v
               : arith::ExtFOp::create(b, loc, b.getF32Type(), v).getResult();
  }
  Value fromF32(Value v, Type t) {
    return t.isF32() ? v : arith::TruncFOp::create(b, loc, t, v).getResult();
  }
  Value fmax(Value x, Value y) {
    return arith::MaximumFOp::create(b, loc, x, y);
  }
  Value fadd(Value x, Value y) { return arith::AddFOp::create(b, loc, x, y); }
  Value fmul(Value x, Value y) { return arith::MulFOp::create(b, loc, x, y); }
  Value exp(Value x) { return math::ExpOp::create(b, loc, x); }
  /// `m` when finite, else 0 (rows that have seen no key yet).
  Value safeMax(Value m) {
    Value isNegInf = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ, m,
                                           f32(kNegInf));
    return select(isNegInf, f32(0.0f), m);
  }
};

/// The per-thread coordinates of the fragment layout.
struct Lane {
  Value warp, group, inGroup; // tid / 32, (tid % 32) / 4, tid % 4
  Value row[2];               // 16 warp + group, + 8
};

Lane laneOf(Emitter &e, Value tid) {
  Lane l;
  Value lane = e.rem(tid, tg::kWarpSize);
  l.warp = e.div(tid, tg::kWarpSize);
  l.group = e.div(lane, 4);
  l.inGroup = e.rem(lane, 4);
  l.row[0] = e.add(e.mul(l.warp, tg::kWarpRows), l.group);
  l.row[1] = e.add(l.row[0], 8);
  return l;
}

/// The private function computing one thread's accumulator fragment of
/// C[16 x 8] += A[16 x K] · B[K x 8] for the warp of thread `tid`, with A the
/// rows 16 * warp.. of `a` and B the columns n0.. of `b` (of `bᵀ` with
/// transpose_b). Its body is the scalar definition, in f32:
///   c[e] += sum_k a[row(e), k] * b(k, col(e)),
///   row(e) = 16 warp + lane/4 + 8 (e/2), col(e) = n0 + 2 (lane%4) + e%2.
func::FuncOp getFragmentProductFunction(ModuleOp module, MemRefType aType,
                                        MemRefType bType, bool transposeB) {
  MLIRContext *ctx = module.getContext();
  std::string name = "__tmix_mma_frag_";
  name += transposeB ? "nt_" : "nn_";
  auto mangle = [&](Type t) {
    std::string s;
    llvm::raw_string_ostream os(s);
    t.print(os);
    for (char &c : s)
      if (!llvm::isAlnum(c))
        c = '_';
    return s;
  };
  name += mangle(aType) + "_" + mangle(bType);
  if (auto f = module.lookupSymbol<func::FuncOp>(name))
    return f;

  OpBuilder b(ctx);
  b.setInsertionPointToEnd(module.getBody());
  Location loc = module.getLoc();
  Type idxT = b.getIndexType();
  auto vec4 = VectorType::get({4}, b.getF32Type());
  auto fnType = b.getFunctionType({aType, bType, idxT, idxT, vec4}, {vec4});
  auto fn = func::FuncOp::create(b, loc, name, fnType);
  fn.setPrivate();
  fn->setAttr(tg::kFragmentAttr,
              b.getDictionaryAttr(
                  b.getNamedAttr(tg::kTransposeB, b.getBoolAttr(transposeB))));
  Block *body = fn.addEntryBlock();
  b.setInsertionPointToStart(body);
  Emitter e{b, loc};
  Value a = body->getArgument(0), bm = body->getArgument(1),
        tid = body->getArgument(2), n0 = body->getArgument(3),
        c = body->getArgument(4);
  Lane l = laneOf(e, tid);
  Value col0 = e.add(n0, e.mul(l.inGroup, 2));
  Value cols[2] = {col0, e.add(col0, 1)};
  SmallVector<Value> init;
  for (int64_t i = 0; i < 4; ++i)
    init.push_back(vector::ExtractOp::create(b, loc, c, i));
  auto flags =
      arith::FastMathFlagsAttr::get(ctx, arith::FastMathFlags::contract);
  auto loop = scf::ForOp::create(
      b, loc, e.idx(0), e.idx(aType.getDimSize(1)), e.idx(1), init,
      [&](OpBuilder &nb, Location nl, Value k, ValueRange acc) {
        Emitter ne{nb, nl};
        Value av[2], bv[2];
        for (int i = 0; i < 2; ++i) {
          av[i] = ne.toF32(ne.load(a, {l.row[i], k}));
          bv[i] = ne.toF32(transposeB ? ne.load(bm, {cols[i], k})
                                      : ne.load(bm, {k, cols[i]}));
        }
        SmallVector<Value> next;
        for (int64_t i = 0; i < 4; ++i) {
          Value prod =
              arith::MulFOp::create(nb, nl, av[i / 2], bv[i % 2], flags);
          next.push_back(arith::AddFOp::create(nb, nl, acc[i], prod, flags));
        }
        scf::YieldOp::create(nb, nl, next);
      });
  Value result =
      vector::FromElementsOp::create(b, loc, vec4, loop.getResults());
  func::ReturnOp::create(b, loc, result);
  return fn;
}

/// A fully dynamic strided memref type of `shape`.
MemRefType stridedType(ArrayRef<int64_t> shape, Type elt) {
  SmallVector<int64_t> strides(shape.size(), ShapedType::kDynamic);
  auto layout =
      StridedLayoutAttr::get(elt.getContext(), ShapedType::kDynamic, strides);
  return MemRefType::get(shape, elt, layout);
}

Value toBuffer(OpBuilder &b, Location loc, Value tensor, bool readOnly) {
  auto t = cast<RankedTensorType>(tensor.getType());
  auto buf = bufferization::ToBufferOp::create(
      b, loc, stridedType(t.getShape(), t.getElementType()), tensor);
  if (readOnly)
    buf.setReadOnly(true);
  return buf;
}

class AttentionMapper {
public:
  AttentionMapper(RewriterBase &rewriter, AttentionOp op, const Schedule &s,
                  bool skipMaskedTiles)
      : rewriter(rewriter), op(op), s(s), skipMaskedTiles(skipMaskedTiles) {}

  LogicalResult run();

private:
  /// An scf.forall over the block's threads mapped to #gpu.thread<x>;
  /// `body` builds the per-thread code.
  void threadLoop(OpBuilder &b, Location loc,
                  function_ref<void(Emitter &, Value tid)> body);

  // Offsets in the per-thread state.
  int64_t scoreAt(int64_t n, int64_t e) const { return n * 4 + e; }
  int64_t accAt(int64_t n, int64_t e) const { return s.bn / 2 + n * 4 + e; }
  int64_t maxAt(int64_t r) const { return s.bn / 2 + dv / 2 + r; }
  int64_t sumAt(int64_t r) const { return s.bn / 2 + dv / 2 + 2 + r; }
  int64_t stateSize() const { return s.bn / 2 + dv / 2 + 4; }

  RewriterBase &rewriter;
  AttentionOp op;
  Schedule s;
  bool skipMaskedTiles;
  int64_t g = 0, d = 0, dv = 0;
  Type elt;
};

void AttentionMapper::threadLoop(OpBuilder &b, Location loc,
                                 function_ref<void(Emitter &, Value)> body) {
  MLIRContext *ctx = b.getContext();
  auto mapping = b.getArrayAttr(
      {mlir::gpu::GPUThreadMappingAttr::get(ctx, mlir::gpu::MappingId::DimX)});
  auto forall = scf::ForallOp::create(
      b, loc, ArrayRef<OpFoldResult>{b.getIndexAttr(s.threads)}, ValueRange{},
      mapping);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPoint(forall.getBody()->getTerminator());
  Emitter e{b, loc};
  body(e, forall.getInductionVar(0));
}

LogicalResult AttentionMapper::run() {
  Location loc = op.getLoc();
  MLIRContext *ctx = rewriter.getContext();
  OpBuilder &b = rewriter;
  rewriter.setInsertionPoint(op);
  auto module = op->getParentOfType<ModuleOp>();
  g = op.getGroupSize();
  d = op.getQueryType().getDimSize(3);
  dv = op.getValueType().getDimSize(3);
  elt = op.getOutputType().getElementType();
  int64_t hkv = op.getKeyType().getDimSize(1);
  const int64_t bm = s.bm, bn = s.bn, R = s.rows, T = s.threads;
  MaskAttr mask = op.getMaskOrNone();
  float scale = op.getEffectiveScale();
  Value bias = op.getBias();
  bool withLse = static_cast<bool>(op.getLse());
  Emitter e{b, loc};

  // The operands as buffers (read only) and the destinations as tensors
  // written block by block.
  Value q = op.getQuery(), k = op.getKey(), v = op.getValue();
  Value qB = toBuffer(b, loc, q, true), kB = toBuffer(b, loc, k, true),
        vB = toBuffer(b, loc, v, true);
  Value biasB = bias ? toBuffer(b, loc, bias, true) : Value();
  OpFoldResult bSize = tensor::getMixedSize(b, loc, q, 0);
  OpFoldResult lSize = tensor::getMixedSize(b, loc, q, 2);
  Value lVal = getValueOrCreateConstantIndexOp(b, loc, lSize);
  Value sVal = getValueOrCreateConstantIndexOp(
      b, loc, tensor::getMixedSize(b, loc, k, 2));
  Value rowPos0 = e.sub(sVal, lVal); // queries are right-aligned to the keys
  auto emptyLike = [&](RankedTensorType type) -> Value {
    SmallVector<Value> dyn;
    for (int64_t i = 0; i < type.getRank(); ++i)
      if (type.isDynamicDim(i))
        dyn.push_back(tensor::DimOp::create(b, loc, q, i)); // B or L
    return tensor::EmptyOp::create(b, loc, type, dyn);
  };
  SmallVector<Value> inits = {emptyLike(op.getOutputType())};
  if (withLse)
    inits.push_back(emptyLike(cast<RankedTensorType>(op.getLse().getType())));
  Value numTiles = arith::CeilDivUIOp::create(b, loc, lVal, e.idx(bm));
  auto blockMapping = b.getArrayAttr(
      {mlir::gpu::GPUBlockMappingAttr::get(ctx, mlir::gpu::MappingId::DimZ),
       mlir::gpu::GPUBlockMappingAttr::get(ctx, mlir::gpu::MappingId::DimY),
       mlir::gpu::GPUBlockMappingAttr::get(ctx, mlir::gpu::MappingId::DimX)});
  auto blocks =
      scf::ForallOp::create(b, loc,
                            ArrayRef<OpFoldResult>{bSize, b.getIndexAttr(hkv),
                                                   OpFoldResult(numTiles)},
                            inits, blockMapping);
  blocks->setAttr(tg::kBlockDimsAttr, b.getDenseI64ArrayAttr({T, 1, 1}));

  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPoint(blocks.getBody()->getTerminator());
  Value bIv = blocks.getInductionVar(0), hIv = blocks.getInductionVar(1),
        tIv = blocks.getInductionVar(2);
  Value i0 = e.mul(tIv, bm);
  Value rowsVal = e.min(e.idx(bm), e.sub(lVal, i0));
  Value h0 = e.mul(hIv, g);
  Value lastRow = e.sub(lVal, e.idx(1)), lastKey = e.sub(sVal, e.idx(1));

  // This block's rows of the destinations, as buffers.
  ValueRange shared = blocks.getRegionIterArgs();
  SmallVector<OpFoldResult> one4(4, b.getIndexAttr(1));
  SmallVector<OpFoldResult> outOffs = {bIv, h0, i0, b.getIndexAttr(0)};
  SmallVector<OpFoldResult> outSizes = {b.getIndexAttr(1), b.getIndexAttr(g),
                                        rowsVal, b.getIndexAttr(dv)};
  auto outSliceType =
      RankedTensorType::get({1, g, ShapedType::kDynamic, dv}, elt);
  Value outSlice = tensor::ExtractSliceOp::create(
      b, loc, outSliceType, shared[0], outOffs, outSizes, one4);
  Value outB = toBuffer(b, loc, outSlice, false);
  Value lseSlice, lseB;
  SmallVector<OpFoldResult> lseOffs(outOffs.begin(), outOffs.begin() + 3),
      lseSizes(outSizes.begin(), outSizes.begin() + 3),
      one3(3, b.getIndexAttr(1));
  if (withLse) {
    lseSlice = tensor::ExtractSliceOp::create(
        b, loc,
        RankedTensorType::get({1, g, ShapedType::kDynamic}, b.getF32Type()),
        shared[1], lseOffs, lseSizes, one3);
    lseB = toBuffer(b, loc, lseSlice, false);
  }

  // Block buffers.
  auto alloc = [&](ArrayRef<int64_t> shape, Type t, StringRef space) {
    auto a = memref::AllocOp::create(b, loc, MemRefType::get(shape, t));
    a->setAttr(tg::kMemoryAttr, b.getStringAttr(space));
    return a.getResult();
  };
  Type f32 = b.getF32Type();
  Value qS = alloc({R, d}, elt, tg::kWorkgroup);
  Value kS = alloc({bn, d}, elt, tg::kWorkgroup);
  Value vS = alloc({bn, dv}, elt, tg::kWorkgroup);
  Value pS = alloc({R, bn}, elt, tg::kWorkgroup);
  Value red = alloc({R, 4}, f32, tg::kWorkgroup);
  Value st = alloc({T, stateSize()}, f32, tg::kThreadPrivate);
  func::FuncOp qkFn = getFragmentProductFunction(
      module, cast<MemRefType>(qS.getType()), cast<MemRefType>(kS.getType()),
      /*transposeB=*/true);
  func::FuncOp pvFn = getFragmentProductFunction(
      module, cast<MemRefType>(pS.getType()), cast<MemRefType>(vS.getType()),
      /*transposeB=*/false);

  // Cooperative copy of `rowsN` x `cols` elements into `dst`: thread t
  // copies elements t, t + T, ...; `src(row, col)` yields the value.
  auto copyTile = [&](Emitter &te, Value tid, Value dst, int64_t rowsN,
                      int64_t cols,
                      function_ref<Value(Emitter &, Value, Value)> src) {
    int64_t n = rowsN * cols;
    int64_t iters = (n + T - 1) / T;
    scf::ForOp::create(
        te.b, te.loc, te.idx(0), te.idx(iters), te.idx(1), ValueRange{},
        [&](OpBuilder &nb, Location nl, Value it, ValueRange) {
          Emitter ne{nb, nl};
          Value flat = ne.add(tid, ne.mul(it, T));
          auto inRange = scf::IfOp::create(nb, nl, ne.lt(flat, ne.idx(n)),
                                           /*withElse=*/false);
          {
            OpBuilder::InsertionGuard ig(nb);
            nb.setInsertionPointToStart(inRange.thenBlock());
            Value row = ne.div(flat, cols), col = ne.rem(flat, cols);
            ne.store(src(ne, row, col), dst, {row, col});
          }
          scf::YieldOp::create(nb, nl);
        });
  };
  Value zeroElt = arith::ConstantOp::create(b, loc, b.getFloatAttr(elt, 0.0));

  // P0: empty state; stage the tile's queries (rows past L are zero).
  threadLoop(b, loc, [&](Emitter &te, Value tid) {
    for (int64_t i = 0; i < stateSize(); ++i) {
      bool isMax = i == maxAt(0) || i == maxAt(1);
      te.store(te.f32(isMax ? kNegInf : 0.0f), st, {tid, te.idx(i)});
    }
    copyTile(te, tid, qS, R, d, [&](Emitter &ce, Value r, Value c) {
      Value gi = ce.div(r, bm), i = ce.rem(r, bm);
      Value row = ce.min(ce.add(i0, i), lastRow);
      Value x = ce.load(qB, {bIv, ce.add(h0, gi), row, c});
      return ce.select(ce.lt(i, rowsVal), x, zeroElt);
    });
  });

  Value rowPos = e.add(rowPos0, i0);
  Value pMax = e.sub(e.add(rowPos, rowsVal), e.idx(1));
  SmallVector<KeyRange, 2> ranges =
      computeKeyRanges(b, loc, mask, rowPos, pMax, sVal, skipMaskedTiles);

  auto keyBlock = [&](OpBuilder &lb, Location ll, Value j0,
                      const KeyRange &range) {
    Emitter le{lb, ll};
    Value end = le.min(le.add(j0, bn), range.hi);
    // Blocks the mask keeps for every row (and that hold bn keys) skip the
    // element mask.
    Value fast = le.cmp(arith::CmpIPredicate::sle, le.add(j0, bn), range.hi);
    if (!mask.isFull())
      fast = le.andI(
          fast, le.andI(le.cmp(arith::CmpIPredicate::sge, j0, range.fullLo),
                        le.cmp(arith::CmpIPredicate::sle, le.add(j0, bn),
                               range.fullHi)));

    // P1: the key/value block (zero past the last key).
    threadLoop(lb, ll, [&](Emitter &te, Value tid) {
      auto kv = [&](Value src) {
        return [&, src](Emitter &ce, Value r, Value c) -> Value {
          Value key = ce.add(j0, r);
          Value x = ce.load(src, {bIv, hIv, ce.min(key, lastKey), c});
          return ce.select(ce.lt(key, end), x, zeroElt);
        };
      };
      copyTile(te, tid, kS, bn, d, kv(kB));
      copyTile(te, tid, vS, bn, dv, kv(vB));
    });

    // P2: scores of the thread's fragment, masked; row maxima of its columns.
    threadLoop(lb, ll, [&](Emitter &te, Value tid) {
      Lane l = laneOf(te, tid);
      Value zero4 = arith::ConstantOp::create(
          te.b, te.loc,
          DenseElementsAttr::get(VectorType::get({4}, te.b.getF32Type()),
                                 0.0f));
      Value col0 = te.mul(l.inGroup, 2);
      Value scaleV = te.f32(scale);
      for (int64_t n = 0; n < bn / tg::kFragCols; ++n) {
        Value c = func::CallOp::create(
                      te.b, te.loc, qkFn,
                      ValueRange{qS, kS, tid, te.idx(n * tg::kFragCols), zero4})
                      .getResult(0);
        for (int64_t i = 0; i < 4; ++i) {
          Value sc =
              te.fmul(vector::ExtractOp::create(te.b, te.loc, c, i), scaleV);
          if (biasB) {
            Value r = l.row[i / 2];
            Value key =
                te.add(j0, te.add(col0, te.idx(n * tg::kFragCols + i % 2)));
            Value gi = te.div(r, bm), ii = te.rem(r, bm);
            Value full[4] = {bIv, te.add(h0, gi),
                             te.min(te.add(i0, ii), lastRow),
                             te.min(key, lastKey)};
            auto bType = cast<MemRefType>(biasB.getType());
            int64_t rank = bType.getRank();
            SmallVector<Value> ivs;
            for (int64_t kk = 0; kk < rank; ++kk)
              ivs.push_back(bType.getDimSize(kk) == 1 ? te.idx(0)
                                                      : full[kk + 4 - rank]);
            sc = te.fadd(sc, te.toF32(te.load(biasB, ivs)));
          }
          te.store(sc, st, {tid, te.idx(scoreAt(n, i))});
        }
      }
      // Outside the fast blocks: -inf past the last key of the range and
      // where the mask hides the key.
      auto slow =
          scf::IfOp::create(te.b, te.loc,
                            arith::XOrIOp::create(te.b, te.loc, fast,
                                                  arith::ConstantIntOp::create(
                                                      te.b, te.loc, 1, 1)),
                            /*withElse=*/false);
      {
        OpBuilder::InsertionGuard ig(te.b);
        te.b.setInsertionPointToStart(slow.thenBlock());
        for (int64_t n = 0; n < bn / tg::kFragCols; ++n)
          for (int64_t i = 0; i < 4; ++i) {
            Value r = l.row[i / 2];
            Value key =
                te.add(j0, te.add(col0, te.idx(n * tg::kFragCols + i % 2)));
            Value visible = te.lt(key, end);
            if (!mask.isFull()) {
              Value pos = te.add(rowPos, te.rem(r, bm));
              visible = te.andI(
                  visible, buildMaskPredicate(te.b, te.loc, mask, pos, key));
            }
            Value at = te.idx(scoreAt(n, i));
            Value sc = te.load(st, {tid, at});
            te.store(te.select(visible, sc, te.f32(kNegInf)), st, {tid, at});
          }
      }
      for (int64_t ri = 0; ri < 2; ++ri) {
        Value mx = te.f32(kNegInf);
        for (int64_t n = 0; n < bn / tg::kFragCols; ++n)
          for (int64_t i = 2 * ri; i < 2 * ri + 2; ++i)
            mx = te.fmax(mx, te.load(st, {tid, te.idx(scoreAt(n, i))}));
        te.store(mx, red, {l.row[ri], l.inGroup});
      }
    });

    // P3: online softmax update of the thread's rows.
    threadLoop(lb, ll, [&](Emitter &te, Value tid) {
      Lane l = laneOf(te, tid);
      Value col0 = te.mul(l.inGroup, 2);
      for (int64_t ri = 0; ri < 2; ++ri) {
        Value r = l.row[ri];
        Value mx = te.f32(kNegInf);
        for (int64_t t = 0; t < 4; ++t)
          mx = te.fmax(mx, te.load(red, {r, te.idx(t)}));
        Value mOld = te.load(st, {tid, te.idx(maxAt(ri))});
        Value mNew = te.fmax(mOld, mx);
        Value ms = te.safeMax(mNew);
        Value corr = te.exp(arith::SubFOp::create(te.b, te.loc, mOld, ms));
        Value sum = te.fmul(te.load(st, {tid, te.idx(sumAt(ri))}), corr);
        for (int64_t n = 0; n < bn / tg::kFragCols; ++n)
          for (int64_t i = 2 * ri; i < 2 * ri + 2; ++i) {
            Value sc = te.load(st, {tid, te.idx(scoreAt(n, i))});
            Value p = te.exp(arith::SubFOp::create(te.b, te.loc, sc, ms));
            sum = te.fadd(sum, p);
            te.store(te.fromF32(p, elt), pS,
                     {r, te.add(col0, te.idx(n * tg::kFragCols + i % 2))});
          }
        for (int64_t n = 0; n < dv / tg::kFragCols; ++n)
          for (int64_t i = 2 * ri; i < 2 * ri + 2; ++i) {
            Value at = te.idx(accAt(n, i));
            te.store(te.fmul(te.load(st, {tid, at}), corr), st, {tid, at});
          }
        te.store(mNew, st, {tid, te.idx(maxAt(ri))});
        te.store(sum, st, {tid, te.idx(sumAt(ri))});
      }
    });

    // P4: acc += P · V on the thread's fragments.
    threadLoop(lb, ll, [&](Emitter &te, Value tid) {
      for (int64_t n = 0; n < dv / tg::kFragCols; ++n) {
        SmallVector<Value> c;
        for (int64_t i = 0; i < 4; ++i)
          c.push_back(te.load(st, {tid, te.idx(accAt(n, i))}));
        Value cv = vector::FromElementsOp::create(
            te.b, te.loc, VectorType::get({4}, te.b.getF32Type()), c);
        Value r = func::CallOp::create(
                      te.b, te.loc, pvFn,
                      ValueRange{pS, vS, tid, te.idx(n * tg::kFragCols), cv})
                      .getResult(0);
        for (int64_t i = 0; i < 4; ++i)
          te.store(vector::ExtractOp::create(te.b, te.loc, r, i), st,
                   {tid, te.idx(accAt(n, i))});
      }
    });
  };

  for (const KeyRange &range : ranges)
    scf::ForOp::create(b, loc, range.lo, range.hi, e.idx(bn), ValueRange{},
                       [&](OpBuilder &lb, Location ll, Value j0, ValueRange) {
                         keyBlock(lb, ll, j0, range);
                         scf::YieldOp::create(lb, ll);
                       });

  // F1: partial row sums; F2: acc / sum (0 for rows without keys) and lse
  // for the tile's valid rows.
  threadLoop(b, loc, [&](Emitter &te, Value tid) {
    Lane l = laneOf(te, tid);
    for (int64_t ri = 0; ri < 2; ++ri)
      te.store(te.load(st, {tid, te.idx(sumAt(ri))}), red,
               {l.row[ri], l.inGroup});
  });
  threadLoop(b, loc, [&](Emitter &te, Value tid) {
    Lane l = laneOf(te, tid);
    Value col0 = te.mul(l.inGroup, 2);
    for (int64_t ri = 0; ri < 2; ++ri) {
      Value r = l.row[ri];
      Value sum = te.f32(0.0f);
      for (int64_t t = 0; t < 4; ++t)
        sum = te.fadd(sum, te.load(red, {r, te.idx(t)}));
      Value gi = te.div(r, bm), i = te.rem(r, bm);
      auto valid = scf::IfOp::create(te.b, te.loc, te.lt(i, rowsVal),
                                     /*withElse=*/false);
      OpBuilder::InsertionGuard ig(te.b);
      te.b.setInsertionPointToStart(valid.thenBlock());
      Value empty = arith::CmpFOp::create(
          te.b, te.loc, arith::CmpFPredicate::OEQ, sum, te.f32(0.0f));
      for (int64_t n = 0; n < dv / tg::kFragCols; ++n)
        for (int64_t c = 2 * ri; c < 2 * ri + 2; ++c) {
          Value acc = te.load(st, {tid, te.idx(accAt(n, c))});
          Value o = te.select(empty, te.f32(0.0f),
                              arith::DivFOp::create(te.b, te.loc, acc, sum));
          te.store(te.fromF32(o, elt), outB,
                   {te.idx(0), gi, i,
                    te.add(col0, te.idx(n * tg::kFragCols + c % 2))});
        }
      if (withLse) {
        auto first = scf::IfOp::create(
            te.b, te.loc,
            te.cmp(arith::CmpIPredicate::eq, l.inGroup, te.idx(0)),
            /*withElse=*/false);
        OpBuilder::InsertionGuard ig2(te.b);
        te.b.setInsertionPointToStart(first.thenBlock());
        Value m = te.load(st, {tid, te.idx(maxAt(ri))});
        Value lse =
            te.fadd(te.safeMax(m), math::LogOp::create(te.b, te.loc, sum));
        te.store(lse, lseB, {te.idx(0), gi, i});
      }
    }
  });
  for (Value buf : {qS, kS, vS, pS, red, st})
    memref::DeallocOp::create(b, loc, buf);

  // The written rows go back into the destination tensors.
  Value outT = bufferization::ToTensorOp::create(b, loc, outSliceType, outB,
                                                 /*restrict=*/true,
                                                 /*writable=*/true);
  Value lseT;
  if (withLse)
    lseT = bufferization::ToTensorOp::create(b, loc, lseSlice.getType(), lseB,
                                             /*restrict=*/true,
                                             /*writable=*/true);
  b.setInsertionPointToStart(blocks.getTerminator().getBody());
  tensor::ParallelInsertSliceOp::create(b, loc, outT, shared[0], outOffs,
                                        outSizes, one4);
  if (withLse)
    tensor::ParallelInsertSliceOp::create(b, loc, lseT, shared[1], lseOffs,
                                          lseSizes, one3);
  rewriter.replaceOp(op, blocks.getResults());
  return success();
}

struct MapAttentionToGpuPass
    : public tmix::mixer::impl::MapAttentionToGpuPassBase<
          MapAttentionToGpuPass> {
  using Base::Base;
  void runOnOperation() override {
    if (queryTile < 0 || keyTile < 0) {
      getOperation()->emitError()
          << "mixer-map-attention-to-gpu: query-tile and key-tile must be >= 0 "
             "(0 = automatic), got "
          << static_cast<int64_t>(queryTile) << " and "
          << static_cast<int64_t>(keyTile);
      return signalPassFailure();
    }
    SmallVector<AttentionOp> ops;
    // mixer.attention is the one mixer op with a GPU lowering: anything else
    // would fail later, far from its cause.
    bool unsupported = false;
    getOperation()->walk([&](Operation *op) {
      if (auto attention = dyn_cast<AttentionOp>(op)) {
        ops.push_back(attention);
      } else if (isa_and_nonnull<MixerDialect>(op->getDialect())) {
        op->emitOpError() << "mixer-map-attention-to-gpu: only mixer.attention "
                             "has a GPU lowering";
        unsupported = true;
      }
    });
    if (unsupported)
      return signalPassFailure();
    IRRewriter rewriter(&getContext());
    bool failed = false;
    for (AttentionOp op : ops) {
      FailureOr<Schedule> s = chooseSchedule(op, queryTile, keyTile);
      if (::mlir::failed(s) ||
          ::mlir::failed(
              AttentionMapper(rewriter, op, *s, skipMaskedTiles).run()))
        failed = true;
    }
    if (failed)
      signalPassFailure();
  }
};
} // namespace
