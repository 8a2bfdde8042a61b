#!/bin/busybox sh
# PID 1 of a kernel-matrix guest (tests/vm/run_matrix.py builds the initramfs).
# Prepares what the topology fixture expects of a node (proc, sys, devtmpfs,
# tmpfs /run and /tmp, cgroup2, bpffs), loads the modules the cloud kernels
# build as modules, runs every test binary under /tests with gtest's JSON
# output, and reports on the second serial port (ttyS1), which the host reads:
#   KERNEL <uname -r>
#   FEATURES-BEGIN / selfcheck output / FEATURES-END
#   BEGIN <binary> / gtest JSON / OUTPUT <binary> / its output / END <binary> RC=<exit code>
#   (RC=143: killed by the per-binary time limit)
#   EXIT=<number of binaries that failed>
# The console (ttyS0) carries the tests' own output for the host's failure log.
# A guest that never writes EXIT= crashed or hung; the host says so.
# Applets go to /bin only, behind iproute2 in PATH: busybox ip cannot make veth pairs.
/bin/busybox --install -s /bin
export PATH=/usr/sbin:/usr/bin:/bin
export HOME=/tmp

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /tmp
mkdir -p /run/netns /sys/fs/bpf /sys/fs/cgroup
ln -sfn /run /var/run
mount -t bpf bpf /sys/fs/bpf
mount -t cgroup2 cgroup2 /sys/fs/cgroup
# The fixture enables controllers for its pod cgroups, as kubelet would.
echo "+cpu +memory +pids" >/sys/fs/cgroup/cgroup.subtree_control 2>/dev/null

out=/dev/ttyS1
report() { echo "$*" >"$out"; }

report "KERNEL $(uname -r)"
# Modules in dependency order (resolved on the host with modprobe --show-depends).
while read -r m; do
  [ -n "$m" ] || continue
  insmod "/modules/$m" || report "MODULE-FAILED $m"
done </modules/order
ip link set lo up

report "FEATURES-BEGIN"
/usr/bin/smi-agent selfcheck --bpffs /sys/fs/bpf/smi-selfcheck >"$out" 2>&1
report "FEATURES-END"

# Each binary gets a time limit (smi.test_timeout= on the kernel command
# line), so one hanging test costs its binary, not the whole guest's report.
limit=$(sed -n 's/.*smi\.test_timeout=\([0-9]*\).*/\1/p' /proc/cmdline)
limit=${limit:-240}
# smi.gtest_filter= (run_matrix.py --gtest-filter): only the matching tests.
filter=$(sed -n 's/.*smi\.gtest_filter=\([^ ]*\).*/\1/p' /proc/cmdline)

failed=0
for t in /tests/*; do
  name=$(basename "$t")
  echo "=== $name" >/dev/console
  # gtest's JSON has no skip reasons: the host reads them from the output.
  # SIGTERM first: the fixture tears its namespaces down on it. Output goes to
  # a file, not a pipe: a process a test leaks could hold a pipe open forever.
  timeout -s TERM "$limit" "$t" --gtest_output="json:/tmp/$name.json" ${filter:+--gtest_filter="$filter"} \
    >"/tmp/$name.out" 2>&1
  rc=$?
  cat "/tmp/$name.out" >/dev/console
  [ "$rc" = 0 ] || failed=$((failed + 1))
  report "BEGIN $name"
  [ -f "/tmp/$name.json" ] && cat "/tmp/$name.json" >"$out"
  report "OUTPUT $name"
  cat "/tmp/$name.out" >"$out"
  report "END $name RC=$rc"
done

report "EXIT=$failed"
sync
poweroff -f
