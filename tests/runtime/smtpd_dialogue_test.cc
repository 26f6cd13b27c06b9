// Dialogue tests: the real posthasted on 127.0.0.1 (port 0), real clients
// (our exact-reply client, swaks, Python's smtplib, Postfix's smtp-source),
// checked through replies, the queue (phctl) and the log.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <regex>
#include <string>
#include <thread>

#include "runtime/dsn.h"
#include "runtime/queue_store.h"
#include "tests/support/fake_dns_server.h"
#include "tests/support/posthasted_harness.h"
#include "tests/support/run_command.h"

namespace posthaste::testing {
namespace {

const char kBaseMain[] =
    "myhostname = mx.example.com\n"
    "mydomain = example.com\n"
    "mydestination = $myhostname, localhost\n"
    "inet_interfaces = 127.0.0.1\n"
    "mynetworks = 127.0.0.0/8\n"
    "relay_domains = relay.example\n"
    "smtpd_banner = $myhostname ESMTP test\n"
    // Queued mail stays queued (deferred) so the tests can look at it.
    "defer_transports = smtp, relay\n";

class Dialogue : public ::testing::Test {
 protected:
  void Boot(const std::string& extra_main, std::map<std::string, std::string> files = {},
            const std::string& master = "") {
    HarnessConfig c;
    c.main_cf = std::string(kBaseMain) + extra_main;
    c.files = std::move(files);
    c.master_cf = master;
    std::string err = server_.Build(c);
    ASSERT_EQ(err, "");
    ASSERT_TRUE(server_.Start()) << server_.log();
    ASSERT_NE(server_.port(), 0) << server_.log();
  }
  // A complete transaction; returns the DATA reply.
  std::string Send(const std::string& from, const std::vector<std::string>& to,
                   const std::string& body, std::vector<std::string>* rcpt_replies = nullptr) {
    SmtpTestClient c(server_.port());
    EXPECT_TRUE(c.connected());
    EXPECT_EQ(Code(c.Reply()), "220");
    EXPECT_EQ(Code(c.Command("EHLO client.example.com")), "250");
    EXPECT_EQ(Code(c.Command("MAIL FROM:<" + from + ">")), "250");
    for (const std::string& r : to) {
      std::string reply = c.Command("RCPT TO:<" + r + ">");
      if (rcpt_replies) rcpt_replies->push_back(reply);
    }
    std::string data = c.Command("DATA");
    if (Code(data) != "354") return data;
    c.Send(body);
    std::string reply = c.Command(".");
    c.Command("QUIT");
    return reply;
  }
  std::string QueueJson() { return server_.Phctl({"queue", "--json"}); }
  static std::string IdOf(const std::string& reply) {
    std::smatch m;
    std::regex re("queued as ([0-9A-Za-z]+)");
    return std::regex_search(reply, m, re) ? m[1].str() : "";
  }
  PosthastedHarness server_;
};

TEST_F(Dialogue, AcceptsAndQueuesAMessageDurably) {
  Boot("");
  SmtpTestClient c(server_.port());
  std::string banner = c.Reply();
  EXPECT_EQ(banner, "220 mx.example.com ESMTP test\r\n");
  std::string ehlo = c.Command("EHLO client.example.com");
  EXPECT_EQ(ehlo,
            "250-mx.example.com\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-VRFY\r\n"
            "250-ETRN\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250-DSN\r\n250-SMTPUTF8\r\n"
            "250 CHUNKING\r\n");
  EXPECT_EQ(c.Command("MAIL FROM:<alice@example.com> SIZE=100 BODY=8BITMIME"), "250 2.1.0 Ok\r\n");
  EXPECT_EQ(c.Command("RCPT TO:<bob@relay.example>"), "250 2.1.5 Ok\r\n");
  EXPECT_EQ(c.Command("DATA"), "354 End data with <CR><LF>.<CR><LF>\r\n");
  c.Send("Subject: hello\r\n\r\nline one\r\n..dot line\r\n");
  std::string reply = c.Command(".");
  EXPECT_EQ(Code(reply), "250");
  std::string id = IdOf(reply);
  ASSERT_NE(id, "");
  EXPECT_EQ(c.Command("QUIT"), "221 2.0.0 Bye\r\n");
  std::string q = QueueJson();
  EXPECT_NE(q.find("\"queue_id\": \"" + id + "\""), std::string::npos) << q;
  EXPECT_NE(q.find("\"sender\": \"alice@example.com\""), std::string::npos) << q;
  EXPECT_NE(q.find("bob@relay.example"), std::string::npos) << q;
  std::string content = server_.Phctl({"show", id});
  EXPECT_NE(content.find("Received: from client.example.com (localhost [127.0.0.1])\n\tby "
                         "mx.example.com (Postfix) with ESMTP id " +
                         id),
            std::string::npos)
      << content;
  EXPECT_NE(content.find("\nline one\n.dot line\n"), std::string::npos) << content;
  // Local rewrite context (client on inet_interfaces): missing headers added.
  EXPECT_NE(content.find("Message-Id: <"), std::string::npos) << content;
  EXPECT_NE(content.find("\nDate: "), std::string::npos) << content;
  EXPECT_NE(content.find("\nFrom: alice@example.com\n"), std::string::npos) << content;
  std::string log = server_.log();
  EXPECT_NE(log.find("posthaste/smtpd["), std::string::npos) << log;
  EXPECT_NE(log.find("connect from localhost[127.0.0.1]"), std::string::npos) << log;
  EXPECT_NE(log.find(id + ": client=localhost[127.0.0.1]"), std::string::npos) << log;
  EXPECT_NE(log.find("posthaste/cleanup["), std::string::npos) << log;
  EXPECT_NE(log.find(id + ": message-id=<"), std::string::npos) << log;
  EXPECT_NE(
      log.find(
          "disconnect from localhost[127.0.0.1] ehlo=1 mail=1 rcpt=1 data=1 quit=1 commands=5"),
      std::string::npos)
      << log;
}

TEST_F(Dialogue, PipelinedCommandsGetTheirRepliesInOrder) {
  Boot("");
  SmtpTestClient c(server_.port());
  c.Reply();
  c.Send(
      "EHLO a.example\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<b@relay.example>\r\n"
      "RCPT TO:<c@relay.example>\r\nDATA\r\n");
  EXPECT_EQ(Code(c.Reply()), "250");
  EXPECT_EQ(c.Reply(), "250 2.1.0 Ok\r\n");
  EXPECT_EQ(c.Reply(), "250 2.1.5 Ok\r\n");
  EXPECT_EQ(c.Reply(), "250 2.1.5 Ok\r\n");
  EXPECT_EQ(Code(c.Reply()), "354");
  c.Send("Subject: x\r\n\r\nbody\r\n.\r\nQUIT\r\n");
  EXPECT_EQ(Code(c.Reply()), "250");
  EXPECT_EQ(c.Reply(), "221 2.0.0 Bye\r\n");
}

TEST_F(Dialogue, DiscardedEhloKeywordsAreNeitherShownNorAccepted) {
  Boot("smtpd_discard_ehlo_keywords = DSN, smtputf8, vrfy, etrn, chunking\n");
  SmtpTestClient c(server_.port());
  c.Reply();
  EXPECT_EQ(c.Command("EHLO client.example.com"),
            "250-mx.example.com\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n"
            "250-ENHANCEDSTATUSCODES\r\n250 8BITMIME\r\n");
  EXPECT_EQ(c.Command("MAIL FROM:<a@example.com> RET=HDRS"),
            "555 5.5.4 Unsupported option: RET=HDRS\r\n");
  EXPECT_EQ(c.Command("MAIL FROM:<a@example.com>"), "250 2.1.0 Ok\r\n");
  EXPECT_EQ(c.Command("RCPT TO:<b@relay.example> NOTIFY=NEVER"),
            "555 5.5.4 Unsupported option: NOTIFY=NEVER\r\n");
}

TEST_F(Dialogue, DsnParametersAreQueuedWithTheMessage) {
  using namespace posthaste::runtime;
  Boot("");
  SmtpTestClient c(server_.port());
  c.Reply();
  c.Command("EHLO client.example.com");
  EXPECT_EQ(c.Command("MAIL FROM:<a@example.com> RET=HDRS ENVID=env+2B1 SMTPUTF8"),
            "250 2.1.0 Ok\r\n");
  EXPECT_EQ(c.Command("RCPT TO:<b@relay.example> NOTIFY=SUCCESS,DELAY ORCPT=rfc822;B+40x"),
            "250 2.1.5 Ok\r\n");
  EXPECT_EQ(c.Command("RCPT TO:<c@relay.example>"), "250 2.1.5 Ok\r\n");
  EXPECT_EQ(c.Command("DATA"), "354 End data with <CR><LF>.<CR><LF>\r\n");
  std::string reply = c.Command("Subject: dsn\r\n\r\nbody\r\n.");
  ASSERT_EQ(reply.substr(0, 4), "250 ") << reply;
  server_.Stop();
  QueueStoreOptions options;
  options.directory = server_.queue_dir() + "/queue";
  RecoveryReport report;
  auto store = QueueStore::Open(options, &report);
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_TRUE(report.problems.empty()) << report.problems[0];
  std::vector<QueuedMessage> queued = (*store)->List();
  ASSERT_EQ(queued.size(), 1u);
  const MessageMeta& m = queued[0].meta;
  EXPECT_EQ(m.dsn_envid, "env+1");
  EXPECT_EQ(m.flags & (kMessageDsnRetHeaders | kMessageSmtputf8),
            kMessageDsnRetHeaders | kMessageSmtputf8);
  ASSERT_EQ(m.recipients.size(), 2u);
  EXPECT_EQ(m.recipients[0].notify, kDsnNotifySuccess | kDsnNotifyDelay);
  EXPECT_EQ(m.recipients[0].orcpt, "rfc822;B@x");
  EXPECT_EQ(m.recipients[1].notify, 0);
  EXPECT_EQ(m.recipients[1].orcpt, "");
}

// ETRN as a live Postfix 3.7.11 answered the same commands (fast_flush_domains
// defaults to $relay_domains); a flushed site's deferred mail is tried again.
TEST_F(Dialogue, EtrnRepliesAndFlushesTheSite) {
  Boot("smtpd_etrn_restrictions = check_etrn_access texthash:{DIR}/etrn, permit\n",
       {{"etrn", "blocked.relay.example REJECT not you\n"}});
  ASSERT_EQ(Send("a@example.com", {"x@relay.example"}, "Subject: t\r\n\r\nx\r\n").substr(0, 4),
            "250 ");
  auto attempts = [&] {
    std::string log = server_.log();
    size_t n = 0;
    for (size_t at = log.find("to=<x@relay.example>"); at != std::string::npos;
         at = log.find("to=<x@relay.example>", at + 1))
      ++n;
    return n;
  };
  for (int i = 0; i < 200 && attempts() == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_EQ(attempts(), 1u) << server_.log();
  // Deferred once its state is on disk (an active message is not flushed).
  for (int i = 0; i < 200 && server_.Phctl({"status"}).find("active=0 deferred=1") == std::string::npos;
       ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));

  SmtpTestClient c(server_.port());
  c.Reply();
  EXPECT_NE(c.Command("EHLO client.example.com").find("\r\n250-ETRN\r\n"), std::string::npos);
  EXPECT_EQ(c.Command("ETRN"), "500 Syntax: ETRN domain\r\n");
  EXPECT_EQ(c.Command("ETRN a b"), "500 Syntax: ETRN domain\r\n");
  EXPECT_EQ(c.Command("ETRN .relay.example"), "501 Error: invalid parameter syntax\r\n");
  EXPECT_EQ(c.Command("ETRN other.example"), "459 <other.example>: service unavailable\r\n");
  EXPECT_EQ(c.Command("ETRN blocked.relay.example"),
            "554 5.7.1 <blocked.relay.example>: Etrn command rejected: not you\r\n");
  EXPECT_EQ(c.Command("MAIL FROM:<a@example.com>"), "250 2.1.0 Ok\r\n");
  EXPECT_EQ(c.Command("ETRN relay.example"), "503 Error: MAIL transaction in progress\r\n");
  EXPECT_EQ(c.Command("RSET"), "250 2.0.0 Ok\r\n");
  EXPECT_EQ(c.Command("ETRN #relay.example"), "250 Queuing started\r\n");
  // The deferred message was tried again at once (and deferred again:
  // defer_transports still holds it).
  for (int i = 0; i < 200 && attempts() < 2; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(attempts(), 2u) << server_.log();
}

// CHUNKING with the replies a live Postfix 3.7.11 gave to the same
// commands, and the message queued as DATA would queue it.
TEST_F(Dialogue, BdatChunksAndTheirErrors) {
  Boot("");
  SmtpTestClient c(server_.port());
  c.Reply();
  c.Command("EHLO client.example.com");
  auto bdat = [&](const std::string& command, const std::string& chunk) {
    c.Send(command + "\r\n" + chunk);
    return c.Reply();
  };
  EXPECT_EQ(c.Command("MAIL FROM:<a@example.com>"), "250 2.1.0 Ok\r\n");
  EXPECT_EQ(c.Command("RCPT TO:<b@relay.example>"), "250 2.1.5 Ok\r\n");
  EXPECT_EQ(bdat("BDAT 10", "Subject: x"), "250 2.0.0 Ok: 10 bytes\r\n");
  EXPECT_EQ(bdat("BDAT 13", "\r\n\r\nbody\r\n..x"), "250 2.0.0 Ok: 13 bytes\r\n");
  std::string last = bdat("BDAT 2 LAST", "\r\n");
  // Counted as for DATA: two bytes per line ("Subject: x", "", "body", "..x").
  EXPECT_EQ(last.rfind("250 2.0.0 Ok: 25 bytes queued as ", 0), 0u) << last;
  std::string id = last.substr(33, last.size() - 35);
  std::string content = server_.Phctl({"show", id});
  // No dot-unstuffing in chunks; cleanup adds the missing headers as for DATA.
  EXPECT_NE(content.find("\nSubject: x\n"), std::string::npos) << content;
  EXPECT_NE(content.find("\n\nbody\n..x\n"), std::string::npos) << content;

  // No transaction: the chunk is read and dropped, and so is the rest of the
  // transfer up to its LAST chunk.
  EXPECT_EQ(bdat("BDAT 3", "abc"), "503 5.5.1 Error: need RCPT command\r\n");
  EXPECT_EQ(c.Command("MAIL FROM:<a@example.com>"), "503 5.5.1 Error: MAIL after BDAT\r\n");
  EXPECT_EQ(c.Command("DATA"), "503 5.5.1 Error: DATA after BDAT\r\n");
  EXPECT_EQ(bdat("BDAT 2 LAST", "xy"),
            "551 5.0.0 Discarded 2 bytes after earlier error\r\n");
  // A transaction without recipients.
  EXPECT_EQ(c.Command("MAIL FROM:<a@example.com>"), "250 2.1.0 Ok\r\n");
  EXPECT_EQ(bdat("BDAT 3", "abc"), "554 5.5.1 Error: no valid recipients\r\n");
  EXPECT_EQ(c.Command("RCPT TO:<b@relay.example>"), "503 5.5.1 Error: RCPT after BDAT\r\n");
  EXPECT_EQ(c.Command("RSET"), "250 2.0.0 Ok\r\n");
  // DATA and RCPT in the middle of a transfer.
  EXPECT_EQ(c.Command("MAIL FROM:<a@example.com>"), "250 2.1.0 Ok\r\n");
  EXPECT_EQ(c.Command("RCPT TO:<b@relay.example>"), "250 2.1.5 Ok\r\n");
  EXPECT_EQ(bdat("BDAT 4", "ab\r\n"), "250 2.0.0 Ok: 4 bytes\r\n");
  EXPECT_EQ(c.Command("DATA"), "503 5.5.1 Error: DATA after BDAT\r\n");
  EXPECT_EQ(c.Command("RCPT TO:<c@relay.example>"), "503 5.5.1 Error: RCPT after BDAT\r\n");
  EXPECT_EQ(c.Command("RSET"), "250 2.0.0 Ok\r\n");
  // A malformed BDAT cannot be skipped: 521 and the server hangs up.
  EXPECT_EQ(c.Command("BDAT abc"), "521 5.5.4 Syntax: BDAT count [LAST]\r\n");
  EXPECT_EQ(c.Reply(), "");
}

// Postfix 3.7.11 checks the session state before the syntax of MAIL/RCPT.
TEST_F(Dialogue, StateIsCheckedBeforeSyntax) {
  Boot("");
  SmtpTestClient c(server_.port());
  c.Reply();
  c.Command("EHLO client.example.com");
  EXPECT_EQ(c.Command("RCPT TO:"), "503 5.5.1 Error: need MAIL command\r\n");
  EXPECT_EQ(c.Command("MAIL FROM:<a@example.com>"), "250 2.1.0 Ok\r\n");
  EXPECT_EQ(c.Command("MAIL FROM:<a@example.com> FOO=bar"),
            "503 5.5.1 Error: nested MAIL command\r\n");
  EXPECT_EQ(c.Command("MAIL"), "503 5.5.1 Error: nested MAIL command\r\n");
  EXPECT_EQ(c.Command("RCPT TO:"), "501 5.5.4 Syntax: RCPT TO:<address>\r\n");
}

TEST_F(Dialogue, SequencingAndSyntaxErrors) {
  Boot("smtpd_helo_required = yes\nalias_maps =\n");
  SmtpTestClient c(server_.port());
  c.Reply();
  EXPECT_EQ(c.Command("MAIL FROM:<a@example.com>"), "503 5.5.1 Error: send HELO/EHLO first\r\n");
  EXPECT_EQ(c.Command("HELO a.example"), "250 mx.example.com\r\n");
  EXPECT_EQ(c.Command("RCPT TO:<b@relay.example>"), "503 5.5.1 Error: need MAIL command\r\n");
  // Postfix 3.7.11's replies: DATA outside a transaction asks for RCPT, in
  // a transaction without accepted recipients there are none valid.
  EXPECT_EQ(c.Command("DATA"), "503 5.5.1 Error: need RCPT command\r\n");
  EXPECT_EQ(c.Command("MAIL FROM:<a@example.com>"), "250 2.1.0 Ok\r\n");
  EXPECT_EQ(c.Command("MAIL FROM:<a@example.com>"), "503 5.5.1 Error: nested MAIL command\r\n");
  EXPECT_EQ(c.Command("DATA"), "554 5.5.1 Error: no valid recipients\r\n");
  EXPECT_EQ(c.Command("RSET"), "250 2.0.0 Ok\r\n");
  EXPECT_EQ(c.Command("NOOP"), "250 2.0.0 Ok\r\n");
  EXPECT_EQ(c.Command("FOO"), "500 5.5.2 Error: command not recognized\r\n");
  EXPECT_EQ(c.Command("MAIL FROM:"), "501 5.5.4 Syntax: MAIL FROM:<address>\r\n");
  EXPECT_EQ(c.Command("VRFY root"), "252 2.0.0 root\r\n");
  EXPECT_EQ(c.Command("VRFY nosuchuser"),
            "550 5.1.1 <nosuchuser>: Recipient address rejected: User unknown in local recipient table\r\n");
}

TEST_F(Dialogue, DefaultAliasMapsUseTheHostAliasesAndUnknownLocalUsersGet550) {
  // alias_maps left at its default (hash:/etc/aliases, nis:mail.aliases):
  // phc build bundles /etc/aliases, NIS finds nothing, so the aliases and
  // the passwd file decide, and an unknown local user is a hard 550.
  // Debian's postfix package (installed by tools/setup.sh) creates
  // /etc/aliases with a postmaster entry.
  if (access("/etc/aliases", R_OK) != 0) GTEST_SKIP() << "no /etc/aliases on this host";
  Boot("");
  SmtpTestClient c(server_.port());
  c.Reply();
  EXPECT_EQ(Code(c.Command("EHLO client.example")), "250");
  EXPECT_EQ(Code(c.Command("MAIL FROM:<a@example.com>")), "250");
  EXPECT_EQ(c.Command("RCPT TO:<postmaster@mx.example.com>"), "250 2.1.5 Ok\r\n");
  EXPECT_EQ(c.Command("RCPT TO:<root@localhost>"), "250 2.1.5 Ok\r\n");
  EXPECT_EQ(c.Command("RCPT TO:<nosuchuser@mx.example.com>"),
            "550 5.1.1 <nosuchuser@mx.example.com>: Recipient address rejected: User unknown in "
            "local recipient table\r\n");
}

TEST_F(Dialogue, VrfyCanBeDisabled) {
  Boot("disable_vrfy_command = yes\n");
  SmtpTestClient c(server_.port());
  c.Reply();
  std::string ehlo = c.Command("EHLO a.example");
  EXPECT_EQ(ehlo.find("VRFY"), std::string::npos) << ehlo;
  EXPECT_EQ(c.Command("VRFY bob"), "502 5.5.1 VRFY command is disabled\r\n");
}

TEST_F(Dialogue, SizeLimitAtMailAndAtEndOfData) {
  Boot("message_size_limit = 1000\n");
  SmtpTestClient c(server_.port());
  c.Reply();
  EXPECT_NE(c.Command("EHLO a.example").find("250-SIZE 1000\r\n"), std::string::npos);
  EXPECT_EQ(c.Command("MAIL FROM:<a@example.com> SIZE=5000"),
            "552 5.3.4 Message size exceeds fixed limit\r\n");
  // As in a live Postfix 3.7.11, the refused SIZE= stays until RSET.
  EXPECT_EQ(c.Command("MAIL FROM:<a@example.com>"),
            "552 5.3.4 Message size exceeds fixed limit\r\n");
  EXPECT_EQ(c.Command("RSET"), "250 2.0.0 Ok\r\n");
  EXPECT_EQ(Code(c.Command("MAIL FROM:<a@example.com>")), "250");
  EXPECT_EQ(Code(c.Command("RCPT TO:<b@relay.example>")), "250");
  EXPECT_EQ(Code(c.Command("DATA")), "354");
  c.Send("Subject: big\r\n\r\n" + std::string(3000, 'x') + "\r\n");
  // Postfix 3.7.11's reply at the end of DATA (cleanup's), not smtpd's.
  EXPECT_EQ(c.Command("."), "552 5.3.4 Error: message file too big\r\n");
  EXPECT_EQ(c.Command("QUIT"), "221 2.0.0 Bye\r\n");
  EXPECT_NE(QueueJson(), "ERROR");
  EXPECT_EQ(QueueJson(), "");
}

// message_size_limit covers Postfix's whole queue file, about 650 bytes of
// envelope records more than the message: with 2000, a 900-byte message
// passes and a 1 400-byte one is refused (queue_file_size_test has the
// byte-exact figures).
TEST_F(Dialogue, SizeLimitCountsTheQueueFileAsPostfixDoes) {
  Boot("message_size_limit = 2000\n");
  std::string line = std::string(60, 'x') + "\r\n";
  auto message = [&](size_t n) {
    std::string m = "Subject: s\r\n\r\n";
    while (m.size() < n) m += line;
    return m;
  };
  EXPECT_EQ(Send("a@example.com", {"x@relay.example"}, message(900)).substr(0, 4), "250 ");
  EXPECT_EQ(Send("a@example.com", {"x@relay.example"}, message(1400)),
            "552 5.3.4 Error: message file too big\r\n");
  EXPECT_NE(server_.log().find(": queue file size limit exceeded"), std::string::npos);
}

TEST_F(Dialogue, RecipientLimit) {
  Boot("smtpd_recipient_limit = 2\n");
  std::vector<std::string> replies;
  std::string data =
      Send("a@example.com", {"b@relay.example", "c@relay.example", "d@relay.example"},
           "Subject: x\r\n\r\nbody\r\n", &replies);
  ASSERT_EQ(replies.size(), 3u);
  EXPECT_EQ(Code(replies[0]), "250");
  EXPECT_EQ(Code(replies[1]), "250");
  EXPECT_EQ(replies[2], "452 4.5.3 Error: too many recipients\r\n");
  EXPECT_EQ(Code(data), "250");
}

// As a live Postfix 3.7.11: "too many recipients" is not a client error
// until smtpd_recipient_overshoot_limit such replies in one transaction.
TEST_F(Dialogue, RecipientOvershootCountsAsAnErrorOnlyPastItsLimit) {
  Boot("smtpd_recipient_limit = 1\nsmtpd_hard_error_limit = 2\nsmtpd_error_sleep_time = 0\n"
       "smtpd_recipient_overshoot_limit = 3\n");
  SmtpTestClient c(server_.port());
  c.Reply();
  EXPECT_EQ(Code(c.Command("EHLO client.example")), "250");
  EXPECT_EQ(Code(c.Command("MAIL FROM:<a@example.com>")), "250");
  EXPECT_EQ(Code(c.Command("RCPT TO:<b@relay.example>")), "250");
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(c.Command("RCPT TO:<c@relay.example>"), "452 4.5.3 Error: too many recipients\r\n");
  EXPECT_EQ(Code(c.Command("NOOP")), "250");
  // The fourth and fifth overshoots are errors: the second ends the session.
  EXPECT_EQ(Code(c.Command("RCPT TO:<c@relay.example>")), "452");
  EXPECT_EQ(Code(c.Command("RCPT TO:<c@relay.example>")), "452");
  std::string last = c.Reply();
  EXPECT_NE(last.find("421 4.7.0 "), std::string::npos) << last;
}

TEST_F(Dialogue, HardErrorLimitEndsTheSession) {
  Boot("smtpd_hard_error_limit = 3\nsmtpd_soft_error_limit = 2\nsmtpd_error_sleep_time = 0\n");
  SmtpTestClient c(server_.port());
  c.Reply();
  EXPECT_EQ(Code(c.Command("FOO")), "500");
  EXPECT_EQ(Code(c.Command("FOO")), "500");
  EXPECT_EQ(c.Command("FOO"), "500 5.5.2 Error: command not recognized\r\n");
  EXPECT_EQ(c.Reply(), "421 4.7.0 mx.example.com Error: too many errors\r\n");
  EXPECT_TRUE(c.Closed());
  // Postfix names an unrecognized command UNKNOWN here (seen live).
  EXPECT_NE(server_.log().find("too many errors after UNKNOWN from localhost[127.0.0.1]"),
            std::string::npos)
      << server_.log();
  EXPECT_NE(server_.log().find("disconnect from localhost[127.0.0.1] unknown=0/3 commands=0/3"),
            std::string::npos)
      << server_.log();
}

// As a live Postfix 3.7.11 with smtpd_delay_reject = no: a client refused
// at connect time gets the refusal instead of the greeting, then "503 5.7.0
// Error: access denied" for every recognized command but QUIT (unknown
// ones still get 500); each counts as an error, the greeting too.
TEST_F(Dialogue, ClientRefusedAtConnectGetsNoGreetingAndNoService) {
  Boot("smtpd_delay_reject = no\nsmtpd_error_sleep_time = 0\n"
       "smtpd_client_restrictions = check_client_access cidr:{DIR}/clients\n",
       {{"clients", "127.0.0.1/32 REJECT go away\n"}});
  {
    SmtpTestClient c(server_.port());
    EXPECT_EQ(c.Reply(), "554 5.7.1 <localhost[127.0.0.1]>: Client host rejected: go away\r\n");
    const std::string denied = "503 5.7.0 Error: access denied for localhost[127.0.0.1]\r\n";
    EXPECT_EQ(c.Command("EHLO a.example"), denied);
    EXPECT_EQ(c.Command("MAIL FROM:bad syntax"), denied);
    EXPECT_EQ(c.Command("NOOP"), denied);
    EXPECT_EQ(Code(c.Command("FOO")), "500");
    EXPECT_EQ(c.Command("QUIT"), "221 2.0.0 Bye\r\n");
    EXPECT_TRUE(c.Closed());
  }
  std::string log = server_.log();
  EXPECT_NE(log.find("NOQUEUE: reject: CONNECT from localhost[127.0.0.1]: 554 5.7.1 "
                     "<localhost[127.0.0.1]>: Client host rejected: go away; proto=SMTP"),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("disconnect from localhost[127.0.0.1] ehlo=0/1 mail=0/1 noop=0/1 quit=1 "
                     "unknown=0/1 commands=1/5"),
            std::string::npos)
      << log;
}

// As a live Postfix 3.7.11: input already waiting after a command that
// must end a pipelined group (here NOOP; MAIL and RCPT may be followed) is
// logged once per session, the first 100 bytes escaped.
TEST_F(Dialogue, ImproperPipeliningIsLoggedOnce) {
  Boot("");
  {
    SmtpTestClient c(server_.port());
    c.Reply();
    EXPECT_EQ(Code(c.Command("EHLO a.example")), "250");
    c.Send("MAIL FROM:<a@example.com>\r\nRCPT TO:<b@relay.example>\r\n");
    EXPECT_EQ(Code(c.Reply()), "250");
    EXPECT_EQ(Code(c.Reply()), "250");
    c.Send("NOOP\r\nX\x01\tY\r\nRSET\r\nNOOP\r\n");
    EXPECT_EQ(Code(c.Reply()), "250");
    EXPECT_EQ(Code(c.Reply()), "500");
    EXPECT_EQ(Code(c.Reply()), "250");
    EXPECT_EQ(Code(c.Reply()), "250");
    EXPECT_EQ(Code(c.Command("QUIT")), "221");
    EXPECT_TRUE(c.Closed());
  }
  std::string log = server_.log();
  EXPECT_NE(log.find("improper command pipelining after NOOP from localhost[127.0.0.1]: "
                     "X\\001\\tY\\r\\nRSET\\r\\nNOOP\\r\\n\n"),
            std::string::npos)
      << log;
  EXPECT_EQ(log.find("improper command pipelining after MAIL"), std::string::npos) << log;
  EXPECT_EQ(log.find("improper command pipelining after RSET"), std::string::npos) << log;
}

// As a live Postfix 3.7.11 with smtpd_junk_command_limit = 2: NOOP, RSET,
// VRFY, ETRN, HELO and EHLO past the limit count as errors even when they
// succeed (the 4th, 5th and 6th here), so the session ends after the 6th.
TEST_F(Dialogue, JunkCommandsPastTheLimitCountAsErrors) {
  Boot("smtpd_hard_error_limit = 3\nsmtpd_error_sleep_time = 0\nsmtpd_junk_command_limit = 2\n");
  for (std::string command : {"NOOP", "RSET", "VRFY bob@relay.example", "EHLO a.example", "HELO a.example"}) {
    SmtpTestClient c(server_.port());
    c.Reply();
    const std::string ok = command[0] == 'V' ? "252" : "250";
    for (int i = 0; i < 6; ++i) EXPECT_EQ(Code(c.Command(command)), ok) << command << " #" << i;
    EXPECT_EQ(c.Reply(), "421 4.7.0 mx.example.com Error: too many errors\r\n") << command;
    EXPECT_TRUE(c.Closed()) << command;
  }
  // ETRN's refusal is an error of its own: 3 refusals plus the junk count.
  SmtpTestClient c(server_.port());
  c.Reply();
  EXPECT_EQ(Code(c.Command("EHLO a.example")), "250");
  for (int i = 0; i < 3; ++i) EXPECT_EQ(Code(c.Command("ETRN other.example")), "459");
  EXPECT_EQ(c.Reply(), "421 4.7.0 mx.example.com Error: too many errors\r\n");
}

// As a live Postfix 3.7.11: a message accepted for delivery forgives the
// session's errors and junk commands.
TEST_F(Dialogue, AnAcceptedMessageForgivesEarlierErrors) {
  Boot("smtpd_hard_error_limit = 3\nsmtpd_error_sleep_time = 0\nsmtpd_junk_command_limit = 1\n");
  SmtpTestClient c(server_.port());
  c.Reply();
  EXPECT_EQ(Code(c.Command("EHLO a.example")), "250");
  // Two errors and two more junk commands (the limit lets the EHLO and one
  // NOOP pass, the second NOOP is the third error) ...
  auto errors_and_junk = [&c] {
    EXPECT_EQ(Code(c.Command("FOO")), "500");
    EXPECT_EQ(Code(c.Command("FOO")), "500");
    EXPECT_EQ(Code(c.Command("NOOP")), "250");
  };
  errors_and_junk();
  EXPECT_EQ(Code(c.Command("MAIL FROM:<a@example.com>")), "250");
  EXPECT_EQ(Code(c.Command("RCPT TO:<b@relay.example>")), "250");
  EXPECT_EQ(Code(c.Command("DATA")), "354");
  c.Send("Subject: x\r\n\r\nbody\r\n");
  EXPECT_EQ(Code(c.Command(".")), "250");
  // ... and again: without the message in between, the third FOO would
  // have ended the session.
  errors_and_junk();
  EXPECT_EQ(Code(c.Command("NOOP")), "250");
  EXPECT_EQ(Code(c.Command("QUIT")), "221");
  EXPECT_TRUE(c.Closed());  // the disconnect line is written before the close
  EXPECT_NE(server_.log().find("disconnect from localhost[127.0.0.1] ehlo=1 mail=1 rcpt=1 "
                               "data=1 noop=3 quit=1 unknown=0/4 commands=8/12"),
            std::string::npos)
      << server_.log();
}

// smtpd_noop_commands and a non-default smtpd_forbidden_commands, as a
// live Postfix 3.7.11 answers them: noop commands get "250 2.0.0 Ok" (even
// a real command's name), count as junk and not on the disconnect line; a
// forbidden word ends the session and counts as unknown; the default
// CONNECT/GET/POST and non-letter rules no longer apply.
TEST_F(Dialogue, NoopAndForbiddenCommandsFromTheConfiguration) {
  Boot("smtpd_noop_commands = XYZZY, mail\nsmtpd_forbidden_commands = BAR\n"
       "smtpd_hard_error_limit = 3\nsmtpd_error_sleep_time = 0\nsmtpd_junk_command_limit = 2\n");
  {
    SmtpTestClient c(server_.port());
    c.Reply();
    EXPECT_EQ(c.Command("xyzzy with words"), "250 2.0.0 Ok\r\n");
    EXPECT_EQ(c.Command("MAIL FROM:<a@example.com>"), "250 2.0.0 Ok\r\n");
    EXPECT_EQ(c.Command("GET / HTTP/1.0"), "500 5.5.2 Error: command not recognized\r\n");
    EXPECT_EQ(c.Command("123"), "500 5.5.2 Error: command not recognized\r\n");
    EXPECT_EQ(Code(c.Command("QUIT")), "221");
    EXPECT_TRUE(c.Closed());
  }
  {
    SmtpTestClient c(server_.port());
    c.Reply();
    for (int i = 0; i < 6; ++i) EXPECT_EQ(Code(c.Command("XYZZY")), "250");
    EXPECT_EQ(c.Reply(), "421 4.7.0 mx.example.com Error: too many errors\r\n");
    EXPECT_TRUE(c.Closed());
  }
  {
    SmtpTestClient c(server_.port());
    c.Reply();
    EXPECT_EQ(c.Command("bar baz"), "221 2.7.0 Error: I can break rules, too. Goodbye.\r\n");
    EXPECT_TRUE(c.Closed());
  }
  std::string log = server_.log();
  EXPECT_NE(log.find("disconnect from localhost[127.0.0.1] quit=1 unknown=0/2 commands=1/3"),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("too many errors after CONNECT from localhost[127.0.0.1]"), std::string::npos)
      << log;
  EXPECT_NE(log.find("disconnect from localhost[127.0.0.1] commands=0/0"), std::string::npos) << log;
  EXPECT_NE(log.find("warning: non-SMTP command from localhost[127.0.0.1]: bar baz"),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("disconnect from localhost[127.0.0.1] unknown=0/1 commands=0/1"),
            std::string::npos)
      << log;
}

// Past smtpd_soft_error_limit every reply line waits smtpd_error_sleep_time
// (a live Postfix 3.7.11 took 10 s for a 10-line EHLO reply at 1s), also
// replies to commands that succeed.
TEST_F(Dialogue, ErrorSleepDelaysEveryReplyLinePastTheSoftLimit) {
  Boot("smtpd_soft_error_limit = 1\nsmtpd_error_sleep_time = 1s\n");
  SmtpTestClient c(server_.port());
  c.Reply();
  auto timed = [&c](const std::string& command) {
    auto start = std::chrono::steady_clock::now();
    std::string reply = c.Command(command);
    return std::make_pair(reply, std::chrono::steady_clock::now() - start);
  };
  auto [foo, foo_took] = timed("FOO");
  EXPECT_EQ(Code(foo), "500");
  EXPECT_LT(foo_took, std::chrono::milliseconds(900));  // the error itself is not delayed
  auto [helo, helo_took] = timed("HELO a.example");
  EXPECT_EQ(Code(helo), "250");
  EXPECT_GE(helo_took, std::chrono::milliseconds(950));
  auto [rset, rset_took] = timed("RSET");
  EXPECT_EQ(Code(rset), "250");
  EXPECT_GE(rset_took, std::chrono::milliseconds(950));
}

TEST_F(Dialogue, IdleTimeout) {
  Boot("smtpd_timeout = 1s\n");
  SmtpTestClient c(server_.port());
  c.Reply();
  EXPECT_EQ(c.Reply(), "421 4.4.2 mx.example.com Error: timeout exceeded\r\n");
  EXPECT_NE(server_.log().find("timeout after CONNECT from localhost[127.0.0.1]"),
            std::string::npos);
}

TEST_F(Dialogue, TimeoutInsideDataAfterActivityKeepsTheDeadlinePerRead) {
  // Traffic within the timeout keeps the session alive; the deadline counts
  // from the last read, and a stalled DATA ends with 421 and its byte count
  // (three 10-byte lines, each counted with its CR LF, as Postfix logs it).
  Boot("smtpd_timeout = 2s\n");
  SmtpTestClient c(server_.port());
  c.Reply();
  EXPECT_EQ(Code(c.Command("EHLO client.example")), "250");
  EXPECT_EQ(Code(c.Command("MAIL FROM:<a@example.com>")), "250");
  EXPECT_EQ(Code(c.Command("RCPT TO:<b@example.com>")), "250");
  EXPECT_EQ(Code(c.Command("DATA")), "354");
  for (int i = 0; i < 3; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1200));
    c.Send("0123456789\r\n");
  }
  EXPECT_EQ(c.Reply(), "421 4.4.2 mx.example.com Error: timeout exceeded\r\n");
  EXPECT_TRUE(c.Closed());
  EXPECT_NE(server_.log().find("timeout after DATA (36 bytes) from localhost[127.0.0.1]"),
            std::string::npos)
      << server_.log();
}

TEST_F(Dialogue, ConnectionCountLimitPerClient) {
  Boot("smtpd_client_connection_count_limit = 1\nmynetworks = 10.0.0.0/8\n");
  SmtpTestClient first(server_.port());
  EXPECT_EQ(Code(first.Reply()), "220");
  SmtpTestClient second(server_.port());
  EXPECT_EQ(second.Reply(),
            "421 4.7.0 mx.example.com Error: too many connections from 127.0.0.1\r\n");
  EXPECT_TRUE(second.Closed());
  // As Postfix 3.7.11 logs it: the service by its master.cf name, and the
  // disconnect line with its (empty) tallies.
  EXPECT_NE(server_.log().find("warning: Connection concurrency limit exceeded: 2 from "
                               "localhost[127.0.0.1] for service smtp\n"),
            std::string::npos)
      << server_.log();
  EXPECT_NE(server_.log().find("disconnect from localhost[127.0.0.1] commands=0/0\n"),
            std::string::npos)
      << server_.log();
}

TEST_F(Dialogue, OverlongCommandLineIsCut) {
  Boot("line_length_limit = 600\n");
  SmtpTestClient c(server_.port());
  c.Reply();
  EXPECT_EQ(Code(c.Command("NOOP " + std::string(5000, 'x'))), "250");
  EXPECT_EQ(c.Command("NOOP"), "250 2.0.0 Ok\r\n");
}

TEST_F(Dialogue, RelayRestrictionsAndNoqueueLog) {
  Boot(
      "mynetworks = 10.0.0.0/8\n"
      "smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination\n");
  SmtpTestClient c(server_.port());
  c.Reply();
  c.Command("EHLO client.example.com");
  c.Command("MAIL FROM:<a@example.com>");
  EXPECT_EQ(c.Command("RCPT TO:<x@elsewhere.example>"),
            "554 5.7.1 <x@elsewhere.example>: Relay access denied\r\n");
  EXPECT_EQ(Code(c.Command("RCPT TO:<x@relay.example>")), "250");
  EXPECT_NE(server_.log().find("NOQUEUE: reject: RCPT from localhost[127.0.0.1]: 554 5.7.1 "
                               "<x@elsewhere.example>: Relay access denied; from=<a@example.com> "
                               "to=<x@elsewhere.example> proto=ESMTP helo=<client.example.com>"),
            std::string::npos)
      << server_.log();
}

TEST_F(Dialogue, AccessMapsOnEveryStage) {
  Boot(
      "smtpd_client_restrictions = check_client_access inline:{ 127.0.0.1=DUNNO }\n"
      "smtpd_helo_restrictions = check_helo_access inline:{ {bad.example=REJECT go away} }\n"
      "smtpd_sender_restrictions = check_sender_access inline:{ spam@example.com=REJECT, "
      "{slow@example.com=DEFER try later}, hold@example.com=HOLD }, reject_non_fqdn_sender\n"
      "smtpd_recipient_restrictions = check_recipient_access inline:{ {no@relay.example=550 5.1.1 "
      "gone} }, "
      "reject_non_fqdn_recipient, permit_mynetworks, reject\n");
  {
    SmtpTestClient c(server_.port());
    c.Reply();
    EXPECT_EQ(Code(c.Command("EHLO bad.example")), "250");  // delay_reject: decided at RCPT
    c.Command("MAIL FROM:<a@example.com>");
    EXPECT_EQ(c.Command("RCPT TO:<b@relay.example>"),
              "554 5.7.1 <bad.example>: Helo command rejected: go away\r\n");
  }
  SmtpTestClient c(server_.port());
  c.Reply();
  c.Command("EHLO good.example");
  c.Command("MAIL FROM:<spam@example.com>");
  EXPECT_EQ(c.Command("RCPT TO:<b@relay.example>"),
            "554 5.7.1 <spam@example.com>: Sender address rejected: Access denied\r\n");
  c.Command("RSET");
  c.Command("MAIL FROM:<slow@example.com>");
  EXPECT_EQ(c.Command("RCPT TO:<b@relay.example>"),
            "450 4.7.1 <slow@example.com>: Sender address rejected: try later\r\n");
  c.Command("RSET");
  c.Command("MAIL FROM:<user>");
  EXPECT_EQ(c.Command("RCPT TO:<b@relay.example>"),
            "504 5.5.2 <user>: Sender address rejected: need fully-qualified address\r\n");
  c.Command("RSET");
  c.Command("MAIL FROM:<a@example.com>");
  EXPECT_EQ(c.Command("RCPT TO:<no@relay.example>"),
            "550 5.1.1 <no@relay.example>: Recipient address rejected: gone\r\n");
  EXPECT_EQ(c.Command("RCPT TO:<bare>"),
            "504 5.5.2 <bare>: Recipient address rejected: need fully-qualified address\r\n");
  EXPECT_EQ(Code(c.Command("RCPT TO:<ok@relay.example>")), "250");
  c.Command("RSET");
  c.Command("MAIL FROM:<hold@example.com>");
  EXPECT_EQ(Code(c.Command("RCPT TO:<ok@relay.example>")), "250");
  EXPECT_EQ(Code(c.Command("DATA")), "354");
  c.Send("Subject: held\r\n\r\nx\r\n");
  std::string reply = c.Command(".");
  EXPECT_EQ(Code(reply), "250");
  std::string q = QueueJson();
  EXPECT_NE(q.find("\"queue_name\": \"hold\", \"queue_id\": \"" + IdOf(reply) + "\""), std::string::npos)
      << q;
}

TEST_F(Dialogue, HeaderAndBodyCheckActions) {
  Boot("header_checks = regexp:{DIR}/header_checks\nbody_checks = regexp:{DIR}/body_checks\n",
       {{"header_checks",
         "/^Subject: reject me/ REJECT no thanks\n"
         "/^Subject: hold me/ HOLD review\n"
         "/^Subject: drop me/ DISCARD\n"
         "/^Subject: redirect me/ REDIRECT other@relay.example\n"
         "/^Subject: copy me/ BCC audit@relay.example\n"
         "/^Subject: filter me/ FILTER smtp:[127.0.0.1]:10025\n"
         "/^Subject: tag me/ PREPEND X-Tag: tagged\n"
         "/^Subject: rename me/ REPLACE Subject: renamed\n"
         "/^X-Remove:/ IGNORE\n"
         "/^Subject: warn me/ WARN just saying\n"
         "/^Subject: odd me/ 450 4.7.1 later please\n"},
        {"body_checks", "/^forbidden body/ REJECT 4.7.1 body later\n"}},
       "");
  // REJECT at end of DATA, with its text and enhanced code.
  EXPECT_EQ(Send("a@example.com", {"b@relay.example"}, "Subject: reject me\r\n\r\nx\r\n"),
            "550 5.7.1 no thanks\r\n");
  EXPECT_EQ(Send("a@example.com", {"b@relay.example"}, "Subject: ok\r\n\r\nforbidden body\r\n"),
            "451 4.7.1 body later\r\n");
  std::string held =
      IdOf(Send("a@example.com", {"b@relay.example"}, "Subject: hold me\r\n\r\nx\r\n"));
  std::string dropped = Send("a@example.com", {"b@relay.example"}, "Subject: drop me\r\n\r\nx\r\n");
  EXPECT_EQ(Code(dropped), "250");
  std::string redirected =
      IdOf(Send("a@example.com", {"b@relay.example"}, "Subject: redirect me\r\n\r\nx\r\n"));
  std::string copied =
      IdOf(Send("a@example.com", {"b@relay.example"}, "Subject: copy me\r\n\r\nx\r\n"));
  std::string edited = IdOf(
      Send("a@example.com", {"b@relay.example"}, "Subject: tag me\r\nX-Remove: yes\r\n\r\nx\r\n"));
  std::string renamed =
      IdOf(Send("a@example.com", {"b@relay.example"}, "Subject: rename me\r\n\r\nx\r\n"));
  std::string filtered =
      IdOf(Send("a@example.com", {"b@relay.example"}, "Subject: filter me\r\n\r\nx\r\n"));
  std::string warned =
      IdOf(Send("a@example.com", {"b@relay.example"}, "Subject: warn me\r\n\r\nx\r\n"));
  std::string odd =
      IdOf(Send("a@example.com", {"b@relay.example"}, "Subject: odd me\r\n\r\nx\r\n"));
  std::string q = QueueJson();
  EXPECT_NE(q.find("\"queue_name\": \"hold\", \"queue_id\": \"" + held + "\""), std::string::npos) << q;
  EXPECT_EQ(q.find("\"queue_id\": \"" + IdOf(dropped) + "\""), std::string::npos) << q;
  size_t at = q.find("\"queue_id\": \"" + redirected + "\"");
  ASSERT_NE(at, std::string::npos);
  EXPECT_EQ(q.substr(at, q.find('}', q.find("]", at)) - at).find("b@relay.example"),
            std::string::npos);
  EXPECT_NE(q.find("other@relay.example", at), std::string::npos);
  at = q.find("\"queue_id\": \"" + copied + "\"");
  ASSERT_NE(at, std::string::npos);
  EXPECT_NE(q.find("audit@relay.example", at), std::string::npos) << q;
  EXPECT_NE(q.find("\"queue_id\": \"" + filtered + "\""), std::string::npos) << q;
  std::string e = server_.Phctl({"show", edited});
  EXPECT_NE(e.find("X-Tag: tagged\nSubject: tag me\n"), std::string::npos) << e;
  EXPECT_EQ(e.find("X-Remove"), std::string::npos) << e;
  EXPECT_NE(server_.Phctl({"show", renamed}).find("\nSubject: renamed\n"), std::string::npos);
  std::string log = server_.log();
  EXPECT_NE(
      log.find(
          ": reject: header Subject: reject me from localhost[127.0.0.1]; from=<a@example.com> "
          "to=<b@relay.example> proto=ESMTP helo=<client.example.com>: 5.7.1 no thanks"),
      std::string::npos)
      << log;
  EXPECT_NE(log.find(warned + ": warning: header Subject: warn me from localhost[127.0.0.1]"),
            std::string::npos)
      << log;
  EXPECT_NE(log.find(held + ": hold: header Subject: hold me"), std::string::npos) << log;
  // As Postfix: the generated message-id= line follows the header action lines;
  // IGNORE logs nothing; an unknown action is one warning without a queue ID.
  EXPECT_LT(log.find(warned + ": warning: header Subject: warn me"),
            log.find(warned + ": message-id=<"))
      << log;
  EXPECT_EQ(log.find(": ignore: "), std::string::npos) << log;
  EXPECT_NE(log.find("posthaste/cleanup["), std::string::npos) << log;
  EXPECT_NE(log.find("]: warning: unknown command in header_checks map: 450 4.7.1 later please\n"),
            std::string::npos)
      << log;
  EXPECT_NE(log.find(odd + ": message-id=<"), std::string::npos) << log;
  // Stopped in the body: the message-id= line was logged before the reject.
  size_t body_reject = log.find(": reject: body forbidden body");
  ASSERT_NE(body_reject, std::string::npos) << log;
  size_t line_start = log.rfind("]: ", body_reject) + 3;
  std::string rejected_id = log.substr(line_start, body_reject - line_start);
  size_t mid = log.find(rejected_id + ": message-id=<");
  EXPECT_LT(mid, body_reject) << log;
  EXPECT_NE(log.find(": discard: header Subject: drop me"), std::string::npos) << log;
  // (The queued message keeps the filter: relay_e2e_test delivers a FILTER class through it.)
  EXPECT_NE(log.find(filtered + ": filter: header Subject: filter me from localhost[127.0.0.1]; "
                                "from=<a@example.com> to=<b@relay.example> proto=ESMTP "
                                "helo=<client.example.com>: smtp:[127.0.0.1]:10025"),
            std::string::npos)
      << log;
}

// The order of cleanup's lines for a MIME message, as a live Postfix 3.7.11
// logged it: primary header actions, message-id=, then the actions on the
// parts' headers (mime_header_checks, nested_header_checks).
TEST_F(Dialogue, MimePartHeaderActionsAreLoggedAfterTheMessageId) {
  Boot("header_checks = regexp:{DIR}/header_checks\n"
       "mime_header_checks = regexp:{DIR}/mime_header_checks\n"
       "nested_header_checks = regexp:{DIR}/nested_header_checks\n",
       {{"header_checks", "/^Subject: / WARN subj\n"},
        {"mime_header_checks", "/^Content-Type: / WARN mime-ct\n"},
        {"nested_header_checks", "/^Subject: / WARN nested-subj\n"}},
       "");
  std::string id = IdOf(Send("a@example.com", {"b@relay.example"},
                             "Subject: top\r\nMIME-Version: 1.0\r\n"
                             "Content-Type: multipart/mixed; boundary=\"XX\"\r\n\r\n"
                             "--XX\r\nContent-Type: message/rfc822\r\n\r\n"
                             "Subject: inner\r\n\r\nbody\r\n--XX--\r\n"));
  ASSERT_FALSE(id.empty());
  std::string log = server_.log();
  size_t top = log.find(id + ": warning: header Subject: top ");
  size_t top_ct = log.find(id + ": warning: header Content-Type: multipart/mixed;");
  size_t mid = log.find(id + ": message-id=<");
  size_t part_ct = log.find(id + ": warning: header Content-Type: message/rfc822 ");
  size_t inner = log.find(id + ": warning: header Subject: inner ");
  ASSERT_NE(inner, std::string::npos) << log;
  EXPECT_LT(top, top_ct) << log;
  EXPECT_LT(top_ct, mid) << log;
  EXPECT_LT(mid, part_ct) << log;
  EXPECT_LT(part_ct, inner) << log;
}

TEST_F(Dialogue, SwaksPythonAndSmtpSourceDeliverIntoTheQueue) {
  Boot("mynetworks = 10.0.0.0/8\n");
  std::string port = std::to_string(server_.port());
  CommandResult swaks = RunCommand({"/usr/bin/swaks", "--server", "127.0.0.1", "--port", port,
                                    "--from", "s@example.com", "--to", "t@relay.example",
                                    "--header", "Subject: from swaks", "--pipeline"});
  EXPECT_EQ(swaks.exit_code, 0) << swaks.out << swaks.err;
  EXPECT_NE(swaks.out.find("<-  250 2.0.0 Ok: queued as "), std::string::npos) << swaks.out;
  std::string py =
      "import smtplib, sys\n"
      "s = smtplib.SMTP('127.0.0.1', int(sys.argv[1]))\n"
      "s.ehlo('py.example')\n"
      "assert s.has_extn('pipelining') and s.has_extn('8bitmime') and s.has_extn('size')\n"
      "r = s.sendmail('p@example.com', ['u@relay.example', 'v@relay.example'],"
      " b'Subject: from python\\r\\n\\r\\n\\xc3\\xa9t\\xc3\\xa9\\r\\n', "
      "mail_options=['BODY=8BITMIME'])\n"
      "assert r == {}, r\n"
      "try:\n"
      "    s.sendmail('p@example.com', ['x@elsewhere.example'], b'Subject: "
      "no\\r\\n\\r\\nx\\r\\n')\n"
      "    print('relay accepted')\n"
      "except smtplib.SMTPRecipientsRefused as e:\n"
      "    print('refused', e.recipients['x@elsewhere.example'][0])\n"
      "s.quit()\n";
  CommandResult python = RunCommand({"/usr/bin/python3", "-c", py, port});
  EXPECT_EQ(python.exit_code, 0) << python.err;
  // The default smtpd_relay_restrictions end in defer_unauth_destination.
  EXPECT_EQ(python.out, "refused 454\n");
  CommandResult source =
      RunCommand({"/usr/sbin/smtp-source", "-s", "5", "-m", "25", "-l", "4096", "-f",
                  "load@example.com", "-t", "sink@relay.example", "127.0.0.1:" + port});
  EXPECT_EQ(source.exit_code, 0) << source.err;
  std::string q = QueueJson();
  size_t messages = 0;
  for (size_t at = q.find("\"queue_id\""); at != std::string::npos;
       at = q.find("\"queue_id\"", at + 1))
    ++messages;
  EXPECT_EQ(messages, 1u + 1u + 25u) << q;
}

TEST_F(Dialogue, ReloadSwapsTheBundleForNewSessionsOnly) {
  Boot("smtpd_sender_restrictions = check_sender_access inline:{ {a@example.com=REJECT first} }\n");
  SmtpTestClient old_session(server_.port());
  old_session.Reply();
  old_session.Command("EHLO x.example");
  HarnessConfig c;
  c.main_cf =
      std::string(kBaseMain) +
      "smtpd_sender_restrictions = check_sender_access inline:{ {a@example.com=REJECT second} }\n";
  ASSERT_EQ(server_.Build(c), "");
  EXPECT_NE(server_.Phctl({"reload"}).find("in force"), std::string::npos);
  old_session.Command("MAIL FROM:<a@example.com>");
  EXPECT_EQ(old_session.Command("RCPT TO:<b@relay.example>"),
            "554 5.7.1 <a@example.com>: Sender address rejected: first\r\n");
  SmtpTestClient fresh(server_.port());
  fresh.Reply();
  fresh.Command("EHLO x.example");
  fresh.Command("MAIL FROM:<a@example.com>");
  EXPECT_EQ(fresh.Command("RCPT TO:<b@relay.example>"),
            "554 5.7.1 <a@example.com>: Sender address rejected: second\r\n");
  // A corrupt generation is refused and changes nothing.
  std::string current = server_.bundle_dir() + "/CURRENT";
  RunCommand({"/bin/sh", "-c", "echo gen-0000000000000000 > " + current});
  EXPECT_NE(server_.Phctl({"reload"}).find("ERROR"), std::string::npos);
  SmtpTestClient after(server_.port());
  after.Reply();
  after.Command("EHLO x.example");
  after.Command("MAIL FROM:<a@example.com>");
  EXPECT_EQ(after.Command("RCPT TO:<b@relay.example>"),
            "554 5.7.1 <a@example.com>: Sender address rejected: second\r\n");
  EXPECT_NE(server_.log().find("warning: reload refused: "), std::string::npos);
}

}  // namespace
}  // namespace posthaste::testing

namespace posthaste::testing {
namespace {

TEST_F(Dialogue, PhctlQueueVerbs) {
  Boot("");
  std::string a = IdOf(Send("a@example.com", {"b@relay.example"}, "Subject: one\r\n\r\nx\r\n"));
  std::string b = IdOf(Send("a@example.com", {"c@relay.example"}, "Subject: two\r\n\r\nx\r\n"));
  ASSERT_NE(a, "");
  ASSERT_NE(b, "");
  EXPECT_EQ(server_.Phctl({"hold", a}), a + ": placed on hold\n");
  std::string q = QueueJson();
  EXPECT_NE(q.find("\"queue_name\": \"hold\", \"queue_id\": \"" + a + "\""), std::string::npos) << q;
  // mailq's format: a held message is marked with '!'.
  std::string mailq = server_.Phctl({"queue"});
  EXPECT_NE(mailq.find(a + "!"), std::string::npos) << mailq;
  EXPECT_NE(mailq.find("-- "), std::string::npos) << mailq;
  EXPECT_EQ(server_.Phctl({"release", a}), a + ": released from hold\n");
  q = QueueJson();
  EXPECT_EQ(q.find("\"queue_name\": \"hold\", \"queue_id\": \"" + a + "\""), std::string::npos) << q;
  EXPECT_EQ(server_.Phctl({"requeue", "ALL"}), "ALL: requeued\n");
  EXPECT_EQ(server_.Phctl({"delete", b}), b + ": removed\n");
  q = QueueJson();
  EXPECT_EQ(q.find("\"queue_id\": \"" + b + "\""), std::string::npos) << q;
  EXPECT_NE(q.find("\"queue_id\": \"" + a + "\""), std::string::npos) << q;
  // flush delivers even defer_transports mail (postqueue -f).
  EXPECT_EQ(server_.Phctl({"flush"}), "");
  EXPECT_NE(server_.Phctl({"delete", "NOSUCHID"}).find("ERROR"), std::string::npos);
  std::string status = server_.Phctl({"status"});
  EXPECT_NE(status.find("bundle: gen-"), std::string::npos) << status;
  EXPECT_NE(status.find("listener: smtp 127.0.0.1:" + std::to_string(server_.port())),
            std::string::npos)
      << status;
  EXPECT_NE(status.find("queue: incoming="), std::string::npos) << status;
  EXPECT_NE(status.find("sessions: started=2 finished=2 queued=2"), std::string::npos) << status;
  EXPECT_NE(server_.Phctl({"bogus"}).find("ERROR: phctl: unknown verb \"bogus\""), std::string::npos);
}

}  // namespace
}  // namespace posthaste::testing

namespace posthaste::testing {
namespace {

// A TCP port on 127.0.0.1 that was free a moment ago.
int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

// The DNS-based restrictions against a DNS server on 127.0.0.1: the session
// resolves what the restrictions ask for without stalling other sessions.
TEST_F(Dialogue, RejectsUnknownDomainsAndHeloNamesThroughDns) {
  FakeDnsServer dns;
  ASSERT_TRUE(dns.ok());
  dns.AddMx("good.example", 10, "mx.good.example");
  dns.AddA("helo.good.example", "192.0.2.1");
  dns.AddMx("null.example", 0, "");
  dns.SetFailure("broken.example", FakeDnsServer::Failure::kServFail);
  HarnessConfig c;
  c.main_cf = std::string(kBaseMain) +
              "mynetworks = 10.0.0.0/8\n"  // 127.0.0.1 is an outside client here
              "relay_domains = relay.example, good.example, broken.example, nx.example\n"
              "smtpd_helo_restrictions = reject_unknown_helo_hostname\n"
              "smtpd_sender_restrictions = reject_unknown_sender_domain\n"
              "smtpd_recipient_restrictions = reject_unknown_recipient_domain\n";
  c.extra_args = {"--dns-server", dns.address()};
  ASSERT_EQ(server_.Build(c), "");
  ASSERT_TRUE(server_.Start()) << server_.log();

  SmtpTestClient s(server_.port());
  EXPECT_EQ(Code(s.Reply()), "220");
  EXPECT_EQ(Code(s.Command("EHLO helo.good.example")), "250");
  EXPECT_EQ(s.Command("MAIL FROM:<a@nx.example>"), "250 2.1.0 Ok\r\n");  // delayed to RCPT
  EXPECT_EQ(s.Command("RCPT TO:<b@good.example>"),
            "450 4.1.8 <a@nx.example>: Sender address rejected: Domain not found\r\n");
  EXPECT_EQ(s.Command("RSET"), "250 2.0.0 Ok\r\n");
  EXPECT_EQ(Code(s.Command("MAIL FROM:<a@null.example>")), "250");
  EXPECT_EQ(s.Command("RCPT TO:<b@good.example>"),
            "550 5.7.27 <a@null.example>: Sender address rejected: Domain null.example does not "
            "accept mail (nullMX)\r\n");
  EXPECT_EQ(s.Command("RSET"), "250 2.0.0 Ok\r\n");
  EXPECT_EQ(Code(s.Command("MAIL FROM:<a@good.example>")), "250");
  EXPECT_EQ(s.Command("RCPT TO:<b@good.example>"), "250 2.1.5 Ok\r\n");
  EXPECT_EQ(s.Command("RCPT TO:<b@nx.example>"),
            "450 4.1.2 <b@nx.example>: Recipient address rejected: Domain not found\r\n");
  // SERVFAIL: defer_if_permit, and nothing else refuses the relay domain.
  EXPECT_EQ(s.Command("RCPT TO:<b@broken.example>"),
            "450 4.1.2 <b@broken.example>: Recipient address rejected: Domain not found\r\n");
  EXPECT_EQ(Code(s.Command("DATA")), "354");
  s.Send("Subject: dns\r\n\r\nbody\r\n");
  EXPECT_EQ(Code(s.Command(".")), "250");
  // A HELO name without records.
  EXPECT_EQ(Code(s.Command("EHLO nothere.example")), "250");
  EXPECT_EQ(Code(s.Command("MAIL FROM:<a@good.example>")), "250");
  EXPECT_EQ(s.Command("RCPT TO:<b@good.example>"),
            "450 4.7.1 <nothere.example>: Helo command rejected: Host not found\r\n");
  EXPECT_EQ(Code(s.Command("QUIT")), "221");
  // The session asked once per name (answers are kept for the session):
  // nx.example as a sender domain, not again as a recipient domain.
  EXPECT_EQ(dns.Queries("nx.example", "MX"), 1);
  EXPECT_EQ(dns.Queries("good.example", "MX"), 1);
  EXPECT_EQ(dns.Queries("helo.good.example", "A"), 1);
  std::string log = server_.log();
  EXPECT_NE(log.find("NOQUEUE: reject: RCPT from localhost[127.0.0.1]: 450 4.1.8 <a@nx.example>: "
                     "Sender address rejected: Domain not found; from=<a@nx.example> "
                     "to=<b@good.example> proto=ESMTP helo=<helo.good.example>"),
            std::string::npos)
      << log;
}

// DNS block lists against a DNS server on 127.0.0.1: a list that cannot be
// asked is logged and skipped, a listed client gets the list's reason.
TEST_F(Dialogue, RejectsClientsOnDnsBlockListsThroughDns) {
  FakeDnsServer dns;
  ASSERT_TRUE(dns.ok());
  dns.SetFailure("1.0.0.127.broken.example", FakeDnsServer::Failure::kServFail);
  dns.AddA("1.0.0.127.bl.example", "127.0.0.2");
  dns.AddTxt("1.0.0.127.bl.example", "see https://bl.example/lookup?ip=127.0.0.1");
  HarnessConfig c;
  c.main_cf = std::string(kBaseMain) +
              "smtpd_client_restrictions = reject_rbl_client broken.example,"
              " reject_rbl_client bl.example=127.0.0.[2..11]\n";
  c.extra_args = {"--dns-server", dns.address()};
  ASSERT_EQ(server_.Build(c), "");
  ASSERT_TRUE(server_.Start()) << server_.log();
  SmtpTestClient s(server_.port());
  EXPECT_EQ(Code(s.Reply()), "220");
  EXPECT_EQ(Code(s.Command("EHLO client.example.com")), "250");
  EXPECT_EQ(Code(s.Command("MAIL FROM:<a@example.com>")), "250");
  EXPECT_EQ(s.Command("RCPT TO:<b@relay.example>"),
            "554 5.7.1 Service unavailable; Client host [127.0.0.1] blocked using bl.example; "
            "see https://bl.example/lookup?ip=127.0.0.1\r\n");
  EXPECT_EQ(Code(s.Command("QUIT")), "221");
  std::string log = server_.log();
  EXPECT_NE(log.find("warning: 1.0.0.127.broken.example: RBL lookup error: Host or domain name "
                     "not found. Name service error for name=1.0.0.127.broken.example type=A: "
                     "Host not found, try again"),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("NOQUEUE: reject: RCPT from localhost[127.0.0.1]: 554 5.7.1 Service "
                     "unavailable; Client host [127.0.0.1] blocked using bl.example; see "
                     "https://bl.example/lookup?ip=127.0.0.1; from=<a@example.com> "
                     "to=<b@relay.example> proto=ESMTP helo=<client.example.com>"),
            std::string::npos)
      << log;
  EXPECT_EQ(dns.Queries("1.0.0.127.bl.example", "TXT"), 1);
}

// A service that requires TLS: posthasted has no STARTTLS yet, so it refuses
// MAIL as Postfix does before STARTTLS instead of taking mail in the clear.
TEST_F(Dialogue, RequiredTlsRefusesMailWithoutStarttls) {
  Boot("smtpd_tls_security_level = encrypt\n");
  SmtpTestClient c(server_.port());
  EXPECT_EQ(Code(c.Reply()), "220");
  EXPECT_EQ(Code(c.Command("EHLO client.example.com")), "250");
  EXPECT_EQ(c.Command("MAIL FROM:<a@example.com>"),
            "530 5.7.0 Must issue a STARTTLS command first\r\n");
  EXPECT_EQ(c.Command("RCPT TO:<b@relay.example>"), "503 5.5.1 Error: need MAIL command\r\n");
  EXPECT_EQ(Code(c.Command("QUIT")), "221");
  // An explicit "may" (or none) keeps plain-text mail working.
  server_.Stop();
  Boot("smtpd_tls_security_level = may\nsmtpd_enforce_tls = yes\n");
  SmtpTestClient d(server_.port());
  EXPECT_EQ(Code(d.Reply()), "220");
  EXPECT_EQ(Code(d.Command("EHLO client.example.com")), "250");
  EXPECT_EQ(d.Command("MAIL FROM:<a@example.com>"), "250 2.1.0 Ok\r\n");
}

TEST_F(Dialogue, ReloadOpensNewListenersAndClosesRemovedOnes) {
  Boot("");
  int extra = FreePort();
  std::string service = "127.0.0.1:" + std::to_string(extra);
  HarnessConfig c;
  c.main_cf = kBaseMain;
  c.master_cf = "smtp inet n - n - - smtpd\n" + service + " inet n - n - - smtpd\n";
  ASSERT_EQ(server_.Build(c), "");
  EXPECT_NE(server_.Phctl({"reload"}).find("in force"), std::string::npos);
  EXPECT_NE(server_.Phctl({"status"}).find("listener: " + service + " 127.0.0.1:" + std::to_string(extra)),
            std::string::npos)
      << server_.Phctl({"status"});
  {
    SmtpTestClient added(extra);
    ASSERT_TRUE(added.connected());
    EXPECT_EQ(Code(added.Reply()), "220");
  }
  c.master_cf = "smtp inet n - n - - smtpd\n";
  ASSERT_EQ(server_.Build(c), "");
  EXPECT_NE(server_.Phctl({"reload"}).find("in force"), std::string::npos);
  EXPECT_EQ(server_.Phctl({"status"}).find("listener: " + service), std::string::npos);
  SmtpTestClient removed(extra);
  EXPECT_FALSE(removed.connected());
  SmtpTestClient kept(server_.port());
  EXPECT_EQ(Code(kept.Reply()), "220");
  EXPECT_NE(server_.log().find("closed listener for service " + service), std::string::npos);
}

}  // namespace
}  // namespace posthaste::testing
