// Causal grouped-query attention in the mixer dialect: 8 query heads share 2
// key/value heads, head dim 64, f32; batch and sequence lengths are dynamic.
//
//   tmix-compile examples/attention.mlir -o libattention.so --emit-header attention.h
//   tmix-run libattention.so --random-inputs --shape=query=1x8x1024x64 \
//       --shape=key=1x2x1024x64 --shape=value=1x2x1024x64 --benchmark=10
//
// (scripts/run-example.sh does exactly this.)

func.func @attention(%q: tensor<?x8x?x64xf32> {tmix.name = "query"},
                     %k: tensor<?x2x?x64xf32> {tmix.name = "key"},
                     %v: tensor<?x2x?x64xf32> {tmix.name = "value"})
    -> (tensor<?x8x?x64xf32> {tmix.name = "output"},
        tensor<?x8x?xf32> {tmix.name = "lse"}) {
  %o, %lse = mixer.attention %q, %k, %v {mask = #mixer.mask<causal>}
      : (tensor<?x8x?x64xf32>, tensor<?x2x?x64xf32>, tensor<?x2x?x64xf32>)
      -> (tensor<?x8x?x64xf32>, tensor<?x8x?xf32>)
  return %o, %lse : tensor<?x8x?x64xf32>, tensor<?x8x?xf32>
}
