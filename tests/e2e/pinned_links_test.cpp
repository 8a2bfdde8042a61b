// Pinned links survive the process that made them, and a new program takes
// over an attach point in place: the hook never runs without a program while
// an agent restarts or upgrades.
#include <gtest/gtest.h>

#include <bpf/libbpf.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <thread>

#include "abi/common.h"
#include "base/fd.h"
#include "base/log.h"
#include "base/skeleton.h"
#include "datapath/layout_version.h"
#include "datapath/pinned_links.h"
#include "deny_port.skel.h"
#include "fixture/cluster.h"
#include "fixture/node_sandbox.h"

namespace smi::test {
namespace {

constexpr uint16_t kDenied = 8081;

int accept_forever(const std::string& addr, uint16_t port) {
  return serve_tcp(addr, port, [](Fd) {});
}

// 0 when connected, else the errno.
int try_connect(const std::string& addr, uint16_t port) {
  auto c = tcp_connect(addr, port, 1000);
  return c ? 0 : (c.error().code() ? c.error().code() : 1);
}

Result<Skeleton<deny_port>> load_denier() {
  auto skel = Skeleton<deny_port>::open();
  if (!skel) return std::move(skel).error();
  SMI_TRY(skel->load());
  uint16_t port = kDenied;
  uint8_t one = 1;
  if (bpf_map__update_elem((*skel)->maps.denied_ports, &port, sizeof(port), &one, 1, 0) != 0)
    return Error::from_errno("fill denied_ports");
  return skel;
}

class PinnedLinksTest : public SandboxTest<> {
 protected:
  void SetUp() override {
    set_up_sandbox({"a", "b"});
    if (unready()) return;
    auto srv = topo_->pod("b").spawn([this] { return accept_forever(topo_->pod("b").ipv4, kDenied); });
    ASSERT_TRUE(srv.ok());
    server_ = std::move(*srv);
    for (int i = 0; i < 100 && connect_from_a() != 0; ++i) usleep(10000);
    ASSERT_EQ(connect_from_a(), 0) << "server up before any program is attached";
  }

  int connect_from_a() {
    const std::string addr = topo_->pod("b").ipv4;
    auto r = topo_->pod("a").run([&] { return try_connect(addr, kDenied); });
    return r ? *r : -1;
  }

  uint64_t node_cgroup_id() {
    struct stat st {};
    ::stat(topo_->node("n1").cgroup_root.c_str(), &st);
    return st.st_ino;
  }

  bpf_link* attach(bpf_program* prog) {
    Fd cg(::open(topo_->node("n1").cgroup_root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    return bpf_program__attach_cgroup(prog, cg.get());  // the link holds its own reference
  }

  // A fresh "agent": loads the denier and ensures its link on n1's cgroup.
  // The skeleton goes when this returns, as when an agent exits.
  Result<PinnedLinks::Outcome> denier_agent(PinnedLinks& links) {
    auto skel = load_denier();
    if (!skel) return std::move(skel).error();
    return links.ensure("n1-connect4", node_cgroup_id(), (*skel)->progs.deny_connect4,
                        [&] { return attach((*skel)->progs.deny_connect4); });
  }

  Process server_;
};

TEST_F(PinnedLinksTest, SurvivesTheLoaderAndIsUpdatedInPlace) {
  PinnedLinks links(pins_->path() + "/links");
  auto first = denier_agent(links);  // then the "agent" is gone: skeleton, program fds and link fd closed
  ASSERT_TRUE(first.ok()) << first.error().message();
  EXPECT_EQ(*first, PinnedLinks::Outcome::attached);
  EXPECT_EQ(connect_from_a(), EPERM) << "the pinned link keeps the program attached";
  uint32_t id = links.link_id("n1-connect4");
  ASSERT_NE(id, 0u);

  // A client hammering the denied port while a new agent takes over must
  // never get through: there is no instant without a program.
  const std::string addr = topo_->pod("b").ipv4;
  auto prober = topo_->pod("a").spawn([&] {
    int through = 0;
    for (int i = 0; i < 400; ++i) {
      through += try_connect(addr, kDenied) == 0;
      usleep(500);
    }
    return std::min(through, 100);
  });
  ASSERT_TRUE(prober.ok());
  for (int round = 0; round < 5; ++round) {
    auto r = denier_agent(links);
    ASSERT_TRUE(r.ok()) << r.error().message();
    EXPECT_EQ(*r, PinnedLinks::Outcome::updated);
    EXPECT_EQ(links.link_id("n1-connect4"), id) << "the same link, a new program";
  }
  EXPECT_EQ(prober->wait(), 0) << "connections got through during a program swap";

  EXPECT_EQ(links.list(), std::vector<std::string>{"n1-connect4"});
  ASSERT_TRUE(links.remove("n1-connect4").ok());
  for (int i = 0; i < 100 && connect_from_a() != 0; ++i) usleep(10000);
  EXPECT_EQ(connect_from_a(), 0) << "unpinned: the program is detached";
}

TEST_F(PinnedLinksTest, ALinkWhoseCgroupIsGoneIsReplaced) {
  // A pod cgroup that kubelet removed and recreated: the old link is dead.
  const std::string cg = topo_->node("n1").cgroup_root + "/kubepods/podrecycled";
  ASSERT_EQ(::mkdir(cg.c_str(), 0755), 0);
  PinnedLinks links(pins_->path() + "/links");
  auto cg_id = [&] {
    struct stat st {};
    ::stat(cg.c_str(), &st);
    return static_cast<uint64_t>(st.st_ino);
  };
  auto attach_to = [&](bpf_program* prog) {
    Fd fd(::open(cg.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    return bpf_program__attach_cgroup(prog, fd.get());
  };
  auto skel = load_denier();
  ASSERT_TRUE(skel.ok());
  ASSERT_TRUE(links.ensure("recycled", cg_id(), (*skel)->progs.deny_connect4,
                           [&] { return attach_to((*skel)->progs.deny_connect4); }).ok());
  ASSERT_EQ(::rmdir(cg.c_str()), 0);
  ASSERT_EQ(::mkdir(cg.c_str(), 0755), 0);
  auto r = links.ensure("recycled", cg_id(), (*skel)->progs.deny_connect4, [&] { return attach_to((*skel)->progs.deny_connect4); });
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(*r, PinnedLinks::Outcome::attached);
  ASSERT_TRUE(links.remove("recycled").ok());
  ::rmdir(cg.c_str());
}

TEST(LayoutMarker, WrittenReadAndDecided) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root for BPF maps";
  auto dir = BpffsDir::create("layout");
  ASSERT_TRUE(dir.ok()) << dir.error().message();
  auto none = read_layout_marker(dir->path());
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  EXPECT_EQ(decide_layout(*none, SMI_ABI_VERSION), LayoutAction::install);

  ASSERT_TRUE(write_layout_marker(dir->path(), SMI_ABI_VERSION).ok());
  auto same = read_layout_marker(dir->path());
  ASSERT_TRUE(same.ok() && same->has_value());
  EXPECT_EQ((*same)->abi_version, static_cast<uint32_t>(SMI_ABI_VERSION));
  EXPECT_EQ(decide_layout(*same, SMI_ABI_VERSION), LayoutAction::adopt);
  EXPECT_EQ(decide_layout(*same, SMI_ABI_VERSION + 1), LayoutAction::migrate);

  ASSERT_TRUE(write_layout_marker(dir->path(), 7).ok());  // overwrite in place
  EXPECT_EQ((*read_layout_marker(dir->path()))->abi_version, 7u);
}

}  // namespace
}  // namespace smi::test
