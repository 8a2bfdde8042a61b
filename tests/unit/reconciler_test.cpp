// The reconcile step against an in-memory sink: all or nothing.
#include "daemon/reconciler.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "manifests/load.h"

namespace smi::daemon {
namespace {

using compiler::DesiredState;
using compiler::MapOp;

// Applies operations to an in-memory copy of the maps; can be told to fail
// at the n-th operation, as a kernel map update can.
// Holds what a kernel would: one entry per key, as the ops left it, and reads
// it back as a state (pod_identity excepted, as the real datapath).
class FakeSink : public compiler::StateSink {
 public:
  Status apply(const std::vector<MapOp>& ops, const DesiredState&, size_t& done) override {
    done = 0;
    for (const auto& op : ops) {
      const bool fail = fail_at_ >= 0 && calls_++ >= fail_at_ && calls_ <= fail_at_ + fail_count_;
      if (fail) return Error("map smi_pol_v1 is full (capacity 1 entries)", E2BIG);
      if (op.kind == compiler::OpKind::upsert) {
        live_[key(op)] = 1;
        values_[key(op)] = op;
      } else {
        live_.erase(key(op));
        values_.erase(key(op));
      }
      ++done;
    }
    return ok();
  }
  Result<DesiredState> read_back() override {
    if (read_back_fails_) return Error("read back: injected", EIO);
    // As the kernel's maps: everything but pod_identity (keyed by cgroup) reads back.
    std::vector<MapOp> entries;
    for (const auto& [k, op] : values_)
      if (op.family != compiler::Family::pod_identity) entries.push_back(op);
    return compiler::state_of(std::move(entries));
  }
  static std::string key(const MapOp& op) { return compiler::describe({op.family, compiler::OpKind::upsert, op.key, {}}); }
  std::map<std::string, int> live_;
  std::map<std::string, MapOp> values_;
  int fail_at_ = -1;     // the call (0-based) from which ops fail...
  int fail_count_ = 1;   // ...for this many calls
  int calls_ = 0;
  bool read_back_fails_ = false;
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

// The demo objects without the one of `kind` named `name`, plus those `yaml`
// decodes (errors into `d`), as a source would hand over an edited object.
std::vector<model::Object> demo_with(const std::string& yaml, model::Diagnostics& d, const std::string& kind = "",
                                     const std::string& name = "") {
  auto objects = load("demo", d);
  std::erase_if(objects, [&](const model::Object& o) {
    return model::kind_of(o) == kind && model::meta_of(o).name == name;
  });
  auto more = manifests::parse_text(yaml, "edit.yaml", manifests::Format::yaml, d);
  objects.insert(objects.end(), std::make_move_iterator(more.begin()), std::make_move_iterator(more.end()));
  return objects;
}

// A reconciler that has applied the demo objects.
struct DemoApplied {
  FakeSink sink;
  Reconciler rec{{.node = "node-a"}, sink};
  DesiredState before;  // what the demo objects applied
  DemoApplied() {
    model::Diagnostics d;
    auto r = rec.reconcile(load("demo", d), d);
    EXPECT_EQ(r.outcome, ReconcileResult::Outcome::applied) << r.error;
    before = rec.applied();
  }
  // Reconciles the demo objects edited as demo_with() edits them.
  ReconcileResult edit(const std::string& yaml, const std::string& kind = "", const std::string& name = "") {
    model::Diagnostics d;
    auto objects = demo_with(yaml, d, kind, name);
    return rec.reconcile(std::move(objects), d);
  }
};

const Refusal* refusal(const ReconcileResult& r, const std::string& kind, const std::string& name) {
  for (const auto& x : r.refusals)
    if (x.kind == kind && x.name == name) return &x;
  return nullptr;
}

// The demo's split with other backends and weights.
std::string website_split(const std::string& backends) {
  return "apiVersion: split.smi-spec.io/v1alpha4\nkind: TrafficSplit\n"
         "metadata: {name: website-split, namespace: default}\nspec:\n  service: website\n  backends:\n" +
         backends + "---\n";
}

const std::string kNewPod = R"(apiVersion: v1
kind: Pod
metadata: {name: late, namespace: default, uid: 00000000-0000-0000-0000-00000000late}
spec: {serviceAccountName: client, nodeName: node-a}
status: {phase: Running, podIPs: [{ip: 10.1.0.77}]}
---
)";

TEST(Reconciler, ABadObjectIsRefusedAloneAndEveryOtherChangeLands) {
  DemoApplied demo;
  auto& rec = demo.rec;

  // Bad objects of three kinds beside a new pod.
  model::Diagnostics bad;
  auto objects = load("demo", bad);
  auto more = load("bad", bad);
  objects.insert(objects.end(), more.begin(), more.end());
  auto pod = manifests::parse_text(kNewPod, "late.yaml", manifests::Format::yaml, bad);
  objects.insert(objects.end(), pod.begin(), pod.end());
  auto r = rec.reconcile(std::move(objects), bad);
  ASSERT_EQ(r.outcome, ReconcileResult::Outcome::applied) << r.error;
  EXPECT_TRUE(r.error.empty());
  EXPECT_TRUE(rec.applied().pod_identity.count("00000000-0000-0000-0000-00000000late")) << "the new pod is served";
  EXPECT_TRUE(rec.applied().ip_identity.count(*model::IpAddr::parse("10.1.0.77")));
  ASSERT_EQ(r.refusals.size(), 3u);
  const Refusal* split = refusal(r, "TrafficSplit", "bad");
  ASSERT_NE(split, nullptr);
  EXPECT_EQ(split->ns, "default");
  EXPECT_EQ(split->field, "spec.backends[0].weight");
  EXPECT_THAT(split->where.file, ::testing::EndsWith("bad.yaml"));
  EXPECT_EQ(split->where.line, 7);
  EXPECT_FALSE(split->kept_last_good) << "never applied: nothing to keep";
  ASSERT_NE(refusal(r, "TCPRoute", "wide"), nullptr);
  const Refusal* tt = refusal(r, "TrafficTarget", "no-sources");
  ASSERT_NE(tt, nullptr);
  EXPECT_FALSE(tt->reason.empty());
}

TEST(Reconciler, ARefusedObjectKeepsItsLastGoodVersion) {
  DemoApplied demo;
  auto& rec = demo.rec;
  const DesiredState& before = demo.before;

  // The split edited to a negative weight: its 75/25 slots stay.
  auto r = demo.edit(website_split("  - {service: website-v1, weight: 10}\n  - {service: website-v2, weight: -90}\n") + kNewPod,
                     "TrafficSplit", "website-split");
  ASSERT_EQ(r.outcome, ReconcileResult::Outcome::applied) << r.error;
  ASSERT_EQ(r.refusals.size(), 1u);
  EXPECT_EQ(r.refusals[0].kind, "TrafficSplit");
  EXPECT_EQ(r.refusals[0].field, "spec.backends[1].weight");
  EXPECT_EQ(r.refusals[0].where.file, "edit.yaml");
  EXPECT_TRUE(r.refusals[0].kept_last_good);
  EXPECT_EQ(rec.applied().slots, before.slots) << "the last good weights stay";
  EXPECT_TRUE(rec.applied().pod_identity.count("00000000-0000-0000-0000-00000000late"));

  // Fixed: the new weights land and the refusal is gone.
  auto fixed = demo.edit(website_split("  - {service: website-v1, weight: 10}\n  - {service: website-v2, weight: 90}\n"),
                         "TrafficSplit", "website-split");
  ASSERT_EQ(fixed.outcome, ReconcileResult::Outcome::applied) << fixed.error;
  EXPECT_TRUE(fixed.refusals.empty());
  EXPECT_NE(rec.applied().slots, before.slots);
}

TEST(Reconciler, AnObjectWithSeveralErrorsOrDefinedTwiceKeepsItsLastGoodVersion) {
  DemoApplied demo;
  auto& rec = demo.rec;
  const DesiredState& before = demo.before;

  // Two bad weights in one object.
  auto two = demo.edit(website_split("  - {service: website-v1, weight: -1}\n  - {service: website-v2, weight: -2}\n"),
                       "TrafficSplit", "website-split");
  ASSERT_EQ(two.refusals.size(), 1u);
  EXPECT_EQ(two.refusals[0].field, "spec.backends[0].weight") << "the first error is the reason";
  EXPECT_TRUE(two.refusals[0].kept_last_good);
  EXPECT_EQ(rec.applied(), before);

  // The route defined a second time in another file.
  auto dup = demo.edit("apiVersion: specs.smi-spec.io/v1alpha4\nkind: TCPRoute\n"
                       "metadata: {name: web-port, namespace: default}\nspec: {matches: {ports: [9090]}}\n");
  ASSERT_EQ(dup.refusals.size(), 1u);
  EXPECT_EQ(dup.refusals[0].kind, "TCPRoute");
  EXPECT_TRUE(dup.refusals[0].kept_last_good);
  EXPECT_EQ(rec.applied().policy, before.policy) << "port 8080 stays allowed";
}

TEST(Reconciler, ATargetWhoseRouteIsRefusedKeepsItsLastGoodRules) {
  DemoApplied demo;
  auto r = demo.edit(R"(apiVersion: specs.smi-spec.io/v1alpha4
kind: TCPRoute
metadata: {name: web-port, namespace: default}
spec: {matches: {ports: [80800]}}
)",
                     "TCPRoute", "web-port");
  ASSERT_EQ(r.outcome, ReconcileResult::Outcome::unchanged) << r.error;
  ASSERT_EQ(r.refusals.size(), 1u);
  EXPECT_EQ(r.refusals[0].kind, "TCPRoute");
  EXPECT_TRUE(r.refusals[0].kept_last_good);
  EXPECT_EQ(demo.rec.applied().policy, demo.before.policy) << "the target still allows port 8080";
}

TEST(Reconciler, ATargetWhoseRouteIsGoneIsRefusedAndItsDestinationDeniesByDefault) {
  DemoApplied demo;
  auto& rec = demo.rec;
  ASSERT_FALSE(rec.applied().policy.empty());

  // The route deleted: the target (unchanged) names a route that is not
  // there; its last good version names it too, so it is left out.
  auto r = demo.edit("", "TCPRoute", "web-port");
  ASSERT_EQ(r.outcome, ReconcileResult::Outcome::applied) << r.error;
  const Refusal* tt = refusal(r, "TrafficTarget", "client-to-website");
  ASSERT_NE(tt, nullptr);
  EXPECT_EQ(tt->field, "spec.rules[0].name");
  EXPECT_EQ(tt->reason, "TCPRoute default/web-port does not exist");
  EXPECT_FALSE(tt->kept_last_good);
  EXPECT_TRUE(rec.applied().policy.empty());
  EXPECT_FALSE(rec.applied().policy_dst.empty()) << "the destination still denies by default";
}

TEST(Reconciler, ASplitWhoseBackendIsMissingKeepsItsLastGoodWeights) {
  DemoApplied demo;
  auto r = demo.edit(website_split("  - {service: website-v1, weight: 50}\n  - {service: website-v3, weight: 50}\n"),
                     "TrafficSplit", "website-split");
  ASSERT_EQ(r.outcome, ReconcileResult::Outcome::unchanged) << r.error;
  ASSERT_EQ(r.refusals.size(), 1u);
  EXPECT_EQ(r.refusals[0].reason, "backend Service default/website-v3 does not exist");
  EXPECT_TRUE(r.refusals[0].kept_last_good);
  EXPECT_EQ(demo.rec.applied().slots, demo.before.slots);
}

TEST(Reconciler, AFileThatCannotBeReadKeepsEveryObjectItHad) {
  FakeSink sink;
  Reconciler rec({.node = "node-a"}, sink);
  model::Diagnostics d;
  auto first = manifests::parse_text(kNewPod, "late.yaml", manifests::Format::yaml, d);
  auto demo = load("demo", d);
  first.insert(first.end(), demo.begin(), demo.end());
  ASSERT_EQ(rec.reconcile(std::move(first), d).outcome, ReconcileResult::Outcome::applied);
  const DesiredState before = rec.applied();

  model::Diagnostics d2;
  auto objects = load("demo", d2);
  auto broken = manifests::parse_text("kind: Pod\nmetadata: {name: [\n", "late.yaml", manifests::Format::yaml, d2);
  objects.insert(objects.end(), broken.begin(), broken.end());
  auto r = rec.reconcile(std::move(objects), d2);
  ASSERT_EQ(r.outcome, ReconcileResult::Outcome::unchanged) << r.error;
  ASSERT_EQ(r.refusals.size(), 1u);
  EXPECT_EQ(r.refusals[0].kind, "");
  EXPECT_EQ(r.refusals[0].name, "late.yaml");
  EXPECT_TRUE(r.refusals[0].kept_last_good);
  EXPECT_EQ(rec.applied(), before) << "the pod of the unreadable file keeps its identity";
}

TEST(Reconciler, AnErrorThatNamesNoObjectRefusesTheWholeUpdate) {
  FakeSink sink;
  compiler::CompileOptions o{.node = "node-a"};
  Reconciler rec(o, sink);
  model::Diagnostics d;
  ASSERT_EQ(rec.reconcile(load("demo", d), d).outcome, ReconcileResult::Outcome::applied);
  const auto live = sink.live_;

  o.capacities.policy_dst = 1;  // more meshed identities than the map holds
  Reconciler tight(o, sink);
  tight.adopt(rec.applied());
  model::Diagnostics d2;
  auto r = tight.reconcile(load("demo", d2), d2);
  EXPECT_EQ(r.outcome, ReconcileResult::Outcome::refused);
  EXPECT_THAT(r.error, ::testing::HasSubstr("last applied state keeps running"));
  EXPECT_THAT(r.error, ::testing::HasSubstr("exceed the map capacity"));
  EXPECT_EQ(sink.live_, live) << "nothing of a refused update reaches the maps";
}

TEST(Reconciler, APartlyAppliedUpdateIsUndone) {
  DemoApplied demo;
  auto& rec = demo.rec;
  const auto before = demo.sink.live_;
  const DesiredState applied = rec.applied();

  // Everything deleted (an empty directory): many operations; the sink
  // fails at the fourth, after three were applied.
  demo.sink.fail_at_ = 3;
  demo.sink.calls_ = 0;
  auto r = rec.reconcile({}, {});
  ASSERT_EQ(r.outcome, ReconcileResult::Outcome::failed);
  EXPECT_GT(r.ops, 4u);
  EXPECT_NE(r.error.find("is full"), std::string::npos);
  EXPECT_NE(r.error.find("the 3 operation(s) already applied were undone"), std::string::npos) << r.error;
  EXPECT_EQ(demo.sink.live_, before) << "the maps hold the last applied state again";
  EXPECT_EQ(rec.applied(), applied);
  EXPECT_EQ(rec.generation(), 1u);
}

// A failed update whose undo fails too: the node keeps the entries it holds
// (never starts over from nothing, which would drop every pod's identity),
// the reconciler takes what the kernel holds as applied, and the next update
// removes exactly what is stale.
TEST(Reconciler, AFailedUndoKeepsWhatTheKernelHoldsAndTheNextUpdateMends) {
  DemoApplied demo;
  auto& rec = demo.rec;
  const DesiredState good = rec.applied();
  ASSERT_FALSE(good.pod_identity.empty());

  // Removing everything fails at the fourth op, and so does the undo's first.
  demo.sink.fail_at_ = 3;
  demo.sink.fail_count_ = 2;
  demo.sink.calls_ = 0;
  auto r = rec.reconcile({}, {});
  ASSERT_EQ(r.outcome, ReconcileResult::Outcome::failed);
  EXPECT_TRUE(r.undo_failed);
  EXPECT_NE(r.error.find("undo failed too"), std::string::npos) << r.error;
  EXPECT_EQ(rec.applied().pod_identity, good.pod_identity) << "local pods keep their identities";
  auto kernel = demo.sink.read_back();
  ASSERT_TRUE(kernel.ok());
  EXPECT_EQ(rec.applied().policy, kernel->policy) << "applied is what the kernel holds";
  EXPECT_EQ(rec.applied().ip_identity, kernel->ip_identity);

  // The same good input again: the kernel ends exactly at the good state.
  demo.sink.fail_at_ = -1;
  model::Diagnostics d2;
  auto again = rec.reconcile(load("demo", d2), d2);
  ASSERT_NE(again.outcome, ReconcileResult::Outcome::failed) << again.error;
  auto mended = demo.sink.read_back();
  ASSERT_TRUE(mended.ok());
  EXPECT_EQ(mended->policy, good.policy);
  EXPECT_EQ(mended->policy_dst, good.policy_dst);
  EXPECT_EQ(mended->ip_identity, good.ip_identity);
  EXPECT_EQ(mended->services, good.services);
  EXPECT_EQ(mended->slots, good.slots);
}

// When even the read-back fails, nothing is diffed from a guess: the next
// update reads back first, and is refused (failed) until it can.
TEST(Reconciler, AnUnknownKernelStateIsReadBackBeforeTheNextDiff) {
  DemoApplied demo;
  auto& rec = demo.rec;
  demo.sink.fail_at_ = 3;
  demo.sink.fail_count_ = 2;
  demo.sink.calls_ = 0;
  demo.sink.read_back_fails_ = true;
  ASSERT_TRUE(rec.reconcile({}, {}).undo_failed);
  model::Diagnostics d2;
  auto blind = rec.reconcile(load("demo", d2), d2);
  EXPECT_EQ(blind.outcome, ReconcileResult::Outcome::failed);
  EXPECT_NE(blind.error.find("reading it back failed"), std::string::npos) << blind.error;
  demo.sink.read_back_fails_ = false;
  demo.sink.fail_at_ = -1;
  model::Diagnostics d3;
  auto seen = rec.reconcile(load("demo", d3), d3);
  EXPECT_NE(seen.outcome, ReconcileResult::Outcome::failed) << seen.error;
  EXPECT_EQ(demo.sink.read_back()->policy, rec.applied().policy);
}

TEST(Reconciler, AdoptedStateIsDiffedSoStaleEntriesGo) {
  FakeSink sink;
  Reconciler first({.node = "node-a"}, sink);
  model::Diagnostics d;
  ASSERT_EQ(first.reconcile(load("demo", d), d).outcome, ReconcileResult::Outcome::applied);
  // A restarted agent reads back what the kernel holds, plus an entry that
  // went stale while no agent ran.
  DesiredState kernel = first.applied();
  kernel.policy_dst[0xdeadbeefcafef00dULL] = compiler::DstMode::enforce;
  sink.live_[FakeSink::key({compiler::Family::policy_dst, compiler::OpKind::upsert,
                            compiler::PolicyDstKey{0xdeadbeefcafef00dULL}, compiler::DstMode::enforce})] = 1;
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
