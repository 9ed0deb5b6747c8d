//===- baselines.h - attention baselines for the benchmarks -----*- C++ -*-===//
//
// The two implementations tmix is measured against, for B = 1 and row-major
// q [H, L, D], k [H, S, D], v [H, S, D], out [H, L, D] (the layout of the
// artifacts' 1xHx?xD tensors):
//
//  - unfusedAttention: per head, cblas_sgemm Q·Kᵀ into an L×S scratch, a
//    masked row softmax in plain loops, cblas_sgemm P·V. OpenBLAS
//    parallelises each sgemm; the heads run one after the other.
//  - naiveAttention: a plain loop nest, one query row at a time, in f32.
//
// Mask semantics are those of #mixer.mask (docs/Dialects/Mixer.md): query i
// sits at p = i + S - L; causal keeps j <= p, window keeps
// p - left <= j <= p + right. Every mask here keeps a contiguous range of
// keys per row; a row with no visible key gets output 0.
//
//===----------------------------------------------------------------------===//

#ifndef TMIX_BENCH_BASELINES_H
#define TMIX_BENCH_BASELINES_H

#include <algorithm>
#include <cstdint>

namespace tmixbench {

enum class MaskKind { None, Causal, Window };

struct Mask {
  MaskKind kind = MaskKind::None;
  int64_t left = 0, right = 0; // window only

  /// The range [lo, hi] of keys visible to query row i (empty when lo > hi).
  void range(int64_t i, int64_t L, int64_t S, int64_t &lo, int64_t &hi) const {
    const int64_t p = i + S - L;
    lo = 0;
    hi = S - 1;
    if (kind == MaskKind::Causal) {
      hi = std::min(hi, p);
    } else if (kind == MaskKind::Window) {
      lo = std::max<int64_t>(lo, p - left);
      hi = std::min(hi, p + right);
    }
  }
  bool keeps(int64_t i, int64_t j, int64_t L, int64_t S) const {
    int64_t lo, hi;
    range(i, L, S, lo, hi);
    return lo <= j && j <= hi;
  }
  /// Number of visible (query, key) pairs of one head.
  double visiblePairs(int64_t L, int64_t S) const {
    double n = 0;
    for (int64_t i = 0; i < L; ++i) {
      int64_t lo, hi;
      range(i, L, S, lo, hi);
      if (hi >= lo)
        n += double(hi - lo + 1);
    }
    return n;
  }
};

struct Problem {
  int64_t H = 8, L = 0, S = 0, D = 64;
  float scale = 0.125f;
  Mask mask;
};

/// Floating-point operations credited to one call, the same for every
/// implementation: 4·B·H·L·S·D for full attention (two matmuls of 2·D flops
/// per query-key pair), halved for causal (the usual convention), and
/// 4·B·H·D per visible pair for a window. Softmax flops are not counted.
inline double attentionFlops(const Problem &p) {
  const double full = 4.0 * double(p.H) * double(p.L) * double(p.S) *
                      double(p.D);
  switch (p.mask.kind) {
  case MaskKind::None:
    return full;
  case MaskKind::Causal:
    return full / 2;
  case MaskKind::Window:
    return 4.0 * double(p.H) * double(p.D) * p.mask.visiblePairs(p.L, p.S);
  }
  return full;
}

/// The unfused OpenBLAS path (unfused.cpp). `scores` holds L·S floats and is
/// overwritten. The thread count is OpenBLAS's (openblas_set_num_threads).
void unfusedAttention(const Problem &p, const float *q, const float *k,
                      const float *v, float *out, float *scores);

/// The naive loop nest (naive.cpp), single-threaded. `row` holds S floats.
void naiveAttention(const Problem &p, const float *q, const float *k,
                    const float *v, float *out, float *row);

} // namespace tmixbench

#endif // TMIX_BENCH_BASELINES_H
