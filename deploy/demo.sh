#!/usr/bin/env bash
# The main job, one command on a fresh machine, as root: sets the machine up,
# builds, and runs the local demo (deploy/demo/): a two-node cluster of
# network namespaces and kubelet-style cgroups made from deploy/examples, the
# real smi-agent on each node, and measured traffic (access, the live flow
# stream of `smi-agent observe`, split, a live weight change, metrics,
# status). It cleans up after itself, also on Ctrl-C, and can be run again.
# Extra arguments go to smi-demo (e.g. --check).
set -euo pipefail
cd "$(dirname "$0")/.."
bash deploy/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
# At most two jobs: the machines this runs on have two cores, often shared.
jobs=$(nproc); (( jobs > 2 )) && jobs=2
cmake --build build -j"$jobs" --target smi-agent smi-demo
./build/agent/smi-agent selfcheck
exec ./build/deploy/demo/smi-demo "$@"
