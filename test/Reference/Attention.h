//===- Attention.h - reference softmax attention ----------------*- C++ -*-===//
//
// A plain loop nest in double precision, written from mixers.md §2.0, used
// only as the oracle of tests. It shares no code with the compiler.
//
//===----------------------------------------------------------------------===//

#ifndef TMIX_TEST_REFERENCE_ATTENTION_H
#define TMIX_TEST_REFERENCE_ATTENTION_H

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace tmix::ref {

enum class MaskKind { None, Causal, Window, BlockLocal, Dilated, GlobalLocal };

struct Mask {
  MaskKind kind = MaskKind::None;
  int64_t left = 0, right = 0, block = 0, width = 0, dilation = 0, global = 0;

  /// Whether key `j` is visible to query row `i` of `L` rows over `S` keys.
  bool keeps(int64_t i, int64_t j, int64_t L, int64_t S) const;
  /// The `#mixer.mask<...>` spelling of this mask.
  std::string toMLIR() const;
};

struct AttentionShape {
  int64_t B = 1, Hq = 1, Hkv = 1, L = 1, S = 1, D = 1, Dv = 1;
};

/// Row-major tensors: q [B,Hq,L,D], k [B,Hkv,S,D], v [B,Hkv,S,Dv].
/// `bias`, when non-empty, has dims `biasDims` (each 1 or the full extent of
/// [B,Hq,L,S]). Writes out [B,Hq,L,Dv] and lse [B,Hq,L]; a row with no
/// visible key gets output 0 and lse -inf.
void attention(const AttentionShape &shape, const std::vector<double> &q,
               const std::vector<double> &k, const std::vector<double> &v,
               const std::vector<double> &bias,
               const std::array<int64_t, 4> &biasDims, double scale,
               const Mask &mask, std::vector<double> &out,
               std::vector<double> &lse);

} // namespace tmix::ref

#endif // TMIX_TEST_REFERENCE_ATTENTION_H
