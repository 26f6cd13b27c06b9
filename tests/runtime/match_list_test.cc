// match_list_test.cc: Postfix match lists (runtime/match_list.h).
//
// Host lists match by name or address (networks, bare and bracketed
// addresses, tables), domain lists by domain with both parent styles, and
// the first matching pattern decides, a negated one saying no. A table the
// bundle lacks or a table that fails is a temporary failure, never "no
// match". The default $mynetworks is computed from the loopback interface.
#include "runtime/match_list.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>

#include "tables/cidr_table.h"
#include "tables/memory_table.h"

namespace posthaste::runtime {
namespace {

class Tables {
 public:
  tables::MemoryTable* Add(const std::string& name) {
    auto t = std::make_unique<tables::MemoryTable>();
    tables::MemoryTable* raw = t.get();
    owned_[name] = std::move(t);
    return raw;
  }
  void AddTable(const std::string& name, std::unique_ptr<tables::Table> t) {
    owned_[name] = std::move(t);
  }
  MatchList::FindTable Finder() {
    return [this](std::string_view name) -> const tables::Table* {
      auto it = owned_.find(std::string(name));
      return it == owned_.end() ? nullptr : it->second.get();
    };
  }

 private:
  std::map<std::string, std::unique_ptr<tables::Table>> owned_;
};

MatchList Must(absl::StatusOr<MatchList> list) {
  EXPECT_TRUE(list.ok()) << list.status();
  return list.ok() ? std::move(*list) : MatchList();
}

TEST(IpNetwork, ContainsAddressesInsideThePrefixOnly) {
  IpNetwork n;
  std::string error;
  ASSERT_TRUE(ParseIpNetwork("192.0.2.0/24", &n, &error)) << error;
  IpAddress a;
  ASSERT_TRUE(ParseIpAddress("192.0.2.77", &a));
  EXPECT_TRUE(n.Contains(a));
  ASSERT_TRUE(ParseIpAddress("192.0.3.1", &a));
  EXPECT_FALSE(n.Contains(a));
  ASSERT_TRUE(ParseIpNetwork("[2001:db8::]/32", &n, &error)) << error;
  ASSERT_TRUE(ParseIpAddress("2001:DB8:1::5", &a));
  EXPECT_TRUE(n.Contains(a));
  ASSERT_TRUE(ParseIpAddress("192.0.2.77", &a));
  EXPECT_FALSE(n.Contains(a));  // no IPv4 against IPv6
  ASSERT_TRUE(ParseIpNetwork("10.1.2.3", &n, &error));
  EXPECT_EQ(n.prefix, 32);
}

TEST(IpNetwork, RefusesHostBitsAsPostfixDoes) {
  IpNetwork n;
  std::string error;
  EXPECT_FALSE(ParseIpNetwork("192.168.1.1/24", &n, &error));
  EXPECT_NE(error.find("non-null host address bits"), std::string::npos) << error;
  EXPECT_NE(error.find("192.168.1.0/24"), std::string::npos) << error;
  EXPECT_FALSE(ParseIpNetwork("10.0.0.0/33", &n, &error));
  EXPECT_FALSE(ParseIpNetwork("not-an-address/8", &n, &error));
}

TEST(MatchList, HostListMatchesNetworksAddressesAndNames) {
  Tables t;
  MatchList list = Must(MatchList::Parse(
      "mynetworks", "127.0.0.0/8, [::1]/128 192.0.2.7 [2001:db8::5] trusted.example.net",
      MatchListKind::kHost, true, t.Finder()));
  EXPECT_EQ(list.MatchHost("unknown", "127.0.0.1"), MatchStatus::kMatch);
  EXPECT_EQ(list.MatchHost("unknown", "::1"), MatchStatus::kMatch);
  EXPECT_EQ(list.MatchHost("unknown", "192.0.2.7"), MatchStatus::kMatch);
  EXPECT_EQ(list.MatchHost("unknown", "192.0.2.8"), MatchStatus::kNoMatch);
  EXPECT_EQ(list.MatchHost("unknown", "2001:db8:0::5"), MatchStatus::kMatch);
  // IPv4-mapped client addresses compare as IPv4.
  EXPECT_EQ(list.MatchHost("unknown", "::ffff:127.0.0.9"), MatchStatus::kMatch);
  // Parent style: a bare domain also matches its subdomains.
  EXPECT_EQ(list.MatchHost("trusted.example.net", "198.51.100.1"), MatchStatus::kMatch);
  EXPECT_EQ(list.MatchHost("mx.trusted.example.net", "198.51.100.1"), MatchStatus::kMatch);
  EXPECT_EQ(list.MatchHost("untrusted.example.net", "198.51.100.1"), MatchStatus::kNoMatch);
}

TEST(MatchList, FirstMatchDecidesAndNegationSaysNo) {
  Tables t;
  MatchList list = Must(MatchList::Parse("mynetworks", "!192.0.2.66, 192.0.2.0/24",
                                         MatchListKind::kHost, true, t.Finder()));
  EXPECT_EQ(list.MatchHost("unknown", "192.0.2.66"), MatchStatus::kNoMatch);
  EXPECT_EQ(list.MatchHost("unknown", "192.0.2.67"), MatchStatus::kMatch);
  MatchList twice =
      Must(MatchList::Parse("mynetworks", "!!192.0.2.66", MatchListKind::kHost, true, t.Finder()));
  EXPECT_EQ(twice.MatchHost("unknown", "192.0.2.66"), MatchStatus::kMatch);
}

TEST(MatchList, DomainListsFollowTheParentStyle) {
  Tables t;
  MatchList parent = Must(MatchList::Parse("relay_domains", "example.org, .example.net",
                                           MatchListKind::kDomain, true, t.Finder()));
  EXPECT_EQ(parent.MatchDomain("example.org"), MatchStatus::kMatch);
  EXPECT_EQ(parent.MatchDomain("Sub.Example.ORG"), MatchStatus::kMatch);
  EXPECT_EQ(parent.MatchDomain("example.org."), MatchStatus::kMatch);
  EXPECT_EQ(parent.MatchDomain("badexample.org"), MatchStatus::kNoMatch);
  // Postfix 3.7 (verified): with the parent style a ".example.net" pattern
  // matches neither example.net nor its subdomains.
  EXPECT_EQ(parent.MatchDomain("sub.example.net"), MatchStatus::kNoMatch);
  MatchList dotted = Must(MatchList::Parse("mydestination", "example.org, .example.net",
                                           MatchListKind::kDomain, false, t.Finder()));
  EXPECT_EQ(dotted.MatchDomain("example.org"), MatchStatus::kMatch);
  EXPECT_EQ(dotted.MatchDomain("sub.example.org"), MatchStatus::kNoMatch);
  EXPECT_EQ(dotted.MatchDomain("sub.example.net"), MatchStatus::kMatch);
  EXPECT_EQ(dotted.MatchDomain("example.net"), MatchStatus::kNoMatch);
}

TEST(MatchList, TablesAnswerForDomainsAndTheirParents) {
  Tables t;
  tables::MemoryTable* virt = t.Add("hash:/etc/postfix/virtual");
  virt->Add("example.com", "anything");
  virt->Add("user@example.net", "x");
  MatchList parent = Must(MatchList::Parse("relay_domains", "hash:/etc/postfix/virtual",
                                           MatchListKind::kDomain, true, t.Finder()));
  EXPECT_EQ(parent.MatchDomain("EXAMPLE.com"), MatchStatus::kMatch);
  EXPECT_EQ(parent.MatchDomain("a.b.example.com"), MatchStatus::kMatch);
  EXPECT_EQ(parent.MatchDomain("example.net"), MatchStatus::kNoMatch);
  MatchList exact = Must(MatchList::Parse("virtual_alias_domains", "hash:/etc/postfix/virtual",
                                          MatchListKind::kDomain, false, t.Finder()));
  EXPECT_EQ(exact.MatchDomain("a.example.com"), MatchStatus::kNoMatch);
  EXPECT_EQ(exact.MatchDomain("example.com"), MatchStatus::kMatch);
}

TEST(MatchList, HostTablesSeeTheNameThenTheAddress) {
  Tables t;
  tables::MemoryTable* m = t.Add("hash:/etc/postfix/clients");
  m->Add("friend.example", "OK");
  m->Add("198.51.100.9", "OK");
  MatchList list = Must(MatchList::Parse("mynetworks", "hash:/etc/postfix/clients",
                                         MatchListKind::kHost, true, t.Finder()));
  EXPECT_EQ(list.MatchHost("mail.friend.example", "203.0.113.1"), MatchStatus::kMatch);
  EXPECT_EQ(list.MatchHost("unknown", "198.51.100.9"), MatchStatus::kMatch);
  EXPECT_EQ(list.MatchHost("unknown", "198.51.100.10"), MatchStatus::kNoMatch);
}

TEST(MatchList, CidrTablesMatchAddresses) {
  Tables t;
  tables::CidrRule rule;
  rule.net.family = 4;
  rule.net.addr = {192, 0, 2, 0};
  rule.net.prefix = 24;
  rule.result = "OK";
  t.AddTable("cidr:/etc/postfix/clients.cidr",
             std::make_unique<tables::CidrTable>(std::vector<tables::CidrRule>{rule}));
  MatchList list = Must(MatchList::Parse("mynetworks", "cidr:/etc/postfix/clients.cidr",
                                         MatchListKind::kHost, true, t.Finder()));
  EXPECT_EQ(list.MatchHost("unknown", "192.0.2.200"), MatchStatus::kMatch);
  EXPECT_EQ(list.MatchHost("unknown", "192.0.3.200"), MatchStatus::kNoMatch);
}

TEST(MatchList, MissingOrFailingTablesAreTemporaryFailures) {
  Tables t;
  t.AddTable("fail:broken", std::make_unique<tables::FailTable>("fail:broken"));
  MatchList missing = Must(MatchList::Parse("relay_domains", "example.org, hash:/nowhere",
                                            MatchListKind::kDomain, true, t.Finder()));
  std::string why;
  EXPECT_EQ(missing.MatchDomain("example.org"), MatchStatus::kMatch);  // decided before the table
  EXPECT_EQ(missing.MatchDomain("example.com", &why), MatchStatus::kTryAgain);
  EXPECT_NE(why.find("hash:/nowhere"), std::string::npos) << why;
  MatchList failing =
      Must(MatchList::Parse("mynetworks", "fail:broken", MatchListKind::kHost, true, t.Finder()));
  EXPECT_EQ(failing.MatchHost("unknown", "192.0.2.1"), MatchStatus::kTryAgain);
}

TEST(MatchList, RefusesFilesAndMalformedNetworks) {
  Tables t;
  auto file = MatchList::Parse("mynetworks", "127.0.0.0/8 /etc/postfix/network_table",
                               MatchListKind::kHost, true, t.Finder());
  ASSERT_FALSE(file.ok());
  EXPECT_NE(std::string(file.status().message()).find("/etc/postfix/network_table"),
            std::string::npos);
  EXPECT_FALSE(
      MatchList::Parse("mynetworks", "10.0.0.1/8", MatchListKind::kHost, true, t.Finder()).ok());
  EXPECT_FALSE(
      MatchList::Parse("mynetworks", "[2001:db8::1]/32", MatchListKind::kHost, true, t.Finder())
          .ok());
}

TEST(MatchList, StringListsCompareWholeWordsAndAskTables) {
  Tables t;
  t.AddTable("static:all", std::make_unique<tables::StaticTable>("all"));
  MatchList words =
      Must(MatchList::Parse("smtpd_log_access_permit_actions", "permit_mynetworks, OK",
                            MatchListKind::kString, false, t.Finder()));
  EXPECT_EQ(words.MatchString("permit_mynetworks"), MatchStatus::kMatch);
  EXPECT_EQ(words.MatchString("ok"), MatchStatus::kMatch);
  EXPECT_EQ(words.MatchString("permit"), MatchStatus::kNoMatch);
  MatchList all = Must(MatchList::Parse("smtpd_log_access_permit_actions", "static:all",
                                        MatchListKind::kString, false, t.Finder()));
  EXPECT_EQ(all.MatchString("anything"), MatchStatus::kMatch);
}

TEST(Mynetworks, LoopbackOnlyGivesPostfixsDefaults) {
  auto v4 = OwnInterfaceAddresses("loopback-only", "ipv4");
  ASSERT_TRUE(v4.ok()) << v4.status();
  ASSERT_EQ(v4->size(), 1u);
  EXPECT_EQ(*MynetworksFor(*v4, "host"), "127.0.0.1/32");
  EXPECT_EQ(*MynetworksFor(*v4, "subnet"), "127.0.0.0/8");
  EXPECT_EQ(*MynetworksFor(*v4, "class"), "127.0.0.0/8");
  auto both = OwnInterfaceAddresses("loopback-only", "all");
  ASSERT_TRUE(both.ok());
  EXPECT_EQ(*MynetworksFor(*both, "host"), "127.0.0.1/32 [::1]/128");
  EXPECT_FALSE(MynetworksFor(*both, "nets").ok());
  auto listed = OwnInterfaceAddresses("127.0.0.1", "ipv4");
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(*MynetworksFor(*listed, "subnet"), "127.0.0.0/8");
}

TEST(Mynetworks, AllInterfacesIncludeLoopback) {
  auto all = OwnInterfaceAddresses("all", "ipv4");
  ASSERT_TRUE(all.ok()) << all.status();
  std::string host = *MynetworksFor(*all, "host");
  EXPECT_NE(host.find("127.0.0.1/32"), std::string::npos) << host;
}

}  // namespace
}  // namespace posthaste::runtime
