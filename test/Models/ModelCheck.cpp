//===- ModelCheck.cpp - compare a MetaFormer's logits with the reference --===//
//
//   tmix-model-check --config=M.json --weights=M.safetensors --image=I.npy
//       [--artifact=libM.so [--function=NAME] [--threads=T]]
//       [--compare=LOGITS.npy ...] [--write-reference=REF.npy]
//       [--tolerance=T] [--float-rounding]
//
// Runs the double-precision reference (test/Reference/MetaFormer) of the model
// that `scripts/metaformer.py config` describes, on the weights of a
// .safetensors file read by the reference-side reader, for the NCHW f32 image
// of a .npy file. Then, for a compiled artifact (--artifact: loaded with
// libtmixrt, the weight file bound with tmixrt_module_bind_weights, called
// with the image only) and for logits files (--compare, e.g. tmix-run's or
// timm's output), checks
//
//     max |logits - reference| <= tolerance * max(1, max |reference|)
//
// and prints the error and the bound. --write-reference writes the reference
// logits as f32 .npy. --float-rounding also runs the reference with every op's
// result rounded to f32 and prints how far that moves the logits (a model of
// an f32 implementation's rounding, to size the tolerance). Every error is a
// message on stderr and exit code 1.
//
//===----------------------------------------------------------------------===//

#include "Reference/MetaFormer.h"
#include "Reference/Safetensors.h"

#include "tmixrt/npy.h"
#include "tmixrt/tmixrt.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

using namespace tmix::ref;

namespace {

const char kUsage[] =
    "usage: tmix-model-check --config=M.json --weights=M.safetensors "
    "--image=I.npy [options]\n"
    "\n"
    "Compares a MetaFormer model's logits with the double-precision "
    "reference.\n"
    "\n"
    "  --config=FILE            scripts/metaformer.py config MODEL "
    "--image=...\n"
    "  --weights=FILE           the model's .safetensors weights\n"
    "  --image=FILE             NCHW f32 input (.npy)\n"
    "  --artifact=LIB           a compiled model (tmix-compile): bind the "
    "weights,\n"
    "                           run it on the image and compare its logits\n"
    "  --function=NAME          the artifact's function (default: the model "
    "name)\n"
    "  --threads=T              threads of the artifact (<= 0: all cores)\n"
    "  --compare=FILE           logits (.npy, [B, classes]) to compare; may "
    "repeat\n"
    "  --write-reference=FILE   write the reference logits (f32 .npy)\n"
    "  --tolerance=T            relative bound of the max abs error "
    "(default 1e-3)\n"
    "  --float-rounding         also report the effect of f32 rounding of "
    "every op\n";

[[noreturn]] void fail(const std::string &message) {
  std::fprintf(stderr, "tmix-model-check: error: %s\n", message.c_str());
  std::exit(1);
}

void check(tmixrt_status status) {
  if (!status)
    return;
  std::string message = tmixrt_status_message(status);
  tmixrt_status_free(status);
  fail(message);
}

struct Options {
  std::string config, weights, image, artifact, function, writeReference;
  std::vector<std::string> compare;
  double tolerance = 1e-3;
  bool floatRounding = false;
  bool haveThreads = false;
  int32_t threads = 0;
};

Options parseOptions(int argc, char **argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage, stdout);
      std::exit(0);
    }
    size_t eq = arg.find('=');
    std::string name = arg.substr(0, eq);
    std::string value = eq == std::string::npos ? "" : arg.substr(eq + 1);
    auto need = [&](std::string &slot) {
      if (eq == std::string::npos || value.empty())
        fail("option '" + name + "' needs a value (" + name + "=...)");
      if (!slot.empty())
        fail("option '" + name + "' given twice");
      slot = value;
    };
    if (name == "--config") {
      need(o.config);
    } else if (name == "--weights") {
      need(o.weights);
    } else if (name == "--image") {
      need(o.image);
    } else if (name == "--artifact") {
      need(o.artifact);
    } else if (name == "--function") {
      need(o.function);
    } else if (name == "--write-reference") {
      need(o.writeReference);
    } else if (name == "--compare") {
      std::string file;
      need(file);
      o.compare.push_back(file);
    } else if (name == "--tolerance") {
      std::string text;
      need(text);
      char *end = nullptr;
      errno = 0;
      o.tolerance = std::strtod(text.c_str(), &end);
      if (errno || *end || !(o.tolerance > 0) || !std::isfinite(o.tolerance))
        fail("--tolerance must be a positive number, got '" + text + "'");
    } else if (name == "--threads") {
      std::string text;
      need(text);
      char *end = nullptr;
      errno = 0;
      long v = std::strtol(text.c_str(), &end, 10);
      if (errno || *end || v < -1 || v > 4096)
        fail("--threads must be an integer in [-1, 4096], got '" + text + "'");
      o.haveThreads = true;
      o.threads = static_cast<int32_t>(v);
    } else if (name == "--float-rounding") {
      if (eq != std::string::npos)
        fail("--float-rounding takes no value");
      o.floatRounding = true;
    } else {
      fail("unknown argument '" + arg + "' (see --help)");
    }
  }
  if (o.config.empty() || o.weights.empty() || o.image.empty())
    fail("--config, --weights and --image are required (see --help)");
  if (!o.function.empty() && o.artifact.empty())
    fail("--function needs --artifact");
  return o;
}

double seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since)
      .count();
}

/// Reads an f32 .npy file into a reference tensor.
Tensor readNpy(const std::string &path) {
  tmixrt_tensor *t = nullptr;
  check(tmixrt_npy_read(path.c_str(), &t));
  if (tmixrt_tensor_dtype(t) != TMIXRT_F32) {
    tmixrt_tensor_release(t);
    fail(path + ": expected f32 data");
  }
  Tensor out;
  const int64_t *shape = tmixrt_tensor_shape(t);
  out.shape.assign(shape, shape + tmixrt_tensor_rank(t));
  const float *data = static_cast<const float *>(tmixrt_tensor_data(t));
  out.data.assign(data, data + tmixrt_tensor_element_count(t));
  tmixrt_tensor_release(t);
  return out;
}

void writeNpy(const std::string &path, const Tensor &t) {
  std::vector<float> data(t.data.begin(), t.data.end());
  tmixrt_tensor *wrapped = nullptr;
  check(tmixrt_tensor_wrap(TMIXRT_F32, t.shape.size(), t.shape.data(),
                           data.data(), &wrapped));
  tmixrt_status status = tmixrt_npy_write(path.c_str(), wrapped);
  tmixrt_tensor_release(wrapped);
  check(status);
}

std::string topK(const Tensor &logits, int k) {
  // Batch 0 only: enough to eyeball.
  const int64_t classes = logits.dim(-1);
  std::vector<int64_t> index(classes);
  for (int64_t i = 0; i < classes; ++i)
    index[i] = i;
  k = static_cast<int>(std::min<int64_t>(k, classes));
  std::partial_sort(
      index.begin(), index.begin() + k, index.end(),
      [&](int64_t a, int64_t b) { return logits[a] > logits[b]; });
  std::string s;
  char buf[64];
  for (int i = 0; i < k; ++i) {
    std::snprintf(buf, sizeof(buf), "%s%lld (%.4f)", i ? ", " : "",
                  static_cast<long long>(index[i]), logits[index[i]]);
    s += buf;
  }
  return s;
}

double maxAbs(const Tensor &t) {
  double m = 0;
  for (double v : t.data)
    m = std::max(m, std::fabs(v));
  return m;
}

/// Checks `got` against the reference; returns false (after printing why)
/// when it is out of bounds.
bool compare(const std::string &what, const Tensor &got, const Tensor &ref,
             double tolerance) {
  if (got.shape != ref.shape) {
    std::printf("%s: FAIL: logits %s, reference %s\n", what.c_str(),
                got.shapeString().c_str(), ref.shapeString().c_str());
    return false;
  }
  double err = 0;
  int64_t at = 0;
  for (int64_t i = 0; i < got.numel(); ++i) {
    double e = std::fabs(got[i] - ref[i]);
    if (!(e <= err)) { // NaN counts as the worst
      err = std::isnan(e) ? INFINITY : e;
      at = i;
    }
  }
  const double bound = tolerance * std::max(1.0, maxAbs(ref));
  const bool ok = err <= bound;
  std::printf("%s: max abs error %.3e at %lld (%.6f vs %.6f) %s bound %.3e: "
              "%s\n",
              what.c_str(), err, static_cast<long long>(at), got[at], ref[at],
              ok ? "<=" : ">", bound, ok ? "ok" : "FAIL");
  std::printf("%s: top-5 %s\n", what.c_str(), topK(got, 5).c_str());
  return ok;
}

Tensor runArtifact(const Options &o, const std::string &model,
                   const Tensor &image, double &elapsed) {
  tmixrt_module_options options;
  tmixrt_module_options_init(&options);
  if (o.haveThreads)
    options.num_threads = o.threads == 0 ? -1 : o.threads;
  tmixrt_module *module = nullptr;
  check(tmixrt_module_load(o.artifact.c_str(), &options, &module));
  tmixrt_weights *weights = nullptr;
  tmixrt_status status = tmixrt_weights_open(o.weights.c_str(), &weights);
  if (!status)
    status = tmixrt_module_bind_weights(module, weights);
  tmixrt_weights_release(weights); // the module keeps its own reference
  if (status) {
    tmixrt_module_release(module);
    check(status);
  }
  const tmixrt_function *fn = nullptr;
  status = tmixrt_module_lookup(
      module, (o.function.empty() ? model : o.function).c_str(), &fn);
  if (status) {
    tmixrt_module_release(module);
    check(status);
  }
  std::vector<float> data(image.data.begin(), image.data.end());
  tmixrt_tensor *arg = nullptr;
  check(tmixrt_tensor_wrap(TMIXRT_F32, image.shape.size(), image.shape.data(),
                           data.data(), &arg));
  tmixrt_tensor *result = nullptr;
  auto start = std::chrono::steady_clock::now();
  // The short form: only the non-weight arguments; weights are bound.
  status = tmixrt_function_invoke(fn, &arg, 1, &result, 1);
  elapsed = seconds(start);
  tmixrt_tensor_release(arg);
  if (status) {
    tmixrt_module_release(module);
    check(status);
  }
  Tensor logits;
  if (tmixrt_tensor_dtype(result) != TMIXRT_F32) {
    tmixrt_tensor_release(result);
    tmixrt_module_release(module);
    fail(o.artifact + ": the result is not f32");
  }
  const int64_t *shape = tmixrt_tensor_shape(result);
  logits.shape.assign(shape, shape + tmixrt_tensor_rank(result));
  const float *values = static_cast<const float *>(tmixrt_tensor_data(result));
  logits.data.assign(values, values + tmixrt_tensor_element_count(result));
  tmixrt_tensor_release(result);
  tmixrt_module_release(module);
  return logits;
}

} // namespace

int main(int argc, char **argv) {
  Options o = parseOptions(argc, argv);
  std::string error;
  ModelConfig config;
  if (!readModelConfig(o.config, config, error))
    fail(error);
  SafetensorsFile weights;
  if (!readSafetensors(o.weights, weights, error))
    fail(error);
  Tensor image = readNpy(o.image);
  int64_t parameters = 0;
  for (const auto &t : weights.tensors)
    parameters += t.second.numel();
  std::printf("model %s: image %s, %zu tensors, %lld parameters\n",
              config.model.c_str(), image.shapeString().c_str(),
              weights.tensors.size(), static_cast<long long>(parameters));

  Tensor reference;
  auto start = std::chrono::steady_clock::now();
  if (!referenceForward(config, weights.tensors, image, reference, error))
    fail(o.weights + ": " + error);
  double mean = 0, var = 0;
  for (double v : reference.data) {
    if (!std::isfinite(v))
      fail("the reference logits are not finite");
    mean += v;
  }
  mean /= static_cast<double>(reference.numel());
  for (double v : reference.data)
    var += (v - mean) * (v - mean);
  const double stddev = std::sqrt(var / static_cast<double>(reference.numel()));
  std::printf("reference: %.2f s, logits %s, max |logit| %.4f, std %.4f, "
              "top-5 %s\n",
              seconds(start), reference.shapeString().c_str(),
              maxAbs(reference), stddev, topK(reference, 5).c_str());
  // A comparison is only meaningful when the logits depend on the weights
  // and the image: refuse a network whose outputs are (nearly) all equal.
  if (stddev < 1e-3)
    fail("the reference logits are degenerate (std " + std::to_string(stddev) +
         "); the weights do not make a meaningful test");

  if (!o.writeReference.empty())
    writeNpy(o.writeReference, reference);

  bool ok = true;
  if (o.floatRounding) {
    Tensor rounded;
    ForwardOptions fo;
    fo.roundToFloat = true;
    if (!referenceForward(config, weights.tensors, image, rounded, error, fo))
      fail(error);
    ok &= compare("f32-rounded reference", rounded, reference, o.tolerance);
  }
  if (!o.artifact.empty()) {
    std::fflush(stdout); // keep what was printed if the artifact crashes
    double elapsed = 0;
    Tensor logits = runArtifact(o, config.model, image, elapsed);
    std::printf("artifact %s: %.3f s per call\n", o.artifact.c_str(), elapsed);
    ok &= compare("artifact", logits, reference, o.tolerance);
  }
  for (const std::string &file : o.compare)
    ok &= compare(file, readNpy(file), reference, o.tolerance);
  return ok ? 0 : 1;
}
