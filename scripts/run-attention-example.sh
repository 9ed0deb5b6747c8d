#!/usr/bin/env bash
# Builds tmix, compiles examples/attention.mlir (causal GQA
# attention in the mixer dialect) ahead of time into a shared library with
# tmix-compile, and runs it with tmix-run through libtmixrt on seeded random
# inputs, printing the outputs and the time per call.
#
#   scripts/run-attention-example.sh            # L = S = 1024
#   L=4096 scripts/run-attention-example.sh
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=${BUILD_DIR:-build}
len=${L:-1024}
scripts/setup.sh >/dev/null
cmake -G Ninja -S . -B "$build_dir" >/dev/null
cmake --build "$build_dir" --target tmix-compile tmix-run

out="$build_dir/examples"
mkdir -p "$out"
echo "== tmix-compile examples/attention.mlir -o $out/libattention.so --emit-header $out/attention.h"
start=$(date +%s%N)
"$build_dir/bin/tmix-compile" examples/attention.mlir -o "$out/libattention.so" \
  --emit-header "$out/attention.h"
echo "compiled in $(( ($(date +%s%N) - start) / 1000000 )) ms"
"$build_dir/bin/tmix-run" "$out/libattention.so" --list
echo "== tmix-run: B=1, L=S=$len, all cores, 10 timed calls"
"$build_dir/bin/tmix-run" "$out/libattention.so" --function attention \
  --random-inputs --seed=1 \
  --shape=query=1x8x${len}x64 --shape=key=1x2x${len}x64 --shape=value=1x2x${len}x64 \
  --benchmark=10
