// The reconcile step against an in-memory sink: all or nothing.
#include "daemon/reconciler.h"

#include <gtest/gtest.h>

#include "manifests/load.h"

namespace smi::daemon {
namespace {

using compiler::DesiredState;
using compiler::MapOp;

// Applies operations to an in-memory copy of the maps; can be told to fail
// at the n-th operation, as a kernel map update can.
class FakeSink : public StateSink {
 public:
  Status apply(const std::vector<MapOp>& ops, const DesiredState&, size_t& done) override {
    done = 0;
    for (const auto& op : ops) {
      if (fail_at_ >= 0 && calls_++ == fail_at_) return Error("map smi_pol_v1 is full (capacity 1 entries)", E2BIG);
      (op.kind == compiler::OpKind::upsert ? live_[key(op)] = 1 : live_.erase(key(op)));
      ++done;
    }
    return ok();
  }
  static std::string key(const MapOp& op) { return compiler::describe({op.family, compiler::OpKind::upsert, op.key, {}}); }
  std::map<std::string, int> live_;
  int fail_at_ = -1;
  int calls_ = 0;
};

std::vector<model::Object> load(const std::string& dir, model::Diagnostics& d) {
  return manifests::load_manifests(std::string(SMI_TESTDATA) + "/" + dir, d);
}

TEST(Reconciler, AppliesThenReportsUnchanged) {
  FakeSink sink;
  Reconciler rec({.node = "node-a"}, sink);
  model::Diagnostics d;
  auto r = rec.reconcile(load("demo", d), d);
  ASSERT_EQ(r.outcome, ReconcileResult::Outcome::applied) << r.error;
  EXPECT_GT(r.ops, 0u);
  EXPECT_EQ(sink.live_.size(), r.ops) << "a first update only adds";
  EXPECT_EQ(rec.generation(), 1u);
  model::Diagnostics d2;
  auto again = rec.reconcile(load("demo", d2), d2);
  EXPECT_EQ(again.outcome, ReconcileResult::Outcome::unchanged);
  EXPECT_EQ(again.ops, 0u);
  EXPECT_EQ(rec.generation(), 1u);
}

TEST(Reconciler, AnUpdateWithErrorsIsRefusedWhole) {
  FakeSink sink;
  Reconciler rec({.node = "node-a"}, sink);
  model::Diagnostics d;
  ASSERT_EQ(rec.reconcile(load("demo", d), d).outcome, ReconcileResult::Outcome::applied);
  const auto before = sink.live_;
  const DesiredState applied = rec.applied();

  model::Diagnostics bad;
  auto objects = load("demo", bad);
  auto more = load("bad", bad);  // good objects and bad ones together
  objects.insert(objects.end(), more.begin(), more.end());
  auto r = rec.reconcile(std::move(objects), bad);
  EXPECT_EQ(r.outcome, ReconcileResult::Outcome::refused);
  EXPECT_TRUE(r.diagnostics.has_errors());
  EXPECT_NE(r.error.find("last applied state keeps running"), std::string::npos);
  EXPECT_EQ(sink.live_, before) << "nothing of a refused update reaches the maps";
  EXPECT_EQ(rec.applied(), applied);
}

TEST(Reconciler, APartlyAppliedUpdateIsUndone) {
  FakeSink sink;
  Reconciler rec({.node = "node-a"}, sink);
  model::Diagnostics d;
  ASSERT_EQ(rec.reconcile(load("demo", d), d).outcome, ReconcileResult::Outcome::applied);
  const auto before = sink.live_;
  const DesiredState applied = rec.applied();

  // Everything deleted (an empty directory): many operations; the sink
  // fails at the fourth, after three were applied.
  sink.fail_at_ = 3;
  sink.calls_ = 0;
  auto r = rec.reconcile({}, {});
  ASSERT_EQ(r.outcome, ReconcileResult::Outcome::failed);
  EXPECT_GT(r.ops, 4u);
  EXPECT_NE(r.error.find("is full"), std::string::npos);
  EXPECT_NE(r.error.find("the 3 operation(s) already applied were undone"), std::string::npos) << r.error;
  EXPECT_EQ(sink.live_, before) << "the maps hold the last applied state again";
  EXPECT_EQ(rec.applied(), applied);
  EXPECT_EQ(rec.generation(), 1u);
}

TEST(Reconciler, AdoptedStateIsDiffedSoStaleEntriesGo) {
  FakeSink sink;
  Reconciler first({.node = "node-a"}, sink);
  model::Diagnostics d;
  ASSERT_EQ(first.reconcile(load("demo", d), d).outcome, ReconcileResult::Outcome::applied);
  // A restarted agent reads back what the kernel holds, plus an entry that
  // went stale while no agent ran.
  DesiredState kernel = first.applied();
  kernel.policy_dst.insert(0xdeadbeefcafef00dULL);
  sink.live_[FakeSink::key({compiler::Family::policy_dst, compiler::OpKind::upsert,
                            compiler::PolicyDstKey{0xdeadbeefcafef00dULL}, {}})] = 1;
  Reconciler restarted({.node = "node-a"}, sink);
  restarted.adopt(kernel);
  model::Diagnostics d2;
  auto r = restarted.reconcile(load("demo", d2), d2);
  ASSERT_EQ(r.outcome, ReconcileResult::Outcome::applied);
  EXPECT_EQ(r.ops, 1u) << "only the stale entry is removed";
  EXPECT_EQ(sink.live_.size(), first.applied().policy.size() + first.applied().policy_dst.size() +
                                   first.applied().ip_identity.size() + first.applied().services.size() +
                                   [&] {
                                     size_t n = 0;
                                     for (const auto& [id, v] : first.applied().slots) n += v.size();
                                     return n;
                                   }() + first.applied().pod_identity.size());
}

}  // namespace
}  // namespace smi::daemon
