// cidr_table_test.cc: first-match cidr lookups through the prefix index,
// compared with a plain scan, and the bundle round trip of the rules.
#include "tables/cidr_table.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "gtest/gtest.h"

namespace posthaste::tables {
namespace {

CidrNet Net(const std::string& addr, int prefix, bool negate = false) {
  CidrNet n;
  EXPECT_TRUE(ParseNumericAddress(addr, &n.family, &n.addr)) << addr;
  n.prefix = prefix;
  n.negate = negate;
  return n;
}

CidrRule Rule(CidrNet net, std::string result, std::vector<CidrNet> conditions = {}) {
  CidrRule r;
  r.net = net;
  r.result = std::move(result);
  r.conditions = std::move(conditions);
  return r;
}

// The obvious linear scan: the reference the index must agree with.
std::string Scan(const std::vector<CidrRule>& rules, const std::string& query) {
  int family;
  std::array<uint8_t, 16> addr;
  if (!ParseNumericAddress(query, &family, &addr)) return "<none>";
  for (const CidrRule& r : rules) {
    bool ok = r.net.Contains(family, addr);
    for (const CidrNet& c : r.conditions) ok = ok && c.Contains(family, addr);
    if (ok) return r.result;
  }
  return "<none>";
}

std::vector<CidrRule> Sample() {
  return {Rule(Net("192.168.1.1", 32), "exact"), Rule(Net("192.168.0.0", 16), "private"),
          Rule(Net("172.16.0.0", 12, true), "not-172"),
          Rule(Net("10.1.0.0", 16), "ten-in-if", {Net("10.0.0.0", 8)}),
          Rule(Net("2001:db8:1::", 48), "v6"), Rule(Net("0.0.0.0", 0), "anything-v4")};
}

TEST(CidrTable, FirstMatchNotLongestPrefix) {
  CidrTable t(Sample());
  EXPECT_EQ(t.Lookup("192.168.1.1").value, "exact");
  EXPECT_EQ(t.Lookup("192.168.9.9").value, "private");
  EXPECT_EQ(t.Lookup("10.1.2.3").value, "not-172");  // the negation comes first
  EXPECT_EQ(t.Lookup("172.16.5.5").value, "anything-v4");
  EXPECT_EQ(t.Lookup("2001:DB8:1::7").value, "v6");
  EXPECT_FALSE(t.Lookup("::ffff:192.168.1.1").found());  // IPv6, no IPv4 rule applies
  EXPECT_FALSE(t.Lookup("192.168.001.001").found());
  EXPECT_FALSE(t.Lookup("not-an-ip").found());
}

TEST(CidrTable, IndexAgreesWithALinearScan) {
  std::vector<CidrRule> rules = Sample();
  uint32_t seed = 7;
  auto next = [&] { return seed = seed * 1664525 + 1013904223; };
  for (int i = 0; i < 200; ++i) {
    std::string a = std::to_string(next() % 4 * 64) + "." + std::to_string(next() % 256) + ".0.0";
    int prefix = static_cast<int>(next() % 3) * 8 + 8;
    CidrNet n = Net(a, 32);
    n.prefix = prefix;
    for (int b = 0; b < 4; ++b) n.addr[b] &= static_cast<uint8_t>(b * 8 < prefix ? 0xff : 0);
    n.negate = next() % 10 == 0;
    rules.push_back(Rule(n, "r" + std::to_string(i)));
  }
  CidrTable t(rules);
  for (int q = 0; q < 2000; ++q) {
    std::string query = std::to_string(next() % 4 * 64) + "." + std::to_string(next() % 256) +
                        "." + std::to_string(next() % 256) + "." + std::to_string(next() % 256);
    tables::LookupResult r = t.Lookup(query);
    EXPECT_EQ(r.found() ? r.value : "<none>", Scan(rules, query)) << query;
  }
}

TEST(CidrTable, BundleFormRoundTrips) {
  char tmpl[] = "/tmp/phc-cidr-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  std::vector<CidrRule> rules = Sample();
  ASSERT_TRUE(WriteCidrTable(rules, dir + "/c.cdb").ok());
  auto loaded = ReadCidrTable(dir + "/c.cdb");
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  for (const char* q : {"192.168.1.1", "192.168.9.9", "10.1.2.3", "172.16.5.5", "2001:db8:1::7",
                        "8.8.8.8", "::1"})
    EXPECT_EQ((*loaded)->Lookup(q).value, CidrTable(rules).Lookup(q).value) << q;
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace posthaste::tables
