#!/usr/bin/env bash
# The main job: builds tmix, generates PoolFormer-S12 (examples/
# poolformer_s12.mlir, timm's parameter names) with seeded random weights,
# compiles it ahead of time into a shared library with tmix-compile, and runs
# a seeded 224x224 image through libtmixrt with tmix-run, binding the
# .safetensors weights at load time. Prints the top-5 classes and the time
# per call.
#
#   scripts/run-example.sh                     # poolformer_s12
#   MODEL=caformer_s18 scripts/run-example.sh  # any of scripts/metaformer.py list
#
# The weights are random (scripts/metaformer.py weights), so the classes mean
# nothing; a checkpoint saved from timm binds the same way (docs/models.md).
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=${BUILD_DIR:-build}
model=${MODEL:-poolformer_s12}
scripts/setup.sh >/dev/null
cmake -G Ninja -S . -B "$build_dir" >/dev/null
cmake --build "$build_dir" --target tmix-compile tmix-run

out="$build_dir/examples"
mkdir -p "$out"
python3 scripts/metaformer.py weights "$model" --seed=0 -o "$out/$model.safetensors"
python3 scripts/metaformer.py image --seed=0 -o "$out/image.npy"
echo "== tmix-compile examples/$model.mlir -o $out/lib$model.so --emit-header $out/$model.h"
start=$(date +%s%N)
"$build_dir/bin/tmix-compile" "examples/$model.mlir" -o "$out/lib$model.so" \
  --emit-header "$out/$model.h"
echo "compiled in $(( ($(date +%s%N) - start) / 1000000 )) ms"
flops=$(python3 scripts/metaformer.py flops "$model")
echo "== tmix-run: $model, 1x3x224x224 image, weights bound from $model.safetensors, all cores, 10 timed calls"
echo "   ($(awk "BEGIN { printf \"%.2f\", $flops / 1e9 }") GFLOP per image)"
"$build_dir/bin/tmix-run" "$out/lib$model.so" --weights="$out/$model.safetensors" \
  --input="$out/image.npy" --top=5 --benchmark=10
