//===- tmix-run.cpp - run a function of a compiled tmix artifact ----------===//
//
//   tmix-run lib.so [--function=NAME] --input=a.npy ... [--output=o.npy ...]
//   tmix-run lib.so --random-inputs [--shape=ARG=1x8x128x64 ...] [--seed=N]
//   tmix-run lib.so --weights=model.safetensors --input=image.npy
//   tmix-run lib.so --list [--weights=model.safetensors]
//   tmix-run lib.so --device=cuda[:N] --function=NAME --input=a.npy ...
//
// Loads the artifact with libtmixrt, optionally binds a weight file to it,
// reads the (non-weight) arguments from .npy files (or makes seeded random
// ones), calls the function, prints a summary of every result and optionally
// writes them to .npy files and times repeated calls. With --device=cuda the
// inputs (and bound weights) are copied to the GPU, the CUDA function runs
// there and its results are copied back before anything is printed.
// Every error is one line on stderr and exit code 1. Links only libtmixrt
// and tmixrt_npy, never LLVM or MLIR.
//
//===----------------------------------------------------------------------===//

#include "tmixrt/npy.h"
#include "tmixrt/tmixrt.h"
#include "tmixrt/tmixrt_cuda.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

namespace {

const char kUsage[] =
    "usage: tmix-run ARTIFACT.so [options]\n"
    "\n"
    "Runs a function of a compiled tmix artifact.\n"
    "\n"
    "  --list                 print the artifact's functions and signatures\n"
    "                         (with --weights: also check and bind the file)\n"
    "  --function=NAME        the function to run (may be omitted when the\n"
    "                         artifact has exactly one)\n"
    "  --device=DEVICE        where the function runs: cpu (the default) for\n"
    "                         CPU functions, cuda or cuda:N (CUDA device N,\n"
    "                         default 0) for CUDA functions; inputs and\n"
    "                         bound weights are copied to the device and\n"
    "                         results back (with --list: also describe the\n"
    "                         device)\n"
    "  --weights=FILE.safetensors\n"
    "                         bind a weight file to the artifact before the\n"
    "                         call: every weight argument of every function\n"
    "                         takes its tensor from it (names, dtypes and\n"
    "                         shapes must all match); --input and\n"
    "                         --random-inputs then give only the non-weight\n"
    "                         arguments\n"
    "  --input=FILE.npy       one per argument (with --weights: one per\n"
    "                         non-weight argument), in argument order;\n"
    "                         dynamic sizes are taken from the files. f32\n"
    "                         files are converted for bf16 arguments\n"
    "  --random-inputs        fill every argument (with --weights: every\n"
    "                         non-weight argument) with uniform(-1, 1) values\n"
    "                         (integers: uniform in [0, 16)) instead\n"
    "  --shape=ARG=DxDx...    with --random-inputs: the concrete shape of\n"
    "                         argument ARG (its name or index), required when\n"
    "                         it has dynamic dimensions; e.g. "
    "--shape=key=1x2x128x64\n"
    "  --seed=N               seed of --random-inputs (default 0)\n"
    "  --output=FILE.npy      write results, one per result, in order (bf16\n"
    "                         results are written as f32)\n"
    "  --threads=T            threads the artifact may use (<= 0: all cores)\n"
    "  --top=K                also print the K largest values of each\n"
    "                         result with their (flat) indices, e.g. the\n"
    "                         top-5 classes of a classifier's logits\n"
    "  --benchmark=N          one warm-up call, then N timed calls; prints\n"
    "                         the median and minimum time per call\n"
    "  --help                 print this help\n"
    "\n"
    "Options taking a value accept both --opt=VALUE and --opt VALUE.\n";

[[noreturn]] void fail(const std::string &message) {
  std::fprintf(stderr, "tmix-run: error: %s\n", message.c_str());
  std::exit(1);
}

/// Fails with the status' message (and frees it) unless it is OK.
void check(tmixrt_status status) {
  if (!status)
    return;
  std::string message = tmixrt_status_message(status);
  tmixrt_status_free(status);
  fail(message);
}

/// An owning tensor reference.
class Tensor {
public:
  Tensor() = default;
  explicit Tensor(tmixrt_tensor *tensor) : tensor(tensor) {}
  Tensor(Tensor &&other) noexcept : tensor(other.tensor) {
    other.tensor = nullptr;
  }
  Tensor &operator=(Tensor &&other) noexcept {
    std::swap(tensor, other.tensor);
    return *this;
  }
  Tensor(const Tensor &) = delete;
  Tensor &operator=(const Tensor &) = delete;
  ~Tensor() { tmixrt_tensor_release(tensor); }

  tmixrt_tensor *get() const { return tensor; }
  tmixrt_tensor **out() {
    tmixrt_tensor_release(tensor);
    tensor = nullptr;
    return &tensor;
  }

private:
  tmixrt_tensor *tensor = nullptr;
};

struct Options {
  std::string artifact;
  std::string function;
  std::string weights;
  std::vector<std::string> inputs;
  std::vector<std::string> outputs;
  std::vector<std::string> shapes;
  bool list = false;
  bool randomInputs = false;
  uint64_t seed = 0;
  bool haveThreads = false;
  int32_t threads = 0;
  int64_t benchmark = 0;
  int64_t top = 0;
  /// --device: the text as given ("cpu" when absent), and for cuda[:N]
  /// the device number.
  std::string device = "cpu";
  bool cuda = false;
  int32_t cudaDevice = 0;
};

bool parseInt(const std::string &text, int64_t min, int64_t max,
              int64_t &value) {
  if (text.empty())
    return false;
  errno = 0;
  char *end = nullptr;
  long long parsed = std::strtoll(text.c_str(), &end, 10);
  if (errno || *end || parsed < min || parsed > max)
    return false;
  value = parsed;
  return true;
}

/// Parses the value of --device: cpu, cuda or cuda:N.
void parseDevice(const std::string &text, Options &options) {
  options.device = text;
  options.cuda = text != "cpu";
  if (text == "cpu" || text == "cuda")
    return;
  std::string number = text.compare(0, 5, "cuda:") == 0 ? text.substr(5) : "";
  int64_t device = 0;
  if (number.empty() ||
      number.find_first_not_of("0123456789") != std::string::npos ||
      !parseInt(number, 0, INT32_MAX, device))
    fail("--device needs cpu, cuda or cuda:N (N: a CUDA device number, 0 "
         "for the first), got '" +
         text + "'");
  options.cudaDevice = static_cast<int32_t>(device);
}

Options parseOptions(int argc, char **argv) {
  Options options;
  bool haveSeed = false, haveBenchmark = false, haveDevice = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage, stdout);
      std::exit(0);
    }
    if (arg.size() < 2 || arg.compare(0, 2, "--") != 0 || arg == "--") {
      if (!arg.empty() && arg[0] == '-')
        fail("unknown option '" + arg + "' (see --help)");
      if (!options.artifact.empty())
        fail("more than one artifact given: '" + options.artifact + "' and '" +
             arg + "'");
      options.artifact = arg;
      continue;
    }
    std::string name = arg, value;
    bool haveValue = false;
    size_t eq = arg.find('=');
    if (eq != std::string::npos) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
      haveValue = true;
    }
    auto flag = [&] {
      if (haveValue)
        fail("option '" + name + "' takes no value");
    };
    auto takeValue = [&]() -> std::string {
      if (!haveValue) {
        if (i + 1 >= argc)
          fail("option '" + name + "' needs a value");
        value = argv[++i];
      }
      return value;
    };
    if (name == "--list") {
      flag();
      options.list = true;
    } else if (name == "--random-inputs") {
      flag();
      options.randomInputs = true;
    } else if (name == "--function") {
      options.function = takeValue();
      if (options.function.empty())
        fail("--function needs a name");
    } else if (name == "--weights") {
      if (!options.weights.empty())
        fail("--weights given twice");
      options.weights = takeValue();
      if (options.weights.empty())
        fail("--weights needs a file");
    } else if (name == "--device") {
      if (haveDevice)
        fail("--device given twice");
      haveDevice = true;
      parseDevice(takeValue(), options);
    } else if (name == "--input") {
      options.inputs.push_back(takeValue());
    } else if (name == "--output") {
      options.outputs.push_back(takeValue());
    } else if (name == "--shape") {
      options.shapes.push_back(takeValue());
    } else if (name == "--seed") {
      int64_t seed = 0;
      if (!parseInt(takeValue(), 0, INT64_MAX, seed))
        fail("--seed needs a non-negative integer, got '" + value + "'");
      options.seed = static_cast<uint64_t>(seed);
      haveSeed = true;
    } else if (name == "--threads") {
      int64_t threads = 0;
      if (!parseInt(takeValue(), INT32_MIN, INT32_MAX, threads))
        fail("--threads needs an integer, got '" + value + "'");
      options.threads = static_cast<int32_t>(threads);
      options.haveThreads = true;
    } else if (name == "--top") {
      if (!parseInt(takeValue(), 1, 1000000, options.top))
        fail("--top needs a positive count, got '" + value + "'");
    } else if (name == "--benchmark") {
      if (!parseInt(takeValue(), 1, 1000000000, options.benchmark))
        fail("--benchmark needs a positive number of calls, got '" + value +
             "'");
      haveBenchmark = true;
    } else {
      fail("unknown option '" + name + "' (see --help)");
    }
  }
  if (options.artifact.empty())
    fail("no artifact given (see --help)");
  if (options.randomInputs && !options.inputs.empty())
    fail("--random-inputs and --input exclude each other");
  if (!options.randomInputs && !options.shapes.empty())
    fail("--shape only applies to --random-inputs");
  if (!options.randomInputs && haveSeed)
    fail("--seed only applies to --random-inputs");
  if (options.list && (!options.inputs.empty() || options.randomInputs ||
                       !options.outputs.empty() || haveBenchmark))
    fail("--list does not run anything; drop the other options");
  return options;
}

std::string shapeString(const int64_t *shape, size_t rank) {
  std::string text = "[";
  for (size_t i = 0; i < rank; ++i) {
    if (i)
      text += ", ";
    text += shape[i] < 0 ? std::string("?") : std::to_string(shape[i]);
  }
  return text + "]";
}

std::string describe(const tmixrt_function *fn, const char *kind, size_t index,
                     const tmixrt_tensor_info *info) {
  return std::string(kind) + " " + std::to_string(index) + " ('" + info->name +
         "') of '" + tmixrt_function_name(fn) + "'";
}

void listFunctions(const tmixrt_module *module) {
  size_t count = tmixrt_module_function_count(module);
  const char *producer = tmixrt_module_producer(module);
  std::printf("%s: %zu function(s)%s%s%s\n", tmixrt_module_path(module), count,
              *producer ? ", produced by " : "", producer,
              tmixrt_module_is_multithreaded(module) ? ", multithreaded" : "");
  for (size_t f = 0; f < count; ++f) {
    const tmixrt_function *fn = tmixrt_module_function_at(module, f);
    size_t length = tmixrt_function_format_signature(fn, nullptr, 0);
    std::string signature(length + 1, '\0');
    tmixrt_function_format_signature(fn, &signature[0], signature.size());
    signature.resize(length);
    std::printf("%s [%s]\n", signature.c_str(),
                tmixrt_device_name(tmixrt_function_device(fn)));
    size_t numArgs = tmixrt_function_num_args(fn);
    size_t numWeights = tmixrt_function_num_weights(fn);
    if (numWeights) {
      std::string inputs;
      for (size_t i = 0; i < numArgs; ++i) {
        const tmixrt_tensor_info *arg = tmixrt_function_arg(fn, i);
        if (!arg->weight_name)
          inputs += (inputs.empty() ? "" : ", ") + std::string(arg->name);
      }
      std::printf("  %zu of %zu arguments are weights; the others: %s\n",
                  numWeights, numArgs,
                  inputs.empty() ? "none" : inputs.c_str());
    }
    for (size_t i = 0; i < numArgs; ++i) {
      const tmixrt_tensor_info *arg = tmixrt_function_arg(fn, i);
      if (arg->weight_name)
        std::printf("  %s: weight '%s'\n", arg->name, arg->weight_name);
    }
    for (size_t i = 0; i < tmixrt_function_num_results(fn); ++i) {
      const tmixrt_tensor_info *result = tmixrt_function_result(fn, i);
      for (size_t d = 0; d < result->rank; ++d) {
        if (result->shape[d] >= 0)
          continue;
        if (result->source_arg[d] < 0) {
          std::printf("  %s dim %zu: not derived from an argument\n",
                      result->name, d);
          continue;
        }
        const tmixrt_tensor_info *arg =
            tmixrt_function_arg(fn, static_cast<size_t>(result->source_arg[d]));
        std::printf("  %s dim %zu = %s dim %d\n", result->name, d, arg->name,
                    result->source_dim[d]);
      }
    }
  }
}

/// The function to run: --function's (or the artifact's only one), compiled
/// for the device of --device when the artifact has it for several devices
/// (tmix-compile --target=cpu,cuda).
const tmixrt_function *pickFunction(const tmixrt_module *module,
                                    std::string name, bool cuda) {
  size_t count = tmixrt_module_function_count(module);
  if (name.empty()) {
    std::vector<std::string> names;
    for (size_t i = 0; i < count; ++i) {
      std::string n = tmixrt_function_name(tmixrt_module_function_at(module, i));
      if (std::find(names.begin(), names.end(), n) == names.end())
        names.push_back(n);
    }
    if (names.size() != 1) {
      std::string list;
      for (const std::string &n : names)
        list += (list.empty() ? "" : ", ") + n;
      fail("'" + std::string(tmixrt_module_path(module)) + "' has " +
           std::to_string(names.size()) +
           " functions; choose one with --function (" +
           (list.empty() ? "none" : list) + ")");
    }
    name = names.front();
  }
  const tmixrt_function *fn = nullptr;
  tmixrt_status status = tmixrt_module_lookup_device(
      module, name.c_str(), cuda ? TMIXRT_DEVICE_CUDA : TMIXRT_DEVICE_CPU, &fn);
  if (!status)
    return fn;
  tmixrt_status_free(status);
  // Not compiled for that device: checkFunctionDevice says so.
  check(tmixrt_module_lookup(module, name.c_str(), &fn));
  return fn;
}

//===----------------------------------------------------------------------===//
// Devices
//===----------------------------------------------------------------------===//

/// Loads the CUDA driver, checks that device `options.cudaDevice` exists,
/// makes it the current device and prints a line describing it.
void selectCudaDevice(const Options &options) {
  std::string what = "--device=" + options.device;
  tmixrt_status status = tmixrt_cuda_init();
  if (status) {
    std::string message = tmixrt_status_message(status);
    tmixrt_status_free(status);
    fail(what + ": " + message);
  }
  int32_t count = 0;
  check(tmixrt_cuda_device_count(&count));
  int32_t device = options.cudaDevice;
  if (device >= count)
    fail(what + ": there is no CUDA device " + std::to_string(device) +
         "; the driver reports " + std::to_string(count) + " device(s) (" +
         (count == 1 ? std::string("cuda:0")
                     : "cuda:0 .. cuda:" + std::to_string(count - 1)) +
         ")");
  check(tmixrt_cuda_set_device(device));
  tmixrt_cuda_device_properties properties;
  check(tmixrt_cuda_device_properties_get(device, &properties));
  int32_t version = 0;
  check(tmixrt_cuda_driver_version(&version));
  std::printf("device: cuda:%d: %s, sm_%d%d, %llu MiB", device, properties.name,
              properties.compute_capability_major,
              properties.compute_capability_minor,
              static_cast<unsigned long long>(properties.total_memory >> 20));
  if (version > 0)
    std::printf(", CUDA driver %d.%d", version / 1000, version % 1000 / 10);
  std::printf("\n");
}

/// Fails unless `fn` runs on the device --device chose.
void checkFunctionDevice(const tmixrt_function *fn, const Options &options) {
  std::string name = tmixrt_function_name(fn);
  bool cudaFunction = tmixrt_function_device(fn) == TMIXRT_DEVICE_CUDA;
  if (cudaFunction && !options.cuda)
    fail("'" + name +
         "' runs on CUDA; pass --device=cuda (or --device=cuda:N for CUDA "
         "device N) to run it");
  if (!cudaFunction && options.cuda)
    fail("'" + name + "' runs on the CPU, not on CUDA; drop --device=" +
         options.device + " (or pass --device=cpu) to run it");
}

//===----------------------------------------------------------------------===//
// Element conversions
//===----------------------------------------------------------------------===//

uint32_t floatBits(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof(bits));
  return bits;
}

float bitsFloat(uint32_t bits) {
  float value;
  std::memcpy(&value, &bits, sizeof(value));
  return value;
}

float halfToFloat(uint16_t h) {
  uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
  uint32_t exponent = (h >> 10) & 0x1f;
  uint32_t mantissa = h & 0x3ff;
  if (exponent == 0x1f)
    return bitsFloat(sign | 0x7f800000 | (mantissa << 13));
  if (exponent == 0) {
    // Zero or subnormal: mantissa * 2^-24.
    float value = std::ldexp(static_cast<float>(mantissa), -24);
    return sign ? -value : value;
  }
  return bitsFloat(sign | ((exponent + 112) << 23) | (mantissa << 13));
}

uint16_t floatToHalf(float value) {
  uint32_t bits = floatBits(value);
  uint16_t sign = static_cast<uint16_t>((bits >> 16) & 0x8000);
  uint32_t abs = bits & 0x7fffffff;
  if (abs >= 0x7f800000) // inf or nan
    return sign | 0x7c00 | (abs > 0x7f800000 ? 0x200 : 0);
  if (abs >= 0x477ff000) // rounds to >= 65520: inf
    return sign | 0x7c00;
  if (abs < 0x38800000) { // subnormal half (or zero)
    float scaled = std::ldexp(bitsFloat(abs), 24);
    return sign | static_cast<uint16_t>(std::nearbyint(scaled));
  }
  // Normal: rebias the exponent, round the mantissa to nearest even.
  uint32_t rounded = abs + 0xfff + ((abs >> 13) & 1);
  return sign | static_cast<uint16_t>((rounded - 0x38000000) >> 13);
}

float bf16ToFloat(uint16_t b) {
  return bitsFloat(static_cast<uint32_t>(b) << 16);
}

uint16_t floatToBf16(float value) {
  uint32_t bits = floatBits(value);
  if ((bits & 0x7fffffff) > 0x7f800000)
    return static_cast<uint16_t>((bits >> 16) | 0x40); // quiet nan
  return static_cast<uint16_t>((bits + 0x7fff + ((bits >> 16) & 1)) >> 16);
}

/// Element `i` of `tensor` as a double.
double element(const tmixrt_tensor *tensor, size_t i) {
  const void *data = tmixrt_tensor_data(tensor);
  switch (tmixrt_tensor_dtype(tensor)) {
  case TMIXRT_F32:
    return static_cast<const float *>(data)[i];
  case TMIXRT_F16:
    return halfToFloat(static_cast<const uint16_t *>(data)[i]);
  case TMIXRT_BF16:
    return bf16ToFloat(static_cast<const uint16_t *>(data)[i]);
  case TMIXRT_I32:
    return static_cast<const int32_t *>(data)[i];
  case TMIXRT_I64:
    return static_cast<double>(static_cast<const int64_t *>(data)[i]);
  default:
    break;
  }
  return 0;
}

/// A new tensor of `dtype` with `source`'s shape and converted values.
Tensor convert(const tmixrt_tensor *source, tmixrt_dtype dtype) {
  Tensor result;
  check(tmixrt_tensor_create(dtype, tmixrt_tensor_rank(source),
                             tmixrt_tensor_shape(source), result.out()));
  void *data = tmixrt_tensor_data(result.get());
  for (size_t i = 0, e = tmixrt_tensor_element_count(source); i < e; ++i) {
    float value = static_cast<float>(element(source, i));
    if (dtype == TMIXRT_BF16)
      static_cast<uint16_t *>(data)[i] = floatToBf16(value);
    else
      static_cast<float *>(data)[i] = value;
  }
  return result;
}

//===----------------------------------------------------------------------===//
// Inputs
//===----------------------------------------------------------------------===//

/// splitmix64: a small generator whose sequence is the same everywhere.
class Random {
public:
  explicit Random(uint64_t seed) : state(seed) {}
  uint64_t next() {
    uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  /// Uniform in [-1, 1).
  float uniform() {
    return static_cast<float>(next() >> 40) * (1.0f / 16777216.0f) * 2.0f -
           1.0f;
  }

private:
  uint64_t state;
};

/// True for the arguments the inputs give: every argument, or with
/// --weights only the non-weight ones.
bool isInput(const tmixrt_function *fn, size_t index, bool weightsBound) {
  return !weightsBound || !tmixrt_function_arg(fn, index)->weight_name;
}

/// Parses "ARG=DxDx..." into the argument's index and the sizes.
void parseShapeOption(const tmixrt_function *fn, const std::string &text,
                      size_t &argIndex, std::vector<int64_t> &shape) {
  size_t eq = text.rfind('=');
  if (eq == std::string::npos || eq == 0)
    fail("--shape=" + text + ": expected ARG=DxDx... (e.g. x=1x8x128x64)");
  std::string name = text.substr(0, eq), sizes = text.substr(eq + 1);
  size_t numArgs = tmixrt_function_num_args(fn);
  argIndex = numArgs;
  for (size_t i = 0; i < numArgs; ++i)
    if (name == tmixrt_function_arg(fn, i)->name)
      argIndex = i;
  int64_t index = 0;
  if (argIndex == numArgs && parseInt(name, 0, INT64_MAX, index) &&
      static_cast<uint64_t>(index) < numArgs)
    argIndex = static_cast<size_t>(index);
  if (argIndex == numArgs) {
    std::string names;
    for (size_t i = 0; i < numArgs; ++i)
      names += (i ? ", " : "") + std::string(tmixrt_function_arg(fn, i)->name);
    fail("--shape=" + text + ": '" + tmixrt_function_name(fn) +
         "' has no argument '" + name +
         "' (arguments: " + (names.empty() ? "none" : names) + ")");
  }
  shape.clear();
  if (sizes.empty())
    return; // a scalar
  size_t start = 0;
  while (true) {
    size_t x = sizes.find('x', start);
    std::string part = sizes.substr(
        start, x == std::string::npos ? std::string::npos : x - start);
    int64_t size = 0;
    if (!parseInt(part, 0, INT64_MAX, size))
      fail("--shape=" + text + ": '" + part + "' is not a size");
    shape.push_back(size);
    if (x == std::string::npos)
      break;
    start = x + 1;
  }
}

std::vector<Tensor> randomInputs(const tmixrt_function *fn,
                                 const Options &options) {
  size_t numArgs = tmixrt_function_num_args(fn);
  bool weightsBound = !options.weights.empty();
  std::vector<std::vector<int64_t>> given(numArgs);
  std::vector<bool> haveShape(numArgs, false);
  for (const std::string &text : options.shapes) {
    size_t index = 0;
    std::vector<int64_t> shape;
    parseShapeOption(fn, text, index, shape);
    if (!isInput(fn, index, weightsBound))
      fail("--shape=" + text + ": " +
           describe(fn, "argument", index, tmixrt_function_arg(fn, index)) +
           " is the weight '" + tmixrt_function_arg(fn, index)->weight_name +
           "', which comes from --weights");
    if (haveShape[index])
      fail("--shape given twice for " +
           describe(fn, "argument", index, tmixrt_function_arg(fn, index)));
    haveShape[index] = true;
    given[index] = shape;
  }
  Random random(options.seed);
  std::vector<Tensor> inputs;
  for (size_t i = 0; i < numArgs; ++i) {
    if (!isInput(fn, i, weightsBound))
      continue; // never fill a weight from the generator
    const tmixrt_tensor_info *info = tmixrt_function_arg(fn, i);
    std::string expected = shapeString(info->shape, info->rank);
    std::vector<int64_t> shape(info->shape, info->shape + info->rank);
    if (haveShape[i]) {
      bool ok = given[i].size() == info->rank;
      for (size_t d = 0; ok && d < info->rank; ++d)
        ok = info->shape[d] < 0 || info->shape[d] == given[i][d];
      if (!ok)
        fail("--shape for " + describe(fn, "argument", i, info) + " is " +
             shapeString(given[i].data(), given[i].size()) +
             ", which does not match its shape " + expected);
      shape = given[i];
    } else if (std::any_of(shape.begin(), shape.end(),
                           [](int64_t s) { return s < 0; })) {
      std::string example;
      for (size_t d = 0; d < info->rank; ++d)
        example += (d ? "x" : "") + (info->shape[d] < 0
                                         ? std::string("N")
                                         : std::to_string(info->shape[d]));
      fail(describe(fn, "argument", i, info) + " has dynamic shape " +
           expected + "; give its sizes with --shape=" + info->name + "=" +
           example);
    }
    Tensor tensor;
    check(tmixrt_tensor_create(info->dtype, shape.size(), shape.data(),
                               tensor.out()));
    void *data = tmixrt_tensor_data(tensor.get());
    for (size_t e = 0, n = tmixrt_tensor_element_count(tensor.get()); e < n;
         ++e) {
      switch (info->dtype) {
      case TMIXRT_F32:
        static_cast<float *>(data)[e] = random.uniform();
        break;
      case TMIXRT_F16:
        static_cast<uint16_t *>(data)[e] = floatToHalf(random.uniform());
        break;
      case TMIXRT_BF16:
        static_cast<uint16_t *>(data)[e] = floatToBf16(random.uniform());
        break;
      case TMIXRT_I32:
        static_cast<int32_t *>(data)[e] =
            static_cast<int32_t>(random.next() % 16);
        break;
      case TMIXRT_I64:
        static_cast<int64_t *>(data)[e] =
            static_cast<int64_t>(random.next() % 16);
        break;
      default:
        break;
      }
    }
    inputs.push_back(std::move(tensor));
  }
  return inputs;
}

std::vector<Tensor> fileInputs(const tmixrt_function *fn,
                               const Options &options) {
  size_t numArgs = tmixrt_function_num_args(fn);
  bool weightsBound = !options.weights.empty();
  std::vector<size_t> indices; // the arguments the files give, in order
  std::string names;
  for (size_t i = 0; i < numArgs; ++i) {
    if (!isInput(fn, i, weightsBound))
      continue;
    indices.push_back(i);
    names += (names.empty() ? "" : ", ") +
             std::string(tmixrt_function_arg(fn, i)->name);
  }
  if (options.inputs.size() != indices.size()) {
    size_t numWeights = tmixrt_function_num_weights(fn);
    std::string what = std::to_string(indices.size()) +
                       (weightsBound && numWeights ? " non-weight argument(s) ("
                                                   : " argument(s) (") +
                       (names.empty() ? "none" : names) + ")";
    fail("'" + std::string(tmixrt_function_name(fn)) + "' takes " + what +
         ", got " + std::to_string(options.inputs.size()) + " --input file(s)" +
         (weightsBound && numWeights ? "; its " + std::to_string(numWeights) +
                                           " weight(s) come from --weights"
                                     : "") +
         "; or use --random-inputs");
  }
  std::vector<Tensor> inputs;
  for (size_t n = 0; n < indices.size(); ++n) {
    Tensor tensor;
    check(tmixrt_npy_read(options.inputs[n].c_str(), tensor.out()));
    const tmixrt_tensor_info *info = tmixrt_function_arg(fn, indices[n]);
    if (info->dtype == TMIXRT_BF16 &&
        tmixrt_tensor_dtype(tensor.get()) == TMIXRT_F32)
      tensor = convert(tensor.get(), TMIXRT_BF16);
    inputs.push_back(std::move(tensor));
  }
  return inputs;
}

/// The arguments of a call: the tensors it owns and the list it passes.
struct CallArgs {
  std::vector<Tensor> tensors;
  std::vector<tmixrt_tensor *> list;
};

/// The inputs as they are: every argument, or with --weights (for a
/// function with weights) the short form of only the non-weight ones.
CallArgs hostArgs(std::vector<Tensor> inputs) {
  CallArgs call;
  call.tensors = std::move(inputs);
  for (const Tensor &t : call.tensors)
    call.list.push_back(t.get());
  return call;
}

/// A tensor on CUDA device `device` holding a copy of host tensor `host`.
Tensor upload(const tmixrt_tensor *host, int32_t device) {
  Tensor tensor;
  check(tmixrt_cuda_tensor_create(device, tmixrt_tensor_dtype(host),
                                  tmixrt_tensor_rank(host),
                                  tmixrt_tensor_shape(host), tensor.out()));
  check(tmixrt_tensor_copy(tensor.get(), host));
  return tensor;
}

/// The arguments of a call of CUDA function `fn` on --device's device, all
/// in the full form: each input copied to the device, and (with --weights)
/// for each weight argument the bound file's tensor of its weight_name,
/// copied once per name (bound weights are host tensors, which a CUDA
/// function does not take).
CallArgs deviceArgs(const tmixrt_function *fn, tmixrt_module *module,
                    std::vector<Tensor> inputs, const Options &options) {
  int32_t device = options.cudaDevice;
  bool weightsBound = !options.weights.empty();
  struct WeightsRef {
    tmixrt_weights *weights;
    ~WeightsRef() { tmixrt_weights_release(weights); }
  } bound{weightsBound ? tmixrt_module_bound_weights(module) : nullptr};
  if (weightsBound && !bound.weights)
    fail("no weight file is bound to '" +
         std::string(tmixrt_module_path(module)) + "'");
  CallArgs call;
  std::map<std::string, size_t> uploaded; // weight name -> index in tensors
  size_t next = 0;
  for (size_t i = 0, e = tmixrt_function_num_args(fn); i < e; ++i) {
    if (isInput(fn, i, weightsBound)) {
      call.tensors.push_back(upload(inputs[next++].get(), device));
      call.list.push_back(call.tensors.back().get());
      continue;
    }
    const char *name = tmixrt_function_arg(fn, i)->weight_name;
    auto found = uploaded.find(name);
    if (found == uploaded.end()) {
      const tmixrt_weight_info *weight = nullptr;
      check(tmixrt_weights_lookup(bound.weights, name, &weight));
      // The copy only reads the mapping; wrap takes a non-const pointer.
      Tensor host;
      check(tmixrt_tensor_wrap(weight->dtype, weight->rank, weight->shape,
                               const_cast<void *>(weight->data), host.out()));
      call.tensors.push_back(upload(host.get(), device));
      found = uploaded.emplace(name, call.tensors.size() - 1).first;
    }
    call.list.push_back(call.tensors[found->second].get());
  }
  return call; // the host inputs are freed here
}

//===----------------------------------------------------------------------===//
// Results
//===----------------------------------------------------------------------===//

/// A host tensor holding a copy of device tensor `tensor`.
Tensor download(const tmixrt_tensor *tensor) {
  Tensor host;
  check(tmixrt_tensor_create(tmixrt_tensor_dtype(tensor),
                             tmixrt_tensor_rank(tensor),
                             tmixrt_tensor_shape(tensor), host.out()));
  check(tmixrt_tensor_copy(host.get(), tensor));
  return host;
}

void printSummary(size_t index, const tmixrt_tensor_info *info,
                  const tmixrt_tensor *tensor) {
  tmixrt_dtype dtype = tmixrt_tensor_dtype(tensor);
  size_t count = tmixrt_tensor_element_count(tensor);
  std::printf(
      "result %zu '%s': %s %s\n", index, info->name,
      shapeString(tmixrt_tensor_shape(tensor), tmixrt_tensor_rank(tensor))
          .c_str(),
      tmixrt_dtype_name(dtype));
  if (!count) {
    std::printf("  (empty)\n");
    return;
  }
  bool integer = dtype == TMIXRT_I32 || dtype == TMIXRT_I64;
  double min = INFINITY, max = -INFINITY, sum = 0;
  size_t nans = 0;
  for (size_t i = 0; i < count; ++i) {
    double value = element(tensor, i);
    if (std::isnan(value)) {
      ++nans;
      continue;
    }
    min = std::min(min, value);
    max = std::max(max, value);
    sum += value;
  }
  if (nans == count) {
    std::printf("  all %zu values are nan\n", count);
  } else {
    std::printf("  min %.6g  max %.6g  mean %.6g", min, max,
                sum / static_cast<double>(count - nans));
    if (nans)
      std::printf("  (%zu nan)", nans);
    std::printf("\n");
  }
  std::printf("  first:");
  size_t shown = std::min<size_t>(count, 8);
  for (size_t i = 0; i < shown; ++i) {
    double value = element(tensor, i);
    if (integer)
      std::printf(" %lld", static_cast<long long>(value));
    else
      std::printf(" %.6g", value);
  }
  std::printf("%s\n", shown < count ? " ..." : "");
}

/// The `k` largest values (ties: lower index first), NaNs excluded.
void printTop(const tmixrt_tensor *tensor, int64_t k) {
  size_t count = tmixrt_tensor_element_count(tensor);
  std::vector<std::pair<double, size_t>> entries;
  entries.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    double value = element(tensor, i);
    if (!std::isnan(value))
      entries.emplace_back(value, i);
  }
  size_t shown = std::min<size_t>(entries.size(), static_cast<size_t>(k));
  std::partial_sort(entries.begin(), entries.begin() + shown, entries.end(),
                    [](const auto &a, const auto &b) {
                      return a.first > b.first ||
                             (a.first == b.first && a.second < b.second);
                    });
  std::printf("  top %zu:", shown);
  for (size_t i = 0; i < shown; ++i)
    std::printf(" [%zu] %.6g", entries[i].second, entries[i].first);
  std::printf("\n");
}

void writeOutput(const std::string &path, const tmixrt_tensor *tensor) {
  if (tmixrt_tensor_dtype(tensor) == TMIXRT_BF16) {
    Tensor converted = convert(tensor, TMIXRT_F32);
    check(tmixrt_npy_write(path.c_str(), converted.get()));
    return;
  }
  check(tmixrt_npy_write(path.c_str(), tensor));
}

/// Times calls into `results` (on the function's device; a CUDA call
/// returns when its GPU work is done).
void benchmark(const tmixrt_function *fn,
               const std::vector<tmixrt_tensor *> &args,
               const std::vector<Tensor> &results, int64_t calls) {
  std::vector<tmixrt_tensor *> outs;
  for (const Tensor &t : results)
    outs.push_back(t.get());
  auto run = [&] {
    check(tmixrt_function_invoke_into(fn, args.data(), args.size(), outs.data(),
                                      outs.size()));
  };
  run(); // warm-up
  std::vector<double> times;
  times.reserve(static_cast<size_t>(calls));
  for (int64_t i = 0; i < calls; ++i) {
    auto start = std::chrono::steady_clock::now();
    run();
    auto end = std::chrono::steady_clock::now();
    times.push_back(
        std::chrono::duration<double, std::milli>(end - start).count());
  }
  std::sort(times.begin(), times.end());
  size_t n = times.size();
  double median =
      n % 2 ? times[n / 2] : (times[n / 2 - 1] + times[n / 2]) / 2.0;
  std::printf("benchmark '%s': %lld calls after 1 warm-up: median %.4f ms, "
              "min %.4f ms\n",
              tmixrt_function_name(fn), static_cast<long long>(calls), median,
              times.front());
}

} // namespace

int main(int argc, char **argv) {
  Options options = parseOptions(argc, argv);
  if (options.cuda)
    selectCudaDevice(options);

  tmixrt_module_options moduleOptions;
  tmixrt_module_options_init(&moduleOptions);
  tmixrt_module *module = nullptr;
  check(tmixrt_module_load(options.artifact.c_str(), &moduleOptions, &module));
  if (options.haveThreads)
    check(tmixrt_module_set_num_threads(module, options.threads));
  if (!options.weights.empty()) {
    tmixrt_weights *weights = nullptr;
    check(tmixrt_weights_open(options.weights.c_str(), &weights));
    tmixrt_status status = tmixrt_module_bind_weights(module, weights);
    size_t count = tmixrt_weights_count(weights);
    tmixrt_weights_release(weights); // the module holds it now
    check(status);
    std::printf("weights: %s: %zu tensor(s) bound\n", options.weights.c_str(),
                count);
  }

  if (options.list) {
    listFunctions(module);
  } else {
    const tmixrt_function *fn =
        pickFunction(module, options.function, options.cuda);
    checkFunctionDevice(fn, options);
    size_t numResults = tmixrt_function_num_results(fn);
    if (options.outputs.size() > numResults)
      fail("'" + std::string(tmixrt_function_name(fn)) + "' has " +
           std::to_string(numResults) + " result(s), got " +
           std::to_string(options.outputs.size()) + " --output file(s)");
    std::vector<Tensor> inputs = options.randomInputs
                                     ? randomInputs(fn, options)
                                     : fileInputs(fn, options);
    CallArgs call = options.cuda
                        ? deviceArgs(fn, module, std::move(inputs), options)
                        : hostArgs(std::move(inputs));
    std::vector<tmixrt_tensor *> raw(numResults, nullptr);
    tmixrt_status status = tmixrt_function_invoke(
        fn, call.list.data(), call.list.size(), raw.data(), raw.size());
    check(status);
    std::vector<Tensor> results; // on the function's device
    for (tmixrt_tensor *t : raw)
      results.emplace_back(t);
    std::vector<Tensor> downloaded; // host copies of CUDA results
    if (options.cuda)
      for (const Tensor &t : results)
        downloaded.push_back(download(t.get()));
    const std::vector<Tensor> &host = options.cuda ? downloaded : results;
    for (size_t i = 0; i < numResults; ++i) {
      printSummary(i, tmixrt_function_result(fn, i), host[i].get());
      if (options.top > 0)
        printTop(host[i].get(), options.top);
    }
    for (size_t i = 0; i < options.outputs.size(); ++i) {
      writeOutput(options.outputs[i], host[i].get());
      std::printf("wrote result %zu to %s\n", i, options.outputs[i].c_str());
    }
    if (options.benchmark > 0)
      benchmark(fn, call.list, results, options.benchmark);
  }
  std::fflush(stdout);
  tmixrt_module_release(module);
  return 0;
}
