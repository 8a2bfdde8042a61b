#include <gtest/gtest.h>

#include "identity/numeric_identity.h"
#include "identity/spiffe.h"

namespace smi::identity {
namespace {

TEST(Spiffe, NamesAServiceAccount) {
  EXPECT_EQ(spiffe_id(kDefaultTrustDomain, "prod", "web"), "spiffe://cluster.local/ns/prod/sa/web");
  EXPECT_EQ(spiffe_id("example.org", "a", "b"), "spiffe://example.org/ns/a/sa/b");
}

TEST(Spiffe, ValidatesTrustDomain) {
  EXPECT_TRUE(validate_trust_domain("cluster.local").ok());
  EXPECT_TRUE(validate_trust_domain("my-org_1.example").ok());
  EXPECT_FALSE(validate_trust_domain("").ok());
  EXPECT_FALSE(validate_trust_domain("Cluster.Local").ok());
  EXPECT_FALSE(validate_trust_domain("a/b").ok());
  EXPECT_FALSE(validate_trust_domain(std::string(256, 'a')).ok());
}

TEST(NumericIdentity, IsTheFirstEightBytesOfSha256BigEndian) {
  // SHA-256("abc") = ba7816bf8f01cfea 414140de...
  EXPECT_EQ(hash64("abc"), 0xba7816bf8f01cfeaULL);
  auto d = sha256("abc");
  EXPECT_EQ(d[0], 0xba);
  EXPECT_EQ(d[31], 0xad);
}

TEST(NumericIdentity, IsStableAcrossReleases) {
  // Golden value: every node and every agent version must derive this.
  EXPECT_EQ(derive("spiffe://cluster.local/ns/default/sa/website"), 0xc9ad6ae8de6d784aULL);
  EXPECT_EQ(derive("spiffe://cluster.local/ns/default/sa/website"),
            hash64("spiffe://cluster.local/ns/default/sa/website"));
}

TEST(NumericIdentity, NeverReserved) {
  for (int i = 0; i < 10000; ++i) EXPECT_FALSE(is_reserved(derive("spiffe://t/ns/n/sa/" + std::to_string(i))));
  EXPECT_TRUE(is_reserved(kUnknown));
  EXPECT_TRUE(is_reserved(kHost));
  EXPECT_TRUE(is_reserved(kWorld));
  EXPECT_TRUE(is_reserved(255));
  EXPECT_FALSE(is_reserved(256));
}

TEST(Registry, SameNameSameNumber) {
  Registry r;
  auto a = r.add("spiffe://cluster.local/ns/a/sa/x");
  auto b = r.add("spiffe://cluster.local/ns/a/sa/x");
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(*a, *b);
  EXPECT_EQ(*r.name_of(*a), "spiffe://cluster.local/ns/a/sa/x");
  EXPECT_EQ(r.name_of(12345), nullptr);
}

TEST(Registry, CollisionIsAnErrorNamingBoth) {
  Registry r([](std::string_view) { return Number{4242}; });
  ASSERT_TRUE(r.add("spiffe://cluster.local/ns/a/sa/one").ok());
  auto second = r.add("spiffe://cluster.local/ns/b/sa/two");
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.error().message().find("spiffe://cluster.local/ns/a/sa/one"), std::string::npos);
  EXPECT_NE(second.error().message().find("spiffe://cluster.local/ns/b/sa/two"), std::string::npos);
}

TEST(Registry, RefusesAReservedNumberFromASubstitutedHash) {
  Registry r([](std::string_view) { return Number{1}; });
  EXPECT_FALSE(r.add("spiffe://x/ns/a/sa/b").ok());
}

}  // namespace
}  // namespace smi::identity
