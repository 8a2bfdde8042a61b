#!/usr/bin/env bash
# Prepares a Debian bookworm machine to build, test and run smi-agent, as root:
# installs the Debian packages the project uses, mounts bpffs, checks cgroup2.
# Idempotent and quiet on success; says what failed and how to fix it.
set -euo pipefail

packages=(
  build-essential cmake pkg-config git
  clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev
  libssl-dev libcurl4-openssl-dev prometheus-cpp-dev libcivetweb-dev libspdlog-dev libfmt-dev
  libyaml-dev libyaml-cpp-dev nlohmann-json3-dev libcli11-dev
  libgtest-dev libgmock-dev libbenchmark-dev libclang-rt-14-dev
  iproute2 iputils-ping procps curl
  wireguard-go wireguard-tools
)
# The vm test tier only (tests/vm): QEMU, the guests' busybox, depmod/modprobe
# for their modules, the runner's interpreter. Not needed to build.
vm_tools=(qemu-system-x86 busybox-static kmod python3)

die() { echo "setup: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (it installs packages and mounts bpffs)"

missing=()
for p in "${packages[@]}" "${vm_tools[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  log=$(mktemp)
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
    tail -n 30 "$log" >&2
    die "apt-get failed installing: ${missing[*]} (full log: $log)"
  fi
  rm -f "$log"
fi

# promtool (Prometheus' linter) for the unit tier's exposition and rule checks
# (tests/unit/metrics_promtool_test.cpp). Debian ships it only inside the
# `prometheus` package, whose postinst starts a Prometheus server on port
# 9090: so the .deb is downloaded, not installed, and only usr/bin/promtool is
# extracted into a fixed cache directory. Kept while its version matches.
promtool_dir=/var/cache/smi-agent/promtool
promtool_version=$(apt-cache policy prometheus 2>/dev/null | awk '/Candidate:/ {print $2}')
if [ -z "$promtool_version" ] || [ "$promtool_version" = "(none)" ]; then
  apt-get update -qq >/dev/null 2>&1 || die "apt-get update failed (needed to find the prometheus package for promtool)"
  promtool_version=$(apt-cache policy prometheus 2>/dev/null | awk '/Candidate:/ {print $2}')
fi
[ -n "$promtool_version" ] && [ "$promtool_version" != "(none)" ] \
  || die "no Debian package 'prometheus' in the apt sources: promtool cannot be fetched"
if [ ! -x "$promtool_dir/usr/bin/promtool" ] || [ "$(cat "$promtool_dir/version" 2>/dev/null)" != "$promtool_version" ]; then
  work=$(mktemp -d)
  if ! (cd "$work" && apt-get download -qq "prometheus=$promtool_version" >"$work/log" 2>&1); then
    cat "$work/log" >&2
    die "apt-get download prometheus=$promtool_version failed (promtool for the unit tier)"
  fi
  rm -rf "$promtool_dir"
  mkdir -p "$promtool_dir"
  # Only the one file; nothing of the package is configured or started.
  dpkg-deb --fsys-tarfile "$work"/prometheus_*.deb | tar -x -C "$promtool_dir" ./usr/bin/promtool \
    || die "extracting usr/bin/promtool from $(ls "$work"/prometheus_*.deb) failed"
  "$promtool_dir/usr/bin/promtool" --version >/dev/null 2>&1 || die "$promtool_dir/usr/bin/promtool does not run"
  echo "$promtool_version" >"$promtool_dir/version"
  rm -rf "$work"
fi

# bpffs: pinned maps and links live there; not mounted at boot on this kind.
if ! grep -qE '^[^ ]+ /sys/fs/bpf bpf ' /proc/self/mounts; then
  mount -t bpf bpf /sys/fs/bpf || die "cannot mount bpffs on /sys/fs/bpf"
fi

# cgroup2: found from the mount table, never assumed.
grep -qE '^[^ ]+ [^ ]+ cgroup2 ' /proc/self/mounts \
  || die "no cgroup2 mount found in /proc/self/mounts (mount -t cgroup2 none /sys/fs/cgroup/unified)"
