// Runs mixer.attention through tmix-reference-pipeline (decomposition into
// unfused linalg, scalar loops, LLVM) on the JIT of mlir-runner, and compares
// with numbers computed independently by scripts/attention_reference.py
// (float64 Python): GQA (Hq = 2, Hkv = 1), L = 5 > S = 4 with a causal mask
// (queries right-aligned, so row 0 sees no key: output 0 and lse -inf), an
// explicit scale and a rank-2 bias broadcast over batch and heads.

// RUN: tmix-opt %s --tmix-reference-pipeline \
// RUN: | mlir-runner -e main -entry-point-result=void \
// RUN:     -shared-libs=%mlir_runner_utils,%mlir_c_runner_utils \
// RUN: | FileCheck %s

func.func @attention(%q: tensor<1x2x5x3xf32>, %k: tensor<1x1x4x3xf32>, %v: tensor<1x1x4x2xf32>, %b: tensor<5x4xf32>) -> (tensor<1x2x5x2xf32>, tensor<1x2x5xf32>) {
  %o, %l = mixer.attention %q, %k, %v, %b {mask = #mixer.mask<causal>, scale = 0.5 : f32}
      : (tensor<1x2x5x3xf32>, tensor<1x1x4x3xf32>, tensor<1x1x4x2xf32>, tensor<5x4xf32>) -> (tensor<1x2x5x2xf32>, tensor<1x2x5xf32>)
  return %o, %l : tensor<1x2x5x2xf32>, tensor<1x2x5xf32>
}

// max |a - b| over all elements, where equal values (-inf too) count as 0.
func.func @max_abs_diff(%a: tensor<20xf32>, %b: tensor<20xf32>) -> f32 {
  %zero = arith.constant 0.0 : f32
  %init = tensor.empty() : tensor<f32>
  %acc = linalg.fill ins(%zero : f32) outs(%init : tensor<f32>) -> tensor<f32>
  %r = linalg.generic {indexing_maps = [affine_map<(i) -> (i)>, affine_map<(i) -> (i)>, affine_map<(i) -> ()>],
                       iterator_types = ["reduction"]}
      ins(%a, %b : tensor<20xf32>, tensor<20xf32>) outs(%acc : tensor<f32>) {
  ^bb0(%x: f32, %y: f32, %m: f32):
    %eq = arith.cmpf oeq, %x, %y : f32
    %d = arith.subf %x, %y : f32
    %ad = math.absf %d : f32
    %e = arith.select %eq, %zero, %ad : f32
    %n = arith.maximumf %m, %e : f32
    linalg.yield %n : f32
  } -> tensor<f32>
  %v = tensor.extract %r[] : tensor<f32>
  return %v : f32
}

func.func private @printMemrefF32(memref<*xf32>) attributes {llvm.emit_c_interface}

func.func @main() {
  %q = arith.constant dense<[[[[-8.17700000e-01, -5.91000000e-01, -2.60000000e-01], [-4.93200000e-01, -1.40300000e-01, 2.37400000e-01], [-1.80000000e-02, 3.53300000e-01, 6.62200000e-01], [4.62700000e-01, 7.39000000e-01, 8.84800000e-01], [8.02000000e-01, 8.99000000e-01, 8.37100000e-01]], [[-4.39600000e-01, -7.23500000e-01, -8.79500000e-01], [-7.89600000e-01, -8.97300000e-01, -8.46600000e-01], [-8.98400000e-01, -7.97100000e-01, -5.55000000e-01], [-7.32800000e-01, -4.53500000e-01, -9.40000000e-02], [-3.43400000e-01, 2.87000000e-02, 3.95800000e-01]]]]> : tensor<1x2x5x3xf32>
  %k = arith.constant dense<[[[[-8.73500000e-01, -8.85500000e-01, -7.41000000e-01], [-8.55300000e-01, -6.64600000e-01, -3.56600000e-01], [-5.75900000e-01, -2.40800000e-01, 1.36800000e-01], [-1.20600000e-01, 2.56500000e-01, 5.88300000e-01]]]]> : tensor<1x1x4x3xf32>
  %v = arith.constant dense<[[[[-5.46900000e-01, -7.92300000e-01], [-8.43000000e-01, -8.98100000e-01], [-8.81700000e-01, -7.29500000e-01], [-6.51000000e-01, -3.38200000e-01]]]]> : tensor<1x1x4x2xf32>
  %b = arith.constant dense<[[7.14900000e-01, 8.76400000e-01, 8.83100000e-01, 7.33800000e-01], [8.96100000e-01, 8.51300000e-01, 6.56100000e-01, 3.45000000e-01], [8.03600000e-01, 5.66100000e-01, 2.28700000e-01, -1.49200000e-01], [4.65700000e-01, 1.08100000e-01, -2.68600000e-01, -5.97800000e-01], [-1.45000000e-02, -3.83000000e-01, -6.83800000e-01, -8.63900000e-01]]> : tensor<5x4xf32>
  %expected_out = arith.constant dense<[[[[0.00000000e+00, 0.00000000e+00], [-5.46900000e-01, -7.92300000e-01], [-6.89669301e-01, -8.43313144e-01], [-7.52646335e-01, -8.04573063e-01], [-7.20375834e-01, -6.34996203e-01]], [[0.00000000e+00, 0.00000000e+00], [-5.46900000e-01, -7.92300000e-01], [-6.62867258e-01, -8.33736460e-01], [-7.02251102e-01, -8.15362078e-01], [-7.12537794e-01, -7.27445674e-01]]]]> : tensor<1x2x5x2xf32>
  %expected_lse = arith.constant dense<[[[0xFF800000, 1.08566622e+00, 1.06779304e+00, 6.61224018e-01, 4.75223508e-01], [0xFF800000, 1.95190267e+00, 2.25152293e+00, 1.71733845e+00, 1.01559471e+00]]]> : tensor<1x2x5xf32>
  %o, %l = call @attention(%q, %k, %v, %b) : (tensor<1x2x5x3xf32>, tensor<1x1x4x3xf32>, tensor<1x1x4x2xf32>, tensor<5x4xf32>) -> (tensor<1x2x5x2xf32>, tensor<1x2x5xf32>)

  %tol = arith.constant 1.0e-5 : f32
  %o1 = tensor.collapse_shape %o [[0, 1, 2, 3]] : tensor<1x2x5x2xf32> into tensor<20xf32>
  %e1 = tensor.collapse_shape %expected_out [[0, 1, 2, 3]] : tensor<1x2x5x2xf32> into tensor<20xf32>
  %do = call @max_abs_diff(%o1, %e1) : (tensor<20xf32>, tensor<20xf32>) -> f32
  %ok_o = arith.cmpf olt, %do, %tol : f32
  // CHECK: output matches: 1
  vector.print str "output matches: "
  vector.print %ok_o : i1

  %pad = arith.constant 0.0 : f32
  %l1 = tensor.collapse_shape %l [[0, 1, 2]] : tensor<1x2x5xf32> into tensor<10xf32>
  %el1 = tensor.collapse_shape %expected_lse [[0, 1, 2]] : tensor<1x2x5xf32> into tensor<10xf32>
  %l2 = tensor.pad %l1 low[0] high[10] { ^bb0(%i: index): tensor.yield %pad : f32 } : tensor<10xf32> to tensor<20xf32>
  %el2 = tensor.pad %el1 low[0] high[10] { ^bb0(%i: index): tensor.yield %pad : f32 } : tensor<10xf32> to tensor<20xf32>
  %dl = call @max_abs_diff(%l2, %el2) : (tensor<20xf32>, tensor<20xf32>) -> f32
  %ok_l = arith.cmpf olt, %dl, %tol : f32
  // CHECK: lse matches: 1
  vector.print str "lse matches: "
  vector.print %ok_l : i1

  // The fully masked first row of each head is exactly 0, its lse -inf.
  // CHECK: sizes = [1, 2, 5, 2]
  // CHECK-NEXT: {{\[\[\[\[}}0, {{ *}}0],
  // CHECK: sizes = [1, 2, 5]
  // CHECK-NEXT: {{\[\[\[}}-inf,
  %om = bufferization.to_buffer %o : tensor<1x2x5x2xf32> to memref<1x2x5x2xf32>
  %ou = memref.cast %om : memref<1x2x5x2xf32> to memref<*xf32>
  call @printMemrefF32(%ou) : (memref<*xf32>) -> ()
  %lm = bufferization.to_buffer %l : tensor<1x2x5xf32> to memref<1x2x5xf32>
  %lu = memref.cast %lm : memref<1x2x5xf32> to memref<*xf32>
  call @printMemrefF32(%lu) : (memref<*xf32>) -> ()
  return
}
