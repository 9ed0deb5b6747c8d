#!/usr/bin/env bash
# Builds and runs the attention benchmarks (docs/benchmarks.md): tmix against
# a naive loop nest and an unfused OpenBLAS path, OpenBLAS sgemm peak, peak
# RSS per L, then prints the summary tables (bench/summarize.py).
#
#   scripts/bench.sh                      # L in {512, 2048}: ~2 minutes + build
#   TMIX_BENCH_LONG=1 scripts/bench.sh    # adds L = 8192 and RSS at 16384, 32768
#   scripts/bench.sh --benchmark_filter=causal   # extra flags go to the benchmark
#
# Environment: BUILD_DIR (build), CMAKE_ARGS, TMIX_BENCH_LONG,
# TMIX_BENCH_REPETITIONS (3; 1 with TMIX_BENCH_LONG), TMIX_BENCH_MIN_TIME
# (seconds per repetition, 0.5), TMIX_BENCH_RSS_LENGTHS (space-separated L),
# TMIX_BENCH_RSS=0 to skip the RSS runs, TMIX_BENCH_WAIT_IDLE (seconds to wait
# for other processes to go idle before the benchmarks, 60), TMIX_BENCH_OUT
# (directory for bench.json and rss.txt; $BUILD_DIR/bench/results), and those
# the binary reads (TMIX_BENCH_LENGTHS, TMIX_BENCH_THREADS, ...; see
# bench/attention_bench.cpp and docs/benchmarks.md).
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=${BUILD_DIR:-build}
long=${TMIX_BENCH_LONG:-0}
[ "$long" = "0" ] && long=""
if [ -n "$long" ]; then
  repetitions=${TMIX_BENCH_REPETITIONS:-1}
  rss_lengths=${TMIX_BENCH_RSS_LENGTHS:-"1024 2048 4096 8192 16384 32768"}
else
  repetitions=${TMIX_BENCH_REPETITIONS:-3}
  rss_lengths=${TMIX_BENCH_RSS_LENGTHS:-"1024 2048 4096 8192"}
fi
min_time=${TMIX_BENCH_MIN_TIME:-0.5}
out_dir=${TMIX_BENCH_OUT:-$build_dir/bench/results}

scripts/setup.sh

start=$(date +%s)
# shellcheck disable=SC2086
cmake -G Ninja -S . -B "$build_dir" ${CMAKE_ARGS:-}
cmake --build "$build_dir" --target tmix-bench
bench="$build_dir/bin/tmix-attention-bench"
rss="$build_dir/bin/tmix-attention-rss"
if [ ! -x "$bench" ]; then
  echo "scripts/bench.sh: $bench was not built (Google Benchmark or OpenBLAS missing?" \
       "see the cmake output)" >&2
  exit 1
fi
built=$(date +%s)

# OpenBLAS reads these at load time; a stale value from another machine
# (e.g. a core type this CPU does not have) can slow sgemm down. They are
# left alone (docs/benchmarks.md), just reported.
for var in OPENBLAS_CORETYPE OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS OMP_NUM_THREADS; do
  if [ -n "${!var:-}" ]; then
    echo "scripts/bench.sh: note: $var=${!var} is set"
  fi
done

# Percent of all CPU time used (by anything) during the next second, from
# /proc/stat. Sampled while nothing of ours runs, it measures the rest of the
# machine: other work halves the multi-threaded figures on a small machine.
# (During the benchmarks, bench/run_measured.py does the same accounting.)
cpu_busy() {
  local c1 c2 t1=0 t2=0 i
  read -r -a c1 < /proc/stat
  sleep 1
  read -r -a c2 < /proc/stat
  for i in 1 2 3 4 5 6 7 8; do
    t1=$((t1 + c1[i])); t2=$((t2 + c2[i]))
  done
  local total=$((t2 - t1)) idle=$(( (c2[4] + c2[5]) - (c1[4] + c1[5]) ))
  echo $(( total > 0 ? 100 * (total - idle) / total : 0 ))
}
# Waits up to $2 seconds for the machine to go idle (< 10% busy), then says
# how busy it is.
check_idle() {
  local busy waited=0
  busy=$(cpu_busy)
  while [ "$busy" -gt 10 ] && [ "$waited" -lt "${2:-0}" ]; do
    [ "$waited" -eq 0 ] && echo "scripts/bench.sh: waiting up to $2 s for other processes to finish (${busy}% busy)"
    sleep 4
    waited=$((waited + 5))
    busy=$(cpu_busy)
  done
  echo "scripts/bench.sh: other processes use ${busy}% of the CPUs ($1)"
  if [ "$busy" -gt 10 ]; then
    echo "scripts/bench.sh: WARNING: the machine is not idle; the figures (above all" \
         "the multi-threaded ones) are unreliable"
  fi
}

mkdir -p "$out_dir"
json="$out_dir/bench.json"
rss_txt="$out_dir/rss.txt"
rm -f "$json" "$rss_txt" "$out_dir/machine.txt"

check_idle "before the benchmarks" "${TMIX_BENCH_WAIT_IDLE:-60}"
echo "scripts/bench.sh: running $bench (repetitions $repetitions, min time ${min_time}s)"
status=0
python3 bench/run_measured.py --report="$out_dir/machine.txt" "$bench" \
  --benchmark_repetitions="$repetitions" \
  --benchmark_min_time="$min_time" \
  --benchmark_display_aggregates_only=true \
  --benchmark_out="$json" --benchmark_out_format=json \
  "$@" || status=$?
benched=$(date +%s)

if [ "${TMIX_BENCH_RSS:-1}" != "0" ]; then
  echo
  echo "scripts/bench.sh: peak RSS of one causal tmix call (all threads), L in {$rss_lengths}"
  for L in $rss_lengths; do
    # A fresh process per L: ru_maxrss never goes down.
    if "$rss" "$L" --mask=causal | tee -a "$rss_txt"; then :; else status=1; fi
  done
fi
done_at=$(date +%s)

echo
summary_args=("$json")
[ -s "$rss_txt" ] && summary_args+=("$rss_txt")
python3 bench/summarize.py "${summary_args[@]}" || status=1
echo
[ -f "$out_dir/machine.txt" ] && sed 's/^run_measured/scripts\/bench.sh: benchmarks/' "$out_dir/machine.txt"
echo "scripts/bench.sh: $((built - start)) s build, $((benched - built)) s benchmarks," \
     "$((done_at - benched)) s RSS; results in $out_dir"
exit "$status"
