#!/usr/bin/env bash
# Sets up a fresh machine, configures, builds and runs the whole test suite
# (check-tmix: lit/FileCheck tests, mlir-runner integration tests and the
# GoogleTest unit tests, all through lit). Prints "N passed, M failed" last.
#
#   scripts/test.sh                 # build/ with the default options
#   BUILD_DIR=build-asan CMAKE_ARGS=-DTMIX_ENABLE_SANITIZERS=ON scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=${BUILD_DIR:-build}
scripts/setup.sh

start=$(date +%s)
# shellcheck disable=SC2086
cmake -G Ninja -S . -B "$build_dir" ${CMAKE_ARGS:-}
cmake --build "$build_dir"

log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
cmake --build "$build_dir" --target check-tmix 2>&1 | tee "$log" || status=$?

count() { grep -Eo "^ *$1 *: *[0-9]+" "$log" | grep -Eo '[0-9]+$' | tail -n 1 || true; }
# lit pads the labels to a common width ("Passed :" next to "Skipped:").
passed=$(count Passed); failed=$(count Failed); unsupported=$(count Unsupported)
skipped=$(count Skipped); unsupported=$(( ${unsupported:-0} + ${skipped:-0} ))
xfail=$(count 'Expectedly Failed'); unresolved=$(count Unresolved); timedout=$(count 'Timed Out')
passed=$(( ${passed:-0} + ${xfail:-0} ))
failed=$(( ${failed:-0} + ${unresolved:-0} + ${timedout:-0} ))
echo "scripts/test.sh: $(( $(date +%s) - start )) s for configure, build and tests"
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
if [ "$passed" -eq 0 ] && [ "$status" -eq 0 ]; then
  echo "no test ran"; exit 1
fi
echo "tmix: $passed passed, $failed failed, ${unsupported:-0} skipped"
exit "$status"
