// RUN: tmix-opt %s --inline --symbol-dce | FileCheck %s

// Mixer ops are legal to inline (the dialect's inliner interface): a model
// function inlines into its caller, as tmix-compile's entry wrappers need.
// CHECK-LABEL: func.func @caller
// CHECK-NOT: call @attention
// CHECK: mixer.attention
// CHECK-NOT: func.func private @attention
func.func private @attention(%q: tensor<1x2x8x16xf32>) -> tensor<1x2x8x16xf32> {
  %o = mixer.attention %q, %q, %q {mask = #mixer.mask<causal>} : (tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>) -> tensor<1x2x8x16xf32>
  return %o : tensor<1x2x8x16xf32>
}
func.func @caller(%q: tensor<1x2x8x16xf32>) -> tensor<1x2x8x16xf32> {
  %o = func.call @attention(%q) : (tensor<1x2x8x16xf32>) -> tensor<1x2x8x16xf32>
  return %o : tensor<1x2x8x16xf32>
}
