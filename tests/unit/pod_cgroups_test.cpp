// The scan over a directory tree shaped like kubelet's (a plain directory
// tree works: the scan reads names and inodes, nothing cgroup-specific).
#include "node/pod_cgroups.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

#include "temp_dir.h"

namespace smi {
namespace {

namespace fs = std::filesystem;

class PodCgroupsTest : public test::TempDirTest {
 protected:
  PodCgroupsTest() : TempDirTest("smi-cg") {}
  uint64_t mk(const std::string& rel) {
    fs::create_directories(dir_ + "/" + rel);
    struct stat st {};
    ::stat((dir_ + "/" + rel).c_str(), &st);
    return st.st_ino;
  }
};

TEST_F(PodCgroupsTest, EveryCgroupOfAPodSubtreeMapsToThePod) {
  const std::string a = "0a1b2c3d-0000-4000-8000-00000000000a";
  const std::string b = "0a1b2c3d-0000-4000-8000-00000000000b";
  const std::string c = "0a1b2c3d-0000-4000-8000-00000000000c";
  uint64_t pod_a = mk("kubepods/pod" + a);
  uint64_t ctr_a = mk("kubepods/pod" + a + "/4f7e");               // cgroupfs container
  uint64_t pod_b = mk("kubepods/burstable/pod" + b);
  uint64_t pod_c = mk("kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" +
                      std::string("0a1b2c3d_0000_4000_8000_00000000000c") + ".slice");
  uint64_t ctr_c = mk("kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" +
                      std::string("0a1b2c3d_0000_4000_8000_00000000000c") + ".slice/cri-containerd-99.scope");
  mk("system.slice/sshd.service");  // not a pod
  mk("kubepods/burstable");         // a QoS level, not a pod

  auto scan = scan_pod_cgroups(dir_);
  ASSERT_TRUE(scan.ok()) << scan.error().message();
  auto m = by_cgroup_id(*scan);
  EXPECT_EQ(m.size(), 5u);
  EXPECT_EQ(m[pod_a], a);
  EXPECT_EQ(m[ctr_a], a);
  EXPECT_EQ(m[pod_b], b);
  EXPECT_EQ(m[pod_c], c);
  EXPECT_EQ(m[ctr_c], c);
}

TEST_F(PodCgroupsTest, MissingRootIsAClearError) {
  auto scan = scan_pod_cgroups(dir_ + "/absent");
  ASSERT_FALSE(scan.ok());
  EXPECT_EQ(scan.error().code(), ENOENT);
  EXPECT_NE(scan.error().message().find("cgroup root"), std::string::npos);
}

}  // namespace
}  // namespace smi
