#!/usr/bin/env bash
# The main job. Until the local demo cluster lands, it sets the machine up,
# builds, and runs the agent's node self-check: the real kernel probes and a
# real load of every embedded BPF object.
set -euo pipefail
cd "$(dirname "$0")/.."
bash deploy/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target smi-agent
./build/agent/smi-agent selfcheck
