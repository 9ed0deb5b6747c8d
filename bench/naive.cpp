//===- naive.cpp - the naive attention loop nest --------------------------===//
//
// Plain loops in f32, one query row at a time, as a first implementation
// would be written: scores with the mask predicate tested per key, max, exp,
// sum, then the weighted sum of value rows. Single-threaded, default flags.
//
//===----------------------------------------------------------------------===//

#include "baselines.h"

#include <cmath>
#include <limits>

using namespace tmixbench;

void tmixbench::naiveAttention(const Problem &p, const float *q,
                               const float *k, const float *v, float *out,
                               float *row) {
  const int64_t L = p.L, S = p.S, D = p.D;
  for (int64_t h = 0; h < p.H; ++h)
    for (int64_t i = 0; i < L; ++i) {
      const float *qi = q + (h * L + i) * D;
      float *oi = out + (h * L + i) * D;
      float m = -std::numeric_limits<float>::infinity();
      for (int64_t j = 0; j < S; ++j) {
        if (!p.mask.keeps(i, j, L, S))
          continue;
        const float *kj = k + (h * S + j) * D;
        float dot = 0.0f;
        for (int64_t d = 0; d < D; ++d)
          dot += qi[d] * kj[d];
        row[j] = dot * p.scale;
        m = std::max(m, row[j]);
      }
      for (int64_t d = 0; d < D; ++d)
        oi[d] = 0.0f;
      if (m == -std::numeric_limits<float>::infinity())
        continue; // no visible key
      float sum = 0.0f;
      for (int64_t j = 0; j < S; ++j) {
        if (!p.mask.keeps(i, j, L, S))
          continue;
        const float w = std::exp(row[j] - m);
        sum += w;
        const float *vj = v + (h * S + j) * D;
        for (int64_t d = 0; d < D; ++d)
          oi[d] += w * vj[d];
      }
      for (int64_t d = 0; d < D; ++d)
        oi[d] /= sum;
    }
}
