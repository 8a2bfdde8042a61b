#!/usr/bin/env bash
# The benchmarks' one command: prepares this machine (deploy/setup.sh plus the
# load tools and the sidecar model's haproxy/iptables/conntrack), builds
# mesh_bench with -j2, runs it and prints the tables (also kept in
# build/mesh_bench-<date>.md), then the compile benchmark (compile_bench, the
# compiler alone at the issue's scale). Run as root from anywhere:
#   tests/bench/run.sh            full run (5 repetitions, 10k-service control plane; ~5-8 min)
#   tests/bench/run.sh --quick    shorter runs, 2k-service control plane (~2 min)
# Extra arguments go to mesh_bench (--reps N, --secs S, --no-sidecar, ...).
set -euo pipefail

die() { echo "run.sh: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "run as root (namespaces, cgroups, BPF, iptables)"
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"

deploy/setup.sh

# netperf is not in Debian bookworm (non-free, removed); sockperf and iperf3
# are installed for manual cross-checks (see docs/benchmarks.md).
tools=(haproxy iptables conntrack iperf3 sockperf)
missing=()
for p in "${tools[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "run.sh: installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
    || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; } \
    || die "apt-get could not install ${missing[*]}"
fi

cmake -S . -B build >/dev/null
cmake --build build -j2 --target mesh_bench compile_bench smi-agent >/dev/null

out="build/mesh_bench-$(date -u +%Y%m%dT%H%M%SZ).md"
{
  echo "machine: $(nproc) CPUs, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), kernel $(uname -r), $(. /etc/os-release && echo "$PRETTY_NAME")"
  echo "command: tests/bench/run.sh $*  (commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown))"
  echo "haproxy: $(haproxy -v | head -1)"
  echo "load average at start (other users of the 2 cores skew every figure): $(cut -d" " -f1-3 /proc/loadavg)"
  echo
} | tee "$out"
rc=0
build/tests/bench/mesh_bench "$@" | tee -a "$out" || rc=$?
{
  echo
  echo "compile_bench (in-memory model objects, no YAML; CPU time of the compiling thread):"
  echo '```'
  build/tests/bench/compile_bench
  echo '```'
} 2>&1 | tee -a "$out" || rc=$?
echo "run.sh: results kept in $out" >&2
exit $rc
