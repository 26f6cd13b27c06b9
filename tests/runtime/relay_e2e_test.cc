// End-to-end relay tests with real peers: mail goes into the real posthasted
// over SMTP and out to Postfix's smtp-sink, routed by the compiled bundle.
// Sender reputation (each mail class leaves from its own source address),
// the content-filter class, MX lookups through a DNS server on 127.0.0.1,
// bounces and deferrals from the sink's replies, and pflogsumm's view.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <regex>
#include <string>

#include "tests/support/fake_dns_server.h"
#include "tests/support/posthasted_harness.h"
#include "tests/support/run_command.h"
#include "tests/support/smtp_sink.h"

namespace posthaste::testing {
namespace {

std::string Send(int port, const std::string& from, const std::string& to,
                 const std::string& subject) {
  SmtpTestClient c(port);
  c.Reply();
  c.Command("EHLO client.example.com");
  c.Command("MAIL FROM:<" + from + ">");
  std::string r = c.Command("RCPT TO:<" + to + ">");
  if (Code(r) != "250") return r;
  c.Command("DATA");
  c.Send("Subject: " + subject + "\r\nFrom: <" + from + ">\r\n\r\nbody of " + subject + "\r\n");
  r = c.Command(".");
  c.Command("QUIT");
  return r;
}

// The dump whose envelope sender is `from`, or "".
std::string DumpFrom(const std::vector<std::string>& dumps, const std::string& from) {
  for (const std::string& d : dumps)
    if (d.find("X-Mail-Args: <" + from + ">") != std::string::npos) return d;
  return "";
}

std::string Header(const std::string& dump, const std::string& name) {
  std::smatch m;
  std::regex re("(^|\\n)" + name + ": ([^\\r\\n]*)");
  return std::regex_search(dump, m, re) ? m[2].str() : "";
}

std::string WaitForLog(const PosthastedHarness& server, const std::string& text) {
  for (int i = 0; i < 200; ++i) {
    std::string log = server.log();
    if (log.find(text) != std::string::npos) return log;
    usleep(50000);
  }
  return server.log();
}

class RelayE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/relay_e2e_XXXXXX";
    dir_ = mkdtemp(tmpl);
    chmod(dir_.c_str(), 0755);  // smtp-sink writes its dumps as nobody
  }
  void TearDown() override { RunCommand({"/bin/rm", "-rf", dir_}); }
  std::string dir_;
};

TEST_F(RelayE2E, EachMailClassLeavesFromItsOwnSourceAddress) {
  SmtpSink sink("127.0.0.1", {}, dir_ + "/sink");
  SmtpSink filter("127.0.0.1", {}, dir_ + "/filter");
  ASSERT_NE(sink.port(), 0);
  ASSERT_NE(filter.port(), 0);
  PosthastedHarness server;
  HarnessConfig config;
  config.main_cf =
      "myhostname = mx.example.com\nmydomain = example.com\nmydestination = localhost\n"
      "inet_interfaces = 127.0.0.1\nmynetworks = 127.0.0.0/8\n"
      "relayhost = [127.0.0.1]:" + std::to_string(sink.port()) + "\n"
      "sender_dependent_default_transport_maps = inline:{ newsletter@example.com=bulk: }\n"
      "smtpd_sender_restrictions = check_sender_access inline:{ "
      "{promo@example.com=FILTER scan:[127.0.0.1]:" + std::to_string(filter.port()) + "} }\n"
      "header_checks = regexp:{DIR}/header_checks\n";
  config.files["header_checks"] =
      "/^Subject: scan me/ FILTER scan:[127.0.0.1]:" + std::to_string(filter.port()) + "\n";
  config.master_cf =
      "smtp unix - - n - - smtp\n  -o smtp_bind_address=127.0.0.2\n"
      "bulk unix - - n - - smtp\n  -o smtp_bind_address=127.0.0.3\n  -o smtp_helo_name=bulk.example.com\n"
      "scan unix - - n - 10 smtp\n  -o smtp_bind_address=127.0.0.4\n";
  ASSERT_EQ(server.Build(config), "");
  ASSERT_TRUE(server.Start()) << server.log();
  EXPECT_EQ(Code(Send(server.port(), "alice@example.com", "u@dest.example", "ordinary")), "250");
  EXPECT_EQ(Code(Send(server.port(), "newsletter@example.com", "u@dest.example", "bulk")), "250");
  EXPECT_EQ(Code(Send(server.port(), "promo@example.com", "u@dest.example", "promo")), "250");
  EXPECT_EQ(Code(Send(server.port(), "bob@example.com", "u@dest.example", "scan me")), "250");

  std::vector<std::string> dumps = sink.Dumps(2);
  ASSERT_EQ(dumps.size(), 2u) << server.log();
  std::vector<std::string> filtered = filter.Dumps(2);
  ASSERT_EQ(filtered.size(), 2u) << server.log();
  EXPECT_EQ(Header(DumpFrom(dumps, "alice@example.com"), "X-Client-Addr"), "127.0.0.2");
  EXPECT_EQ(Header(DumpFrom(dumps, "newsletter@example.com"), "X-Client-Addr"), "127.0.0.3");
  EXPECT_EQ(Header(DumpFrom(dumps, "newsletter@example.com"), "X-Helo-Args"), "bulk.example.com");
  EXPECT_EQ(Header(DumpFrom(filtered, "promo@example.com"), "X-Client-Addr"), "127.0.0.4");
  EXPECT_EQ(Header(DumpFrom(filtered, "bob@example.com"), "X-Client-Addr"), "127.0.0.4");
  std::string log = WaitForLog(server, "bob@example.com");
  std::regex sent("posthaste/smtp\\[\\d+\\]: [0-9A-F]+: to=<u@dest\\.example>, relay=127\\.0\\.0\\.1\\[127\\.0\\.0\\.1\\]:" +
                  std::to_string(sink.port()) +
                  ", delay=[0-9.]+, delays=[0-9.]+/[0-9.]+/[0-9.]+/[0-9.]+, dsn=2\\.0\\.0, status=sent \\(250 ");
  EXPECT_TRUE(std::regex_search(log, sent)) << log;

  server.Stop();
  CommandResult r = RunCommand({"/usr/sbin/pflogsumm", "--syslog-name=posthaste", server.dir() + "/maillog"});
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.out, m, std::regex("\\n\\s*(\\d+)\\s+delivered"))) << r.out;
  EXPECT_EQ(m[1].str(), "4") << r.out;
  ASSERT_TRUE(std::regex_search(r.out, m, std::regex("\\n\\s*(\\d+)\\s+received"))) << r.out;
  EXPECT_EQ(m[1].str(), "4") << r.out;
}

TEST_F(RelayE2E, MxLookupThroughTheConfiguredDnsServer) {
  FakeDnsServer dns;
  ASSERT_TRUE(dns.ok());
  // The exchanger with the better preference does not answer; the next one is a sink.
  dns.AddMx("dest.example", 10, "mx1.dest.example");
  dns.AddMx("dest.example", 20, "mx2.dest.example");
  dns.AddA("mx1.dest.example", "127.0.0.8");
  dns.AddA("mx2.dest.example", "127.0.0.9");
  SmtpSink sink("127.0.0.9", {}, dir_ + "/sink", 25);
  ASSERT_NE(sink.port(), 0) << "cannot bind 127.0.0.9:25";
  PosthastedHarness server;
  HarnessConfig config;
  config.main_cf =
      "myhostname = mx.example.com\nmydestination = localhost\ninet_interfaces = 127.0.0.1\n"
      "mynetworks = 127.0.0.0/8\nsmtp_connect_timeout = 2s\n";
  config.extra_args = {"--dns-server", dns.address()};
  ASSERT_EQ(server.Build(config), "");
  ASSERT_TRUE(server.Start()) << server.log();
  EXPECT_EQ(Code(Send(server.port(), "alice@example.com", "u@dest.example", "via mx")), "250");
  std::vector<std::string> dumps = sink.Dumps(1, 20);
  ASSERT_EQ(dumps.size(), 1u) << server.log();
  EXPECT_NE(dumps[0].find("Subject: via mx"), std::string::npos);
  EXPECT_GE(dns.Queries("dest.example", "MX"), 1);
  std::string log = WaitForLog(server, "relay=mx2.dest.example[127.0.0.9]:25");
  EXPECT_NE(log.find("relay=mx2.dest.example[127.0.0.9]:25"), std::string::npos) << log;
}

TEST_F(RelayE2E, PermanentRejectBouncesToTheSenderAndTemporaryOneDefers) {
  SmtpSink hard("127.0.0.1", {"-f", "RCPT"}, dir_ + "/hard");
  SmtpSink soft("127.0.0.1", {"-r", "RCPT"}, dir_ + "/soft");
  PosthastedHarness server;
  HarnessConfig config;
  config.main_cf =
      "myhostname = mx.example.com\nmydomain = example.com\nmydestination = localhost\n"
      "inet_interfaces = 127.0.0.1\nmynetworks = 127.0.0.0/8\n"
      "virtual_mailbox_domains = example.com\nvirtual_mailbox_base = {DIR}/mail\n"
      "virtual_mailbox_maps = inline:{ alice@example.com=alice/ }\n"
      // As root the virtual agent writes as the mailbox owner.
      "virtual_uid_maps = static:65534\nvirtual_gid_maps = static:65534\n"
      "transport_maps = inline:{ hard.example=smtp:[127.0.0.1]:" + std::to_string(hard.port()) +
      ", soft.example=smtp:[127.0.0.1]:" + std::to_string(soft.port()) + " }\n";
  ASSERT_EQ(server.Build(config), "");
  RunCommand({"/bin/mkdir", "-p", "-m", "0777", server.dir() + "/mail"});
  chmod(server.dir().c_str(), 0755);
  ASSERT_TRUE(server.Start()) << server.log();
  std::string bounced = Send(server.port(), "alice@example.com", "x@hard.example", "will bounce");
  ASSERT_EQ(Code(bounced), "250");
  std::string id = bounced.substr(bounced.rfind(' ') + 1, bounced.size() - bounced.rfind(' ') - 3);
  EXPECT_EQ(Code(Send(server.port(), "alice@example.com", "y@soft.example", "will wait")), "250");
  // The notice arrives in alice's Maildir.
  std::string notice;
  for (int i = 0; i < 200 && notice.empty(); ++i) {
    CommandResult ls = RunCommand({"/bin/sh", "-c", "cat " + server.dir() + "/mail/alice/new/* 2>/dev/null"});
    notice = ls.out;
    if (notice.empty()) usleep(50000);
  }
  ASSERT_FALSE(notice.empty()) << server.log();
  EXPECT_NE(notice.find("Subject: Undelivered Mail Returned to Sender"), std::string::npos) << notice;
  EXPECT_NE(notice.find("Content-Type: multipart/report; report-type=delivery-status;"), std::string::npos)
      << notice;
  EXPECT_NE(notice.find("Final-Recipient: rfc822; x@hard.example"), std::string::npos) << notice;
  EXPECT_NE(notice.find("Action: failed"), std::string::npos) << notice;
  EXPECT_NE(notice.find("Subject: will bounce"), std::string::npos) << notice;
  std::string log = WaitForLog(server, "status=deferred");
  EXPECT_NE(log.find(id + ": to=<x@hard.example>"), std::string::npos) << log;
  EXPECT_NE(log.find("status=bounced (host 127.0.0.1[127.0.0.1] said: 5"), std::string::npos) << log;
  EXPECT_NE(log.find(id + ": sender non-delivery notification: "), std::string::npos) << log;
  EXPECT_NE(log.find("to=<y@soft.example>"), std::string::npos) << log;
  EXPECT_NE(log.find("status=deferred (host 127.0.0.1[127.0.0.1] said: 4"), std::string::npos) << log;
  std::string queue = server.Phctl({"queue"});
  EXPECT_NE(queue.find("y@soft.example"), std::string::npos) << queue;
  EXPECT_EQ(queue.find("x@hard.example"), std::string::npos) << queue;
}

}  // namespace
}  // namespace posthaste::testing
