// Causal grouped-query attention (8 query heads sharing 2 key/value heads),
// B = 1, L = S = 512, D = 64, f32, written in the mixer dialect.
//
// scripts/run-example.sh lowers it with tmix-reference-pipeline and runs
// @main on mlir-runner's JIT: it fills deterministic inputs, times
// @attention, and prints a checksum and a few output values.

func.func @attention(%q: tensor<1x8x512x64xf32>, %k: tensor<1x2x512x64xf32>,
                     %v: tensor<1x2x512x64xf32>) -> tensor<1x8x512x64xf32> {
  %o = mixer.attention %q, %k, %v {mask = #mixer.mask<causal>}
      : (tensor<1x8x512x64xf32>, tensor<1x2x512x64xf32>, tensor<1x2x512x64xf32>)
      -> tensor<1x8x512x64xf32>
  return %o : tensor<1x8x512x64xf32>
}

// x[b, h, i, d] = 0.5 * sin(0.0173 * flat_index + seed)
func.func @input(%seed: f32, %h: index) -> tensor<1x?x512x64xf32> {
  %t = tensor.generate %h {
  ^bb0(%b: index, %hh: index, %i: index, %d: index):
    %c512 = arith.constant 512 : index
    %c64 = arith.constant 64 : index
    %r = arith.muli %hh, %c512 : index
    %r2 = arith.addi %r, %i : index
    %r3 = arith.muli %r2, %c64 : index
    %flat = arith.addi %r3, %d : index
    %fi = arith.index_cast %flat : index to i64
    %f = arith.sitofp %fi : i64 to f32
    %step = arith.constant 0.0173 : f32
    %a = arith.mulf %f, %step : f32
    %a2 = arith.addf %a, %seed : f32
    %s = math.sin %a2 : f32
    %half = arith.constant 0.5 : f32
    %x = arith.mulf %s, %half : f32
    tensor.yield %x : f32
  } : tensor<1x?x512x64xf32>
  return %t : tensor<1x?x512x64xf32>
}

func.func private @rtclock() -> f64

func.func @main() {
  %c2 = arith.constant 2 : index
  %c8 = arith.constant 8 : index
  %s0 = arith.constant 0.1 : f32
  %s1 = arith.constant 1.3 : f32
  %s2 = arith.constant 2.9 : f32
  %qd = call @input(%s0, %c8) : (f32, index) -> tensor<1x?x512x64xf32>
  %kd = call @input(%s1, %c2) : (f32, index) -> tensor<1x?x512x64xf32>
  %vd = call @input(%s2, %c2) : (f32, index) -> tensor<1x?x512x64xf32>
  %q = tensor.cast %qd : tensor<1x?x512x64xf32> to tensor<1x8x512x64xf32>
  %k = tensor.cast %kd : tensor<1x?x512x64xf32> to tensor<1x2x512x64xf32>
  %v = tensor.cast %vd : tensor<1x?x512x64xf32> to tensor<1x2x512x64xf32>

  %t0 = call @rtclock() : () -> f64
  %o = call @attention(%q, %k, %v)
      : (tensor<1x8x512x64xf32>, tensor<1x2x512x64xf32>, tensor<1x2x512x64xf32>)
      -> tensor<1x8x512x64xf32>
  %t1 = call @rtclock() : () -> f64
  %dt = arith.subf %t1, %t0 : f64

  // Checksum: the sum of all outputs.
  %zero = arith.constant 0.0 : f32
  %init = tensor.empty() : tensor<f32>
  %acc = linalg.fill ins(%zero : f32) outs(%init : tensor<f32>) -> tensor<f32>
  %sum = linalg.reduce ins(%o : tensor<1x8x512x64xf32>) outs(%acc : tensor<f32>)
      dimensions = [0, 1, 2, 3]
      (%x: f32, %a: f32) {
        %n = arith.addf %x, %a : f32
        linalg.yield %n : f32
      }
  %total = tensor.extract %sum[] : tensor<f32>

  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c3 = arith.constant 3 : index
  %c511 = arith.constant 511 : index
  %o0 = tensor.extract %o[%c0, %c0, %c0, %c0] : tensor<1x8x512x64xf32>
  %o1 = tensor.extract %o[%c0, %c3, %c511, %c1] : tensor<1x8x512x64xf32>
  vector.print str "attention: causal GQA, B=1 Hq=8 Hkv=2 L=S=512 D=64, f32\n"
  vector.print str "output[0,0,0,0]    = "
  vector.print %o0 : f32
  vector.print str "output[0,3,511,1]  = "
  vector.print %o1 : f32
  vector.print str "sum of outputs     = "
  vector.print %total : f32
  vector.print str "time per call (s)  = "
  vector.print %dt : f64
  return
}
