// Readiness without a kernel: the failure streak and its bound, what /readyz
// answers and says, and the manifests directory source turning unhealthy when
// its directory goes away and healthy again when it is back.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "daemon/readiness.h"
#include "daemon/sources.h"
#include "http/router.h"

namespace smi::daemon {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

TEST(FailureStreak, UnhealthyOnlyAfterTheBound) {
  FailureStreak s;
  const auto t0 = SteadyClock::now();
  EXPECT_EQ(s.longer_than(0ms, t0), std::nullopt);
  s.failed("watch: refused", t0);
  s.failed("watch: still refused", t0 + 5s);  // the streak keeps its start
  EXPECT_EQ(s.longer_than(30s, t0 + 29s), std::nullopt);
  EXPECT_EQ(s.longer_than(30s, t0 + 30s), std::nullopt) << "at the bound: not yet";
  EXPECT_EQ(s.longer_than(30s, t0 + 31s), "watch: still refused (failing for 31 s)");
  s.succeeded();
  EXPECT_EQ(s.longer_than(30s, t0 + 60s), std::nullopt);
  s.failed("again", t0 + 61s);
  EXPECT_EQ(s.longer_than(30s, t0 + 62s), std::nullopt) << "a new streak starts from zero";
}

http::Response readyz(const http::Router& r) { return r.dispatch({"GET", "/readyz", ""}); }

TEST(Readiness, ReadyAfterTheFirstUpdateUnreadyWhileTheSourceCannotSync) {
  Readiness rd;
  http::Router router;
  http::add_health_routes(router, [&] { return rd.state(); });
  EXPECT_EQ(readyz(router).status, 503);
  EXPECT_EQ(readyz(router).body, "not ready: waiting for the first update from the source to be applied\n");
  rd.source_health("kubernetes pods.v1: list: HTTP 403 (failing for 31 s)");
  EXPECT_EQ(readyz(router).body,
            "not ready: waiting for the first update from the source to be applied; the source cannot sync: "
            "kubernetes pods.v1: list: HTTP 403 (failing for 31 s)\n")
      << "a first sync that does not come says why";
  rd.source_health(std::nullopt);
  EXPECT_EQ(readyz(router).status, 503);
  rd.synced();
  EXPECT_EQ(readyz(router).status, 200);
  EXPECT_EQ(readyz(router).body, "ready\n");

  rd.source_health("kubernetes pods.v1: watch: refused (failing for 31 s)");
  EXPECT_EQ(readyz(router).status, 503);
  EXPECT_EQ(readyz(router).body,
            "not ready: the source cannot sync: kubernetes pods.v1: watch: refused (failing for 31 s)\n");
  rd.source_health("kubernetes pods.v1: watch: refused (failing for 32 s)");
  EXPECT_NE(readyz(router).body.find("32 s"), std::string::npos) << "the latest reason";
  EXPECT_EQ(router.dispatch({"GET", "/healthz", ""}).status, 200) << "alive throughout";

  rd.source_health(std::nullopt);
  EXPECT_EQ(readyz(router).status, 200);
  rd.synced();  // later updates change nothing
  EXPECT_EQ(readyz(router).status, 200);
}

TEST(ManifestSourceHealth, ADirectoryThatGoesAwayIsUnhealthyUntilItIsBack) {
  const fs::path dir = fs::temp_directory_path() / ("smi-readiness-" + std::to_string(::getpid()));
  const fs::path aside = dir.string() + "-aside";
  fs::remove_all(dir);
  fs::remove_all(aside);
  fs::create_directories(dir);
  std::ofstream(dir / "a.yaml") << "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: a, namespace: default}\n";
  AgentConfig c;
  c.manifests_dir = dir;
  auto src = open_source(c);
  ASSERT_TRUE(src.ok()) << src.error().message();
  Source& s = **src;
  EXPECT_FALSE(s.wait_change(50ms));
  EXPECT_EQ(s.unhealthy_for(0ms), std::nullopt);

  fs::rename(dir, aside);  // the directory goes away (a bad volume, a rename)
  s.wait_change(50ms);
  std::this_thread::sleep_for(20ms);
  EXPECT_FALSE(s.wait_change(50ms));
  EXPECT_EQ(s.unhealthy_for(60s), std::nullopt) << "within the bound";
  auto why = s.unhealthy_for(10ms);
  ASSERT_TRUE(why.has_value());
  EXPECT_NE(why->find("manifests " + dir.string() + ": No such file or directory"), std::string::npos) << *why;
  EXPECT_NE(why->find("failing for"), std::string::npos) << *why;

  fs::rename(aside, dir);  // back
  EXPECT_TRUE(s.wait_change(50ms)) << "recovery reads everything again";
  EXPECT_EQ(s.unhealthy_for(0ms), std::nullopt);
  // The watch starts afresh on the directory as it is now.
  std::ofstream(dir / "b.yaml") << "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: b, namespace: default}\n";
  EXPECT_TRUE(s.wait_change(2s)) << "changes are seen again";
  s.stop();
  fs::remove_all(dir);
}

}  // namespace
}  // namespace smi::daemon
