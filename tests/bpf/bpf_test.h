// The bpf tier's test base: root (to load programs), libbpf's output in the
// logs, and a bpffs directory of the test's own, removed after it. A suite's
// SetUp calls BpfTest::SetUp() first and stops if it skipped or failed.
#pragma once

#include <gtest/gtest.h>

#include <unistd.h>

#include <optional>

#include "base/log.h"
#include "fixture/cluster.h"

namespace smi::test {

class BpfTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (CAP_BPF) to load programs";
    route_libbpf_logs();
    auto dir = BpffsDir::create(::testing::UnitTest::GetInstance()->current_test_suite()->name());
    ASSERT_TRUE(dir.ok()) << dir.error().message();
    pins_.emplace(std::move(*dir));
  }
  // True when the base SetUp skipped or failed: the suite's SetUp returns.
  bool unready() const { return IsSkipped() || HasFatalFailure(); }

  std::optional<BpffsDir> pins_;
};

}  // namespace smi::test
