// RUN: tmix-opt %s --mixer-gpu-launch -split-input-file -verify-diagnostics

// A thread_private buffer may only be indexed by the thread loop's own
// induction variable: any other row would be another thread's registers.
func.func @private_other_row(%out: memref<64xf32>) {
  scf.forall (%b) in (1) {
    %st = memref.alloc() {tmix.gpu.memory = "thread_private"} : memref<64x2xf32>
    scf.forall (%tid) in (64) {
      %c0 = arith.constant 0 : index
      %c3 = arith.constant 3 : index
      // expected-error @below {{mixer-gpu-launch: a thread_private buffer must be indexed by the thread loop's induction variable in its first dimension}}
      %x = memref.load %st[%c3, %c0] : memref<64x2xf32>
      memref.store %x, %out[%tid] : memref<64xf32>
    } {mapping = [#gpu.thread<x>]}
  } {mapping = [#gpu.block<x>], tmix.gpu.block_dims = array<i64: 64, 1, 1>}
  return
}

// -----

// One row per thread of the block.
func.func @private_rows(%out: memref<64xf32>) {
  scf.forall (%b) in (1) {
    // expected-error @below {{mixer-gpu-launch: a thread_private buffer needs one row per thread of the block}}
    %st = memref.alloc() {tmix.gpu.memory = "thread_private"} : memref<32x2xf32>
    scf.forall (%tid) in (64) {
      %c0 = arith.constant 0 : index
      %x = memref.load %out[%tid] : memref<64xf32>
      memref.store %x, %out[%tid] : memref<64xf32>
    } {mapping = [#gpu.thread<x>]}
  } {mapping = [#gpu.block<x>], tmix.gpu.block_dims = array<i64: 64, 1, 1>}
  return
}

// -----

// Workgroup buffers are loaded and stored, not viewed.
func.func @workgroup_view(%out: memref<64xf32>) {
  scf.forall (%b) in (1) {
    %sh = memref.alloc() {tmix.gpu.memory = "workgroup"} : memref<64xf32>
    // expected-error @below {{mixer-gpu-launch: a workgroup buffer may only be loaded, stored and deallocated}}
    %v = memref.subview %sh[0] [32] [1] : memref<64xf32> to memref<32xf32, strided<[1]>>
  } {mapping = [#gpu.block<x>], tmix.gpu.block_dims = array<i64: 64, 1, 1>}
  return
}

// -----

// The block loop says how many threads a block has.
func.func @no_block_dims(%out: memref<64xf32>) {
  // expected-error @below {{mixer-gpu-launch: the block loop needs tmix.gpu.block_dims = [x, y, z]}}
  scf.forall (%b) in (1) {
    scf.forall (%tid) in (64) {
      %x = memref.load %out[%tid] : memref<64xf32>
      memref.store %x, %out[%tid] : memref<64xf32>
    } {mapping = [#gpu.thread<x>]}
  } {mapping = [#gpu.block<x>]}
  return
}

// -----

// Loops still on tensors are not bufferized yet.
func.func @tensors(%t: tensor<64xf32>) -> tensor<64xf32> {
  // expected-error @below {{mixer-gpu-launch: the block loop must be bufferized}}
  %r = scf.forall (%b) in (1) shared_outs(%o = %t) -> (tensor<64xf32>) {
    scf.forall.in_parallel {
      tensor.parallel_insert_slice %o into %o[0] [64] [1] : tensor<64xf32> into tensor<64xf32>
    }
  } {mapping = [#gpu.block<x>], tmix.gpu.block_dims = array<i64: 64, 1, 1>}
  return %r : tensor<64xf32>
}

// -----

// A thread loop larger than the block cannot be mapped (upstream's check,
// reported by the pass).
func.func @too_many_iterations(%out: memref<128xf32>) {
  // expected-error @below {{mixer-gpu-launch: could not map the thread loops to threads}}
  scf.forall (%b) in (1) {
    // expected-error @below {{the number of required parallel resources (blocks or threads) 128 overflows the number of available resources 64}}
    scf.forall (%tid) in (128) {
      %x = memref.load %out[%tid] : memref<128xf32>
      memref.store %x, %out[%tid] : memref<128xf32>
    } {mapping = [#gpu.thread<x>]}
  } {mapping = [#gpu.block<x>], tmix.gpu.block_dims = array<i64: 64, 1, 1>}
  return
}
