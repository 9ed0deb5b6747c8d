//===- attention_rss.cpp - peak memory of one tmix attention call ---------===//
//
//   tmix-attention-rss L [--mask=causal|none|window512] [--threads=N]
//                        [--d=64|80] [--artifact=PATH]
//
// Allocates q, k, v and the output for B = 1, H = 8, L = S and the given head
// size, fills the inputs (every page touched), runs the tmix function once
// and prints one line of key=value pairs:
//
//   L, D, mask, threads, seconds (the call), tensors_MiB (q, k, v, out),
//   rss_before_MiB (resident before the call: libraries + tensors),
//   peak_rss_MiB (getrusage ru_maxrss), extra_MiB (peak - tensors) and
//   call_growth_MiB (peak - rss_before: what the call itself added).
//
// A fused, tiled kernel keeps call_growth_MiB independent of L (or linear,
// for per-row state); materialising one L×S f32 score matrix would add
// 4·L² bytes. scripts/bench.sh runs this for several L in fresh processes.
//
//===----------------------------------------------------------------------===//

#include "tmixrt/tmixrt.h"

#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#ifndef TMIX_BENCH_ATTENTION_D64
#error "TMIX_BENCH_ATTENTION_D64 must be defined"
#endif
#ifndef TMIX_BENCH_ATTENTION_D80
#error "TMIX_BENCH_ATTENTION_D80 must be defined"
#endif

namespace {

constexpr int64_t kHeads = 8;

[[noreturn]] void fail(const std::string &message) {
  std::fprintf(stderr, "tmix-attention-rss: %s\n", message.c_str());
  std::exit(1);
}

void check(tmixrt_status status, const char *what) {
  if (!status)
    return;
  std::string message = std::string(what) + ": " + tmixrt_status_message(status);
  tmixrt_status_free(status);
  fail(message);
}

double mib(double bytes) { return bytes / (1024.0 * 1024.0); }

/// Resident set size now, from /proc/self/statm.
double currentRssBytes() {
  FILE *f = std::fopen("/proc/self/statm", "r");
  long pages = 0, resident = 0;
  if (!f)
    return 0;
  if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2)
    resident = 0;
  std::fclose(f);
  return double(resident) * double(sysconf(_SC_PAGESIZE));
}

double peakRssBytes() {
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  return double(usage.ru_maxrss) * 1024.0; // KiB on Linux
}

void fillRandom(float *data, size_t n, uint64_t seed) {
  uint64_t state = seed;
  for (size_t i = 0; i < n; ++i) {
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    data[i] = float(double(z >> 40) * 0x1p-23 - 1.0);
  }
}

const char *usage =
    "usage: tmix-attention-rss L [--mask=causal|none|window512] "
    "[--threads=N] [--d=64|80] [--artifact=PATH]";

} // namespace

int main(int argc, char **argv) {
  int64_t L = 0, D = 64;
  int threads = 0; // 0: all cores (the artifact's default)
  std::string mask = "causal", artifact;
  for (int i = 1; i < argc; ++i) {
    const char *a = argv[i];
    auto value = [&](const char *prefix) -> const char * {
      size_t n = std::strlen(prefix);
      return std::strncmp(a, prefix, n) == 0 ? a + n : nullptr;
    };
    if (const char *v = value("--mask="))
      mask = v;
    else if (const char *v = value("--threads="))
      threads = std::atoi(v);
    else if (const char *v = value("--d="))
      D = std::atoll(v);
    else if (const char *v = value("--artifact="))
      artifact = v;
    else if (a[0] != '-' && L == 0)
      L = std::atoll(a);
    else
      fail(std::string("unknown argument '") + a + "'\n" + usage);
  }
  if (L < 1)
    fail(usage);
  if (D != 64 && D != 80)
    fail("--d must be 64 or 80");
  if (mask != "none" && mask != "causal" && mask != "window512")
    fail("--mask must be none, causal or window512");
  if (artifact.empty())
    artifact = D == 80 ? TMIX_BENCH_ATTENTION_D80 : TMIX_BENCH_ATTENTION_D64;

  tmixrt_module_options options;
  tmixrt_module_options_init(&options);
  options.num_threads = threads;
  tmixrt_module *module = nullptr;
  check(tmixrt_module_load(artifact.c_str(), &options, &module), "load");
  const tmixrt_function *fn = nullptr;
  check(tmixrt_module_lookup(module, ("attention_" + mask).c_str(), &fn),
        "lookup");

  const int64_t shape[4] = {1, kHeads, L, D};
  tmixrt_tensor *t[4] = {};
  for (int i = 0; i < 4; ++i)
    check(tmixrt_tensor_create(TMIXRT_F32, 4, shape, &t[i]), "allocate");
  const size_t count = tmixrt_tensor_element_count(t[0]);
  for (int i = 0; i < 3; ++i)
    fillRandom(static_cast<float *>(tmixrt_tensor_data(t[i])), count,
               uint64_t(i + 1));
  // Touch the output too, so that its pages count as tensors, not as
  // memory the call added.
  std::memset(tmixrt_tensor_data(t[3]), 0xff, tmixrt_tensor_byte_size(t[3]));
  const double tensorBytes = 4.0 * double(tmixrt_tensor_byte_size(t[0]));

  const double before = currentRssBytes();
  auto start = std::chrono::steady_clock::now();
  check(tmixrt_function_invoke_into(fn, t, 3, t + 3, 1), "call");
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  const double peak = peakRssBytes();

  // A result that is not all finite means the call did not run properly.
  const float *out = static_cast<const float *>(tmixrt_tensor_data(t[3]));
  size_t bad = 0;
  for (size_t i = 0; i < count; ++i)
    bad += !std::isfinite(out[i]);
  if (bad)
    fail(std::to_string(bad) + " non-finite output values");

  const std::string threadText = threads > 0 ? std::to_string(threads) : "all";
  std::printf("L=%lld D=%lld mask=%s threads=%s seconds=%.3f tensors_MiB=%.1f "
              "rss_before_MiB=%.1f peak_rss_MiB=%.1f extra_MiB=%.1f "
              "call_growth_MiB=%.1f\n",
              (long long)L, (long long)D, mask.c_str(), threadText.c_str(), seconds,
              mib(tensorBytes), mib(before), mib(peak), mib(peak - tensorBytes),
              mib(peak - before));
  for (tmixrt_tensor *x : t)
    tmixrt_tensor_release(x);
  tmixrt_module_release(module);
  return 0;
}
