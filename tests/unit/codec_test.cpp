// Desired-state values survive the trip through the kernel ABI structs: what
// the agent writes is what a restarted agent reads back.
#include "maps/codec.h"

#include <gtest/gtest.h>

namespace smi::codec {
namespace {

model::IpAddr ip(const char* s) { return *model::IpAddr::parse(s); }

TEST(StateCodec, ServicesSlotsAndPolicyRoundTrip) {
  for (const char* vip : {"10.96.0.10", "fd00:96::10"}) {
    compiler::ServiceKey k{.vip = ip(vip), .port = 8080, .protocol = model::Protocol::udp};
    EXPECT_EQ(from_abi(to_abi(k)), k) << vip;
    auto abi = to_abi(k);
    EXPECT_EQ(abi.family, std::string(vip).find(':') == std::string::npos ? SMI_AF_INET : SMI_AF_INET6);
    EXPECT_EQ(abi.port, 8080);
    EXPECT_EQ(abi.protocol, 17);
  }
  compiler::ServiceValue v{.frontend_id = 0xabcdef01, .slot_count = 256};
  EXPECT_EQ(from_abi(to_abi(v)), v);
  compiler::SlotValue s{.address = ip("fd00:244:2::3"), .port = 9000, .backend_service_id = 77};
  EXPECT_EQ(from_abi(to_abi(s)), s);
  compiler::PolicyKey p{.dst = 0x1122334455667788ULL, .src = 0x99, .port = 0, .protocol = model::Protocol::tcp};
  EXPECT_EQ(from_abi(to_abi(p)), p);
  EXPECT_EQ(from_abi(ip_key(ip("10.244.1.2"))), ip("10.244.1.2"));
}

TEST(StateCodec, Ipv4SitsInTheFirstFourBytes) {
  auto k = ip_key(ip("10.244.1.2"));
  EXPECT_EQ(k.family, SMI_AF_INET);
  EXPECT_EQ(k.addr.b[0], 10);
  EXPECT_EQ(k.addr.b[3], 2);
  for (int i = 4; i < 16; ++i) EXPECT_EQ(k.addr.b[i], 0) << i;
}

}  // namespace
}  // namespace smi::codec
