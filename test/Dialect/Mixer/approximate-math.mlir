// RUN: tmix-opt %s -mixer-approximate-math | FileCheck %s

// exp and log become arith-only polynomials (scalars and vectors alike);
// other math ops are left alone.
// CHECK-LABEL: func.func @exp_log
// CHECK-NOT: math.exp
// CHECK-NOT: math.log
// CHECK: arith.mulf
// CHECK: math.sqrt
func.func @exp_log(%x: f32, %v: vector<16xf32>) -> (f32, vector<16xf32>, f32) {
  %e = math.exp %x : f32
  %l = math.log %v : vector<16xf32>
  %s = math.sqrt %x : f32
  return %e, %l, %s : f32, vector<16xf32>, f32
}

// The approximation keeps exp(-inf) = 0 (masked attention scores), checked
// numerically through the tiled pipeline by the unit tests; here only that
// no libm call remains after lowering.
// CHECK-LABEL: func.func @softmax_row
// CHECK-NOT: math.exp
func.func @softmax_row(%s: tensor<8xf32>) -> tensor<8xf32> {
  %init = tensor.empty() : tensor<8xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(i) -> (i)>, affine_map<(i) -> (i)>], iterator_types = ["parallel"]} ins(%s : tensor<8xf32>) outs(%init : tensor<8xf32>) {
  ^bb0(%a: f32, %o: f32):
    %e = math.exp %a : f32
    linalg.yield %e : f32
  } -> tensor<8xf32>
  return %r : tensor<8xf32>
}

// An exp tagged tmix.exp_nonpositive (the softmax's exp(s - max)) takes the
// short expansion: 2^(x log2 e) with the exponent clamped at -127 (so that
// exp(-inf) is the +0 of a zero exponent field), a degree-6 polynomial for
// 2^f and 2^k built in the exponent bits. An untagged exp next to it keeps
// MLIR's general approximation (which clamps its input to [-87.8, 88.7]).
// CHECK-LABEL: func.func @exp_nonpositive
// CHECK-SAME: (%[[X:.+]]: vector<8xf32>, %[[Y:.+]]: f32)
// CHECK-NOT:  math.exp
// CHECK:      %[[T:.+]] = arith.mulf %[[X]], %{{.+}} : vector<8xf32>
// CHECK:      %[[LOW:.+]] = arith.cmpf olt, %[[T]], %[[M127:.+]] : vector<8xf32>
// CHECK:      %[[TC:.+]] = arith.select %[[LOW]], %[[M127]], %[[T]]
// CHECK:      %[[K:.+]] = math.roundeven %[[TC]] : vector<8xf32>
// CHECK:      %[[F:.+]] = arith.subf %[[TC]], %[[K]] : vector<8xf32>
// CHECK-COUNT-5: math.fma {{.+}}, %[[F]], {{.+}} : vector<8xf32>
// CHECK:      %[[P:.+]] = math.fma {{.+}}, %[[F]], {{.+}} : vector<8xf32>
// CHECK:      %[[B:.+]] = arith.addf %[[K]], %{{.+}} : vector<8xf32>
// CHECK:      %[[BI:.+]] = arith.bitcast %[[B]] : vector<8xf32> to vector<8xi32>
// CHECK:      %[[S:.+]] = arith.shli %[[BI]], %{{.+}} : vector<8xi32>
// CHECK:      %[[E:.+]] = arith.bitcast %[[S]] : vector<8xi32> to vector<8xf32>
// CHECK:      %[[R:.+]] = arith.mulf %[[P]], %[[E]] : vector<8xf32>
// CHECK-NOT:  math.roundeven
// CHECK:      return %[[R]]
func.func @exp_nonpositive(%x: vector<8xf32>, %y: f32) -> (vector<8xf32>, f32) {
  %e = math.exp %x {tmix.exp_nonpositive} : vector<8xf32>
  %g = math.exp %y : f32
  return %e, %g : vector<8xf32>, f32
}
