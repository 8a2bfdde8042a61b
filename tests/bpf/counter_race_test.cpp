// smi_count (bpf/lib/counters.h) under two CPUs at once, through tc_pod's
// drop counter and BPF_PROG_TEST_RUN. Needs two CPUs, so the kernel matrix
// leaves it to the host (tests/vm/host_only.txt): the guests have one.
#include <gtest/gtest.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <sched.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "abi/counters.h"
#include "base/log.h"
#include "base/skeleton.h"
#include "bpf/packets.h"
#include "fixture/cluster.h"
#include "maps/counters.h"
#include "tc_pod.skel.h"

namespace smi::test {
namespace {

// A counter key is created by its first count. Two CPUs counting the first
// drop at once must both be kept: the loser of the insert race adds to the
// winner's entry. Each round deletes the key and releases one run on each
// CPU together (this thread on CPU 0, a helper on CPU 1); a lost count shows
// as a round summing to less than two.
TEST(CounterRaceTest, FirstCountsFromTwoCpusAtOnceAreAllKept) {
  if (::sysconf(_SC_NPROCESSORS_ONLN) < 2) GTEST_SKIP() << "needs two CPUs";
  constexpr int kRounds = 20000;
  const Bytes spoofed = ipv4_udp("192.0.2.7", "10.96.0.10");
  if (::geteuid() != 0) GTEST_SKIP() << "needs root (CAP_BPF) to load programs";
  route_libbpf_logs();
  auto pins = BpffsDir::create("counter_race_test");
  ASSERT_TRUE(pins.ok()) << pins.error().message();
  LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = pins->path().c_str());
  auto skel = Skeleton<tc_pod>::open(&opts);
  ASSERT_TRUE(skel.ok()) << skel.error().message();
  ASSERT_TRUE(skel->load().ok());
  const int fd = bpf_program__fd((*skel)->progs.smi_tc_pod_egress);
  auto counters = maps::CounterMap::open(pins->path());
  ASSERT_TRUE(counters.ok()) << counters.error().message();
  auto first_counts = [&]() -> uint64_t {
    auto v = counters->read(SMI_REASON_SPOOFED_SOURCE, SMI_DIR_EGRESS);
    return v.ok() ? v->packets : 0;
  };
  auto run_once = [&] {
    LIBBPF_OPTS(bpf_test_run_opts, run, .data_in = spoofed.data(),
                .data_size_in = static_cast<uint32_t>(spoofed.size()));
    (void)bpf_prog_test_run_opts(fd, &run);
  };
  auto pin_to = [](int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return ::sched_setaffinity(0, sizeof(set), &set) == 0;
  };
  cpu_set_t before;
  ASSERT_EQ(::sched_getaffinity(0, sizeof(before), &before), 0);
  ASSERT_TRUE(pin_to(0));
  std::atomic<int> go{0}, done{0};
  std::thread helper([&] {
    pin_to(1);
    for (int round = 1; round <= kRounds; ++round) {
      while (go.load(std::memory_order_acquire) < round) {
      }
      run_once();
      done.store(round, std::memory_order_release);
    }
  });
  smi_counter_key key{.reason = SMI_REASON_SPOOFED_SOURCE, .direction = SMI_DIR_EGRESS};
  int short_rounds = 0;
  for (int round = 1; round <= kRounds; ++round) {
    (void)bpf_map__delete_elem((*skel)->maps.smi_counters_v1, &key, sizeof(key), 0);
    go.store(round, std::memory_order_release);
    run_once();
    while (done.load(std::memory_order_acquire) < round) {
    }
    short_rounds += first_counts() != 2;
  }
  helper.join();
  ::sched_setaffinity(0, sizeof(before), &before);
  EXPECT_EQ(short_rounds, 0) << "rounds of " << kRounds << " that lost a first count";
}

}  // namespace
}  // namespace smi::test
