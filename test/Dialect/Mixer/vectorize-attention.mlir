// RUN: tmix-opt %s -split-input-file -mixer-decompose-attention -canonicalize -mixer-vectorize-attention | FileCheck %s
// RUN: tmix-opt %s -split-input-file -mixer-decompose-attention -canonicalize -mixer-vectorize-attention="rows=2 cols=8" | FileCheck %s --check-prefix=SMALL
// RUN: not tmix-opt %s -split-input-file -mixer-decompose-attention -mixer-vectorize-attention="rows=0" 2>&1 | FileCheck %s --check-prefix=BAD

// BAD: mixer-vectorize-attention: rows and cols must be >= 1, got 0 and 16

// An online tile of 10 query rows (2 heads), 40 keys, D = Dv = 32. Scores:
// register tiles of 4 rows x 16 keys with the head-dim reduction innermost;
// the rows loop is peeled at 8 (10 = 2 x 4 + 2) and the keys loop at 32
// (40 = 2 x 16 + 8). A full tile is an outer product per reduction step: a
// broadcast column of q times a row of kᵀ, accumulated into 4x16 vectors.
// Partial tiles stay linalg (scalar loops later).
// CHECK-LABEL: func.func @tile
// CHECK:      scf.for %{{.+}} = %{{.+}} to %[[C8:.+]] step %[[C4:.+]] iter_args
// CHECK:        scf.for %{{.+}} = %{{.+}} to %[[C32:.+]] step %[[C16:.+]] iter_args
// CHECK:          scf.for %{{.+}} = %{{.+}} to %{{.+}} step %{{.+}} iter_args
// CHECK:            %[[QC:.+]] = vector.transfer_read {{.+}} : tensor<1x1x1x4x1xf32>, vector<1x1x1x4x1xf32>
// CHECK:            vector.broadcast %[[QC]] : vector<1x1x1x4x1xf32> to vector<16x1x1x1x4x1xf32>
// CHECK:            %[[KR:.+]] = vector.transfer_read {{.+}} : tensor<1x1x1x16xf32>, vector<1x1x1x16xf32>
// CHECK:            vector.transfer_read {{.+}} : tensor<1x1x1x4x16xf32>, vector<1x1x1x4x16xf32>
// CHECK:            arith.mulf {{.+}} : vector<1x1x1x4x16x1xf32>
// CHECK:            arith.addf {{.+}} : vector<1x1x1x4x16xf32>
// CHECK:            vector.transfer_write {{.+}} : vector<1x1x1x4x16xf32>, tensor<1x1x1x4x16xf32>
// The key remainder (8 keys) and the row remainder (2 rows) stay generic.
// CHECK:        scf.for
// CHECK:          linalg.generic {{.+}} attrs = {tmix.role = "scores"}
// Values: 4 rows x 16 value columns, the key loop (40) innermost; a full
// tile is a broadcast column of p times a row of v.
// CHECK:      linalg.generic {{.+}} iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]
// CHECK:      scf.for %{{.+}} = %{{.+}} to %{{.+}} step %{{.+}} iter_args
// CHECK:        scf.for
// CHECK:          scf.for
// CHECK:            scf.for %{{.+}} = %{{.+}} to %[[C40:.+]] step %{{.+}} iter_args
// CHECK:              vector.transfer_read {{.+}} : tensor<1x1x1x4x1xf32>, vector<1x1x1x4x1xf32>
// CHECK:              vector.transfer_read {{.+}} : tensor<1x1x1x16xf32>, vector<1x1x1x16xf32>
// CHECK:              arith.mulf {{.+}} : vector<1x1x1x4x1x16xf32>

// SMALL-LABEL: func.func @tile
// SMALL: vector.transfer_read {{.+}} : tensor<1x1x1x2x8xf32>, vector<1x1x1x2x8xf32>
func.func @tile(%q: tensor<1x2x10x32xf32>, %k: tensor<1x1x40x32xf32>, %v: tensor<1x1x40x32xf32>, %rp: index, %cp: index, %acc: tensor<1x2x10x32xf32>, %m: tensor<1x2x10xf32>, %l: tensor<1x2x10xf32>) -> (tensor<1x2x10x32xf32>, tensor<1x2x10xf32>, tensor<1x2x10xf32>) {
  %a:3 = mixer.online_attention %q, %k, %v at(%rp, %cp) outs(%acc, %m, %l) : tensor<1x2x10x32xf32>, tensor<1x1x40x32xf32>, tensor<1x1x40x32xf32> -> tensor<1x2x10x32xf32>, tensor<1x2x10xf32>, tensor<1x2x10xf32>
  return %a#0, %a#1, %a#2 : tensor<1x2x10x32xf32>, tensor<1x2x10xf32>, tensor<1x2x10xf32>
}

// -----

// Nothing tagged: the pass leaves the IR alone.
// CHECK-LABEL: func.func @untouched
// CHECK-NOT: vector.
// SMALL-LABEL: func.func @untouched
func.func @untouched(%a: tensor<8xf32>) -> tensor<8xf32> {
  return %a : tensor<8xf32>
}
