// bounce_message_test.cc: non-delivery and delay notices against golden
// files (tests/golden/bounce/*.eml, byte for byte), MIME validity checked
// by Python's email package, line wrapping and the 998-byte line limit.
//
// Regenerate the golden files (then review the diff like code):
//   POSTHASTE_UPDATE_GOLDEN=1 ./bounce_message_test
#include "runtime/bounce_message.h"
#include "runtime/mail_date.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "gtest/gtest.h"
#include "tests/runtime/delivery_test_support.h"

namespace posthaste::runtime {
namespace {

using testing::ReadFile;
using testing::TempDir;

constexpr int64_t kArrival = 1772531703000000;  // Tue, 3 Mar 2026 09:55:03 UTC
constexpr int64_t kNow = 1772532903000000;      // 20 minutes later

class BounceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    setenv("TZ", "UTC", 1);
    tzset();
  }
};

const char kOriginal[] =
    "Received: from client.example.org (client.example.org [192.0.2.7])\n"
    "\tby mx.example.com (posthaste) with ESMTP id 4dQ7x2Lm9Kz3;\n"
    "\tTue,  3 Mar 2026 09:55:03 +0000 (UTC)\n"
    "From: Sender <sender@example.org>\n"
    "To: many@example.net, team@mx.example.com\n"
    "Subject: quarterly numbers\n"
    "Message-ID: <abc123@example.org>\n"
    "Date: Tue, 3 Mar 2026 10:55:00 +0100\n"
    "\n"
    "Hello,\n"
    "the numbers are attached.\n";

BounceInput FailureInput() {
  BounceInput in;
  in.kind = BounceInput::Kind::kFailure;
  in.queue_id = "4dQ7x2Lm9Kz3";
  in.sender = "sender@example.org";
  in.myhostname = "mx.example.com";
  in.arrival_micros = kArrival;
  in.now_micros = kNow;
  in.date = "Tue,  3 Mar 2026 10:15:03 +0000 (UTC)";
  in.boundary = "4dQ7x2Lm9Kz3.1772532903/mx.example.com";
  in.notice_queue_id = "4dQ8b1Zx0Pq7";
  BounceRecipient smtp;
  smtp.address = "many@example.net";
  smtp.original = "many@example.net";
  smtp.dsn = "5.1.1";
  smtp.action = "failed";
  smtp.diagnostic =
      "smtp; 550 5.1.1 <many@example.net>: Recipient address rejected: User unknown in virtual "
      "mailbox table";
  smtp.remote_mta = "mx1.example.net";
  smtp.reason =
      "host mx1.example.net[198.51.100.25] said: 550 5.1.1 <many@example.net>: Recipient "
      "address rejected: User unknown in virtual mailbox table (in reply to RCPT TO command)";
  BounceRecipient local;
  local.address = "ghost@mx.example.com";
  local.original = "team@mx.example.com";
  local.dsn = "5.1.1";
  local.action = "failed";
  local.reason = "unknown user: \"ghost\"";
  in.recipients = {smtp, local};
  in.original_message = kOriginal;
  in.maximal_queue_lifetime = absl::Hours(24 * 5);
  return in;
}

BounceInput DelayInput() {
  BounceInput in = FailureInput();
  in.kind = BounceInput::Kind::kDelay;
  in.notice_queue_id = "";
  in.delay_warning_time = absl::Hours(4);
  BounceRecipient r;
  r.address = "slow@example.net";
  r.dsn = "4.4.1";
  r.action = "delayed";
  r.reason = "connect to mx.example.net[203.0.113.9]:25: Connection timed out";
  in.recipients = {r};
  return in;
}

BounceInput HeadersOnlyInput(std::string* storage) {
  BounceInput in = FailureInput();
  in.recipients.resize(1);
  in.eight_bit = true;
  *storage = std::string(kOriginal) + "Grüße,\n" + std::string(2000, 'z') + "\n";
  in.original_message = *storage;
  in.bounce_size_limit = 1000;
  return in;
}

std::string GoldenPath(const std::string& name) {
  return std::string(POSTHASTE_BOUNCE_GOLDEN) + "/" + name;
}

void CheckGolden(const std::string& name, const std::string& actual) {
  const char* update = std::getenv("POSTHASTE_UPDATE_GOLDEN");
  if (update && *update) {
    std::ofstream(GoldenPath(name), std::ios::binary) << actual;
    return;
  }
  std::string expected = ReadFile(GoldenPath(name));
  ASSERT_FALSE(expected.empty()) << GoldenPath(name) << " is missing; run with "
                                 << "POSTHASTE_UPDATE_GOLDEN=1 to create it";
  EXPECT_EQ(actual, expected) << "differs from " << GoldenPath(name);
}

std::string FindPython() {
  const char* path = std::getenv("PATH");
  std::string p = path ? path : "/usr/bin:/bin";
  size_t start = 0;
  while (start <= p.size()) {
    size_t end = p.find(':', start);
    if (end == std::string::npos) end = p.size();
    std::string candidate = p.substr(start, end - start) + "/python3";
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  return "";
}

// Parses the message with Python's email package and checks the report's
// structure; returns "" when all is well, else what is wrong.
const char kMimeCheck[] = R"PY(
import sys, email
from email import policy
data = open(sys.argv[1], 'rb').read()
want_parts = sys.argv[2].split(',')
want_rcpts = int(sys.argv[3])
msg = email.message_from_bytes(data, policy=policy.compat32)
errs = []
if msg.get_content_type() != 'multipart/report':
    errs.append('top type %s' % msg.get_content_type())
if msg.get_param('report-type') != 'delivery-status':
    errs.append('report-type %s' % msg.get_param('report-type'))
for part in msg.walk():
    if part.defects:
        errs.append('defects %r in %s' % (part.defects, part.get_content_type()))
parts = msg.get_payload()
types = [p.get_content_type() for p in parts]
if types != want_parts:
    errs.append('parts %r' % types)
else:
    blocks = parts[1].get_payload()
    if len(blocks) != 1 + want_rcpts:
        errs.append('%d delivery-status blocks' % len(blocks))
    if not str(blocks[0]['Reporting-MTA']).startswith('dns; '):
        errs.append('Reporting-MTA %r' % blocks[0]['Reporting-MTA'])
    for b in blocks[1:]:
        for field in ('Final-Recipient', 'Action', 'Status', 'Diagnostic-Code'):
            if b[field] is None:
                errs.append('missing %s' % field)
    if types[2] == 'message/rfc822':
        inner = parts[2].get_payload()[0]
        if inner['Return-Path'] is None or inner['Subject'] is None:
            errs.append('attached message lacks headers')
if max(len(l) for l in data.split(b'\n')) > 998:
    errs.append('line longer than 998 bytes')
print('; '.join(errs))
)PY";

std::string MimeProblems(const std::string& message, const std::string& parts, int rcpts) {
  std::string python = FindPython();
  if (python.empty()) return "skip";
  TempDir dir;
  testing::WriteFile(dir / "m.eml", message);
  testing::CommandResult r =
      testing::RunCommand({python, "-c", kMimeCheck, dir / "m.eml", parts, std::to_string(rcpts)});
  if (r.exit_code != 0) return "python failed: " + r.err;
  while (!r.out.empty() && r.out.back() == '\n') r.out.pop_back();
  return r.out;
}

TEST_F(BounceTest, FailureNoticeMatchesGolden) {
  std::string m = ComposeDeliveryStatusNotice(FailureInput());
  CheckGolden("failure.eml", m);
  std::string problems = MimeProblems(m, "text/plain,message/delivery-status,message/rfc822", 2);
  if (problems == "skip") GTEST_SKIP() << "python3 not found";
  EXPECT_EQ(problems, "");
}

TEST_F(BounceTest, DelayNoticeMatchesGolden) {
  std::string m = ComposeDeliveryStatusNotice(DelayInput());
  CheckGolden("delay.eml", m);
  EXPECT_NE(m.find("Subject: Delayed Mail (still being retried)\n"), std::string::npos);
  EXPECT_NE(m.find("Action: delayed\nStatus: 4.4.1\n"), std::string::npos);
  EXPECT_NE(m.find("Will-Retry-Until: Sun,  8 Mar 2026 09:55:03 +0000 (UTC)\n"), std::string::npos);
  EXPECT_NE(m.find("more than 4 hour(s)"), std::string::npos);
  EXPECT_NE(m.find("is 5 day(s) old"), std::string::npos);
  std::string problems = MimeProblems(m, "text/plain,message/delivery-status,message/rfc822", 1);
  if (problems == "skip") GTEST_SKIP() << "python3 not found";
  EXPECT_EQ(problems, "");
}

TEST_F(BounceTest, TooBigOriginalSendsHeadersOnly) {
  std::string storage;
  std::string m = ComposeDeliveryStatusNotice(HeadersOnlyInput(&storage));
  CheckGolden("headers-only.eml", m);
  EXPECT_NE(m.find("Content-Description: Undelivered Message Headers\n"
                   "Content-Type: text/rfc822-headers\n"
                   "Content-Transfer-Encoding: 8bit\n"),
            std::string::npos);
  EXPECT_EQ(m.find("zzzz"), std::string::npos);
  EXPECT_EQ(m.find("the numbers are attached"), std::string::npos);
  EXPECT_NE(m.find("Content-Transfer-Encoding: 8bit\nMessage-Id:"), std::string::npos);
  std::string problems =
      MimeProblems(m, "text/plain,message/delivery-status,text/rfc822-headers", 1);
  if (problems == "skip") GTEST_SKIP() << "python3 not found";
  EXPECT_EQ(problems, "");
}

// The DSN fields in the places a live Postfix 3.7.11 puts them (seen in its
// notices for the same requests): Original-Envelope-Id right after
// Reporting-MTA, the ORCPT as given, a success report with the headers.
TEST_F(BounceTest, DsnFieldsAndTheSuccessReport) {
  BounceInput in = FailureInput();
  in.kind = BounceInput::Kind::kSuccess;
  in.dsn_envid = "env+42";
  in.return_headers_only = true;
  in.recipients.resize(1);
  in.recipients[0] = BounceRecipient{"g2@good.example", "", "2.0.0", "delivered", "", "", "good.example"};
  in.recipients[0].orcpt = "rfc822;G2@good.example";
  std::string m = ComposeDeliveryStatusNotice(in);
  EXPECT_NE(m.find("Subject: Successful Mail Delivery Report\n"), std::string::npos);
  EXPECT_NE(m.find("\nReporting-MTA: dns; mx.example.com\nOriginal-Envelope-Id: env+42\n"
                   "X-Posthaste-Queue-ID: 4dQ7x2Lm9Kz3\n"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("\nFinal-Recipient: rfc822; g2@good.example\n"
                   "Original-Recipient: rfc822;G2@good.example\n"
                   "Action: delivered\n"
                   "Status: 2.0.0\n"
                   "Diagnostic-Code: X-Posthaste; good.example\n"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("<g2@good.example>: good.example\n"), std::string::npos);
  EXPECT_NE(m.find("Content-Description: Message Headers\nContent-Type: text/rfc822-headers\n"),
            std::string::npos);
  EXPECT_EQ(m.find("the numbers are attached"), std::string::npos) << "headers only";
}

TEST_F(BounceTest, HeaderFieldsAndDefaults) {
  BounceInput in = FailureInput();
  in.date = "";
  in.boundary = "";
  in.notice_queue_id = "";
  std::string m = ComposeDeliveryStatusNotice(in);
  EXPECT_EQ(m.rfind("Date: Tue,  3 Mar 2026 10:15:03 +0000 (UTC)\n", 0), 0u) << m.substr(0, 200);
  EXPECT_NE(m.find("boundary=\"4dQ7x2Lm9Kz3.1772532903/mx.example.com\""), std::string::npos);
  EXPECT_NE(m.find("Message-Id: <20260303101503.4dQ7x2Lm9Kz3@mx.example.com>\n"),
            std::string::npos);
  // Postfix 3.7's form of the address.
  EXPECT_NE(m.find("From: Mail Delivery System <MAILER-DAEMON@mx.example.com>\n"),
            std::string::npos);
  EXPECT_NE(m.find("To: sender@example.org\nAuto-Submitted: auto-replied\n"), std::string::npos);
  EXPECT_NE(m.find("X-Posthaste-Queue-ID: 4dQ7x2Lm9Kz3\n"
                   "X-Posthaste-Sender: rfc822; sender@example.org\n"
                   "Arrival-Date: Tue,  3 Mar 2026 09:55:03 +0000 (UTC)\n"),
            std::string::npos);
  EXPECT_NE(m.find("<ghost@mx.example.com> (expanded from <team@mx.example.com>): unknown user:"),
            std::string::npos);
  EXPECT_NE(m.find("Diagnostic-Code: X-Posthaste; unknown user: \"ghost\"\n"), std::string::npos);
  EXPECT_NE(m.find("Return-Path: <sender@example.org>\nReceived: from client"), std::string::npos);
  EXPECT_EQ(m.find("Received: by"), std::string::npos);
  EXPECT_NE(m.find("Content-Transfer-Encoding: 7bit\n"), std::string::npos);
}

TEST_F(BounceTest, NullSenderOriginalGivesAPostmasterCopy) {
  BounceInput in = FailureInput();
  in.sender = "";
  in.notify_recipient = "postmaster@mx.example.com";
  std::string m = ComposeDeliveryStatusNotice(in);
  EXPECT_NE(m.find("Subject: Postmaster Copy: Undelivered Mail\n"
                   "To: postmaster@mx.example.com\n"
                   "Auto-Submitted: auto-generated\n"),
            std::string::npos);
  EXPECT_NE(m.find("X-Posthaste-Sender: rfc822; MAILER-DAEMON\n"), std::string::npos);
  in.kind = BounceInput::Kind::kDelay;
  m = ComposeDeliveryStatusNotice(in);
  EXPECT_NE(m.find("Subject: Postmaster Warning: Delayed Mail\n"), std::string::npos);
}

TEST_F(BounceTest, RemoteTextCannotInjectLines) {
  BounceInput in = FailureInput();
  in.recipients[0].reason = "said: 550 bad\nX-Injected: yes";
  in.recipients[0].diagnostic = "smtp; 550 bad\r\nX-Injected: yes";
  std::string m = ComposeDeliveryStatusNotice(in);
  EXPECT_EQ(m.find("\nX-Injected"), std::string::npos);
  EXPECT_NE(m.find("bad??X-Injected"), std::string::npos);
}

TEST_F(BounceTest, LongLinesStayWithin998Bytes) {
  BounceInput in = FailureInput();
  std::string original = "Subject: x\n\n" + std::string(2500, 'a') + "\nshort\n";
  in.original_message = original;
  in.recipients[0].reason = std::string(1500, 'r');
  std::string m = ComposeDeliveryStatusNotice(in);
  size_t longest = 0, start = 0;
  while (start < m.size()) {
    size_t nl = m.find('\n', start);
    longest = std::max(longest, nl - start);
    start = nl + 1;
  }
  EXPECT_LE(longest, 998u);
  // The broken original line continues on lines that start with a space.
  EXPECT_NE(m.find("\n" + std::string(998, 'a') + "\n " + std::string(997, 'a') + "\n " +
                   std::string(505, 'a') + "\nshort\n"),
            std::string::npos);
}

TEST(WrapText, BreaksAtBlanksWithIndent) {
  EXPECT_EQ(WrapText("short line"), "short line\n");
  std::string text =
      "<u@example.net>: host mx.example.net[192.0.2.1] said: 550 5.1.1 User unknown in local "
      "recipient table (in reply to RCPT TO command)";
  // 79 bytes fit on a line; the 80th moves the word down.
  EXPECT_EQ(WrapText(text),
            "<u@example.net>: host mx.example.net[192.0.2.1] said: 550 5.1.1 User unknown in\n"
            "    local recipient table (in reply to RCPT TO command)\n");
  EXPECT_EQ(WrapText("x" + text),
            "x<u@example.net>: host mx.example.net[192.0.2.1] said: 550 5.1.1 User unknown\n"
            "    in local recipient table (in reply to RCPT TO command)\n");
  EXPECT_EQ(WrapText("aaaa bbbb cccc dddd", 10, 2), "aaaa bbbb\n  cccc\n  dddd\n");
  // A word longer than the width stays whole; beyond the hard limit it is cut.
  EXPECT_EQ(WrapText("x " + std::string(12, 'w'), 10, 2), "x\n  wwwwwwwwwwww\n");
  EXPECT_EQ(WrapText(std::string(12, 'w'), 10, 2, 5), "wwwww\nwwwww\nww\n");
}

TEST_F(BounceTest, MailDateUsesThePostfixForm) {
  EXPECT_EQ(FormatMailDate(kArrival), "Tue,  3 Mar 2026 09:55:03 +0000 (UTC)");
  setenv("TZ", "CET-1CEST,M3.5.0,M10.5.0/3", 1);
  tzset();
  EXPECT_EQ(FormatMailDate(kArrival), "Tue,  3 Mar 2026 10:55:03 +0100 (CET)");
  EXPECT_EQ(FormatMailDate(1784000000000000), "Tue, 14 Jul 2026 05:33:20 +0200 (CEST)");
}

}  // namespace
}  // namespace posthaste::runtime
