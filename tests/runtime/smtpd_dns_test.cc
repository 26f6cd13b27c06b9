// smtpd_dns_test.cc: the DNS answers of the SMTP server's restrictions
// (reject_unknown_*_domain, reject_unknown_helo_hostname) from the c-ares
// resolver against the in-test DNS server: Postfix's lookup order, where
// it stops, and which outcome wins when no lookup answers.
#include "runtime/smtpd_dns.h"

#include <optional>
#include <string>
#include <vector>

#include "asio/co_spawn.hpp"
#include "asio/io_context.hpp"
#include "gtest/gtest.h"
#include "tests/support/fake_dns_server.h"

namespace posthaste::runtime {
namespace {

using testing::FakeDnsServer;
using Kind = SmtpdDnsKind;
using Status = SmtpdDnsStatus;

class SmtpdDnsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(dns_.ok());
    DnsResolverOptions options;
    options.servers = {dns_.address()};
    options.timeout = absl::Milliseconds(300);
    options.tries = 1;
    auto resolver = DnsResolver::Create(io_.get_executor(), options);
    ASSERT_TRUE(resolver.ok()) << resolver.status();
    resolver_ = std::move(*resolver);
  }

  SmtpdDnsAnswer Answer(Kind kind, const std::string& name) {
    std::optional<SmtpdDnsAnswer> out;
    asio::co_spawn(io_, ResolveSmtpdDns(*resolver_, SmtpdDnsQuery{kind, name}),
                   [&](std::exception_ptr e, SmtpdDnsAnswer a) {
                     if (e) std::rethrow_exception(e);
                     out = std::move(a);
                   });
    io_.restart();
    io_.run();
    return out.value_or(SmtpdDnsAnswer(Status::kNotFound));
  }
  Status Resolve(Kind kind, const std::string& name) { return Answer(kind, name).status; }

  FakeDnsServer dns_;
  asio::io_context io_;
  std::unique_ptr<DnsResolver> resolver_;
};

TEST_F(SmtpdDnsTest, AMailDomainNeedsAnMxOrAnAddress) {
  dns_.AddMx("mx.example", 10, "mail.mx.example");
  dns_.AddA("a-only.example", "192.0.2.1");
  dns_.AddAaaa("aaaa-only.example", "2001:db8::1");
  dns_.AddName("empty.example");
  EXPECT_EQ(Resolve(Kind::kMailHost, "mx.example"), Status::kOk);
  EXPECT_EQ(dns_.Queries("mx.example", "A"), 0);  // the MX answered: no more lookups
  EXPECT_EQ(Resolve(Kind::kMailHost, "a-only.example"), Status::kOk);
  EXPECT_EQ(dns_.Queries("a-only.example", "MX"), 1);
  EXPECT_EQ(dns_.Queries("a-only.example", "AAAA"), 0);
  EXPECT_EQ(Resolve(Kind::kMailHost, "aaaa-only.example"), Status::kOk);
  EXPECT_EQ(Resolve(Kind::kMailHost, "empty.example"), Status::kNotFound);
  EXPECT_EQ(Resolve(Kind::kMailHost, "nx.example"), Status::kNotFound);
  EXPECT_EQ(dns_.Queries("nx.example", "MX"), 1);
  EXPECT_EQ(dns_.Queries("nx.example", "A"), 1);
  EXPECT_EQ(dns_.Queries("nx.example", "AAAA"), 1);
}

TEST_F(SmtpdDnsTest, ANullMxEndsTheSearchForAMailDomainButNotForAHostName) {
  dns_.AddMx("null.example", 0, "");
  dns_.AddA("null.example", "192.0.2.2");
  EXPECT_EQ(Resolve(Kind::kMailHost, "null.example"), Status::kNullMx);
  EXPECT_EQ(dns_.Queries("null.example", "A"), 0);
  // A host name is looked up by address first: it has one.
  EXPECT_EQ(Resolve(Kind::kHostName, "null.example"), Status::kOk);
  EXPECT_EQ(dns_.Queries("null.example", "MX"), 1);  // only the earlier mail-domain lookup
  dns_.AddMx("nullonly.example", 0, "");
  EXPECT_EQ(Resolve(Kind::kHostName, "nullonly.example"), Status::kNullMx);
  // A root record makes the whole MX answer a null MX, even beside a real
  // host (Postfix's resolver, and the smtp client's IsNullMx, read it so).
  dns_.AddMx("mixed.example", 0, "");
  dns_.AddMx("mixed.example", 10, "mail.mixed.example");
  EXPECT_EQ(Resolve(Kind::kMailHost, "mixed.example"), Status::kNullMx);
  EXPECT_EQ(Resolve(Kind::kMxHosts, "mixed.example"), Status::kNullMx);
}

TEST_F(SmtpdDnsTest, AHostNameNeedsAnAddressOrAnMx) {
  dns_.AddA("host.example", "192.0.2.3");
  dns_.AddMx("mxonly.example", 10, "mail.example");
  EXPECT_EQ(Resolve(Kind::kHostName, "host.example"), Status::kOk);
  EXPECT_EQ(dns_.Queries("host.example", "MX"), 0);
  EXPECT_EQ(Resolve(Kind::kHostName, "mxonly.example"), Status::kOk);
  EXPECT_EQ(Resolve(Kind::kHostName, "nx.example"), Status::kNotFound);
}

TEST_F(SmtpdDnsTest, ATemporaryFailureOutweighsNotFound) {
  dns_.SetFailure("broken.example", FakeDnsServer::Failure::kServFail);
  EXPECT_EQ(Resolve(Kind::kMailHost, "broken.example"), Status::kTempFail);
  EXPECT_EQ(Resolve(Kind::kHostName, "broken.example"), Status::kTempFail);
  dns_.SetFailure("silent.example", FakeDnsServer::Failure::kDrop);
  EXPECT_EQ(Resolve(Kind::kMailHost, "silent.example"), Status::kTempFail);
  // Any answer still wins.
  dns_.AddA("flaky.example", "192.0.2.4");
  dns_.SetFailure("flaky.example", FakeDnsServer::Failure::kNone);
  EXPECT_EQ(Resolve(Kind::kMailHost, "flaky.example"), Status::kOk);
}

TEST_F(SmtpdDnsTest, ADnsListAnswersWithItsAddressesAndReasons) {
  dns_.AddA("2.0.0.127.bl.example", "127.0.0.2");
  dns_.AddA("2.0.0.127.bl.example", "127.0.0.10");
  dns_.AddTxt("2.0.0.127.bl.example", "listed: see https://bl.example/q?127.0.0.2");
  dns_.AddTxt("2.0.0.127.bl.example", "second reason");
  SmtpdDnsAnswer a = Answer(Kind::kList, "2.0.0.127.bl.example");
  EXPECT_EQ(a.status, Status::kOk);
  EXPECT_EQ(a.addresses, (std::vector<std::string>{"127.0.0.2", "127.0.0.10"}));
  EXPECT_EQ(a.text, "listed: see https://bl.example/q?127.0.0.2 / second reason");
  EXPECT_EQ(dns_.Queries("2.0.0.127.bl.example", "AAAA"), 0);
  // A TXT record longer than one character-string comes back whole.
  dns_.AddA("long.bl.example", "127.0.0.4");
  dns_.AddTxt("long.bl.example", std::string(200, 'a') + std::string(100, 'b'));
  a = Answer(Kind::kList, "long.bl.example");
  EXPECT_EQ(a.text, std::string(200, 'a') + std::string(100, 'b'));
  // Listed without a TXT record: no reason.
  dns_.AddA("quiet.bl.example", "127.0.0.3");
  a = Answer(Kind::kList, "quiet.bl.example");
  EXPECT_EQ(a.status, Status::kOk);
  EXPECT_EQ(a.text, "");
  // Not listed: nothing more is asked.
  a = Answer(Kind::kList, "1.0.0.127.bl.example");
  EXPECT_EQ(a.status, Status::kNotFound);
  EXPECT_EQ(dns_.Queries("1.0.0.127.bl.example", "TXT"), 0);
  dns_.SetFailure("3.0.0.127.bl.example", FakeDnsServer::Failure::kServFail);
  EXPECT_EQ(Resolve(Kind::kList, "3.0.0.127.bl.example"), Status::kTempFail);
}

TEST_F(SmtpdDnsTest, ServerSearchesGetHostNamesAndAddresses) {
  dns_.AddMx("d.example", 20, "mx2.d.example");
  dns_.AddMx("d.example", 10, "mx1.d.example");
  dns_.AddNs("d.example", "ns1.d.example");
  dns_.AddNs("d.example", "ns2.d.example");
  dns_.AddA("mx1.d.example", "192.0.2.1");
  dns_.AddAaaa("mx1.d.example", "2001:db8::1");
  dns_.AddAaaa("v6only.d.example", "2001:db8::2");
  SmtpdDnsAnswer a = Answer(Kind::kMxHosts, "d.example");
  EXPECT_EQ(a.status, Status::kOk);
  EXPECT_EQ(a.names, (std::vector<std::string>{"mx2.d.example", "mx1.d.example"}));  // reply order
  a = Answer(Kind::kNsHosts, "d.example");
  EXPECT_EQ(a.status, Status::kOk);
  EXPECT_EQ(a.names, (std::vector<std::string>{"ns1.d.example", "ns2.d.example"}));
  a = Answer(Kind::kAddresses, "mx1.d.example");
  EXPECT_EQ(a.addresses, (std::vector<std::string>{"192.0.2.1", "2001:db8::1"}));
  a = Answer(Kind::kAddresses, "v6only.d.example");
  EXPECT_EQ(a.addresses, (std::vector<std::string>{"2001:db8::2"}));
  a = Answer(Kind::kAddresses, "none.d.example");
  EXPECT_EQ(a.status, Status::kNotFound);
  EXPECT_EQ(Resolve(Kind::kNsHosts, "none.d.example"), Status::kNotFound);
  dns_.AddMx("null.example", 0, "");
  EXPECT_EQ(Resolve(Kind::kMxHosts, "null.example"), Status::kNullMx);
  dns_.SetFailure("broken.example", FakeDnsServer::Failure::kServFail);
  a = Answer(Kind::kMxHosts, "broken.example");
  EXPECT_EQ(a.status, Status::kTempFail);
  EXPECT_EQ(a.failure, "Host not found, try again");
  EXPECT_EQ(Resolve(Kind::kAddresses, "broken.example"), Status::kTempFail);
}

TEST_F(SmtpdDnsTest, NamesDnsCannotCarryAreNotFoundWithoutAQuery) {
  EXPECT_EQ(Resolve(Kind::kHostName, "bad_name!"), Status::kNotFound);
  EXPECT_EQ(Resolve(Kind::kMailHost, "a..b"), Status::kNotFound);
  EXPECT_EQ(Resolve(Kind::kHostName, "192.0.2.1"), Status::kNotFound);
  EXPECT_EQ(resolver_->queries_sent(), 0u);
}

}  // namespace
}  // namespace posthaste::runtime
