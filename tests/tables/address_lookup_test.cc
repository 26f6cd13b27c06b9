// address_lookup_test.cc: the search order of spec §3.6, run against the
// in-memory and CDB back ends alike (one contract, two implementations).
#include "tables/address_lookup.h"

#include <unistd.h>

#include <filesystem>

#include "gtest/gtest.h"
#include "tables/cdb_table.h"
#include "tables/memory_table.h"

namespace posthaste::tables {
namespace {


TEST(AddressKeys, AccessMapOrderWithExtension) {
  AddressLookupOptions o;
  o.recipient_delimiter = "+";
  o.parent_matches_subdomains = true;
  EXPECT_EQ(AddressKeys("User+Ext@Sub.Example.COM", AddressClass::kAccess, o),
            (std::vector<std::string>{"user+ext@sub.example.com", "user@sub.example.com",
                                      "sub.example.com", "example.com", "com", "user+ext@",
                                      "user@"}));
  o.parent_matches_subdomains = false;
  EXPECT_EQ(AddressKeys("user@sub.example.com", AddressClass::kAccess, o),
            (std::vector<std::string>{"user@sub.example.com", "sub.example.com", ".example.com",
                                      ".com", "user@"}));
}

TEST(AddressKeys, TransportEndsWithWildcard) {
  AddressLookupOptions o;
  o.recipient_delimiter = "+-";
  EXPECT_EQ(AddressKeys("a-b@x.example", AddressClass::kTransport, o),
            (std::vector<std::string>{"a-b@x.example", "a@x.example", "x.example", ".example",
                                      "*"}));
}

TEST(AddressKeys, VirtualTriesLocalPartOnlyForLocalDomains) {
  AddressLookupOptions o;
  o.recipient_delimiter = "+";
  EXPECT_EQ(AddressKeys("u+e@d.example", AddressClass::kVirtual, o),
            (std::vector<std::string>{"u+e@d.example", "u@d.example", "@d.example"}));
  o.domain_is_local = true;
  EXPECT_EQ(AddressKeys("u+e@d.example", AddressClass::kVirtual, o),
            (std::vector<std::string>{"u+e@d.example", "u@d.example", "u+e", "u", "@d.example"}));
}

TEST(AddressKeys, NullAddressUsesTheNullKey) {
  AddressLookupOptions o;
  EXPECT_EQ(AddressKeys("", AddressClass::kAccess, o), std::vector<std::string>{"<>"});
}

TEST(ClientAddressKeys, ShortensIpv4AndIpv6) {
  EXPECT_EQ(ClientAddressKeys("1.2.3.4"), (std::vector<std::string>{"1.2.3.4", "1.2.3", "1.2", "1"}));
  EXPECT_EQ(ClientAddressKeys("2001:DB8::1"),
            (std::vector<std::string>{"2001:db8::1", "2001:db8:", "2001:db8", "2001"}));
}

// The contract suite: the same search must answer the same with every back end.
class SearchContract : public ::testing::TestWithParam<bool> {
 protected:
  std::unique_ptr<Table> Make(const std::vector<std::pair<std::string, std::string>>& rows) {
    if (!GetParam()) {
      auto t = std::make_unique<MemoryTable>();
      for (const auto& [k, v] : rows) t->Add(k, v);
      return t;
    }
    char tmpl[] = "/tmp/phc-addr-XXXXXX";
    dir_ = mkdtemp(tmpl);
    std::string path = dir_ + "/t" + std::to_string(counter_++) + ".cdb";
    auto b = CdbBuilder::Create(path);
    for (const auto& [k, v] : rows) EXPECT_TRUE((*b)->Add(k, v).ok());
    EXPECT_TRUE((*b)->Finish().ok());
    return std::move(*CdbTable::Open(path));
  }
  void TearDown() override {
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }
  std::string dir_;
  int counter_ = 0;
};

TEST_P(SearchContract, EarlierKeyBeatsEarlierTable) {
  auto t1 = Make({{"example.com", "domain-hit"}});
  auto t2 = Make({{"user@example.com", "address-hit"}});
  AddressLookupOptions o;
  auto keys = AddressKeys("User@Example.com", AddressClass::kAccess, o);
  AddressLookupResult r = SearchTables({t1.get(), t2.get()}, keys, "user@example.com");
  ASSERT_EQ(r.status, LookupStatus::kFound);
  EXPECT_EQ(r.value, "address-hit");
  EXPECT_EQ(r.table, 1u);
  EXPECT_EQ(r.key, "user@example.com");
}

TEST_P(SearchContract, ParentDomainStyles) {
  auto bare = Make({{"example.com", "bare"}});
  auto dotted = Make({{".example.com", "dotted"}});
  AddressLookupOptions o;
  o.parent_matches_subdomains = true;
  auto keys = AddressKeys("a@mx.example.com", AddressClass::kTransport, o);
  EXPECT_EQ(SearchTables({bare.get()}, keys, "").value, "bare");
  EXPECT_EQ(SearchTables({dotted.get()}, keys, "").status, LookupStatus::kNotFound);
  o.parent_matches_subdomains = false;
  keys = AddressKeys("a@mx.example.com", AddressClass::kTransport, o);
  EXPECT_EQ(SearchTables({dotted.get()}, keys, "").value, "dotted");
  EXPECT_EQ(SearchTables({bare.get()}, keys, "").status, LookupStatus::kNotFound);
}

TEST_P(SearchContract, MissIsNotFound) {
  auto t = Make({{"x", "y"}});
  AddressLookupOptions o;
  auto keys = AddressKeys("nobody@nowhere", AddressClass::kVirtual, o);
  EXPECT_EQ(SearchTables({t.get()}, keys, "").status, LookupStatus::kNotFound);
}

INSTANTIATE_TEST_SUITE_P(Backends, SearchContract, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "Cdb" : "Memory"; });

TEST(SearchTables, TryAgainStopsTheSearch) {
  FailTable fail("broken");
  MemoryTable later;
  later.Add("user@example.com", "never reached");
  AddressLookupOptions o;
  auto keys = AddressKeys("user@example.com", AddressClass::kAccess, o);
  AddressLookupResult r = SearchTables({&fail, &later}, keys, "user@example.com");
  EXPECT_EQ(r.status, LookupStatus::kTryAgain);
}

}  // namespace
}  // namespace posthaste::tables
