// RUN: tmix-opt %s -split-input-file -mixer-decompose-attention -canonicalize -mixer-vectorize-attention | FileCheck %s
// RUN: tmix-opt %s -split-input-file -mixer-decompose-attention -canonicalize -mixer-vectorize-attention="score-rows=2 score-cols=8 rows=2 cols=8 softmax-cols=8" | FileCheck %s --check-prefix=SMALL
// RUN: not tmix-opt %s -split-input-file -mixer-decompose-attention -mixer-vectorize-attention="rows=0" 2>&1 | FileCheck %s --check-prefix=BAD
// RUN: not tmix-opt %s -split-input-file -mixer-decompose-attention -mixer-vectorize-attention="softmax-cols=0" 2>&1 | FileCheck %s --check-prefix=BADSM

// BAD: mixer-vectorize-attention: rows and cols must be >= 1, got 0 and 16
// BADSM: mixer-vectorize-attention: softmax-cols must be >= 1, got 0

// An online tile of 38 query rows (2 heads), 42 keys, D = Dv = 32, causal.
// The scores are key-major (42 x 38): register tiles of 6 keys x 16 query
// rows with the head-dim reduction innermost; the keys divide (42 = 7 x 6),
// the rows loop is peeled at 32 (38 = 2 x 16 + 6). A full tile is an outer
// product per reduction step: a column of 6 k values, each broadcast along
// a row of the scaled, transposed q, accumulated into 6x16 vectors. The
// column is read element by element (tensor.extract, not a vector<6>
// read), so that each broadcast is a broadcast load. Partial tiles of
// static shape are vectorized at their own size; no tagged generic is left
// (dynamic edges would stay linalg, scalar loops later).
// CHECK-LABEL: func.func @tile
// CHECK-DAG:  %[[C42:.+]] = arith.constant 42 : index
// CHECK:      linalg.generic {{.+}} attrs = {tmix.role = "query"}
// CHECK:      scf.for %{{.+}} = %{{.+}} to %[[C42]] step %[[C6:.+]] iter_args
// CHECK:        scf.for %{{.+}} = %{{.+}} to %[[C32:.+]] step %[[C16:.+]] iter_args
// CHECK:          scf.for %{{.+}} = %{{.+}} to %{{.+}} step %{{.+}} iter_args
// CHECK-COUNT-6:    tensor.extract {{.+}} : tensor<1x1x6x1xf32>
// CHECK:            %[[KC:.+]] = vector.from_elements {{.+}} : vector<1x1x6x1xf32>
// CHECK:            vector.broadcast %[[KC]]
// CHECK:            %[[QR:.+]] = vector.transfer_read {{.+}} : tensor<1x1x1x1x16xf32>, vector<1x1x1x1x16xf32>
// CHECK:            vector.transfer_read {{.+}} : tensor<1x1x1x6x16xf32>, vector<1x1x1x6x16xf32>
// CHECK:            arith.mulf {{.+}} : vector<1x1x1x6x16x1xf32>
// CHECK:            arith.addf {{.+}} : vector<1x1x1x6x16xf32>
// CHECK:            vector.transfer_write {{.+}} : vector<1x1x1x6x16xf32>, tensor<1x1x1x6x16xf32>
// The row remainder (6 rows) is a 6x6 vector tile; its row of q (a whole
// vector, not broadcast by element) stays a vector read.
// CHECK:        vector.from_elements {{.+}} : vector<1x1x6x1xf32>
// CHECK:        vector.transfer_read {{.+}} : tensor<1x1x1x1x6xf32>, vector<1x1x1x1x6xf32>
// CHECK:        vector.transfer_read {{.+}} : tensor<1x1x1x6x6xf32>, vector<1x1x1x6x6xf32>
// The softmax passes step over the keys, 32 query rows at a time (rows
// loop peeled at 32): the mask select, the row max (a vector max per key,
// the 32 accumulators carried over the keys), the exponentials and the row
// sum, each with its 6-row remainder a 6-lane vector (read as vectors: their
// elements are not broadcast).
// CHECK:      scf.for %{{.+}} = %{{.+}} to %[[C42]] step %{{.+}} iter_args
// CHECK:        vector.step : vector<32xindex>
// CHECK:        arith.select {{.+}} : vector<1x1x1x1x32xi1>, vector<1x1x1x1x32xf32>
// CHECK:      vector.transfer_read {{.+}} : tensor<1x1x1x1x6xf32>, vector<1x1x1x1x6xf32>
// CHECK:      scf.for %{{.+}} = %{{.+}} to %[[C42]] step %{{.+}} iter_args
// CHECK:        vector.transfer_read {{.+}} : tensor<1x1x1x1x32xf32>, vector<1x1x1x1x32xf32>
// CHECK:        arith.maximumf {{.+}} : vector<1x1x1x32xf32>
// CHECK:        arith.maximumf {{.+}} : vector<1x1x1x6xf32>
// CHECK:      math.exp {{.+}} : vector<1x1x1x1x32xf32>
// CHECK:      math.exp {{.+}} : vector<1x1x1x1x6xf32>
// CHECK:      arith.addf {{.+}} : vector<1x1x1x32xf32>
// Values: 6 rows x 16 value columns, the key loop (42) innermost, rows
// peeled at 36 (38 = 6 x 6 + 2); a full tile is a broadcast of 6
// consecutive p (key-major, read element by element) times a row of v.
// CHECK:      scf.for %{{.+}} = %{{.+}} to %[[C36:.+]] step %{{.+}} iter_args
// CHECK:        scf.for
// CHECK:          scf.for %{{.+}} = %{{.+}} to %[[C42]] step %{{.+}} iter_args
// CHECK-COUNT-6:    tensor.extract {{.+}} : tensor<1x1x1x1x6xf32>
// CHECK:            vector.from_elements {{.+}} : vector<1x1x1x1x6xf32>
// CHECK:            vector.transfer_read {{.+}} : tensor<1x1x1x16xf32>, vector<1x1x1x16xf32>
// CHECK:            arith.mulf {{.+}} : vector<1x1x1x6x1x16xf32>
// The 2-row remainder of p·v: 2x16 tiles.
// CHECK:      vector.from_elements {{.+}} : vector<1x1x1x1x2xf32>
// CHECK:      vector.transfer_read {{.+}} : tensor<1x1x1x2x16xf32>, vector<1x1x1x2x16xf32>
// CHECK-NOT:  tmix.role = "scores"
// CHECK-NOT:  tmix.role = "values"
// CHECK-NOT:  tmix.role = "softmax"
// CHECK:      return

// SMALL-LABEL: func.func @tile
// SMALL: vector.transfer_read {{.+}} : tensor<1x1x1x2x8xf32>, vector<1x1x1x2x8xf32>
// SMALL: vector.transfer_read {{.+}} : tensor<1x1x1x1x8xf32>, vector<1x1x1x1x8xf32>
func.func @tile(%q: tensor<1x2x38x32xf32>, %k: tensor<1x1x42x32xf32>, %v: tensor<1x1x42x32xf32>, %rp: index, %cp: index, %acc: tensor<1x2x38x32xf32>, %m: tensor<1x2x38xf32>, %l: tensor<1x2x38xf32>) -> (tensor<1x2x38x32xf32>, tensor<1x2x38xf32>, tensor<1x2x38xf32>) {
  %a:3 = mixer.online_attention %q, %k, %v at(%rp, %cp) outs(%acc, %m, %l) {mask = #mixer.mask<causal>} : tensor<1x2x38x32xf32>, tensor<1x1x42x32xf32>, tensor<1x1x42x32xf32> -> tensor<1x2x38x32xf32>, tensor<1x2x38xf32>, tensor<1x2x38xf32>
  return %a#0, %a#1, %a#2 : tensor<1x2x38x32xf32>, tensor<1x2x38xf32>, tensor<1x2x38xf32>
}

// -----

// Nothing tagged: the pass leaves the IR alone.
// CHECK-LABEL: func.func @untouched
// CHECK-NOT: vector.
// SMALL-LABEL: func.func @untouched
func.func @untouched(%a: tensor<8xf32>) -> tensor<8xf32> {
  return %a : tensor<8xf32>
}
