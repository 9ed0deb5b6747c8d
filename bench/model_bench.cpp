//===- model_bench.cpp - whole MetaFormer models through libtmixrt --------===//
//
// Google Benchmark harness of the five MetaFormer models at 224×224, batch 1
// (docs/benchmarks.md, "Models"). scripts/bench-models.sh prepares a
// directory with, per model M:
//
//   M.so          tmix-compile examples/M.mlir (epilogue fusion on)
//   M.nofuse.so   tmix-compile --no-fuse-layers examples/M.mlir
//   M.safetensors scripts/metaformer.py weights M
//   M.flops       scripts/metaformer.py flops M (2 per multiply-add)
//
// and runs this binary with TMIX_MODEL_BENCH_DIR pointing at it. Families
// (real time, one call = one image):
//
//   model/<M>/fused/threads:T     the fused artifact
//   model/<M>/unfused/threads:T   the artifact without epilogue fusion
//
// Each reports FLOPS against the model's FLOP count and checks, before
// timing, that the fused and unfused artifacts give the same logits
// (max abs difference <= 1e-4 * max(1, max |logit|)).
//
// Environment: TMIX_MODEL_BENCH_DIR (required), TMIX_MODEL_BENCH_MODELS
// (comma-separated subset), TMIX_BENCH_THREADS (comma-separated thread
// counts; default: all cores).
//
//===----------------------------------------------------------------------===//

#include "tmixrt/tmixrt.h"

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

const char *const kModels[] = {"poolformer_s12", "convformer_s18",
                               "caformer_s18", "identityformer_s12",
                               "randformer_s12"};

std::string takeMessage(tmixrt_status status) {
  std::string message = tmixrt_status_message(status);
  tmixrt_status_free(status);
  return message;
}

struct TensorDeleter {
  void operator()(tmixrt_tensor *t) const { tmixrt_tensor_release(t); }
};
using TensorPtr = std::unique_ptr<tmixrt_tensor, TensorDeleter>;
struct ModuleDeleter {
  void operator()(tmixrt_module *m) const { tmixrt_module_release(m); }
};
using ModulePtr = std::unique_ptr<tmixrt_module, ModuleDeleter>;

/// A loaded artifact with its weights bound, an input image and a logits
/// buffer.
struct Loaded {
  ModulePtr module;
  const tmixrt_function *fn = nullptr;
  TensorPtr image, logits;
  std::string error;
};

std::shared_ptr<Loaded> load(const std::string &dir, const std::string &model,
                             const std::string &variant, int threads) {
  auto loaded = std::make_shared<Loaded>();
  std::string path = dir + "/" + model + (variant == "fused" ? "" : ".nofuse") +
                     ".so";
  tmixrt_module_options options;
  tmixrt_module_options_init(&options);
  options.num_threads = threads;
  tmixrt_module *module = nullptr;
  if (tmixrt_status s = tmixrt_module_load(path.c_str(), &options, &module)) {
    loaded->error = takeMessage(s);
    return loaded;
  }
  loaded->module.reset(module);
  tmixrt_weights *weights = nullptr;
  std::string weightPath = dir + "/" + model + ".safetensors";
  if (tmixrt_status s = tmixrt_weights_open(weightPath.c_str(), &weights)) {
    loaded->error = takeMessage(s);
    return loaded;
  }
  tmixrt_status bound = tmixrt_module_bind_weights(module, weights);
  tmixrt_weights_release(weights);
  if (bound) {
    loaded->error = takeMessage(bound);
    return loaded;
  }
  if (tmixrt_status s = tmixrt_module_lookup(module, model.c_str(), &loaded->fn)) {
    loaded->error = takeMessage(s);
    return loaded;
  }
  const int64_t imageShape[] = {1, 3, 224, 224};
  const int64_t logitsShape[] = {1, 1000};
  tmixrt_tensor *image = nullptr, *logits = nullptr;
  if (tmixrt_status s = tmixrt_tensor_create(TMIXRT_F32, 4, imageShape, &image)) {
    loaded->error = takeMessage(s);
    return loaded;
  }
  loaded->image.reset(image);
  if (tmixrt_status s = tmixrt_tensor_create(TMIXRT_F32, 2, logitsShape, &logits)) {
    loaded->error = takeMessage(s);
    return loaded;
  }
  loaded->logits.reset(logits);
  std::mt19937 rng(0);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  float *data = static_cast<float *>(tmixrt_tensor_data(image));
  for (size_t i = 0; i < tmixrt_tensor_element_count(image); ++i)
    data[i] = dist(rng);
  return loaded;
}

std::string invoke(Loaded &l) {
  tmixrt_tensor *args[] = {l.image.get()};
  tmixrt_tensor *results[] = {l.logits.get()};
  if (tmixrt_status s =
          tmixrt_function_invoke_into(l.fn, args, 1, results, 1))
    return takeMessage(s);
  return "";
}

std::vector<float> logitsOf(const Loaded &l) {
  const float *p = static_cast<const float *>(tmixrt_tensor_data(l.logits.get()));
  return std::vector<float>(p, p + 1000);
}

double readFlops(const std::string &dir, const std::string &model) {
  std::ifstream in(dir + "/" + model + ".flops");
  double flops = 0;
  in >> flops;
  return flops;
}

void runModel(benchmark::State &state, std::string dir, std::string model,
              std::string variant, int threads) {
  std::shared_ptr<Loaded> l = load(dir, model, variant, threads);
  if (!l->error.empty()) {
    state.SkipWithError(l->error.c_str());
    return;
  }
  // The two artifacts must agree before either is timed.
  std::shared_ptr<Loaded> other =
      load(dir, model, variant == "fused" ? "unfused" : "fused", threads);
  std::string err = other->error.empty() ? invoke(*other) : other->error;
  if (err.empty())
    err = invoke(*l);
  if (!err.empty()) {
    state.SkipWithError(err.c_str());
    return;
  }
  std::vector<float> a = logitsOf(*l), b = logitsOf(*other);
  double scale = 1, diff = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    scale = std::max(scale, std::abs(double(b[i])));
    diff = std::max(diff, std::abs(double(a[i]) - double(b[i])));
  }
  if (!(diff <= 1e-4 * scale)) {
    std::string message = "fused and unfused logits differ by " +
                          std::to_string(diff);
    state.SkipWithError(message.c_str());
    return;
  }
  other.reset();
  for (auto _ : state) {
    std::string e = invoke(*l);
    if (!e.empty()) {
      state.SkipWithError(e.c_str());
      return;
    }
  }
  double flops = readFlops(dir, model);
  state.counters["FLOPS"] = benchmark::Counter(
      flops, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["GFLOP"] = flops / 1e9;
}

std::vector<std::string> split(const std::string &text) {
  std::vector<std::string> parts;
  std::stringstream in(text);
  std::string part;
  while (std::getline(in, part, ','))
    if (!part.empty())
      parts.push_back(part);
  return parts;
}
} // namespace

int main(int argc, char **argv) {
  benchmark::Initialize(&argc, argv);
  const char *dir = std::getenv("TMIX_MODEL_BENCH_DIR");
  if (!dir) {
    std::fprintf(stderr, "model_bench: set TMIX_MODEL_BENCH_DIR (see "
                         "scripts/bench-models.sh)\n");
    return 1;
  }
  std::vector<std::string> models(std::begin(kModels), std::end(kModels));
  if (const char *m = std::getenv("TMIX_MODEL_BENCH_MODELS"))
    models = split(m);
  std::vector<int> threads = {
      static_cast<int>(std::max(1u, std::thread::hardware_concurrency()))};
  if (const char *t = std::getenv("TMIX_BENCH_THREADS")) {
    threads.clear();
    for (const std::string &s : split(t))
      threads.push_back(std::atoi(s.c_str()));
  }
  for (const std::string &model : models)
    for (const char *variant : {"fused", "unfused"})
      for (int t : threads)
        benchmark::RegisterBenchmark(
            ("model/" + model + "/" + variant + "/threads:" + std::to_string(t))
                .c_str(),
            runModel, std::string(dir), model, std::string(variant), t)
            ->UseRealTime()
            ->Unit(benchmark::kMillisecond)
            ->MinTime(2.0);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
