//===- tmix-compile.cpp - compile a mixer model into a shared library -----===//
//
//   tmix-compile in.mlir -o libname.so [--emit-header name.h]
//                [--target=cpu|cuda|cpu,cuda] [--gpu-chip=sm_80|sm_90] ...
//
// A thin main over tmix::compileArtifact (lib/Target): every public
// func.func of the input becomes an entry point of the library, loadable
// with libtmixrt.
//
//===----------------------------------------------------------------------===//

#include "tmix/InitAll.h"
#include "tmix/Target/Artifact.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/SourceMgr.h"

using namespace llvm;

static cl::opt<std::string> inputFile(cl::Positional, cl::desc("<input .mlir>"),
                                      cl::init("-"));
static cl::opt<std::string> outputFile("o", cl::desc("Output shared library"),
                                       cl::value_desc("lib.so"), cl::Required);
static cl::opt<std::string> headerFile("emit-header",
                                       cl::desc("Also write a C header"),
                                       cl::value_desc("name.h"));
static cl::opt<std::string>
    target("target",
           cl::desc("Where the functions run: cpu, cuda (NVIDIA GPUs; "
                    "kernels embedded, launched through libtmixrt), or "
                    "cpu,cuda (each function once per device, same name)"),
           cl::init("cpu"));
static cl::opt<tmix::GpuChip> gpuChip(
    "gpu-chip", cl::desc("GPU architecture of the CUDA code"),
    cl::init(tmix::GpuChip::sm_80),
    cl::values(clEnumValN(tmix::GpuChip::sm_80, "sm_80",
                          "Ampere and later (the PTX JIT-compiles for newer "
                          "GPUs)"),
               clEnumValN(tmix::GpuChip::sm_90, "sm_90", "Hopper")));
static cl::opt<tmix::GpuBinaryFormat> gpuFormat(
    "gpu-format", cl::desc("What the artifact embeds of the CUDA code"),
    cl::init(tmix::GpuBinaryFormat::fatbin),
    cl::values(clEnumValN(tmix::GpuBinaryFormat::fatbin, "fatbin",
                          "cubin for --gpu-chip plus PTX for newer GPUs"),
               clEnumValN(tmix::GpuBinaryFormat::bin, "bin",
                          "cubin for --gpu-chip only"),
               clEnumValN(tmix::GpuBinaryFormat::isa, "isa",
                          "PTX only (compiled by the driver at load)")));
static cl::opt<std::string>
    cudaToolkit("cuda-toolkit",
                cl::desc("CUDA toolkit for ptxas, fatbinary and libdevice "
                         "(default: the one tmix was configured with)"),
                cl::init(""));
static cl::opt<std::string>
    runtimeDir("runtime-dir",
               cl::desc("Directory of libtmixrt.so, which CUDA artifacts "
                        "link against (default: TMIX_RUNTIME_LIBRARY_DIR, "
                        "else tmix's build)"),
               cl::init(""));
static cl::opt<std::string>
    cpu("cpu", cl::desc("CPU to generate code for: native, or an LLVM CPU "
                        "name such as x86-64-v3"),
        cl::init("native"));
static cl::opt<int64_t> queryTile("query-tile",
                                  cl::desc("Query rows per attention tile"),
                                  cl::init(64));
static cl::opt<int64_t> keyTile("key-tile",
                                cl::desc("Keys per step of the key loop"),
                                cl::init(128));
static cl::opt<int64_t>
    edgeTile("edge-tile",
             cl::desc("Rows and keys per padded piece of an attention "
                      "tile's dynamic edges (the last query tile of a "
                      "length --query-tile does not divide, the keys after "
                      "the last whole --key-tile block)"),
             cl::init(16));
static cl::opt<bool>
    noMaskBounds("no-mask-bounds",
                 cl::desc("Do not bound key loops by the mask (for measuring "
                          "what mask-aware tiling saves)"),
                 cl::init(false));
static cl::opt<bool> serial("serial",
                            cl::desc("Generate single-threaded code (no "
                                     "OpenMP)"),
                            cl::init(false));
static cl::opt<bool>
    noFuseLayers("no-fuse-layers",
                 cl::desc("Do not fuse the layers' elementwise epilogues "
                          "into their Linear tiles (for measuring what the "
                          "fusion saves)"),
                 cl::init(false));
static cl::opt<bool> keep("keep-intermediates",
                          cl::desc("Keep the object and metadata source in "
                                   "the temporary directory"),
                          cl::init(false));

int main(int argc, char **argv) {
  InitLLVM y(argc, argv);
  cl::ParseCommandLineOptions(
      argc, argv,
      "tmix-compile: compiles the public functions of a mixer-dialect module "
      "into a shared library for libtmixrt\n");

  if (queryTile < 1 || keyTile < 1 || edgeTile < 1) {
    errs() << "tmix-compile: --query-tile, --key-tile and --edge-tile must "
              "be >= 1\n";
    return 1;
  }

  mlir::DialectRegistry registry;
  tmix::registerAllDialects(registry);
  mlir::MLIRContext context(registry);
  context.loadAllAvailableDialects();

  std::string error;
  std::unique_ptr<MemoryBuffer> input = mlir::openInputFile(inputFile, &error);
  if (!input) {
    errs() << "tmix-compile: " << error << "\n";
    return 1;
  }
  SourceMgr sourceMgr;
  sourceMgr.AddNewSourceBuffer(std::move(input), SMLoc());
  mlir::SourceMgrDiagnosticHandler handler(sourceMgr, &context);
  mlir::OwningOpRef<mlir::ModuleOp> module =
      mlir::parseSourceFile<mlir::ModuleOp>(sourceMgr, &context);
  // The parser verifies the module (and reports each error once).
  if (!module)
    return 1;

  tmix::ArtifactOptions options;
  options.target = target;
  options.gpu.chip = gpuChip;
  options.gpu.format = gpuFormat;
  if (!cudaToolkit.empty())
    options.gpu.toolkit = cudaToolkit;
  options.runtimeLibraryDir = runtimeDir;
  options.cpu = cpu;
  options.queryTile = queryTile;
  options.keyTile = keyTile;
  options.edgeTile = edgeTile;
  options.skipMaskedTiles = !noMaskBounds;
  options.parallel = !serial;
  options.fuseLayers = !noFuseLayers;
  options.headerPath = headerFile;
  options.sourceName = inputFile;
  options.keepIntermediates = keep;
  return failed(tmix::compileArtifact(*module, outputFile, options)) ? 1 : 0;
}
