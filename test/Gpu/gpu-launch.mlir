// RUN: tmix-opt %s --mixer-gpu-launch -split-input-file | FileCheck %s

// A block loop (dynamic grid) of two thread loops: one gpu.launch with the
// loop's trip counts as grid (x = the #gpu.block<x> loop), the
// tmix.gpu.block_dims threads, the workgroup buffer as a workgroup
// attribution, the thread_private buffer (one row per thread) as a private
// attribution without the thread dimension, and a barrier after each phase.

// CHECK-LABEL: func.func @phases
// CHECK-SAME: (%[[OUT:.+]]: memref<?x64xf32>, %[[N:.+]]: index)
// CHECK-DAG: %[[C1:.+]] = arith.constant 1 : index
// CHECK-DAG: %[[C4:.+]] = arith.constant 4 : index
// CHECK-DAG: %[[C64:.+]] = arith.constant 64 : index
// CHECK: gpu.launch blocks(%[[BX:[^,]+]], %{{[^)]+}}) in (%{{[^ ]+}} = %[[N]], %{{[^ ]+}} = %[[C4]], %{{[^ ]+}} = %[[C1]]) threads(%{{[^)]+}}) in (%{{[^ ]+}} = %[[C64]], %{{[^)]+}})
// CHECK-SAME: workgroup(%[[SH:.+]] : memref<64xf32, #gpu.address_space<workgroup>>)
// CHECK-SAME: private(%[[PV:.+]] : memref<2xf32, #gpu.address_space<private>>)
// CHECK-NOT: memref.alloc
// CHECK-NOT: scf.forall
// CHECK: %[[TID:.+]] = gpu.thread_id x
// CHECK: memref.store %{{.+}}, %[[PV]][%{{.+}}] : memref<2xf32, #gpu.address_space<private>>
// CHECK: memref.store %{{.+}}, %[[SH]][%[[TID]]] : memref<64xf32, #gpu.address_space<workgroup>>
// CHECK: gpu.barrier
// CHECK: memref.load %[[PV]][%{{.+}}] : memref<2xf32, #gpu.address_space<private>>
// CHECK: memref.load %[[SH]]
// CHECK: memref.store %{{.+}}, %[[OUT]][%[[BX]], %{{.+}}]
// CHECK: gpu.barrier
// CHECK-NOT: memref.dealloc
// CHECK: gpu.terminator
func.func @phases(%out: memref<?x64xf32>, %n: index) {
  scf.forall (%b, %t) in (4, %n) {
    %sh = memref.alloc() {tmix.gpu.memory = "workgroup"} : memref<64xf32>
    %st = memref.alloc() {tmix.gpu.memory = "thread_private"} : memref<64x2xf32>
    scf.forall (%tid) in (64) {
      %c0 = arith.constant 0 : index
      %i = arith.index_cast %tid : index to i32
      %f = arith.sitofp %i : i32 to f32
      memref.store %f, %st[%tid, %c0] : memref<64x2xf32>
      memref.store %f, %sh[%tid] : memref<64xf32>
    } {mapping = [#gpu.thread<x>]}
    scf.forall (%tid) in (64) {
      %c0 = arith.constant 0 : index
      %c63 = arith.constant 63 : index
      %a = memref.load %st[%tid, %c0] : memref<64x2xf32>
      %other = arith.subi %c63, %tid : index
      %s = memref.load %sh[%other] : memref<64xf32>
      %sum = arith.addf %a, %s : f32
      memref.store %sum, %out[%t, %tid] : memref<?x64xf32>
    } {mapping = [#gpu.thread<x>]}
    memref.dealloc %sh : memref<64xf32>
    memref.dealloc %st : memref<64x2xf32>
  } {mapping = [#gpu.block<y>, #gpu.block<x>], tmix.gpu.block_dims = array<i64: 64, 1, 1>}
  return
}

// -----

// Host code then works on device memory: a result the host allocates is
// managed memory, host copies and frees go through the GPU runtime.

// CHECK-LABEL: func.func @host_buffers
// CHECK: %[[R:.+]] = gpu.alloc  host_shared () : memref<16xf32>
// CHECK: gpu.launch
// CHECK: %[[T0:.+]] = gpu.wait async
// CHECK: %[[T1:.+]] = gpu.memcpy async [%[[T0]]] %{{.+}}, %[[R]] : memref<16xf32>, memref<16xf32>
// CHECK: gpu.wait [%[[T1]]]
// CHECK: %[[T2:.+]] = gpu.wait async
// CHECK: %[[T3:.+]] = gpu.dealloc async [%[[T2]]] %[[TMP:.+]] : memref<16xf32>
// CHECK: gpu.wait [%[[T3]]]
// CHECK: return %[[R]]
func.func @host_buffers(%in: memref<16xf32>, %copy: memref<16xf32>) -> memref<16xf32> {
  %r = memref.alloc() : memref<16xf32>
  %tmp = memref.alloc() : memref<16xf32>
  scf.forall (%b) in (1) {
    scf.forall (%tid) in (16) {
      %x = memref.load %in[%tid] : memref<16xf32>
      memref.store %x, %r[%tid] : memref<16xf32>
      memref.store %x, %tmp[%tid] : memref<16xf32>
    } {mapping = [#gpu.thread<x>]}
  } {mapping = [#gpu.block<x>], tmix.gpu.block_dims = array<i64: 16, 1, 1>}
  memref.copy %r, %copy : memref<16xf32> to memref<16xf32>
  memref.dealloc %tmp : memref<16xf32>
  return %r : memref<16xf32>
}

// -----

// A function whose kernels come from mixer-map-layers-to-gpu (already
// gpu.launch ops): its temporaries become device memory, allocated on a
// stream and freed at the end of the block; the buffer it returns is managed
// memory and is not freed.

// CHECK-LABEL: func.func @layer_kernels
// CHECK: %[[W0:.+]] = gpu.wait async
// CHECK: %[[TMP:.+]], %[[A:.+]] = gpu.alloc async [%[[W0]]] () : memref<16xf32>
// CHECK: gpu.wait [%[[A]]]
// CHECK: %[[R:.+]] = gpu.alloc  host_shared () : memref<16xf32>
// CHECK: gpu.launch
// CHECK: memref.store %{{.+}}, %[[TMP]]
// CHECK: memref.store %{{.+}}, %[[R]]
// CHECK: gpu.terminator
// CHECK: %[[W1:.+]] = gpu.wait async
// CHECK: %[[F:.+]] = gpu.dealloc async [%[[W1]]] %[[TMP]] : memref<16xf32>
// CHECK: gpu.wait [%[[F]]]
// CHECK-NOT: gpu.dealloc
// CHECK: return %[[R]]
func.func @layer_kernels(%in: memref<16xf32>) -> memref<16xf32> {
  %c1 = arith.constant 1 : index
  %c16 = arith.constant 16 : index
  %tmp = memref.alloc() : memref<16xf32>
  %r = memref.alloc() : memref<16xf32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c16, %sy = %c1, %sz = %c1) {
    %x = memref.load %in[%tx] : memref<16xf32>
    memref.store %x, %tmp[%tx] : memref<16xf32>
    %y = memref.load %tmp[%tx] : memref<16xf32>
    memref.store %y, %r[%tx] : memref<16xf32>
    gpu.terminator
  }
  return %r : memref<16xf32>
}
