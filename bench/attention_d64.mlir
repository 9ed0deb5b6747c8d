// Benchmark artifact: B=1, H=8, D=64 with dynamic L and S, one function per
// mask (the window is 512 keys back, none ahead). Compiled by tmix-compile at
// build time (bench/CMakeLists.txt).

func.func @attention_none(%q: tensor<1x8x?x64xf32> {tmix.name = "query"}, %k: tensor<1x8x?x64xf32> {tmix.name = "key"}, %v: tensor<1x8x?x64xf32> {tmix.name = "value"}) -> (tensor<1x8x?x64xf32> {tmix.name = "output"}) {
  %o = mixer.attention %q, %k, %v {mask = #mixer.mask<none>} : (tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>) -> tensor<1x8x?x64xf32>
  return %o : tensor<1x8x?x64xf32>
}

func.func @attention_causal(%q: tensor<1x8x?x64xf32> {tmix.name = "query"}, %k: tensor<1x8x?x64xf32> {tmix.name = "key"}, %v: tensor<1x8x?x64xf32> {tmix.name = "value"}) -> (tensor<1x8x?x64xf32> {tmix.name = "output"}) {
  %o = mixer.attention %q, %k, %v {mask = #mixer.mask<causal>} : (tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>) -> tensor<1x8x?x64xf32>
  return %o : tensor<1x8x?x64xf32>
}

func.func @attention_window512(%q: tensor<1x8x?x64xf32> {tmix.name = "query"}, %k: tensor<1x8x?x64xf32> {tmix.name = "key"}, %v: tensor<1x8x?x64xf32> {tmix.name = "value"}) -> (tensor<1x8x?x64xf32> {tmix.name = "output"}) {
  %o = mixer.attention %q, %k, %v {mask = #mixer.mask<window, left = 512, right = 0>} : (tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>, tensor<1x8x?x64xf32>) -> tensor<1x8x?x64xf32>
  return %o : tensor<1x8x?x64xf32>
}
