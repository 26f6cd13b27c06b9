// The real pflogsumm (Debian package) summarizes posthasted's log: received,
// rejected, held and discarded messages are counted as Postfix's would be.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>

#include "tests/support/posthasted_harness.h"
#include "tests/support/run_command.h"

namespace posthaste::testing {
namespace {

// The number pflogsumm prints before `label` in its Grand Totals.
int Total(const std::string& report, const std::string& label) {
  std::smatch m;
  std::regex re("\\n\\s*(\\d+)k?\\s+" + label + "\\b");
  return std::regex_search(report, m, re) ? std::stoi(m[1].str()) : -1;
}

std::string Transaction(int port, const std::string& rcpt, const std::string& subject) {
  SmtpTestClient c(port);
  c.Reply();
  c.Command("EHLO client.example.com");
  c.Command("MAIL FROM:<sender@example.com>");
  std::string r = c.Command("RCPT TO:<" + rcpt + ">");
  if (Code(r) != "250") {
    c.Command("QUIT");
    return r;
  }
  c.Command("DATA");
  c.Send("Subject: " + subject + "\r\n\r\nbody\r\n");
  r = c.Command(".");
  c.Command("QUIT");
  return r;
}

TEST(Pflogsumm, CountsWhatPosthastedLogs) {
  PosthastedHarness server;
  HarnessConfig config;
  config.main_cf =
      "myhostname = mx.example.com\nmydestination = localhost\ninet_interfaces = 127.0.0.1\n"
      "mynetworks = 10.0.0.0/8\nrelay_domains = relay.example\n"
      "smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination\n"
      "header_checks = regexp:{DIR}/header_checks\n";
  config.files["header_checks"] =
      "/^Subject: spam/ REJECT no spam\n/^Subject: held/ HOLD\n/^Subject: junk/ DISCARD\n";
  ASSERT_EQ(server.Build(config), "");
  ASSERT_TRUE(server.Start()) << server.log();
  int port = server.port();
  for (int i = 0; i < 3; ++i) EXPECT_EQ(Code(Transaction(port, "a@relay.example", "fine")), "250");
  EXPECT_EQ(Code(Transaction(port, "a@relay.example", "spam")), "550");
  EXPECT_EQ(Code(Transaction(port, "a@elsewhere.example", "fine")), "554");
  EXPECT_EQ(Code(Transaction(port, "a@elsewhere.example", "fine")), "554");
  EXPECT_EQ(Code(Transaction(port, "a@relay.example", "held")), "250");
  EXPECT_EQ(Code(Transaction(port, "a@relay.example", "junk")), "250");
  server.Stop();
  std::string log_path = server.dir() + "/maillog";
  CommandResult r = RunCommand({"/usr/sbin/pflogsumm", "--syslog-name=posthaste", log_path});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // Postfix counts a message as received at "ID: client=": 3 fine, the
  // header-rejected one, the held and the discarded one.
  EXPECT_EQ(Total(r.out, "received"), 6) << r.out;
  // Two relay refusals and one header_checks REJECT.
  EXPECT_EQ(Total(r.out, "rejected"), 3) << r.out;
  EXPECT_EQ(Total(r.out, "held"), 1) << r.out;
  EXPECT_EQ(Total(r.out, "discarded"), 1) << r.out;
  EXPECT_NE(r.out.find("Relay access denied"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Subject: spam"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace posthaste::testing
