#!/usr/bin/env bash
# The checks that need an NVIDIA GPU, in one run (docs/gpu.md): builds what
# they need, prints the device, runs the CUDA tests and the GPU attention
# benchmark (docs/benchmarks.md, "GPU attention (H200)"). Meant for a fresh
# copy of the tree on a GPU machine with the packages of scripts/setup.sh and
# the CUDA toolkit (nvcc, ptxas, cuBLAS) in CUDA_HOME or /usr/local/cuda.
#
#   scripts/gpu-check.sh                      # build/, logs in $OUT or build/gpu-check
#   BUILD_DIR=build-gpu scripts/gpu-check.sh
#   BENCH_ARGS=--quick scripts/gpu-check.sh   # benchmark at L = 4096 only
#   GPU_CHECK_STEPS="info build bench" scripts/gpu-check.sh
#
# Steps (each with a time limit, its log in the output folder as STEP.log):
#   info      nvidia-smi, toolkit, CPU and memory
#   setup     scripts/setup.sh (a no-op when the packages are installed)
#   configure cmake (Release, Ninja)
#   build     tmix-compile tmix-run tmixrt TmixUnitTests TmixCudaRuntimeTests
#             (with the fake artifacts and driver its tests load)
#   runtime   build/test/Unit/TmixCudaRuntimeTests (RealDevice on the GPU,
#             the fake-driver scenarios)
#   lit       lit -v build/test/Target build/test/Cuda/tmix-run-cuda.mlir
#   unit      build/test/Unit/TmixUnitTests --gtest_filter='AotAttentionCuda.*'
#   artifact  tmix-compile bench/attention_gpu.mlir --target=cuda --gpu-chip=sm_XX
#   benchbin  nvcc bench/gpu_attention_bench.cu (links libtmixrt and cuBLAS)
#   bench     the benchmark; results in gpu_attention_bench.{json,csv}
#   models    lit -v build/test/Cuda/models.test: the five MetaFormer models
#             (shallow variants) on the GPU against the reference (last: the
#             slowest and least urgent)
#
# A failed step does not stop the script; steps that need its output are
# skipped. The script ends with a summary (status and seconds per step) and
# exits 1 when any step failed or was skipped. The whole run stays within
# GPU_CHECK_DEADLINE seconds (default 540): each step's limit is cut to the
# time left, and steps are skipped once less than 15 s remain. With a GPU
# present, tests that skip themselves or are unsupported count as failures.
#
# Environment: BUILD_DIR (build), OUT (output folder), JOBS (nproc),
# GPU_CHECK_DEADLINE (540), GPU_CHECK_BUILD_LIMIT (360 s for the build step),
# GPU_CHECK_STEPS (all; a rerun in the same build may name a few, e.g.
# "bench"), BENCH_ARGS (extra benchmark flags), CUDA_HOME (/usr/local/cuda),
# GPU_CHIP (from the device's compute capability: sm_90 from 9.0 on, else
# sm_80).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
root=$(pwd)

build_dir=${BUILD_DIR:-build}
case $build_dir in /*) ;; *) build_dir=$root/$build_dir ;; esac
out_dir=${OUT:-$build_dir/gpu-check}
jobs=${JOBS:-$(nproc)}
deadline=${GPU_CHECK_DEADLINE:-540}
steps=${GPU_CHECK_STEPS:-"info setup configure build runtime lit unit artifact benchbin bench models"}
cuda_home=${CUDA_HOME:-/usr/local/cuda}
bench_dir=$build_dir/gpu-bench
mkdir -p "$out_dir" "$bench_dir" || exit 1
out_dir=$(cd "$out_dir" && pwd)

names=()
statuses=()
times=()
failed=()
declare -A status_of

wanted() { [[ " $steps " == *" $1 "* ]]; }
step_label=""
# No stale logs or results of the steps this run does.
for step in $steps; do rm -f "$out_dir/$step.log"; done
if wanted bench; then
  rm -f "$out_dir/gpu_attention_bench.json" "$out_dir/gpu_attention_bench.csv"
fi

# record NAME STATUS SECONDS
record() {
  names+=("$1")
  statuses+=("$2")
  times+=("$3")
  status_of[$1]=$2
  if [ "$2" != ok ]; then failed+=("$1"); fi
}

# skip_unless NAME PREREQ...: records NAME as skipped when a prerequisite step
# ran and did not succeed; returns 1 then. A prerequisite left out of
# GPU_CHECK_STEPS counts as done (a rerun of some steps in the same build).
skip_unless() {
  local name=$1 need
  shift
  for need in "$@"; do
    if ! wanted "$need" && [ -z "${status_of[$need]:-}" ]; then continue; fi
    if [ "${status_of[$need]:-}" != ok ]; then
      echo "=== [$name] skipped: needs '$need' (${status_of[$need]:-not run})"
      record "$name" "SKIPPED(needs $need)" 0
      return 1
    fi
  done
  return 0
}

# run_step NAME LIMIT TAIL COMMAND...: runs COMMAND under `timeout` with its
# output in NAME.log, prints the last TAIL lines and records the outcome.
run_step() {
  local name=$1 limit=$2 tail_lines=$3
  shift 3
  local log=$out_dir/$name.log
  local left=$((deadline - SECONDS))
  if [ "$left" -lt 15 ]; then
    echo "=== [$name] skipped: the ${deadline} s deadline is reached"
    record "$name" "SKIPPED(deadline)" 0
    return 1
  fi
  if [ "$limit" -gt "$left" ]; then limit=$left; fi
  echo "=== [$name] ${step_label:-$*} (limit ${limit} s, log $log)"
  step_label=
  local start=$SECONDS rc
  timeout -k 10 "$limit" "$@" >"$log" 2>&1
  rc=$?
  local elapsed=$((SECONDS - start))
  if [ "$tail_lines" -gt 0 ]; then tail -n "$tail_lines" "$log" | sed 's/^/    /'; fi
  local status=ok
  if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
    status="TIMEOUT(${limit}s)"
  elif [ "$rc" -ne 0 ]; then
    status="FAIL(rc=$rc)"
  fi
  echo "=== [$name] $status in ${elapsed} s"
  record "$name" "$status" "$elapsed"
  [ "$status" = ok ]
}

# With a GPU, tests that skip or are unsupported did not check anything:
# demote a passing step to a failure and say how many. Without one, the step
# passes and its summary line says how many.
gpu_present=0
demote_skips() {
  local name=$1 count=${2:-0} what=$3 status i
  if [ "$count" -eq 0 ] || [ "${status_of[$name]}" != ok ]; then return; fi
  if [ "$gpu_present" -eq 1 ]; then
    echo "=== [$name] $count test(s) $what although a GPU is present"
    status="FAIL($count $what)"
    status_of[$name]=$status
    failed+=("$name")
  else
    status="ok($count $what: no GPU)"
  fi
  for i in "${!names[@]}"; do
    if [ "${names[$i]}" = "$name" ]; then statuses[i]=$status; fi
  done
}

# gtest's closing "[  SKIPPED ] N test(s), listed below:" line.
gtest_skips() {
  local n
  n=$(sed -n 's/^\[  SKIPPED \] \([0-9][0-9]*\) tests*, listed below:.*/\1/p' "$out_dir/$1.log" 2>/dev/null | tail -n 1)
  echo "${n:-0}"
}

echo "gpu-check: tree $root, build $build_dir, output $out_dir, $jobs jobs, deadline ${deadline} s"

# --- info ------------------------------------------------------------------
# The step's status is that of the last command, `nvidia-smi -L`: no GPU, no
# device checks.
info_script="
echo '--- nvidia-smi'; nvidia-smi
echo '--- nvidia-smi --query-gpu'
nvidia-smi --query-gpu=index,name,compute_cap,driver_version,memory.total,memory.used,clocks.max.sm,power.limit --format=csv
echo '--- toolkit $cuda_home'
'$cuda_home/bin/nvcc' --version | tail -n 2
ls -l '$cuda_home/bin/ptxas' '$cuda_home/lib64/libcublas.so'*
echo '--- host'
uname -a; nproc; free -g; df -h '$root' | tail -n 1; cmake --version | head -n 1
echo '--- devices'
nvidia-smi -L"
chip=${GPU_CHIP:-}
if wanted info; then
  step_label="nvidia-smi, toolkit, host"
  run_step info 60 0 bash -c "$info_script"
  sed -n '/^--- nvidia-smi --query-gpu/,/^--- toolkit/p' "$out_dir/info.log" | sed '1d;$d' | sed 's/^/    /'
fi
if nvidia-smi -L >/dev/null 2>&1; then
  gpu_present=1
  if [ -z "$chip" ]; then
    cc=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -n 1 | tr -d ' ')
    major=${cc%%.*}
    if [[ "$major" =~ ^[0-9]+$ ]] && [ "$major" -ge 9 ]; then chip=sm_90; else chip=sm_80; fi
  fi
fi
chip=${chip:-sm_90}
echo "gpu-check: GPU present: $([ $gpu_present -eq 1 ] && echo yes || echo no); --gpu-chip=$chip"

# --- build -----------------------------------------------------------------
if wanted setup; then
  run_step setup 120 3 scripts/setup.sh
fi
if wanted configure; then
  run_step configure 120 3 cmake -G Ninja -S "$root" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release
fi
if wanted build; then
  if skip_unless build configure; then
    run_step build "${GPU_CHECK_BUILD_LIMIT:-360}" 5 cmake --build "$build_dir" -j "$jobs" --target \
      tmix-compile tmix-run tmixrt TmixUnitTests TmixCudaRuntimeTests \
      tmixrt_fake_cuda_driver tmix-model-check
  fi
fi

# --- tests -----------------------------------------------------------------
if wanted runtime && skip_unless runtime build; then
  run_step runtime 120 0 "$build_dir/test/Unit/TmixCudaRuntimeTests"
  grep -E '^\[  (FAILED|SKIPPED|PASSED) |^\[==========\]' "$out_dir/runtime.log" | tail -n 12 | sed 's/^/    /'
  demote_skips runtime "$(gtest_skips runtime)" skipped
fi

if wanted lit && skip_unless lit build; then
  lit_bin=$(command -v lit || true)
  if [ -z "$lit_bin" ]; then
    lit_bin=$(sed -n 's/^LLVM_EXTERNAL_LIT:[A-Z]*=//p' "$build_dir/CMakeCache.txt" 2>/dev/null)
  fi
  run_step lit 180 0 "${lit_bin:-lit}" -v "$build_dir/test/Target" \
    "$build_dir/test/Cuda/tmix-run-cuda.mlir"
  grep -E '^(PASS|FAIL|UNSUPPORTED|XFAIL|XPASS|UNRESOLVED|TIMEOUT):|^ *(Passed|Failed|Unsupported|Unresolved|Timed Out) *:|tests that need' \
    "$out_dir/lit.log" | sed 's/^/    /'
  demote_skips lit "$(grep -c '^UNSUPPORTED:' "$out_dir/lit.log" 2>/dev/null)" unsupported
fi

if wanted unit && skip_unless unit build; then
  run_step unit 180 0 "$build_dir/test/Unit/TmixUnitTests" --gtest_filter='AotAttentionCuda.*'
  grep -E '^\[  (FAILED|SKIPPED|PASSED|     OK) |^\[==========\]|AotAttentionCuda: device' "$out_dir/unit.log" | tail -n 12 | sed 's/^/    /'
  demote_skips unit "$(gtest_skips unit)" skipped
fi

# --- benchmark -------------------------------------------------------------
artifact=$bench_dir/attention_gpu.so
bench_bin=$bench_dir/gpu_attention_bench
if wanted artifact && skip_unless artifact build; then
  rm -f "$artifact"
  run_step artifact 120 5 "$build_dir/bin/tmix-compile" bench/attention_gpu.mlir \
    -o "$artifact" --target=cuda --gpu-chip="$chip"
fi

if wanted benchbin && skip_unless benchbin build; then
  runtime_lib=$(find "$build_dir" -maxdepth 3 -name 'libtmixrt.so' -print -quit)
  runtime_lib_dir=$(dirname "${runtime_lib:-$build_dir/lib/libtmixrt.so}")
  rm -f "$bench_bin"
  run_step benchbin 180 5 "$cuda_home/bin/nvcc" -std=c++17 -O3 \
    -gencode arch=compute_90,code=sm_90 -gencode arch=compute_80,code=compute_80 \
    -I"$root/runtime/include" bench/gpu_attention_bench.cu -o "$bench_bin" \
    -L"$runtime_lib_dir" -ltmixrt -L"$cuda_home/lib64" -lcublas \
    -Xlinker -rpath,"$runtime_lib_dir" -Xlinker -rpath,"$cuda_home/lib64"
fi

if wanted bench && skip_unless bench artifact benchbin; then
  # shellcheck disable=SC2086
  run_step bench 240 0 "$bench_bin" --artifact="$artifact" --max-seconds=2 \
    --json="$out_dir/gpu_attention_bench.json" --csv="$out_dir/gpu_attention_bench.csv" \
    ${BENCH_ARGS:-}
fi

if wanted models && skip_unless models build; then
  run_step models 240 0 "${lit_bin:-lit}" -v "$build_dir/test/Cuda/models.test"
  grep -E '^(PASS|FAIL|UNSUPPORTED|UNRESOLVED|TIMEOUT):|error' "$out_dir/models.log" | head -n 20 | sed 's/^/    /'
  demote_skips models "$(grep -c '^UNSUPPORTED:' "$out_dir/models.log" 2>/dev/null)" unsupported
fi

# --- summary ---------------------------------------------------------------
if [ -s "$out_dir/bench.log" ]; then
  echo
  echo "--- benchmark (bench.log)"
  cat "$out_dir/bench.log"
fi
echo
echo "gpu-check summary ($build_dir, logs in $out_dir, ${SECONDS} s in all):"
for i in "${!names[@]}"; do
  printf '  %-10s %-28s %5s s\n' "${names[$i]}" "${statuses[$i]}" "${times[$i]}"
done
if [ "${#failed[@]}" -gt 0 ]; then
  echo "gpu-check: ${#failed[@]} step(s) did not pass: ${failed[*]}"
  exit 1
fi
echo "gpu-check: all ${#names[@]} step(s) passed"
