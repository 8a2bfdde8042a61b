// The pure parts of feature probing: lookup, the printed form tools parse,
// the start-up verdict, and the skip message tests use.
#include <gtest/gtest.h>

#include <sstream>

#include <spdlog/sinks/ostream_sink.h>

#include "base/log.h"
#include "datapath/acceleration.h"
#include "datapath/features.h"
#include "fixture/require_feature.h"

namespace smi {
namespace {

std::vector<Feature> sample() {
  return {
      {"map:ringbuf", "connection events", true, true},
      {"kfunc:bpf_sock_destroy", "revoking connections", false, false, "netlink:sock_destroy"},
      {"prog:sk_msg", "same-node acceleration", false, true},
  };
}

TEST(Features, FindByExactName) {
  auto f = sample();
  ASSERT_NE(find_feature(f, "prog:sk_msg"), nullptr);
  EXPECT_EQ(find_feature(f, "prog:sk_msg")->purpose, "same-node acceleration");
  EXPECT_EQ(find_feature(f, "prog:sk"), nullptr);
  EXPECT_EQ(find_feature(f, "PROG:SK_MSG"), nullptr);
}

TEST(Features, FormatOneLinePerFeatureWithFallback) {
  EXPECT_EQ(format_features(sample()),
            "  [yes] map:ringbuf                              connection events (required)\n"
            "  [no ] kfunc:bpf_sock_destroy                   revoking connections (without it: netlink:sock_destroy)\n"
            "  [yes] prog:sk_msg                              same-node acceleration\n");
}

TEST(Features, MissingOptionalFeaturesStillStart) {
  EXPECT_TRUE(check_features(sample()).ok());
}

// A missing feature the flags do not use (kernel:wireguard without
// --encryption) is not worth a warning at every start.
TEST(Features, AMissingFeatureTheFlagsDoNotUseIsNoWarning) {
  std::ostringstream out;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
  sink->set_pattern("%l %v");
  auto* lg = log(Log::agent);
  const auto level = lg->level();
  lg->set_level(spdlog::level::info);
  lg->sinks().push_back(sink);
  auto f = sample();
  f.push_back({"kernel:wireguard", "encryption in the kernel", false, false, "wireguard-go"});
  EXPECT_TRUE(check_features(f, {"kernel:wireguard"}).ok());
  EXPECT_TRUE(check_features(f).ok());
  lg->sinks().pop_back();
  lg->set_level(level);
  const std::string text = out.str();
  EXPECT_NE(text.find("info kernel feature kernel:wireguard missing: encryption in the kernel; not used with these "
                      "flags"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("warning kernel feature kernel:wireguard missing: encryption in the kernel; using wireguard-go"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("warning kernel feature kfunc:bpf_sock_destroy missing"), std::string::npos) << text;
}

TEST(Features, MissingRequiredFeaturesAreNamed) {
  auto f = sample();
  f[0].available = false;
  f.push_back({"prog:sock_ops", "connection events", true, false});
  auto st = check_features(f);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().message(),
            "this kernel lacks required BPF features: map:ringbuf (connection events), prog:sock_ops "
            "(connection events); see docs/kernels.md for the supported kernels");
}

// Not probed: the series where acceleration was measured to corrupt memory
// cgroup accounting (tests/vm, accel_test) are listed, by uname -r.
TEST(Features, AccelerationIsUnsoundOnlyOnTheSeriesWhereItWasMeasured) {
  for (const char* bad : {"5.10.0-46-cloud-amd64", "5.10.262", "5.10.0"})
    EXPECT_FALSE(sk_msg_keeps_memcg_accounting(bad)) << bad;
  for (const char* good : {"6.1.0-57-cloud-amd64", "6.12.118+deb12-cloud-amd64", "6.18.44-fc-v1272", "5.15.0-91-generic",
                           "5.1.0", "5.100.1", ""})
    EXPECT_TRUE(sk_msg_keeps_memcg_accounting(good)) << good;
}

TEST(Features, AccelerationIsRefusedNamingTheDefect) {
  auto f = sample();
  EXPECT_TRUE(Acceleration::kernel_allows(f).ok()) << "no such entry: nothing known against it";
  f.push_back({std::string(kSkMsgMemcgFeature), "acceleration that leaves memcg accounting intact", false, true});
  EXPECT_TRUE(Acceleration::kernel_allows(f).ok());
  f.back().available = false;
  auto st = Acceleration::kernel_allows(f);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message().find("same-node acceleration is refused on kernel "), std::string::npos)
      << st.error().message();
  EXPECT_NE(st.error().message().find("kernel:sk_msg_memcg_accounting"), std::string::npos) << st.error().message();
  EXPECT_NE(st.error().message().find("without --accelerate"), std::string::npos) << st.error().message();
}

TEST(RequireFeature, SkipMessageNamesTheFeature) {
  auto f = sample();
  EXPECT_EQ(test::missing_feature(f, "prog:sk_msg"), std::nullopt);
  EXPECT_EQ(test::missing_feature(f, "kfunc:bpf_sock_destroy"),
            "missing kernel feature: kfunc:bpf_sock_destroy (revoking connections)");
  EXPECT_EQ(test::missing_feature(f, "kfunc:typo"), "") << "an unknown name fails, never skips";
}

}  // namespace
}  // namespace smi
