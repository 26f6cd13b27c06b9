// dns_resolver_test.cc: the c-ares resolver on an io_context against the
// in-test DNS server: records, NXDOMAIN and NODATA as NotFound, SERVFAIL,
// REFUSED and silence as Unavailable, reply and record limits, bad names,
// concurrent lookups, shutdown with lookups in flight.
#include "runtime/dns_resolver.h"

#include <string>
#include <thread>
#include <vector>

#include "asio/co_spawn.hpp"
#include "asio/detached.hpp"
#include "asio/io_context.hpp"
#include "asio/use_awaitable.hpp"
#include "gtest/gtest.h"
#include "tests/support/fake_dns_server.h"

namespace posthaste::runtime {
namespace {

using testing::FakeDnsServer;

class DnsResolverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(dns_.ok());
    options_.servers = {dns_.address()};
    options_.timeout = absl::Milliseconds(300);
    options_.tries = 1;
  }

  std::unique_ptr<DnsResolver> MakeResolver() {
    auto resolver = DnsResolver::Create(io_.get_executor(), options_);
    EXPECT_TRUE(resolver.ok()) << resolver.status();
    return resolver.ok() ? std::move(*resolver) : nullptr;
  }

  // Runs one coroutine to completion on the test's io_context.
  template <typename T>
  T Run(asio::awaitable<T> task) {
    std::optional<T> out;
    asio::co_spawn(io_, std::move(task), [&](std::exception_ptr e, T value) {
      if (e) std::rethrow_exception(e);
      out = std::move(value);
    });
    io_.restart();
    io_.run();
    return std::move(*out);
  }

  static std::vector<std::string> Texts(const std::vector<asio::ip::address>& addrs) {
    std::vector<std::string> out;
    for (const auto& a : addrs) out.push_back(a.to_string());
    return out;
  }

  FakeDnsServer dns_;
  DnsResolverOptions options_;
  asio::io_context io_;
};

TEST_F(DnsResolverTest, ReturnsAAndAaaaRecordsInReplyOrder) {
  dns_.AddA("mx.example.test", "192.0.2.10");
  dns_.AddA("mx.example.test", "192.0.2.11");
  dns_.AddAaaa("mx.example.test", "2001:db8::25");
  auto resolver = MakeResolver();
  auto a = Run(resolver->LookupA("mx.example.test"));
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(Texts(*a), (std::vector<std::string>{"192.0.2.10", "192.0.2.11"}));
  auto aaaa = Run(resolver->LookupAaaa("MX.Example.Test."));
  ASSERT_TRUE(aaaa.ok()) << aaaa.status();
  EXPECT_EQ(Texts(*aaaa), (std::vector<std::string>{"2001:db8::25"}));
  EXPECT_EQ(dns_.Queries("mx.example.test", "A"), 1);
  EXPECT_EQ(dns_.Queries("mx.example.test", "AAAA"), 1);
}

TEST_F(DnsResolverTest, ReturnsMxRecordsWithPreferences) {
  dns_.AddMx("example.test", 20, "mx2.example.test");
  dns_.AddMx("example.test", 10, "mx1.example.test");
  auto resolver = MakeResolver();
  auto mx = Run(resolver->LookupMx("example.test"));
  ASSERT_TRUE(mx.ok()) << mx.status();
  ASSERT_EQ(mx->size(), 2u);
  EXPECT_EQ((*mx)[0].preference, 20);
  EXPECT_EQ((*mx)[0].host, "mx2.example.test");
  EXPECT_EQ((*mx)[1].preference, 10);
  EXPECT_EQ((*mx)[1].host, "mx1.example.test");
}

TEST_F(DnsResolverTest, NullMxIsAnEmptyHostName) {
  dns_.AddMx("nomail.test", 0, "");
  auto resolver = MakeResolver();
  auto mx = Run(resolver->LookupMx("nomail.test"));
  ASSERT_TRUE(mx.ok()) << mx.status();
  ASSERT_EQ(mx->size(), 1u);
  EXPECT_EQ((*mx)[0].host, "");
}

TEST_F(DnsResolverTest, NxdomainAndNodataAreNotFoundWithPostfixTexts) {
  dns_.AddA("exists.test", "192.0.2.1");
  auto resolver = MakeResolver();
  auto nx = Run(resolver->LookupA("missing.test"));
  EXPECT_EQ(nx.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(nx.status().message(), "Host not found");
  auto nodata = Run(resolver->LookupMx("exists.test"));
  EXPECT_EQ(nodata.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(nodata.status().message(), "Host found but no data record of requested type");
}

TEST_F(DnsResolverTest, ServfailRefusedAndSilenceAreUnavailable) {
  dns_.SetFailure("servfail.test", FakeDnsServer::Failure::kServFail);
  dns_.SetFailure("refused.test", FakeDnsServer::Failure::kRefused);
  dns_.SetFailure("silent.test", FakeDnsServer::Failure::kDrop);
  auto resolver = MakeResolver();
  for (const char* name : {"servfail.test", "refused.test", "silent.test"}) {
    auto r = Run(resolver->LookupMx(name));
    EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable) << name << ": " << r.status();
    EXPECT_EQ(r.status().message(), "Host not found, try again") << name;
  }
  EXPECT_GE(dns_.Queries("silent.test", "MX"), 1);
}

TEST_F(DnsResolverTest, UnreachableServerIsUnavailable) {
  // A UDP port nobody listens on: ICMP port unreachable, or a timeout.
  options_.servers = {"127.0.0.1:9"};
  auto resolver = MakeResolver();
  auto r = Run(resolver->LookupA("example.test"));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable) << r.status();
}

TEST_F(DnsResolverTest, RefusesBadNamesWithoutAsking) {
  auto resolver = MakeResolver();
  for (const char* name : {"", "a..b", "192.0.2.1", "::1", "bad name.test", "x\xff.test"}) {
    auto r = Run(resolver->LookupA(name));
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << name;
  }
  EXPECT_EQ(resolver->queries_sent(), 0u);
  EXPECT_TRUE(IsValidDnsName("mail-1.example_x.test."));
  EXPECT_FALSE(IsValidDnsName(std::string(64, 'a') + ".test"));
}

TEST_F(DnsResolverTest, RecordCountIsLimited) {
  for (int i = 1; i <= 20; ++i) dns_.AddA("many.test", "192.0.2." + std::to_string(i));
  options_.max_records = 5;
  auto resolver = MakeResolver();
  auto r = Run(resolver->LookupA("many.test"));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->size(), 5u);
  EXPECT_EQ((*r)[0].to_string(), "192.0.2.1");
}

TEST_F(DnsResolverTest, OversizedReplyIsRefusedAsTemporary) {
  for (int i = 1; i <= 20; ++i) dns_.AddA("big.test", "192.0.2." + std::to_string(i));
  options_.max_reply_bytes = 200;  // 20 A records take about 350 bytes
  auto resolver = MakeResolver();
  auto r = Run(resolver->LookupA("big.test"));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable) << r.status();
  auto small = Run(resolver->LookupA("missing.test"));
  EXPECT_EQ(small.status().code(), absl::StatusCode::kNotFound);
}

TEST_F(DnsResolverTest, ManyLookupsRunConcurrently) {
  for (int i = 0; i < 50; ++i)
    dns_.AddA("h" + std::to_string(i) + ".test", "192.0.2." + std::to_string(i + 1));
  dns_.SetFailure("slow.test", FakeDnsServer::Failure::kDrop);
  auto resolver = MakeResolver();
  int done = 0, good = 0;
  for (int i = 0; i < 50; ++i) {
    asio::co_spawn(io_, resolver->LookupA("h" + std::to_string(i) + ".test"),
                   [&, i](std::exception_ptr, absl::StatusOr<std::vector<asio::ip::address>> r) {
                     ++done;
                     if (r.ok() && r->size() == 1 &&
                         (*r)[0].to_string() == "192.0.2." + std::to_string(i + 1)) {
                       ++good;
                     }
                   });
  }
  // One lookup that times out does not hold the others up.
  asio::co_spawn(io_, resolver->LookupA("slow.test"),
                 [&](std::exception_ptr, absl::StatusOr<std::vector<asio::ip::address>> r) {
                   ++done;
                   EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
                 });
  io_.run();
  EXPECT_EQ(done, 51);
  EXPECT_EQ(good, 50);
  EXPECT_EQ(resolver->queries_sent(), 51u);
}

TEST_F(DnsResolverTest, DestroyingTheResolverEndsLookupsInFlight) {
  dns_.SetFailure("silent.test", FakeDnsServer::Failure::kDrop);
  options_.timeout = absl::Seconds(30);
  auto resolver = MakeResolver();
  bool finished = false;
  asio::co_spawn(io_, resolver->LookupA("silent.test"),
                 [&](std::exception_ptr, absl::StatusOr<std::vector<asio::ip::address>> r) {
                   finished = true;
                   EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
                 });
  // Run until the query is on the wire, then drop the resolver.
  while (dns_.Queries("silent.test", "A") == 0) {
    io_.poll();
    std::this_thread::yield();
  }
  resolver.reset();
  io_.run();
  EXPECT_TRUE(finished);
}

}  // namespace
}  // namespace posthaste::runtime
