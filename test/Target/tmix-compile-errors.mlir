// Every module tmix-compile cannot export gives a located error, a non-zero
// exit, and no output file.
// RUN: rm -rf %t && split-file %s %t
// RUN: not tmix-compile %t/scalar.mlir -o %t/scalar.so 2>&1 | FileCheck %s --check-prefix=SCALAR
// RUN: not tmix-compile %t/f64.mlir -o %t/f64.so 2>&1 | FileCheck %s --check-prefix=F64
// RUN: not tmix-compile %t/underived.mlir -o %t/underived.so 2>&1 | FileCheck %s --check-prefix=UNDERIVED
// RUN: not tmix-compile %t/blocks.mlir -o %t/blocks.so 2>&1 | FileCheck %s --check-prefix=BLOCKS
// RUN: not tmix-compile %t/empty.mlir -o %t/empty.so 2>&1 | FileCheck %s --check-prefix=EMPTY
// RUN: not tmix-compile %t/reserved.mlir -o %t/reserved.so 2>&1 | FileCheck %s --check-prefix=RESERVED
// RUN: not tmix-compile %t/scalar.mlir -o %t/twice.so --target=cpu,cpu 2>&1 | FileCheck %s --check-prefix=TWICE
// RUN: not tmix-compile %t/scalar.mlir -o %t/tpu.so --target=tpu 2>&1 | FileCheck %s --check-prefix=UNKNOWN
// RUN: not tmix-compile %t/invalid.mlir -o %t/invalid.so 2>&1 | FileCheck %s --check-prefix=INVALID
// RUN: not tmix-compile %t/invalid.mlir -o %t/tiles.so --edge-tile=0 2>&1 | FileCheck %s --check-prefix=TILES
// RUN: not ls %t/*.so

// SCALAR: scalar.mlir:1:1: error: tmix-compile: argument #1 of @f is 'f32'; entry points take and return ranked tensors
// F64: error: tmix-compile: result #0 of @f has element type 'f64'; supported: f32, f16, bf16, i32, i64
// UNDERIVED: error: tmix-compile: dim 0 of result #0 of @f is dynamic and not known to equal an argument dim
// BLOCKS: error: tmix-compile: @f must have a single block ending in func.return to be exported
// EMPTY: error: tmix-compile: the module has no public function with a body to export
// RESERVED: error: tmix-compile: function names starting with '__tmix_' are reserved
// TWICE: error: tmix-compile: target 'cpu' given twice in 'cpu,cpu'
// UNKNOWN: error: tmix-compile: unknown target 'tpu'; supported: cpu, cuda, cpu,cuda
// TILES: tmix-compile: --query-tile, --key-tile and --edge-tile must be >= 1
// INVALID: invalid.mlir:2:8: error: 'mixer.attention' op head dim of 'key' (D = 16) does not match 'query' (D = 8)

//--- scalar.mlir
func.func @f(%q: tensor<1x1x4x8xf32>, %s: f32) -> tensor<1x1x4x8xf32> {
  return %q : tensor<1x1x4x8xf32>
}
//--- f64.mlir
func.func @f(%q: tensor<4xf32>) -> tensor<4xf64> {
  %r = arith.extf %q : tensor<4xf32> to tensor<4xf64>
  return %r : tensor<4xf64>
}
//--- underived.mlir
func.func @f(%n: tensor<2xi64>) -> tensor<?xf32> {
  %c0 = arith.constant 0 : index
  %i = tensor.extract %n[%c0] : tensor<2xi64>
  %d = arith.index_cast %i : i64 to index
  %e = tensor.empty(%d) : tensor<?xf32>
  return %e : tensor<?xf32>
}
//--- blocks.mlir
func.func @f(%q: tensor<4xf32>) -> tensor<4xf32> {
  cf.br ^bb1
^bb1:
  return %q : tensor<4xf32>
}
//--- empty.mlir
func.func private @f(%q: tensor<4xf32>) -> tensor<4xf32> {
  return %q : tensor<4xf32>
}
//--- reserved.mlir
func.func @__tmix_dps_f(%q: tensor<4xf32>) -> tensor<4xf32> {
  return %q : tensor<4xf32>
}
//--- invalid.mlir
func.func @f(%q: tensor<1x1x4x8xf32>, %k: tensor<1x1x4x16xf32>) -> tensor<1x1x4x8xf32> {
  %o = mixer.attention %q, %k, %q : (tensor<1x1x4x8xf32>, tensor<1x1x4x16xf32>, tensor<1x1x4x8xf32>) -> tensor<1x1x4x8xf32>
  return %o : tensor<1x1x4x8xf32>
}
