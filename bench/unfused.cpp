//===- unfused.cpp - sgemm -> masked softmax -> sgemm ---------------------===//
//
// The unfused baseline: what a framework without a fused attention kernel
// does. Per head, OpenBLAS computes the scaled scores scale·Q·Kᵀ into an
// L×S scratch (all of it, whatever the mask: that is what "unfused" costs),
// a row softmax over the visible keys turns them into probabilities (masked
// keys get weight 0 and are never exponentiated), and OpenBLAS multiplies
// P·V. bench/CMakeLists.txt compiles this file with vector expf (libmvec)
// and reassociated reductions, so the softmax loops are vectorised.
//
//===----------------------------------------------------------------------===//

#include "baselines.h"

#include <cblas.h>

#include <cmath>
#include <cstring>

using namespace tmixbench;

void tmixbench::unfusedAttention(const Problem &p, const float *q,
                                 const float *k, const float *v, float *out,
                                 float *scores) {
  const int64_t L = p.L, S = p.S, D = p.D;
  for (int64_t h = 0; h < p.H; ++h) {
    const float *qh = q + h * L * D;
    const float *kh = k + h * S * D;
    const float *vh = v + h * S * D;
    float *oh = out + h * L * D;

    // scores = scale · Q Kᵀ   (L×D times D×S)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(L), int(S),
                int(D), p.scale, qh, int(D), kh, int(D), 0.0f, scores, int(S));

    // Row softmax over the visible keys [lo, hi]; everything else gets 0.
    for (int64_t i = 0; i < L; ++i) {
      float *row = scores + i * S;
      int64_t lo, hi;
      p.mask.range(i, L, S, lo, hi);
      if (hi < lo) { // no visible key: output row 0
        std::memset(row, 0, sizeof(float) * size_t(S));
        continue;
      }
      if (lo > 0)
        std::memset(row, 0, sizeof(float) * size_t(lo));
      if (hi + 1 < S)
        std::memset(row + hi + 1, 0, sizeof(float) * size_t(S - hi - 1));
      float *x = row + lo;
      const int64_t n = hi - lo + 1;
      float m = x[0];
      for (int64_t j = 1; j < n; ++j)
        m = std::fmax(m, x[j]);
      float sum = 0.0f;
      for (int64_t j = 0; j < n; ++j) {
        const float e = std::exp(x[j] - m);
        x[j] = e;
        sum += e;
      }
      const float inv = 1.0f / sum;
      for (int64_t j = 0; j < n; ++j)
        x[j] *= inv;
    }

    // out = P V   (L×S times S×D)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(L), int(D),
                int(S), 1.0f, scores, int(S), vh, int(D), 0.0f, oh, int(D));
  }
}
