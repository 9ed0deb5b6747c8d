// RUN: tmix-opt %s --split-input-file --pass-pipeline="builtin.module(func.func(mixer-map-layers-to-gpu))" | FileCheck %s
// RUN: not tmix-opt %s --split-input-file --pass-pipeline="builtin.module(func.func(mixer-map-layers-to-gpu{threads=100}))" 2>&1 | FileCheck %s --check-prefix=THREADS

// The host code's bufferized linalg ops and copies become scf.parallel
// nests mapped to blocks and threads (convert-parallel-loops-to-gpu makes
// each a gpu.launch).

// THREADS: error: mixer-map-layers-to-gpu: threads must be a power of two from 32 to 1024, got 100

// A Linear's contraction [98, 256] over K = 64: blocks of 128 threads over
// the columns (98 x 2 blocks), the reduction a loop in each thread; 256 is a
// multiple of 128, so no guard.
// CHECK-LABEL: func.func @contraction
// CHECK: scf.parallel (%[[BM:.+]], %[[BN:.+]]) = ({{.+}}) to (%c98, %c256)
// CHECK: scf.parallel (%[[TM:.+]], %[[TN:.+]]) =
// CHECK-NOT: scf.if
// CHECK: scf.for %{{.+}} = %{{.+}} to %c64
// CHECK: memref.store
// CHECK: } {mapping = [#gpu.loop_dim_map<processor = thread_y, {{.+}}>, #gpu.loop_dim_map<processor = thread_x, {{.+}}>]}
// CHECK: } {mapping = [#gpu.loop_dim_map<processor = block_y, {{.+}}>, #gpu.loop_dim_map<processor = block_x, {{.+}}>]}
// CHECK-NOT: linalg.
func.func @contraction(%a: memref<98x64xf32>, %b: memref<64x256xf32>, %c: memref<98x256xf32>) {
  linalg.generic {indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (k, n)>, affine_map<(m, n, k) -> (m, n)>], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %b : memref<98x64xf32>, memref<64x256xf32>) outs(%c : memref<98x256xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// [2, 49]: one block of 2 x 64 threads (the smallest power of two over 49),
// the 15 threads past the end guarded.
// CHECK-LABEL: func.func @small_rows
// CHECK-DAG: %[[C2:.+]] = arith.constant 2 : index
// CHECK-DAG: %[[C64:.+]] = arith.constant 64 : index
// CHECK-DAG: %[[C49:.+]] = arith.constant 49 : index
// CHECK: %[[T0:.+]] = arith.muli %{{.+}}, %[[C2]]
// CHECK: %[[T1:.+]] = arith.muli %{{.+}}, %[[C64]]
// CHECK: scf.parallel {{.+}} step (%[[T0]], %[[T1]])
// CHECK: arith.cmpi ult, %{{.+}}, %[[C49]]
// CHECK: scf.if
// CHECK: memref.store
// CHECK-NOT: linalg.fill
func.func @small_rows(%x: memref<2x49xf32>) {
  %z = arith.constant 0.0 : f32
  linalg.fill ins(%z : f32) outs(%x : memref<2x49xf32>)
  return
}

// -----

// A host copy into a strided slice (what a padded buffer's fill leaves):
// a kernel too. Four dims: x, y, z and one sequential.
// CHECK-LABEL: func.func @strided_copy
// CHECK-NOT: memref.copy
// CHECK: memref.load %arg0
// CHECK: memref.store %{{.+}}, %subview
// CHECK: } {mapping = [#gpu.loop_dim_map<processor = sequential, {{.+}}>, #gpu.loop_dim_map<processor = thread_z, {{.+}}>, #gpu.loop_dim_map<processor = thread_y, {{.+}}>, #gpu.loop_dim_map<processor = thread_x, {{.+}}>]}
// CHECK: } {mapping = [#gpu.loop_dim_map<processor = sequential, {{.+}}>, #gpu.loop_dim_map<processor = block_z, {{.+}}>, #gpu.loop_dim_map<processor = block_y, {{.+}}>, #gpu.loop_dim_map<processor = block_x, {{.+}}>]}
func.func @strided_copy(%x: memref<1x4x4x8xf32>, %y: memref<1x6x6x8xf32>) {
  %s = memref.subview %y[0, 1, 1, 0] [1, 4, 4, 8] [1, 1, 1, 1] : memref<1x6x6x8xf32> to memref<1x4x4x8xf32, strided<[288, 48, 8, 1], offset: 56>>
  memref.copy %x, %s : memref<1x4x4x8xf32> to memref<1x4x4x8xf32, strided<[288, 48, 8, 1], offset: 56>>
  return
}

// -----

// No parallel dim: one block of one thread runs the reduction.
// CHECK-LABEL: func.func @full_reduction
// CHECK: scf.parallel (%{{.+}}) = (%{{.+}}) to (%c1)
// CHECK: scf.parallel
// CHECK: scf.for %{{.+}} = %{{.+}} to %c7
// CHECK: scf.for %{{.+}} = %{{.+}} to %c5
// CHECK: } {mapping = [#gpu.loop_dim_map<processor = thread_x, {{.+}}>]}
// CHECK: } {mapping = [#gpu.loop_dim_map<processor = block_x, {{.+}}>]}
func.func @full_reduction(%x: memref<7x5xf32>, %r: memref<f32>) {
  linalg.reduce ins(%x : memref<7x5xf32>) outs(%r : memref<f32>) dimensions = [0, 1]
    (%a: f32, %b: f32) {
      %s = arith.addf %a, %b : f32
      linalg.yield %s : f32
    }
  return
}

// -----

// Dynamic sizes: 128 threads over the last dim, guarded.
// CHECK-LABEL: func.func @dynamic
// CHECK: %[[D0:.+]] = memref.dim %arg0, %{{.+}}
// CHECK: %[[D1:.+]] = memref.dim %arg0, %{{.+}}
// CHECK: scf.parallel {{.+}} to (%[[D0]], %[[D1]])
// CHECK: scf.if
// CHECK: {mapping = [#gpu.loop_dim_map<processor = block_y, {{.+}}>, #gpu.loop_dim_map<processor = block_x, {{.+}}>]}
func.func @dynamic(%x: memref<?x?xf32>) {
  %z = arith.constant 1.0 : f32
  linalg.fill ins(%z : f32) outs(%x : memref<?x?xf32>)
  return
}

// -----

// Ops inside a block loop of the attention mapping are left alone.
// CHECK-LABEL: func.func @inside_block_loop
// CHECK: scf.forall
// CHECK: linalg.fill
// CHECK-NOT: scf.parallel
func.func @inside_block_loop(%x: memref<4x32xf32>) {
  %z = arith.constant 0.0 : f32
  scf.forall (%i) in (4) {
    %row = memref.subview %x[%i, 0] [1, 32] [1, 1] : memref<4x32xf32> to memref<32xf32, strided<[1], offset: ?>>
    linalg.fill ins(%z : f32) outs(%row : memref<32xf32, strided<[1], offset: ?>>)
  } {mapping = [#gpu.block<x>]}
  return
}

// -----

// 70000 rows: more blocks than grid y allows (65535), so the rows run
// sequentially in each block.
// CHECK-LABEL: func.func @tall
// CHECK: } {mapping = [#gpu.loop_dim_map<processor = thread_y, {{.+}}>, #gpu.loop_dim_map<processor = thread_x, {{.+}}>]}
// CHECK: } {mapping = [#gpu.loop_dim_map<processor = sequential, {{.+}}>, #gpu.loop_dim_map<processor = block_x, {{.+}}>]}
func.func @tall(%x: memref<70000x128xf32>) {
  %z = arith.constant 0.0 : f32
  linalg.fill ins(%z : f32) outs(%x : memref<70000x128xf32>)
  return
}

// -----

// [100, 1, 1]: the threads go to the first dim, but blockDim.z is at most
// 64.
// CHECK-LABEL: func.func @column
// CHECK-DAG: %[[C64:.+]] = arith.constant 64 : index
// CHECK: %[[T:.+]] = arith.muli %{{.+}}, %[[C64]]
// CHECK: scf.parallel {{.+}} step (%[[T]],
// CHECK: } {mapping = [#gpu.loop_dim_map<processor = thread_z, {{.+}}>, #gpu.loop_dim_map<processor = thread_y, {{.+}}>, #gpu.loop_dim_map<processor = thread_x, {{.+}}>]}
func.func @column(%x: memref<100x1x1xf32>) {
  %z = arith.constant 0.0 : f32
  linalg.fill ins(%z : f32) outs(%x : memref<100x1x1xf32>)
  return
}
