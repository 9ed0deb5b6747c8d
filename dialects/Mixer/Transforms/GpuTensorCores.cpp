//===- GpuTensorCores.cpp - fragment products on tensor cores -------------===//
//
// Implements GpuTensorCoresPass and GpuLowerBf16MmaPass (see Passes.td).
//
// mixer-map-attention-to-gpu computes each thread's accumulator fragment of
// a warp's C[16 x 8] += A[16 x K] · B[K x 8] by calling a private function
// (tmix.mma_fragment) whose body is the scalar definition. On the GPU the
// 32 threads of a warp call it together with the same operands, which is
// exactly the contract of PTX's warp-wide mma.sync: this pass replaces each
// call with K / 16 nvgpu.mma.sync m16n8k16 steps whose A/B fragments each
// lane loads from the (shared-memory) operands at the positions of the PTX
// fragment layout (those of upstream's transform.nvgpu.rewrite_matmul_as_
// mma_sync, which itself handles only f16 accumulators and one warp).
//
// sm_90 runs the same mma.sync code. The Hopper path would replace the two
// products of a warp group by nvgpu.warpgroup.mma on operands staged by TMA
// (nvgpu.tma.async.load into swizzled shared memory): that is the place to
// hook it, with the same fragment-function contract.
//
//===----------------------------------------------------------------------===//

#include "Mixer/Transforms/GpuAttention.h"
#include "Mixer/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace tmix::mixer {
#define GEN_PASS_DEF_GPUTENSORCORESPASS
#define GEN_PASS_DEF_GPULOWERBF16MMAPASS
#include "Mixer/Transforms/Passes.h.inc"
} // namespace tmix::mixer

using namespace mlir;
namespace tg = tmix::mixer::gpu;

namespace {

/// Whether the fragment product `call` can run on tensor cores: 16-bit
/// floats with a reduction depth that is a multiple of 16.
bool fitsMma(func::CallOp call, func::FuncOp callee) {
  auto a = cast<MemRefType>(call.getOperand(0).getType());
  auto b = cast<MemRefType>(call.getOperand(1).getType());
  Type t = a.getElementType();
  return (t.isF16() || t.isBF16()) && b.getElementType() == t &&
         a.getRank() == 2 && b.getRank() == 2 && a.hasStaticShape() &&
         b.hasStaticShape() && a.getDimSize(1) % tg::kMmaK == 0;
}

/// The lane's K/16 mma.sync steps replacing `call`.
Value buildMmaSteps(OpBuilder &b, Location loc, func::CallOp call,
                    bool transposeB) {
  Value a = call.getOperand(0), bm = call.getOperand(1),
        tid = call.getOperand(2), n0 = call.getOperand(3),
        c = call.getOperand(4);
  auto aType = cast<MemRefType>(a.getType());
  int64_t depth = aType.getDimSize(1);
  auto idx = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(b, loc, v);
  };
  auto add = [&](Value x, int64_t v) -> Value {
    return v == 0 ? x : arith::AddIOp::create(b, loc, x, idx(v)).getResult();
  };
  auto addV = [&](Value x, Value y) -> Value {
    return arith::AddIOp::create(b, loc, x, y);
  };
  Value lane = arith::RemUIOp::create(b, loc, tid, idx(tg::kWarpSize));
  Value warp = arith::DivUIOp::create(b, loc, tid, idx(tg::kWarpSize));
  Value group = arith::DivUIOp::create(b, loc, lane, idx(4));
  Value inGroup = arith::RemUIOp::create(b, loc, lane, idx(4));
  Value rowA =
      addV(arith::MulIOp::create(b, loc, warp, idx(tg::kWarpRows)), group);
  Value twoT = arith::MulIOp::create(b, loc, inGroup, idx(2));
  Value colB = addV(n0, group);

  // n-D vectors element by element (what vector-to-llvm lowers directly).
  auto fragment = [&](ArrayRef<Value> vals, int64_t rows) -> Value {
    Value v = vector::BroadcastOp::create(
        b, loc, VectorType::get({rows, 2}, vals.front().getType()),
        vals.front());
    for (auto [i, x] : llvm::enumerate(vals))
      v = vector::InsertOp::create(
          b, loc, x, v,
          ArrayRef<int64_t>{static_cast<int64_t>(i) / 2,
                            static_cast<int64_t>(i) % 2});
    return v;
  };
  SmallVector<Value> cs;
  for (int64_t i = 0; i < 4; ++i)
    cs.push_back(vector::ExtractOp::create(b, loc, c, i));
  Value acc = fragment(cs, 2);
  for (int64_t k0 = 0; k0 < depth; k0 += tg::kMmaK) {
    // A (row-major 16 x 16): a_i at row group + 8 (i/2 % 2), column
    // 2 (lane % 4) + i % 2 + 8 (i / 4).
    SmallVector<Value> av;
    for (int64_t i = 0; i < 8; ++i) {
      Value row = add(rowA, 8 * ((i / 2) % 2));
      Value col = add(twoT, k0 + i % 2 + 8 * (i / 4));
      av.push_back(memref::LoadOp::create(b, loc, a, ValueRange{row, col}));
    }
    // B (16 x 8, column-major in the mma): b_i at k = 2 (lane % 4) + i % 2 +
    // 8 (i / 2), n = lane / 4.
    SmallVector<Value> bv;
    for (int64_t i = 0; i < 4; ++i) {
      Value kk = add(twoT, k0 + i % 2 + 8 * (i / 2));
      bv.push_back(memref::LoadOp::create(b, loc, bm,
                                          transposeB ? ValueRange{colB, kk}
                                                     : ValueRange{kk, colB}));
    }
    acc = nvgpu::MmaSyncOp::create(b, loc, fragment(av, 4), fragment(bv, 2),
                                   acc, ArrayRef<int64_t>{16, 8, 16});
  }
  SmallVector<Value> out;
  for (int64_t i = 0; i < 4; ++i)
    out.push_back(vector::ExtractOp::create(b, loc, acc,
                                            ArrayRef<int64_t>{i / 2, i % 2}));
  return vector::FromElementsOp::create(
      b, loc, VectorType::get({4}, b.getF32Type()), out);
}

struct GpuTensorCoresPass
    : public tmix::mixer::impl::GpuTensorCoresPassBase<GpuTensorCoresPass> {
  using Base::Base;
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<func::CallOp> calls;
    module.walk([&](func::CallOp call) { calls.push_back(call); });
    SetVector<func::FuncOp> touched;
    for (func::CallOp call : calls) {
      auto callee = module.lookupSymbol<func::FuncOp>(call.getCallee());
      if (!callee)
        continue;
      auto info = callee->getAttrOfType<DictionaryAttr>(tg::kFragmentAttr);
      if (!info || !fitsMma(call, callee))
        continue;
      auto transposeB = info.getAs<BoolAttr>(tg::kTransposeB);
      if (!transposeB) {
        callee.emitError() << "mixer-gpu-tensor-cores: " << tg::kFragmentAttr
                           << " needs a boolean '" << tg::kTransposeB << "'";
        return signalPassFailure();
      }
      OpBuilder b(call);
      Value r = buildMmaSteps(b, call.getLoc(), call, transposeB.getValue());
      call.getResult(0).replaceAllUsesWith(r);
      call.erase();
      touched.insert(callee);
    }
    // Fragment functions nobody calls any more.
    for (func::FuncOp f : touched)
      if (f.symbolKnownUseEmpty(module))
        f.erase();
  }
};

/// nvgpu.mma.sync on bf16 -> nvvm.mma.sync (MLIR 22's NVGPU-to-NVVM
/// conversion deduces no PTX type for bf16): each pair of bf16 is one b32
/// register, as in PTX's mma.m16n8k16.row.col.f32.bf16.bf16.f32.
struct LowerBf16MmaSync : public OpRewritePattern<nvgpu::MmaSyncOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(nvgpu::MmaSyncOp op,
                                PatternRewriter &rewriter) const override {
    auto aType = cast<VectorType>(op.getMatrixA().getType());
    auto cType = cast<VectorType>(op.getMatrixC().getType());
    if (!aType.getElementType().isBF16() || !cType.getElementType().isF32() ||
        op.getMmaShapeAsArray() != std::array<int64_t, 3>{16, 8, 16})
      return failure();
    Location loc = op.getLoc();
    Type i32 = rewriter.getI32Type(), f32 = rewriter.getF32Type();
    auto regs = [&](Value v) {
      auto t = cast<VectorType>(v.getType());
      SmallVector<Value> out;
      for (int64_t i = 0; i < t.getDimSize(0); ++i) {
        Value pair = vector::ExtractOp::create(rewriter, loc, v, i);
        Value asInt = vector::BitCastOp::create(
            rewriter, loc, VectorType::get({1}, i32), pair);
        out.push_back(vector::ExtractOp::create(rewriter, loc, asInt, 0));
      }
      return out;
    };
    SmallVector<Value> a = regs(op.getMatrixA()), b = regs(op.getMatrixB());
    SmallVector<Value> c;
    for (int64_t i = 0; i < 2; ++i)
      for (int64_t j = 0; j < 2; ++j)
        c.push_back(vector::ExtractOp::create(rewriter, loc, op.getMatrixC(),
                                              ArrayRef<int64_t>{i, j}));
    auto structType = LLVM::LLVMStructType::getLiteral(
        rewriter.getContext(), SmallVector<Type>(4, f32));
    auto mma = NVVM::MmaOp::create(
        rewriter, loc, structType, a, b, c, ArrayRef<int64_t>{16, 8, 16},
        std::nullopt, std::nullopt,
        std::array<NVVM::MMATypes, 2>{NVVM::MMATypes::bf16,
                                      NVVM::MMATypes::bf16},
        std::array<NVVM::MMALayout, 2>{NVVM::MMALayout::row,
                                       NVVM::MMALayout::col});
    SmallVector<Value> r;
    for (int64_t i = 0; i < 4; ++i)
      r.push_back(LLVM::ExtractValueOp::create(rewriter, loc, mma, i));
    Value result = vector::BroadcastOp::create(rewriter, loc, cType, r[0]);
    for (int64_t i = 0; i < 4; ++i)
      result = vector::InsertOp::create(rewriter, loc, r[i], result,
                                        ArrayRef<int64_t>{i / 2, i % 2});
    rewriter.replaceOp(op, result);
    return success();
  }
};

struct GpuLowerBf16MmaPass
    : public tmix::mixer::impl::GpuLowerBf16MmaPassBase<GpuLowerBf16MmaPass> {
  using Base::Base;
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<LowerBf16MmaSync>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};
} // namespace
