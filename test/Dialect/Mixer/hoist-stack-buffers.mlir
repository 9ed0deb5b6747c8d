// RUN: tmix-opt %s --split-input-file --allow-unregistered-dialect --pass-pipeline="builtin.module(func.func(mixer-hoist-stack-buffers))" | FileCheck %s

// A score tile allocated in the key loop of a parallel tile moves out of the
// sequential loops (up to the parallel body), so the stack does not grow per
// iteration.
// CHECK-LABEL: func.func @key_loop
// CHECK: scf.forall
// CHECK-NEXT: %[[T:.+]] = memref.alloca() : memref<4x8xf32>
// CHECK-NEXT: scf.for
// CHECK-NEXT: scf.for
// CHECK-NOT: memref.alloca
// CHECK: linalg.fill ins(%{{.+}} : f32) outs(%[[T]] : memref<4x8xf32>)
func.func @key_loop(%n: index, %out: memref<4x8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %z = arith.constant 0.0 : f32
  scf.forall (%i) in (4) {
    scf.for %j = %c0 to %n step %c1 {
      scf.for %k = %c0 to %n step %c1 {
        %tile = memref.alloca() : memref<4x8xf32>
        linalg.fill ins(%z : f32) outs(%tile : memref<4x8xf32>)
        memref.copy %tile, %out : memref<4x8xf32> to memref<4x8xf32>
      }
    }
  }
  return
}

// -----

// Without a parallel loop the buffer goes to the function body; an alloca
// already outside loops, and dynamic ones, stay where they are.
// CHECK-LABEL: func.func @serial
// CHECK: %[[B:.+]] = memref.alloca() : memref<8xf32>
// CHECK-NEXT: %[[A:.+]] = memref.alloca() : memref<16xf32>
// CHECK-NEXT: scf.for
// CHECK-NEXT: %[[D:.+]] = memref.alloca(%{{.+}}) : memref<?xf32>
// CHECK-NEXT: "test.use"(%[[A]], %[[B]], %[[D]])
func.func @serial(%n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %b = memref.alloca() : memref<8xf32>
  scf.for %j = %c0 to %n step %c1 {
    %d = memref.alloca(%n) : memref<?xf32>
    %a = memref.alloca() : memref<16xf32>
    "test.use"(%a, %b, %d) : (memref<16xf32>, memref<8xf32>, memref<?xf32>) -> ()
  }
  return
}

// -----

// A buffer the loop passes on (yielded, here through a cast) stays in the
// loop: the next iteration reads it.
// CHECK-LABEL: func.func @yielded
// CHECK: scf.for
// CHECK-NEXT: memref.alloca() : memref<16xf32>
// CHECK: scf.yield
func.func @yielded(%n: index, %init: memref<?xf32>) -> memref<?xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %r = scf.for %j = %c0 to %n step %c1 iter_args(%prev = %init) -> (memref<?xf32>) {
    %a = memref.alloca() : memref<16xf32>
    %c = memref.cast %a : memref<16xf32> to memref<?xf32>
    scf.yield %c : memref<?xf32>
  }
  return %r : memref<?xf32>
}
