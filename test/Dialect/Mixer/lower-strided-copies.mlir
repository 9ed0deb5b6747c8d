// RUN: tmix-opt %s -split-input-file -mixer-lower-strided-copies | FileCheck %s

// A copy into a subview (strided layout) becomes linalg.copy.
// CHECK-LABEL: func.func @into_subview
// CHECK: %[[SV:.+]] = memref.subview
// CHECK-NOT: memref.copy
// CHECK: linalg.copy ins(%arg0 : memref<4x5xf32>) outs(%[[SV]] : memref<4x5xf32, strided<[7, 1], offset: 8>>)
func.func @into_subview(%src: memref<4x5xf32>, %dst: memref<6x7xf32>) {
  %sv = memref.subview %dst[1, 1] [4, 5] [1, 1] : memref<6x7xf32> to memref<4x5xf32, strided<[7, 1], offset: 8>>
  memref.copy %src, %sv : memref<4x5xf32> to memref<4x5xf32, strided<[7, 1], offset: 8>>
  return
}

// -----

// A copy out of a strided buffer too.
// CHECK-LABEL: func.func @from_strided
// CHECK: linalg.copy ins(%arg0 : memref<?x5xf32, strided<[?, 1], offset: ?>>) outs(%arg1 : memref<?x5xf32>)
func.func @from_strided(%src: memref<?x5xf32, strided<[?, 1], offset: ?>>, %dst: memref<?x5xf32>) {
  memref.copy %src, %dst : memref<?x5xf32, strided<[?, 1], offset: ?>> to memref<?x5xf32>
  return
}

// -----

// Copies between identity layouts stay memref.copy (they lower to memcpy).
// CHECK-LABEL: func.func @contiguous
// CHECK: memref.copy %arg0, %arg1 : memref<?x5xf32> to memref<?x5xf32>
// CHECK-NOT: linalg.copy
func.func @contiguous(%src: memref<?x5xf32>, %dst: memref<?x5xf32>) {
  memref.copy %src, %dst : memref<?x5xf32> to memref<?x5xf32>
  return
}
