//===- gpu_attention_bench.cu - tmix CUDA attention vs unfused cuBLAS -----===//
//
// Benchmarks the CUDA attention tmix-compile produces against an unfused
// "eager framework" path built from cuBLAS, in the same process, on one GPU
// (docs/benchmarks.md, "GPU attention (H200)").
//
//   tmix    the functions full_dD / causal_dD of an artifact compiled from
//           bench/attention_gpu.mlir (tmix-compile --target=cuda), called
//           through libtmixrt with device tensors
//           (tmixrt_function_invoke_into into a preallocated result)
//   cuBLAS  per head (strided-batched over B x H): S = scale Q Kᵀ
//           (cublasGemmStridedBatchedEx, bf16 inputs, f32 compute) into an
//           L x S scratch of f32 or bf16 scores, a masked row softmax (this
//           file: one block per row, max/exp/sum/normalise, masked keys
//           weight 0, P in bf16), then O = P V into the bf16 output. Heads
//           are processed in chunks when the scratch does not fit.
//
// bf16, B = 1, H = 8 (Hq = Hkv), L = S, default scale 1/sqrt(D), inputs
// seeded uniform(-1, 1). Every call is timed by wall clock between two
// cudaDeviceSynchronize (the tmix entry point runs on its own non-blocking
// stream and synchronizes it, so events on another stream would not time
// it); the median of the timed calls is reported. Flops: 4 B H L S D, half of
// that for causal, for both implementations.
//
// Correctness, before timing: the tmix output (first filled with NaN) is
// compared element by element with the cuBLAS path's (f32 scores), and both
// with a double-precision reference computed on the host for sampled rows.
// An error over --tol (or a NaN) marks the configuration FAIL.
//
// This file needs nvcc, the CUDA runtime and cuBLAS; the compiler and
// libtmixrt do not (libtmixrt dlopens the driver). Both use the device's
// primary context, so device pointers are shared.
//
//===----------------------------------------------------------------------===//

#include "tmixrt/tmixrt_cuda.h"

#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

const char *const kProgram = "gpu_attention_bench";
constexpr int64_t kBatch = 1;
constexpr int64_t kHeads = 8;

//===----------------------------------------------------------------------===//
// Small utilities
//===----------------------------------------------------------------------===//

std::string format(const char *fmt, ...) {
  va_list args, copy;
  va_start(args, fmt);
  va_copy(copy, args);
  int n = std::vsnprintf(nullptr, 0, fmt, copy);
  va_end(copy);
  std::string out(n > 0 ? size_t(n) : 0, '\0');
  if (n > 0)
    std::vsnprintf(&out[0], size_t(n) + 1, fmt, args);
  va_end(args);
  return out;
}

/// Takes a tmixrt status: "" for OK, else its message (the status is freed).
std::string take(tmixrt_status status) {
  if (!status)
    return "";
  std::string message = tmixrt_status_message(status);
  tmixrt_status_free(status);
  return message.empty() ? "unknown tmixrt error" : message;
}

std::string cudaMessage(const char *what, cudaError_t error) {
  return format("%s: %s (%s)", what, cudaGetErrorName(error),
                cudaGetErrorString(error));
}

std::string cublasMessage(const char *what, cublasStatus_t status) {
  return format("%s: %s (%s)", what, cublasGetStatusName(status),
                cublasGetStatusString(status));
}

/// splitmix64, as tmix-run --random-inputs uses it.
struct SplitMix64 {
  uint64_t state;
  uint64_t next() {
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  /// Uniform in [-1, 1).
  float uniform() { return float(next() >> 40) * (2.0f / 16777216.0f) - 1.0f; }
};

/// float -> bf16 bits, round to nearest even (NaN stays NaN).
uint16_t toBf16(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  if ((bits & 0x7FFFFFFFu) > 0x7F800000u)
    return uint16_t((bits >> 16) | 0x40);
  bits += 0x7FFFu + ((bits >> 16) & 1u);
  return uint16_t(bits >> 16);
}

float fromBf16(uint16_t h) {
  uint32_t bits = uint32_t(h) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

double median(std::vector<double> v) {
  if (v.empty())
    return NAN;
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

double seconds() {
  return std::chrono::duration<double>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string jsonString(const std::string &s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += char(c);
    } else if (c < 0x20) {
      out += format("\\u%04x", c);
    } else {
      out += char(c);
    }
  }
  return out + "\"";
}

std::string jsonNumber(double x) {
  if (!std::isfinite(x))
    return "null";
  return format("%.6g", x);
}

std::string csvField(const std::string &s) {
  if (s.find_first_of(",\"\n") == std::string::npos)
    return s;
  std::string out = "\"";
  for (char c : s)
    out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

/// Writes `text` to `path` through a temporary file and a rename, so that a
/// reader never sees half a file.
std::string writeFile(const std::string &path, const std::string &text) {
  std::string tmp = path + ".tmp";
  FILE *f = std::fopen(tmp.c_str(), "w");
  if (!f)
    return format("cannot write '%s': %s", tmp.c_str(), std::strerror(errno));
  bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  ok = std::fclose(f) == 0 && ok;
  if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    return format("cannot write '%s': %s", path.c_str(), std::strerror(errno));
  }
  return "";
}

//===----------------------------------------------------------------------===//
// Options
//===----------------------------------------------------------------------===//

struct Options {
  std::string artifact;
  std::vector<int64_t> lengths = {4096, 16384};
  std::vector<int64_t> dims = {64, 128};
  std::vector<std::string> masks = {"full", "causal"};
  std::vector<std::string> scores = {"f32", "bf16"}; // cuBLAS score scratch
  int warmup = 2;
  int reps = 10;
  double maxSeconds = 3.0; // per implementation and configuration
  double tol = 2e-2;
  uint64_t seed = 1;
  int device = 0;
  int refRows = 16;
  bool peak = true;
  std::string json, csv;
};

void usage(FILE *out) {
  static const char *const lines[] = {
      "Times the functions full_dD / causal_dD of a tmix CUDA artifact",
      "(tmix-compile bench/attention_gpu.mlir --target=cuda) against an",
      "unfused cuBLAS path (GEMM, masked softmax, GEMM); bf16, B=1, H=8, L=S.",
      "",
      "  --artifact=FILE      the artifact (or the one positional argument)",
      "  --lengths=A,B,...    L = S values (default 4096,16384)",
      "  --dims=A,B,...       head dims D (default 64,128)",
      "  --masks=full,causal  masks (default both)",
      "  --baseline-scores=f32,bf16",
      "                       element type of the cuBLAS path's L x S score",
      "                       scratch, one timed variant each (default both);",
      "                       the first is the correctness reference",
      "  --warmup=N           untimed calls per implementation (default 2)",
      "  --reps=N             timed calls; the median is reported (default 10)",
      "  --max-seconds=X      stop timing an implementation once its timed",
      "                       calls took X s and 3 ran, or took 2X s (3)",
      "  --tol=X              max abs error allowed (default 2e-2)",
      "  --seed=N             input seed (default 1)",
      "  --device=N           CUDA device (default 0)",
      "  --ref-rows=N         rows checked against the host reference (16)",
      "  --no-peak            skip the cuBLAS bf16 GEMM peak measurement",
      "  --quick              L = 4096 only, --reps=5, --warmup=1",
      "  --json=FILE          write the results as JSON (rewritten after",
      "                       each configuration)",
      "  --csv=FILE           write the results as CSV",
      "",
      "Exit status: 0 every configuration ran and passed its checks; 1 an",
      "error (no device, artifact, CUDA or cuBLAS failure, a failed call);",
      "2 bad usage; 3 a wrong result (FAIL).",
  };
  std::fprintf(out, "usage: %s --artifact=FILE.so [options]\n\n", kProgram);
  for (const char *line : lines)
    std::fprintf(out, "%s\n", line);
}

bool parseInt(const std::string &text, int64_t lo, int64_t hi, int64_t &out) {
  if (text.empty())
    return false;
  char *end = nullptr;
  errno = 0;
  long long v = std::strtoll(text.c_str(), &end, 10);
  if (errno || *end || v < lo || v > hi)
    return false;
  out = v;
  return true;
}

bool parseDouble(const std::string &text, double lo, double hi, double &out) {
  if (text.empty())
    return false;
  char *end = nullptr;
  errno = 0;
  double v = std::strtod(text.c_str(), &end);
  if (errno || *end || !(v >= lo && v <= hi))
    return false;
  out = v;
  return true;
}

std::vector<std::string> split(const std::string &text) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t comma = text.find(',', start);
    parts.push_back(text.substr(start, comma - start));
    if (comma == std::string::npos)
      return parts;
    start = comma + 1;
  }
}

/// "" on success, else the message for a usage error.
std::string parseOptions(int argc, char **argv, Options &o) {
  bool quick = false, repsSet = false, warmupSet = false, lengthsSet = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    size_t eq = arg.find('=');
    std::string key = arg.substr(0, eq);
    std::string value = eq == std::string::npos ? "" : arg.substr(eq + 1);
    bool hasValue = eq != std::string::npos;
    auto need = [&]() -> std::string {
      return hasValue && !value.empty() ? ""
                                        : format("%s needs a value (%s=...)",
                                                 key.c_str(), key.c_str());
    };
    int64_t n = 0;
    if (key == "--help" || key == "-h") {
      usage(stdout);
      std::exit(0);
    } else if (key == "--artifact") {
      if (std::string e = need(); !e.empty())
        return e;
      o.artifact = value;
    } else if (key == "--lengths" || key == "--dims") {
      if (std::string e = need(); !e.empty())
        return e;
      std::vector<int64_t> list;
      for (const std::string &part : split(value)) {
        if (!parseInt(part, 1, int64_t(1) << 20, n))
          return format("%s: '%s' is not a positive integer <= 2^20",
                        key.c_str(), part.c_str());
        list.push_back(n);
      }
      (key == "--lengths" ? o.lengths : o.dims) = list;
      lengthsSet |= key == "--lengths";
    } else if (key == "--masks") {
      if (std::string e = need(); !e.empty())
        return e;
      o.masks = split(value);
      for (const std::string &m : o.masks)
        if (m != "full" && m != "causal")
          return format("--masks: unknown mask '%s' (full, causal)", m.c_str());
    } else if (key == "--baseline-scores") {
      if (std::string e = need(); !e.empty())
        return e;
      o.scores = split(value);
      for (const std::string &s : o.scores)
        if (s != "f32" && s != "bf16")
          return format("--baseline-scores: unknown type '%s' (f32, bf16)",
                        s.c_str());
    } else if (key == "--warmup" || key == "--reps" || key == "--seed" ||
               key == "--device" || key == "--ref-rows") {
      int64_t lo = key == "--reps" ? 1 : 0;
      int64_t hi = key == "--seed" ? INT64_MAX : 1000000;
      if (!hasValue || !parseInt(value, lo, hi, n))
        return format("%s: expected an integer in [%" PRId64 ", %" PRId64
                      "], got '%s'",
                      key.c_str(), lo, hi, value.c_str());
      if (key == "--warmup") {
        o.warmup = int(n);
        warmupSet = true;
      } else if (key == "--reps") {
        o.reps = int(n);
        repsSet = true;
      } else if (key == "--seed") {
        o.seed = uint64_t(n);
      } else if (key == "--device") {
        o.device = int(n);
      } else {
        o.refRows = int(n);
      }
    } else if (key == "--max-seconds" || key == "--tol") {
      double x = 0;
      if (!hasValue || !parseDouble(value, 0, 1e6, x) || x <= 0)
        return format("%s: expected a positive number, got '%s'", key.c_str(),
                      value.c_str());
      (key == "--tol" ? o.tol : o.maxSeconds) = x;
    } else if (key == "--json" || key == "--csv") {
      if (std::string e = need(); !e.empty())
        return e;
      (key == "--json" ? o.json : o.csv) = value;
    } else if (key == "--no-peak" && !hasValue) {
      o.peak = false;
    } else if (key == "--quick" && !hasValue) {
      quick = true;
    } else if (arg.size() > 1 && arg[0] == '-') {
      return format("unknown option '%s' (see --help)", arg.c_str());
    } else if (o.artifact.empty()) {
      o.artifact = arg;
    } else {
      return format("unexpected argument '%s' (the artifact is '%s')",
                    arg.c_str(), o.artifact.c_str());
    }
  }
  if (quick) {
    if (!lengthsSet)
      o.lengths = {4096};
    if (!repsSet)
      o.reps = 5;
    if (!warmupSet)
      o.warmup = 1;
  }
  if (o.artifact.empty())
    return "no artifact given (--artifact=FILE.so; see --help)";
  return "";
}

//===----------------------------------------------------------------------===//
// The unfused cuBLAS path
//===----------------------------------------------------------------------===//

constexpr int kSoftmaxThreads = 256;

__device__ inline float loadScore(const float *p) { return *p; }
__device__ inline float loadScore(const __nv_bfloat16 *p) {
  return __bfloat162float(*p);
}

/// Merges two (max, sum of exp(x - max)) pairs.
__device__ inline void combine(float &m, float &s, float m2, float s2) {
  float mx = fmaxf(m, m2);
  if (mx == -INFINITY)
    return; // both empty
  s = s * expf(m - mx) + s2 * expf(m2 - mx);
  m = mx;
}

/// One block per row of `rows` rows of length S (row r is query i = r % L
/// of head r / L): P = softmax over the visible keys (all S, or j <= i for
/// causal), masked keys 0, written as bf16. `probs` may alias `scores` when
/// ScoreT is bf16: each element is read and then written by one thread.
template <typename ScoreT>
__global__ void __launch_bounds__(kSoftmaxThreads)
    maskedSoftmaxRows(const ScoreT *scores, __nv_bfloat16 *probs, int64_t L,
                      int64_t S, int causal) {
  __shared__ float warpMax[kSoftmaxThreads / 32], warpSum[kSoftmaxThreads / 32];
  __shared__ float rowMax, rowInv;
  const int64_t row = blockIdx.x;
  const int64_t i = row % L;
  const ScoreT *s = scores + row * S;
  __nv_bfloat16 *p = probs + row * S;
  const int64_t visible = causal ? (i + 1 < S ? i + 1 : S) : S;

  // Per thread: running max and sum (online softmax), one pass over the row.
  float m = -INFINITY, sum = 0.0f;
  for (int64_t j = threadIdx.x; j < visible; j += blockDim.x) {
    float x = loadScore(s + j);
    if (x > m) {
      sum = sum * expf(m - x) + 1.0f;
      m = x;
    } else {
      sum += expf(x - m);
    }
  }
  for (int offset = 16; offset > 0; offset /= 2) {
    float m2 = __shfl_xor_sync(0xFFFFFFFFu, m, offset);
    float s2 = __shfl_xor_sync(0xFFFFFFFFu, sum, offset);
    combine(m, sum, m2, s2);
  }
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  if (lane == 0) {
    warpMax[warp] = m;
    warpSum[warp] = sum;
  }
  __syncthreads();
  if (warp == 0) {
    const int warps = blockDim.x / 32;
    m = lane < warps ? warpMax[lane] : -INFINITY;
    sum = lane < warps ? warpSum[lane] : 0.0f;
    for (int offset = 16; offset > 0; offset /= 2) {
      float m2 = __shfl_xor_sync(0xFFFFFFFFu, m, offset);
      float s2 = __shfl_xor_sync(0xFFFFFFFFu, sum, offset);
      combine(m, sum, m2, s2);
    }
    if (lane == 0) {
      rowMax = m;
      rowInv = 1.0f / sum;
    }
  }
  __syncthreads();
  const float mx = rowMax, inv = rowInv;
  for (int64_t j = threadIdx.x; j < S; j += blockDim.x) {
    float v = j < visible ? expf(loadScore(s + j) - mx) * inv : 0.0f;
    p[j] = __float2bfloat16_rn(v);
  }
}

/// The cuBLAS path's buffers for one shape and score type.
struct Unfused {
  cublasHandle_t handle = nullptr;
  bool f32Scores = true;
  int64_t heads = 0, L = 0, S = 0, D = 0;
  int64_t chunk = 0;              // heads per GEMM batch
  void *scores = nullptr;         // chunk x L x S, f32 or bf16
  __nv_bfloat16 *probs = nullptr; // chunk x L x S (== scores for bf16)

  Unfused() = default;
  Unfused(const Unfused &) = delete;
  Unfused &operator=(const Unfused &) = delete;
  ~Unfused() {
    cudaFree(scores);
    if (f32Scores)
      cudaFree(probs);
  }

  /// Allocates the scratch for as many heads per batch as fit in 90% of the
  /// free device memory.
  std::string allocate() {
    size_t freeBytes = 0, totalBytes = 0;
    if (cudaError_t e = cudaMemGetInfo(&freeBytes, &totalBytes))
      return cudaMessage("cudaMemGetInfo", e);
    const double perHead =
        double(L) * double(S) * (f32Scores ? 4.0 + 2.0 : 2.0);
    chunk =
        std::min<int64_t>(heads, int64_t(0.9 * double(freeBytes) / perHead));
    if (chunk < 1)
      return format("the cuBLAS path needs %.2f GiB of scratch per head, but "
                    "only %.2f GiB of %.2f GiB are free",
                    perHead / (1 << 30), double(freeBytes) / (1 << 30),
                    double(totalBytes) / (1 << 30));
    const size_t elements = size_t(chunk) * size_t(L) * size_t(S);
    if (cudaError_t e = cudaMalloc(&scores, elements * (f32Scores ? 4 : 2)))
      return cudaMessage("cudaMalloc (scores)", e);
    if (!f32Scores) {
      probs = static_cast<__nv_bfloat16 *>(scores);
    } else if (cudaError_t e =
                   cudaMalloc(&probs, elements * sizeof(__nv_bfloat16))) {
      probs = nullptr;
      return cudaMessage("cudaMalloc (probabilities)", e);
    }
    return "";
  }

  /// out = softmax(scale q kᵀ, mask) v for all heads; queued on the legacy
  /// stream, not synchronized.
  std::string run(const void *q, const void *k, const void *v, void *out,
                  bool causal) const {
    const float scale = float(1.0 / std::sqrt(double(D)));
    const float one = 1.0f, zero = 0.0f;
    const auto *qb = static_cast<const __nv_bfloat16 *>(q);
    const auto *kb = static_cast<const __nv_bfloat16 *>(k);
    const auto *vb = static_cast<const __nv_bfloat16 *>(v);
    auto *ob = static_cast<__nv_bfloat16 *>(out);
    for (int64_t h0 = 0; h0 < heads; h0 += chunk) {
      const int batch = int(std::min(chunk, heads - h0));
      // Row-major S[L][S] = Q[L][D] K[S][D]ᵀ is column-major Sᵀ (S x L) =
      // op(K)ᵀ Q with K, Q column-major D x S and D x L.
      cublasStatus_t st = cublasGemmStridedBatchedEx(
          handle, CUBLAS_OP_T, CUBLAS_OP_N, int(S), int(L), int(D), &scale,
          kb + h0 * S * D, CUDA_R_16BF, int(D), S * D, qb + h0 * L * D,
          CUDA_R_16BF, int(D), L * D, &zero, scores,
          f32Scores ? CUDA_R_32F : CUDA_R_16BF, int(S), L * S, batch,
          CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
      if (st != CUBLAS_STATUS_SUCCESS)
        return cublasMessage("cublasGemmStridedBatchedEx (Q Kt)", st);
      const unsigned blocks = unsigned(int64_t(batch) * L);
      if (f32Scores)
        maskedSoftmaxRows<float><<<blocks, kSoftmaxThreads>>>(
            static_cast<const float *>(scores), probs, L, S, causal);
      else
        maskedSoftmaxRows<__nv_bfloat16><<<blocks, kSoftmaxThreads>>>(
            static_cast<const __nv_bfloat16 *>(scores), probs, L, S, causal);
      if (cudaError_t e = cudaGetLastError())
        return cudaMessage("softmax launch", e);
      // Row-major O[L][D] = P[L][S] V[S][D] is column-major Oᵀ (D x L) =
      // V (D x S) P (S x L).
      st = cublasGemmStridedBatchedEx(
          handle, CUBLAS_OP_N, CUBLAS_OP_N, int(D), int(L), int(S), &one,
          vb + h0 * S * D, CUDA_R_16BF, int(D), S * D, probs, CUDA_R_16BF,
          int(S), L * S, &zero, ob + h0 * L * D, CUDA_R_16BF, int(D), L * D,
          batch, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
      if (st != CUBLAS_STATUS_SUCCESS)
        return cublasMessage("cublasGemmStridedBatchedEx (P V)", st);
    }
    return "";
  }
};

/// cuBLAS bf16 GEMM (f32 compute, bf16 output) N x N x N: the device's
/// practical tensor-core peak, timed with events. Returns TFLOP/s or NaN.
double gemmPeak(cublasHandle_t handle, int64_t n, std::string &error) {
  void *a = nullptr, *b = nullptr, *c = nullptr;
  const size_t bytes = size_t(n) * size_t(n) * 2;
  cudaEvent_t start = nullptr, stop = nullptr;
  double result = NAN;
  auto gemm = [&]() {
    const float one = 1.0f, zero = 0.0f;
    return cublasGemmEx(handle, CUBLAS_OP_N, CUBLAS_OP_N, int(n), int(n),
                        int(n), &one, a, CUDA_R_16BF, int(n), b, CUDA_R_16BF,
                        int(n), &zero, c, CUDA_R_16BF, int(n),
                        CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
  };
  do {
    cudaError_t e;
    if ((e = cudaMalloc(&a, bytes)) || (e = cudaMalloc(&b, bytes)) ||
        (e = cudaMalloc(&c, bytes))) {
      error = cudaMessage("cudaMalloc", e);
      break;
    }
    // Small values (0x3C00 bf16 = 2^-7), so nothing overflows.
    if ((e = cudaMemset(a, 0x3C, bytes)) || (e = cudaMemset(b, 0x3C, bytes))) {
      error = cudaMessage("cudaMemset", e);
      break;
    }
    if ((e = cudaEventCreate(&start)) || (e = cudaEventCreate(&stop))) {
      error = cudaMessage("cudaEventCreate", e);
      break;
    }
    std::vector<double> ms;
    bool ok = true;
    for (int r = 0; r < 13 && ok; ++r) {
      cudaEventRecord(start);
      cublasStatus_t st = gemm();
      cudaEventRecord(stop);
      if (st != CUBLAS_STATUS_SUCCESS) {
        error = cublasMessage("cublasGemmEx", st);
        ok = false;
      } else if ((e = cudaEventSynchronize(stop))) {
        error = cudaMessage("cudaEventSynchronize", e);
        ok = false;
      } else if (r >= 3) { // 3 warm-up runs
        float t = 0;
        cudaEventElapsedTime(&t, start, stop);
        ms.push_back(t);
      }
    }
    if (ok)
      result =
          2.0 * double(n) * double(n) * double(n) / (median(ms) * 1e-3) / 1e12;
  } while (false);
  if (start)
    cudaEventDestroy(start);
  if (stop)
    cudaEventDestroy(stop);
  cudaFree(a);
  cudaFree(b);
  cudaFree(c);
  return result;
}

//===----------------------------------------------------------------------===//
// Timing and checks
//===----------------------------------------------------------------------===//

struct Timing {
  std::string error; // non-empty when a call failed
  std::vector<double> ms;
  double median() const { return ::median(ms); }
  double min() const {
    return ms.empty() ? NAN : *std::min_element(ms.begin(), ms.end());
  }
};

/// One synchronized call, timed by wall clock: ms, or NaN with `error` set.
template <typename Call>
double timeCall(Call call, std::string &error) {
  if (cudaError_t e = cudaDeviceSynchronize()) {
    error = cudaMessage("cudaDeviceSynchronize (before the call)", e);
    return NAN;
  }
  double t0 = seconds();
  error = call();
  cudaError_t e = cudaDeviceSynchronize();
  double t1 = seconds();
  if (error.empty() && e)
    error = cudaMessage("cudaDeviceSynchronize (after the call)", e);
  return error.empty() ? (t1 - t0) * 1e3 : NAN;
}

/// Warm-up calls, then timed calls until `reps` or the time budget. The
/// check call before (`checkMs`) counts as warm-up time: a call slower than a
/// quarter of the budget gets no other warm-up.
template <typename Call>
Timing timeRepeated(Call call, const Options &o, double checkMs) {
  Timing t;
  double warm = checkMs;
  for (int w = 0; w < o.warmup && warm < 0.25 * o.maxSeconds * 1e3; ++w) {
    double ms = timeCall(call, t.error);
    if (!t.error.empty())
      return t;
    warm += ms;
  }
  double total = 0;
  for (int r = 0; r < o.reps; ++r) {
    double ms = timeCall(call, t.error);
    if (!t.error.empty())
      return t;
    t.ms.push_back(ms);
    total += ms;
    if ((total >= o.maxSeconds * 1e3 && t.ms.size() >= 3) ||
        total >= 2 * o.maxSeconds * 1e3)
      break;
  }
  return t;
}

/// Host copy of a bf16 device tensor as floats.
std::string download(tmixrt_tensor *device, std::vector<float> &out) {
  tmixrt_tensor *host = nullptr;
  std::string e = take(tmixrt_tensor_create(
      tmixrt_tensor_dtype(device), tmixrt_tensor_rank(device),
      tmixrt_tensor_shape(device), &host));
  if (e.empty())
    e = take(tmixrt_tensor_copy(host, device));
  if (e.empty()) {
    const auto *bits = static_cast<const uint16_t *>(tmixrt_tensor_data(host));
    out.resize(tmixrt_tensor_element_count(host));
    for (size_t i = 0; i < out.size(); ++i)
      out[i] = fromBf16(bits[i]);
  }
  tmixrt_tensor_release(host);
  return e;
}

/// Max |a - b|; infinity when either has a NaN where the other does not.
double maxAbsDiff(const float *a, const float *b, size_t n) {
  double err = 0;
  for (size_t i = 0; i < n; ++i) {
    if (std::isnan(a[i]) || std::isnan(b[i]))
      return INFINITY;
    err = std::max(err, std::fabs(double(a[i]) - double(b[i])));
  }
  return err;
}

/// Inputs of one (L, D) on the host (bf16 values as floats) and the device.
struct Inputs {
  int64_t L = 0, S = 0, D = 0;
  std::vector<float> q, k, v;
  tmixrt_tensor *dq = nullptr, *dk = nullptr, *dv = nullptr;
  Inputs() = default;
  Inputs(const Inputs &) = delete;
  Inputs &operator=(const Inputs &) = delete;
  ~Inputs() {
    tmixrt_tensor_release(dq);
    tmixrt_tensor_release(dk);
    tmixrt_tensor_release(dv);
  }
};

std::string makeInput(int device, int64_t rows, int64_t D, SplitMix64 &rng,
                      std::vector<float> &values, tmixrt_tensor *&out) {
  const int64_t shape[4] = {kBatch, kHeads, rows, D};
  const size_t n = size_t(kBatch * kHeads * rows * D);
  std::vector<uint16_t> bits(n);
  values.resize(n);
  for (size_t i = 0; i < n; ++i) {
    bits[i] = toBf16(rng.uniform());
    values[i] = fromBf16(bits[i]);
  }
  tmixrt_tensor *host = nullptr;
  std::string e =
      take(tmixrt_tensor_wrap(TMIXRT_BF16, 4, shape, bits.data(), &host));
  if (e.empty())
    e = take(tmixrt_cuda_tensor_create(device, TMIXRT_BF16, 4, shape, &out));
  if (e.empty())
    e = take(tmixrt_tensor_copy(out, host));
  tmixrt_tensor_release(host);
  return e;
}

/// Double-precision attention of query row i of head h; `out` gets D values.
void referenceRow(const Inputs &in, int64_t h, int64_t i, bool causal,
                  std::vector<double> &out) {
  const int64_t S = in.S, D = in.D;
  const float *q = in.q.data() + (h * in.L + i) * D;
  const int64_t visible = causal ? std::min(i + 1, S) : S;
  std::vector<double> p(visible);
  const double scale = 1.0 / std::sqrt(double(D));
  double mx = -INFINITY;
  for (int64_t j = 0; j < visible; ++j) {
    const float *k = in.k.data() + (h * S + j) * D;
    double dot = 0;
    for (int64_t d = 0; d < D; ++d)
      dot += double(q[d]) * double(k[d]);
    p[j] = dot * scale;
    mx = std::max(mx, p[j]);
  }
  double sum = 0;
  for (double &x : p)
    sum += (x = std::exp(x - mx));
  out.assign(D, 0.0);
  for (int64_t j = 0; j < visible; ++j) {
    const float *v = in.v.data() + (h * S + j) * D;
    for (int64_t d = 0; d < D; ++d)
      out[d] += p[j] * double(v[d]);
  }
  for (double &x : out)
    x /= sum;
}

//===----------------------------------------------------------------------===//
// Results
//===----------------------------------------------------------------------===//

struct BaselineResult {
  std::string scores; // "f32" or "bf16"
  Timing timing;
  double refErr = NAN; // vs the host reference rows
  int64_t chunk = 0;
};

struct Result {
  std::string function, mask;
  int64_t L = 0, S = 0, D = 0;
  double flops = 0;
  Timing tmix;
  std::vector<BaselineResult> baselines;
  double errVsCublas = NAN; // tmix vs the first baseline, all elements
  double refErrTmix = NAN;  // tmix vs the host reference rows
  int refRows = 0;
  std::string status; // "ok", "FAIL", "ERROR"
  std::string detail;
};

double tflops(double flops, double ms) { return flops / (ms * 1e-3) / 1e12; }

struct Report {
  std::string device, driver, runtime, cublas, artifact, producer;
  int smCount = 0, ccMajor = 0, ccMinor = 0;
  double memoryGiB = 0, peakTflops = NAN;
  std::string peakError;
  Options options;
  std::vector<Result> results;

  std::string json() const {
    std::string s = "{\n";
    s += "  \"benchmark\": \"gpu_attention_bench\",\n";
    s += "  \"device\": {\"name\": " + jsonString(device) +
         ", \"compute_capability\": " +
         jsonString(format("%d.%d", ccMajor, ccMinor)) +
         ", \"sm_count\": " + std::to_string(smCount) +
         ", \"memory_gib\": " + jsonNumber(memoryGiB) +
         ", \"driver\": " + jsonString(driver) +
         ", \"runtime\": " + jsonString(runtime) +
         ", \"cublas\": " + jsonString(cublas) + "},\n";
    s += "  \"artifact\": " + jsonString(artifact) +
         ", \"producer\": " + jsonString(producer) + ",\n";
    s += "  \"cublas_bf16_gemm_peak_tflops\": " + jsonNumber(peakTflops) +
         (peakError.empty() ? ""
                            : ", \"peak_error\": " + jsonString(peakError)) +
         ",\n";
    s += format("  \"settings\": {\"batch\": %" PRId64 ", \"heads\": %" PRId64
                ", \"dtype\": \"bf16\", \"warmup\": %d, \"reps\": %d, "
                "\"max_seconds\": %g, \"tol\": %g, \"seed\": %" PRIu64
                ", \"timing\": \"wall clock between cudaDeviceSynchronize, "
                "median\"},\n",
                kBatch, kHeads, options.warmup, options.reps,
                options.maxSeconds, options.tol, options.seed);
    s += "  \"results\": [";
    for (size_t i = 0; i < results.size(); ++i) {
      const Result &r = results[i];
      s += i ? ",\n" : "\n";
      s += "    {\"function\": " + jsonString(r.function) +
           ", \"mask\": " + jsonString(r.mask) +
           format(", \"B\": %" PRId64 ", \"H\": %" PRId64 ", \"L\": %" PRId64
                  ", \"S\": %" PRId64 ", \"D\": %" PRId64,
                  kBatch, kHeads, r.L, r.S, r.D) +
           ", \"flops\": " + jsonNumber(r.flops) +
           ", \"status\": " + jsonString(r.status) +
           ", \"detail\": " + jsonString(r.detail) + ",\n";
      s += "     \"tmix\": {\"median_ms\": " + jsonNumber(r.tmix.median()) +
           ", \"min_ms\": " + jsonNumber(r.tmix.min()) +
           ", \"reps\": " + std::to_string(r.tmix.ms.size()) +
           ", \"tflops\": " + jsonNumber(tflops(r.flops, r.tmix.median())) +
           ", \"error\": " + jsonString(r.tmix.error) + "},\n";
      s += "     \"max_abs_err_vs_cublas\": " + jsonNumber(r.errVsCublas) +
           ", \"max_abs_err_tmix_vs_reference\": " + jsonNumber(r.refErrTmix) +
           ", \"reference_rows\": " + std::to_string(r.refRows) + ",\n";
      s += "     \"cublas\": [";
      for (size_t b = 0; b < r.baselines.size(); ++b) {
        const BaselineResult &x = r.baselines[b];
        double speed = x.timing.median() / r.tmix.median();
        s += b ? ", " : "";
        s += "{\"scores\": " + jsonString(x.scores) +
             ", \"median_ms\": " + jsonNumber(x.timing.median()) +
             ", \"min_ms\": " + jsonNumber(x.timing.min()) +
             ", \"reps\": " + std::to_string(x.timing.ms.size()) +
             ", \"tflops\": " + jsonNumber(tflops(r.flops, x.timing.median())) +
             ", \"tmix_speed_ratio\": " + jsonNumber(speed) +
             ", \"heads_per_batch\": " + std::to_string(x.chunk) +
             ", \"max_abs_err_vs_reference\": " + jsonNumber(x.refErr) +
             ", \"error\": " + jsonString(x.timing.error) + "}";
      }
      s += "]}";
    }
    s += "\n  ]\n}\n";
    return s;
  }

  std::string csv() const {
    std::string s = "function,mask,B,H,L,S,D,flops,status,tmix_median_ms,"
                    "tmix_min_ms,tmix_tflops,max_abs_err_vs_cublas,"
                    "max_abs_err_tmix_vs_reference";
    for (const std::string &sc : options.scores)
      s += format(",cublas_%s_median_ms,cublas_%s_tflops,"
                  "tmix_speed_ratio_vs_cublas_%s",
                  sc.c_str(), sc.c_str(), sc.c_str());
    s += ",detail\n";
    auto num = [](double x) {
      return std::isfinite(x) ? format("%.6g", x) : std::string();
    };
    for (const Result &r : results) {
      s += format("%s,%s,%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64
                  ",%" PRId64 ",",
                  r.function.c_str(), r.mask.c_str(), kBatch, kHeads, r.L, r.S,
                  r.D) +
           num(r.flops) + "," + r.status + "," + num(r.tmix.median()) + "," +
           num(r.tmix.min()) + "," + num(tflops(r.flops, r.tmix.median())) +
           "," + num(r.errVsCublas) + "," + num(r.refErrTmix);
      for (const BaselineResult &x : r.baselines)
        s += "," + num(x.timing.median()) + "," +
             num(tflops(r.flops, x.timing.median())) + "," +
             num(x.timing.median() / r.tmix.median());
      s += "," + csvField(r.detail) + "\n";
    }
    return s;
  }
};

std::string cell(double x, const char *fmt) {
  return std::isfinite(x) ? format(fmt, x) : std::string("-");
}

void printHeader(const Options &o) {
  std::printf("%-7s %5s %4s | %9s %7s |", "mask", "L=S", "D", "tmix ms",
              "TF/s");
  for (const std::string &s : o.scores)
    std::printf(" %11s %7s |", ("cuBLAS/" + s).c_str(), "TF/s");
  for (const std::string &s : o.scores)
    std::printf(" %10s", ("speed/" + s).c_str());
  std::printf(" | %8s %8s  %s\n", "err", "ref err", "status");
}

void printRow(const Result &r) {
  std::printf("%-7s %5" PRId64 " %4" PRId64 " | %9s %7s |", r.mask.c_str(), r.L,
              r.D, cell(r.tmix.median(), "%.3f").c_str(),
              cell(tflops(r.flops, r.tmix.median()), "%.1f").c_str());
  for (const BaselineResult &x : r.baselines)
    std::printf(" %11s %7s |", cell(x.timing.median(), "%.3f").c_str(),
                cell(tflops(r.flops, x.timing.median()), "%.1f").c_str());
  for (const BaselineResult &x : r.baselines)
    std::printf(" %10s",
                cell(x.timing.median() / r.tmix.median(), "%.2fx").c_str());
  std::printf(" | %8s %8s  %s%s%s\n", cell(r.errVsCublas, "%.1e").c_str(),
              cell(r.refErrTmix, "%.1e").c_str(), r.status.c_str(),
              r.detail.empty() ? "" : ": ", r.detail.c_str());
  std::fflush(stdout);
}

int fail(const std::string &message, int code = 1) {
  std::fprintf(stderr, "%s: error: %s\n", kProgram, message.c_str());
  return code;
}

void addDetail(Result &r, const std::string &text) {
  r.detail += (r.detail.empty() ? "" : "; ") + text;
}

/// Runs and checks one configuration. Inputs and the device are set up.
void runConfig(const Options &o, const tmixrt_function *fn, cublasHandle_t cb,
               const Inputs &in, bool causal, Result &r) {
  r.refRows = 0;
  const int64_t shape[4] = {kBatch, kHeads, in.L, in.D};
  tmixrt_tensor *out = nullptr, *ref = nullptr;
  auto cleanup = [&]() {
    tmixrt_tensor_release(out);
    tmixrt_tensor_release(ref);
  };
  if (std::string e = take(
          tmixrt_cuda_tensor_create(o.device, TMIXRT_BF16, 4, shape, &out));
      !e.empty()) {
    r.status = "ERROR";
    addDetail(r, e);
    return cleanup();
  }
  if (std::string e = take(
          tmixrt_cuda_tensor_create(o.device, TMIXRT_BF16, 4, shape, &ref));
      !e.empty()) {
    r.status = "ERROR";
    addDetail(r, e);
    return cleanup();
  }
  tmixrt_tensor *args[3] = {in.dq, in.dk, in.dv};
  auto tmixCall = [&]() -> std::string {
    return take(tmixrt_function_invoke_into(fn, args, 3, &out, 1));
  };

  std::vector<Unfused> unfused(o.scores.size());
  for (size_t b = 0; b < o.scores.size(); ++b) {
    Unfused &u = unfused[b];
    u.handle = cb;
    u.f32Scores = o.scores[b] == "f32";
    u.heads = kBatch * kHeads;
    u.L = in.L;
    u.S = in.S;
    u.D = in.D;
  }

  // Checks: tmix (output first set to NaN) against the first baseline over
  // all elements, both against the host reference on sampled rows.
  std::vector<float> got, want;
  const size_t outBytes = tmixrt_tensor_byte_size(out);
  std::string callError;
  double tmixCheckMs = NAN;
  // bf16 0xFFFF is a NaN.
  if (cudaError_t e = cudaMemset(tmixrt_tensor_data(out), 0xFF, outBytes))
    callError = cudaMessage("cudaMemset (tmix output)", e);
  else
    tmixCheckMs = timeCall(tmixCall, callError);
  if (!callError.empty()) {
    r.tmix.error = callError;
    addDetail(r, "tmix: " + callError);
  } else if (std::string e = download(out, got); !e.empty()) {
    r.tmix.error = e;
    addDetail(r, "tmix output: " + e);
  }

  std::vector<int64_t> rowHead, rowIndex;
  SplitMix64 rowRng{o.seed ^ 0xA5A5A5A5ull};
  for (int n = 0; n < o.refRows; ++n) {
    rowHead.push_back(n % (kBatch * kHeads));
    int64_t i = n == 0   ? 0
                : n == 1 ? in.L - 1
                : n == 2 ? in.L / 2
                         : int64_t(rowRng.next() % uint64_t(in.L));
    rowIndex.push_back(i);
  }
  std::vector<std::vector<double>> refRows(rowHead.size());
  for (size_t n = 0; n < rowHead.size(); ++n)
    referenceRow(in, rowHead[n], rowIndex[n], causal, refRows[n]);
  auto refErr = [&](const std::vector<float> &values) {
    double err = 0;
    for (size_t n = 0; n < rowHead.size(); ++n) {
      const float *row =
          values.data() + (rowHead[n] * in.L + rowIndex[n]) * in.D;
      for (int64_t d = 0; d < in.D; ++d) {
        if (std::isnan(row[d]))
          return double(INFINITY);
        err = std::max(err, std::fabs(double(row[d]) - refRows[n][d]));
      }
    }
    return err;
  };
  r.refRows = int(rowHead.size());
  if (r.tmix.error.empty())
    r.refErrTmix = refErr(got);

  for (size_t b = 0; b < unfused.size(); ++b) {
    Unfused &u = unfused[b];
    BaselineResult &br = r.baselines[b];
    if (std::string e = u.allocate(); !e.empty()) {
      br.timing.error = e;
      addDetail(r, "cuBLAS/" + br.scores + ": " + e);
      continue;
    }
    br.chunk = u.chunk;
    auto call = [&]() -> std::string {
      return u.run(tmixrt_tensor_data(in.dq), tmixrt_tensor_data(in.dk),
                   tmixrt_tensor_data(in.dv), tmixrt_tensor_data(ref), causal);
    };
    std::string e;
    double checkMs = NAN;
    if (cudaError_t ce = cudaMemset(tmixrt_tensor_data(ref), 0xFF, outBytes))
      e = cudaMessage("cudaMemset (cuBLAS output)", ce);
    else
      checkMs = timeCall(call, e);
    if (e.empty())
      e = download(ref, want);
    if (!e.empty()) {
      br.timing.error = e;
      addDetail(r, "cuBLAS/" + br.scores + ": " + e);
      continue;
    }
    br.refErr = refErr(want);
    if (!(br.refErr <= o.tol))
      addDetail(r, format("cuBLAS/%s differs from the reference by %.3g",
                          br.scores.c_str(), br.refErr));
    if (b == 0 && r.tmix.error.empty())
      r.errVsCublas = maxAbsDiff(got.data(), want.data(), got.size());
    br.timing = timeRepeated(call, o, checkMs);
    if (!br.timing.error.empty())
      addDetail(r, "cuBLAS/" + br.scores + ": " + br.timing.error);
  }
  unfused.clear(); // frees the scratch before tmix is timed

  if (r.tmix.error.empty()) {
    r.tmix = timeRepeated(tmixCall, o, tmixCheckMs);
    if (!r.tmix.error.empty())
      addDetail(r, "tmix: " + r.tmix.error);
  }

  bool error = !r.tmix.error.empty();
  for (const BaselineResult &b : r.baselines)
    error |= !b.timing.error.empty();
  bool wrong = false;
  if (std::isnan(r.errVsCublas) == false && !(r.errVsCublas <= o.tol)) {
    wrong = true;
    addDetail(r, format("tmix differs from cuBLAS/%s by %.3g (tol %.3g)",
                        r.baselines[0].scores.c_str(), r.errVsCublas, o.tol));
  }
  if (!std::isnan(r.refErrTmix) && !(r.refErrTmix <= o.tol)) {
    wrong = true;
    addDetail(r, format("tmix differs from the reference by %.3g (tol %.3g)",
                        r.refErrTmix, o.tol));
  }
  for (const BaselineResult &b : r.baselines)
    wrong |= !std::isnan(b.refErr) && !(b.refErr <= o.tol);
  r.status = wrong ? "FAIL" : error ? "ERROR" : "ok";
  cleanup();
}

} // namespace

int main(int argc, char **argv) {
  Options o;
  if (std::string e = parseOptions(argc, argv, o); !e.empty())
    return fail(e, 2);
  for (int64_t L : o.lengths)
    if (L > INT32_MAX / kHeads)
      return fail(format("--lengths: %" PRId64 " is too long", L), 2);

  // The artifact and its functions first: loading needs no device.
  tmixrt_module *module = nullptr;
  if (std::string e =
          take(tmixrt_module_load(o.artifact.c_str(), nullptr, &module));
      !e.empty())
    return fail(e);
  struct Fn {
    std::string name, mask;
    int64_t D;
    const tmixrt_function *fn;
  };
  std::vector<Fn> fns;
  for (int64_t D : o.dims)
    for (const std::string &mask : o.masks) {
      Fn f{format("%s_d%" PRId64, mask.c_str(), D), mask, D, nullptr};
      if (std::string e = take(tmixrt_module_lookup_device(
              module, f.name.c_str(), TMIXRT_DEVICE_CUDA, &f.fn));
          !e.empty()) {
        tmixrt_module_release(module);
        return fail(e);
      }
      fns.push_back(f);
    }

  // The device: libtmixrt's driver first (its messages say what is missing),
  // then the CUDA runtime.
  Report report;
  report.options = o;
  report.artifact = o.artifact;
  report.producer = tmixrt_module_producer(module);
  std::string deviceError = take(tmixrt_cuda_init());
  if (deviceError.empty())
    deviceError = take(tmixrt_cuda_set_device(o.device));
  int runtimeCount = 0;
  if (deviceError.empty())
    if (cudaError_t e = cudaGetDeviceCount(&runtimeCount))
      deviceError = cudaMessage("cudaGetDeviceCount", e);
  if (deviceError.empty()) {
    if (cudaError_t e = cudaSetDevice(o.device))
      deviceError = cudaMessage("cudaSetDevice", e);
    else if ((e = cudaFree(nullptr)))
      deviceError = cudaMessage("creating the CUDA context", e);
  }
  if (!deviceError.empty()) {
    tmixrt_module_release(module);
    return fail("no usable CUDA device: " + deviceError);
  }
  cudaDeviceProp prop;
  if (cudaError_t e = cudaGetDeviceProperties(&prop, o.device)) {
    tmixrt_module_release(module);
    return fail(cudaMessage("cudaGetDeviceProperties", e));
  }
  int driverVersion = 0, runtimeVersion = 0;
  cudaDriverGetVersion(&driverVersion);
  cudaRuntimeGetVersion(&runtimeVersion);
  cublasHandle_t cb = nullptr;
  if (cublasStatus_t st = cublasCreate(&cb); st != CUBLAS_STATUS_SUCCESS) {
    tmixrt_module_release(module);
    return fail(cublasMessage("cublasCreate", st));
  }
  int cublasVersion = 0;
  cublasGetVersion(cb, &cublasVersion);
  report.device = prop.name;
  report.ccMajor = prop.major;
  report.ccMinor = prop.minor;
  report.smCount = prop.multiProcessorCount;
  report.memoryGiB = double(prop.totalGlobalMem) / (1 << 30);
  report.driver =
      format("%d.%d", driverVersion / 1000, (driverVersion % 1000) / 10);
  report.runtime =
      format("%d.%d", runtimeVersion / 1000, (runtimeVersion % 1000) / 10);
  report.cublas = std::to_string(cublasVersion);
  std::printf("device %d: %s, sm_%d%d, %d SMs, %.1f GiB; CUDA driver %s, "
              "runtime %s, cuBLAS %d\n",
              o.device, prop.name, prop.major, prop.minor,
              prop.multiProcessorCount, report.memoryGiB, report.driver.c_str(),
              report.runtime.c_str(), cublasVersion);
  std::printf("artifact: %s (%s)\n", o.artifact.c_str(),
              report.producer.c_str());
  if (o.peak) {
    report.peakTflops = gemmPeak(cb, 8192, report.peakError);
    if (report.peakError.empty())
      std::printf("cuBLAS bf16 GEMM 8192^3 (f32 accumulate): %.1f TFLOP/s\n",
                  report.peakTflops);
    else
      std::printf("cuBLAS bf16 GEMM peak: failed: %s\n",
                  report.peakError.c_str());
  }
  std::printf("bf16, B=%" PRId64 ", H=%" PRId64
              ", wall clock per synchronized call, median; speed = cuBLAS "
              "time / tmix time (> 1: tmix faster)\n\n",
              kBatch, kHeads);
  printHeader(o);

  auto save = [&]() {
    bool ok = true;
    if (!o.json.empty())
      if (std::string e = writeFile(o.json, report.json()); !e.empty()) {
        std::fprintf(stderr, "%s: error: %s\n", kProgram, e.c_str());
        ok = false;
      }
    if (!o.csv.empty())
      if (std::string e = writeFile(o.csv, report.csv()); !e.empty()) {
        std::fprintf(stderr, "%s: error: %s\n", kProgram, e.c_str());
        ok = false;
      }
    return ok;
  };

  bool saved = true;
  SplitMix64 rng{o.seed};
  for (int64_t L : o.lengths)
    for (int64_t D : o.dims) {
      Inputs in;
      in.L = in.S = L;
      in.D = D;
      std::string e = makeInput(o.device, L, D, rng, in.q, in.dq);
      if (e.empty())
        e = makeInput(o.device, L, D, rng, in.k, in.dk);
      if (e.empty())
        e = makeInput(o.device, L, D, rng, in.v, in.dv);
      for (const Fn &f : fns) {
        if (f.D != D)
          continue;
        Result r;
        r.function = f.name;
        r.mask = f.mask;
        r.L = L;
        r.S = L;
        r.D = D;
        r.flops = 4.0 * kBatch * kHeads * double(L) * double(L) * double(D) /
                  (f.mask == "causal" ? 2.0 : 1.0);
        for (const std::string &scores : o.scores) {
          BaselineResult b;
          b.scores = scores;
          r.baselines.push_back(b);
        }
        if (!e.empty()) {
          r.status = "ERROR";
          r.detail = "inputs: " + e;
        } else {
          runConfig(o, f.fn, cb, in, f.mask == "causal", r);
        }
        report.results.push_back(r);
        printRow(report.results.back());
        saved = save() && saved;
      }
    }

  int errors = 0, wrong = 0;
  for (const Result &r : report.results) {
    errors += r.status == "ERROR";
    wrong += r.status == "FAIL";
  }
  std::printf("\n%zu configuration(s): %zu ok, %d FAIL (wrong result), %d "
              "ERROR\n",
              report.results.size(), report.results.size() - errors - wrong,
              wrong, errors);
  if (!o.json.empty() && saved)
    std::printf("JSON: %s\n", o.json.c_str());
  if (!o.csv.empty() && saved)
    std::printf("CSV: %s\n", o.csv.c_str());
  cublasDestroy(cb);
  tmixrt_module_release(module);
  if (wrong)
    return 3;
  return errors || !saved ? 1 : 0;
}
