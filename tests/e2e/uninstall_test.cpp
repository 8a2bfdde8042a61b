// `smi-agent uninstall` against a real pinned datapath: afterwards no smi
// pin, no program on the node's cgroup or the pods' namespaces, no tc filter,
// no sk_msg, no state file, and a pod's connect to the service address is no
// longer redirected; a pin that is not smi-agent's survives; a second run
// finds nothing and succeeds.
#include <gtest/gtest.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include <fmt/format.h>

#include "base/fd.h"
#include "base/netns.h"
#include "node_datapath.h"

namespace smi::test {
namespace {

uint32_t attached(int target_fd, bpf_attach_type type) {
  uint32_t ids[16] = {}, count = 16, flags = 0;
  if (bpf_prog_query(target_fd, type, 0, &flags, ids, &count) != 0) return 999;
  return count;
}

// 0 when store-v1's host interface has a filter at our handle/priority,
// else libbpf's negative errno (-EINVAL once the filter chain is gone).
int tc_query(const NodeDatapath& dp) {
  auto ns = ScopedNetns::enter(dp.node_netns);
  if (!ns) return -1000;
  libbpf_print_fn_t previous = libbpf_set_print(nullptr);
  LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = dp.pod("store-v1").host_ifindex, .attach_point = BPF_TC_INGRESS);
  LIBBPF_OPTS(bpf_tc_opts, opts, .handle = 0x5a1, .priority = 0x5a1);
  int err = bpf_tc_query(&hook, &opts);
  libbpf_set_print(previous);
  return err;
}

std::vector<std::string> listing(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) out.push_back(e.path().filename());
  std::sort(out.begin(), out.end());
  return out;
}

TEST(UninstallTest, RemovesOursAndNothingElse) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  auto d = NodeDatapath::create();
  ASSERT_TRUE(d.ok()) << d.error().message();
  NodeDatapath& dp = **d;

  // Someone else's pin in the same directory.
  const std::string foreign = dp.bpffs + "/other_tool_map";
  {
    Fd m(bpf_map_create(BPF_MAP_TYPE_ARRAY, "other_tool", 4, 4, 1, nullptr));
    ASSERT_TRUE(m.valid());
    ASSERT_EQ(bpf_obj_pin(m.get(), foreign.c_str()), 0);
  }
  char got = 0;
  ASSERT_EQ(buyer_connects(dp, &got), 0) << "redirected before uninstall";

  const Node& n1 = dp.topo->node("n1");
  Fd cg(::open(n1.cgroup_root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  Fd store_ns(::open(("/run/netns/" + dp.pod("store-v1").netns).c_str(), O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(cg.valid() && store_ns.valid());
  ASSERT_EQ(attached(cg.get(), BPF_CGROUP_INET4_CONNECT), 1u);
  ASSERT_EQ(attached(cg.get(), BPF_CGROUP_SOCK_OPS), 1u);
  ASSERT_EQ(attached(store_ns.get(), BPF_SK_LOOKUP), 1u);
  ASSERT_EQ(tc_query(dp), 0);

  auto r = run_agent(dp, {"uninstall", "--bpffs", dp.bpffs, "--state-dir", dp.state_dir});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const Pod& v1 = dp.pod("store-v1");
  auto has = [&](const std::string& s) { return r.output.find(s) != std::string::npos; };
  EXPECT_TRUE(has(fmt::format("removed tc filter on {} ingress (prog smi_tc_pod_egre", v1.host_ifname))) << r.output;
  EXPECT_TRUE(has("removed sk_msg program smi_sk_msg")) << r.output;
  EXPECT_TRUE(has("/connect4 (prog smi_connect4, link ")) << r.output;
  EXPECT_TRUE(has("/sk_lookup (prog smi_sk_lookup, link ")) << r.output;
  EXPECT_TRUE(has("removed pin smi_svc_v1\n")) << r.output;
  EXPECT_TRUE(has("removed pin smi_meta\n")) << r.output;
  EXPECT_TRUE(has("removed state file " + dp.state_dir + "/state.json")) << r.output;
  EXPECT_TRUE(has("kept " + foreign + " (not smi-agent's)")) << r.output;
  EXPECT_TRUE(has("removed pin smi_strict_v1\n")) << r.output;
  EXPECT_TRUE(has("uninstall: 37 removed, 0 error(s)")) << r.output;  // 1 tc + 1 sk_msg + 11 links + 4 dirs + 19 pins + state

  // Only the foreign pin is left; the directory stays because of it.
  EXPECT_EQ(listing(dp.bpffs), std::vector<std::string>{"other_tool_map"});
  EXPECT_NE(::access((dp.state_dir + "/state.json").c_str(), F_OK), 0);
  EXPECT_EQ(attached(cg.get(), BPF_CGROUP_INET4_CONNECT), 0u);
  EXPECT_EQ(attached(cg.get(), BPF_CGROUP_UDP6_SENDMSG), 0u);
  EXPECT_EQ(attached(cg.get(), BPF_CGROUP_SOCK_OPS), 0u);
  EXPECT_EQ(attached(store_ns.get(), BPF_SK_LOOKUP), 0u);
  EXPECT_NE(tc_query(dp), 0) << "the tc filter is still on " << v1.host_ifname;
  // The service address is no longer translated: it is blackholed in the pod.
  int err = buyer_connects(dp);
  EXPECT_NE(err, 0);
  EXPECT_NE(err, -1);

  auto again = run_agent(dp, {"uninstall", "--bpffs", dp.bpffs, "--state-dir", dp.state_dir});
  EXPECT_EQ(again.exit_code, 0) << again.output;
  EXPECT_NE(again.output.find("uninstall: nothing to remove under " + dp.bpffs), std::string::npos) << again.output;
  EXPECT_EQ(listing(dp.bpffs), std::vector<std::string>{"other_tool_map"});

  // A --bpffs that is not on bpffs: nothing is deleted there, even smi_ names.
  char tmpl[] = "/tmp/smi-not-bpffs-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string plain = std::string(tmpl) + "/smi_svc_v1";
  Fd(::open(plain.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
  auto wrong = run_agent(dp, {"uninstall", "--bpffs", tmpl, "--state-dir", dp.state_dir});
  EXPECT_EQ(wrong.exit_code, 3) << wrong.output;  // environment: docs/operations.md, Exit codes
  EXPECT_NE(wrong.output.find(std::string(tmpl) + " is not on a bpf filesystem"), std::string::npos) << wrong.output;
  EXPECT_EQ(::access(plain.c_str(), F_OK), 0);
  ::unlink(plain.c_str());
  ::rmdir(tmpl);

  // status now finds nothing here (exit 3 where no filter of ours is left).
  auto st = run_agent(dp, {"status", "--bpffs", dp.bpffs, "--state-dir", dp.state_dir, "--no-features"});
  EXPECT_EQ(st.exit_code, 3) << st.output;
  EXPECT_NE(st.output.find("no smi-agent datapath pinned under " + dp.bpffs), std::string::npos) << st.output;
}

}  // namespace
}  // namespace smi::test
