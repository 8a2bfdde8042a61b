#include <gtest/gtest.h>

#include "node/cgroup_path.h"

namespace smi {
namespace {

constexpr const char* kUid = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";

TEST(CgroupPath, CgroupfsLayouts) {
  EXPECT_EQ(pod_uid_from_cgroup_path("/kubepods/burstable/pod0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"), kUid);
  EXPECT_EQ(pod_uid_from_cgroup_path("/kubepods/besteffort/pod0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0/abcdef0123"), kUid);
  EXPECT_EQ(pod_uid_from_cgroup_path("/sys/fs/cgroup/kubepods/pod0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"), kUid);
  EXPECT_EQ(pod_uid_from_cgroup_path("/kubepods/burstable/pod0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0"), kUid);
}

TEST(CgroupPath, SystemdLayouts) {
  EXPECT_EQ(pod_uid_from_cgroup_path("/kubepods.slice/kubepods-burstable.slice/"
                                     "kubepods-burstable-pod0f1e2d3c_4b5a_6978_8796_a5b4c3d2e1f0.slice"),
            kUid);
  EXPECT_EQ(pod_uid_from_cgroup_path("/kubepods.slice/kubepods-besteffort.slice/"
                                     "kubepods-besteffort-pod0f1e2d3c_4b5a_6978_8796_a5b4c3d2e1f0.slice/"
                                     "cri-containerd-0123abcd.scope"),
            kUid);
  // Guaranteed pods sit directly under kubepods.slice.
  EXPECT_EQ(pod_uid_from_cgroup_path("/kubepods.slice/kubepods-pod0f1e2d3c_4b5a_6978_8796_a5b4c3d2e1f0.slice"), kUid);
}

TEST(CgroupPath, StaticPodUidsAreAHash) {
  EXPECT_EQ(pod_uid_from_cgroup_path("/kubepods/burstable/pod6b1a1b0f5f9e2b1c0d3e4f5a6b7c8d9e"),
            "6b1a1b0f5f9e2b1c0d3e4f5a6b7c8d9e");
}

TEST(CgroupPath, NonPodPaths) {
  EXPECT_FALSE(pod_uid_from_cgroup_path("/"));
  EXPECT_FALSE(pod_uid_from_cgroup_path(""));
  EXPECT_FALSE(pod_uid_from_cgroup_path("/system.slice/containerd.service"));
  EXPECT_FALSE(pod_uid_from_cgroup_path("/kubepods/burstable"));
  EXPECT_FALSE(pod_uid_from_cgroup_path("/kubepods.slice/kubepods-burstable.slice"));
  EXPECT_FALSE(pod_uid_from_cgroup_path("/user.slice/pod0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"));  // not under kubepods
  EXPECT_FALSE(pod_uid_from_cgroup_path("/kubepods/burstable/podnot-a-uid"));
  EXPECT_FALSE(pod_uid_from_cgroup_path("/kubepods/burstable/pod0f1e2d3c_4b5a_6978_8796_a5b4c3d2e1f0"));  // wrong separator
  EXPECT_FALSE(pod_uid_from_cgroup_path("/kubepods.slice/kubepods-burstable-pod0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0.slice"));
}

}  // namespace
}  // namespace smi
