//===- Attention.cpp - reference softmax attention ------------------------===//

#include "Reference/Attention.h"

#include <cmath>
#include <limits>

using namespace tmix::ref;

bool Mask::keeps(int64_t i, int64_t j, int64_t L, int64_t S) const {
  const int64_t p = i + S - L; // queries are right-aligned to the keys
  auto inWindow = [&] { return p - left <= j && j <= p + right; };
  auto floorDiv = [](int64_t a, int64_t b) {
    int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
  };
  switch (kind) {
  case MaskKind::None:
    return true;
  case MaskKind::Causal:
    return j <= p;
  case MaskKind::Window:
    return inWindow();
  case MaskKind::BlockLocal:
    return floorDiv(p, block) == floorDiv(j, block);
  case MaskKind::Dilated: {
    int64_t delta = p - j;
    return delta >= 0 && delta < width * dilation && delta % dilation == 0;
  }
  case MaskKind::GlobalLocal:
    return p < global || j < global || inWindow();
  }
  return false;
}

std::string Mask::toMLIR() const {
  auto s = [](int64_t v) { return std::to_string(v); };
  switch (kind) {
  case MaskKind::None:
    return "#mixer.mask<none>";
  case MaskKind::Causal:
    return "#mixer.mask<causal>";
  case MaskKind::Window:
    return "#mixer.mask<window, left = " + s(left) + ", right = " + s(right) +
           ">";
  case MaskKind::BlockLocal:
    return "#mixer.mask<block_local, block = " + s(block) + ">";
  case MaskKind::Dilated:
    return "#mixer.mask<dilated, width = " + s(width) +
           ", dilation = " + s(dilation) + ">";
  case MaskKind::GlobalLocal:
    return "#mixer.mask<global_local, global = " + s(global) +
           ", left = " + s(left) + ", right = " + s(right) + ">";
  }
  return "";
}

void tmix::ref::attention(const AttentionShape &sh,
                          const std::vector<double> &q,
                          const std::vector<double> &k,
                          const std::vector<double> &v,
                          const std::vector<double> &bias,
                          const std::array<int64_t, 4> &biasDims,
                          double scale, const Mask &mask,
                          std::vector<double> &out, std::vector<double> &lse) {
  const int64_t group = sh.Hq / sh.Hkv;
  out.assign(sh.B * sh.Hq * sh.L * sh.Dv, 0.0);
  lse.assign(sh.B * sh.Hq * sh.L, 0.0);
  std::vector<double> s(sh.S), w(sh.S);
  for (int64_t b = 0; b < sh.B; ++b)
    for (int64_t h = 0; h < sh.Hq; ++h) {
      const int64_t hk = h / group;
      for (int64_t i = 0; i < sh.L; ++i) {
        double rowMax = -std::numeric_limits<double>::infinity();
        for (int64_t j = 0; j < sh.S; ++j) {
          if (!mask.keeps(i, j, sh.L, sh.S)) {
            s[j] = -std::numeric_limits<double>::infinity();
            continue;
          }
          double dot = 0;
          for (int64_t d = 0; d < sh.D; ++d)
            dot += q[((b * sh.Hq + h) * sh.L + i) * sh.D + d] *
                   k[((b * sh.Hkv + hk) * sh.S + j) * sh.D + d];
          s[j] = scale * dot;
          if (!bias.empty()) {
            int64_t bb = biasDims[0] == 1 ? 0 : b;
            int64_t bh = biasDims[1] == 1 ? 0 : h;
            int64_t bi = biasDims[2] == 1 ? 0 : i;
            int64_t bj = biasDims[3] == 1 ? 0 : j;
            s[j] += bias[((bb * biasDims[1] + bh) * biasDims[2] + bi) *
                             biasDims[3] +
                         bj];
          }
          rowMax = std::max(rowMax, s[j]);
        }
        double *o = &out[((b * sh.Hq + h) * sh.L + i) * sh.Dv];
        double &l = lse[(b * sh.Hq + h) * sh.L + i];
        if (rowMax == -std::numeric_limits<double>::infinity()) {
          l = -std::numeric_limits<double>::infinity(); // output stays 0
          continue;
        }
        double sum = 0;
        for (int64_t j = 0; j < sh.S; ++j) {
          w[j] = std::exp(s[j] - rowMax);
          sum += w[j];
        }
        for (int64_t j = 0; j < sh.S; ++j)
          for (int64_t e = 0; e < sh.Dv; ++e)
            o[e] += w[j] / sum * v[((b * sh.Hkv + hk) * sh.S + j) * sh.Dv + e];
        l = rowMax + std::log(sum);
      }
    }
}
