#!/usr/bin/env bash
# The main job for now: builds tmix, lowers examples/attention.mlir (causal
# GQA attention in the mixer dialect) with tmix-reference-pipeline, runs it on
# mlir-runner's JIT, and prints results and the time per call.
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=${BUILD_DIR:-build}
scripts/setup.sh >/dev/null
cmake -G Ninja -S . -B "$build_dir" >/dev/null
cmake --build "$build_dir" --target tmix-opt

llvm=/usr/lib/llvm-22
echo "== tmix-opt --tmix-reference-pipeline examples/attention.mlir | mlir-runner"
"$build_dir/bin/tmix-opt" examples/attention.mlir --tmix-reference-pipeline |
  "$llvm/bin/mlir-runner" -e main -entry-point-result=void -O3 \
    -shared-libs="$llvm/lib/libmlir_runner_utils.so,$llvm/lib/libmlir_c_runner_utils.so"
