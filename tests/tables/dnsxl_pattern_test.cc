// dnsxl_pattern_test.cc: the reply filters of DNS list restrictions
// ("zen.spamhaus.org=127.0.0.[2..11]"), as Postfix 3.7 reads them.
#include "tables/dnsxl_pattern.h"

#include <gtest/gtest.h>

namespace posthaste::tables {
namespace {

TEST(DnsxlPattern, SplitsTheDomainFromItsFilter) {
  DnsxlSpec s = SplitDnsxlSpec("zen.spamhaus.org=127.0.0.[2..11]");
  EXPECT_EQ(s.domain, "zen.spamhaus.org");
  ASSERT_TRUE(s.filter);
  EXPECT_EQ(*s.filter, "127.0.0.[2..11]");
  s = SplitDnsxlSpec("bl.example");
  EXPECT_EQ(s.domain, "bl.example");
  EXPECT_FALSE(s.filter);
}

TEST(DnsxlPattern, MatchesNumbersListsAndRanges) {
  auto p = DnsxlPattern::Parse("127.0.[0;2..3].[2..11;20]");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_TRUE(p->Matches("127.0.0.2"));
  EXPECT_TRUE(p->Matches("127.0.3.11"));
  EXPECT_TRUE(p->Matches("127.0.2.20"));
  EXPECT_FALSE(p->Matches("127.0.1.2"));
  EXPECT_FALSE(p->Matches("127.0.0.12"));
  EXPECT_FALSE(p->Matches("128.0.0.2"));
  EXPECT_FALSE(p->Matches("127.0.0"));
  EXPECT_FALSE(p->Matches("not an address"));
  auto exact = DnsxlPattern::Parse("127.0.1.2");
  ASSERT_TRUE(exact.ok());
  EXPECT_TRUE(exact->Matches("127.0.1.2"));
  EXPECT_FALSE(exact->Matches("127.0.1.3"));
  auto all = DnsxlPattern::Parse("[0..255].[0..255].[0..255].[0..255]");
  ASSERT_TRUE(all.ok());
  EXPECT_TRUE(all->Matches("255.0.255.0"));
}

TEST(DnsxlPattern, RefusesWhatIsNotAnAddressPattern) {
  for (const char* bad : {"127.0.0", "127.0.0.1.5", "127.0.0.256", "127.0.0.[9..2]", "127.0.0.[]",
                          "127.0.0.[1", "127.0.0.x", "127..0.1", "", "127.0.0.[1;;2]",
                          "127.0.0.1 ", "-1.0.0.1"}) {
    EXPECT_FALSE(DnsxlPattern::Parse(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace posthaste::tables
