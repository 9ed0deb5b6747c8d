// GPU benchmark artifact (bench/gpu_attention_bench.cu, docs/benchmarks.md,
// "GPU attention (H200)"): bf16, B = 1, H = 8 query and key/value heads,
// D in {64, 128}, dynamic L and S, full and causal mask. Compiled by
// scripts/gpu-check.sh (or by hand):
//
//   tmix-compile bench/attention_gpu.mlir -o attention_gpu.so --target=cuda --gpu-chip=sm_90

func.func @full_d64(%q: tensor<1x8x?x64xbf16> {tmix.name = "query"}, %k: tensor<1x8x?x64xbf16> {tmix.name = "key"}, %v: tensor<1x8x?x64xbf16> {tmix.name = "value"}) -> (tensor<1x8x?x64xbf16> {tmix.name = "output"}) {
  %o = mixer.attention %q, %k, %v {mask = #mixer.mask<none>} : (tensor<1x8x?x64xbf16>, tensor<1x8x?x64xbf16>, tensor<1x8x?x64xbf16>) -> tensor<1x8x?x64xbf16>
  return %o : tensor<1x8x?x64xbf16>
}

func.func @causal_d64(%q: tensor<1x8x?x64xbf16> {tmix.name = "query"}, %k: tensor<1x8x?x64xbf16> {tmix.name = "key"}, %v: tensor<1x8x?x64xbf16> {tmix.name = "value"}) -> (tensor<1x8x?x64xbf16> {tmix.name = "output"}) {
  %o = mixer.attention %q, %k, %v {mask = #mixer.mask<causal>} : (tensor<1x8x?x64xbf16>, tensor<1x8x?x64xbf16>, tensor<1x8x?x64xbf16>) -> tensor<1x8x?x64xbf16>
  return %o : tensor<1x8x?x64xbf16>
}

func.func @full_d128(%q: tensor<1x8x?x128xbf16> {tmix.name = "query"}, %k: tensor<1x8x?x128xbf16> {tmix.name = "key"}, %v: tensor<1x8x?x128xbf16> {tmix.name = "value"}) -> (tensor<1x8x?x128xbf16> {tmix.name = "output"}) {
  %o = mixer.attention %q, %k, %v {mask = #mixer.mask<none>} : (tensor<1x8x?x128xbf16>, tensor<1x8x?x128xbf16>, tensor<1x8x?x128xbf16>) -> tensor<1x8x?x128xbf16>
  return %o : tensor<1x8x?x128xbf16>
}

func.func @causal_d128(%q: tensor<1x8x?x128xbf16> {tmix.name = "query"}, %k: tensor<1x8x?x128xbf16> {tmix.name = "key"}, %v: tensor<1x8x?x128xbf16> {tmix.name = "value"}) -> (tensor<1x8x?x128xbf16> {tmix.name = "output"}) {
  %o = mixer.attention %q, %k, %v {mask = #mixer.mask<causal>} : (tensor<1x8x?x128xbf16>, tensor<1x8x?x128xbf16>, tensor<1x8x?x128xbf16>) -> tensor<1x8x?x128xbf16>
  return %o : tensor<1x8x?x128xbf16>
}
