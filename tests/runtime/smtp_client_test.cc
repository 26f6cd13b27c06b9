// smtp_client_test.cc: the smtp delivery agent against real peers on
// loopback: Postfix's smtp-sink, a scripted SMTP server where exact replies
// matter, and the in-test DNS server for MX routing. Service parameters come
// from bundles built by phc, as in the server.
#include "runtime/smtp_client.h"

#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "asio/co_spawn.hpp"
#include "asio/io_context.hpp"
#include "gtest/gtest.h"
#include "runtime/dns_resolver.h"
#include "runtime/dsn.h"
#include "runtime/maillog.h"
#include "runtime/queue_record.h"
#include "runtime/smtp_tls.h"
#include "tables/bundle_loader.h"
#include "tests/support/fake_dns_server.h"
#include "tests/support/run_command.h"
#include "tests/support/scripted_smtp_server.h"
#include "tests/support/smtp_sink.h"

namespace posthaste::runtime {
namespace {

namespace fs = std::filesystem;
using testing::FakeDnsServer;
using testing::ScriptedSmtpServer;
using testing::SmtpSink;
using Status = RecipientOutcome::Status;


// A TCP port on `ip` with nothing listening (bound, then closed).
uint16_t ClosedPort(const std::string& ip) {
  ScriptedSmtpServer probe(ip);
  return probe.port();
}

constexpr char kMessage[] =
    "From: sender@client.example\n"
    "To: rcpt@example.test\n"
    "Subject: test\n"
    "\n"
    "line one\n"
    ".leading dot\n"
    ".\n"
    "last line\n";

class SmtpClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/smtp-client-XXXXXX";
    dir_ = mkdtemp(tmpl);
    chmod(dir_.c_str(), 0755);  // smtp-sink writes its dumps as nobody
    ASSERT_TRUE(dns_.ok());
    DnsResolverOptions options;
    options.servers = {dns_.address()};
    options.timeout = absl::Milliseconds(500);
    options.tries = 1;
    auto resolver = DnsResolver::Create(io_.get_executor(), options);
    ASSERT_TRUE(resolver.ok()) << resolver.status();
    resolver_ = std::move(*resolver);
    maillog_.SetSink(
        [this](std::string_view line) {
          std::lock_guard<std::mutex> lock(log_mu_);
          log_.emplace_back(line);
        },
        true);
    Configure();
  }
  void TearDown() override {
    agent_.reset();
    resolver_.reset();
    fs::remove_all(dir_);
  }

  // Builds a bundle with `main_extra` appended to main.cf and `master_extra`
  // to master.cf, and makes a fresh agent.
  void Configure(const std::string& main_extra = "", const std::string& master_extra = "",
                 uint64_t seed = 1) {
    std::string conf = dir_ + "/conf" + std::to_string(++generation_);
    fs::create_directories(conf);
    std::ofstream(conf + "/main.cf") << "myhostname = client.example\n"
                                        "inet_protocols = ipv4\n"
                                     << main_extra;
    std::ofstream(conf + "/master.cf") << "smtp unix - - n - - smtp\n"
                                          "bulk unix - - n - - smtp\n"
                                          "  -o smtp_bind_address=127.0.0.3\n"
                                       << master_extra;
    std::string bundle = dir_ + "/bundle" + std::to_string(generation_);
    testing::CommandResult r =
        testing::RunCommand({POSTHASTE_PHC_PATH, "build", "-c", conf, "-o", bundle});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto snapshot = tables::Loader(bundle).LoadCurrent();
    ASSERT_TRUE(snapshot.ok()) << snapshot.status();
    snapshot_ = *snapshot;
    SmtpClientOptions options;
    options.resolver = resolver_.get();
    options.maillog = &maillog_;
    options.random_seed = seed;
    agent_ = std::make_unique<SmtpDeliveryAgent>(io_.get_executor(), options);
  }

  DeliveryRequest Request(const std::string& nexthop, const std::vector<std::string>& rcpts,
                          const std::string& content = kMessage) {
    DeliveryRequest req;
    req.queue_id = "4QTEST1";
    req.sender = "sender@client.example";
    req.transport = "smtp";
    req.service = "smtp/unix";
    req.nexthop = nexthop;
    for (size_t i = 0; i < rcpts.size(); ++i) req.recipients.push_back({i, rcpts[i], rcpts[i]});
    req.content = std::make_shared<const std::string>(content);
    req.snapshot = snapshot_;
    return req;
  }

  DeliveryResult Deliver(const DeliveryRequest& req) {
    std::optional<DeliveryResult> result;
    asio::co_spawn(io_, agent_->Deliver(req), [&](std::exception_ptr e, DeliveryResult r) {
      if (e) std::rethrow_exception(e);
      result = std::move(r);
    });
    io_.restart();
    while (!result) io_.run_one();
    std::sort(
        result->outcomes.begin(), result->outcomes.end(),
        [](const RecipientOutcome& a, const RecipientOutcome& b) { return a.index < b.index; });
    return std::move(*result);
  }

  bool Logged(const std::string& text) {
    std::lock_guard<std::mutex> lock(log_mu_);
    for (const std::string& line : log_) {
      if (line.find(text) != std::string::npos) return true;
    }
    return false;
  }
  std::string Log() {
    std::lock_guard<std::mutex> lock(log_mu_);
    std::string all;
    for (const std::string& line : log_) all += line + "\n";
    return all;
  }

  static std::string Literal(const std::string& ip, uint16_t port) {
    return "[" + ip + "]:" + std::to_string(port);
  }

  asio::io_context io_;
  std::string dir_;
  FakeDnsServer dns_;
  std::unique_ptr<DnsResolver> resolver_;
  Maillog maillog_;
  std::mutex log_mu_;
  std::vector<std::string> log_;
  int generation_ = 0;
  std::shared_ptr<const tables::Snapshot> snapshot_;
  std::unique_ptr<SmtpDeliveryAgent> agent_;
};

// --- against smtp-sink -----------------------------------------------------

TEST_F(SmtpClientTest, DeliversToSmtpSinkWithDotStuffingAndCrLf) {
  SmtpSink sink("127.0.0.1", {}, dir_ + "/dump");
  ASSERT_NE(sink.port(), 0);
  DeliveryResult r =
      Deliver(Request(Literal("127.0.0.1", sink.port()), {"a@example.test", "b@example.test"}));
  ASSERT_EQ(r.outcomes.size(), 2u);
  for (const RecipientOutcome& o : r.outcomes) {
    EXPECT_EQ(o.status, Status::kSent) << o.text;
    EXPECT_EQ(o.dsn, "2.0.0");
    EXPECT_EQ(o.text, "250 2.0.0 Ok");
    EXPECT_EQ(o.remote_mta, "127.0.0.1");
  }
  EXPECT_EQ(r.relay, "127.0.0.1[127.0.0.1]:" + std::to_string(sink.port()));
  std::vector<std::string> dumps = sink.Dumps(1);
  ASSERT_EQ(dumps.size(), 1u);
  const std::string& d = dumps[0];
  EXPECT_NE(d.find("X-Client-Addr: 127.0.0.1\n"), std::string::npos) << d;
  EXPECT_NE(d.find("X-Helo-Args: client.example\n"), std::string::npos) << d;
  EXPECT_NE(d.find("X-Mail-Args: <sender@client.example>"), std::string::npos) << d;
  EXPECT_NE(d.find("X-Rcpt-Args: <a@example.test> ORCPT=rfc822;a@example.test\n"),
            std::string::npos)
      << d;
  EXPECT_NE(d.find("X-Rcpt-Args: <b@example.test>"), std::string::npos) << d;
  // smtp-sink undoes the dot-stuffing: the content arrives unchanged.
  EXPECT_NE(d.find("\nSubject: test\n\nline one\n.leading dot\n.\nlast line\n"), std::string::npos)
      << d;
}

TEST_F(SmtpClientTest, SmtpSinkHardRcptRejectBounces) {
  SmtpSink sink("127.0.0.1", {"-f", "RCPT"}, dir_ + "/dump");
  ASSERT_NE(sink.port(), 0);
  DeliveryResult r = Deliver(Request(Literal("127.0.0.1", sink.port()), {"a@example.test"}));
  ASSERT_EQ(r.outcomes.size(), 1u);
  const RecipientOutcome& o = r.outcomes[0];
  EXPECT_EQ(o.status, Status::kBounced);
  EXPECT_EQ(o.dsn, "5.3.0");
  EXPECT_EQ(o.text,
            "host 127.0.0.1[127.0.0.1] said: 500 5.3.0 Error: command failed "
            "(in reply to RCPT TO command)");
  EXPECT_EQ(o.diagnostic, "smtp; 500 5.3.0 Error: command failed");
  EXPECT_EQ(o.remote_mta, "127.0.0.1");
}

TEST_F(SmtpClientTest, SmtpSinkSoftMailRejectDefersEveryRecipient) {
  SmtpSink sink("127.0.0.1", {"-r", "MAIL"}, dir_ + "/dump");
  ASSERT_NE(sink.port(), 0);
  DeliveryResult r =
      Deliver(Request(Literal("127.0.0.1", sink.port()), {"a@example.test", "b@example.test"}));
  ASSERT_EQ(r.outcomes.size(), 2u);
  for (const RecipientOutcome& o : r.outcomes) {
    EXPECT_EQ(o.status, Status::kDeferred);
    EXPECT_EQ(o.dsn, "4.3.0");
    EXPECT_EQ(o.text,
              "host 127.0.0.1[127.0.0.1] said: 450 4.3.0 Error: command failed "
              "(in reply to MAIL FROM command)");
  }
}

TEST_F(SmtpClientTest, SmtpSinkEndOfDataRejectBounces) {
  SmtpSink sink("127.0.0.1", {"-f", "."}, dir_ + "/dump");
  ASSERT_NE(sink.port(), 0);
  DeliveryResult r = Deliver(Request(Literal("127.0.0.1", sink.port()), {"a@example.test"}));
  ASSERT_EQ(r.outcomes.size(), 1u);
  EXPECT_EQ(r.outcomes[0].status, Status::kBounced);
  EXPECT_EQ(r.outcomes[0].text,
            "host 127.0.0.1[127.0.0.1] said: 500 5.3.0 Error: command failed "
            "(in reply to end of DATA command)");
}

TEST_F(SmtpClientTest, SourceAddressComesFromTheRequestOrTheServiceBindAddress) {
  SmtpSink sink("0.0.0.0", {}, dir_ + "/dump");
  ASSERT_NE(sink.port(), 0);
  // Routing's choice.
  DeliveryRequest a = Request(Literal("127.0.0.1", sink.port()), {"a@example.test"});
  a.source = "127.0.0.2";
  EXPECT_EQ(Deliver(a).outcomes[0].status, Status::kSent);
  // The bulk service's -o smtp_bind_address=127.0.0.3.
  DeliveryRequest b = Request(Literal("127.0.0.1", sink.port()), {"b@example.test"});
  b.transport = "bulk";
  b.service = "bulk/unix";
  EXPECT_EQ(Deliver(b).outcomes[0].status, Status::kSent);
  std::vector<std::string> dumps = sink.Dumps(2);
  ASSERT_EQ(dumps.size(), 2u);
  std::map<std::string, std::string> peer_of;
  for (const std::string& d : dumps) {
    size_t at = d.find("X-Rcpt-Args: <");
    ASSERT_NE(at, std::string::npos);
    std::string rcpt = d.substr(at + 14, d.find('>', at) - at - 14);
    peer_of[rcpt] = d.substr(15, d.find('\n') - 15);
  }
  EXPECT_EQ(peer_of["a@example.test"], "127.0.0.2");
  EXPECT_EQ(peer_of["b@example.test"], "127.0.0.3");
  // Different sources never share a cached connection.
  EXPECT_EQ(agent_->connections_opened(), 2u);
}

// --- connection failures and DNS ------------------------------------------

TEST_F(SmtpClientTest, ConnectionRefusedDefersWithPostfixText) {
  uint16_t port = ClosedPort("127.0.0.1");
  DeliveryResult r = Deliver(Request(Literal("127.0.0.1", port), {"a@example.test"}));
  ASSERT_EQ(r.outcomes.size(), 1u);
  EXPECT_EQ(r.outcomes[0].status, Status::kDeferred);
  EXPECT_EQ(r.outcomes[0].dsn, "4.4.1");
  EXPECT_EQ(r.outcomes[0].text,
            "connect to 127.0.0.1[127.0.0.1]:" + std::to_string(port) + ": Connection refused");
  EXPECT_EQ(r.relay, "none");
  EXPECT_TRUE(Logged("smtp[")) << Log();
  // The destination is in trouble, not the message: the queue manager's cue.
  EXPECT_EQ(r.destination_failure, r.outcomes[0].text);
  EXPECT_EQ(r.destination_failure_dsn, "4.4.1");
}

TEST_F(SmtpClientTest, MxHostsAreTriedInPreferenceOrder) {
  ScriptedSmtpServer mx2("127.0.0.2");
  ASSERT_TRUE(mx2.ok());
  uint16_t port = mx2.port();
  dns_.AddMx("example.test", 20, "mx2.example.test");
  dns_.AddMx("example.test", 10, "mx1.example.test");
  dns_.AddA("mx1.example.test", "127.0.0.3");  // nothing listens there
  dns_.AddA("mx2.example.test", "127.0.0.2");
  DeliveryResult r = Deliver(Request("example.test:" + std::to_string(port), {"a@example.test"}));
  ASSERT_EQ(r.outcomes.size(), 1u);
  EXPECT_EQ(r.outcomes[0].status, Status::kSent) << r.outcomes[0].text;
  EXPECT_EQ(r.outcomes[0].text, "250 2.0.0 Ok: queued as 4FAKE1");
  EXPECT_EQ(r.outcomes[0].remote_mta, "mx2.example.test");
  EXPECT_EQ(r.relay, "mx2.example.test[127.0.0.2]:" + std::to_string(port));
  EXPECT_TRUE(Logged("connect to mx1.example.test[127.0.0.3]:" + std::to_string(port) +
                     ": Connection refused"))
      << Log();
  EXPECT_EQ(dns_.Queries("example.test", "MX"), 1);
}

TEST_F(SmtpClientTest, EmptyNexthopMeansTheRecipientDomainAndNoMxMeansItsAddress) {
  ScriptedSmtpServer server("127.0.0.1");
  dns_.AddA("plain.test", "127.0.0.1");
  Configure("smtp_tcp_port = " + std::to_string(server.port()) + "\n");
  DeliveryResult r = Deliver(Request("", {"a@plain.test"}));
  ASSERT_EQ(r.outcomes.size(), 1u);
  EXPECT_EQ(r.outcomes[0].status, Status::kSent) << r.outcomes[0].text;
  EXPECT_EQ(r.relay, "plain.test[127.0.0.1]:" + std::to_string(server.port()));
  EXPECT_EQ(dns_.Queries("plain.test", "MX"), 1);
  EXPECT_EQ(dns_.Queries("plain.test", "A"), 1);
}

TEST_F(SmtpClientTest, BracketedHostSkipsTheMxLookup) {
  ScriptedSmtpServer server("127.0.0.1");
  dns_.AddMx("relay.test", 10, "elsewhere.test");
  dns_.AddA("relay.test", "127.0.0.1");
  DeliveryResult r =
      Deliver(Request("[relay.test]:" + std::to_string(server.port()), {"a@x.test"}));
  EXPECT_EQ(r.outcomes[0].status, Status::kSent) << r.outcomes[0].text;
  EXPECT_EQ(dns_.Queries("relay.test", "MX"), 0);
  EXPECT_EQ(dns_.Queries("elsewhere.test", "A"), 0);
}

TEST_F(SmtpClientTest, UnknownDomainBouncesAndDnsTroubleDefers) {
  dns_.SetFailure("flaky.test", FakeDnsServer::Failure::kServFail);
  dns_.AddMx("nomail.test", 0, "");
  DeliveryResult nx = Deliver(Request("nowhere.test", {"a@nowhere.test"}));
  EXPECT_EQ(nx.outcomes[0].status, Status::kBounced);
  EXPECT_EQ(nx.outcomes[0].dsn, "5.4.4");
  EXPECT_EQ(nx.outcomes[0].text,
            "Host or domain name not found. Name service error for "
            "name=nowhere.test type=A: Host not found");
  DeliveryResult servfail = Deliver(Request("flaky.test", {"a@flaky.test"}));
  EXPECT_EQ(servfail.outcomes[0].status, Status::kDeferred);
  EXPECT_EQ(servfail.outcomes[0].dsn, "4.4.3");
  EXPECT_EQ(servfail.outcomes[0].text,
            "Host or domain name not found. Name service error for "
            "name=flaky.test type=MX: Host not found, try again");
  DeliveryResult nullmx = Deliver(Request("nomail.test", {"a@nomail.test"}));
  EXPECT_EQ(nullmx.outcomes[0].status, Status::kBounced);
  EXPECT_EQ(nullmx.outcomes[0].dsn, "5.1.0");
  EXPECT_EQ(nullmx.outcomes[0].text, "Domain nomail.test does not accept mail (nullMX)");
}

TEST_F(SmtpClientTest, EqualPreferencesAreShuffled) {
  ScriptedSmtpServer first("127.0.0.2");
  ScriptedSmtpServer second("127.0.0.3", first.port());
  ASSERT_TRUE(first.ok() && second.ok());
  dns_.AddMx("twins.test", 10, "a.twins.test");
  dns_.AddMx("twins.test", 10, "b.twins.test");
  dns_.AddA("a.twins.test", "127.0.0.2");
  dns_.AddA("b.twins.test", "127.0.0.3");
  std::set<std::string> relays;
  for (uint64_t seed = 1; seed <= 16; ++seed) {
    Configure("smtp_connection_cache_on_demand = no\n", "", seed);
    DeliveryResult r =
        Deliver(Request("twins.test:" + std::to_string(first.port()), {"a@twins.test"}));
    EXPECT_EQ(r.outcomes[0].status, Status::kSent);
    relays.insert(r.relay.substr(0, r.relay.find('[')));
  }
  EXPECT_EQ(relays, (std::set<std::string>{"a.twins.test", "b.twins.test"}));
}

TEST_F(SmtpClientTest, AddressLimitBoundsTheServersTried) {
  for (int i = 1; i <= 3; ++i) {
    dns_.AddMx("many.test", static_cast<uint16_t>(i * 10), "mx" + std::to_string(i) + ".many.test");
    dns_.AddA("mx" + std::to_string(i) + ".many.test", "127.0.0." + std::to_string(i + 1));
  }
  uint16_t port = ClosedPort("127.0.0.2");
  Configure("smtp_mx_address_limit = 2\n");
  DeliveryResult r = Deliver(Request("many.test:" + std::to_string(port), {"a@many.test"}));
  EXPECT_EQ(r.outcomes[0].status, Status::kDeferred);
  EXPECT_EQ(r.outcomes[0].text,
            "connect to mx2.many.test[127.0.0.3]:" + std::to_string(port) + ": Connection refused");
  EXPECT_TRUE(Logged("connect to mx1.many.test[127.0.0.2]")) << Log();
  EXPECT_FALSE(Logged("mx3.many.test")) << Log();
}

TEST_F(SmtpClientTest, NexthopListIsTriedInOrder) {
  ScriptedSmtpServer server("127.0.0.1");
  uint16_t closed = ClosedPort("127.0.0.1");
  DeliveryResult r = Deliver(Request(
      Literal("127.0.0.1", closed) + ", " + Literal("127.0.0.1", server.port()), {"a@x.test"}));
  EXPECT_EQ(r.outcomes[0].status, Status::kSent) << r.outcomes[0].text;
  EXPECT_EQ(server.connections(), 1);
}

// --- source address ---------------------------------------------------------

TEST_F(SmtpClientTest, ScriptedServerSeesTheChosenSourceAddress) {
  ScriptedSmtpServer server("127.0.0.1");
  for (const char* source : {"127.0.0.2", "127.0.0.3"}) {
    DeliveryRequest req = Request(Literal("127.0.0.1", server.port()), {"a@x.test"});
    req.source = source;
    EXPECT_EQ(Deliver(req).outcomes[0].status, Status::kSent);
  }
  std::vector<ScriptedSmtpServer::Session> sessions = server.sessions();
  ASSERT_EQ(sessions.size(), 2u);
  EXPECT_EQ(sessions[0].peer_ip, "127.0.0.2");
  EXPECT_EQ(sessions[1].peer_ip, "127.0.0.3");
}

TEST_F(SmtpClientTest, UnbindableSourceIsIgnoredUnlessEnforced) {
  ScriptedSmtpServer server("127.0.0.1");
  DeliveryRequest req = Request(Literal("127.0.0.1", server.port()), {"a@x.test"});
  req.source = "192.0.2.77";
  EXPECT_EQ(Deliver(req).outcomes[0].status, Status::kSent);
  EXPECT_TRUE(
      Logged("warning: smtp_connect_addr: bind 192.0.2.77: Cannot assign requested address"))
      << Log();
  EXPECT_EQ(server.sessions()[0].peer_ip, "127.0.0.1");

  Configure("smtp_bind_address_enforce = yes\n");
  req.snapshot = snapshot_;
  DeliveryResult r = Deliver(req);
  EXPECT_EQ(r.outcomes[0].status, Status::kDeferred);
  EXPECT_EQ(r.outcomes[0].dsn, "4.4.0");
  EXPECT_EQ(r.outcomes[0].text, "server configuration error");
  EXPECT_EQ(server.connections(), 1);
}

// --- the SMTP conversation --------------------------------------------------

TEST_F(SmtpClientTest, PipelinesMailRcptAndDataWhenOffered) {
  ScriptedSmtpServer server("127.0.0.1");
  DeliveryResult r =
      Deliver(Request(Literal("127.0.0.1", server.port()), {"a@x.test", "b@x.test"}));
  EXPECT_EQ(r.outcomes[0].status, Status::kSent);
  std::vector<ScriptedSmtpServer::Session> s = server.sessions();
  ASSERT_EQ(s.size(), 1u);
  std::vector<std::string> expected = {
      "EHLO client.example",
      "MAIL FROM:<sender@client.example> SIZE=" + std::to_string(sizeof(kMessage) - 1),
      "RCPT TO:<a@x.test> ORCPT=rfc822;a@x.test", "RCPT TO:<b@x.test> ORCPT=rfc822;b@x.test",
      "DATA"};
  EXPECT_EQ(s[0].commands, expected);
  ASSERT_EQ(s[0].messages.size(), 1u);
  EXPECT_EQ(s[0].messages[0],
            "From: sender@client.example\r\nTo: rcpt@example.test\r\nSubject: test\r\n\r\n"
            "line one\r\n..leading dot\r\n..\r\nlast line\r\n");
}

// The client's DSN request goes on to a next hop that offers DSN; one that
// does not gets plain commands, and the success notice stays ours.
TEST_F(SmtpClientTest, PassesTheDsnRequestOnWhenDsnIsOffered) {
  ScriptedSmtpServer server("127.0.0.1");
  DeliveryRequest req = Request(Literal("127.0.0.1", server.port()), {"a@x.test", "b@x.test"});
  req.flags = kMessageDsnRetHeaders | kMessageSmtputf8;
  req.dsn_envid = "id+1 two";
  req.recipients[0].notify = kDsnNotifySuccess | kDsnNotifyDelay;
  req.recipients[0].orcpt = "rfc822;A=1@x.test";
  req.recipients[1].notify = kDsnNotifyNever;
  server.SetEhloReply("250-scripted.example\n250-PIPELINING\n250-DSN\n250 SMTPUTF8");
  DeliveryResult r = Deliver(req);
  ASSERT_EQ(r.outcomes.size(), 2u);
  std::vector<ScriptedSmtpServer::Session> s = server.sessions();
  ASSERT_EQ(s.size(), 1u);
  std::vector<std::string> expected = {
      "EHLO client.example",
      "MAIL FROM:<sender@client.example> SMTPUTF8 RET=HDRS ENVID=id+2B1+20two",
      "RCPT TO:<a@x.test> NOTIFY=SUCCESS,DELAY ORCPT=rfc822;A+3D1@x.test",
      "RCPT TO:<b@x.test> NOTIFY=NEVER ORCPT=rfc822;b@x.test", "DATA"};
  EXPECT_EQ(s[0].commands, expected);
  for (const RecipientOutcome& o : r.outcomes) {
    EXPECT_EQ(o.status, Status::kSent) << o.text;
    EXPECT_TRUE(o.dsn_passed_on);
  }

  ScriptedSmtpServer plain("127.0.0.1");
  plain.SetEhloReply("250-scripted.example\n250 PIPELINING");
  req.nexthop = Literal("127.0.0.1", plain.port());
  r = Deliver(req);
  ASSERT_EQ(plain.sessions().size(), 1u);
  expected = {"EHLO client.example", "MAIL FROM:<sender@client.example>", "RCPT TO:<a@x.test>",
              "RCPT TO:<b@x.test>", "DATA"};
  EXPECT_EQ(plain.sessions()[0].commands, expected);
  for (const RecipientOutcome& o : r.outcomes) EXPECT_FALSE(o.dsn_passed_on);
}

TEST_F(SmtpClientTest, PerRecipientRepliesDecideEachOutcome) {
  ScriptedSmtpServer server("127.0.0.1");
  server.SetHandler([](const std::string& cmd, int) -> std::optional<std::string> {
    if (cmd.rfind("RCPT TO:<busy@", 0) == 0) return "450 4.2.0 <busy@x.test>: Mailbox busy";
    if (cmd.rfind("RCPT TO:<gone@", 0) == 0) {
      return "550-5.1.1 <gone@x.test>: Recipient address rejected:\n550 5.1.1 User unknown";
    }
    if (cmd.rfind("RCPT TO:<plain@", 0) == 0) return "554 no";
    return std::nullopt;
  });
  DeliveryResult r = Deliver(Request(Literal("127.0.0.1", server.port()),
                                     {"ok@x.test", "busy@x.test", "gone@x.test", "plain@x.test"}));
  ASSERT_EQ(r.outcomes.size(), 4u);
  std::string host = "host 127.0.0.1[127.0.0.1] said: ";
  EXPECT_EQ(r.outcomes[0].status, Status::kSent);
  EXPECT_EQ(r.outcomes[0].text, "250 2.0.0 Ok: queued as 4FAKE1");
  EXPECT_EQ(r.outcomes[1].status, Status::kDeferred);
  EXPECT_EQ(r.outcomes[1].dsn, "4.2.0");
  EXPECT_EQ(r.outcomes[1].text,
            host + "450 4.2.0 <busy@x.test>: Mailbox busy (in reply to RCPT TO command)");
  EXPECT_EQ(r.outcomes[2].status, Status::kBounced);
  EXPECT_EQ(r.outcomes[2].dsn, "5.1.1");
  EXPECT_EQ(r.outcomes[2].text, host +
                                    "550-5.1.1 <gone@x.test>: Recipient address rejected: "
                                    "550 5.1.1 User unknown (in reply to RCPT TO command)");
  EXPECT_EQ(r.outcomes[2].diagnostic,
            "smtp; 550-5.1.1 <gone@x.test>: Recipient address rejected: "
            "550 5.1.1 User unknown");
  EXPECT_EQ(r.outcomes[3].status, Status::kBounced);
  EXPECT_EQ(r.outcomes[3].dsn, "5.0.0");
  EXPECT_EQ(r.destination_failure, "");
}

TEST_F(SmtpClientTest, AllRecipientsRejectedSendsNoMessage) {
  ScriptedSmtpServer server("127.0.0.1");
  server.SetEhloReply("250-scripted.example\n250 8BITMIME");  // no PIPELINING
  server.SetHandler([](const std::string& cmd, int) -> std::optional<std::string> {
    if (cmd.rfind("RCPT", 0) == 0) return "550 5.1.1 unknown";
    return std::nullopt;
  });
  DeliveryResult r = Deliver(Request(Literal("127.0.0.1", server.port()), {"a@x.test"}));
  EXPECT_EQ(r.outcomes[0].status, Status::kBounced);
  std::vector<std::string> cmds = server.sessions()[0].commands;
  EXPECT_EQ(std::count(cmds.begin(), cmds.end(), "DATA"), 0);
  EXPECT_EQ(cmds.back(), "RSET");
  EXPECT_EQ(cmds[1], "MAIL FROM:<sender@client.example>");  // no SIZE offered
}

TEST_F(SmtpClientTest, DataAndEndOfDataRepliesApplyToAllRecipients) {
  ScriptedSmtpServer server("127.0.0.1");
  server.SetHandler([](const std::string& cmd, int session) -> std::optional<std::string> {
    if (cmd == "DATA" && session == 0) return "554 5.5.1 Error: no valid recipients";
    if (cmd == "." && session == 1) return "452 4.3.1 Insufficient system storage";
    if (cmd == "DATA" && session == 2) return "250 2.0.0 what?";
    return std::nullopt;
  });
  Configure("smtp_connection_cache_on_demand = no\n");
  std::string host = "host 127.0.0.1[127.0.0.1] said: ";
  DeliveryResult a =
      Deliver(Request(Literal("127.0.0.1", server.port()), {"a@x.test", "b@x.test"}));
  for (const RecipientOutcome& o : a.outcomes) {
    EXPECT_EQ(o.status, Status::kBounced);
    EXPECT_EQ(o.text, host + "554 5.5.1 Error: no valid recipients (in reply to DATA command)");
  }
  DeliveryResult b =
      Deliver(Request(Literal("127.0.0.1", server.port()), {"a@x.test", "b@x.test"}));
  for (const RecipientOutcome& o : b.outcomes) {
    EXPECT_EQ(o.status, Status::kDeferred);
    EXPECT_EQ(o.text,
              host + "452 4.3.1 Insufficient system storage (in reply to end of DATA command)");
  }
  DeliveryResult c = Deliver(Request(Literal("127.0.0.1", server.port()), {"a@x.test"}));
  EXPECT_EQ(c.outcomes[0].status, Status::kBounced);
  EXPECT_EQ(c.outcomes[0].dsn, "5.5.0");
  EXPECT_EQ(c.outcomes[0].text,
            "Protocol error: " + host + "250 2.0.0 what? (in reply to DATA command)");
}

TEST_F(SmtpClientTest, RejectedEhloFallsBackToHelo) {
  ScriptedSmtpServer server("127.0.0.1");
  server.SetHandler([](const std::string& cmd, int) -> std::optional<std::string> {
    if (cmd.rfind("EHLO", 0) == 0) return "502 5.5.2 Error: command not recognized";
    return std::nullopt;
  });
  DeliveryRequest req = Request(Literal("127.0.0.1", server.port()), {"a@x.test"});
  req.flags = kMessage8BitMime;
  EXPECT_EQ(Deliver(req).outcomes[0].status, Status::kSent);
  std::vector<std::string> cmds = server.sessions()[0].commands;
  ASSERT_GE(cmds.size(), 3u);
  EXPECT_EQ(cmds[0], "EHLO client.example");
  EXPECT_EQ(cmds[1], "HELO client.example");
  EXPECT_EQ(cmds[2], "MAIL FROM:<sender@client.example>");
}

TEST_F(SmtpClientTest, EightBitMailSaysBody8BitMime) {
  ScriptedSmtpServer server("127.0.0.1");
  DeliveryRequest req =
      Request(Literal("127.0.0.1", server.port()), {"a@x.test"}, "Subject: \xc3\xa9\n\nbody\n");
  req.flags = kMessage8BitMime;
  req.sender = "";
  EXPECT_EQ(Deliver(req).outcomes[0].status, Status::kSent);
  EXPECT_EQ(server.sessions()[0].commands[1], "MAIL FROM:<> SIZE=18 BODY=8BITMIME");
}

// The queue manager passes Postfix's size of the message (its record framing
// counted); that, not the text's length, is SIZE= and what the limit sees.
TEST_F(SmtpClientTest, SizeIsTheQueuedMessageSize) {
  ScriptedSmtpServer server("127.0.0.1");
  server.SetEhloReply("250-scripted.example\n250-PIPELINING\n250 SIZE 100");
  DeliveryRequest fits = Request(Literal("127.0.0.1", server.port()), {"a@x.test"},
                                 "Subject: s\n\nbody\n");
  fits.message_size = 100;
  EXPECT_EQ(Deliver(fits).outcomes[0].status, Status::kSent);
  ASSERT_GE(server.sessions().size(), 1u);
  EXPECT_EQ(server.sessions()[0].commands[1], "MAIL FROM:<sender@client.example> SIZE=100");
  DeliveryRequest over = fits;
  over.message_size = 101;
  DeliveryResult r = Deliver(over);
  EXPECT_EQ(r.outcomes[0].status, Status::kBounced);
  EXPECT_EQ(r.outcomes[0].text,
            "message size 101 exceeds size limit 100 of server 127.0.0.1[127.0.0.1]");
}

TEST_F(SmtpClientTest, MessageLargerThanServerSizeBouncesLocally) {
  ScriptedSmtpServer server("127.0.0.1");
  server.SetEhloReply("250-scripted.example\n250-PIPELINING\n250 SIZE 100");
  std::string big = "Subject: big\n\n" + std::string(500, 'x') + "\n";
  DeliveryResult r = Deliver(Request(Literal("127.0.0.1", server.port()), {"a@x.test"}, big));
  EXPECT_EQ(r.outcomes[0].status, Status::kBounced);
  EXPECT_EQ(r.outcomes[0].dsn, "5.3.4");
  EXPECT_EQ(r.outcomes[0].text, "message size " + std::to_string(big.size()) +
                                    " exceeds size limit 100 of server 127.0.0.1[127.0.0.1]");
  EXPECT_EQ(r.outcomes[0].remote_mta, "");
  std::vector<std::string> cmds = server.sessions()[0].commands;
  EXPECT_EQ(std::count_if(cmds.begin(), cmds.end(),
                          [](const std::string& c) { return c.rfind("MAIL", 0) == 0; }),
            0);
}

TEST_F(SmtpClientTest, LongLinesAreFoldedAtTheLineLengthLimit) {
  ScriptedSmtpServer server("127.0.0.1");
  Configure("smtp_line_length_limit = 10\n");
  EXPECT_EQ(
      Deliver(Request(Literal("127.0.0.1", server.port()), {"a@x.test"}, "X: 0123456789abcdef\n"))
          .outcomes[0]
          .status,
      Status::kSent);
  EXPECT_EQ(server.sessions()[0].messages[0], "X: 0123456\r\n 789abcdef\r\n");
  EXPECT_TRUE(Logged("4QTEST1: breaking line > 10 bytes with <CR><LF>SPACE")) << Log();
}

TEST_F(SmtpClientTest, GreetingRejectionMovesToTheNextServerOrDefers) {
  ScriptedSmtpServer rude("127.0.0.2");
  ScriptedSmtpServer good("127.0.0.3", rude.port());
  ASSERT_TRUE(rude.ok() && good.ok());
  rude.SetGreeting("554 5.7.1 go away");
  dns_.AddMx("picky.test", 10, "rude.picky.test");
  dns_.AddMx("picky.test", 20, "good.picky.test");
  dns_.AddA("rude.picky.test", "127.0.0.2");
  dns_.AddA("good.picky.test", "127.0.0.3");
  DeliveryResult r =
      Deliver(Request("picky.test:" + std::to_string(rude.port()), {"a@picky.test"}));
  EXPECT_EQ(r.outcomes[0].status, Status::kSent) << r.outcomes[0].text;
  EXPECT_TRUE(
      Logged("4QTEST1: host rude.picky.test[127.0.0.2] refused to talk to me: 554 5.7.1 go away"))
      << Log();
  ASSERT_TRUE(rude.WaitClosed(1));
  EXPECT_EQ(rude.sessions()[0].commands, (std::vector<std::string>{"QUIT"}));

  // The only server: with smtp_skip_5xx_greeting the 5xx becomes a deferral.
  DeliveryResult only = Deliver(Request(Literal("127.0.0.2", rude.port()), {"a@picky.test"}));
  EXPECT_EQ(only.outcomes[0].status, Status::kDeferred);
  EXPECT_EQ(only.outcomes[0].dsn, "4.7.1");
  EXPECT_EQ(only.outcomes[0].text,
            "host 127.0.0.2[127.0.0.2] refused to talk to me: 554 5.7.1 go away");
}

TEST_F(SmtpClientTest, SoftRecipientFailureOnABackupCandidateTriesTheNextServer) {
  ScriptedSmtpServer first("127.0.0.2");
  ScriptedSmtpServer second("127.0.0.3", first.port());
  ASSERT_TRUE(first.ok() && second.ok());
  first.SetHandler([](const std::string& cmd, int) -> std::optional<std::string> {
    if (cmd.rfind("RCPT", 0) == 0) return "451 4.3.0 try another";
    return std::nullopt;
  });
  dns_.AddMx("backup.test", 10, "one.backup.test");
  dns_.AddMx("backup.test", 20, "two.backup.test");
  dns_.AddA("one.backup.test", "127.0.0.2");
  dns_.AddA("two.backup.test", "127.0.0.3");
  DeliveryResult r =
      Deliver(Request("backup.test:" + std::to_string(first.port()), {"a@backup.test"}));
  EXPECT_EQ(r.outcomes[0].status, Status::kSent) << r.outcomes[0].text;
  EXPECT_EQ(r.relay, "two.backup.test[127.0.0.3]:" + std::to_string(first.port()));
  EXPECT_TRUE(
      Logged("4QTEST1: host one.backup.test[127.0.0.2] said: 451 4.3.0 try another "
             "(in reply to RCPT TO command)"))
      << Log();
}

TEST_F(SmtpClientTest, SilentServerTimesOutWithPostfixText) {
  ScriptedSmtpServer server("127.0.0.1");
  server.SetHandler([](const std::string& cmd, int) -> std::optional<std::string> {
    if (cmd.rfind("EHLO", 0) == 0) return std::string(ScriptedSmtpServer::kNoReply);
    return std::nullopt;
  });
  Configure("smtp_helo_timeout = 1s\n");
  DeliveryResult r = Deliver(Request(Literal("127.0.0.1", server.port()), {"a@x.test"}));
  EXPECT_EQ(r.outcomes[0].status, Status::kDeferred);
  EXPECT_EQ(r.outcomes[0].dsn, "4.4.2");
  EXPECT_EQ(r.outcomes[0].text,
            "conversation with 127.0.0.1[127.0.0.1] timed out while performing the EHLO handshake");
  EXPECT_EQ(r.destination_failure, r.outcomes[0].text);
  EXPECT_EQ(r.destination_failure_dsn, "4.4.2");
}

TEST_F(SmtpClientTest, LostConnectionDefersWithPostfixText) {
  ScriptedSmtpServer server("127.0.0.1");
  server.SetHandler([](const std::string& cmd, int) -> std::optional<std::string> {
    if (cmd.rfind("MAIL", 0) == 0) return std::string(ScriptedSmtpServer::kHangUp);
    return std::nullopt;
  });
  DeliveryResult r = Deliver(Request(Literal("127.0.0.1", server.port()), {"a@x.test"}));
  EXPECT_EQ(r.outcomes[0].status, Status::kDeferred);
  EXPECT_EQ(r.outcomes[0].text,
            "lost connection with 127.0.0.1[127.0.0.1] while sending MAIL FROM");
}

// --- connection reuse -------------------------------------------------------

TEST_F(SmtpClientTest, SecondMessageReusesTheConnectionAfterRset) {
  ScriptedSmtpServer server("127.0.0.1");
  Configure("smtp_connection_cache_time_limit = 60s\n");
  std::string nexthop = Literal("127.0.0.1", server.port());
  DeliveryResult first = Deliver(Request(nexthop, {"a@x.test"}));
  EXPECT_EQ(first.outcomes[0].status, Status::kSent);
  EXPECT_EQ(first.conn_use, 0);
  EXPECT_EQ(agent_->idle_connections(), 1u);
  DeliveryRequest second = Request(nexthop, {"b@x.test"});
  second.queue_id = "4QTEST2";
  DeliveryResult r = Deliver(second);
  EXPECT_EQ(r.outcomes[0].status, Status::kSent);
  EXPECT_EQ(r.conn_use, 2);  // logged "conn_use=2" as Postfix's smtp does
  EXPECT_EQ(server.connections(), 1);
  EXPECT_EQ(agent_->connections_opened(), 1u);
  EXPECT_EQ(agent_->connections_reused(), 1u);
  std::vector<ScriptedSmtpServer::Session> s = server.sessions();
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].messages.size(), 2u);
  std::vector<std::string> expected = {
      "EHLO client.example",
      "MAIL FROM:<sender@client.example> SIZE=" + std::to_string(sizeof(kMessage) - 1),
      "RCPT TO:<a@x.test> ORCPT=rfc822;a@x.test",
      "DATA",
      "RSET",
      "MAIL FROM:<sender@client.example> SIZE=" + std::to_string(sizeof(kMessage) - 1),
      "RCPT TO:<b@x.test> ORCPT=rfc822;b@x.test",
      "DATA"};
  EXPECT_EQ(s[0].commands, expected);
  agent_->CloseIdleConnections();
  EXPECT_EQ(agent_->idle_connections(), 0u);
  EXPECT_TRUE(server.WaitClosed(1));
}

TEST_F(SmtpClientTest, DeadCachedConnectionIsReplacedTransparently) {
  ScriptedSmtpServer server("127.0.0.1");
  server.SetHandler([](const std::string& cmd, int) -> std::optional<std::string> {
    if (cmd == "RSET") return std::string(ScriptedSmtpServer::kHangUp);
    return std::nullopt;
  });
  Configure("smtp_connection_cache_time_limit = 60s\n");
  std::string nexthop = Literal("127.0.0.1", server.port());
  EXPECT_EQ(Deliver(Request(nexthop, {"a@x.test"})).outcomes[0].status, Status::kSent);
  EXPECT_EQ(Deliver(Request(nexthop, {"b@x.test"})).outcomes[0].status, Status::kSent);
  EXPECT_EQ(server.connections(), 2);
  EXPECT_EQ(agent_->connections_reused(), 0u);
}

TEST_F(SmtpClientTest, WithoutCachingTheSessionEndsWithQuit) {
  ScriptedSmtpServer server("127.0.0.1");
  Configure("smtp_connection_cache_on_demand = no\n");
  EXPECT_EQ(Deliver(Request(Literal("127.0.0.1", server.port()), {"a@x.test"})).outcomes[0].status,
            Status::kSent);
  EXPECT_TRUE(server.WaitClosed(1));
  EXPECT_EQ(server.sessions()[0].commands.back(), "QUIT");
  EXPECT_EQ(agent_->idle_connections(), 0u);
}

TEST_F(SmtpClientTest, ReuseCountLimitRetiresTheConnection) {
  ScriptedSmtpServer server("127.0.0.1");
  Configure("smtp_connection_cache_time_limit = 60s\nsmtp_connection_reuse_count_limit = 1\n");
  std::string nexthop = Literal("127.0.0.1", server.port());
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(Deliver(Request(nexthop, {"a@x.test"})).outcomes[0].status, Status::kSent);
  }
  // Used twice (new, then reused once), then a fresh one.
  EXPECT_EQ(server.connections(), 2);
  ASSERT_TRUE(server.WaitClosed(1));
  EXPECT_EQ(server.sessions()[0].commands.back(), "QUIT");
}


// --- STARTTLS ---------------------------------------------------------------

TEST(TlsProtocols, ParsesPostfixProtocolLists) {
  TlsProtocols p;
  std::string error;
  ASSERT_TRUE(ParseTlsProtocols(">=TLSv1", &p, &error));
  EXPECT_EQ(p.min_version, TLS1_VERSION);
  EXPECT_EQ(p.max_version, TLS1_3_VERSION);
  ASSERT_TRUE(ParseTlsProtocols("!SSLv2, !SSLv3", &p, &error));
  EXPECT_EQ(p.min_version, TLS1_VERSION);
  ASSERT_TRUE(ParseTlsProtocols(">=TLSv1.2", &p, &error));
  EXPECT_EQ(p.min_version, TLS1_2_VERSION);
  EXPECT_EQ(p.max_version, TLS1_3_VERSION);
  ASSERT_TRUE(ParseTlsProtocols("<=TLSv1.2", &p, &error));
  EXPECT_EQ(p.max_version, TLS1_2_VERSION);
  ASSERT_TRUE(ParseTlsProtocols("TLSv1.2 TLSv1.3", &p, &error));
  EXPECT_EQ(p.min_version, TLS1_2_VERSION);
  ASSERT_TRUE(ParseTlsProtocols("!TLSv1.1", &p, &error));
  EXPECT_EQ(p.min_version, TLS1_VERSION);
  EXPECT_TRUE(p.exclude_tls1_1);
  EXPECT_FALSE(p.exclude_tls1_2);
  ASSERT_TRUE(ParseTlsProtocols("", &p, &error));
  EXPECT_EQ(p.min_version, TLS1_VERSION);
  EXPECT_FALSE(ParseTlsProtocols(">=TLSv1.4", &p, &error));
  EXPECT_FALSE(ParseTlsProtocols("SSLv3", &p, &error));  // nothing usable left
  EXPECT_FALSE(ParseTlsProtocols("!TLSv1, !TLSv1.1, !TLSv1.2, !TLSv1.3", &p, &error));
}

class SmtpClientTlsTest : public SmtpClientTest {
 protected:
  void SetUp() override {
    SmtpClientTest::SetUp();
    ASSERT_TRUE(ScriptedSmtpServer::MakeSelfSignedCertificate("mx.tls.test", &cert_, &key_));
    std::ofstream(dir_ + "/ca.pem") << cert_;
  }
  std::string cert_, key_;
};

TEST_F(SmtpClientTlsTest, OpportunisticTlsIsUsedWhenOffered) {
  ScriptedSmtpServer server("127.0.0.1");
  ASSERT_TRUE(server.EnableStartTls(cert_, key_));
  Configure("smtp_tls_security_level = may\n");
  DeliveryResult r = Deliver(Request(Literal("127.0.0.1", server.port()), {"a@x.test"}));
  EXPECT_EQ(r.outcomes[0].status, Status::kSent) << r.outcomes[0].text;
  std::vector<ScriptedSmtpServer::Session> s = server.sessions();
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].tls_version, "TLSv1.3");
  ASSERT_GE(s[0].commands.size(), 4u);
  EXPECT_EQ(s[0].commands[0], "EHLO client.example");
  EXPECT_EQ(s[0].commands[1], "STARTTLS");
  EXPECT_EQ(s[0].commands[2], "EHLO client.example");
  EXPECT_EQ(s[0].commands[3].rfind("MAIL FROM:<sender@client.example>", 0), 0u);
  ASSERT_EQ(s[0].messages.size(), 1u);
  EXPECT_NE(s[0].messages[0].find("..leading dot\r\n"), std::string::npos);
  EXPECT_TRUE(Logged("Untrusted TLS connection established to 127.0.0.1[127.0.0.1]:" +
                     std::to_string(server.port()) + ": TLSv1.3 with cipher "))
      << Log();
}

TEST_F(SmtpClientTlsTest, OpportunisticTlsWithoutOfferStaysPlaintext) {
  ScriptedSmtpServer server("127.0.0.1");
  Configure("smtp_tls_security_level = may\n");
  EXPECT_EQ(Deliver(Request(Literal("127.0.0.1", server.port()), {"a@x.test"})).outcomes[0].status,
            Status::kSent);
  std::vector<std::string> cmds = server.sessions()[0].commands;
  EXPECT_EQ(std::count(cmds.begin(), cmds.end(), "STARTTLS"), 0);
  EXPECT_EQ(server.sessions()[0].tls_version, "");
}

TEST_F(SmtpClientTlsTest, MandatoryTlsNeverSendsMailInPlaintext) {
  ScriptedSmtpServer plain("127.0.0.1");
  Configure("smtp_tls_security_level = encrypt\n");
  DeliveryResult r = Deliver(Request(Literal("127.0.0.1", plain.port()), {"a@x.test"}));
  EXPECT_EQ(r.outcomes[0].status, Status::kDeferred);
  EXPECT_EQ(r.outcomes[0].dsn, "4.7.4");
  EXPECT_EQ(r.outcomes[0].text, "TLS is required, but was not offered by host 127.0.0.1[127.0.0.1]");

  ScriptedSmtpServer refusing("127.0.0.1");
  refusing.SetEhloReply("250-scripted.example\n250-PIPELINING\n250 STARTTLS");
  refusing.SetHandler([](const std::string& cmd, int) -> std::optional<std::string> {
    if (cmd == "STARTTLS") return "454 4.7.0 TLS not available due to local problem";
    return std::nullopt;
  });
  r = Deliver(Request(Literal("127.0.0.1", refusing.port()), {"a@x.test"}));
  EXPECT_EQ(r.outcomes[0].status, Status::kDeferred);
  EXPECT_EQ(r.outcomes[0].dsn, "4.7.0");
  EXPECT_EQ(r.outcomes[0].text, "TLS is required, but host 127.0.0.1[127.0.0.1] refused to start TLS: "
                                "454 4.7.0 TLS not available due to local problem");
  for (const auto& session : {plain.sessions(), refusing.sessions()}) {
    for (const std::string& cmd : session[0].commands) EXPECT_NE(cmd.rfind("MAIL", 0), 0u) << cmd;
  }
}

TEST_F(SmtpClientTlsTest, VerifyLevelChecksTrustAndName) {
  ScriptedSmtpServer server("127.0.0.1");
  ASSERT_TRUE(server.EnableStartTls(cert_, key_));
  dns_.AddA("mx.tls.test", "127.0.0.1");
  dns_.AddA("alias.tls.test", "127.0.0.1");
  Configure("smtp_tls_security_level = verify\nsmtp_tls_CAfile = " + dir_ +
            "/ca.pem\nsmtp_tls_servername = hostname\n");
  DeliveryResult r = Deliver(Request("[mx.tls.test]:" + std::to_string(server.port()), {"a@x.test"}));
  EXPECT_EQ(r.outcomes[0].status, Status::kSent) << r.outcomes[0].text;
  EXPECT_TRUE(Logged("Verified TLS connection established to mx.tls.test[127.0.0.1]:" +
                     std::to_string(server.port())))
      << Log();
  EXPECT_EQ(server.sessions()[0].sni, "mx.tls.test");

  // The same server under a name its certificate does not carry.
  r = Deliver(Request("[alias.tls.test]:" + std::to_string(server.port()), {"a@x.test"}));
  EXPECT_EQ(r.outcomes[0].status, Status::kDeferred);
  EXPECT_EQ(r.outcomes[0].dsn, "4.7.5");
  EXPECT_EQ(r.outcomes[0].text, "Server certificate not verified");

  // Without the trust anchor.
  Configure("smtp_tls_security_level = verify\n");
  r = Deliver(Request("[mx.tls.test]:" + std::to_string(server.port()), {"a@x.test"}));
  EXPECT_EQ(r.outcomes[0].status, Status::kDeferred);
  EXPECT_EQ(r.outcomes[0].text, "Server certificate not verified");
}

TEST_F(SmtpClientTlsTest, FailedOpportunisticHandshakeRetriesTheServerInPlaintext) {
  ScriptedSmtpServer server("127.0.0.1");
  server.SetEhloReply("250-scripted.example\n250-PIPELINING\n250 STARTTLS");
  server.SetHandler([](const std::string& cmd, int) -> std::optional<std::string> {
    if (cmd == "STARTTLS") {
      return std::string(ScriptedSmtpServer::kReplyThenHangUp) + "220 2.0.0 Ready to start TLS";
    }
    return std::nullopt;
  });
  Configure("smtp_tls_security_level = may\n");
  DeliveryResult r = Deliver(Request(Literal("127.0.0.1", server.port()), {"a@x.test"}));
  EXPECT_EQ(r.outcomes[0].status, Status::kSent) << r.outcomes[0].text;
  std::vector<ScriptedSmtpServer::Session> s = server.sessions();
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].commands, (std::vector<std::string>{"EHLO client.example", "STARTTLS"}));
  EXPECT_EQ(std::count(s[1].commands.begin(), s[1].commands.end(), "STARTTLS"), 0);
  EXPECT_TRUE(Logged("SSL_connect error to 127.0.0.1[127.0.0.1]:" + std::to_string(server.port()))) << Log();
  EXPECT_TRUE(Logged("4QTEST1: Cannot start TLS: handshake failure")) << Log();
}

TEST_F(SmtpClientTlsTest, ProtocolSettingsLimitTheVersion) {
  ScriptedSmtpServer server("127.0.0.1");
  ASSERT_TRUE(server.EnableStartTls(cert_, key_));
  Configure("smtp_tls_security_level = may\nsmtp_tls_protocols = <=TLSv1.2\n");
  EXPECT_EQ(Deliver(Request(Literal("127.0.0.1", server.port()), {"a@x.test"})).outcomes[0].status,
            Status::kSent);
  EXPECT_EQ(server.sessions()[0].tls_version, "TLSv1.2");
}

TEST_F(SmtpClientTlsTest, UnsupportedLevelDefersInsteadOfWeakening) {
  ScriptedSmtpServer server("127.0.0.1");
  ASSERT_TRUE(server.EnableStartTls(cert_, key_));
  Configure("smtp_tls_security_level = fingerprint\n");
  DeliveryResult r = Deliver(Request(Literal("127.0.0.1", server.port()), {"a@x.test"}));
  EXPECT_EQ(r.outcomes[0].status, Status::kDeferred);
  EXPECT_EQ(r.outcomes[0].dsn, "4.7.0");
  EXPECT_EQ(r.outcomes[0].text, "client TLS configuration problem");
}

}  // namespace
}  // namespace posthaste::runtime
