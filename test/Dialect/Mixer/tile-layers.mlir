// RUN: tmix-opt %s -split-input-file -mixer-decompose-layers -canonicalize -mixer-tile-layers -canonicalize | FileCheck %s
// RUN: tmix-opt %s -split-input-file -mixer-decompose-layers -canonicalize -mixer-tile-layers=fuse=false -canonicalize | FileCheck %s --check-prefix=NOFUSE
// RUN: tmix-opt %s -split-input-file -mixer-decompose-layers -canonicalize -mixer-tile-layers=vectorize=false -canonicalize | FileCheck %s --check-prefix=SCALAR

// An MLP: each Linear gets one forall over [64, 128] tiles holding its packed
// weight, its bias initialisation, the contraction and (fused) its
// elementwise epilogue; inside, 4x16 register tiles with k innermost are
// vectorized, the partial ones peeled.
// CHECK-LABEL: func.func @mlp
// CHECK: scf.forall (%{{.*}}) = (0) to (143) step (64)
// CHECK: linalg.transpose {{.*}} {tmix.role = "pack"}
// CHECK: linalg.generic {{.*}} attrs = {tmix.role = "init"}
// CHECK: scf.for %{{.*}} = %c0 to %{{.*}} step %c4
// CHECK: scf.for %{{.*}} = %c0 to %c32 step %c16
// CHECK: scf.for %{{.*}} = %c0 to %c20 step %c1
// CHECK: vector.transfer_read {{.*}} : tensor<4x1xf32>, vector<4x1xf32>
// CHECK: vector.transfer_read {{.*}} : tensor<1x16xf32>, vector<1x16xf32>
// CHECK: arith.addf {{.*}} : vector<4x16xf32>
// The GELU epilogue in the same forall.
// CHECK: math.erf
// CHECK: scf.forall.in_parallel
// CHECK: scf.forall (%{{.*}}) = (0) to (143) step (64)
// CHECK: linalg.transpose {{.*}} {tmix.role = "pack"}
// CHECK: scf.forall.in_parallel
// Without fusion the GELU has a forall of its own.
// NOFUSE-LABEL: func.func @mlp
// NOFUSE: scf.forall
// NOFUSE-NOT: math.erf
// NOFUSE: scf.forall.in_parallel
// NOFUSE: scf.forall
// NOFUSE: math.erf
// NOFUSE: scf.forall.in_parallel
// NOFUSE: scf.forall
// Without vectorization the tiles stay linalg.
// SCALAR-LABEL: func.func @mlp
// SCALAR-NOT: vector.
// SCALAR: linalg.generic {{.*}} attrs = {tmix.role = "linear"}
func.func @mlp(%x: tensor<1x13x11x20xf32>, %w1: tensor<36x20x1x1xf32>, %w2: tensor<20x36x1x1xf32>, %b1: tensor<36xf32>, %b2: tensor<20xf32>) -> tensor<1x13x11x20xf32> {
  %0 = mixer.mlp %x, %w1, %w2 activation = gelu bias(%b1, %b2) : (tensor<1x13x11x20xf32>, tensor<36x20x1x1xf32>, tensor<20x36x1x1xf32>, tensor<36xf32>, tensor<20xf32>) -> tensor<1x13x11x20xf32>
  return %0 : tensor<1x13x11x20xf32>
}

// -----

// Maps get thread tiles over (batch, rows): the pooling window sums and the
// pooling epilogue (its positions offset by the tile's); the residuals, 2-D
// [M, C] ops, over 64 rows.
// CHECK-LABEL: func.func @pool_block
// CHECK: tensor.pad
// CHECK: scf.forall (%{{.*}}, %{{.*}}) = (0, 0) to (2, 13) step (1, 4)
// CHECK: scf.forall (%{{.*}}, %[[ROW:.+]]) = (0, 0) to (2, 13) step (1, 4)
// CHECK: linalg.index 1
// CHECK: affine.apply #{{.+}}(%[[ROW]])
// CHECK: scf.forall (%{{.*}}) = (0) to (286) step (64)
// CHECK: scf.forall (%{{.*}}) = (0) to (286) step (64)
func.func @pool_block(%x: tensor<2x13x11x8xf32>, %l: tensor<8xf32>) -> tensor<2x13x11x8xf32> {
  %z = mixer.block %x layer_scale(%l, %l) : (tensor<2x13x11x8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<2x13x11x8xf32>
    token_mixer {
    ^bb0(%a: tensor<2x13x11x8xf32>):
      %m = mixer.pool %a : (tensor<2x13x11x8xf32>) -> tensor<2x13x11x8xf32>
      mixer.yield %m : tensor<2x13x11x8xf32>
    } mlp {
    ^bb0(%a: tensor<2x13x11x8xf32>):
      mixer.yield %a : tensor<2x13x11x8xf32>
    }
  return %z : tensor<2x13x11x8xf32>
}

// -----

// The norm -> MLP prologue: the per-token normalisation (role "norm", an
// [M, C] generic) is computed inside fc1's tiles for the rows they read; its
// row statistics keep thread tiles of their own. Without fusion it is a
// forall of its own.
// CHECK-LABEL: func.func @norm_mlp
// CHECK: scf.forall (%{{.*}}) = (0) to (13) step (4)
// CHECK: scf.forall (%{{.*}}) = (0) to (143) step (64)
// CHECK-NEXT: affine.min
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel"]} ins(%{{.*}}, %{{.*}}, %{{.*}}, %arg1 : tensor<?x20xf32>, tensor<?xf32>, tensor<?xf32>, tensor<20xf32>)
// CHECK: linalg.transpose {{.*}} {tmix.role = "pack"}
// CHECK: vector.transfer_read
// CHECK: scf.forall.in_parallel
// NOFUSE-LABEL: func.func @norm_mlp
// NOFUSE: scf.forall (%{{.*}}) = (0) to (143) step (64)
// NOFUSE-NOT: linalg.transpose
// NOFUSE: ins(%{{.*}}, %{{.*}}, %{{.*}}, %arg1 : tensor<?x20xf32>, tensor<?xf32>, tensor<?xf32>, tensor<20xf32>)
// NOFUSE: scf.forall.in_parallel
func.func @norm_mlp(%x: tensor<1x13x11x20xf32>, %g: tensor<20xf32>, %w1: tensor<36x20xf32>, %w2: tensor<20x36xf32>, %s: tensor<1xf32>) -> tensor<1x13x11x20xf32> {
  %n = mixer.layer_norm %x, %g {axes = array<i64: 3>, epsilon = 1.0e-06 : f64} : (tensor<1x13x11x20xf32>, tensor<20xf32>) -> tensor<1x13x11x20xf32>
  %0 = mixer.mlp %n, %w1, %w2 activation = star_relu(%s, %s) : (tensor<1x13x11x20xf32>, tensor<36x20xf32>, tensor<20x36xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<1x13x11x20xf32>
  return %0 : tensor<1x13x11x20xf32>
}
