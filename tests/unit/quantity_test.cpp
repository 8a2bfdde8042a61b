#include <gtest/gtest.h>

#include "manifests/quantity.h"

namespace smi::manifests {
namespace {

std::optional<std::int64_t> q(const char* s) {
  std::string why;
  return parse_quantity_milli(s, &why);
}

TEST(Quantity, Milli) {
  EXPECT_EQ(q("500m"), 500);
  EXPECT_EQ(q("1"), 1000);
  EXPECT_EQ(q("0"), 0);
  EXPECT_EQ(q("0.5"), 500);
  EXPECT_EQ(q("1.5"), 1500);
  EXPECT_EQ(q("+2"), 2000);
  EXPECT_EQ(q("1k"), 1000000);
  EXPECT_EQ(q("1Ki"), 1024000);
  EXPECT_EQ(q("2M"), 2000000000);
  EXPECT_EQ(q("1e3"), 1000000);
  EXPECT_EQ(q("5e-1"), 500);
}

TEST(Quantity, Refusals) {
  std::string why;
  EXPECT_FALSE(parse_quantity_milli("-1", &why));
  EXPECT_NE(why.find("negative"), std::string::npos);
  EXPECT_FALSE(q(""));
  EXPECT_FALSE(q("abc"));
  EXPECT_FALSE(q("1Q"));
  EXPECT_FALSE(q("0.0001"));  // finer than a milli-unit
  EXPECT_FALSE(q("1m5"));
  EXPECT_FALSE(q("99999999999999999999999999T"));
  EXPECT_FALSE(q("1e99"));
  EXPECT_FALSE(q("."));
}

}  // namespace
}  // namespace smi::manifests
