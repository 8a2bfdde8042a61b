#!/usr/bin/env bash
# The unit tier again under AddressSanitizer and UndefinedBehaviorSanitizer,
# as one test of the plain build (label sanitize): configures and builds the
# sanitizer build (only what the unit tier runs), runs `ctest -L unit` there,
# and fails on any failed test or on any sanitizer report in its output, even
# one from a child process whose exit status a test did not look at.
#   unit_tier.sh SOURCE_DIR SANITIZER_BUILD_DIR SHIPPED_AGENT
set -euo pipefail
src=$1 build=$2 shipped=$3

# Reports are fatal: ASan stops at the first error, UBSan is built with
# -fno-sanitize-recover; leaks are checked at exit.
export ASAN_OPTIONS=halt_on_error=1:detect_leaks=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
# The image's library check judges the shipped (plain) agent, not this build's.
export SMI_SHIPPED_AGENT=$shipped
# This script's own test does not exist in the sanitizer build (no recursion).

start=$(date +%s)
cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSMI_SANITIZE=ON >/dev/null
cmake --build "$build" -j2 --target smi_unit_tier
built=$(date +%s)
echo "sanitize: build took $((built - start)) s"

rc=0
ctest --test-dir "$build" -L unit --output-on-failure --timeout 300 -j2 || rc=$?
echo "sanitize: unit tier took $(($(date +%s) - built)) s"

# ctest keeps every test's output, passed or not, in LastTest.log.
log="$build/Testing/Temporary/LastTest.log"
if [ ! -s "$log" ]; then
  echo "sanitize: no ctest log at $log" >&2
  exit 1
fi
reports=$(grep -nE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error: |SUMMARY: (Address|UndefinedBehavior|Leak)Sanitizer' "$log" || true)
if [ -n "$reports" ]; then
  echo "sanitize: sanitizer reports in $log:" >&2
  echo "$reports" | head -n 50 >&2
  exit 1
fi
[ "$rc" = 0 ] || { echo "sanitize: the unit tier failed under ASan+UBSan (rc $rc)" >&2; exit "$rc"; }
echo "sanitize: unit tier passed under ASan+UBSan, no sanitizer report"
