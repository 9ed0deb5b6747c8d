//===- GpuLaunch.cpp - mapped loop nests to gpu.launch --------------------===//
//
// Implements GpuLaunchPass (see Passes.td).
//
//===----------------------------------------------------------------------===//

#include "Mixer/Transforms/GpuAttention.h"
#include "Mixer/Transforms/Passes.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/TransformOps/GPUTransformOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Transform/Interfaces/TransformInterfaces.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/PatternMatch.h"

namespace tmix::mixer {
#define GEN_PASS_DEF_GPULAUNCHPASS
#include "Mixer/Transforms/Passes.h.inc"
} // namespace tmix::mixer

using namespace mlir;
namespace tg = tmix::mixer::gpu;

namespace {

bool isBlockLoop(scf::ForallOp forall) {
  std::optional<ArrayAttr> mapping = forall.getMapping();
  return mapping && !mapping->empty() &&
         llvm::all_of(*mapping, llvm::IsaPred<mlir::gpu::GPUBlockMappingAttr>);
}

bool isThreadLoop(scf::ForallOp forall) {
  std::optional<ArrayAttr> mapping = forall.getMapping();
  return mapping && !mapping->empty() &&
         llvm::all_of(*mapping, llvm::IsaPred<mlir::gpu::GPUThreadMappingAttr>);
}

/// `type` in the GPU address space `space`, without its leading dim when
/// `dropFirst`.
MemRefType inSpace(MemRefType type, mlir::gpu::AddressSpace space,
                   bool dropFirst) {
  ArrayRef<int64_t> shape = type.getShape();
  if (dropFirst)
    shape = shape.drop_front();
  return MemRefType::get(
      shape, type.getElementType(), MemRefLayoutAttrInterface(),
      mlir::gpu::AddressSpaceAttr::get(type.getContext(), space));
}

/// Replaces the `thread_private` buffer `alloc` ([threads, ...], each thread
/// using its own row) by `priv` (the row, in private memory).
LogicalResult privatize(RewriterBase &rewriter, memref::AllocOp alloc,
                        Value priv) {
  for (Operation *user : llvm::make_early_inc_range(alloc->getUsers())) {
    if (isa<memref::DeallocOp>(user)) {
      rewriter.eraseOp(user);
      continue;
    }
    ValueRange indices;
    if (auto load = dyn_cast<memref::LoadOp>(user))
      indices = load.getIndices();
    else if (auto store = dyn_cast<memref::StoreOp>(user))
      indices = store.getIndices();
    else
      return user->emitOpError()
             << "mixer-gpu-launch: a " << tg::kThreadPrivate
             << " buffer may only be loaded, stored and deallocated";
    // The row must be the thread loop's induction variable.
    auto iv = dyn_cast<BlockArgument>(indices.front());
    auto loop = iv ? dyn_cast<scf::ForallOp>(iv.getOwner()->getParentOp())
                   : scf::ForallOp();
    if (!loop || !isThreadLoop(loop) || loop.getRank() != 1 ||
        loop.getInductionVar(0) != iv)
      return user->emitOpError()
             << "mixer-gpu-launch: a " << tg::kThreadPrivate
             << " buffer must be indexed by the thread loop's induction "
                "variable in its first dimension";
    rewriter.setInsertionPoint(user);
    SmallVector<Value> rest(indices.drop_front());
    if (auto load = dyn_cast<memref::LoadOp>(user))
      rewriter.replaceOpWithNewOp<memref::LoadOp>(load, priv, rest);
    else
      rewriter.replaceOpWithNewOp<memref::StoreOp>(
          cast<memref::StoreOp>(user),
          cast<memref::StoreOp>(user).getValueToStore(), priv, rest);
  }
  rewriter.eraseOp(alloc);
  return success();
}

/// Moves workgroup buffer `alloc` to `shared` (a launch attribution).
LogicalResult promote(RewriterBase &rewriter, memref::AllocOp alloc,
                      Value shared) {
  for (Operation *user : llvm::make_early_inc_range(alloc->getUsers())) {
    if (isa<memref::DeallocOp>(user)) {
      rewriter.eraseOp(user);
      continue;
    }
    if (!isa<memref::LoadOp, memref::StoreOp>(user))
      return user->emitOpError()
             << "mixer-gpu-launch: a " << tg::kWorkgroup
             << " buffer may only be loaded, stored and deallocated";
  }
  // Loads and stores take any memref: only the address space changes.
  rewriter.replaceAllUsesWith(alloc.getResult(), shared);
  rewriter.eraseOp(alloc);
  return success();
}

LogicalResult launch(RewriterBase &rewriter, scf::ForallOp forall) {
  Location loc = forall.getLoc();
  if (forall.getNumResults() != 0)
    return forall.emitOpError()
           << "mixer-gpu-launch: the block loop must be bufferized";
  if (!forall.isNormalized())
    return forall.emitOpError()
           << "mixer-gpu-launch: the block loop must start at 0 with step 1";
  auto blockDims = forall->getAttrOfType<DenseI64ArrayAttr>(tg::kBlockDimsAttr);
  if (!blockDims || blockDims.size() != 3)
    return forall.emitOpError() << "mixer-gpu-launch: the block loop needs "
                                << tg::kBlockDimsAttr << " = [x, y, z]";

  // The block's buffers.
  SmallVector<memref::AllocOp> shared, priv;
  for (Operation &op : forall.getBody()->without_terminator()) {
    auto alloc = dyn_cast<memref::AllocOp>(op);
    auto space = alloc ? alloc->getAttrOfType<StringAttr>(tg::kMemoryAttr)
                       : StringAttr();
    if (!space)
      continue;
    if (!alloc.getType().hasStaticShape() ||
        !alloc.getType().getLayout().isIdentity())
      return alloc.emitOpError() << "mixer-gpu-launch: block buffers must have "
                                    "a static shape and identity layout";
    if (space.getValue() == tg::kWorkgroup)
      shared.push_back(alloc);
    else if (space.getValue() == tg::kThreadPrivate)
      priv.push_back(alloc);
    else
      return alloc.emitOpError()
             << "mixer-gpu-launch: unknown " << tg::kMemoryAttr << " '"
             << space.getValue() << "'";
  }
  SmallVector<Type> sharedTypes, privTypes;
  for (memref::AllocOp a : shared)
    sharedTypes.push_back(
        inSpace(a.getType(), mlir::gpu::AddressSpace::Workgroup, false));
  for (memref::AllocOp a : priv) {
    if (a.getType().getRank() < 2 ||
        a.getType().getDimSize(0) != blockDims[0] * blockDims[1] * blockDims[2])
      return a.emitOpError() << "mixer-gpu-launch: a " << tg::kThreadPrivate
                             << " buffer needs one row per thread of the block";
    privTypes.push_back(
        inSpace(a.getType(), mlir::gpu::AddressSpace::Private, true));
  }

  // Grid sizes from the loop bounds, by mapping dimension.
  rewriter.setInsertionPoint(forall);
  Value one = arith::ConstantIndexOp::create(rewriter, loc, 1);
  Value grid[3] = {one, one, one};
  SmallVector<int64_t> dimOf;
  SmallVector<OpFoldResult> ubs = forall.getMixedUpperBound();
  for (auto [attr, ub] : llvm::zip_equal(*forall.getMapping(), ubs)) {
    int64_t dim = static_cast<int64_t>(
        cast<mlir::gpu::GPUBlockMappingAttr>(attr).getBlock());
    if (dim > 2 || grid[dim] != one)
      return forall.emitOpError()
             << "mixer-gpu-launch: block mappings must be distinct x, y, z";
    grid[dim] = getValueOrCreateConstantIndexOp(rewriter, loc, ub);
    dimOf.push_back(dim);
  }
  Value block[3];
  for (int i = 0; i < 3; ++i)
    block[i] = arith::ConstantIndexOp::create(rewriter, loc, blockDims[i]);
  auto launchOp = mlir::gpu::LaunchOp::create(
      rewriter, loc, grid[0], grid[1], grid[2], block[0], block[1], block[2],
      /*dynamicSharedMemorySize=*/nullptr, /*asyncTokenType=*/nullptr,
      /*asyncDependencies=*/{}, sharedTypes, privTypes);
  Block &body = launchOp.getBody().front();
  mlir::gpu::KernelDim3 ids = launchOp.getBlockIds();
  Value idOf[3] = {ids.x, ids.y, ids.z};
  SmallVector<Value> ivs;
  for (int64_t dim : dimOf)
    ivs.push_back(idOf[dim]);
  Operation *oldTerminator = forall.getBody()->getTerminator();
  rewriter.inlineBlockBefore(forall.getBody(), &body, body.end(), ivs);
  rewriter.eraseOp(oldTerminator);
  rewriter.setInsertionPointToEnd(&body);
  mlir::gpu::TerminatorOp::create(rewriter, loc);
  rewriter.eraseOp(forall);

  for (auto [a, arg] :
       llvm::zip_equal(shared, launchOp.getWorkgroupAttributions()))
    if (failed(promote(rewriter, a, arg)))
      return failure();
  for (auto [a, arg] : llvm::zip_equal(priv, launchOp.getPrivateAttributions()))
    if (failed(privatize(rewriter, a, arg)))
      return failure();

  // Thread loops -> thread ids (upstream), a barrier after each.
  rewriter.setInsertionPointToStart(&body);
  DiagnosedSilenceableFailure mapped =
      transform::gpu::mapNestedForallToThreadsImpl(
          rewriter, std::nullopt, launchOp, blockDims.asArrayRef(),
          tg::kWarpSize, /*syncAfterDistribute=*/true);
  if (!mapped.succeeded()) {
    (void)mapped.silence();
    return launchOp.emitOpError()
           << "mixer-gpu-launch: could not map the thread loops to threads";
  }
  return success();
}

/// Host buffers become device buffers: results the host allocates and
/// returns are `gpu.alloc host_shared` (managed memory, readable by the
/// caller), temporaries plain device memory; host-side copies and frees go
/// through the GPU runtime.
/// Whether the function returns `alloc` (directly or through a cast).
bool isReturned(memref::AllocOp alloc) {
  return llvm::any_of(alloc->getUsers(), [](Operation *user) {
    if (isa<func::ReturnOp>(user))
      return true;
    return isa<memref::CastOp>(user) &&
           llvm::any_of(user->getUsers(),
                        [](Operation *u) { return isa<func::ReturnOp>(u); });
  });
}

LogicalResult toDeviceMemory(RewriterBase &rewriter, func::FuncOp func) {
  auto isHost = [](Operation *op) {
    return !op->getParentOfType<mlir::gpu::LaunchOp>();
  };
  // A temporary of the host code (nothing frees the buffers one-shot
  // bufferization allocates) is freed at the end of its block, after the
  // kernels that use it (each launch is synchronous).
  func.walk([&](memref::AllocOp alloc) {
    if (!isHost(alloc) || isReturned(alloc) ||
        llvm::any_of(alloc->getUsers(),
                     [](Operation *u) { return isa<memref::DeallocOp>(u); }))
      return;
    rewriter.setInsertionPoint(alloc->getBlock()->getTerminator());
    memref::DeallocOp::create(rewriter, alloc.getLoc(), alloc.getResult());
  });

  SmallVector<Operation *> ops;
  func.walk([&](Operation *op) {
    if (isHost(op) && isa<memref::AllocOp, memref::DeallocOp, memref::CopyOp>(op))
      ops.push_back(op);
  });
  for (Operation *op : ops) {
    Location loc = op->getLoc();
    rewriter.setInsertionPoint(op);
    if (auto alloc = dyn_cast<memref::AllocOp>(op)) {
      // The driver aligns allocations to at least 256 bytes, more than any
      // `alignment` bufferization asks for. Only a buffer the function
      // returns needs to be readable by the caller's host code.
      if (isReturned(alloc)) {
        rewriter.replaceOpWithNewOp<mlir::gpu::AllocOp>(
            alloc, alloc.getType(), /*asyncToken=*/Type(),
            /*asyncDependencies=*/ValueRange{}, alloc.getDynamicSizes(),
            alloc.getSymbolOperands(), /*hostShared=*/true);
        continue;
      }
      // Device memory is allocated on a stream (gpu-to-llvm lowers only the
      // asynchronous form), waited for.
      Type token = mlir::gpu::AsyncTokenType::get(rewriter.getContext());
      Value start =
          mlir::gpu::WaitOp::create(rewriter, loc, token, ValueRange{})
              .getAsyncToken();
      auto device = mlir::gpu::AllocOp::create(
          rewriter, loc, alloc.getType(), token, ValueRange{start},
          alloc.getDynamicSizes(), alloc.getSymbolOperands(),
          /*hostShared=*/false);
      mlir::gpu::WaitOp::create(rewriter, loc, Type(),
                                ValueRange{device.getAsyncToken()});
      rewriter.replaceOp(alloc, device.getMemref());
      continue;
    }
    // Frees and copies: one-op streams, waited for.
    Type token = mlir::gpu::AsyncTokenType::get(rewriter.getContext());
    Value start = mlir::gpu::WaitOp::create(rewriter, loc, token, ValueRange{})
                      .getAsyncToken();
    Value done;
    if (auto dealloc = dyn_cast<memref::DeallocOp>(op)) {
      done = mlir::gpu::DeallocOp::create(
                 rewriter, loc, token, ValueRange{start}, dealloc.getMemref())
                 .getAsyncToken();
    } else {
      auto copy = cast<memref::CopyOp>(op);
      for (Value m : {copy.getSource(), copy.getTarget()})
        if (!cast<MemRefType>(m.getType()).getLayout().isIdentity())
          return copy.emitOpError() << "mixer-gpu-launch: host copies of "
                                       "strided buffers are not supported";
      done =
          mlir::gpu::MemcpyOp::create(rewriter, loc, token, ValueRange{start},
                                      copy.getTarget(), copy.getSource())
              .getAsyncToken();
    }
    mlir::gpu::WaitOp::create(rewriter, loc, Type(), ValueRange{done});
    rewriter.eraseOp(op);
  }
  return success();
}

struct GpuLaunchPass
    : public tmix::mixer::impl::GpuLaunchPassBase<GpuLaunchPass> {
  using Base::Base;
  void runOnOperation() override {
    ModuleOp module = getOperation();
    IRRewriter rewriter(&getContext());
    for (auto func : llvm::to_vector(module.getOps<func::FuncOp>())) {
      SmallVector<scf::ForallOp> loops;
      func.walk<WalkOrder::PreOrder>([&](scf::ForallOp forall) {
        if (!isBlockLoop(forall))
          return WalkResult::advance();
        loops.push_back(forall);
        return WalkResult::skip();
      });
      for (scf::ForallOp forall : loops)
        if (failed(launch(rewriter, forall)))
          return signalPassFailure();
      // Kernels of either kind (attention's, or the layers' from
      // mixer-map-layers-to-gpu) make the host code's buffers device memory.
      bool kernels = false;
      func.walk([&](mlir::gpu::LaunchOp) { kernels = true; });
      if (kernels && failed(toDeviceMemory(rewriter, func)))
        return signalPassFailure();
    }
  }
};
} // namespace
