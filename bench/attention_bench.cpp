//===- attention_bench.cpp - tmix attention vs naive vs OpenBLAS ----------===//
//
// Google Benchmark harness (docs/benchmarks.md). Families, all B = 1, H = 8,
// L = S, f32, real (wall-clock) time:
//
//   sgemm_peak/N:2048/threads:T           cblas_sgemm 2048³: the machine's
//                                         practical peak at T threads
//   openblas_unfused/<mask>/L:/D:/threads:T  sgemm -> masked softmax -> sgemm
//   tmix/<mask>/L:/D:/threads:T           the compiled artifact via libtmixrt
//   naive/<mask>/L:/D:/threads:1          plain loop nest (small L only)
//
// Every benchmark reports FLOPS (a rate; see attentionFlops in baselines.h
// for what is counted). Before timing, each configuration's result is
// checked once against the OpenBLAS path (max abs error <= 1e-3); a mismatch
// is a SkipWithError, since timing wrong code is worthless. bench/summarize.py
// turns the JSON output into the summary tables.
//
// Environment (read before the benchmarks are registered):
//   TMIX_BENCH_LONG=1          add L = 8192 to the default L in {512, 2048}
//   TMIX_BENCH_LENGTHS=a,b,..  the main lengths instead (overrides LONG)
//   TMIX_BENCH_THREADS=a,b,..  thread counts instead of {1, all cores}
//   TMIX_BENCH_NAIVE_MAX_L=N   largest L for the naive loop nest (512)
//   TMIX_BENCH_ODD=0           skip the odd shapes (L = 333; D = 80)
//
//===----------------------------------------------------------------------===//

#include "baselines.h"

#include "tmixrt/tmixrt.h"

#include <benchmark/benchmark.h>
#include <cblas.h>

#include <sched.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#ifndef TMIX_BENCH_ATTENTION_D64
#error "TMIX_BENCH_ATTENTION_D64 (path of the D=64 artifact) must be defined"
#endif
#ifndef TMIX_BENCH_ATTENTION_D80
#error "TMIX_BENCH_ATTENTION_D80 (path of the D=80 artifact) must be defined"
#endif

using namespace tmixbench;

namespace {

constexpr int64_t kHeads = 8;
constexpr double kTolerance = 1e-3;
constexpr int64_t kSgemmN = 2048;

//===----------------------------------------------------------------------===//
// Configuration
//===----------------------------------------------------------------------===//

[[noreturn]] void die(const std::string &message) {
  std::fprintf(stderr, "tmix-attention-bench: %s\n", message.c_str());
  std::exit(2);
}

std::vector<int64_t> envList(const char *name, std::vector<int64_t> fallback) {
  const char *text = std::getenv(name);
  if (!text || !*text)
    return fallback;
  std::vector<int64_t> values;
  const char *s = text;
  while (*s) {
    char *end = nullptr;
    long long v = std::strtoll(s, &end, 10);
    if (end == s || v < 1)
      die(std::string(name) + "='" + text +
          "': expected a comma-separated list of positive integers");
    values.push_back(v);
    s = end;
    if (*s == ',')
      ++s;
    else if (*s)
      die(std::string(name) + "='" + text +
          "': expected a comma-separated list of positive integers");
  }
  return values;
}

bool envFlag(const char *name, bool fallback) {
  const char *text = std::getenv(name);
  if (!text || !*text)
    return fallback;
  return std::strcmp(text, "0") != 0;
}

int allCores() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0)
    return std::max(1, CPU_COUNT(&set));
  return std::max(1u, std::thread::hardware_concurrency());
}

struct MaskDef {
  const char *name;     // in benchmark names and the summary
  const char *function; // in the artifacts
  Mask mask;
};

const MaskDef kMasks[] = {
    {"none", "attention_none", {MaskKind::None, 0, 0}},
    {"causal", "attention_causal", {MaskKind::Causal, 0, 0}},
    {"window512", "attention_window512", {MaskKind::Window, 512, 0}},
};
constexpr int kNone = 0, kCausal = 1, kWindow = 2;

Problem makeProblem(int mask, int64_t L, int64_t D) {
  Problem p;
  p.H = kHeads;
  p.L = p.S = L;
  p.D = D;
  p.scale = float(1.0 / std::sqrt(double(D)));
  p.mask = kMasks[mask].mask;
  return p;
}

//===----------------------------------------------------------------------===//
// Shared state: artifacts, inputs, references (built once, outside timing)
//===----------------------------------------------------------------------===//

std::string takeMessage(tmixrt_status status) {
  std::string message = std::string(tmixrt_code_name(tmixrt_status_code(status))) +
                        ": " + tmixrt_status_message(status);
  tmixrt_status_free(status);
  return message;
}

const char *artifactPath(int64_t D) {
  return D == 80 ? TMIX_BENCH_ATTENTION_D80 : TMIX_BENCH_ATTENTION_D64;
}

/// The loaded artifact for head size D, or null with `error` set.
tmixrt_module *artifact(int64_t D, std::string &error) {
  static std::map<int64_t, tmixrt_module *> modules;
  auto it = modules.find(D);
  if (it != modules.end())
    return it->second;
  tmixrt_module *module = nullptr;
  if (tmixrt_status status = tmixrt_module_load(artifactPath(D), nullptr, &module)) {
    error = "cannot load the tmix artifact: " + takeMessage(status) +
            " (build the target tmix-bench-artifacts)";
    return nullptr;
  }
  modules[D] = module;
  return module;
}

uint64_t splitmix64(uint64_t &state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/// Uniform(-1, 1), fixed seed: the same numbers on every machine.
void fillRandom(float *data, size_t n, uint64_t seed) {
  uint64_t state = seed;
  for (size_t i = 0; i < n; ++i)
    data[i] = float(double(splitmix64(state) >> 40) * 0x1p-23 - 1.0);
}

tmixrt_tensor *newTensor(int64_t L, int64_t D) {
  const int64_t shape[4] = {1, kHeads, L, D};
  tmixrt_tensor *t = nullptr;
  if (tmixrt_status status = tmixrt_tensor_create(TMIXRT_F32, 4, shape, &t))
    die("cannot allocate a tensor: " + takeMessage(status));
  return t;
}

float *data(tmixrt_tensor *t) { return static_cast<float *>(tmixrt_tensor_data(t)); }

/// q, k, v (random, fixed seeds) and a tmix output buffer of one shape.
struct Inputs {
  tmixrt_tensor *q, *k, *v, *out;
  size_t count; // elements per tensor
};

Inputs &inputs(int64_t L, int64_t D) {
  static std::map<std::pair<int64_t, int64_t>, Inputs> cache;
  auto key = std::make_pair(L, D);
  auto it = cache.find(key);
  if (it != cache.end())
    return it->second;
  Inputs in{newTensor(L, D), newTensor(L, D), newTensor(L, D), newTensor(L, D),
            size_t(kHeads * L * D)};
  fillRandom(data(in.q), in.count, 1);
  fillRandom(data(in.k), in.count, 2);
  fillRandom(data(in.v), in.count, 3);
  return cache[key] = in;
}

/// A scratch buffer of at least n floats, reused (and touched) across runs.
float *scratch(size_t n) {
  static std::vector<float> buffer;
  if (buffer.size() < n)
    buffer.assign(n, 0.0f);
  return buffer.data();
}

/// The OpenBLAS path's result (all cores), the oracle of every check.
const std::vector<float> &reference(int mask, int64_t L, int64_t D) {
  static std::map<std::tuple<int, int64_t, int64_t>, std::vector<float>> cache;
  auto key = std::make_tuple(mask, L, D);
  auto it = cache.find(key);
  if (it != cache.end())
    return it->second;
  Problem p = makeProblem(mask, L, D);
  Inputs &in = inputs(L, D);
  std::vector<float> out(in.count);
  openblas_set_num_threads(allCores());
  unfusedAttention(p, data(in.q), data(in.k), data(in.v), out.data(),
                   scratch(size_t(L * L)));
  return cache[key] = std::move(out);
}

/// Max abs difference; +inf when either side has a NaN.
double maxAbsError(const float *a, const float *b, size_t n) {
  double worst = 0;
  for (size_t i = 0; i < n; ++i) {
    double d = std::fabs(double(a[i]) - double(b[i]));
    if (!(d <= worst))
      worst = std::isnan(d) ? INFINITY : d;
  }
  return worst;
}

/// The outcome of checking one configuration: the max abs error against the
/// OpenBLAS path, or why the implementation could not be run.
struct Check {
  double error = INFINITY;
  std::string failure;
};

/// Runs `check` once per configuration name and remembers the outcome; sets
/// the label, or calls SkipWithError and returns false when the result is
/// wrong (or the call failed).
template <typename CheckFn>
bool verifyOnce(benchmark::State &state, const std::string &config,
                CheckFn &&check) {
  static std::map<std::string, Check> outcomes;
  auto it = outcomes.find(config);
  if (it == outcomes.end())
    it = outcomes.emplace(config, check()).first;
  const Check &outcome = it->second;
  char text[160];
  if (!outcome.failure.empty()) {
    state.SkipWithError(outcome.failure.c_str());
    return false;
  }
  if (!(outcome.error <= kTolerance)) {
    std::snprintf(text, sizeof(text),
                  "wrong result: max abs error %.3g vs the OpenBLAS path "
                  "(tolerance %.0e)",
                  outcome.error, kTolerance);
    state.SkipWithError(text);
    return false;
  }
  std::snprintf(text, sizeof(text), "max_abs_err=%.1e", outcome.error);
  state.SetLabel(text);
  return true;
}

void setFlops(benchmark::State &state, double flopsPerCall) {
  state.counters["FLOPS"] = benchmark::Counter(
      flopsPerCall * double(state.iterations()), benchmark::Counter::kIsRate);
}

//===----------------------------------------------------------------------===//
// Benchmarks
//===----------------------------------------------------------------------===//

void sgemmPeak(benchmark::State &state, int threads) {
  const int n = int(kSgemmN);
  static std::vector<float> a, b, c;
  if (a.empty()) {
    a.resize(size_t(n) * n);
    b.resize(size_t(n) * n);
    c.resize(size_t(n) * n);
    fillRandom(a.data(), a.size(), 11);
    fillRandom(b.data(), b.size(), 12);
  }
  openblas_set_num_threads(threads);
  for (auto _ : state) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f,
                a.data(), n, b.data(), n, 0.0f, c.data(), n);
    benchmark::ClobberMemory();
  }
  setFlops(state, 2.0 * double(n) * n * n);
}

void openblasUnfused(benchmark::State &state, const std::string &config,
                     int mask, int64_t L, int64_t D, int threads) {
  Problem p = makeProblem(mask, L, D);
  Inputs &in = inputs(L, D);
  static std::vector<float> out;
  out.resize(in.count);
  float *scores = scratch(size_t(L * L));
  const std::vector<float> &ref = reference(mask, L, D);
  openblas_set_num_threads(threads);
  auto run = [&] {
    unfusedAttention(p, data(in.q), data(in.k), data(in.v), out.data(),
                     scores);
  };
  if (!verifyOnce(state, config, [&] {
        run();
        return Check{maxAbsError(out.data(), ref.data(), in.count), ""};
      }))
    return;
  for (auto _ : state) {
    run();
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  setFlops(state, attentionFlops(p));
}

void tmixAttention(benchmark::State &state, const std::string &config,
                   int mask, int64_t L, int64_t D, int threads) {
  Problem p = makeProblem(mask, L, D);
  std::string error;
  tmixrt_module *module = artifact(D, error);
  if (!module) {
    state.SkipWithError(error.c_str());
    return;
  }
  const tmixrt_function *fn = nullptr;
  if (tmixrt_status status =
          tmixrt_module_lookup(module, kMasks[mask].function, &fn)) {
    state.SkipWithError(takeMessage(status).c_str());
    return;
  }
  if (tmixrt_status status = tmixrt_module_set_num_threads(module, threads)) {
    state.SkipWithError(takeMessage(status).c_str());
    return;
  }
  Inputs &in = inputs(L, D);
  tmixrt_tensor *args[3] = {in.q, in.k, in.v};
  tmixrt_tensor *results[1] = {in.out};
  std::string callError;
  auto call = [&] {
    tmixrt_status status = tmixrt_function_invoke_into(fn, args, 3, results, 1);
    if (status) {
      callError = takeMessage(status);
      return false;
    }
    return true;
  };
  const std::vector<float> &ref = reference(mask, L, D);
  if (!verifyOnce(state, config, [&] {
        // Poison the output so a call that writes nothing cannot pass.
        std::fill(data(in.out), data(in.out) + in.count, NAN);
        if (!call())
          return Check{INFINITY, callError};
        return Check{maxAbsError(data(in.out), ref.data(), in.count), ""};
      }))
    return;
  for (auto _ : state) {
    if (!call()) {
      state.SkipWithError(callError.c_str());
      break;
    }
  }
  setFlops(state, attentionFlops(p));
}

void naive(benchmark::State &state, const std::string &config, int mask,
           int64_t L, int64_t D) {
  Problem p = makeProblem(mask, L, D);
  Inputs &in = inputs(L, D);
  static std::vector<float> out, row;
  out.resize(in.count);
  row.resize(size_t(L));
  const std::vector<float> &ref = reference(mask, L, D);
  auto run = [&] {
    naiveAttention(p, data(in.q), data(in.k), data(in.v), out.data(),
                   row.data());
  };
  if (!verifyOnce(state, config, [&] {
        run();
        return Check{maxAbsError(out.data(), ref.data(), in.count), ""};
      }))
    return;
  for (auto _ : state) {
    run();
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  setFlops(state, attentionFlops(p));
}

//===----------------------------------------------------------------------===//
// Registration
//===----------------------------------------------------------------------===//

std::string configName(const char *family, int mask, int64_t L, int64_t D,
                       int threads) {
  return std::string(family) + "/" + kMasks[mask].name + "/L:" +
         std::to_string(L) + "/D:" + std::to_string(D) +
         "/threads:" + std::to_string(threads);
}

void registerAll() {
  const bool longRun = envFlag("TMIX_BENCH_LONG", false);
  std::vector<int64_t> lengths = envList(
      "TMIX_BENCH_LENGTHS",
      longRun ? std::vector<int64_t>{512, 2048, 8192}
              : std::vector<int64_t>{512, 2048});
  std::vector<int64_t> threadList =
      envList("TMIX_BENCH_THREADS", {1, int64_t(allCores())});
  std::sort(threadList.begin(), threadList.end());
  threadList.erase(std::unique(threadList.begin(), threadList.end()),
                   threadList.end());
  const int64_t naiveMaxL = envList("TMIX_BENCH_NAIVE_MAX_L", {512}).front();

  // (mask, L, D) of every attention configuration: the main matrix, then the
  // odd shapes (a length that is not a multiple of any tile; a head size that
  // is not a power of two), full and causal.
  struct Shape {
    int mask;
    int64_t L, D;
    bool odd;
  };
  std::vector<Shape> shapes;
  // The 512-key window equals the causal mask while L <= 513: skip it there.
  for (int64_t L : lengths)
    for (int mask : {kNone, kCausal, kWindow})
      if (mask != kWindow || L > 513)
        shapes.push_back({mask, L, 64, false});
  if (envFlag("TMIX_BENCH_ODD", true))
    for (std::pair<int64_t, int64_t> odd : {std::make_pair(333, 64),
                                            std::make_pair(1024, 80)})
      for (int mask : {kNone, kCausal})
        shapes.push_back({mask, odd.first, odd.second, true});

  // Families are registered one after the other (all OpenBLAS runs, then all
  // tmix runs) so that the idle worker threads of one threading runtime
  // (OpenBLAS' pthreads, tmix's libomp) rarely spin while the other works.
  for (int64_t t : threadList)
    benchmark::RegisterBenchmark(
        ("sgemm_peak/N:" + std::to_string(kSgemmN) + "/threads:" +
         std::to_string(t)).c_str(),
        [t](benchmark::State &s) { sgemmPeak(s, int(t)); })
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond);
  for (const Shape &sh : shapes)
    for (int64_t t : threadList) {
      std::string name = configName("openblas_unfused", sh.mask, sh.L, sh.D, int(t));
      benchmark::RegisterBenchmark(name.c_str(), [=](benchmark::State &s) {
        openblasUnfused(s, name, sh.mask, sh.L, sh.D, int(t));
      })->UseRealTime()->Unit(benchmark::kMillisecond);
    }
  for (const Shape &sh : shapes)
    for (int64_t t : threadList) {
      std::string name = configName("tmix", sh.mask, sh.L, sh.D, int(t));
      benchmark::RegisterBenchmark(name.c_str(), [=](benchmark::State &s) {
        tmixAttention(s, name, sh.mask, sh.L, sh.D, int(t));
      })->UseRealTime()->Unit(benchmark::kMillisecond);
    }
  for (const Shape &sh : shapes) {
    if (sh.odd || sh.L > naiveMaxL)
      continue;
    std::string name = configName("naive", sh.mask, sh.L, sh.D, 1);
    benchmark::RegisterBenchmark(name.c_str(), [=](benchmark::State &s) {
      naive(s, name, sh.mask, sh.L, sh.D);
    })->UseRealTime()->Unit(benchmark::kMillisecond);
  }
}

} // namespace

int main(int argc, char **argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv))
    return 1;
  registerAll();

  benchmark::AddCustomContext("openblas", openblas_get_config());
  benchmark::AddCustomContext("openblas_core", openblas_get_corename());
  benchmark::AddCustomContext("cores", std::to_string(allCores()));
  benchmark::AddCustomContext("tmix_artifact_d64", TMIX_BENCH_ATTENTION_D64);
  benchmark::AddCustomContext("tmix_artifact_d80", TMIX_BENCH_ATTENTION_D80);
  std::string error;
  if (tmixrt_module *module = artifact(64, error)) {
    benchmark::AddCustomContext("tmix_producer", tmixrt_module_producer(module));
    benchmark::AddCustomContext(
        "tmix_multithreaded",
        tmixrt_module_is_multithreaded(module) ? "yes" : "no");
  } else {
    std::fprintf(stderr, "tmix-attention-bench: warning: %s\n", error.c_str());
  }

  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
