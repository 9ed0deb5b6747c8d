//===- Module.cpp - loading and validating artifacts ----------------------===//
//
// An artifact is trusted only as far as it must be: its metadata is copied
// into the module after every field has been checked, so a malformed artifact
// is refused with a status instead of crashing a later call.
//
//===----------------------------------------------------------------------===//

#include "Internal.h"
#include "Json.h"
#include "Safetensors.h"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <dlfcn.h>
#include <new>
#include <sys/stat.h>

using namespace tmixrt;

namespace {

// Generous bounds that catch garbage (uninitialized counts, unterminated
// strings) without limiting real artifacts.
constexpr uint32_t kMaxFunctions = 1u << 16;
constexpr uint32_t kMaxTensors = 1u << 12;
constexpr size_t kMaxNameLength = 4096;

/// Checks and copies one artifact, building up a message prefix as it goes.
class Validator {
public:
  Validator(const std::string &path) : path(path) {}

  tmixrt_status corrupt(const std::string &where, const std::string &what) {
    return makeStatus(TMIXRT_INVALID_ARGUMENT,
                      "'%s' has corrupt tmix metadata: %s%s", path.c_str(),
                      where.c_str(), what.c_str());
  }

  tmixrt_status checkName(const char *name, const std::string &where,
                          const char *what, std::string &out) {
    if (!name)
      return corrupt(where, format("%s is null", what));
    size_t length = strnlen(name, kMaxNameLength + 1);
    if (length > kMaxNameLength)
      return corrupt(
          where, format("%s is longer than %zu bytes", what, kMaxNameLength));
    out.assign(name, length);
    return nullptr;
  }

  tmixrt_status copyTensor(const tmix_abi_tensor &abi, const std::string &where,
                           TensorInfo &info) {
    if (tmixrt_status status = checkName(abi.name, where, "name", info.name))
      return status;
    std::string here = where + "('" + info.name + "') ";
    if (abi.weight_name) {
      if (tmixrt_status status =
              checkName(abi.weight_name, here, "weight name", info.weightName))
        return status;
      info.hasWeightName = true;
    }
    if (!isKnownDtype(abi.dtype))
      return corrupt(here, format("has unknown dtype %u", abi.dtype));
    if (abi.rank > TMIX_ABI_MAX_RANK)
      return corrupt(here, format("has rank %u, more than the maximum of %d",
                                  abi.rank, TMIX_ABI_MAX_RANK));
    if (abi.rank && !abi.dims)
      return corrupt(here, format("has rank %u but no dims", abi.rank));
    for (uint32_t i = 0; i < abi.rank; ++i) {
      const tmix_abi_dim &dim = abi.dims[i];
      if (dim.size < -1)
        return corrupt(here, format("dim %u has size %lld", i,
                                    static_cast<long long>(dim.size)));
      info.shape[i] = dim.size;
      info.sourceArg[i] = -1;
      info.sourceDim[i] = -1;
    }
    info.info.name = info.name.c_str();
    info.info.weight_name =
        info.hasWeightName ? info.weightName.c_str() : nullptr;
    info.info.dtype = static_cast<tmixrt_dtype>(abi.dtype);
    info.info.rank = abi.rank;
    info.info.shape = info.shape;
    info.info.source_arg = info.sourceArg;
    info.info.source_dim = info.sourceDim;
    return nullptr;
  }

  tmixrt_status copyFunction(const tmix_abi_function &abi, uint32_t index,
                             tmixrt_function &fn) {
    std::string where = format("function %u ", index);
    if (tmixrt_status status = checkName(abi.name, where, "name", fn.name))
      return status;
    if (fn.name.empty())
      return corrupt(where, "has an empty name");
    where = format("function %u ('%s') ", index, fn.name.c_str());
    if (abi.device != TMIX_ABI_DEVICE_CPU && abi.device != TMIX_ABI_DEVICE_CUDA)
      return corrupt(where, format("has unknown device %u", abi.device));
    fn.device = static_cast<tmixrt_device>(abi.device);
    if (!abi.entry)
      return corrupt(where, "has no entry point");
    fn.entry = abi.entry;
    if (abi.num_args > kMaxTensors || abi.num_results > kMaxTensors)
      return corrupt(where, format("has %u arguments and %u results",
                                   abi.num_args, abi.num_results));
    if (abi.num_args && !abi.args)
      return corrupt(
          where, format("has %u arguments but no argument list", abi.num_args));
    if (abi.num_results && !abi.results)
      return corrupt(
          where, format("has %u results but no result list", abi.num_results));
    for (uint32_t i = 0; i < abi.num_args; ++i) {
      fn.args.push_back(std::make_unique<TensorInfo>());
      TensorInfo &arg = *fn.args.back();
      std::string here = where + format("argument %u ", i);
      if (tmixrt_status status = copyTensor(abi.args[i], here, arg))
        return status;
      // A dynamic argument dim may name an earlier argument dim it equals.
      for (uint32_t d = 0; d < arg.info.rank; ++d) {
        const tmix_abi_dim &dim = abi.args[i].dims[d];
        if (dim.size >= 0 || (dim.arg == -1 && dim.dim == -1))
          continue;
        if (dim.arg < 0 || static_cast<uint32_t>(dim.arg) >= i)
          return corrupt(here, format("dim %u refers to argument %d, which is "
                                      "not an earlier argument",
                                      d, dim.arg));
        size_t srcRank = fn.args[static_cast<size_t>(dim.arg)]->info.rank;
        if (dim.dim < 0 || static_cast<size_t>(dim.dim) >= srcRank)
          return corrupt(here, format("dim %u refers to dim %d of argument "
                                      "%d, which has rank %zu",
                                      d, dim.dim, dim.arg, srcRank));
        arg.sourceArg[d] = dim.arg;
        arg.sourceDim[d] = dim.dim;
      }
      if (arg.hasWeightName)
        ++fn.numWeights;
    }
    for (uint32_t i = 0; i < abi.num_results; ++i) {
      fn.results.push_back(std::make_unique<TensorInfo>());
      TensorInfo &result = *fn.results.back();
      std::string here = where + format("result %u ", i);
      if (tmixrt_status status = copyTensor(abi.results[i], here, result))
        return status;
      here += "('" + result.name + "') ";
      // A dynamic result dim names the argument dim it equals; arg -1 is
      // legal metadata (the function just cannot be called, see invoke).
      for (uint32_t d = 0; d < result.info.rank; ++d) {
        const tmix_abi_dim &dim = abi.results[i].dims[d];
        if (dim.size >= 0 || dim.arg == -1)
          continue;
        if (dim.arg < 0 || static_cast<uint32_t>(dim.arg) >= abi.num_args)
          return corrupt(here, format("dim %u refers to argument %d, but the "
                                      "function has %u argument(s)",
                                      d, dim.arg, abi.num_args));
        size_t argRank = fn.args[static_cast<size_t>(dim.arg)]->info.rank;
        if (dim.dim < 0 || static_cast<size_t>(dim.dim) >= argRank)
          return corrupt(here, format("dim %u refers to dim %d of argument "
                                      "%d, which has rank %zu",
                                      d, dim.dim, dim.arg, argRank));
        result.sourceArg[d] = dim.arg;
        result.sourceDim[d] = dim.dim;
      }
    }
    return nullptr;
  }

private:
  const std::string &path;
};

std::string functionNames(const tmixrt_module &module) {
  std::string names;
  for (const auto &fn : module.functions) {
    if (!names.empty())
      names += ", ";
    names += fn->name;
  }
  return names.empty() ? "(none)" : names;
}

/// At most this many problems are spelled out in a binding's status.
constexpr size_t kMaxListedProblems = 20;

/// "argument 0 ('w') of 'matvec'".
std::string describeArg(const tmixrt_function &fn, size_t index) {
  return format("argument %zu ('%s') of '%s'", index,
                fn.args[index]->name.c_str(), fn.name.c_str());
}

/// Checks `weights` against every weight argument of `module` and builds the
/// binding, or lists every problem in `problems`.
std::shared_ptr<Binding> buildBinding(const tmixrt_module &module,
                                      tmixrt_weights &weights,
                                      std::vector<std::string> &problems,
                                      tmixrt_status &failure) {
  auto binding = std::make_shared<Binding>();
  tmixrt_weights_retain(&weights);
  binding->weights = &weights;
  // One tensor per file entry, shared by all the arguments bound to it.
  std::vector<tmixrt_tensor *> byEntry(weights.tensors.size(), nullptr);
  std::vector<bool> used(weights.tensors.size(), false);
  binding->args.resize(module.functions.size());
  for (const auto &fn : module.functions) {
    std::vector<tmixrt_tensor *> &slots = binding->args[fn->index];
    slots.assign(fn->args.size(), nullptr);
    for (size_t i = 0; i < fn->args.size(); ++i) {
      const TensorInfo &arg = *fn->args[i];
      if (!arg.hasWeightName)
        continue;
      const tmixrt_tensor_info &info = arg.info;
      std::string expected = formatShape(info.shape, info.rank) + " " +
                             tmixrt_dtype_name(info.dtype);
      std::string name = json::quote(arg.weightName);
      auto it = weights.byName.find(arg.weightName);
      if (it == weights.byName.end()) {
        problems.push_back(format("missing tensor %s (%s: %s)", name.c_str(),
                                  describeArg(*fn, i).c_str(),
                                  expected.c_str()));
        continue;
      }
      size_t index = it->second;
      used[index] = true;
      const WeightEntry &entry = *weights.tensors[index];
      std::string found = formatShape(entry.shape.data(), entry.shape.size()) +
                          " " + entry.dtypeName;
      bool dynamic = false;
      for (size_t d = 0; d < info.rank; ++d)
        dynamic |= info.shape[d] < 0;
      if (dynamic) {
        problems.push_back(format(
            "%s is the weight %s but has dynamic shape %s; weight arguments "
            "need static shapes",
            describeArg(*fn, i).c_str(), name.c_str(),
            formatShape(info.shape, info.rank).c_str()));
        continue;
      }
      if (!entry.dtype) {
        problems.push_back(
            format("tensor %s is %s, a dtype tmix does not support (%s: %s)",
                   name.c_str(), found.c_str(), describeArg(*fn, i).c_str(),
                   expected.c_str()));
        continue;
      }
      bool sameShape = entry.shape.size() == info.rank;
      for (size_t d = 0; sameShape && d < info.rank; ++d)
        sameShape = entry.shape[d] == info.shape[d];
      if (entry.dtype != info.dtype || !sameShape) {
        problems.push_back(
            format("tensor %s is %s, but %s is %s (%s differ%s)", name.c_str(),
                   found.c_str(), describeArg(*fn, i).c_str(), expected.c_str(),
                   entry.dtype != info.dtype && !sameShape ? "dtype and shape"
                   : entry.dtype != info.dtype             ? "dtype"
                                                           : "shape",
                   entry.dtype != info.dtype && !sameShape ? "" : "s"));
        continue;
      }
      if (!byEntry[index]) {
        if (tmixrt_status status = tmixrt_tensor_wrap(
                entry.dtype, entry.shape.size(), entry.shape.data(),
                const_cast<void *>(entry.info.data), &byEntry[index])) {
          failure = status;
          break;
        }
        binding->tensors.push_back(byEntry[index]);
      }
      slots[i] = byEntry[index];
    }
    if (failure)
      break;
  }
  for (size_t i = 0; !failure && i < weights.tensors.size(); ++i) {
    if (used[i])
      continue;
    const WeightEntry &entry = *weights.tensors[i];
    problems.push_back(
        format("unused tensor %s (%s %s): no weight argument of the module has "
               "this name",
               json::quote(entry.name).c_str(),
               formatShape(entry.shape.data(), entry.shape.size()).c_str(),
               entry.dtypeName.c_str()));
  }
  return binding;
}

void appendTensor(std::string &out, const tmixrt_tensor_info &info) {
  out += info.name;
  out += ": ";
  out += formatShape(info.shape, info.rank);
  out += " ";
  out += tmixrt_dtype_name(info.dtype);
}

} // namespace

Binding::~Binding() {
  for (tmixrt_tensor *tensor : tensors)
    tmixrt_tensor_release(tensor);
  tmixrt_weights_release(weights);
}

std::shared_ptr<const Binding> tmixrt::currentBinding(tmixrt_module &module) {
  std::lock_guard<std::mutex> lock(module.bindingMutex);
  return module.binding;
}

extern "C" {

void tmixrt_module_options_init(tmixrt_module_options *options) {
  if (options)
    *options = tmixrt_module_options{/*num_threads=*/0};
}

tmixrt_status tmixrt_module_load(const char *path,
                                 const tmixrt_module_options *options,
                                 tmixrt_module **out) {
  if (!out)
    return makeStatus(TMIXRT_INVALID_ARGUMENT,
                      "tmixrt_module_load: 'out' is null");
  *out = nullptr;
  if (!path || !*path)
    return makeStatus(TMIXRT_INVALID_ARGUMENT,
                      "tmixrt_module_load: the path is %s",
                      path ? "empty" : "null");
  tmixrt_module_options defaults;
  tmixrt_module_options_init(&defaults);
  if (!options)
    options = &defaults;

  struct stat info;
  if (stat(path, &info) != 0) {
    int error = errno;
    return makeStatus(error == ENOENT || error == ENOTDIR
                          ? TMIXRT_NOT_FOUND
                          : TMIXRT_INVALID_ARGUMENT,
                      "cannot load '%s': %s", path, std::strerror(error));
  }
  if (S_ISDIR(info.st_mode))
    return makeStatus(TMIXRT_INVALID_ARGUMENT,
                      "cannot load '%s': it is a directory", path);

  auto module =
      std::unique_ptr<tmixrt_module>(new (std::nothrow) tmixrt_module);
  if (!module)
    return makeStatus(TMIXRT_OUT_OF_MEMORY, "cannot allocate a module");
  module->path = path;
  // dlopen searches the library path for a name without a slash; the caller
  // means the file.
  std::string openPath = module->path;
  if (openPath.find('/') == std::string::npos)
    openPath = "./" + openPath;
  dlerror();
  void *handle = dlopen(openPath.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char *error = dlerror();
    return makeStatus(TMIXRT_INVALID_ARGUMENT,
                      "cannot load '%s' as a shared library: %s", path,
                      error ? error : "unknown dlopen error");
  }
  // From here on, failures unload the library.
  struct Closer {
    void *&handle;
    ~Closer() {
      if (handle)
        dlclose(handle);
    }
  } closer{handle};

  void *symbol = dlsym(handle, TMIX_ABI_MODULE_SYMBOL);
  if (!symbol)
    return makeStatus(TMIXRT_INVALID_ARGUMENT,
                      "'%s' is not a tmix artifact: it does not export '%s'",
                      path, TMIX_ABI_MODULE_SYMBOL);
  auto getModule = reinterpret_cast<tmix_abi_module_fn>(symbol);
  const tmix_abi_module *abi = getModule();
  if (!abi)
    return makeStatus(TMIXRT_INVALID_ARGUMENT,
                      "'%s' is not a tmix artifact: '%s' returned null", path,
                      TMIX_ABI_MODULE_SYMBOL);
  if (abi->magic != TMIX_ABI_MAGIC)
    return makeStatus(TMIXRT_INVALID_ARGUMENT,
                      "'%s' is not a tmix artifact: its magic number is "
                      "0x%08X, expected 0x%08X (\"TMX1\")",
                      path, abi->magic, TMIX_ABI_MAGIC);
  if (abi->version != TMIX_ABI_VERSION)
    return makeStatus(TMIXRT_FAILED_PRECONDITION,
                      "'%s' was built for tmix ABI version %u, but this "
                      "libtmixrt supports version %u; rebuild the artifact "
                      "with a matching tmix-compile",
                      path, abi->version, TMIX_ABI_VERSION);

  Validator validator(module->path);
  if (abi->producer) {
    if (tmixrt_status status = validator.checkName(
            abi->producer, "", "the producer string", module->producer))
      return status;
  }
  if (abi->num_functions > kMaxFunctions)
    return validator.corrupt(
        "", format("it claims %u functions", abi->num_functions));
  if (abi->num_functions && !abi->functions)
    return validator.corrupt("", format("it has %u functions but no function "
                                        "list",
                                        abi->num_functions));
  for (uint32_t i = 0; i < abi->num_functions; ++i) {
    auto fn =
        std::unique_ptr<tmixrt_function>(new (std::nothrow) tmixrt_function);
    if (!fn)
      return makeStatus(TMIXRT_OUT_OF_MEMORY, "cannot allocate a function");
    if (tmixrt_status status =
            validator.copyFunction(abi->functions[i], i, *fn))
      return status;
    // A CPU+CUDA artifact has one function of each name per device.
    for (const auto &other : module->functions)
      if (other->name == fn->name && other->device == fn->device)
        return validator.corrupt(
            "", format("two functions are named '%s' on %s", fn->name.c_str(),
                       tmixrt_device_name(fn->device)));
    fn->module = module.get();
    fn->index = module->functions.size();
    module->functions.push_back(std::move(fn));
  }
  module->setNumThreads = abi->set_num_threads;
  if (options->num_threads != 0 && module->setNumThreads)
    module->setNumThreads(options->num_threads);

  module->handle = handle;
  handle = nullptr; // the module owns it now
  *out = module.release();
  return nullptr;
}

void tmixrt_module_retain(tmixrt_module *module) {
  if (module)
    module->refs.fetch_add(1, std::memory_order_relaxed);
}

void tmixrt_module_release(tmixrt_module *module) {
  if (!module || module->refs.fetch_sub(1, std::memory_order_acq_rel) != 1)
    return;
  void *handle = module->handle;
  delete module;
  if (handle)
    dlclose(handle);
}

const char *tmixrt_module_path(const tmixrt_module *module) {
  return module ? module->path.c_str() : "";
}

const char *tmixrt_module_producer(const tmixrt_module *module) {
  return module ? module->producer.c_str() : "";
}

tmixrt_status tmixrt_module_set_num_threads(tmixrt_module *module,
                                            int32_t num_threads) {
  if (!module)
    return makeStatus(TMIXRT_INVALID_ARGUMENT,
                      "tmixrt_module_set_num_threads: the module is null");
  if (module->setNumThreads)
    module->setNumThreads(num_threads);
  return nullptr;
}

int tmixrt_module_is_multithreaded(const tmixrt_module *module) {
  return module && module->setNumThreads ? 1 : 0;
}

size_t tmixrt_module_function_count(const tmixrt_module *module) {
  return module ? module->functions.size() : 0;
}

const tmixrt_function *tmixrt_module_function_at(const tmixrt_module *module,
                                                 size_t index) {
  if (!module || index >= module->functions.size())
    return nullptr;
  return module->functions[index].get();
}

namespace {
/// Not a tmixrt_device value: any device.
constexpr int kAnyDevice = INT_MIN;

/// tmixrt_module_lookup (`device` kAnyDevice: the first function of the
/// name) and tmixrt_module_lookup_device.
tmixrt_status lookupFunction(const char *api, const tmixrt_module *module,
                             const char *name, int device,
                             const tmixrt_function **out) {
  if (!out)
    return makeStatus(TMIXRT_INVALID_ARGUMENT, "%s: 'out' is null", api);
  *out = nullptr;
  if (!module || !name)
    return makeStatus(TMIXRT_INVALID_ARGUMENT, "%s: the %s is null", api,
                      module ? "name" : "module");
  bool anyDevice = device == kAnyDevice;
  if (!anyDevice && device != TMIXRT_DEVICE_CPU && device != TMIXRT_DEVICE_CUDA)
    return makeStatus(TMIXRT_INVALID_ARGUMENT, "%s: unknown device %d", api,
                      device);
  const char *wanted = tmixrt_device_name(static_cast<tmixrt_device>(device));
  std::string elsewhere;
  for (const auto &fn : module->functions) {
    if (fn->name != name)
      continue;
    if (anyDevice || fn->device == device) {
      *out = fn.get();
      return nullptr;
    }
    elsewhere += elsewhere.empty() ? "" : ", ";
    elsewhere += tmixrt_device_name(fn->device);
  }
  if (!elsewhere.empty())
    return makeStatus(TMIXRT_NOT_FOUND,
                      "'%s' in '%s' is compiled for %s, not for %s (compile "
                      "with tmix-compile --target=%s)",
                      name, module->path.c_str(), elsewhere.c_str(), wanted,
                      wanted);
  return makeStatus(TMIXRT_NOT_FOUND,
                    "no function named '%s' in '%s'; available: %s", name,
                    module->path.c_str(), functionNames(*module).c_str());
}
} // namespace

tmixrt_status tmixrt_module_lookup(const tmixrt_module *module,
                                   const char *name,
                                   const tmixrt_function **out) {
  return lookupFunction("tmixrt_module_lookup", module, name, kAnyDevice, out);
}

tmixrt_status tmixrt_module_lookup_device(const tmixrt_module *module,
                                          const char *name,
                                          tmixrt_device device,
                                          const tmixrt_function **out) {
  return lookupFunction("tmixrt_module_lookup_device", module, name,
                        static_cast<int>(device), out);
}

const char *tmixrt_function_name(const tmixrt_function *fn) {
  return fn ? fn->name.c_str() : "";
}

tmixrt_device tmixrt_function_device(const tmixrt_function *fn) {
  return fn ? fn->device : static_cast<tmixrt_device>(0);
}

size_t tmixrt_function_num_args(const tmixrt_function *fn) {
  return fn ? fn->args.size() : 0;
}

size_t tmixrt_function_num_results(const tmixrt_function *fn) {
  return fn ? fn->results.size() : 0;
}

const tmixrt_tensor_info *tmixrt_function_arg(const tmixrt_function *fn,
                                              size_t index) {
  if (!fn || index >= fn->args.size())
    return nullptr;
  return &fn->args[index]->info;
}

const tmixrt_tensor_info *tmixrt_function_result(const tmixrt_function *fn,
                                                 size_t index) {
  if (!fn || index >= fn->results.size())
    return nullptr;
  return &fn->results[index]->info;
}

size_t tmixrt_function_format_signature(const tmixrt_function *fn, char *buffer,
                                        size_t capacity) {
  std::string text;
  if (fn) {
    text = fn->name + "(";
    for (size_t i = 0; i < fn->args.size(); ++i) {
      if (i)
        text += ", ";
      appendTensor(text, fn->args[i]->info);
    }
    text += ") -> (";
    for (size_t i = 0; i < fn->results.size(); ++i) {
      if (i)
        text += ", ";
      appendTensor(text, fn->results[i]->info);
    }
    text += ")";
  }
  if (buffer && capacity) {
    size_t n = text.size() < capacity - 1 ? text.size() : capacity - 1;
    std::memcpy(buffer, text.data(), n);
    buffer[n] = '\0';
  }
  return text.size();
}

size_t tmixrt_function_num_weights(const tmixrt_function *fn) {
  return fn ? fn->numWeights : 0;
}

tmixrt_status tmixrt_module_bind_weights(tmixrt_module *module,
                                         tmixrt_weights *weights) {
  if (!module)
    return makeStatus(TMIXRT_INVALID_ARGUMENT,
                      "tmixrt_module_bind_weights: the module is null");
  std::shared_ptr<const Binding> binding;
  if (weights) {
    std::vector<std::string> problems;
    tmixrt_status failure = nullptr;
    std::shared_ptr<Binding> built =
        buildBinding(*module, *weights, problems, failure);
    if (failure)
      return failure;
    if (!problems.empty()) {
      std::string list;
      size_t shown = std::min(problems.size(), kMaxListedProblems);
      for (size_t i = 0; i < shown; ++i)
        list += (i ? "; " : "") + problems[i];
      if (shown < problems.size())
        list += format("; ... and %zu more", problems.size() - shown);
      return makeStatus(TMIXRT_INVALID_ARGUMENT,
                        "cannot bind '%s' to '%s': %zu problem(s): %s",
                        weights->path.c_str(), module->path.c_str(),
                        problems.size(), list.c_str());
    }
    binding = std::move(built);
  }
  // Swap under the lock; the old binding is released outside it (its last
  // user may be a call still running).
  {
    std::lock_guard<std::mutex> lock(module->bindingMutex);
    module->binding.swap(binding);
  }
  return nullptr;
}

tmixrt_weights *tmixrt_module_bound_weights(tmixrt_module *module) {
  if (!module)
    return nullptr;
  std::shared_ptr<const Binding> binding = currentBinding(*module);
  if (!binding)
    return nullptr;
  tmixrt_weights_retain(binding->weights);
  return binding->weights;
}

} // extern "C"
