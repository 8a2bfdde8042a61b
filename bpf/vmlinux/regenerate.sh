#!/usr/bin/env bash
# Regenerates bpf/vmlinux/vmlinux.h from a kernel's BTF. Run by hand, on purpose:
# the build never runs this, so which kernel builds the project does not matter.
#   bpf/vmlinux/regenerate.sh [BTF_FILE]     (default /sys/kernel/btf/vmlinux)
set -euo pipefail
btf=${1:-/sys/kernel/btf/vmlinux}
out=$(dirname "$0")/vmlinux.h
kver=$(uname -r)
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
bpftool btf dump file "$btf" format c > "$tmp"
{
  sed -n '1,/^ \*\//p' "$out" | sed "s|the BTF of Linux [^ ]* |the BTF of Linux ${kver%%-*} |"
  cat "$tmp"
} > "$out.new"
mv "$out.new" "$out"
echo "wrote $out from $btf"
