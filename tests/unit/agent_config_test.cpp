#include "daemon/config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

namespace smi::daemon {
namespace {

AgentConfig good() {
  AgentConfig c;
  c.manifests_dir = "/etc/smi";
  c.node = "node-1";
  return c;
}

// Fails unless `st` is an error whose message names every one of `needles`.
void expect_error_naming(const Status& st, std::initializer_list<const char*> needles) {
  ASSERT_FALSE(st.ok());
  const std::string m = st.error().message();
  for (const char* needle : needles) EXPECT_NE(m.find(needle), std::string::npos) << needle << " missing from:\n" << m;
}

TEST(AgentConfig, AGoodConfigurationPasses) { EXPECT_TRUE(validate(good()).ok()); }

TEST(AgentConfig, EveryProblemIsListedWithItsFlag) {
  AgentConfig c;
  c.node = "";
  c.mode = "strict";
  c.listen = {"localhost"};
  c.bpffs = "relative/dir";
  expect_error_naming(validate(c), {"--manifests DIR or --kubernetes", "--node is required", "--mode strict",
                                    "--listen localhost", "--bpffs relative/dir"});
}

TEST(AgentConfig, SourcesExcludeEachOther) {
  auto c = good();
  c.source = SourceKind::kubernetes;
  ASSERT_NO_FATAL_FAILURE(expect_error_naming(validate(c), {"exclude each other"}));
  c.manifests_dir.clear();
  EXPECT_TRUE(validate(c).ok());
  c.source = SourceKind::manifests;
  c.manifests_dir = "/etc/smi";
  c.kubeconfig = "/root/.kube/config";
  EXPECT_FALSE(validate(c).ok());
}

TEST(AgentConfig, NodeNamesAreKubernetesNames) {
  auto c = good();
  c.node = "node_1;rm";
  EXPECT_FALSE(validate(c).ok());
  c.node = "ip-10-0-0-1.ec2.internal";
  EXPECT_TRUE(validate(c).ok());
}

TEST(Capacities, FlagsSizeTheMapsAndTheCompilersLimitsAlike) {
  // The compiler's limits and the kernel maps' sizes are one value per family.
  auto c = parse_capacities({"service=131072", "pol=1000"});
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(c->service, 131072u);
  EXPECT_EQ(c->of(smi::maps::Family::service), 131072u);
  EXPECT_EQ(c->policy, 1000u) << "the older short names are still accepted";
  EXPECT_EQ((*c)[smi::maps::MapId::policy], 1000u);
  EXPECT_EQ(c->backend_slot, static_cast<uint32_t>(SMI_SLOT_MAP_MAX)) << "untouched defaults";
  EXPECT_EQ(parse_capacities({"svc=7"})->service, 7u);
  EXPECT_EQ(parse_capacities({"revnat=9"})->revnat, 9u);
  for (const char* bad : {"svc", "svc=", "svc=0", "svc=-1", "svc=99999999999", "routes=10", "counters=10"}) {
    auto r = parse_capacities({bad});
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.error().message().find(std::string("--capacity ") + bad), std::string::npos);
  }
}

TEST(ParseListen, Forms) {
  auto v4 = parse_listen("0.0.0.0:9090");
  ASSERT_TRUE(v4.ok());
  EXPECT_EQ(v4->host, "0.0.0.0");
  EXPECT_EQ(v4->port, 9090);
  auto v6 = parse_listen("[::1]:0");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 0);
  for (const char* bad : {"9090", ":9090", "127.0.0.1:", "127.0.0.1:70000", "[::1]9090", "example.com:80", "1.2.3.4:x"})
    EXPECT_FALSE(parse_listen(bad).ok()) << bad;
  // $(NODE_IP):PORT on an IPv6 node: the last colon is the port's.
  auto bare6 = parse_listen("fd00::5:4290");
  ASSERT_TRUE(bare6.ok());
  EXPECT_EQ(bare6->host, "fd00::5");
  EXPECT_EQ(bare6->port, 4290);
}

TEST(ListeningPorts, OneCivetwebListWithIpv6Bracketed) {
  EXPECT_EQ(listening_ports({"127.0.0.1:4290"}), "127.0.0.1:4290");
  EXPECT_EQ(listening_ports({"127.0.0.1:4290", "fd00::5:4290", "[::1]:0"}), "127.0.0.1:4290,[fd00::5]:4290,[::1]:0");
}

TEST(AgentConfig, EveryListenAddressIsChecked) {
  auto c = good();
  c.listen = {"127.0.0.1:4290", "node-ip:4290"};
  expect_error_naming(validate(c), {"--listen node-ip:4290: 'node-ip' is not an IP address"});
  c.listen = {};
  expect_error_naming(validate(c), {"--listen: give at least one ADDR:PORT"});
}

TEST(CheckHost, NamesWhatIsMissing) {
  auto c = good();
  c.manifests_dir = "/nonexistent/manifests";
  c.cgroup_root = "/nonexistent/cgroup";
  c.bpffs = "/tmp/not-bpffs/smi";
  expect_error_naming(check_host(c), {"--manifests /nonexistent/manifests: no such directory",
                                      "--cgroup-root /nonexistent/cgroup: no such directory",
                                      "not on a bpf filesystem"});
}

TEST(CheckHost, ADirectoryThatIsNotCgroup2IsRefusedWherePrefixesWouldPassIt) {
  // /tmp exists but is no cgroup2 tree; the old check compared path prefixes
  // with the first cgroup2 mount and so refused a DaemonSet's /host/cgroup.
  auto c = good();
  c.manifests_dir = "/tmp";
  c.cgroup_root = "/tmp";
  expect_error_naming(check_host(c), {"--cgroup-root /tmp: not on a cgroup2 filesystem"});
}

// A host cgroup tree laid out by a kubelet, in a scratch directory (the
// choice reads only directory names).
class PodsCgroup : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/smi-pods-cgroup-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    root_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(root_); }
  void make(const char* name) { std::filesystem::create_directory(root_ + "/" + name); }
  std::string root_;
};

TEST_F(PodsCgroup, EachDriverNamesItsKubeletDirectory) {
  make("kubepods.slice");
  make("kubepods");
  EXPECT_EQ(*pods_cgroup(root_, "systemd"), root_ + "/kubepods.slice");
  EXPECT_EQ(*pods_cgroup(root_, "cgroupfs"), root_ + "/kubepods");
  EXPECT_EQ(*pods_cgroup(root_, "none"), root_);
}

TEST_F(PodsCgroup, AutoFindsWhicheverTheKubeletMade) {
  make("kubepods");
  EXPECT_EQ(*pods_cgroup(root_, "auto"), root_ + "/kubepods");
  EXPECT_EQ(*pods_cgroup(root_ + "/", "auto"), root_ + "/kubepods");
  std::filesystem::remove(root_ + "/kubepods");
  make("kubepods.slice");
  EXPECT_EQ(*pods_cgroup(root_, "auto"), root_ + "/kubepods.slice");
}

TEST_F(PodsCgroup, AutoRefusesToGuessAndSaysWhatItFound) {
  auto none = pods_cgroup(root_, "auto");
  ASSERT_FALSE(none);
  EXPECT_NE(none.error().message().find("neither " + root_ + "/kubepods.slice"), std::string::npos)
      << none.error().message();
  make("kubepods.slice");
  make("kubepods");
  auto both = pods_cgroup(root_, "auto");
  ASSERT_FALSE(both);
  EXPECT_NE(both.error().message().find("both"), std::string::npos) << both.error().message();
  EXPECT_NE(both.error().message().find("--cgroup-driver systemd or cgroupfs"), std::string::npos);
}

TEST_F(PodsCgroup, ANamedDriverWhoseDirectoryIsMissingIsAnError) {
  make("kubepods.slice");
  auto r = pods_cgroup(root_, "cgroupfs");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("--cgroup-driver cgroupfs: " + root_ + "/kubepods does not exist"),
            std::string::npos)
      << r.error().message();
}

TEST(AgentConfig, AnUnknownCgroupDriverIsAUsageError) {
  auto c = good();
  c.cgroup_driver = "kubelet";
  expect_error_naming(validate(c), {"--cgroup-driver kubelet: expected none, systemd, cgroupfs or auto"});
}

}  // namespace
}  // namespace smi::daemon
