#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include "base/fd.h"
#include "base/result.h"

namespace smi {
namespace {

Result<int> parse_port(int v) {
  if (v < 1 || v > 65535) return Error(fmt::format("port {} outside 1-65535", v), ERANGE);
  return v;
}

Status load(int v) {
  SMI_TRY(parse_port(v).context("spec.ports[0]"));
  return ok();
}

TEST(Result, ValueAndError) {
  auto good = parse_port(80);
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, 80);
  auto bad = parse_port(0);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code(), ERANGE);
}

TEST(Result, ContextChainsOutermostFirst) {
  auto st = load(70000).context("Service default/web");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().message(),
            "Service default/web: spec.ports[0]: port 70000 outside 1-65535: Numerical result out of range (errno 34)");
  EXPECT_EQ(st.error().root(), "port 70000 outside 1-65535");
}

TEST(Result, ErrorWithoutErrnoHasNoSuffix) {
  Error e("bad weight");
  e.context("TrafficSplit default/ab");
  EXPECT_EQ(e.message(), "TrafficSplit default/ab: bad weight");
}

TEST(Fd, ClosesOnceAndMoves) {
  int raw = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(raw, 0);
  {
    Fd a(raw);
    Fd b(std::move(a));
    EXPECT_FALSE(a.valid());  // NOLINT(bugprone-use-after-move): checking the moved-from state
    EXPECT_EQ(b.get(), raw);
    Fd c;
    c = std::move(b);
    EXPECT_EQ(c.get(), raw);
  }
  EXPECT_EQ(::fcntl(raw, F_GETFD), -1);  // closed exactly when the last owner died
  EXPECT_EQ(errno, EBADF);
}

TEST(Fd, ReleaseHandsOver) {
  Fd a(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  int raw = a.release();
  EXPECT_FALSE(a.valid());
  EXPECT_GE(::fcntl(raw, F_GETFD), 0);
  ::close(raw);
}

}  // namespace
}  // namespace smi
