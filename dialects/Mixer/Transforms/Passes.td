//===- Passes.td - mixer dialect passes --------------------*- tablegen -*-===//

#ifndef MIXER_TRANSFORMS_PASSES_TD
#define MIXER_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def DecomposeLayersPass : Pass<"mixer-decompose-layers"> {
  let summary = "Rewrite the MetaFormer layer ops (norms, activations, MLPs, token mixers, convolutions, heads, blocks) into linalg on tensors";
  let description = [{
    Applies the AggregatedOpInterface decomposition of every mixer op except
    the attention ops: `mixer.block` inlines its two regions and emits the
    scaled residuals as elementwise generics; `mixer.linear`, `mixer.mlp`,
    `mixer.sepconv`, `mixer.mlp_head` become 2-D `[M, K] x [N, K]`
    contraction generics (the weight keeps its PyTorch layout; a bias
    initialises the accumulator) plus elementwise activations;
    `mixer.layer_norm` becomes a two-pass mean/variance reduction and one
    normalising generic; `mixer.pool`, `mixer.conv2d` and the depthwise conv
    of `mixer.sepconv` read a `tensor.pad`ded map through strided indexing
    maps; `mixer.random_mix` is a token contraction; `mixer.self_attention`
    becomes the qkv projection, reshapes, one `mixer.attention` (left for
    the attention passes) and the output projection.

    All arithmetic is f32. Promise: after this pass the only mixer ops left
    are `mixer.attention` and `mixer.online_attention`.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect",
    "::mlir::tensor::TensorDialect"
  ];
}

def TileLayersPass : Pass<"mixer-tile-layers"> {
  let summary = "Thread tiles for the decomposed MetaFormer layers and register tiles for their Linear contractions";
  let description = [{
    Works on the output of `mixer-decompose-layers`, whose generics carry a
    `tmix.role` attribute:
    1. with `fuse`, every 2-D elementwise consumer of a Linear contraction
       (role `linear`: the MLP's activation, the block's scaled residual) is
       tiled into an `scf.forall` of `[linear-tile-m, linear-tile-n]` tiles
       and the contraction, its packed weight (role `pack`), its bias
       initialisation (role `init`) and the normalisation producing its
       input (role `norm`: the norm -> MLP/mixer prologue) are fused into
       the tiles (upstream tile-and-fuse);
    2. every other Linear is tiled the same way with its weight, bias and
       (with `fuse`) input normalisation;
    3. every other linalg op with leading parallel dims gets thread tiles:
       `[1, map-tile]` over (batch, rows) of maps, `[linear-tile-m]` over the
       rows of 2-D ops;
    4. with `vectorize`, the contractions inside the tiles get register
       tiles `[rows, cols, 1]` (k innermost), the partial ones peeled, the
       full ones vectorized and lowered to outer products (a built-in
       transform-dialect schedule).
    The foralls become OpenMP loops (or serial loops) later in the pipeline.
  }];
  let options = [
    Option<"linearTileM", "linear-tile-m", "int64_t", "64", "Rows of a Linear's thread tile">,
    Option<"linearTileN", "linear-tile-n", "int64_t", "128", "Columns of a Linear's thread tile">,
    Option<"mapTile", "map-tile", "int64_t", "4", "Rows of a map op's thread tile">,
    Option<"rows", "rows", "int64_t", "4", "Rows of a register tile">,
    Option<"cols", "cols", "int64_t", "16", "Columns of a register tile">,
    Option<"fuse", "fuse", "bool", "true", "Fuse elementwise epilogues into the Linear tiles">,
    Option<"vectorize", "vectorize", "bool", "true", "Register-tile and vectorize the Linear contractions">
  ];
  let dependentDialects = [
    "::mlir::linalg::LinalgDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect",
    "::mlir::transform::TransformDialect",
    "::mlir::vector::VectorDialect"
  ];
}

def LowerStridedCopiesPass : Pass<"mixer-lower-strided-copies"> {
  let summary = "Rewrite memref.copy between strided buffers into linalg.copy";
  let description = [{
    Bufferization copies into and out of subviews with `memref.copy` (for
    example a `tensor.pad` of a convolution or pooling input). Between two
    buffers with identity layouts, `memref.copy` lowers to a `memcpy`; any
    other copy lowers to a call of the `memrefCopy` function of MLIR's C
    runner utilities, which neither the JIT tests nor tmix's artifacts link.
    This pass rewrites exactly those strided copies into `linalg.copy`,
    which later lowers to loops; contiguous copies are left to `memcpy`.
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect"];
}

def DecomposeAttentionPass : Pass<"mixer-decompose-attention"> {
  let summary = "Rewrite mixer.attention and mixer.online_attention into unfused linalg ops on tensors";
  let description = [{
    Replaces every `mixer.attention` by `mixer.online_attention` over all
    keys from an empty state plus the normalisation (`output = acc / sum`,
    `lse = max + log(sum)`), and every `mixer.online_attention` by linalg:
    the scaled, transposed query `scale·Qᵀ` (`[B, Hkv, G, D, L]`), a generic
    for the key-major scores `Sᵀ = K·(scale·Qᵀ)` (`[B, Hkv, G, S, L]`, f32
    accumulation), one elementwise generic applying the bias and the mask
    (none without either), the new row max, the correction
    `exp(max - max')`, `exp(s - max')`, the row sum and a generic for `P·V`
    accumulating into the rescaled `acc`. Key-major scores make every row
    reduction of the softmax a reduction over the outer dim (elementwise
    across query rows) and need no transposed key block. The transposed
    query depends on the query rows only: the pass moves it (and the slices
    it reads) out of the key loops of a tile, so it is computed once per
    query tile. Both steps are the ops'
    AggregatedOpInterface, so `transform.structured.decompose_interface`
    does the same.

    The query heads are split as `[B, Hkv, G, L, D]` (a `tensor.expand_shape`,
    no copy), so that every query head of a group reads its key/value head
    through the indexing maps: K and V are never repeated. The mask is
    generated from `linalg.index` inside the elementwise body; no L×S mask
    tensor exists. Fully masked rows give output 0 and lse −inf.

    This form materialises the `[B, Hq, L, S]` scores: it is the simple
    lowering and the oracle for the tiled one, not the fast path.

    Promise: after this pass no `mixer.attention` or
    `mixer.online_attention` remains.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect",
    "::mlir::tensor::TensorDialect"
  ];
}

def TileAttentionPass : Pass<"mixer-tile-attention"> {
  let summary = "Tile mixer.attention into flash-style loops of mixer.online_attention";
  let description = [{
    Replaces every `mixer.attention` by an `scf.forall` over (batch, key/value
    head, query tile of `query-tile` rows). Each iteration starts an empty
    online-softmax state for the `G` query heads of its key/value head, runs
    an `scf.for` over blocks of `key-tile` keys that folds each block in with
    a tile of `mixer.online_attention` (the op's TilingInterface produces the
    tile, shifting the mask positions by the tile offsets), normalises the
    state and inserts its rows into the output (and lse). No L×S buffer
    exists: the state is O(query-tile × Dv) per iteration.

    Static shapes everywhere, so that the CPU pipeline vectorizes every
    tile: the `scf.for` covers the whole blocks of `key-tile` keys; the
    keys after them (fewer than `key-tile`) are one block when their number
    is static (e.g. no mask and a static S), else they follow in chunks of
    `edge-tile` keys, the last chunk padded with zero k and v rows and an
    additive bias of −inf on the padding keys (a generated `[edge-tile]`
    bias, or the op's bias columns padded with −inf). A full query tile
    (`query-tile` rows) is one static body; the last tile of a length
    `query-tile` does not divide (an `scf.if` on the row count; none when a
    static L is a multiple of `query-tile`) is a static body of `L mod
    query-tile` rows when L is static, else it runs as tiles of `edge-tile`
    rows, the last padded with zero rows of q (and of the bias), whose
    results are dropped: at most `edge-tile` − 1 rows and keys are computed
    in vain.

    With `skip-masked-tiles` (the default) the key loop runs only over the
    blocks the mask can reach from the tile's rows (causal, window,
    block-local and dilated masks are tile-sparse; a global_local tile
    without global rows visits the global columns, then its window), and a
    block the mask keeps entirely for every row of the tile uses an unmasked
    tile (no mask math); only boundary blocks evaluate the mask per element.

    GQA: the `G` query heads of a key/value head form one tile and read the
    same key/value block, never a copy.

    The state of a tile has a static shape, so that CPU code keeps it on the
    thread's stack; it must fit in 1 MiB (G × query-tile × (Dv + 2) × 4
    bytes).

    Promise: after this pass no `mixer.attention` remains; every
    `mixer.online_attention` works on one tile.
  }];
  let options = [
    Option<"queryTile", "query-tile", "int64_t", /*default=*/"64",
           "Query rows per tile (Bm)">,
    Option<"keyTile", "key-tile", "int64_t", /*default=*/"128",
           "Keys per step of the inner loop (Bn)">,
    Option<"edgeTile", "edge-tile", "int64_t", /*default=*/"16",
           "Rows and keys per padded piece of the edges: the last query "
           "tile of a length query-tile does not divide, the keys after the "
           "last whole key-tile block">,
    Option<"skipMaskedTiles", "skip-masked-tiles", "bool", /*default=*/"true",
           "Bound the key loop by the mask and drop mask math in blocks the "
           "mask fully keeps">
  ];
  let dependentDialects = [
    "::mlir::affine::AffineDialect",
    "::mlir::arith::ArithDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect"
  ];
}

def VectorizeAttentionPass : Pass<"mixer-vectorize-attention"> {
  let summary = "Register-tile and vectorize the contractions of decomposed attention tiles";
  let description = [{
    Schedules the two contractions that the decomposition of
    `mixer.online_attention` tags with `tmix.role` (`scores`: q·kᵀ over the
    head dim; `values`: p·v over the keys) for CPU vector units, by
    interpreting a transform-dialect schedule built into tmix:

    - tile into register tiles of `rows` × `cols` outputs with the reduction
      innermost (`tile_using_for`, size 1 along the reduction);
    - peel the loops whose trip counts are not multiples of the register
      tile, so that every full tile has a static shape;
    - vectorize the full tiles (`structured.vectorize`): each reduction step
      becomes an outer product (a broadcast column of k or p times a row of
      scale·qᵀ or v); partial tiles at the edges stay scalar loops;
    - the softmax passes over a key-major score block (`tmix.role =
      "softmax"`: mask, row max, exponentials, row sum) are tiled into
      `softmax-cols` query rows by one key, query rows outermost, and
      vectorized: a row reduction keeps its accumulators in vector registers
      across the keys;
    - after the outer products are lowered, the column of k or p that a
      tile broadcasts along its rows is read element by element
      (`tensor.extract`, then `vector.from_elements`) instead of as one
      small vector, so that every broadcast becomes a broadcast load: read
      as a vector of 6, LLVM builds the broadcasts with shuffles and an
      extra register, which spills an accumulator of a 6-row tile.

    The pipeline then hoists the accumulators out of the reduction loops
    (`loop-invariant-subset-hoisting`), so a register tile lives in vector
    registers for its whole reduction. `rows` × `cols` / lanes accumulators
    plus the row of the right operand and one broadcast must fit the
    register file: 6 × 16 suits AVX2 (12 accumulators of 8 lanes, 15 of 16
    registers), 8 × 32 or 14 × 16 AVX-512.
  }];
  let options = [
    Option<"scoreRows", "score-rows", "int64_t", /*default=*/"6",
           "Keys per register tile of the (key-major) scores">,
    Option<"scoreCols", "score-cols", "int64_t", /*default=*/"16",
           "Query rows per register tile of the scores (a multiple of the "
           "vector width)">,
    Option<"rows", "rows", "int64_t", /*default=*/"6",
           "Query rows per register tile of p·v">,
    Option<"cols", "cols", "int64_t", /*default=*/"16",
           "Value columns per register tile of p·v (a multiple of the vector "
           "width)">,
    Option<"softmaxCols", "softmax-cols", "int64_t", /*default=*/"32",
           "Query rows per vector step of the softmax passes (a multiple of "
           "the vector width)">
  ];
  let dependentDialects = [
    "::mlir::scf::SCFDialect",
    "::mlir::transform::TransformDialect",
    "::mlir::vector::VectorDialect"
  ];
}

def ApproximateMathPass : Pass<"mixer-approximate-math"> {
  let summary = "Replace math.exp, math.log and math.erf by vectorizable polynomial approximations";
  let description = [{
    Rewrites `math.exp`, `math.log` and `math.erf` (GELU) on f32 (scalars or vectors) into the
    polynomial approximations of MLIR's math dialect, built from arith ops
    only. Lowered straight to LLVM, each `math.exp` in a loop becomes a
    scalar `expf` call that blocks vectorization of the softmax; the
    approximations vectorize like any arithmetic. Their error is a few ulp,
    and `exp(-inf)` stays exactly 0 (the masked scores of attention rely on
    it).

    A `math.exp` tagged `tmix.exp_nonpositive` (the attention decomposition
    tags its softmax exponentials, whose arguments `s - max` are never
    positive) takes a shorter expansion, ~13 operations instead of ~22: 2^t
    with t = x·log2(e) clamped below at -127, a degree-6 polynomial for the
    fraction (Cephes `exp2f`, ~1 ulp) and 2^k built in the exponent bits
    (k = -127 gives +0, so `exp(-inf)` is exactly 0; results below ~2^-126
    flush to 0, NaN propagates). It is only valid for arguments <= 0.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::math::MathDialect",
    "::mlir::vector::VectorDialect"
  ];
}

//===----------------------------------------------------------------------===//
// GPU (tmix-gpu-pipeline; see docs/gpu.md)
//===----------------------------------------------------------------------===//

def MapAttentionToGpuPass : Pass<"mixer-map-attention-to-gpu", "::mlir::ModuleOp"> {
  let summary = "Rewrite mixer.attention into a loop nest mapped to GPU blocks and threads";
  let description = [{
    Replaces every `mixer.attention` by an `scf.forall` over (batch, key/value
    head, query tile) mapped to `#gpu.block<z, y, x>` — one thread block per
    iteration, its thread count in `tmix.gpu.block_dims` — whose body is a
    sequence of `scf.forall` loops over the block's threads mapped to
    `#gpu.thread<x>` (phases; a block barrier separates them on the GPU).

    A block holds the `query-tile` rows of each of the `G` query heads of
    its key/value head (R = G × query-tile rows, a multiple of 16: 16 rows
    per warp, 32 threads per warp). It stages its queries, then, for each
    key block of `key-tile` keys that the mask can reach (the key ranges of
    `mixer-tile-attention`: causal, window, block and dilated masks bound the
    loop, fully masked blocks are never visited), copies K and V into
    workgroup buffers shared by the G query heads, computes the scores of
    each thread's accumulator fragment (the layout of mma.m16n8k16), the
    online-softmax update and the P·V accumulation. Blocks the mask keeps
    entirely skip the element mask. The block then writes `acc / sum` (0 for
    rows without a visible key) and, when present, lse.

    Buffers are `memref.alloc`s tagged `tmix.gpu.memory`: `workgroup`
    (staged K, V, Q, P and the row reductions) or `thread_private` (each
    thread's softmax state and accumulator, indexed by the thread).
    The two products are calls to private `tmix.mma_fragment` functions
    whose bodies are the scalar per-thread definition. This form runs on the
    CPU as ordinary loops (tmix-gpu-emulation-pipeline): it is how the
    kernel's numbers are tested without a GPU. mixer-gpu-tensor-cores and
    mixer-gpu-launch turn it into GPU code.

    Inputs: f32, f16 or bf16 (accumulation in f32), any mask, GQA, bias and
    lse. Dv must be a multiple of 8; the shared buffers must fit in 48 KiB.
    Any other `mixer` op is an error: `mixer.attention` is the one mixer op
    with a GPU lowering.
    `query-tile` / `key-tile` 0 choose automatically (key-tile 64 for
    16-bit types, 32 for f32; the largest query tile of 64, 32 or 16 rows
    per block that fits).
  }];
  let options = [
    Option<"queryTile", "query-tile", "int64_t", /*default=*/"0",
           "Query rows per head in a block (0: automatic)">,
    Option<"keyTile", "key-tile", "int64_t", /*default=*/"0",
           "Keys per step of the key loop, a multiple of 16 (0: automatic)">,
    Option<"edgeTile", "edge-tile", "int64_t", /*default=*/"16",
           "Rows and keys per padded piece of the edges: the last query "
           "tile of a length query-tile does not divide, the keys after the "
           "last whole key-tile block">,
    Option<"skipMaskedTiles", "skip-masked-tiles", "bool", /*default=*/"true",
           "Bound the key loop by the mask and drop mask math in blocks the "
           "mask fully keeps">
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::bufferization::BufferizationDialect",
    "::mlir::func::FuncDialect",
    "::mlir::gpu::GPUDialect",
    "::mlir::math::MathDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect",
    "::mlir::vector::VectorDialect"
  ];
}

def GpuTensorCoresPass : Pass<"mixer-gpu-tensor-cores", "::mlir::ModuleOp"> {
  let summary = "Run the fragment products of mapped attention on tensor cores (nvgpu.mma.sync)";
  let description = [{
    Replaces every call to a `tmix.mma_fragment` function (one thread's
    accumulator fragment of a warp's 16 × 8 product) whose operands are f16
    or bf16 with a reduction depth that is a multiple of 16 by `K / 16`
    `nvgpu.mma.sync` m16n8k16 steps with f32 accumulators; each lane loads
    its A and B fragments from the operands at the positions of PTX's
    fragment layout. f32 products (and other depths) keep the scalar
    definition. The same code serves sm_80 and sm_90.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::nvgpu::NVGPUDialect",
    "::mlir::vector::VectorDialect"
  ];
}

def GpuLowerBf16MmaPass : Pass<"mixer-gpu-lower-bf16-mma"> {
  let summary = "Lower bf16 nvgpu.mma.sync to nvvm.mma.sync";
  let description = [{
    MLIR 22's `convert-nvgpu-to-nvvm` deduces no PTX type for bf16
    `nvgpu.mma.sync`; this rewrites the m16n8k16 bf16 × bf16 → f32 form into
    `nvvm.mma.sync` with bf16 multiplicands (two bf16 per 32-bit register).
    Run it before `convert-nvgpu-to-nvvm`.
  }];
  let dependentDialects = [
    "::mlir::LLVM::LLVMDialect",
    "::mlir::NVVM::NVVMDialect",
    "::mlir::vector::VectorDialect"
  ];
}

def GpuLaunchPass : Pass<"mixer-gpu-launch", "::mlir::ModuleOp"> {
  let summary = "Turn bufferized block/thread loop nests into gpu.launch";
  let description = [{
    For every bufferized `scf.forall` mapped to `#gpu.block` (with
    `tmix.gpu.block_dims`) in a function: creates a `gpu.launch` whose grid
    is the loop's (possibly dynamic) trip counts and whose block is
    `tmix.gpu.block_dims`, moves the body into it (induction variables →
    block ids), turns `workgroup` buffers into workgroup attributions
    (shared memory) and `thread_private` buffers — indexed by the thread
    loop's induction variable — into private attributions without that
    dimension (registers after LLVM's SROA), then maps the `#gpu.thread`
    loops to thread ids with a barrier after each (upstream
    `mapNestedForallToThreadsImpl`, as `transform.gpu.map_nested_forall_to_threads`).

    Host code then works on device memory (in every function with a
    kernel, including those of `mixer-map-layers-to-gpu`): host
    `memref.alloc`s become `gpu.alloc` (`host_shared`, managed memory, for
    a buffer the function returns), host copies and frees `gpu.memcpy` /
    `gpu.dealloc`.
  }];
  let dependentDialects = [
    "::mlir::affine::AffineDialect",
    "::mlir::arith::ArithDialect",
    "::mlir::gpu::GPUDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::scf::SCFDialect"
  ];
}

def HoistStackBuffersPass : Pass<"mixer-hoist-stack-buffers", "::mlir::func::FuncOp"> {
  let summary = "Move static stack buffers out of sequential loops";
  let description = [{
    Moves each static `memref.alloca` out of the sequential loops
    (`scf.for`, `scf.while`) around it, up to the body of its parallel loop
    (`scf.forall`, `scf.parallel`) or the function, unless the buffer or a
    view of it is yielded (a later iteration or the loop's result may read
    it). An alloca in a loop body grows the stack by its size on every
    iteration (LLVM frees it only on return): the attention key loop's score
    tile overflowed the stack at L = 32768. Hoisted, one buffer serves every
    iteration, which is sound because no iteration passes it on to the next
    (a fresh alloca's contents are undefined anyway). Runs in
    `tmix-cpu-pipeline` after `promote-buffers-to-stack`.

    Example:
    ```mlir
    scf.forall (%i) in (4) {
      scf.for %j = %c0 to %n step %c1 {
        %tile = memref.alloca() : memref<64x128xf32>   // moves before the scf.for
        ...
      }
    }
    ```
  }];
  let dependentDialects = ["::mlir::memref::MemRefDialect"];
}

def MapLayersToGpuPass : Pass<"mixer-map-layers-to-gpu", "::mlir::func::FuncOp"> {
  let summary = "Map the bufferized layer ops of host code to GPU thread blocks";
  let description = [{
    The GPU lowering of everything but attention (MetaFormer layers after
    `mixer-decompose-layers` and bufferization): every linalg op and
    `memref.copy` of the host code (outside the block loops of
    `mixer-map-attention-to-gpu`) becomes an `scf.parallel` over its
    parallel dims with its reductions as sequential loops in each thread
    (upstream `linalgOpToParallelLoops`); each is tiled (upstream
    `tileParallelLoop`, constant inner bounds with a guard) into blocks of
    about `threads` threads over its innermost parallel dims, and mapped to
    blocks and threads (upstream greedy mapping). `convert-parallel-loops-to-gpu`
    then makes each one a `gpu.launch` (an op without parallel dims, a full
    reduction, runs in one thread). This is the simple, correct mapping
    (one output element per thread, no shared memory or tensor cores), the
    baseline for specialised kernels.

    Example: a linalg.generic over `[98, 256]` (a Linear's contraction over
    K = 64) becomes a grid of 98 x 2 blocks of 128 threads, each thread
    running its K loop.
  }];
  let options = [
    Option<"threads", "threads", "int64_t", /*default=*/"128",
           "Threads per block (a power of two, 32 to 1024)">,
  ];
  let dependentDialects = [
    "::mlir::affine::AffineDialect",
    "::mlir::arith::ArithDialect",
    "::mlir::gpu::GPUDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::scf::SCFDialect"
  ];
}

#endif // MIXER_TRANSFORMS_PASSES_TD
