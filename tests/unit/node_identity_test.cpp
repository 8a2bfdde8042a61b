// The local node as an identity of its own: its addresses map to the
// reserved host identity in ip_identity, whatever pods claim them.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "compiler/render.h"
#include "identity/numeric_identity.h"
#include "identity/spiffe.h"
#include "test_util.h"

namespace smi::test {
namespace {

using compiler::CompileOptions;
using model::IpAddr;
using model::Severity;
using ::testing::HasSubstr;

IpAddr ip(const std::string& s) { return *IpAddr::parse(s); }
std::uint64_t id(const std::string& sa) { return identity::derive(identity::spiffe_id("cluster.local", "default", sa)); }

CompileOptions node_a(const std::vector<std::string>& addresses) {
  CompileOptions o;
  o.node = "node-a";
  for (const auto& a : addresses) o.node_addresses.push_back(ip(a));
  return o;
}

TEST(NodeIdentity, NodeAddressesAreTheHostIdentity) {
  auto c = compile(host_network_pod() + pod("a", "web", "10.1.0.1", "node-a", "u-a"),
                   node_a({"192.168.0.1", "fd00::10", "10.0.0.1"}));
  ASSERT_TRUE(c.result.ok()) << c.all();
  EXPECT_EQ(c.result.diagnostics.count(Severity::warning), 0u) << c.all();  // a hostNetwork pod is no conflict
  const auto& s = c.state();
  EXPECT_EQ(s.ip_identity.at(ip("192.168.0.1")), identity::kHost);
  EXPECT_EQ(s.ip_identity.at(ip("fd00::10")), identity::kHost);
  EXPECT_EQ(s.ip_identity.at(ip("10.0.0.1")), identity::kHost);
  EXPECT_EQ(s.ip_identity.at(ip("10.1.0.1")), id("web"));
  EXPECT_EQ(s.ip_identity.size(), 4u);
  EXPECT_TRUE(std::is_sorted(s.ip_identity.begin(), s.ip_identity.end(),
                             [](const auto& x, const auto& y) { return x.first < y.first; }));
  EXPECT_EQ(s.identities.at(identity::kHost), "node node-a");
  // The hostNetwork pod is still its ServiceAccount by cgroup.
  EXPECT_EQ(s.pod_identity.at("u-h").identity, id("agent"));

  EXPECT_THAT(compiler::to_text(s), HasSubstr(fmt::format("  {:<39}  node node-a\n", "192.168.0.1")));
  auto j = compiler::to_json(s);
  EXPECT_EQ(j["identities"][0]["identity"], "0x0000000000000001");
  EXPECT_EQ(j["identities"][0]["spiffe_id"], "node node-a");
}

TEST(NodeIdentity, WithoutNodeAddressesThereIsNoHostEntry) {
  auto c = compile(pod("a", "web", "10.1.0.1"), node_a({}));
  EXPECT_FALSE(c.state().identities.count(identity::kHost));
  for (const auto& [addr, n] : c.state().ip_identity) EXPECT_NE(n, identity::kHost);
}

TEST(NodeIdentity, NodeWinsOverAPodClaimingItsAddressAndTheWarningNamesThePod) {
  // 10.0.0.5: one pod claims it; 10.0.0.6: two pods of different identities
  // (otherwise left unknown) claim it. Both stay the node's.
  auto c = compile(pod("x", "one", "10.0.0.5", "node-b") + pod("y", "two", "10.0.0.6", "node-b") +
                       pod("z", "three", "10.0.0.6", "node-b"),
                   node_a({"10.0.0.5", "10.0.0.6"}));
  ASSERT_TRUE(c.result.ok()) << c.all();
  EXPECT_EQ(c.state().ip_identity.at(ip("10.0.0.5")), identity::kHost);
  EXPECT_EQ(c.state().ip_identity.at(ip("10.0.0.6")), identity::kHost);
  EXPECT_TRUE(c.has(Severity::warning, "Pod default/x: status.podIPs: 10.0.0.5 is an address of this node; it keeps "
                                       "the node's identity, not the pod's"))
      << c.all();
  EXPECT_TRUE(c.has(Severity::warning, "Pod default/y: status.podIPs: 10.0.0.6 is an address of this node")) << c.all();
}

TEST(NodeIdentity, ANodeAddressNeverGetsAPodIdentityInAnyOrder) {
  // Random pods over a small address pool, a random subset of it the node's,
  // given in a random order with repeats: every node address is the host,
  // nothing else is, and the state does not depend on the order.
  std::mt19937 rng(11);
  auto pick = [&rng](int n) { return static_cast<int>(std::uniform_int_distribution<int>(0, n - 1)(rng)); };
  auto addr = [](int i) { return i % 3 == 0 ? fmt::format("fd00::{:x}", i + 1) : fmt::format("10.0.0.{}", i + 1); };
  for (int round = 0; round < 40; ++round) {
    std::string pods;
    for (int p = 0; p < 8; ++p)
      pods += pod("p" + std::to_string(p), "sa" + std::to_string(pick(3)), addr(pick(12)), p % 2 ? "node-a" : "node-b");
    std::vector<std::string> node;
    for (int i = 0; i < 12; ++i)
      if (pick(3) == 0) node.push_back(addr(i));
    auto shuffled = node;
    if (!node.empty()) shuffled.push_back(node.front());
    std::shuffle(shuffled.begin(), shuffled.end(), rng);

    auto c = compile(pods, node_a(node));
    auto d = compile(pods, node_a(shuffled));
    SCOPED_TRACE(::testing::Message() << "round " << round << "\n" << c.all());
    ASSERT_TRUE(c.result.ok());
    EXPECT_EQ(c.state(), d.state());
    EXPECT_EQ(compiler::to_json_text(c.state()), compiler::to_json_text(d.state()));
    for (const auto& a : node) EXPECT_EQ(c.state().ip_identity.at(ip(a)), identity::kHost) << a;
    for (const auto& [a, n] : c.state().ip_identity)
      EXPECT_EQ(n == identity::kHost, std::find(node.begin(), node.end(), a.to_string()) != node.end())
          << a.to_string();
  }
}

}  // namespace
}  // namespace smi::test
