#!/usr/bin/env bash
# Benchmarks the five MetaFormer models at 224x224, batch 1 (docs/benchmarks.md,
# "Models"): compiles each with and without epilogue fusion
# (tmix-compile --no-fuse-layers), writes seeded weights and the FLOP count,
# then runs tmix-model-bench (Google Benchmark) on all cores.
#
#   scripts/bench-models.sh                                  # all five
#   TMIX_MODEL_BENCH_MODELS=poolformer_s12 scripts/bench-models.sh
#   TMIX_BENCH_THREADS=1,2 scripts/bench-models.sh           # thread counts
#
# Compiling the ten artifacts takes a few minutes on two cores; they are kept
# in $BUILD_DIR/bench/models and rebuilt when the .mlir or tmix-compile is
# newer. Extra arguments go to the benchmark binary.
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=${BUILD_DIR:-build}
models=${TMIX_MODEL_BENCH_MODELS:-poolformer_s12,convformer_s18,caformer_s18,identityformer_s12,randformer_s12}
out=${TMIX_MODEL_BENCH_DIR:-$build_dir/bench/models}

scripts/setup.sh >/dev/null
cmake -G Ninja -S . -B "$build_dir" >/dev/null
cmake --build "$build_dir" --target tmix-compile tmix-model-bench
mkdir -p "$out"
compile=$build_dir/bin/tmix-compile
for model in ${models//,/ }; do
  src=examples/$model.mlir
  for variant in fused nofuse; do
    lib=$out/$model.so
    flags=()
    if [ "$variant" = nofuse ]; then lib=$out/$model.nofuse.so; flags=(--no-fuse-layers); fi
    if [ ! -f "$lib" ] || [ "$src" -nt "$lib" ] || [ "$compile" -nt "$lib" ]; then
      echo "== tmix-compile ${flags[*]:-} $src -o $lib"
      "$compile" "${flags[@]}" "$src" -o "$lib"
    fi
  done
  [ -f "$out/$model.safetensors" ] || \
    python3 scripts/metaformer.py weights "$model" -o "$out/$model.safetensors"
  python3 scripts/metaformer.py flops "$model" > "$out/$model.flops"
done
TMIX_MODEL_BENCH_DIR=$out TMIX_MODEL_BENCH_MODELS=$models \
  "$build_dir/bin/tmix-model-bench" "$@"
