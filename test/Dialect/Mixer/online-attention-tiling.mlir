// RUN: tmix-opt %s --transform-interpreter | FileCheck %s

// mixer.online_attention's TilingInterface drives upstream tiling: the
// transform dialect's tile_using_for tiles query heads by 4 (two whole GQA
// groups of 2: key/value heads h/2 .. h/2 + 1), query rows by 16 and keys by
// 32 (a reduction: the state is threaded through iter_args). Each tile shifts
// row_pos / col_pos by its offsets so the causal mask stays exact.

// CHECK-DAG: #[[KV:.+]] = affine_map<(d0) -> (d0 floordiv 2)>
// CHECK-LABEL: func.func @tile_with_upstream_driver
// CHECK-SAME: %[[Q:[a-zA-Z0-9]+]]: tensor<1x8x64x32xf32>, %[[K:[a-zA-Z0-9]+]]: tensor<1x4x96x32xf32>, %[[V:[a-zA-Z0-9]+]]: tensor<1x4x96x32xf32>, %[[RP:[a-zA-Z0-9]+]]: index, %[[CP:[a-zA-Z0-9]+]]: index
// CHECK: scf.for %[[H:.+]] = %{{.+}} to %{{.+}} step %{{.+}} iter_args(
// CHECK:   scf.for %[[I:.+]] = %{{.+}} to %{{.+}} step %{{.+}} iter_args(
// CHECK:     scf.for %[[J:.+]] = %{{.+}} to %{{.+}} step %{{.+}} iter_args(%[[ACC:.+]] = %{{.+}}, %[[M:.+]] = %{{.+}}, %[[L:.+]] = %{{.+}})
// CHECK:       %[[KVH:.+]] = affine.apply #[[KV]](%[[H]])
// CHECK:       %[[QT:.+]] = tensor.extract_slice %[[Q]][0, %[[H]], %[[I]], 0] [1, 4, 16, 32]
// CHECK:       %[[KT:.+]] = tensor.extract_slice %[[K]][0, %[[KVH]], %[[J]], 0] [1, 2, 32, 32]
// CHECK:       %[[VT:.+]] = tensor.extract_slice %[[V]][0, %[[KVH]], %[[J]], 0] [1, 2, 32, 32]
// CHECK:       %[[AT:.+]] = tensor.extract_slice %[[ACC]][0, %[[H]], %[[I]], 0] [1, 4, 16, 32]
// CHECK:       %[[RPT:.+]] = arith.addi %[[RP]], %[[I]] : index
// CHECK:       %[[CPT:.+]] = arith.addi %[[CP]], %[[J]] : index
// CHECK:       mixer.online_attention %[[QT]], %[[KT]], %[[VT]] at(%[[RPT]], %[[CPT]]) outs(%[[AT]], %{{.+}}, %{{.+}}) {mask = #mixer.mask<causal>} : tensor<1x4x16x32xf32>, tensor<1x2x32x32xf32>, tensor<1x2x32x32xf32>
// CHECK:       tensor.insert_slice {{.+}} into %[[ACC]][0, %[[H]], %[[I]], 0] [1, 4, 16, 32]
func.func @tile_with_upstream_driver(%q: tensor<1x8x64x32xf32>, %k: tensor<1x4x96x32xf32>, %v: tensor<1x4x96x32xf32>, %rp: index, %cp: index, %acc: tensor<1x8x64x32xf32>, %m: tensor<1x8x64xf32>, %l: tensor<1x8x64xf32>) -> (tensor<1x8x64x32xf32>, tensor<1x8x64xf32>, tensor<1x8x64xf32>) {
  %a:3 = mixer.online_attention %q, %k, %v at(%rp, %cp) outs(%acc, %m, %l) {mask = #mixer.mask<causal>} : tensor<1x8x64x32xf32>, tensor<1x4x96x32xf32>, tensor<1x4x96x32xf32> -> tensor<1x8x64x32xf32>, tensor<1x8x64xf32>, tensor<1x8x64xf32>
  return %a#0, %a#1, %a#2 : tensor<1x8x64x32xf32>, tensor<1x8x64xf32>, tensor<1x8x64xf32>
}

module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    %op = transform.structured.match ops{["mixer.online_attention"]} in %root : (!transform.any_op) -> !transform.any_op
    %tiled, %loops:3 = transform.structured.tile_using_for %op tile_sizes [0, 4, 16, 32] : (!transform.any_op) -> (!transform.any_op, !transform.any_op, !transform.any_op, !transform.any_op)
    transform.yield
  }
}
