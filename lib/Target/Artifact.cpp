//===- Artifact.cpp - ahead-of-time compilation to a shared library -------===//
//
// 1. Reads the signature of every public function: element types, static and
//    dynamic dims, the argument dims the ops require equal
//    (OperandDimEqualityOpInterface), the argument dim each dynamic result
//    dim equals (ReifyRankedShapedTypeOpInterface), names and weight names
//    (`tmix.name`, `tmix.weight` argument/result attributes).
// 2. Per target (`cpu`, `cuda` or both): wraps each function in a
//    destination-passing entry taking its results' buffers, inlines it, and
//    lowers everything with tmix-cpu-pipeline, or with tmix-gpu-pipeline
//    (kernels embedded as gpu.binary, host code launching them through the
//    mgpu* functions of libtmixrt).
// 3. Translates each to LLVM IR, optimises for the host CPU, emits objects.
// 4. Writes the ABI metadata and the `void entry(void **)` adapters as C and
//    links everything into the shared library with the C driver (against
//    libtmixrt when there is CUDA code).
//
//===----------------------------------------------------------------------===//

#include "tmix/Target/Artifact.h"

#include "tmix/Config.h"

#include "tmixrt/abi.h"

#include "Mixer/IR/MixerOps.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/ADT/EquivalenceClasses.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/Target/TargetOptions.h"
#include "llvm/TargetParser/Host.h"

using namespace mlir;

namespace {

/// Entry wrappers: `__tmix_dps_<name>` (CPU) and `__tmix_cuda_<name>`
/// (CUDA host code); names starting with `__tmix_` are reserved.
constexpr llvm::StringLiteral kReservedPrefix = "__tmix_";
constexpr llvm::StringLiteral kEntryPrefix = "__tmix_dps_";
constexpr llvm::StringLiteral kCudaEntryPrefix = "__tmix_cuda_";

struct TensorMeta {
  std::string name;
  std::string weight; // "" = not a weight
  tmix_abi_dtype dtype;
  SmallVector<tmix_abi_dim> dims;
};

struct FunctionMeta {
  std::string name;
  SmallVector<TensorMeta> args, results;
};

/// One entry of the artifact's function table: a function compiled for one
/// device, called through `_mlir_ciface_<prefix><name>`.
struct ExportedFunction {
  const FunctionMeta *meta;
  tmix_abi_device device;
  StringRef prefix;
};

FailureOr<tmix_abi_dtype> dtypeOf(Type t) {
  if (t.isF32())
    return TMIX_ABI_F32;
  if (t.isF16())
    return TMIX_ABI_F16;
  if (t.isBF16())
    return TMIX_ABI_BF16;
  if (t.isSignlessInteger(32))
    return TMIX_ABI_I32;
  if (t.isSignlessInteger(64))
    return TMIX_ABI_I64;
  return failure();
}

/// Looks through tensor.cast for a function argument.
BlockArgument asArgument(Value v, func::FuncOp func) {
  while (auto cast = v.getDefiningOp<tensor::CastOp>())
    v = cast.getSource();
  auto arg = dyn_cast<BlockArgument>(v);
  if (arg && arg.getOwner() == &func.getBody().front())
    return arg;
  return nullptr;
}

std::string nameOf(func::FuncOp func, bool result, unsigned i) {
  DictionaryAttr attrs = result ? func.getResultAttrDict(i) : func.getArgAttrDict(i);
  if (attrs)
    if (auto name = attrs.getAs<StringAttr>("tmix.name"))
      return name.str();
  return (result ? "result" : "arg") + std::to_string(i);
}

LogicalResult tensorMeta(func::FuncOp func, Type type, bool result, unsigned i,
                         TensorMeta &meta) {
  auto tensor = dyn_cast<RankedTensorType>(type);
  const char *what = result ? "result" : "argument";
  if (!tensor)
    return func.emitError() << "tmix-compile: " << what << " #" << i << " of @"
                            << func.getSymName() << " is " << type
                            << "; entry points take and return ranked tensors";
  FailureOr<tmix_abi_dtype> dtype = dtypeOf(tensor.getElementType());
  if (failed(dtype))
    return func.emitError() << "tmix-compile: " << what << " #" << i << " of @"
                            << func.getSymName() << " has element type "
                            << tensor.getElementType()
                            << "; supported: f32, f16, bf16, i32, i64";
  if (tensor.getRank() > TMIX_ABI_MAX_RANK)
    return func.emitError() << "tmix-compile: " << what << " #" << i << " of @"
                            << func.getSymName() << " has rank "
                            << tensor.getRank() << "; at most "
                            << TMIX_ABI_MAX_RANK << " is supported";
  meta.name = nameOf(func, result, i);
  meta.dtype = *dtype;
  if (!result)
    if (DictionaryAttr attrs = func.getArgAttrDict(i))
      if (auto weight = attrs.getAs<StringAttr>("tmix.weight"))
        meta.weight = weight.str();
  for (int64_t d : tensor.getShape())
    meta.dims.push_back({ShapedType::isDynamic(d) ? -1 : d, -1, -1});
  return success();
}

/// Reads the ABI signature of `func`.
FailureOr<FunctionMeta> readSignature(func::FuncOp func) {
  FunctionMeta fn;
  fn.name = func.getSymName().str();
  FunctionType type = func.getFunctionType();
  for (auto [i, t] : llvm::enumerate(type.getInputs())) {
    fn.args.emplace_back();
    if (failed(tensorMeta(func, t, false, i, fn.args.back())))
      return failure();
  }
  for (auto [i, t] : llvm::enumerate(type.getResults())) {
    fn.results.emplace_back();
    if (failed(tensorMeta(func, t, true, i, fn.results.back())))
      return failure();
  }

  // Argument dims the ops need equal: union the dynamic ones; a class that
  // holds a static size pins the others to it.
  using Key = std::pair<int64_t, int64_t>; // (argument, dim)
  llvm::EquivalenceClasses<Key> classes;
  func.walk([&](tmix::mixer::OperandDimEqualityOpInterface op) {
    SmallVector<std::array<int64_t, 4>> pairs;
    op.getEqualOperandDims(pairs);
    for (auto [oa, da, ob, db] : pairs) {
      BlockArgument a = asArgument(op->getOperand(oa), func);
      BlockArgument b = asArgument(op->getOperand(ob), func);
      if (a && b)
        classes.unionSets(Key{a.getArgNumber(), da}, Key{b.getArgNumber(), db});
    }
  });
  for (auto [i, arg] : llvm::enumerate(fn.args)) {
    for (auto [d, dim] : llvm::enumerate(arg.dims)) {
      if (dim.size >= 0 || !classes.contains(Key{i, d}))
        continue;
      std::optional<Key> earliest;
      for (auto it = classes.findLeader(Key{i, d}); it != classes.member_end();
           ++it) {
        const tmix_abi_dim &other = fn.args[it->first].dims[it->second];
        if (other.size >= 0) { // pinned by a static size
          dim.size = other.size;
          earliest.reset();
          break;
        }
        if (*it < Key{int64_t(i), int64_t(d)} && (!earliest || *it < *earliest))
          earliest = *it;
      }
      if (dim.size < 0 && earliest) {
        dim.arg = static_cast<int32_t>(earliest->first);
        dim.dim = static_cast<int32_t>(earliest->second);
      }
    }
  }

  // Each dynamic result dim must equal an argument dim.
  auto ret = func.getBody().hasOneBlock()
                 ? dyn_cast<func::ReturnOp>(func.getBody().front().getTerminator())
                 : func::ReturnOp();
  if (!ret)
    return func.emitError() << "tmix-compile: @" << func.getSymName()
                            << " must have a single block ending in "
                               "func.return to be exported";
  OpBuilder b(ret);
  for (auto [i, result] : llvm::enumerate(fn.results)) {
    Value v = ret.getOperand(i);
    SmallVector<OpFoldResult> sizes;
    if (BlockArgument arg = asArgument(v, func)) {
      for (int64_t d = 0, e = result.dims.size(); d < e; ++d)
        sizes.push_back(tensor::DimOp::create(b, ret.getLoc(), arg, d).getResult());
    } else {
      Value src = v;
      while (auto cast = src.getDefiningOp<tensor::CastOp>())
        src = cast.getSource();
      auto reify = src.getDefiningOp<ReifyRankedShapedTypeOpInterface>();
      ReifiedRankedShapedTypeDims shapes;
      if (reify) {
        b.setInsertionPoint(reify);
        if (succeeded(reify.reifyResultShapes(b, shapes)))
          sizes = shapes[cast<OpResult>(src).getResultNumber()];
      }
    }
    for (auto [d, dim] : llvm::enumerate(result.dims)) {
      if (dim.size >= 0)
        continue;
      auto dimOp = d < sizes.size() ? dyn_cast_if_present<Value>(sizes[d])
                                             .getDefiningOp<tensor::DimOp>()
                                    : nullptr;
      std::optional<int64_t> index =
          dimOp ? dimOp.getConstantIndex() : std::nullopt;
      BlockArgument arg = dimOp ? asArgument(dimOp.getSource(), func) : nullptr;
      if (!arg || !index)
        return func.emitError()
               << "tmix-compile: dim " << d << " of result #" << i << " of @"
               << func.getSymName()
               << " is dynamic and not known to equal an argument dim; "
                  "entry points need result sizes computable from their "
                  "arguments";
      dim.arg = static_cast<int32_t>(arg.getArgNumber());
      dim.dim = static_cast<int32_t>(*index);
    }
  }
  return fn;
}

/// Adds `func.func @<prefix><name>(args..., results as memrefs)` writing
/// the results of `@name` into the caller's buffers, and makes `@name`
/// private so that it is inlined and dropped.
void addEntryWrapper(func::FuncOp func, StringRef prefix) {
  OpBuilder b(func);
  b.setInsertionPointAfter(func);
  Location loc = func.getLoc();
  FunctionType type = func.getFunctionType();
  SmallVector<Type> inputs(type.getInputs());
  for (Type t : type.getResults()) {
    auto tensor = cast<RankedTensorType>(t);
    inputs.push_back(MemRefType::get(tensor.getShape(), tensor.getElementType()));
  }
  auto wrapper = func::FuncOp::create(b, loc, (prefix + func.getSymName()).str(),
                                      b.getFunctionType(inputs, {}));
  wrapper->setAttr(LLVM::LLVMDialect::getEmitCWrapperAttrName(), b.getUnitAttr());
  Block *body = wrapper.addEntryBlock();
  b.setInsertionPointToEnd(body);
  auto call = func::CallOp::create(
      b, loc, func, body->getArguments().take_front(type.getNumInputs()));
  for (auto [i, r] : llvm::enumerate(call.getResults())) {
    auto store = bufferization::MaterializeInDestinationOp::create(
        b, loc, r, body->getArgument(type.getNumInputs() + i));
    store.setRestrict(true);
    store.setWritable(true);
  }
  func::ReturnOp::create(b, loc);
  func.setPrivate();
}

std::string cString(StringRef s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c < 0x20 || c >= 0x7f) {
      char buf[8];
      snprintf(buf, sizeof(buf), "\\%03o", c);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

const char *dtypeName(tmix_abi_dtype d) {
  switch (d) {
  case TMIX_ABI_F32:
    return "f32";
  case TMIX_ABI_F16:
    return "f16";
  case TMIX_ABI_BF16:
    return "bf16";
  case TMIX_ABI_I32:
    return "i32";
  case TMIX_ABI_I64:
    return "i64";
  }
  return "?";
}

std::string signature(const FunctionMeta &fn) {
  std::string s;
  llvm::raw_string_ostream os(s);
  auto tensors = [&](ArrayRef<TensorMeta> ts) {
    llvm::interleaveComma(ts, os, [&](const TensorMeta &t) {
      os << t.name << ": [";
      llvm::interleaveComma(t.dims, os, [&](const tmix_abi_dim &d) {
        if (d.size >= 0)
          os << d.size;
        else
          os << "?";
      });
      os << "] " << dtypeName(t.dtype);
    });
  };
  os << fn.name << "(";
  tensors(fn.args);
  os << ") -> (";
  tensors(fn.results);
  os << ")";
  return s;
}

/// The C source holding the metadata and the entry adapters.
std::string metadataSource(ArrayRef<ExportedFunction> fns, bool parallel) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << "/* Generated by tmix-compile: ABI metadata and entry adapters. */\n"
        "#include \"tmixrt/abi.h\"\n#include <stddef.h>\n\n";
  auto tensors = [&](StringRef prefix, ArrayRef<TensorMeta> ts) {
    for (auto [i, t] : llvm::enumerate(ts)) {
      os << "static const tmix_abi_dim " << prefix << i << "_dims[] = {";
      llvm::interleaveComma(t.dims, os, [&](const tmix_abi_dim &d) {
        os << "{" << d.size << ", " << d.arg << ", " << d.dim << "}";
      });
      if (t.dims.empty())
        os << "{0, -1, -1}";
      os << "};\n";
    }
    os << "static const tmix_abi_tensor " << prefix << "[] = {\n";
    for (auto [i, t] : llvm::enumerate(ts))
      os << "  {" << cString(t.name) << ", "
         << (t.weight.empty() ? std::string("NULL") : cString(t.weight)) << ", "
         << t.dtype << ", " << t.dims.size() << ", " << prefix << i
         << "_dims},\n";
    if (ts.empty())
      os << "  {\"\", NULL, 0, 0, NULL}\n";
    os << "};\n";
  };
  for (auto [f, exported] : llvm::enumerate(fns)) {
    const FunctionMeta &fn = *exported.meta;
    size_t n = fn.args.size() + fn.results.size();
    std::string ciface = ("_mlir_ciface_" + exported.prefix + fn.name).str();
    os << "\n/* " << signature(fn) << " on "
       << (exported.device == TMIX_ABI_DEVICE_CUDA ? "CUDA" : "the CPU")
       << " */\n";
    os << "extern void " << ciface << "(";
    for (size_t i = 0; i < n; ++i)
      os << (i ? ", " : "") << "void *";
    if (n == 0)
      os << "void";
    os << ");\n";
    os << "static void tmix_entry_" << f << "(void **a) { " << ciface << "(";
    for (size_t i = 0; i < n; ++i)
      os << (i ? ", " : "") << "a[" << i << "]";
    os << "); }\n";
    tensors(("f" + std::to_string(f) + "_args").c_str(), fn.args);
    tensors(("f" + std::to_string(f) + "_results").c_str(), fn.results);
  }
  os << "\nstatic const tmix_abi_function tmix_functions[] = {\n";
  for (auto [f, exported] : llvm::enumerate(fns)) {
    const FunctionMeta &fn = *exported.meta;
    os << "  {" << cString(fn.name) << ", "
       << (exported.device == TMIX_ABI_DEVICE_CUDA ? "TMIX_ABI_DEVICE_CUDA"
                                                   : "TMIX_ABI_DEVICE_CPU")
       << ", " << fn.args.size() << ", f" << f << "_args, "
       << fn.results.size() << ", f" << f << "_results, tmix_entry_" << f
       << "},\n";
  }
  os << "};\n\n";
  if (parallel)
    os << "extern void omp_set_num_threads(int);\n"
          "extern int omp_get_num_procs(void);\n"
          "static void tmix_set_num_threads(int32_t n) {\n"
          "  omp_set_num_threads(n > 0 ? n : omp_get_num_procs());\n}\n\n";
  os << "static const tmix_abi_module tmix_module = {\n"
        "  TMIX_ABI_MAGIC, TMIX_ABI_VERSION, "
     << cString("tmix-compile (LLVM " LLVM_VERSION_STRING ")") << ",\n  "
     << fns.size() << ", tmix_functions, "
     << (parallel ? "tmix_set_num_threads" : "NULL") << "};\n\n"
     << "__attribute__((visibility(\"default\")))\n"
        "const tmix_abi_module *tmix_artifact_module(void) { return "
        "&tmix_module; }\n";
  return s;
}

std::string headerSource(ArrayRef<FunctionMeta> fns, StringRef source,
                         StringRef library, StringRef devices) {
  std::string guard = "TMIX_ARTIFACT_" +
                      llvm::sys::path::stem(library).upper() + "_H";
  for (char &c : guard)
    if (!llvm::isAlnum(c))
      c = '_';
  std::string s;
  llvm::raw_string_ostream os(s);
  os << "/* Generated by tmix-compile from " << source << ": the entry points of\n"
     << " * " << llvm::sys::path::filename(library)
     << ". Load it with libtmixrt (tmixrt_module_load) and call the\n"
        " * functions by name; '?' marks a dynamic size. The functions run on\n"
        " * "
     << devices << ". */\n"
     << "#ifndef " << guard << "\n#define " << guard << "\n\n"
     << "#include \"tmixrt/abi.h\"\n\n";
  for (const FunctionMeta &fn : fns) {
    std::string upper = StringRef(fn.name).upper();
    for (char &c : upper)
      if (!llvm::isAlnum(c))
        c = '_';
    os << "/* " << signature(fn) << " */\n"
       << "#define TMIX_FN_" << upper << " " << cString(fn.name) << "\n"
       << "#define TMIX_FN_" << upper << "_NUM_ARGS " << fn.args.size() << "\n"
       << "#define TMIX_FN_" << upper << "_NUM_RESULTS " << fn.results.size()
       << "\n\n";
  }
  os << "#ifdef __cplusplus\nextern \"C\"\n#endif\n"
        "const tmix_abi_module *tmix_artifact_module(void);\n\n#endif\n";
  return s;
}

/// Writes `text` to a new temporary file with `suffix`.
FailureOr<std::string> writeTemp(StringRef suffix, StringRef text,
                                 Location loc) {
  SmallString<128> path;
  int fd;
  if (std::error_code ec =
          llvm::sys::fs::createTemporaryFile("tmix", suffix, fd, path))
    return emitError(loc) << "tmix-compile: cannot create a temporary file: "
                          << ec.message();
  llvm::raw_fd_ostream os(fd, /*shouldClose=*/true);
  os << text;
  os.close();
  if (os.has_error())
    return emitError(loc) << "tmix-compile: cannot write " << path << ": "
                          << os.error().message();
  return std::string(path);
}

/// Removes the listed files when destroyed.
struct TempFiles {
  SmallVector<std::string> paths;
  bool keep = false;
  ~TempFiles() {
    if (!keep)
      for (const std::string &p : paths)
        llvm::sys::fs::remove(p);
  }
};

std::string defaultLinker() {
  if (const char *env = std::getenv("TMIX_CLANG"))
    return env;
  std::string baked = TMIX_LLVM_BIN_DIR "/clang";
  if (llvm::sys::fs::can_execute(baked))
    return baked;
  if (auto found = llvm::sys::findProgramByName("clang"))
    return *found;
  return baked;
}

/// The targets of `--target`: "cpu", "cuda", or both ("cpu,cuda").
struct Targets {
  bool cpu = false, cuda = false;
};

FailureOr<Targets> parseTargets(StringRef text, Location loc) {
  Targets targets;
  SmallVector<StringRef> parts;
  text.split(parts, ',');
  for (StringRef part : parts) {
    bool *flag = part == "cpu" ? &targets.cpu
                 : part == "cuda" ? &targets.cuda
                                  : nullptr;
    if (!flag)
      return emitError(loc) << "tmix-compile: unknown target '" << part
                            << "'; supported: cpu, cuda, cpu,cuda";
    if (*flag)
      return emitError(loc) << "tmix-compile: target '" << part
                            << "' given twice in '" << text << "'";
    *flag = true;
  }
  return targets;
}

/// Translates `module` (in the LLVM dialect, with gpu.binary ops for CUDA)
/// to LLVM IR, optimises it for the host CPU (or `options.cpu`) and writes
/// an object file, whose path is added to `temps`.
FailureOr<std::string> emitObject(ModuleOp module,
                                  const tmix::ArtifactOptions &options,
                                  TempFiles &temps) {
  Location loc = module.getLoc();
  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();
  llvm::Triple triple(llvm::sys::getDefaultTargetTriple());
  std::string error;
  const llvm::Target *target = llvm::TargetRegistry::lookupTarget(triple, error);
  if (!target)
    return emitError(loc) << "tmix-compile: no LLVM target for " << triple.str()
                          << ": " << error;
  std::string cpu = options.cpu, features;
  if (cpu == "native") {
    cpu = llvm::sys::getHostCPUName().str();
    SmallVector<std::string> list;
    for (const auto &f : llvm::sys::getHostCPUFeatures())
      list.push_back((f.getValue() ? "+" : "-") + f.getKey().str());
    features = llvm::join(list, ",");
  }
  // Multiply-adds of the kernels may fuse into FMAs (the accumulations are
  // reassociable by construction; see mixer-decompose-attention).
  llvm::TargetOptions targetOptions;
  targetOptions.AllowFPOpFusion = llvm::FPOpFusion::Fast;
  // Constructors (the CUDA part's mgpuModuleLoad of each kernel image) go to
  // .init_array, which the dynamic loader runs; TargetOptions defaults to
  // the legacy .ctors, which nothing runs (clang sets this by default too).
  targetOptions.UseInitArray = true;
  std::unique_ptr<llvm::TargetMachine> machine(target->createTargetMachine(
      triple, cpu, features, targetOptions, llvm::Reloc::PIC_,
      std::nullopt, llvm::CodeGenOptLevel::Aggressive));
  if (!machine)
    return emitError(loc) << "tmix-compile: cannot create a target machine for "
                          << triple.str() << " (cpu " << cpu << ")";
  llvm::LLVMContext llvmContext;
  std::unique_ptr<llvm::Module> llvmModule =
      translateModuleToLLVMIR(module, llvmContext, "tmix");
  if (!llvmModule)
    return emitError(loc) << "tmix-compile: translation to LLVM IR failed";
  llvmModule->setTargetTriple(triple);
  llvmModule->setDataLayout(machine->createDataLayout());
  auto optimize = makeOptimizingTransformer(3, 0, machine.get());
  if (llvm::Error err = optimize(llvmModule.get()))
    return emitError(loc) << "tmix-compile: LLVM optimisation failed: "
                          << llvm::toString(std::move(err));

  SmallString<128> objPath;
  int objFd;
  if (std::error_code ec =
          llvm::sys::fs::createTemporaryFile("tmix", "o", objFd, objPath))
    return emitError(loc) << "tmix-compile: cannot create a temporary file: "
                          << ec.message();
  temps.paths.push_back(std::string(objPath));
  llvm::raw_fd_ostream os(objFd, /*shouldClose=*/true);
  llvm::legacy::PassManager codegen;
  if (machine->addPassesToEmitFile(codegen, os, nullptr,
                                   llvm::CodeGenFileType::ObjectFile))
    return emitError(loc) << "tmix-compile: the target cannot emit objects";
  codegen.run(*llvmModule);
  os.close();
  if (os.has_error())
    return emitError(loc) << "tmix-compile: cannot write the object: "
                          << os.error().message();
  return std::string(objPath);
}

/// The directory of the libtmixrt that CUDA artifacts link against.
std::string runtimeLibraryDir(const tmix::ArtifactOptions &options) {
  if (!options.runtimeLibraryDir.empty())
    return options.runtimeLibraryDir;
  if (const char *env = std::getenv("TMIX_RUNTIME_LIBRARY_DIR"))
    return env;
  return TMIX_RUNTIME_LIBRARY_DIR;
}
} // namespace

LogicalResult tmix::compileArtifact(ModuleOp module, StringRef outputPath,
                                    const ArtifactOptions &options) {
  Location loc = module.getLoc();
  FailureOr<Targets> targets = parseTargets(options.target, loc);
  if (failed(targets))
    return failure();
  std::string runtimeDir;
  if (targets->cuda) {
    if (std::string(TMIX_CUDA_TOOLKIT_DIR).empty() &&
        options.gpu.toolkit.getValue() == GPUPipelineOptions::defaultCudaToolkit())
      return emitError(loc)
             << "tmix-compile: --target=cuda needs the CUDA toolkit (ptxas, "
                "fatbinary, libdevice); none was found when tmix was "
                "configured (set TMIX_CUDA_TOOLKIT_DIR or CUDA_HOME and "
                "reconfigure)";
    // The host code calls libtmixrt's mgpu* functions.
    runtimeDir = runtimeLibraryDir(options);
    SmallString<128> lib(runtimeDir);
    llvm::sys::path::append(lib, "libtmixrt.so");
    if (!llvm::sys::fs::exists(lib))
      return emitError(loc)
             << "tmix-compile: CUDA artifacts link against libtmixrt (its "
                "mgpu* functions load and launch the kernels), but "
             << lib
             << " does not exist; build the runtime (target tmixrt) or name "
                "its directory with --runtime-dir or TMIX_RUNTIME_LIBRARY_DIR";
  }

  // 1. Signatures of the public functions.
  SmallVector<func::FuncOp> publics;
  for (auto func : module.getOps<func::FuncOp>())
    if (func.isPublic() && !func.isExternal())
      publics.push_back(func);
  if (publics.empty())
    return emitError(loc) << "tmix-compile: the module has no public function "
                             "with a body to export";
  std::vector<FunctionMeta> fns;
  for (func::FuncOp func : publics) {
    if (func.getSymName().starts_with(kReservedPrefix))
      return func.emitError() << "tmix-compile: function names starting with '"
                              << kReservedPrefix << "' are reserved";
    FailureOr<FunctionMeta> fn = readSignature(func);
    if (failed(fn))
      return failure();
    fns.push_back(std::move(*fn));
  }

  // 2. Entry wrappers and the pipelines: the CUDA part is compiled from a
  // copy of the module taken before the CPU pipeline lowers it.
  OwningOpRef<ModuleOp> gpuModule;
  if (targets->cuda)
    gpuModule = module.clone();
  TempFiles temps;
  temps.keep = options.keepIntermediates;
  SmallVector<std::string> objects;
  std::vector<ExportedFunction> exported;
  if (targets->cpu) {
    for (func::FuncOp func : publics)
      addEntryWrapper(func, kEntryPrefix);
    PassManager pm(module.getContext());
    pm.addPass(createInlinerPass());
    pm.addPass(createSymbolDCEPass());
    CPUPipelineOptions pipeline;
    pipeline.queryTile = options.queryTile;
    pipeline.keyTile = options.keyTile;
    pipeline.edgeTile = options.edgeTile;
    pipeline.skipMaskedTiles = options.skipMaskedTiles;
    pipeline.parallel = options.parallel;
    pipeline.fuseLayers = options.fuseLayers;
    buildCPUPipeline(pm, pipeline);
    if (failed(pm.run(module)))
      return failure();
    // 3. LLVM IR and an object for the target CPU.
    FailureOr<std::string> object = emitObject(module, options, temps);
    if (failed(object))
      return failure();
    objects.push_back(*object);
    for (const FunctionMeta &fn : fns)
      exported.push_back({&fn, TMIX_ABI_DEVICE_CPU, kEntryPrefix});
  }
  if (targets->cuda) {
    SmallVector<func::FuncOp> gpuPublics;
    for (auto func : gpuModule->getOps<func::FuncOp>())
      if (func.isPublic() && !func.isExternal())
        gpuPublics.push_back(func);
    for (func::FuncOp func : gpuPublics)
      addEntryWrapper(func, kCudaEntryPrefix);
    PassManager pm(gpuModule->getContext());
    pm.addPass(createInlinerPass());
    pm.addPass(createSymbolDCEPass());
    pm.addPass(createCanonicalizerPass());
    buildGpuPipeline(pm, options.gpu);
    if (failed(pm.run(*gpuModule)))
      return failure();
    FailureOr<std::string> object = emitObject(*gpuModule, options, temps);
    if (failed(object))
      return failure();
    objects.push_back(*object);
    for (const FunctionMeta &fn : fns)
      exported.push_back({&fn, TMIX_ABI_DEVICE_CUDA, kCudaEntryPrefix});
  }

  // 4. Metadata, adapters, link.
  // The host code of the CPU part runs OpenMP only when parallel.
  bool openmp = targets->cpu && options.parallel;
  FailureOr<std::string> metaPath =
      writeTemp("c", metadataSource(exported, openmp), loc);
  if (failed(metaPath))
    return failure();
  temps.paths.push_back(*metaPath);
  FailureOr<std::string> scriptPath =
      writeTemp("map", "{ global: tmix_artifact_module; local: *; };\n", loc);
  if (failed(scriptPath))
    return failure();
  temps.paths.push_back(*scriptPath);

  std::string tmpOut = (outputPath + ".tmp").str();
  std::string linker = options.linker.empty() ? defaultLinker() : options.linker;
  SmallVector<std::string> args = {
      linker,        "-shared",        "-fPIC",
      "-O2",         "-fuse-ld=lld",   "-I" TMIX_ABI_INCLUDE_DIR,
      "-o",          tmpOut,           *metaPath};
  args.append(objects.begin(), objects.end());
  args.append({"-Wl,--version-script=" + *scriptPath, "-Wl,-z,defs", "-lm"});
  if (openmp) {
    args.push_back("-L" TMIX_LLVM_LIB_DIR);
    args.push_back("-Wl,-rpath," TMIX_LLVM_LIB_DIR);
    args.push_back("-lomp");
  }
  if (targets->cuda) {
    // The mgpu* functions come from the libtmixrt that loads the artifact
    // (DT_NEEDED libtmixrt.so, found among the loaded libraries); no rpath,
    // so that the artifact never picks up another copy.
    args.push_back("-L" + runtimeDir);
    args.push_back("-ltmixrt");
  }
  SmallVector<StringRef> argRefs(args.begin(), args.end());
  std::string linkError;
  SmallString<128> logPath;
  if (std::error_code ec =
          llvm::sys::fs::createTemporaryFile("tmix", "log", logPath))
    return emitError(loc) << "tmix-compile: cannot create a temporary file: "
                          << ec.message();
  temps.paths.push_back(std::string(logPath));
  std::optional<StringRef> redirects[] = {std::nullopt, StringRef(logPath),
                                          StringRef(logPath)};
  int rc = llvm::sys::ExecuteAndWait(linker, argRefs, std::nullopt, redirects,
                                     0, 0, &linkError);
  if (rc != 0) {
    llvm::sys::fs::remove(tmpOut);
    std::string log;
    if (auto buf = llvm::MemoryBuffer::getFile(logPath))
      log = (*buf)->getBuffer().str();
    return emitError(loc) << "tmix-compile: linking with '" << linker
                          << "' failed" << (linkError.empty() ? "" : ": ")
                          << linkError << "\n" << log;
  }
  if (!options.headerPath.empty()) {
    std::string tmpHeader = options.headerPath + ".tmp";
    std::error_code ec;
    llvm::raw_fd_ostream os(tmpHeader, ec);
    if (!ec) {
      os << headerSource(fns, options.sourceName, outputPath,
                         targets->cpu && targets->cuda
                             ? "the CPU and CUDA (one entry of each name per "
                               "device)"
                         : targets->cuda ? "CUDA"
                                         : "the CPU");
      os.close();
      ec = os.error();
    }
    if (ec || (ec = llvm::sys::fs::rename(tmpHeader, options.headerPath))) {
      llvm::sys::fs::remove(tmpHeader);
      llvm::sys::fs::remove(tmpOut);
      return emitError(loc) << "tmix-compile: cannot write "
                            << options.headerPath << ": " << ec.message();
    }
  }
  if (std::error_code ec = llvm::sys::fs::rename(tmpOut, outputPath)) {
    llvm::sys::fs::remove(tmpOut);
    return emitError(loc) << "tmix-compile: cannot write " << outputPath
                          << ": " << ec.message();
  }
  return success();
}
