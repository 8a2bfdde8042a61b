#include "sources/dir_watcher.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include "temp_dir.h"

namespace smi {
namespace {

using namespace std::chrono_literals;

class DirWatcherTest : public test::TempDirTest {
 protected:
  DirWatcherTest() : TempDirTest("smi-watch") {}
};

TEST_F(DirWatcherTest, QuietDirectoryTimesOut) {
  auto w = DirWatcher::open(dir_);
  ASSERT_TRUE(w.ok()) << w.error().message();
  auto r = w->wait(100ms);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, DirWatcher::Wake::timeout);
}

TEST_F(DirWatcherTest, ABurstOfWritesIsOneChange) {
  auto w = DirWatcher::open(dir_, {.quiet = 100ms, .max_delay = 2000ms});
  ASSERT_TRUE(w.ok());
  std::thread writer([&] {
    for (int i = 0; i < 5; ++i) {
      write("f" + std::to_string(i) + ".yaml", "kind: Service\n");
      std::this_thread::sleep_for(20ms);
    }
  });
  auto r = w->wait(2000ms);
  writer.join();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, DirWatcher::Wake::changed);
  // Everything of the burst was consumed by the first wake.
  auto again = w->wait(150ms);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, DirWatcher::Wake::timeout);
}

TEST_F(DirWatcherTest, RenameIntoPlaceAndSubdirectoriesCount) {
  ASSERT_EQ(::mkdir((dir_ + "/apps").c_str(), 0755), 0);
  auto w = DirWatcher::open(dir_, {.quiet = 50ms, .max_delay = 1000ms});
  ASSERT_TRUE(w.ok());
  write("apps/.split.yaml.swp", "partial");  // an editor's swap file alone is not a change
  auto swp = w->wait(200ms);
  ASSERT_TRUE(swp.ok());
  EXPECT_EQ(*swp, DirWatcher::Wake::timeout);

  write("apps/.tmp", "kind: TrafficSplit\n");
  ASSERT_EQ(std::rename((dir_ + "/apps/.tmp").c_str(), (dir_ + "/apps/split.yaml").c_str()), 0);
  auto r = w->wait(1000ms);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, DirWatcher::Wake::changed);

  // A directory created after start is watched too.
  ASSERT_EQ(::mkdir((dir_ + "/late").c_str(), 0755), 0);
  ASSERT_EQ(*w->wait(1000ms), DirWatcher::Wake::changed);
  write("late/x.yaml", "kind: Service\n");
  EXPECT_EQ(*w->wait(1000ms), DirWatcher::Wake::changed);
}

TEST_F(DirWatcherTest, ContinuousChangesAreCappedByMaxDelay) {
  auto w = DirWatcher::open(dir_, {.quiet = 200ms, .max_delay = 300ms});
  ASSERT_TRUE(w.ok());
  std::atomic<bool> done{false};
  std::thread writer([&] {
    for (int i = 0; !done && i < 200; ++i) {
      write("busy.yaml", std::to_string(i));
      std::this_thread::sleep_for(20ms);
    }
  });
  auto t0 = std::chrono::steady_clock::now();
  auto r = w->wait(5000ms);
  auto waited = std::chrono::steady_clock::now() - t0;
  done = true;
  writer.join();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, DirWatcher::Wake::changed);
  EXPECT_LT(waited, 3000ms) << "a steady trickle of writes must not postpone the reload forever";
}

TEST_F(DirWatcherTest, StopWakesAWaiter) {
  auto w = DirWatcher::open(dir_);
  ASSERT_TRUE(w.ok());
  std::thread t([&] {
    std::this_thread::sleep_for(50ms);
    w->stop();
  });
  auto r = w->wait(10000ms);
  t.join();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, DirWatcher::Wake::stopped);
}

TEST(DirWatcherOpen, MissingDirectoryIsAClearError) {
  auto w = DirWatcher::open("/nonexistent/manifests");
  ASSERT_FALSE(w.ok());
  EXPECT_NE(w.error().message().find("/nonexistent/manifests"), std::string::npos);
  EXPECT_EQ(w.error().code(), ENOENT);
}

}  // namespace
}  // namespace smi
