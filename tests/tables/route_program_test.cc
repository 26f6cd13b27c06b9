// route_program_test.cc: routing program encoding, verifier refusals, VM basics.
#include <gtest/gtest.h>

#include <memory>

#include "tables/memory_table.h"
#include "tables/route_program.h"
#include "tables/route_rules.h"
#include "tables/route_verifier.h"
#include "tables/route_vm.h"

namespace posthaste::tables {
namespace {

RouteInsn I(RouteOp op, uint8_t r1 = 0, uint8_t r2 = 0, uint16_t x = 0, uint16_t y = 0,
            uint16_t z = 0, uint8_t flags = 0) {
  RouteInsn i;
  i.op = op;
  i.r1 = r1;
  i.r2 = r2;
  i.x = x;
  i.y = y;
  i.z = z;
  i.flags = flags;
  return i;
}

// resolve: transport_maps (table 0) else "smtp"; source from the service rows.
RouteProgram Small() {
  RouteProgram p;
  p.strings = {"", "mx.example.com", "smtp", "192.0.2.7"};
  p.table_names = {"memory:transport"};
  p.table_lists = {{0}};
  p.domain_lists = {DomainList{}};
  p.services = {{2, 3, 0}};
  p.code = {
      I(RouteOp::kHalt),                                                  // 0: sender
      I(RouteOp::kHalt),                                                  // 1: recipient
      I(RouteOp::kDomain, kRegDomain, kRegAddress, 1),                    // 2: resolve
      I(RouteOp::kSet, kRegTransport, 0, 2),                              // 3
      I(RouteOp::kCopy, kRegNexthop, kRegDomain),                         // 4
      I(RouteOp::kFindTransport, kRegTemp, kRegAddress, 0, 0, 1),        // 5: miss -> 7
      I(RouteOp::kTransportTable, kRegTemp),                              // 6
      I(RouteOp::kSource),                                                // 7
      I(RouteOp::kHalt),                                                  // 8
  };
  p.entries = {0, 1, 2};
  return p;
}

TEST(RouteProgram, EncodeDecodeRoundTrips) {
  RouteProgram p = Small();
  std::string bytes = p.Encode();
  absl::StatusOr<RouteProgram> q = RouteProgram::Decode(bytes);
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->Encode(), bytes);
  EXPECT_TRUE(VerifyRouteProgram(*q).ok());
}

TEST(RouteProgram, DecodeRejectsTruncationTrailingBytesAndBadMagic) {
  std::string bytes = Small().Encode();
  for (size_t n = 0; n < bytes.size(); ++n)
    EXPECT_FALSE(RouteProgram::Decode(bytes.substr(0, n)).ok()) << "length " << n;
  EXPECT_FALSE(RouteProgram::Decode(bytes + "x").ok());
  std::string bad = bytes;
  bad[0] = 'X';
  EXPECT_FALSE(RouteProgram::Decode(bad).ok());
  std::string version = bytes;
  version[4] = 9;
  EXPECT_EQ(RouteProgram::Decode(version).status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(RouteVerifier, RejectsJumpPastTheEnd) {
  RouteProgram p = Small();
  p.code[5].z = 3;  // 5 + 1 + 3 = 9 == size
  EXPECT_FALSE(VerifyRouteProgram(p).ok());
  p.code[5].z = 2;
  EXPECT_TRUE(VerifyRouteProgram(p).ok());
}

TEST(RouteVerifier, RejectsOperandsOutOfRange) {
  auto rejects = [](auto mutate) {
    RouteProgram p = Small();
    mutate(p);
    return !VerifyRouteProgram(p).ok();
  };
  EXPECT_TRUE(rejects([](RouteProgram& p) { p.code[3].r1 = kRouteRegCount; }));
  EXPECT_TRUE(rejects([](RouteProgram& p) { p.code[3].x = 4; }));            // string id
  EXPECT_TRUE(rejects([](RouteProgram& p) { p.code[5].x = 1; }));            // table list id
  EXPECT_TRUE(rejects([](RouteProgram& p) { p.code[3].y = 1; }));            // unused operand
  EXPECT_TRUE(rejects([](RouteProgram& p) { p.code[3].flags = 1; }));        // flag not allowed
  EXPECT_TRUE(rejects([](RouteProgram& p) { p.code[4].op = RouteOp::kCount; }));  // unknown op
  EXPECT_TRUE(rejects([](RouteProgram& p) { p.code.back() = I(RouteOp::kSource); }));  // no stop
  EXPECT_TRUE(rejects([](RouteProgram& p) { p.entries[2] = 9; }));
  EXPECT_TRUE(rejects([](RouteProgram& p) { p.table_lists[0] = {1}; }));      // missing table
  EXPECT_TRUE(rejects([](RouteProgram& p) { p.services[0].source = 99; }));
  EXPECT_TRUE(rejects([](RouteProgram& p) { p.recursion_limit = 0; }));
  EXPECT_TRUE(rejects([](RouteProgram& p) { p.expansion_limit = kMaxExpansionLimit + 1; }));
  EXPECT_TRUE(rejects([](RouteProgram& p) { p.code[3].origin = 0; }));  // no origins
  EXPECT_TRUE(rejects([](RouteProgram& p) { p.code.clear(); }));
}

TEST(RouteVerifier, RejectsTablesTheBundleLacks) {
  RouteProgram p = Small();
  EXPECT_TRUE(VerifyRouteProgram(p, [](std::string_view) { return true; }).ok());
  EXPECT_FALSE(VerifyRouteProgram(p, [](std::string_view) { return false; }).ok());
}

TEST(RouteVm, ResolvesThroughTransportTable) {
  RouteProgram p = Small();
  MemoryTable t;
  t.Add("example.net", "relay:[hub]:25");
  t.Add("example.org", "lmtp:");
  RouteVm vm(p, {&t});
  RouteRunResult r = vm.Resolve("", "u@Example.NET", "");
  EXPECT_EQ(r.transport, "relay");
  EXPECT_EQ(r.nexthop, "[hub]:25");
  EXPECT_EQ(r.source, "");
  r = vm.Resolve("", "u@example.com", "");
  EXPECT_EQ(r.transport, "smtp");
  EXPECT_EQ(r.nexthop, "example.com");
  EXPECT_EQ(r.source, "192.0.2.7");
  r = vm.Resolve("", "u@example.org", "");
  EXPECT_EQ(r.transport, "lmtp");
  EXPECT_EQ(r.nexthop, "example.org");
}

TEST(RouteVm, TryAgainDefersInsteadOfMissing) {
  RouteProgram p = Small();
  FailTable t("down");
  RouteVm vm(p, {&t});
  RouteRunResult r = vm.Resolve("", "u@example.com", "");
  EXPECT_TRUE(r.deferred);
  EXPECT_EQ(r.reason, "lookup failure");
}

TEST(RouteVm, DisassemblerPrintsSynopsis) {
  std::string text = DisassembleRouteProgram(Small());
  EXPECT_NE(text.find("findxport"), std::string::npos);
  EXPECT_NE(text.find("transport_maps value"), std::string::npos);
  EXPECT_NE(text.find("resolve:"), std::string::npos);
}

TEST(RouteRules, DomainPatternsFollowTheParentStyleFlag) {
  // Postfix's match_hostname(): with the parent style "x" matches x and its
  // subdomains while ".x" matches nothing below x; without it only ".x"
  // reaches subdomains.
  auto match = [](bool parent, std::string pattern, std::string_view domain) {
    DomainList list;
    list.parent_matches_subdomains = parent;
    DomainListItem item;
    item.pattern = std::move(pattern);
    list.items.push_back(item);
    return MatchDomainList(list, domain, [](uint16_t) { return nullptr; }, nullptr) ==
           MatchStatus::kMatch;
  };
  EXPECT_TRUE(match(true, "example.com", "example.com"));
  EXPECT_TRUE(match(true, "example.com", "a.b.example.com"));
  EXPECT_FALSE(match(true, "example.com", "badexample.com"));
  EXPECT_FALSE(match(true, ".example.com", "a.example.com"));
  EXPECT_FALSE(match(true, ".example.com", "example.com"));
  EXPECT_FALSE(match(false, "example.com", "a.example.com"));
  EXPECT_TRUE(match(false, ".example.com", "a.example.com"));
  EXPECT_FALSE(match(false, ".example.com", "example.com"));
}

TEST(RouteRules, TransportTableValueForms) {
  auto apply = [](std::string_view v) {
    RouteTarget t{"smtp", "[gw]"};
    ApplyTransportTableValue(v, "d.example", &t);
    return t.transport + " " + t.nexthop;
  };
  EXPECT_EQ(apply("relay:"), "relay d.example");
  EXPECT_EQ(apply("relay"), "relay d.example");
  EXPECT_EQ(apply(":[10.0.0.5]"), "smtp [10.0.0.5]");
  EXPECT_EQ(apply(":"), "smtp [gw]");
  EXPECT_EQ(apply("error:"), "error Address is undeliverable");
  EXPECT_EQ(apply("smtp:[ipv6:2001:db8::25]:2525"), "smtp [ipv6:2001:db8::25]:2525");
}

TEST(RouteRules, FilterEmptyNexthopUsesDefaultThenRecipientDomain) {
  EXPECT_EQ(FilterTarget("bulk:", "", "a@Example.net", "mx").nexthop, "Example.net");
  EXPECT_EQ(FilterTarget("bulk:", "[hub]:2526", "a@example.net", "mx").nexthop, "[hub]:2526");
  EXPECT_EQ(FilterTarget("bulk", "", "bare", "mx").nexthop, "mx");
  EXPECT_EQ(FilterTarget("scan:[127.0.0.1]:10024", "x", "a@b", "mx").nexthop, "[127.0.0.1]:10024");
}

TEST(RouteRules, MailAddrMapPropagatesUnmatchedExtension) {
  MemoryTable t;
  t.Add("joe@plus.example", "jsmith@example.net");
  t.Add("@catch.example", "@example.org");
  TableById by_id = [&](uint16_t) -> const Table* { return &t; };
  AddrMapResult r = MailAddrMap({0}, by_id, "joe+news@plus.example", "+", false, true);
  ASSERT_EQ(r.addresses.size(), 1u);
  EXPECT_EQ(r.addresses[0], "jsmith+news@example.net");
  r = MailAddrMap({0}, by_id, "joe+news@plus.example", "+", false, false);
  EXPECT_EQ(r.addresses[0], "jsmith@example.net");
  r = MailAddrMap({0}, by_id, "ann+x@catch.example", "+", false, true);
  EXPECT_EQ(r.addresses[0], "ann+x@example.org");
}

}  // namespace
}  // namespace posthaste::tables
