#!/usr/bin/env bash
# The whole test suite, as CI runs it: sets the machine up, builds, and runs
# every tier (unit, bpf, e2e, vm, and the unit tier again under ASan+UBSan in
# build-asan/: the test sanitize_unit_tier) through CTest, ending with ctest's
# summary.
#   ./tests/run.sh               everything
#   ./tests/run.sh -L unit       one tier (any ctest arguments pass through;
#                                -L unit includes its sanitizer run)
#   ./tests/run.sh -L unit -LE sanitize   the unit tier, plain build only
#   SMI_SANITIZE=1 ./tests/run.sh -L unit   the unit tier in build-asan/ only
set -euo pipefail
cd "$(dirname "$0")/.."

bash deploy/setup.sh

build=build
cmake_args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo)
if [ "${SMI_SANITIZE:-0}" = 1 ]; then
  build=build-asan
  cmake_args+=(-DSMI_SANITIZE=ON)
  # Any report fails its test, as in the plain run's sanitize tier
  # (tests/sanitize/unit_tier.sh).
  export ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=1:detect_leaks=1}
  export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
fi

cmake -S . -B "$build" "${cmake_args[@]}" >/dev/null
# For the unit tier alone, only what it runs (the target smi_unit_tier: the
# sanitizer build of everything else takes far longer and runs nothing here).
targets=()
if [ "$*" = "-L unit" ]; then
  targets=(--target smi_unit_tier)
fi
cmake --build "$build" -j"$(nproc)" "${targets[@]}"

# Tests build their own namespaces, cgroups and bpffs directories and remove
# them; the e2e and vm tiers need root.
started=$(mktemp)
rc=0
ctest --test-dir "$build" --output-on-failure --timeout 1500 -j2 "$@" || rc=$?
# The kernel matrix (label vm) leaves its per-kernel table; show it when this
# run made it, passed or not (ctest prints a passing test's output nowhere).
matrix="$build/vm-cache/matrix.txt"
if [ -f "$matrix" ] && [ "$matrix" -nt "$started" ]; then
  cat "$matrix"
fi
rm -f "$started"
exit "$rc"
