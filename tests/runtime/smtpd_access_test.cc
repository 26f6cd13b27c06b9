// smtpd_access_test.cc: the SMTP server's access restrictions over real bundles.
//
// Every test writes a configuration directory, builds it with the real
// `phc build`, loads the bundle and asks SmtpdAccess what Postfix 3.7's
// smtpd would answer. The expected replies and log lines were checked
// against a live Postfix 3.7.11 instance (XCLIENT dialogues on loopback);
// each restriction and each access(5) result has a test, as do
// smtpd_delay_reject on and off, the relay/recipient order, the implicit
// unlisted-recipient check, restriction classes, missing tables and the
// refusals of Build.
#include "runtime/smtpd_access.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "compiler/bundle_writer.h"
#include "tables/bundle_loader.h"
#include "tables/smtpd_restrictions.h"
#include "tests/support/run_command.h"

namespace posthaste::runtime {
namespace {

namespace fs = std::filesystem;
using Result = AccessVerdict::Result;

const char kBaseMain[] =
    "compatibility_level = 3.6\n"
    "myhostname = mx.example.com\n"
    "mydomain = example.com\n"
    "mydestination = $myhostname, localhost\n"
    "inet_interfaces = loopback-only\n"
    "inet_protocols = ipv4\n"
    "mynetworks = 127.0.0.0/8, 192.0.2.0/24\n"
    "alias_maps =\n"
    "smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination\n";

const char kBaseMaster[] =
    "smtp      inet  n       -       n       -       -       smtpd\n"
    "rewrite   unix  -       -       n       -       -       trivial-rewrite\n"
    "smtp      unix  -       -       n       -       -       smtp\n"
    "relay     unix  -       -       n       -       -       smtp\n"
    "error     unix  -       -       n       -       -       error\n"
    "retry     unix  -       -       n       -       -       error\n"
    "local     unix  -       n       n       -       -       local\n"
    "virtual   unix  -       n       n       -       -       virtual\n";

class SmtpdAccessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/smtpd-access-XXXXXX";
    dir_ = mkdtemp(tmpl);
    fs::create_directory(dir_ + "/conf");
  }
  void TearDown() override { fs::remove_all(dir_); }

  void Write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ + "/conf/" + name) << text;
  }

  // Builds the base configuration plus `main_extra` (later lines win) with
  // phc, loads it and builds the evaluator for `service`.
  absl::StatusOr<std::shared_ptr<const SmtpdAccess>> TryBuild(const std::string& main_extra,
                                                              const std::string& master_extra = "",
                                                              const std::string& service = "smtp/inet",
                                                              const std::string& base = kBaseMain) {
    Write("main.cf", base + main_extra);
    Write("master.cf", std::string(kBaseMaster) + master_extra);
    std::string bundle = dir_ + "/bundle" + std::to_string(++builds_);
    testing::CommandResult r =
        testing::RunCommand({POSTHASTE_PHC_PATH, "build", "-c", dir_ + "/conf", "-o", bundle});
    if (r.exit_code != 0) return absl::FailedPreconditionError("phc build: " + r.err);
    auto snap = tables::Loader(bundle).LoadCurrent();
    if (!snap.ok()) return snap.status();
    return SmtpdAccess::Build(*snap, service);
  }

  std::shared_ptr<const SmtpdAccess> Build(const std::string& main_extra,
                                           const std::string& master_extra = "",
                                           const std::string& service = "smtp/inet") {
    auto a = TryBuild(main_extra, master_extra, service);
    EXPECT_TRUE(a.ok()) << a.status();
    return a.ok() ? *a : std::make_shared<const SmtpdAccess>();
  }

  // A client outside mynetworks, after EHLO and MAIL.
  static SmtpdFacts Outside() {
    SmtpdFacts f;
    f.client_name = "client.example.net";
    f.client_addr = "203.0.113.5";
    f.client_port = 40000;
    f.helo = "helo.example.net";
    f.protocol = "ESMTP";
    f.sender = "a@sender.example";
    return f;
  }
  static SmtpdFacts Inside() {
    SmtpdFacts f = Outside();
    f.client_name = "unknown";
    f.client_addr = "192.0.2.10";
    return f;
  }
  static AccessVerdict Rcpt(const SmtpdAccess& a, SmtpdFacts f, const std::string& rcpt) {
    f.recipient = rcpt;
    return a.Check(SmtpdStage::kRcpt, f);
  }
  // The reply when refused, "" when let through.
  static std::string Reply(const AccessVerdict& v) {
    return v.result == Result::kReject || v.result == Result::kDefer ? v.reply : "";
  }
  static std::string OnlyLog(const AccessVerdict& v) {
    EXPECT_EQ(v.log_lines.size(), 1u);
    return v.log_lines.empty() ? "" : v.log_lines.back();
  }

  std::string dir_;
  int builds_ = 0;
};

TEST_F(SmtpdAccessTest, RefusesRelayingForOutsideClients) {
  auto a = Build("");
  AccessVerdict v = Rcpt(*a, Outside(), "x@elsewhere.example");
  EXPECT_EQ(v.result, Result::kReject);
  EXPECT_EQ(v.reply, "554 5.7.1 <x@elsewhere.example>: Relay access denied");
  EXPECT_EQ(OnlyLog(v),
            "NOQUEUE: reject: RCPT from client.example.net[203.0.113.5]: 554 5.7.1 "
            "<x@elsewhere.example>: Relay access denied; from=<a@sender.example> "
            "to=<x@elsewhere.example> proto=ESMTP helo=<helo.example.net>");
  // Our own domain is fine for anybody.
  EXPECT_EQ(Reply(Rcpt(*a, Outside(), "root@mx.example.com")), "");
  EXPECT_EQ(Reply(Rcpt(*a, Outside(), "root@MX.Example.COM.")), "");
}

TEST_F(SmtpdAccessTest, LetsMynetworksRelayAndLogsPermitsWhenAsked) {
  auto a = Build("smtpd_log_access_permit_actions = static:all\n");
  AccessVerdict v = Rcpt(*a, Inside(), "x@elsewhere.example");
  // The empty recipient list and the implicit recipient check come after
  // the permit: RCPT ends undecided, which lets the recipient in.
  EXPECT_EQ(v.result, Result::kNone);
  // Postfix leaves a blank before the ';' of a permit without details.
  EXPECT_EQ(OnlyLog(v),
            "NOQUEUE: permit: RCPT from unknown[192.0.2.10]: action=permit_mynetworks for Client "
            "host=unknown[192.0.2.10] ; from=<a@sender.example> to=<x@elsewhere.example> "
            "proto=ESMTP helo=<helo.example.net>");
  EXPECT_TRUE(a->InMynetworks("192.0.2.200"));
  EXPECT_TRUE(a->InMynetworks("::ffff:127.0.0.1"));
  EXPECT_FALSE(a->InMynetworks("203.0.113.5"));
  EXPECT_EQ(a->mynetworks(), "127.0.0.0/8, 192.0.2.0/24");
}

TEST_F(SmtpdAccessTest, DefaultRelayRestrictionsDeferWithA4xxCode) {
  auto a = Build("smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, "
                 "defer_unauth_destination\n");
  EXPECT_EQ(Reply(Rcpt(*a, Outside(), "x@elsewhere.example")),
            "454 4.7.1 <x@elsewhere.example>: Relay access denied");
  EXPECT_EQ(Rcpt(*a, Outside(), "x@elsewhere.example").result, Result::kDefer);
}

TEST_F(SmtpdAccessTest, ChecksLocalRecipientsAgainstThePasswordFile) {
  auto a = Build("");
  EXPECT_EQ(Reply(Rcpt(*a, Outside(), "root@mx.example.com")), "");
  AccessVerdict v = Rcpt(*a, Outside(), "nosuchuser@mx.example.com");
  EXPECT_EQ(v.reply,
            "550 5.1.1 <nosuchuser@mx.example.com>: Recipient address rejected: User unknown in "
            "local recipient table");
  EXPECT_EQ(OnlyLog(v),
            "NOQUEUE: reject: RCPT from client.example.net[203.0.113.5]: 550 5.1.1 "
            "<nosuchuser@mx.example.com>: Recipient address rejected: User unknown in local "
            "recipient table; from=<a@sender.example> to=<nosuchuser@mx.example.com> proto=ESMTP "
            "helo=<helo.example.net>");
  // Without a recipient delimiter an extension is part of the name.
  EXPECT_NE(Reply(Rcpt(*a, Outside(), "root+ext@mx.example.com")), "");
  // postmaster@, MAILER-DAEMON@ and double-bounce@ always exist.
  EXPECT_EQ(Reply(Rcpt(*a, Outside(), "postmaster@mx.example.com")), "");
  EXPECT_EQ(Reply(Rcpt(*a, Outside(), "MAILER-DAEMON@mx.example.com")), "");
  EXPECT_EQ(Reply(Rcpt(*a, Outside(), "double-bounce@mx.example.com")), "");
  // A bare local part is qualified with $myorigin.
  EXPECT_EQ(Reply(Rcpt(*a, Inside(), "nosuchuser")),
            "550 5.1.1 <nosuchuser>: Recipient address rejected: User unknown in local recipient "
            "table");

  auto ext = Build("recipient_delimiter = +\n"
                   "unknown_local_recipient_reject_code = 450\n"
                   "local_recipient_maps = unix:passwd.byname\n");
  EXPECT_EQ(Reply(Rcpt(*ext, Outside(), "root+ext@mx.example.com")), "");
  EXPECT_EQ(Reply(Rcpt(*ext, Outside(), "nosuchuser@mx.example.com")),
            "450 4.1.1 <nosuchuser@mx.example.com>: Recipient address rejected: User unknown in "
            "local recipient table");

  auto off = Build("smtpd_reject_unlisted_recipient = no\n");
  EXPECT_EQ(Reply(Rcpt(*off, Outside(), "nosuchuser@mx.example.com")), "");
  auto overridden = Build("receive_override_options = no_unknown_recipient_checks\n");
  EXPECT_EQ(Reply(Rcpt(*overridden, Outside(), "nosuchuser@mx.example.com")), "");
  auto hidden = Build("show_user_unknown_table_name = no\n");
  EXPECT_EQ(Reply(Rcpt(*hidden, Outside(), "nosuchuser@mx.example.com")),
            "550 5.1.1 <nosuchuser@mx.example.com>: Recipient address rejected: User unknown");
  auto none = Build("local_recipient_maps =\n");
  EXPECT_EQ(Reply(Rcpt(*none, Outside(), "nosuchuser@mx.example.com")), "");
}

TEST_F(SmtpdAccessTest, ChecksVirtualAndRelayRecipientTables) {
  Write("virtual", "a@valias.example b@elsewhere.example\n");
  Write("vmailbox", "u@vmail.example u/\n");
  Write("relay_rcpts", "r@relay.example x\n@sub.relay.example x\n");
  auto a = Build(
      "virtual_alias_domains = valias.example\n"
      "virtual_alias_maps = hash:$config_directory/virtual\n"
      "virtual_mailbox_domains = vmail.example\n"
      "virtual_mailbox_maps = hash:$config_directory/vmailbox\n"
      "relay_domains = relay.example\n"
      "relay_recipient_maps = hash:$config_directory/relay_rcpts\n");
  SmtpdFacts f = Outside();
  EXPECT_EQ(Reply(Rcpt(*a, f, "a@valias.example")), "");
  EXPECT_EQ(Reply(Rcpt(*a, f, "b@valias.example")),
            "550 5.1.1 <b@valias.example>: Recipient address rejected: User unknown in virtual "
            "alias table");
  EXPECT_EQ(Reply(Rcpt(*a, f, "u@vmail.example")), "");
  EXPECT_EQ(Reply(Rcpt(*a, f, "v@vmail.example")),
            "550 5.1.1 <v@vmail.example>: Recipient address rejected: User unknown in virtual "
            "mailbox table");
  EXPECT_EQ(Reply(Rcpt(*a, f, "r@relay.example")), "");
  EXPECT_EQ(Reply(Rcpt(*a, f, "s@relay.example")),
            "550 5.1.1 <s@relay.example>: Recipient address rejected: User unknown in relay "
            "recipient table");
  // relay_domains matches subdomains (parent_domain_matches_subdomains).
  EXPECT_EQ(Reply(Rcpt(*a, f, "any@sub.relay.example")), "");
  EXPECT_EQ(Reply(Rcpt(*a, f, "any@other.relay.example")),
            "550 5.1.1 <any@other.relay.example>: Recipient address rejected: User unknown in "
            "relay recipient table");
}

TEST_F(SmtpdAccessTest, RejectsUnlistedSenders) {
  auto a = Build("smtpd_sender_restrictions = reject_unlisted_sender\n");
  SmtpdFacts f = Outside();
  f.sender = "nosuchuser@mx.example.com";
  AccessVerdict v = Rcpt(*a, f, "root@mx.example.com");
  EXPECT_EQ(v.reply,
            "550 5.1.0 <nosuchuser@mx.example.com>: Sender address rejected: User unknown in local "
            "recipient table");
  f.sender = "root@mx.example.com";
  EXPECT_EQ(Reply(Rcpt(*a, f, "root@mx.example.com")), "");
  f.sender = "";  // the null sender is never checked
  EXPECT_EQ(Reply(Rcpt(*a, f, "root@mx.example.com")), "");

  // An unknown sender in a virtual alias domain: 5.1.7 in a live Postfix
  // 3.7.11, where the mailbox and relay tables give a sender 5.1.0.
  Write("virtual", "a@valias.example b@elsewhere.example\n");
  Write("vmailbox", "u@vmail.example u/\n");
  auto virt = Build(
      "smtpd_sender_restrictions = reject_unlisted_sender\n"
      "virtual_alias_domains = valias.example\n"
      "virtual_alias_maps = hash:$config_directory/virtual\n"
      "virtual_mailbox_domains = vmail.example\n"
      "virtual_mailbox_maps = hash:$config_directory/vmailbox\n");
  f.sender = "other@valias.example";
  EXPECT_EQ(Reply(Rcpt(*virt, f, "root@mx.example.com")),
            "550 5.1.7 <other@valias.example>: Sender address rejected: User unknown in virtual "
            "alias table");
  f.sender = "nobox@vmail.example";
  EXPECT_EQ(Reply(Rcpt(*virt, f, "root@mx.example.com")),
            "550 5.1.0 <nobox@vmail.example>: Sender address rejected: User unknown in virtual "
            "mailbox table");

  auto implicit = Build("smtpd_reject_unlisted_sender = yes\n");
  f.sender = "nosuchuser@mx.example.com";
  EXPECT_EQ(Reply(Rcpt(*implicit, f, "root@mx.example.com")),
            "550 5.1.0 <nosuchuser@mx.example.com>: Sender address rejected: User unknown in local "
            "recipient table");
}

TEST_F(SmtpdAccessTest, SearchesClientAccessByNameParentsAndAddress) {
  Write("clients",
        "bad.example.net REJECT\n"
        "example.com REJECT parent rule\n"
        "203.0.113 REJECT net rule\n"
        "dunno.example DUNNO\n"
        "198.51.100.7 REJECT exact address\n");
  Write("clients.cidr", "198.51.100.0/24 REJECT cidr rule\n");
  auto a = Build("smtpd_client_restrictions = check_client_access hash:$config_directory/clients,"
                 " cidr:$config_directory/clients.cidr\n");
  SmtpdFacts f = Outside();
  f.client_name = "bad.example.net";
  f.client_addr = "192.0.2.50";  // in mynetworks, but the client list comes first
  AccessVerdict v = Rcpt(*a, f, "root@mx.example.com");
  EXPECT_EQ(v.reply, "554 5.7.1 <bad.example.net[192.0.2.50]>: Client host rejected: Access denied");
  EXPECT_EQ(OnlyLog(v),
            "NOQUEUE: reject: RCPT from bad.example.net[192.0.2.50]: 554 5.7.1 "
            "<bad.example.net[192.0.2.50]>: Client host rejected: Access denied; "
            "from=<a@sender.example> to=<root@mx.example.com> proto=ESMTP helo=<helo.example.net>");
  f.client_name = "deep.host.example.com";
  EXPECT_EQ(Reply(Rcpt(*a, f, "root@mx.example.com")),
            "554 5.7.1 <deep.host.example.com[192.0.2.50]>: Client host rejected: parent rule");
  f.client_name = "unknown";
  f.client_addr = "203.0.113.9";
  EXPECT_EQ(Reply(Rcpt(*a, f, "root@mx.example.com")),
            "554 5.7.1 <unknown[203.0.113.9]>: Client host rejected: net rule");
  // DUNNO on the name ends the search: the address rule is not consulted.
  f.client_name = "mail.dunno.example";
  EXPECT_EQ(Reply(Rcpt(*a, f, "root@mx.example.com")), "");
  f.client_name = "unknown";
  f.client_addr = "198.51.100.7";
  EXPECT_EQ(Reply(Rcpt(*a, f, "root@mx.example.com")),
            "554 5.7.1 <unknown[198.51.100.7]>: Client host rejected: exact address");
  // A bare type:table in the client list is check_client_access.
  f.client_addr = "198.51.100.8";
  EXPECT_EQ(Reply(Rcpt(*a, f, "root@mx.example.com")),
            "554 5.7.1 <unknown[198.51.100.8]>: Client host rejected: cidr rule");
}

TEST_F(SmtpdAccessTest, ChecksHeloNames) {
  Write("helos", "badhelo.example REJECT go away\nexample.org REJECT parent\n1.2.3.4 OK\n");
  auto a = Build("smtpd_helo_restrictions = check_helo_access hash:$config_directory/helos,"
                 " reject_non_fqdn_helo_hostname, reject_invalid_helo_hostname\n");
  SmtpdFacts f = Outside();
  f.helo = "badhelo.example";
  EXPECT_EQ(Reply(Rcpt(*a, f, "root@mx.example.com")),
            "554 5.7.1 <badhelo.example>: Helo command rejected: go away");
  f.helo = "a.b.example.org";
  EXPECT_EQ(Reply(Rcpt(*a, f, "root@mx.example.com")),
            "554 5.7.1 <a.b.example.org>: Helo command rejected: parent");
  f.helo = "bad_name!";
  EXPECT_EQ(Reply(Rcpt(*a, f, "root@mx.example.com")),
            "504 5.5.2 <bad_name!>: Helo command rejected: need fully-qualified hostname");
  f.helo = "localhost";
  EXPECT_EQ(Reply(Rcpt(*a, f, "root@mx.example.com")),
            "504 5.5.2 <localhost>: Helo command rejected: need fully-qualified hostname");
  f.helo = "[1.2.3]";
  EXPECT_EQ(Reply(Rcpt(*a, f, "root@mx.example.com")),
            "501 5.5.2 <[1.2.3]>: Helo command rejected: invalid ip address");
  f.helo = "[1.2.3.4]";
  EXPECT_EQ(Reply(Rcpt(*a, f, "root@mx.example.com")), "");
  f.helo = "mail.example.net.";  // one trailing dot is fine
  EXPECT_EQ(Reply(Rcpt(*a, f, "root@mx.example.com")), "");
  f.helo = "";  // no HELO: HELO restrictions do not apply
  EXPECT_EQ(Reply(Rcpt(*a, f, "root@mx.example.com")), "");

  auto invalid = Build("smtpd_helo_restrictions = reject_invalid_helo_hostname\n");
  f.helo = "a..b";
  EXPECT_EQ(Reply(Rcpt(*invalid, f, "root@mx.example.com")),
            "501 5.5.2 <a..b>: Helo command rejected: Invalid name");
  f.helo = "localhost";
  EXPECT_EQ(Reply(Rcpt(*invalid, f, "root@mx.example.com")), "");
  f.helo = "-bad-.example";
  EXPECT_NE(Reply(Rcpt(*invalid, f, "root@mx.example.com")), "");
}

// Asks with the answers in `dns`, and checks that every DNS answer the
// evaluator needed was there (it asks for a missing one instead of deciding).
AccessVerdict RcptWithDns(const SmtpdAccess& a, SmtpdFacts f, const std::string& rcpt,
                          const SmtpdDnsAnswers& dns) {
  f.recipient = rcpt;
  f.dns = &dns;
  AccessVerdict v = a.Check(SmtpdStage::kRcpt, f);
  EXPECT_FALSE(v.dns_needed) << (v.dns_needed ? v.dns_needed->name : "");
  return v;
}

TEST_F(SmtpdAccessTest, AsksForTheDnsAnswersItNeedsAndNothingElse) {
  auto a = Build("smtpd_sender_restrictions = reject_unknown_sender_domain\n"
                 "smtpd_recipient_restrictions = reject_unknown_recipient_domain\n"
                 "smtpd_helo_restrictions = reject_unknown_helo_hostname\n"
                 "relay_domains = relay.example\n"
                 "virtual_alias_domains = alias.example\n");
  SmtpdFacts f = Inside();
  f.recipient = "x@relay.example";
  // HELO first (delayed to RCPT: client, HELO, sender, then recipient lists).
  AccessVerdict v = a->Check(SmtpdStage::kRcpt, f);
  ASSERT_TRUE(v.dns_needed);
  EXPECT_EQ(v.dns_needed->kind, SmtpdDnsKind::kHostName);
  EXPECT_EQ(v.dns_needed->name, "helo.example.net");
  EXPECT_EQ(v.result, Result::kNone);
  EXPECT_TRUE(v.log_lines.empty());
  SmtpdDnsAnswers dns{{{SmtpdDnsKind::kHostName, "helo.example.net"}, SmtpdDnsStatus::kOk}};
  f.dns = &dns;
  v = a->Check(SmtpdStage::kRcpt, f);
  ASSERT_TRUE(v.dns_needed);
  EXPECT_EQ(v.dns_needed->kind, SmtpdDnsKind::kMailHost);
  EXPECT_EQ(v.dns_needed->name, "sender.example");
  dns[{SmtpdDnsKind::kMailHost, "sender.example"}] = SmtpdDnsStatus::kOk;
  v = a->Check(SmtpdStage::kRcpt, f);
  ASSERT_TRUE(v.dns_needed);
  EXPECT_EQ(v.dns_needed->name, "relay.example");  // relay domains are not final: checked
  dns[{SmtpdDnsKind::kMailHost, "relay.example"}] = SmtpdDnsStatus::kOk;
  v = a->Check(SmtpdStage::kRcpt, f);
  EXPECT_FALSE(v.dns_needed);
  EXPECT_EQ(Reply(v), "");

  // Domains we are the final destination for, address literals, the null
  // sender and postmaster need no DNS.
  SmtpdDnsAnswers helo_only{{{SmtpdDnsKind::kHostName, "helo.example.net"}, SmtpdDnsStatus::kOk}};
  f.sender = "a@mx.example.com";
  EXPECT_EQ(Reply(RcptWithDns(*a, f, "root@mx.example.com", helo_only)), "");
  const std::string unlisted =
      "550 5.1.1 <x@alias.example>: Recipient address rejected: User unknown in virtual alias table";
  EXPECT_EQ(Reply(RcptWithDns(*a, f, "x@alias.example", helo_only)), unlisted);
  EXPECT_EQ(Reply(RcptWithDns(*a, f, "x@[192.0.2.1]", helo_only)), "");
  f.sender = "";
  EXPECT_EQ(Reply(RcptWithDns(*a, f, "postmaster", {})), "");
  f.sender = "a@[192.0.2.7]";
  f.helo = "[192.0.2.7]";
  EXPECT_EQ(Reply(RcptWithDns(*a, f, "x@alias.example", {})), unlisted);
}

TEST_F(SmtpdAccessTest, RejectsUnknownSenderAndRecipientDomainsAsPostfixDoes) {
  auto a = Build("smtpd_sender_restrictions = reject_unknown_sender_domain\n"
                 "smtpd_recipient_restrictions = permit_mynetworks, reject_unknown_recipient_domain,"
                 " reject\n");
  SmtpdFacts f = Outside();
  f.sender = "a@nx.example";
  SmtpdDnsAnswers dns{{{SmtpdDnsKind::kMailHost, "nx.example"}, SmtpdDnsStatus::kNotFound},
                      {{SmtpdDnsKind::kMailHost, "null.example"}, SmtpdDnsStatus::kNullMx},
                      {{SmtpdDnsKind::kMailHost, "slow.example"}, SmtpdDnsStatus::kTempFail},
                      {{SmtpdDnsKind::kMailHost, "ok.example"}, SmtpdDnsStatus::kOk}};
  AccessVerdict v = RcptWithDns(*a, f, "root@mx.example.com", dns);
  EXPECT_EQ(Reply(v), "450 4.1.8 <a@nx.example>: Sender address rejected: Domain not found");
  EXPECT_EQ(OnlyLog(v),
            "NOQUEUE: reject: RCPT from client.example.net[203.0.113.5]: 450 4.1.8 "
            "<a@nx.example>: Sender address rejected: Domain not found; from=<a@nx.example> "
            "to=<root@mx.example.com> proto=ESMTP helo=<helo.example.net>");
  f.sender = "a@null.example";
  EXPECT_EQ(Reply(RcptWithDns(*a, f, "root@mx.example.com", dns)),
            "550 5.7.27 <a@null.example>: Sender address rejected: Domain null.example does not "
            "accept mail (nullMX)");
  // A temporary failure defers what would otherwise be let through
  // (unknown_address_tempfail_action = $reject_tempfail_action =
  // defer_if_permit); a later reject still rejects.
  f.sender = "a@slow.example";
  EXPECT_EQ(Reply(RcptWithDns(*a, f, "root@mx.example.com", dns)),
            "554 5.7.1 <root@mx.example.com>: Recipient address rejected: Access denied");
  SmtpdFacts inside = Inside();
  inside.sender = "a@slow.example";
  EXPECT_EQ(Reply(RcptWithDns(*a, inside, "x@other.example", dns)),
            "450 4.1.8 <a@slow.example>: Sender address rejected: Domain not found");

  // A UTF-8 sender domain is asked about in its ASCII form.
  f.sender = "a@b\xC3\xBC" "cher.example";
  f.smtputf8 = true;
  SmtpdDnsAnswers idna{{{SmtpdDnsKind::kMailHost, "xn--bcher-kva.example"}, SmtpdDnsStatus::kNullMx}};
  EXPECT_EQ(Reply(RcptWithDns(*a, f, "root@mx.example.com", idna)),
            "550 5.7.27 <a@b\xC3\xBC" "cher.example>: Sender address rejected: Domain "
            "xn--bcher-kva.example does not accept mail (nullMX)");
  f.smtputf8 = false;

  f = Inside();  // mynetworks: permitted before the recipient check
  EXPECT_EQ(Reply(RcptWithDns(*a, f, "x@nx.example", {{{SmtpdDnsKind::kMailHost, "sender.example"},
                                                       SmtpdDnsStatus::kOk}})),
            "");
  f = Outside();
  f.sender = "a@ok.example";
  auto b = Build("smtpd_recipient_restrictions = reject_unknown_recipient_domain,"
                 " permit_mynetworks, reject_unauth_destination\n"
                 "unknown_address_reject_code = 550\n"
                 "relay_domains = nx.example, null.example, slow.example\n");
  EXPECT_EQ(Reply(RcptWithDns(*b, f, "x@nx.example", dns)),
            "550 5.1.2 <x@nx.example>: Recipient address rejected: Domain not found");
  EXPECT_EQ(Reply(RcptWithDns(*b, f, "x@null.example", dns)),
            "556 5.1.10 <x@null.example>: Recipient address rejected: Domain null.example does not "
            "accept mail (nullMX)");
  // defer_if_permit, and the relay domain would be permitted: deferred.
  EXPECT_EQ(Reply(RcptWithDns(*b, f, "x@slow.example", dns)),
            "450 4.1.2 <x@slow.example>: Recipient address rejected: Domain not found");

  auto c = Build("smtpd_recipient_restrictions = reject_unknown_recipient_domain, reject\n"
                 "unknown_address_tempfail_action = defer\n"
                 "relay_domains = nx.example, slow.example\n");
  f.sender = "a@ok.example";
  v = RcptWithDns(*c, f, "x@slow.example", dns);
  EXPECT_EQ(Reply(v), "450 4.1.2 <x@slow.example>: Recipient address rejected: Domain not found");
  auto w = Build("smtpd_recipient_restrictions = warn_if_reject reject_unknown_recipient_domain,"
                 " permit\n"
                 "relay_domains = nx.example\n");
  v = RcptWithDns(*w, f, "x@nx.example", dns);
  EXPECT_EQ(Reply(v), "");
  EXPECT_NE(OnlyLog(v).find("reject_warning: RCPT from client.example.net[203.0.113.5]: 450 4.1.2 "
                            "<x@nx.example>: Recipient address rejected: Domain not found"),
            std::string::npos)
      << OnlyLog(v);
}

TEST_F(SmtpdAccessTest, RejectsUnknownHeloHostnames) {
  auto a = Build("smtpd_helo_restrictions = reject_unknown_helo_hostname\n");
  SmtpdFacts f = Outside();
  SmtpdDnsAnswers dns{{{SmtpdDnsKind::kHostName, "nx.example"}, SmtpdDnsStatus::kNotFound},
                      {{SmtpdDnsKind::kHostName, "slow.example"}, SmtpdDnsStatus::kTempFail},
                      {{SmtpdDnsKind::kHostName, "null.example"}, SmtpdDnsStatus::kNullMx}};
  f.helo = "nx.example";
  EXPECT_EQ(Reply(RcptWithDns(*a, f, "root@mx.example.com", dns)),
            "450 4.7.1 <nx.example>: Helo command rejected: Host not found");
  f.helo = "null.example";  // a host name may have a null MX
  EXPECT_EQ(Reply(RcptWithDns(*a, f, "root@mx.example.com", dns)), "");
  f.helo = "slow.example";  // defer_if_permit: the RCPT would pass, so it is deferred
  EXPECT_EQ(Reply(RcptWithDns(*a, f, "root@mx.example.com", dns)),
            "450 4.7.1 <slow.example>: Helo command rejected: Host not found");
  f.helo = "[1.2.3]";
  EXPECT_EQ(Reply(RcptWithDns(*a, f, "root@mx.example.com", dns)),
            "501 5.5.2 <[1.2.3]>: Helo command rejected: invalid ip address");
  auto b = Build("smtpd_helo_restrictions = reject_unknown_hostname, permit\n"
                 "unknown_hostname_reject_code = 554\n"
                 "unknown_helo_hostname_tempfail_action = defer\n");
  f.helo = "nx.example";
  EXPECT_EQ(Reply(RcptWithDns(*b, f, "root@mx.example.com", dns)),
            "554 5.7.1 <nx.example>: Helo command rejected: Host not found");
  f.helo = "slow.example";
  EXPECT_EQ(Reply(RcptWithDns(*b, f, "root@mx.example.com", dns)),
            "450 4.7.1 <slow.example>: Helo command rejected: Host not found");
  // With smtpd_delay_reject = no the HELO command itself is checked.
  auto c = Build("smtpd_delay_reject = no\nsmtpd_helo_restrictions = reject_unknown_helo_hostname\n");
  f.helo = "nx.example";
  f.dns = &dns;
  EXPECT_EQ(Reply(c->Check(SmtpdStage::kHelo, f)),
            "450 4.7.1 <nx.example>: Helo command rejected: Host not found");
}

SmtpdDnsAnswer Listed(std::vector<std::string> addresses, std::string text = "") {
  SmtpdDnsAnswer a(SmtpdDnsStatus::kOk);
  a.addresses = std::move(addresses);
  a.text = std::move(text);
  return a;
}

TEST_F(SmtpdAccessTest, RejectsClientsOnDnsBlockLists) {
  auto a = Build("smtpd_client_restrictions = reject_rbl_client bl.example,"
                 " reject_rbl_client picky.example=127.0.0.[2;4..5]\n");
  SmtpdFacts f = Outside();  // 203.0.113.5
  SmtpdDnsAnswers dns{
      {{SmtpdDnsKind::kList, "5.113.0.203.bl.example"},
       Listed({"127.0.0.2"}, "Listed; see https://bl.example/?203.0.113.5")},
      {{SmtpdDnsKind::kList, "5.113.0.203.picky.example"}, Listed({"127.0.0.3"})}};
  AccessVerdict v = RcptWithDns(*a, f, "root@mx.example.com", dns);
  EXPECT_EQ(Reply(v),
            "554 5.7.1 Service unavailable; Client host [203.0.113.5] blocked using bl.example; "
            "Listed; see https://bl.example/?203.0.113.5");
  EXPECT_EQ(OnlyLog(v),
            "NOQUEUE: reject: RCPT from client.example.net[203.0.113.5]: 554 5.7.1 Service "
            "unavailable; Client host [203.0.113.5] blocked using bl.example; Listed; see "
            "https://bl.example/?203.0.113.5; from=<a@sender.example> to=<root@mx.example.com> "
            "proto=ESMTP helo=<helo.example.net>");
  // Not listed in the first; the second lists 127.0.0.3, which its filter leaves out.
  dns[{SmtpdDnsKind::kList, "5.113.0.203.bl.example"}] = SmtpdDnsStatus::kNotFound;
  EXPECT_EQ(Reply(RcptWithDns(*a, f, "root@mx.example.com", dns)), "");
  dns[{SmtpdDnsKind::kList, "5.113.0.203.picky.example"}] = Listed({"127.0.0.3", "127.0.0.5"});
  EXPECT_EQ(Reply(RcptWithDns(*a, f, "root@mx.example.com", dns)),
            "554 5.7.1 Service unavailable; Client host [203.0.113.5] blocked using picky.example");
  // A list that cannot be asked lets the client through.
  dns[{SmtpdDnsKind::kList, "5.113.0.203.picky.example"}] = SmtpdDnsStatus::kTempFail;
  EXPECT_EQ(Reply(RcptWithDns(*a, f, "root@mx.example.com", dns)), "");

  // IPv6 clients: reversed nibbles.
  f.client_addr = "2001:db8::1";
  AccessVerdict ask = a->Check(SmtpdStage::kRcpt, [&] {
    SmtpdFacts g = f;
    g.recipient = "root@mx.example.com";
    return g;
  }());
  ASSERT_TRUE(ask.dns_needed);
  EXPECT_EQ(ask.dns_needed->kind, SmtpdDnsKind::kList);
  EXPECT_EQ(ask.dns_needed->name,
            "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.bl.example");
}

TEST_F(SmtpdAccessTest, DnsListRepliesFollowTheTemplates) {
  Write("rbl_replies", "bl.example 550 5.7.9 Go away $rbl_what (${rbl_reason:no reason}), "
                       "client $client_address helo $helo_name\n"
                       "broken.example $no_such_variable here\n"
                       "nocode.example blocked by $rbl_domain\n");
  auto a = Build("smtpd_client_restrictions = reject_rbl_client bl.example,"
                 " reject_rbl_client broken.example, reject_rbl_client nocode.example\n"
                 "rbl_reply_maps = hash:$config_directory/rbl_replies\n");
  SmtpdFacts f = Outside();
  SmtpdDnsAnswers dns{{{SmtpdDnsKind::kList, "5.113.0.203.bl.example"}, Listed({"127.0.0.2"})},
                      {{SmtpdDnsKind::kList, "5.113.0.203.broken.example"},
                       Listed({"127.0.0.2"}, "bad\x01text")},
                      {{SmtpdDnsKind::kList, "5.113.0.203.nocode.example"}, Listed({"127.0.0.2"})}};
  EXPECT_EQ(Reply(RcptWithDns(*a, f, "root@mx.example.com", dns)),
            "550 5.7.9 Go away 203.0.113.5 (no reason), client 203.0.113.5 helo helo.example.net");
  // ${name:text} is the text only when the name is empty (as a live Postfix
  // 3.7 expands it), never the name's own value.
  dns[{SmtpdDnsKind::kList, "5.113.0.203.bl.example"}] = Listed({"127.0.0.2"}, "a reason");
  EXPECT_EQ(Reply(RcptWithDns(*a, f, "root@mx.example.com", dns)),
            "550 5.7.9 Go away 203.0.113.5 (), client 203.0.113.5 helo helo.example.net");
  // A template that does not expand falls back to default_rbl_reply, with a
  // warning; values lose characters outside smtpd_expand_filter.
  dns[{SmtpdDnsKind::kList, "5.113.0.203.bl.example"}] = SmtpdDnsStatus::kNotFound;
  AccessVerdict v = RcptWithDns(*a, f, "root@mx.example.com", dns);
  EXPECT_EQ(Reply(v),
            "554 5.7.1 Service unavailable; Client host [203.0.113.5] blocked using "
            "broken.example; bad_text");
  ASSERT_EQ(v.warnings.size(), 1u);
  EXPECT_NE(v.warnings[0].find("bad rbl reply template for domain broken.example"),
            std::string::npos);
  // A reply without a code: a warning and a generic deferral.
  dns[{SmtpdDnsKind::kList, "5.113.0.203.broken.example"}] = SmtpdDnsStatus::kNotFound;
  v = RcptWithDns(*a, f, "root@mx.example.com", dns);
  EXPECT_EQ(Reply(v), "450 4.7.1 Service unavailable");
  EXPECT_NE(v.warnings.at(0).find("rbl response code configuration error: blocked by nocode.example"),
            std::string::npos);

  auto b = Build("smtpd_client_restrictions = reject_rbl_client bl.example\n"
                 "maps_rbl_reject_code = 450\n");
  dns[{SmtpdDnsKind::kList, "5.113.0.203.bl.example"}] = Listed({"127.0.0.2"});
  EXPECT_EQ(Reply(RcptWithDns(*b, f, "root@mx.example.com", dns)),
            "450 4.7.1 Service unavailable; Client host [203.0.113.5] blocked using bl.example");
}

TEST_F(SmtpdAccessTest, RejectsNamesOnDomainBlockLists) {
  auto a = Build("smtpd_client_restrictions = reject_rhsbl_client dbl.example,"
                 " reject_rhsbl_reverse_client dbl.example\n"
                 "smtpd_helo_restrictions = reject_rhsbl_helo dbl.example\n"
                 "smtpd_sender_restrictions = reject_rhsbl_sender dbl.example\n"
                 "smtpd_recipient_restrictions = reject_rhsbl_recipient dbl.example=127.0.1.2\n");
  SmtpdFacts f = Outside();
  SmtpdDnsAnswers clean{{{SmtpdDnsKind::kList, "client.example.net.dbl.example"}, SmtpdDnsStatus::kNotFound},
                        {{SmtpdDnsKind::kList, "unknown.dbl.example"}, SmtpdDnsStatus::kNotFound},
                        {{SmtpdDnsKind::kList, "helo.example.net.dbl.example"}, SmtpdDnsStatus::kNotFound},
                        {{SmtpdDnsKind::kList, "sender.example.dbl.example"}, SmtpdDnsStatus::kNotFound},
                        {{SmtpdDnsKind::kList, "mx.example.com.dbl.example"}, SmtpdDnsStatus::kNotFound}};
  f.reverse_client_name = "client.example.net";
  EXPECT_EQ(Reply(RcptWithDns(*a, f, "root@mx.example.com", clean)), "");
  SmtpdDnsAnswers dns = clean;
  dns[{SmtpdDnsKind::kList, "sender.example.dbl.example"}] = Listed({"127.0.1.2"}, "spam domain");
  EXPECT_EQ(Reply(RcptWithDns(*a, f, "root@mx.example.com", dns)),
            "554 5.7.1 Service unavailable; Sender address [a@sender.example] blocked using "
            "dbl.example; spam domain");
  dns = clean;
  dns[{SmtpdDnsKind::kList, "helo.example.net.dbl.example"}] = Listed({"127.0.1.2"});
  EXPECT_EQ(Reply(RcptWithDns(*a, f, "root@mx.example.com", dns)),
            "554 5.7.1 Service unavailable; Helo command [helo.example.net] blocked using "
            "dbl.example");
  dns = clean;
  dns[{SmtpdDnsKind::kList, "client.example.net.dbl.example"}] = Listed({"127.0.1.2"});
  EXPECT_EQ(Reply(RcptWithDns(*a, f, "root@mx.example.com", dns)),
            "554 5.7.1 Service unavailable; Client host [client.example.net] blocked using "
            "dbl.example");
  // The recipient list's filter wants 127.0.1.2 exactly.
  dns = clean;
  dns[{SmtpdDnsKind::kList, "mx.example.com.dbl.example"}] = Listed({"127.0.1.3"});
  EXPECT_EQ(Reply(RcptWithDns(*a, f, "root@mx.example.com", dns)), "");
  dns[{SmtpdDnsKind::kList, "mx.example.com.dbl.example"}] = Listed({"127.0.1.2"});
  EXPECT_EQ(Reply(RcptWithDns(*a, f, "root@mx.example.com", dns)),
            "554 5.7.1 Service unavailable; Recipient address [root@mx.example.com] blocked using "
            "dbl.example");
  // Unknown client names, address literals and numeric names are not looked up.
  f.client_name = f.reverse_client_name = "unknown";
  f.helo = "[192.0.2.1]";
  f.sender = "a@[192.0.2.1]";
  EXPECT_EQ(Reply(RcptWithDns(*a, f, "x@192.0.2.1.example.123", clean)).substr(0, 3), "554");
}

TEST_F(SmtpdAccessTest, PermitsClientsOnDnsAllowLists) {
  auto a = Build("smtpd_client_restrictions = permit_dnswl_client wl.example, reject\n");
  SmtpdFacts f = Outside();
  SmtpdDnsAnswers dns{{{SmtpdDnsKind::kList, "5.113.0.203.wl.example"}, Listed({"127.0.10.1"})}};
  EXPECT_EQ(Reply(RcptWithDns(*a, f, "root@mx.example.com", dns)), "");
  dns[{SmtpdDnsKind::kList, "5.113.0.203.wl.example"}] = SmtpdDnsStatus::kNotFound;
  EXPECT_EQ(Reply(RcptWithDns(*a, f, "root@mx.example.com", dns)),
            "554 5.7.1 <client.example.net[203.0.113.5]>: Client host rejected: Access denied");
  // The list cannot be asked: the reject that follows becomes a deferral.
  dns[{SmtpdDnsKind::kList, "5.113.0.203.wl.example"}] = SmtpdDnsStatus::kTempFail;
  EXPECT_EQ(Reply(RcptWithDns(*a, f, "root@mx.example.com", dns)),
            "450 4.7.1 <203.0.113.5>: Client host rejected: Service unavailable");
  // Never for a recipient we would not relay to: no lookup at all.
  auto b = Build("smtpd_recipient_restrictions = permit_dnswl_client wl.example,"
                 " reject_unauth_destination\n"
                 "smtpd_relay_restrictions =\n");
  EXPECT_EQ(Reply(RcptWithDns(*b, f, "x@elsewhere.example", {})),
            "554 5.7.1 <x@elsewhere.example>: Relay access denied");
  auto c = Build("smtpd_client_restrictions = permit_rhswl_client rhswl.example, reject\n");
  dns = {{{SmtpdDnsKind::kList, "client.example.net.rhswl.example"}, Listed({"127.0.0.2"})}};
  EXPECT_EQ(Reply(RcptWithDns(*c, f, "root@mx.example.com", dns)), "");
}

TEST_F(SmtpdAccessTest, SenderLoginMismatchChecksTheSenderLoginMaps) {
  Write("logins", "alice@example.org alice, Alice2\n@shared.example team\n");
  auto a = Build("smtpd_sasl_auth_enable = yes\n"
                 "smtpd_sender_login_maps = hash:$config_directory/logins\n"
                 "smtpd_sender_restrictions = reject_sender_login_mismatch\n");
  SmtpdFacts f = Inside();
  // Not logged in: a sender somebody owns is refused, others pass.
  f.sender = "alice@example.org";
  AccessVerdict v = Rcpt(*a, f, "root@mx.example.com");
  EXPECT_EQ(Reply(v), "553 5.7.1 <alice@example.org>: Sender address rejected: not logged in");
  EXPECT_EQ(OnlyLog(v),
            "NOQUEUE: reject: RCPT from unknown[192.0.2.10]: 553 5.7.1 <alice@example.org>: "
            "Sender address rejected: not logged in; from=<alice@example.org> "
            "to=<root@mx.example.com> proto=ESMTP helo=<helo.example.net>");
  f.sender = "bob@shared.example";  // the @domain entry owns the whole domain
  EXPECT_EQ(Reply(Rcpt(*a, f, "root@mx.example.com")),
            "553 5.7.1 <bob@shared.example>: Sender address rejected: not logged in");
  f.sender = "carol@free.example";
  EXPECT_EQ(Reply(Rcpt(*a, f, "root@mx.example.com")), "");
  // Logged in: the login must be among the owners (case does not matter);
  // an unowned sender is refused too.
  f.sasl_username = "ALICE2";
  f.sender = "alice@example.org";
  EXPECT_EQ(Reply(Rcpt(*a, f, "root@mx.example.com")), "");
  f.sasl_username = "mallory";
  EXPECT_EQ(Reply(Rcpt(*a, f, "root@mx.example.com")),
            "553 5.7.1 <alice@example.org>: Sender address rejected: not owned by user mallory");
  f.sender = "carol@free.example";
  EXPECT_EQ(Reply(Rcpt(*a, f, "root@mx.example.com")),
            "553 5.7.1 <carol@free.example>: Sender address rejected: not owned by user mallory");
  f.sender = "";  // the null sender is never checked
  EXPECT_EQ(Reply(Rcpt(*a, f, "root@mx.example.com")), "");

  // reject_known_sender_login_mismatch lets a logged-in client use unowned senders.
  auto known = Build("smtpd_sasl_auth_enable = yes\n"
                     "smtpd_sender_login_maps = hash:$config_directory/logins\n"
                     "smtpd_sender_restrictions = reject_known_sender_login_mismatch\n");
  f.sender = "carol@free.example";
  EXPECT_EQ(Reply(Rcpt(*known, f, "root@mx.example.com")), "");
  f.sender = "alice@example.org";
  EXPECT_EQ(Reply(Rcpt(*known, f, "root@mx.example.com")),
            "553 5.7.1 <alice@example.org>: Sender address rejected: not owned by user mallory");
  f.sasl_username = "";
  EXPECT_EQ(Reply(Rcpt(*known, f, "root@mx.example.com")),
            "553 5.7.1 <alice@example.org>: Sender address rejected: not logged in");

  // Without smtpd_sasl_auth_enable the restriction is ignored, with a warning.
  auto off = Build("smtpd_sender_login_maps = hash:$config_directory/logins\n"
                   "smtpd_sender_restrictions = reject_unauthenticated_sender_login_mismatch\n");
  v = Rcpt(*off, f, "root@mx.example.com");
  EXPECT_EQ(Reply(v), "");
  EXPECT_EQ(v.warnings, std::vector<std::string>{
                            "restriction `reject_unauthenticated_sender_login_mismatch' ignored: "
                            "no SASL support"});
}

// Answers every DNS question the evaluator asks from `world` (absent names
// are not found), as the session does, and returns the final verdict and
// the questions in the order they were asked.
AccessVerdict RcptResolving(const SmtpdAccess& a, SmtpdFacts f, const std::string& rcpt,
                            const SmtpdDnsAnswers& world, std::vector<std::string>* asked) {
  SmtpdDnsAnswers known;
  f.recipient = rcpt;
  f.dns = &known;
  for (int round = 0; round < 50; ++round) {
    AccessVerdict v = a.Check(SmtpdStage::kRcpt, f);
    if (!v.dns_needed) return v;
    static const char* kKinds[] = {"mailhost", "hostname", "list", "mx", "ns", "addr"};
    if (asked) asked->push_back(std::string(kKinds[static_cast<int>(v.dns_needed->kind)]) + " " +
                                v.dns_needed->name);
    auto it = world.find(*v.dns_needed);
    known[*v.dns_needed] = it == world.end() ? SmtpdDnsAnswer(SmtpdDnsStatus::kNotFound) : it->second;
  }
  ADD_FAILURE() << "the evaluator keeps asking";
  return AccessVerdict();
}

SmtpdDnsAnswer Servers(std::vector<std::string> names) {
  SmtpdDnsAnswer a(SmtpdDnsStatus::kOk);
  a.names = std::move(names);
  return a;
}
SmtpdDnsAnswer Addresses(std::vector<std::string> addrs) {
  SmtpdDnsAnswer a(SmtpdDnsStatus::kOk);
  a.addresses = std::move(addrs);
  return a;
}

TEST_F(SmtpdAccessTest, SearchesAccessTablesByTheDomainsServers) {
  Write("servers", "bad-mx.example REJECT bogus MX\n192.0.2.66 REJECT bogus MX address\n"
                   "bad-ns.example REJECT bogus DNS\ngood.example OK\n");
  auto mx = Build("smtpd_sender_restrictions = check_sender_mx_access hash:$config_directory/servers\n");
  auto ns = Build("smtpd_sender_restrictions = check_sender_ns_access hash:$config_directory/servers\n");
  auto a = Build("smtpd_sender_restrictions = check_sender_a_access hash:$config_directory/servers\n");
  using K = SmtpdDnsKind;
  SmtpdDnsAnswers world{
      {{K::kMxHosts, "s1.example"}, Servers({"mail.bad-mx.example"})},
      {{K::kMxHosts, "s2.example"}, Servers({"mx1.s2.example", "mx2.s2.example"})},
      {{K::kAddresses, "mx1.s2.example"}, Addresses({"192.0.2.10"})},
      {{K::kAddresses, "mx2.s2.example"}, Addresses({"2001:db8::5", "192.0.2.66"})},
      {{K::kAddresses, "s3.example"}, Addresses({"192.0.2.66"})},
      {{K::kMxHosts, "null.example"}, SmtpdDnsStatus::kNullMx},
      {{K::kMxHosts, "slow.example"}, [] {
         SmtpdDnsAnswer t(SmtpdDnsStatus::kTempFail);
         t.failure = "Host not found, try again";
         return t;
       }()},
      {{K::kNsHosts, "example"}, Servers({"ns.bad-ns.example"})},
      {{K::kMxHosts, "fine.example"}, Servers({"mx.good.example"})}};
  SmtpdFacts f = Outside();
  std::vector<std::string> asked;
  f.sender = "a@s1.example";  // the MX host's name (and its parent domain) is searched
  EXPECT_EQ(Reply(RcptResolving(*mx, f, "root@mx.example.com", world, &asked)),
            "554 5.7.1 <a@s1.example>: Sender address rejected: bogus MX");
  EXPECT_EQ(asked, (std::vector<std::string>{"mx s1.example"}));
  f.sender = "a@s2.example";  // then each MX host's addresses, in order
  asked.clear();
  EXPECT_EQ(Reply(RcptResolving(*mx, f, "root@mx.example.com", world, &asked)),
            "554 5.7.1 <a@s2.example>: Sender address rejected: bogus MX address");
  EXPECT_EQ(asked, (std::vector<std::string>{"mx s2.example", "addr mx1.s2.example",
                                             "addr mx2.s2.example"}));
  f.sender = "a@s3.example";  // no MX: the domain is its own MX host
  EXPECT_EQ(Reply(RcptResolving(*mx, f, "root@mx.example.com", world, nullptr)),
            "554 5.7.1 <a@s3.example>: Sender address rejected: bogus MX address");
  f.sender = "a@[192.0.2.66]";  // an address literal is its own MX host
  asked.clear();
  EXPECT_EQ(Reply(RcptResolving(*mx, f, "root@mx.example.com", world, &asked)),
            "554 5.7.1 <a@[192.0.2.66]>: Sender address rejected: bogus MX address");
  EXPECT_TRUE(asked.empty());
  f.sender = "a@null.example";
  EXPECT_EQ(Reply(RcptResolving(*mx, f, "root@mx.example.com", world, nullptr)), "");
  f.sender = "a@slow.example";
  AccessVerdict v = RcptResolving(*mx, f, "root@mx.example.com", world, nullptr);
  EXPECT_EQ(Reply(v), "");
  EXPECT_EQ(v.warnings, std::vector<std::string>{
                            "Unable to look up MX host for slow.example: Host not found, try again"});
  // OK from these tables is not allowed (it would let anyone choose it).
  f.sender = "a@fine.example";
  v = RcptResolving(*mx, f, "root@mx.example.com", world, nullptr);
  EXPECT_EQ(Reply(v), "451 4.3.5 Server configuration error");
  EXPECT_EQ(v.warnings.at(0), "restriction check_sender_mx_access returns OK for a@fine.example");

  // NS: a domain without NS records takes its nearest parent's.
  f.sender = "a@sub.s3.example";
  asked.clear();
  EXPECT_EQ(Reply(RcptResolving(*ns, f, "root@mx.example.com", world, &asked)),
            "554 5.7.1 <a@sub.s3.example>: Sender address rejected: bogus DNS");
  EXPECT_EQ(asked, (std::vector<std::string>{"ns sub.s3.example", "ns s3.example", "ns example"}));
  f.sender = "a@[192.0.2.66]";  // literals have no name servers
  EXPECT_EQ(Reply(RcptResolving(*ns, f, "root@mx.example.com", world, nullptr)), "");

  // A: the domain's own addresses, never its name.
  f.sender = "a@s3.example";
  asked.clear();
  EXPECT_EQ(Reply(RcptResolving(*a, f, "root@mx.example.com", world, &asked)),
            "554 5.7.1 <a@s3.example>: Sender address rejected: bogus MX address");
  EXPECT_EQ(asked, (std::vector<std::string>{"addr s3.example"}));
  f.sender = "a@bad-mx.example";
  EXPECT_EQ(Reply(RcptResolving(*a, f, "root@mx.example.com", world, nullptr)), "");
}

TEST_F(SmtpdAccessTest, ServerAccessChecksForEveryName) {
  Write("servers", "bad-mx.example REJECT bogus MX\n");
  auto a = Build("smtpd_client_restrictions = check_client_mx_access hash:$config_directory/servers,"
                 " check_reverse_client_hostname_mx_access hash:$config_directory/servers\n"
                 "smtpd_helo_restrictions = check_helo_mx_access hash:$config_directory/servers\n"
                 "smtpd_recipient_restrictions = check_recipient_mx_access"
                 " hash:$config_directory/servers, permit\n"
                 "relay_domains = rcpt.example\n");
  using K = SmtpdDnsKind;
  SmtpdDnsAnswers world{{{K::kMxHosts, "client.example.net"}, Servers({"bad-mx.example"})}};
  SmtpdFacts f = Outside();
  EXPECT_EQ(Reply(RcptResolving(*a, f, "root@mx.example.com", world, nullptr)),
            "554 5.7.1 <client.example.net[203.0.113.5]>: Client host rejected: bogus MX");
  f.client_name = "unknown";  // no name, no lookup
  f.reverse_client_name = "client.example.net";
  EXPECT_EQ(Reply(RcptResolving(*a, f, "root@mx.example.com", world, nullptr)),
            "554 5.7.1 <client.example.net>: Unverified Client host rejected: bogus MX");
  f.reverse_client_name = "unknown";
  world[{K::kMxHosts, "helo.example.net"}] = Servers({"bad-mx.example"});
  EXPECT_EQ(Reply(RcptResolving(*a, f, "root@mx.example.com", world, nullptr)),
            "554 5.7.1 <helo.example.net>: Helo command rejected: bogus MX");
  f.helo = "clean.example.net";
  world[{K::kMxHosts, "rcpt.example"}] = Servers({"bad-mx.example"});
  EXPECT_EQ(Reply(RcptResolving(*a, f, "x@rcpt.example", world, nullptr)),
            "554 5.7.1 <x@rcpt.example>: Recipient address rejected: bogus MX");
}

TEST_F(SmtpdAccessTest, SearchesSenderAccessInPostfixOrder) {
  Write("senders",
        "<> REJECT no bounces here\n"
        "spammer@example.org REJECT\n"
        "example.net REJECT parent domain\n"
        "postmaster@ REJECT local part\n"
        "friend@example.org OK\n");
  auto a = Build("recipient_delimiter = +\n"
                 "smtpd_sender_restrictions = check_sender_access hash:$config_directory/senders\n");
  SmtpdFacts f = Outside();
  f.sender = "";
  AccessVerdict v = Rcpt(*a, f, "root@mx.example.com");
  EXPECT_EQ(v.reply, "554 5.7.1 <>: Sender address rejected: no bounces here");
  EXPECT_EQ(OnlyLog(v),
            "NOQUEUE: reject: RCPT from client.example.net[203.0.113.5]: 554 5.7.1 <>: Sender "
            "address rejected: no bounces here; from=<> to=<root@mx.example.com> proto=ESMTP "
            "helo=<helo.example.net>");
  f.sender = "spammer+tag@Example.ORG";
  EXPECT_EQ(Reply(Rcpt(*a, f, "root@mx.example.com")),
            "554 5.7.1 <spammer+tag@Example.ORG>: Sender address rejected: Access denied");
  f.sender = "x@mail.example.net";
  EXPECT_EQ(Reply(Rcpt(*a, f, "root@mx.example.com")),
            "554 5.7.1 <x@mail.example.net>: Sender address rejected: parent domain");
  f.sender = "postmaster@anywhere.example";
  EXPECT_EQ(Reply(Rcpt(*a, f, "root@mx.example.com")),
            "554 5.7.1 <postmaster@anywhere.example>: Sender address rejected: local part");
  // OK in the sender list does not let the recipient relay.
  f.sender = "friend@example.org";
  EXPECT_EQ(Reply(Rcpt(*a, f, "x@elsewhere.example")),
            "554 5.7.1 <x@elsewhere.example>: Relay access denied");

  auto key = Build("smtpd_null_access_lookup_key = <MAILER-DAEMON>\n"
                   "smtpd_sender_restrictions = check_sender_access hash:$config_directory/senders\n");
  f.sender = "";
  EXPECT_EQ(Reply(Rcpt(*key, f, "root@mx.example.com")), "");
}

TEST_F(SmtpdAccessTest, CarriesOutEveryAccessResult) {
  Write("access",
        "reject@example.org REJECT\n"
        "reject2@example.org REJECT 5.7.9 custom text\n"
        "reject3@example.org REJECT 4.1.1 soft text\n"
        "defer@example.org DEFER\n"
        "defer2@example.org DEFER come back\n"
        "code@example.org 551 5.1.6 moved away\n"
        "code2@example.org 450 busy\n"
        "ok@example.org OK\n"
        "relay@example.org RELAY\n"
        "digits@example.org 12345\n"
        "dunno@example.org DUNNO\n"
        "dip@example.org DEFER_IF_PERMIT\n"
        "dir@example.org DEFER_IF_REJECT maybe later\n"
        "hold@example.org HOLD\n"
        "hold2@example.org HOLD held for review\n"
        "filter@example.org FILTER smtp:[filter.example]:10025\n"
        "nofilter@example.org FILTER nocolon\n"
        "discard@example.org DISCARD\n"
        "discard2@example.org DISCARD go away\n"
        "redirect@example.org REDIRECT other@example.net\n"
        "bcc@example.org BCC copy@example.net\n"
        "prepend@example.org PREPEND X-Tag: yes\n"
        "badprepend@example.org PREPEND not a header\n"
        "warn@example.org WARN be careful\n"
        "info@example.org INFO just saying\n");
  auto a = Build("relay_domains = example.org\n"
                 "smtpd_recipient_restrictions = check_recipient_access "
                 "hash:$config_directory/access\n");
  // OK and DUNNO differ in what comes next.
  auto strict = Build("relay_domains = example.org\n"
                      "smtpd_recipient_restrictions = check_recipient_access "
                      "hash:$config_directory/access, reject\n");
  SmtpdFacts f = Outside();
  auto reply = [&](const std::string& rcpt) { return Reply(Rcpt(*a, f, rcpt)); };
  EXPECT_EQ(reply("reject@example.org"),
            "554 5.7.1 <reject@example.org>: Recipient address rejected: Access denied");
  EXPECT_EQ(reply("reject2@example.org"),
            "554 5.7.9 <reject2@example.org>: Recipient address rejected: custom text");
  EXPECT_EQ(reply("reject3@example.org"),
            "554 5.1.1 <reject3@example.org>: Recipient address rejected: soft text");
  EXPECT_EQ(reply("defer@example.org"),
            "450 4.7.1 <defer@example.org>: Recipient address rejected: Access denied");
  EXPECT_EQ(Rcpt(*a, f, "defer@example.org").result, Result::kDefer);
  EXPECT_EQ(reply("defer2@example.org"),
            "450 4.7.1 <defer2@example.org>: Recipient address rejected: come back");
  EXPECT_EQ(reply("code@example.org"),
            "551 5.1.6 <code@example.org>: Recipient address rejected: moved away");
  EXPECT_EQ(reply("code2@example.org"),
            "450 4.7.1 <code2@example.org>: Recipient address rejected: busy");
  EXPECT_EQ(Reply(Rcpt(*strict, f, "ok@example.org")), "");
  EXPECT_EQ(Reply(Rcpt(*strict, f, "relay@example.org")), "");
  EXPECT_EQ(Reply(Rcpt(*strict, f, "digits@example.org")), "");
  EXPECT_EQ(Reply(Rcpt(*strict, f, "dunno@example.org")),
            "554 5.7.1 <dunno@example.org>: Recipient address rejected: Access denied");
  EXPECT_EQ(Reply(Rcpt(*strict, f, "dir@example.org")),
            "450 4.7.1 <dir@example.org>: Recipient address rejected: maybe later");
  EXPECT_EQ(reply("dip@example.org"),
            "450 4.7.1 <dip@example.org>: Recipient address rejected: Service unavailable");
  EXPECT_EQ(reply("dir@example.org"), "");  // nothing rejected afterwards

  AccessVerdict v = Rcpt(*a, f, "hold@example.org");
  EXPECT_EQ(v.result, Result::kNone);
  EXPECT_TRUE(v.hold);
  EXPECT_EQ(OnlyLog(v),
            "NOQUEUE: hold: RCPT from client.example.net[203.0.113.5]: <hold@example.org>: "
            "Recipient address triggers HOLD action; from=<a@sender.example> "
            "to=<hold@example.org> proto=ESMTP helo=<helo.example.net>");
  v = Rcpt(*a, f, "hold2@example.org");
  EXPECT_EQ(v.hold_reason, "<hold2@example.org>: Recipient address held for review");
  SmtpdFacts held = f;
  held.hold = true;  // a second HOLD in the same transaction is not logged
  v = Rcpt(*a, held, "hold2@example.org");
  EXPECT_FALSE(v.hold);
  EXPECT_TRUE(v.log_lines.empty());

  f.queue_id = "4A5B6C7D8E";
  v = Rcpt(*a, f, "filter@example.org");
  EXPECT_EQ(v.filter.value_or(""), "smtp:[filter.example]:10025");
  EXPECT_EQ(OnlyLog(v),
            "4A5B6C7D8E: filter: RCPT from client.example.net[203.0.113.5]: <filter@example.org>: "
            "Recipient address triggers FILTER smtp:[filter.example]:10025; "
            "from=<a@sender.example> to=<filter@example.org> proto=ESMTP helo=<helo.example.net>");
  v = Rcpt(*a, f, "nofilter@example.org");
  EXPECT_FALSE(v.filter.has_value());
  ASSERT_EQ(v.warnings.size(), 1u);
  EXPECT_NE(v.warnings[0].find("requires transport:destination"), std::string::npos);

  v = Rcpt(*strict, f, "discard@example.org");
  EXPECT_TRUE(v.discard);
  EXPECT_EQ(Reply(v), "");  // DISCARD permits
  EXPECT_EQ(OnlyLog(v),
            "4A5B6C7D8E: discard: RCPT from client.example.net[203.0.113.5]: "
            "<discard@example.org>: Recipient address triggers DISCARD action; "
            "from=<a@sender.example> to=<discard@example.org> proto=ESMTP helo=<helo.example.net>");
  v = Rcpt(*a, f, "discard2@example.org");
  EXPECT_NE(OnlyLog(v).find(": <discard2@example.org>: Recipient address go away;"),
            std::string::npos);
  // After DISCARD nothing is evaluated any more in this transaction.
  SmtpdFacts discarded = f;
  discarded.discard = true;
  EXPECT_EQ(Rcpt(*a, discarded, "reject@example.org").result, Result::kNone);

  v = Rcpt(*a, f, "redirect@example.org");
  EXPECT_EQ(v.redirect.value_or(""), "other@example.net");
  EXPECT_NE(OnlyLog(v).find(": redirect: RCPT from client.example.net[203.0.113.5]: "
                            "<redirect@example.org>: Recipient address triggers REDIRECT "
                            "other@example.net;"),
            std::string::npos);
  v = Rcpt(*a, f, "bcc@example.org");
  EXPECT_EQ(v.bcc, std::vector<std::string>{"copy@example.net"});
  EXPECT_NE(OnlyLog(v).find(": bcc: RCPT from client.example.net[203.0.113.5]: <bcc@example.org>: "
                            "Recipient address triggers BCC copy@example.net;"),
            std::string::npos);
  v = Rcpt(*a, f, "prepend@example.org");
  EXPECT_EQ(v.prepend, std::vector<std::string>{"X-Tag: yes"});
  EXPECT_TRUE(v.log_lines.empty());
  v = Rcpt(*a, f, "badprepend@example.org");
  EXPECT_TRUE(v.prepend.empty());
  ASSERT_EQ(v.warnings.size(), 1u);
  EXPECT_NE(v.warnings[0].find("requires header: text"), std::string::npos);
  v = Rcpt(*a, f, "warn@example.org");
  EXPECT_EQ(v.result, Result::kNone);
  EXPECT_EQ(OnlyLog(v),
            "4A5B6C7D8E: warn: RCPT from client.example.net[203.0.113.5]: be careful; "
            "from=<a@sender.example> to=<warn@example.org> proto=ESMTP helo=<helo.example.net>");
  v = Rcpt(*a, f, "info@example.org");
  EXPECT_EQ(OnlyLog(v),
            "4A5B6C7D8E: info: RCPT from client.example.net[203.0.113.5]: just saying; "
            "from=<a@sender.example> to=<info@example.org> proto=ESMTP helo=<helo.example.net>");
}

TEST_F(SmtpdAccessTest, EvaluatesRestrictionNamesAndClassesInTableResults) {
  Write("access",
        "class@example.org strict\n"
        "names@example.org reject_unauth_pipelining reject\n"
        "unknownr@example.org no_such_restriction\n"
        "table@example.org hash:/etc/x\n"
        "rbl@example.org reject_rbl_client\n"
        "rbl2@example.org reject_rbl_client bl.example\n");
  auto a = Build("relay_domains = example.org\n"
                 "smtpd_restriction_classes = strict\n"
                 "strict = reject_non_fqdn_sender, defer\n"
                 "smtpd_recipient_restrictions = check_recipient_access "
                 "hash:$config_directory/access\n");
  SmtpdFacts f = Outside();
  EXPECT_EQ(Reply(Rcpt(*a, f, "class@example.org")),
            "450 4.3.2 <class@example.org>: Recipient address rejected: Try again later");
  EXPECT_EQ(Reply(Rcpt(*a, f, "names@example.org")),
            "554 5.7.1 <names@example.org>: Recipient address rejected: Access denied");
  f.improper_pipelining = true;
  EXPECT_EQ(Reply(Rcpt(*a, f, "names@example.org")),
            "503 5.5.0 <names@example.org>: Recipient address rejected: Improper use of SMTP "
            "command pipelining");
  f.improper_pipelining = false;
  AccessVerdict v = Rcpt(*a, f, "unknownr@example.org");
  EXPECT_EQ(v.reply, "451 4.3.5 Server configuration error");
  EXPECT_EQ(v.warnings, std::vector<std::string>{"unknown smtpd restriction: \"no_such_restriction\""});
  EXPECT_EQ(OnlyLog(v),
            "NOQUEUE: reject: RCPT from client.example.net[203.0.113.5]: 451 4.3.5 Server "
            "configuration error; from=<a@sender.example> to=<unknownr@example.org> proto=ESMTP "
            "helo=<helo.example.net>");
  v = Rcpt(*a, f, "table@example.org");
  EXPECT_EQ(v.reply, "451 4.3.5 Server configuration error");
  EXPECT_EQ(v.warnings.size(), 3u);
  // A DNS list restriction without its list: a warning, and on to the next.
  v = Rcpt(*a, f, "rbl@example.org");
  EXPECT_EQ(Reply(v), "");
  EXPECT_EQ(v.warnings,
            std::vector<std::string>{"restriction reject_rbl_client requires domain name argument"});
  // With one, the evaluator asks for the list's answer.
  v = Rcpt(*a, f, "rbl2@example.org");
  ASSERT_TRUE(v.dns_needed);
  EXPECT_EQ(v.dns_needed->name, "5.113.0.203.bl.example");
}

TEST_F(SmtpdAccessTest, GenericRestrictionsInEveryList) {
  auto a = Build("smtpd_data_restrictions = reject\n"
                 "smtpd_end_of_data_restrictions = defer\n");
  SmtpdFacts f = Outside();
  f.recipient = "root@mx.example.com";
  f.recipient_count = 1;
  f.queue_id = "4A5B6C7D8E";
  AccessVerdict v = a->Check(SmtpdStage::kData, f);
  EXPECT_EQ(v.reply, "554 5.7.1 <DATA>: Data command rejected: Access denied");
  EXPECT_EQ(OnlyLog(v),
            "4A5B6C7D8E: reject: DATA from client.example.net[203.0.113.5]: 554 5.7.1 <DATA>: "
            "Data command rejected: Access denied; from=<a@sender.example> "
            "to=<root@mx.example.com> proto=ESMTP helo=<helo.example.net>");
  f.recipient_count = 2;  // several recipients: none is logged
  v = a->Check(SmtpdStage::kEndOfData, f);
  EXPECT_EQ(v.reply, "450 4.3.2 <END-OF-MESSAGE>: End-of-data rejected: Try again later");
  EXPECT_EQ(OnlyLog(v),
            "4A5B6C7D8E: reject: END-OF-MESSAGE from client.example.net[203.0.113.5]: 450 4.3.2 "
            "<END-OF-MESSAGE>: End-of-data rejected: Try again later; from=<a@sender.example> "
            "proto=ESMTP helo=<helo.example.net>");

  auto permit = Build("smtpd_data_restrictions = permit, reject\n"
                      "smtpd_log_access_permit_actions = permit\n");
  v = permit->Check(SmtpdStage::kData, f);
  EXPECT_EQ(v.result, Result::kPermit);
  EXPECT_EQ(OnlyLog(v),
            "4A5B6C7D8E: permit: DATA from client.example.net[203.0.113.5]: action=permit for "
            "Data command=DATA ; from=<a@sender.example> proto=ESMTP helo=<helo.example.net>");
  EXPECT_EQ(v.warnings, std::vector<std::string>{"restriction `reject' after `permit' is ignored"});

  auto client = Build("smtpd_client_restrictions = reject\n"
                      "smtpd_helo_restrictions = defer\n"
                      "smtpd_sender_restrictions = reject\n"
                      "reject_code = 550\n"
                      "defer_code = 421\n");
  EXPECT_EQ(Reply(Rcpt(*client, Outside(), "root@mx.example.com")),
            "550 5.7.1 <client.example.net[203.0.113.5]>: Client host rejected: Access denied");
  auto helo = Build("smtpd_helo_restrictions = defer\n"
                    "defer_code = 421\n");
  EXPECT_EQ(Reply(Rcpt(*helo, Outside(), "root@mx.example.com")),
            "421 4.3.2 <helo.example.net>: Helo command rejected: Try again later");
  auto sender = Build("smtpd_sender_restrictions = reject\n");
  EXPECT_EQ(Reply(Rcpt(*sender, Outside(), "root@mx.example.com")),
            "554 5.7.1 <a@sender.example>: Sender address rejected: Access denied");
}

TEST_F(SmtpdAccessTest, WarnIfRejectLogsARejectWarningAndGoesOn) {
  auto a = Build("smtpd_client_restrictions = warn_if_reject reject_unknown_client_hostname,"
                 " warn_if_reject, reject_non_fqdn_sender\n");
  SmtpdFacts f = Outside();
  f.client_name = "unknown";
  f.client_name_status = PeerNameStatus::kTempFail;
  f.sender = "nodomain";
  AccessVerdict v = Rcpt(*a, f, "root@mx.example.com");
  EXPECT_EQ(v.result, Result::kNone);
  ASSERT_EQ(v.log_lines.size(), 2u);
  EXPECT_EQ(v.log_lines[0],
            "NOQUEUE: reject_warning: RCPT from unknown[203.0.113.5]: 450 4.7.25 Client host "
            "rejected: cannot find your hostname, [203.0.113.5]; from=<nodomain> "
            "to=<root@mx.example.com> proto=ESMTP helo=<helo.example.net>");
  EXPECT_NE(v.log_lines[1].find("reject_warning: RCPT from unknown[203.0.113.5]: 504 5.5.2 "
                                "<nodomain>: Sender address rejected: need fully-qualified "
                                "address;"),
            std::string::npos);
  // Only the next restriction is softened.
  auto once = Build("smtpd_client_restrictions = warn_if_reject reject_unknown_client_hostname,"
                    " reject_unknown_client_hostname\n");
  EXPECT_EQ(Reply(Rcpt(*once, f, "root@mx.example.com")),
            "450 4.7.25 Client host rejected: cannot find your hostname, [203.0.113.5]");
}

TEST_F(SmtpdAccessTest, DefersInsteadOfPermittingOrRejecting) {
  auto a = Build("smtpd_client_restrictions = defer_if_permit\n");
  AccessVerdict v = Rcpt(*a, Outside(), "root@mx.example.com");
  EXPECT_EQ(v.reply,
            "450 4.7.0 <client.example.net[203.0.113.5]>: Client host rejected: defer_if_permit "
            "requested");
  // defer_if_reject lasts for its own stage only.
  auto b = Build("smtpd_helo_restrictions = defer_if_reject\n"
                 "smtpd_recipient_restrictions = reject\n");
  EXPECT_EQ(Reply(Rcpt(*b, Outside(), "root@mx.example.com")),
            "554 5.7.1 <root@mx.example.com>: Recipient address rejected: Access denied");
  auto c = Build("smtpd_recipient_restrictions = defer_if_reject, reject\n");
  EXPECT_EQ(Reply(Rcpt(*c, Outside(), "root@mx.example.com")),
            "450 4.7.0 <root@mx.example.com>: Recipient address rejected: defer_if_reject "
            "requested");
}

TEST_F(SmtpdAccessTest, DelayRejectNoEvaluatesEachListAtItsCommand) {
  Write("helos", "badhelo.example HOLD\n");
  auto a = Build("smtpd_delay_reject = no\n"
                 "smtpd_client_restrictions = defer_if_permit\n"
                 "smtpd_helo_restrictions = check_helo_access hash:$config_directory/helos\n");
  EXPECT_FALSE(a->delay_reject());
  SmtpdFacts f = Outside();
  f.helo.clear();
  f.protocol = "SMTP";
  f.sender.reset();
  AccessVerdict connect = a->Check(SmtpdStage::kConnect, f);
  EXPECT_EQ(connect.result, Result::kNone);
  EXPECT_TRUE(connect.carry.client);
  f.carry = connect.carry;
  f.helo = "badhelo.example";
  f.ehlo = true;
  AccessVerdict helo = a->Check(SmtpdStage::kHelo, f);
  EXPECT_FALSE(helo.hold);  // no sender yet: HOLD is skipped with a warning
  EXPECT_EQ(helo.warnings,
            std::vector<std::string>{
                "access table hash:" + dir_ + "/conf/helos: with smtpd_delay_reject=no, action "
                "HOLD is always skipped in Client host or Helo command restrictions"});
  f.carry = helo.carry;
  f.sender = "a@sender.example";
  AccessVerdict mail = a->Check(SmtpdStage::kMail, f);
  EXPECT_EQ(mail.result, Result::kNone);
  f.carry = mail.carry;
  // The client's defer_if_permit turns the RCPT permit into a deferral.
  EXPECT_EQ(Reply(Rcpt(*a, f, "root@mx.example.com")),
            "450 4.7.0 <client.example.net[203.0.113.5]>: Client host rejected: defer_if_permit "
            "requested");

  auto b = Build("smtpd_delay_reject = no\n"
                 "smtpd_client_restrictions = reject\n");
  SmtpdFacts g = Outside();
  g.helo.clear();
  g.protocol = "SMTP";
  g.sender.reset();
  AccessVerdict v = b->Check(SmtpdStage::kConnect, g);
  EXPECT_EQ(v.reply, "554 5.7.1 <client.example.net[203.0.113.5]>: Client host rejected: Access denied");
  EXPECT_EQ(OnlyLog(v),
            "NOQUEUE: reject: CONNECT from client.example.net[203.0.113.5]: 554 5.7.1 "
            "<client.example.net[203.0.113.5]>: Client host rejected: Access denied; proto=SMTP");
  // The client list is not evaluated again at RCPT.
  EXPECT_EQ(Reply(Rcpt(*b, Outside(), "root@mx.example.com")), "");

  auto mailstage = Build("smtpd_delay_reject = no\n"
                         "smtpd_sender_restrictions = reject_non_fqdn_sender\n");
  g.helo = "helo.example.net";
  g.protocol = "ESMTP";
  g.sender = "nodomain";
  v = mailstage->Check(SmtpdStage::kMail, g);
  EXPECT_EQ(v.reply, "504 5.5.2 <nodomain>: Sender address rejected: need fully-qualified address");
  EXPECT_EQ(OnlyLog(v),
            "NOQUEUE: reject: MAIL from client.example.net[203.0.113.5]: 504 5.5.2 <nodomain>: "
            "Sender address rejected: need fully-qualified address; from=<nodomain> proto=ESMTP "
            "helo=<helo.example.net>");
  AccessVerdict h = b->Check(SmtpdStage::kHelo, g);
  EXPECT_EQ(h.result, Result::kNone);
  // The first EHLO is logged with the protocol in effect before it.
  auto helostage = Build("smtpd_delay_reject = no\n"
                         "smtpd_helo_restrictions = reject_non_fqdn_helo_hostname\n");
  g.helo = "localhost";
  g.protocol = "SMTP";
  g.ehlo = true;
  g.sender.reset();
  v = helostage->Check(SmtpdStage::kHelo, g);
  EXPECT_EQ(OnlyLog(v),
            "NOQUEUE: reject: EHLO from client.example.net[203.0.113.5]: 504 5.5.2 <localhost>: "
            "Helo command rejected: need fully-qualified hostname; proto=SMTP helo=<localhost>");
  g.ehlo = false;
  v = helostage->Check(SmtpdStage::kHelo, g);
  EXPECT_NE(OnlyLog(v).find("NOQUEUE: reject: HELO from"), std::string::npos);
}

TEST_F(SmtpdAccessTest, DelayRejectYesWaitsForRcpt) {
  auto a = Build("smtpd_client_restrictions = reject\n"
                 "smtpd_helo_restrictions = reject\n"
                 "smtpd_sender_restrictions = reject\n");
  EXPECT_TRUE(a->delay_reject());
  SmtpdFacts f = Outside();
  EXPECT_EQ(a->Check(SmtpdStage::kConnect, f).result, Result::kNone);
  EXPECT_EQ(a->Check(SmtpdStage::kHelo, f).result, Result::kNone);
  EXPECT_EQ(a->Check(SmtpdStage::kMail, f).result, Result::kNone);
  AccessVerdict v = Rcpt(*a, f, "root@mx.example.com");
  EXPECT_EQ(OnlyLog(v),
            "NOQUEUE: reject: RCPT from client.example.net[203.0.113.5]: 554 5.7.1 "
            "<client.example.net[203.0.113.5]>: Client host rejected: Access denied; "
            "from=<a@sender.example> to=<root@mx.example.com> proto=ESMTP helo=<helo.example.net>");
  // "RCPT TO:<postmaster>" is exempt from every restriction.
  EXPECT_EQ(Rcpt(*a, f, "Postmaster").result, Result::kNone);
  // VRFY runs the same checks.
  f.recipient = "root@mx.example.com";
  v = a->Check(SmtpdStage::kVrfy, f);
  EXPECT_NE(OnlyLog(v).find("NOQUEUE: reject: VRFY from client.example.net[203.0.113.5]: 554"),
            std::string::npos);
}

TEST_F(SmtpdAccessTest, OrdersRelayAndRecipientRestrictions) {
  Write("access", "x@elsewhere.example REJECT listed\n");
  const std::string lists =
      "smtpd_recipient_restrictions = check_recipient_access hash:$config_directory/access\n";
  auto relay_first = Build(lists);
  EXPECT_EQ(Reply(Rcpt(*relay_first, Outside(), "x@elsewhere.example")),
            "554 5.7.1 <x@elsewhere.example>: Relay access denied");
  auto rcpt_first = Build(lists + "smtpd_relay_before_recipient_restrictions = no\n");
  EXPECT_EQ(Reply(Rcpt(*rcpt_first, Outside(), "x@elsewhere.example")),
            "554 5.7.1 <x@elsewhere.example>: Recipient address rejected: listed");
  // A permit in one list does not skip the other.
  auto both = Build("smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination\n"
                    "smtpd_recipient_restrictions = permit_mynetworks, check_recipient_access "
                    "hash:$config_directory/access\n");
  EXPECT_EQ(Reply(Rcpt(*both, Inside(), "x@elsewhere.example")), "");
  auto permit_then_reject =
      Build("smtpd_relay_restrictions = permit\n"
            "smtpd_recipient_restrictions = reject_unauth_destination\n");
  EXPECT_EQ(Reply(Rcpt(*permit_then_reject, Inside(), "x@elsewhere.example")),
            "554 5.7.1 <x@elsewhere.example>: Relay access denied");
}

TEST_F(SmtpdAccessTest, RefusesRestrictionListsItCannotCarryOut) {
  // A recipient list that can never reject: Postfix refuses to start.
  auto open = TryBuild("smtpd_relay_restrictions = permit_mynetworks\n");
  ASSERT_FALSE(open.ok());
  EXPECT_NE(std::string(open.status().message()).find("specify at least one working instance"),
            std::string::npos);
  auto file = TryBuild("mynetworks = 127.0.0.0/8 /etc/postfix/network_table\n");
  ASSERT_FALSE(file.ok());
  EXPECT_NE(std::string(file.status().message()).find("/etc/postfix/network_table"),
            std::string::npos);
  auto hostbits = TryBuild("mynetworks = 10.0.0.1/8\n");
  EXPECT_FALSE(hostbits.ok());

  // Lists phc check refuses never reach a bundle; a bundle written by
  // other means is refused again here.
  auto handmade = [&](const std::map<std::string, std::string>& params) {
    std::string bundle = dir_ + "/handmade" + std::to_string(++builds_);
    compiler::GenerationWriter w;
    EXPECT_TRUE(w.Begin(bundle).ok());
    for (const auto& [k, v] : params) EXPECT_TRUE(w.AddServiceParam("smtp/inet", k, v).ok());
    EXPECT_TRUE(w.AddServiceParam("smtp/inet", "process_name", "smtpd").ok());
    EXPECT_TRUE(w.Commit().ok());
    auto snap = tables::Loader(bundle).LoadCurrent();
    EXPECT_TRUE(snap.ok()) << snap.status();
    return SmtpdAccess::Build(*snap, "smtp/inet");
  };
  auto ok = handmade({{"mynetworks", "127.0.0.0/8"},
                      {"smtpd_recipient_restrictions", "permit_mynetworks, reject"}});
  EXPECT_TRUE(ok.ok()) << ok.status();
  auto policy = handmade({{"mynetworks", "127.0.0.0/8"},
                          {"smtpd_recipient_restrictions",
                           "check_policy_service inet:127.0.0.1:10023, reject"}});
  ASSERT_FALSE(policy.ok());
  EXPECT_NE(std::string(policy.status().message()).find("check_policy_service"), std::string::npos);
  auto filter = handmade({{"mynetworks", "127.0.0.0/8"},
                          {"smtpd_recipient_restrictions",
                           "reject_rbl_client bl.example=127.0.0.[2..300], reject"}});
  ASSERT_FALSE(filter.ok());
  EXPECT_NE(std::string(filter.status().message()).find("127.0.0.[2..300]"), std::string::npos);
  auto unknown = handmade({{"mynetworks", "127.0.0.0/8"},
                           {"smtpd_recipient_restrictions", "rejct"}});
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(std::string(unknown.status().message()).find("unknown smtpd restriction \"rejct\""),
            std::string::npos);
  auto undefined = handmade({{"mynetworks", "127.0.0.0/8"},
                             {"smtpd_restriction_classes", "strict"},
                             {"smtpd_recipient_restrictions", "strict, reject"}});
  ASSERT_FALSE(undefined.ok());
  EXPECT_NE(std::string(undefined.status().message()).find("needs a definition"), std::string::npos);
  EXPECT_FALSE(SmtpdAccess::Build(nullptr, "smtp/inet").ok());
  EXPECT_EQ(SmtpdAccess::Build(*tables::Loader(dir_ + "/handmade" + std::to_string(builds_))
                                    .LoadCurrent(),
                               "nosuch/inet")
                .status()
                .code(),
            absl::StatusCode::kNotFound);
}

// phc check and SmtpdAccess::Build read the same table
// (tables/smtpd_restrictions.def): what one accepts, the other carries out.
TEST_F(SmtpdAccessTest, CompilerAndRuntimeAgreeOnEveryRestriction) {
  int rows = 0, implemented = 0;
  for (const tables::SmtpdRestrictionInfo& info : tables::AllSmtpdRestrictions()) {
    ++rows;
    std::string item(info.name);
    switch (info.arg) {
      case tables::SmtpdRestrictionArg::kTable: item += " inline:{x=OK}"; break;
      case tables::SmtpdRestrictionArg::kDomain: item += " zen.spamhaus.org"; break;
      case tables::SmtpdRestrictionArg::kServer: item += " inet:127.0.0.1:10023"; break;
      case tables::SmtpdRestrictionArg::kSeconds: item += " 1"; break;
      case tables::SmtpdRestrictionArg::kNone: break;
    }
    Write("main.cf", std::string(kBaseMain) + "smtpd_recipient_restrictions = " + item +
                         ", reject\n");
    Write("master.cf", kBaseMaster);
    testing::CommandResult check =
        testing::RunCommand({POSTHASTE_PHC_PATH, "check", "-c", dir_ + "/conf"});
    bool refused = check.err.find("[unsupported-restriction]") != std::string::npos;
    EXPECT_EQ(refused, !info.implemented) << info.name << "\n" << check.err;
    EXPECT_EQ(check.exit_code, info.implemented ? 0 : 1) << info.name << "\n" << check.err;
    // A bundle phc would not write is refused again by Build.
    std::string bundle = dir_ + "/rows" + std::to_string(++builds_);
    compiler::GenerationWriter w;
    ASSERT_TRUE(w.Begin(bundle).ok());
    ASSERT_TRUE(w.AddServiceParam("smtp/inet", "mynetworks", "127.0.0.0/8").ok());
    ASSERT_TRUE(w.AddServiceParam("smtp/inet", "smtpd_recipient_restrictions", item + ", reject").ok());
    ASSERT_TRUE(w.Commit().ok());
    auto snap = tables::Loader(bundle).LoadCurrent();
    ASSERT_TRUE(snap.ok()) << snap.status();
    auto access = SmtpdAccess::Build(*snap, "smtp/inet");
    EXPECT_EQ(access.ok(), info.implemented) << info.name << ": " << access.status();
    implemented += info.implemented;
    // Names are matched without regard to case, as smtpd does.
    std::string upper(info.name);
    for (char& c : upper) c = static_cast<char>(toupper(static_cast<unsigned char>(c)));
    EXPECT_EQ(tables::FindSmtpdRestriction(upper), &info);
  }
  EXPECT_GE(rows, 70);
  EXPECT_GE(implemented, 30);
}

TEST_F(SmtpdAccessTest, MissingTablesAreTemporaryFailures) {
  // fail: tables are never carried by a bundle: the table is missing.
  auto a = Build("smtpd_client_restrictions = check_client_access fail:broken\n");
  AccessVerdict v = Rcpt(*a, Outside(), "root@mx.example.com");
  EXPECT_EQ(v.result, Result::kDefer);
  EXPECT_EQ(v.reply,
            "451 4.3.5 <client.example.net[203.0.113.5]>: Client host rejected: Server "
            "configuration error");
  ASSERT_FALSE(v.warnings.empty());
  EXPECT_NE(v.warnings[0].find("fail:broken"), std::string::npos);

  auto nets = Build("mynetworks = fail:broken\n");
  EXPECT_EQ(Reply(Rcpt(*nets, Outside(), "x@elsewhere.example")),
            "451 4.3.0 <x@elsewhere.example>: Temporary lookup failure");

  auto local = Build("local_recipient_maps = fail:broken\n");
  EXPECT_EQ(Reply(Rcpt(*local, Outside(), "nosuchuser@mx.example.com")),
            "451 4.3.0 <nosuchuser@mx.example.com>: Temporary lookup failure");

  auto domains = Build("relay_domains = fail:broken\n");
  EXPECT_EQ(Reply(Rcpt(*domains, Outside(), "x@elsewhere.example")),
            "451 4.3.0 <x@elsewhere.example>: Temporary lookup failure");
  // An access table failure is a 451 access result, which warn_if_reject
  // softens as Postfix does; a match list failure it cannot soften.
  auto warned = Build("smtpd_client_restrictions = warn_if_reject check_client_access fail:broken\n");
  v = Rcpt(*warned, Outside(), "root@mx.example.com");
  EXPECT_EQ(v.result, Result::kNone);
  EXPECT_NE(OnlyLog(v).find("reject_warning: RCPT from client.example.net[203.0.113.5]: 451 4.3.5"),
            std::string::npos);
  auto warned_nets = Build("mynetworks = fail:broken\n"
                           "smtpd_relay_restrictions = warn_if_reject permit_mynetworks, "
                           "reject_unauth_destination\n");
  EXPECT_EQ(Reply(Rcpt(*warned_nets, Outside(), "root@mx.example.com")),
            "451 4.3.0 <root@mx.example.com>: Temporary lookup failure");
}

TEST_F(SmtpdAccessTest, RejectsRecipientsTheResolverSendsToTheErrorTransport) {
  Write("transport", "gone.example error:5.1.2 no such domain\nlater.example retry:4.4.1 not now\n");
  Write("relocated", "moved@mx.example.com new@elsewhere.example\n");
  auto a = Build("transport_maps = hash:$config_directory/transport\n"
                 "relocated_maps = hash:$config_directory/relocated\n");
  EXPECT_EQ(Reply(Rcpt(*a, Inside(), "u@gone.example")),
            "550 5.1.2 <u@gone.example>: Recipient address rejected: no such domain");
  EXPECT_EQ(Reply(Rcpt(*a, Inside(), "u@later.example")),
            "450 4.4.1 <u@later.example>: Recipient address rejected: not now");
  EXPECT_EQ(Reply(Rcpt(*a, Inside(), "moved@mx.example.com")),
            "550 5.1.6 <moved@mx.example.com>: Recipient address rejected: User has moved to "
            "new@elsewhere.example");
  SmtpdFacts f = Inside();
  f.sender = "u@gone.example";
  auto s = Build("transport_maps = hash:$config_directory/transport\n"
                 "smtpd_sender_restrictions = reject_unlisted_sender\n");
  EXPECT_EQ(Reply(Rcpt(*s, f, "root@mx.example.com")),
            "550 5.1.8 <u@gone.example>: Sender address rejected: no such domain");
}

TEST_F(SmtpdAccessTest, DoesNotRelaySourceRoutedRecipients) {
  auto a = Build("relay_domains = relay.example\n");
  SmtpdFacts f = Outside();
  EXPECT_EQ(Reply(Rcpt(*a, f, "user%evil.example@mx.example.com")),
            "554 5.7.1 <user%evil.example@mx.example.com>: Relay access denied");
  // Our own domain goes first: what remains is resolved on its own.
  EXPECT_EQ(Reply(Rcpt(*a, f, "user%relay.example@mx.example.com")), "");
  EXPECT_EQ(Reply(Rcpt(*a, f, "user@relay.example")), "");
  // Routing left of a relay domain is not relayed.
  EXPECT_EQ(Reply(Rcpt(*a, f, "user%evil.example@relay.example")),
            "554 5.7.1 <user%evil.example@relay.example>: Relay access denied");
  EXPECT_EQ(Reply(Rcpt(*a, f, "evil.example!user@relay.example")),
            "554 5.7.1 <evil.example!user@relay.example>: Relay access denied");
  auto trusting = Build("relay_domains = relay.example\nallow_untrusted_routing = yes\n");
  EXPECT_EQ(Reply(Rcpt(*trusting, f, "user%evil.example@relay.example")), "");
}

TEST_F(SmtpdAccessTest, RejectsNonFqdnAddresses) {
  auto a = Build("smtpd_sender_restrictions = reject_non_fqdn_sender\n"
                 "smtpd_recipient_restrictions = reject_non_fqdn_recipient\n"
                 "smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination\n"
                 "non_fqdn_reject_code = 550\n");
  SmtpdFacts f = Inside();
  f.sender = "nodomain";
  EXPECT_EQ(Reply(Rcpt(*a, f, "root@mx.example.com")),
            "550 5.5.2 <nodomain>: Sender address rejected: need fully-qualified address");
  f.sender = "a@sender.example";
  EXPECT_EQ(Reply(Rcpt(*a, f, "x@localhost")),
            "550 5.5.2 <x@localhost>: Recipient address rejected: need fully-qualified address");
  EXPECT_EQ(Reply(Rcpt(*a, f, "x@[192.0.2.1]")), "");
  f.sender = "";  // the null sender is not checked
  EXPECT_EQ(Reply(Rcpt(*a, f, "root@mx.example.com")), "");
}

TEST_F(SmtpdAccessTest, SoftBounceAndClientPortLogging) {
  auto a = Build("soft_bounce = yes\nsmtpd_client_port_logging = yes\n");
  AccessVerdict v = Rcpt(*a, Outside(), "x@elsewhere.example");
  EXPECT_EQ(v.reply, "454 4.7.1 <x@elsewhere.example>: Relay access denied");
  EXPECT_EQ(v.result, Result::kDefer);
  EXPECT_NE(OnlyLog(v).find("RCPT from client.example.net[203.0.113.5]:40000: 454 4.7.1"),
            std::string::npos);
}

TEST_F(SmtpdAccessTest, RejectsMultiRecipientBounces) {
  auto a = Build("smtpd_data_restrictions = reject_multi_recipient_bounce\n"
                 "smtpd_recipient_restrictions = reject_multi_recipient_bounce\n");
  SmtpdFacts f = Outside();
  f.sender = "";
  EXPECT_EQ(Reply(Rcpt(*a, f, "root@mx.example.com")), "");
  f.recipient_count = 1;
  EXPECT_EQ(Reply(Rcpt(*a, f, "root@mx.example.com")),
            "550 5.5.3 <root@mx.example.com>: Recipient address rejected: Multi-recipient bounce");
  f.recipient = "root@mx.example.com";
  EXPECT_EQ(a->Check(SmtpdStage::kData, f).result, Result::kNone);
  f.recipient_count = 2;
  EXPECT_EQ(Reply(a->Check(SmtpdStage::kData, f)),
            "550 5.5.3 <DATA>: Data command rejected: Multi-recipient bounce");
}

TEST_F(SmtpdAccessTest, SessionFactsRestrictions) {
  auto a = Build("smtpd_sasl_auth_enable = yes\n"
                 "smtpd_relay_restrictions = permit_sasl_authenticated, permit_inet_interfaces,"
                 " reject_unauth_destination\n");
  SmtpdFacts f = Outside();
  EXPECT_NE(Reply(Rcpt(*a, f, "x@elsewhere.example")), "");
  f.sasl_username = "alice";
  EXPECT_EQ(Reply(Rcpt(*a, f, "x@elsewhere.example")), "");
  SmtpdFacts local = Outside();
  local.client_addr = "127.0.0.1";  // inet_interfaces = loopback-only
  EXPECT_EQ(Reply(Rcpt(*a, local, "x@elsewhere.example")), "");
  auto nosasl = Build("smtpd_relay_restrictions = permit_sasl_authenticated, reject_unauth_destination\n");
  EXPECT_NE(Reply(Rcpt(*nosasl, f, "x@elsewhere.example")), "");  // SASL is off

  auto tls = Build("smtpd_client_restrictions = reject_plaintext_session\n");
  EXPECT_EQ(Reply(Rcpt(*tls, Outside(), "root@mx.example.com")),
            "450 4.7.1 Session encryption is required");
  SmtpdFacts enc = Outside();
  enc.encrypted = true;
  EXPECT_EQ(Reply(Rcpt(*tls, enc, "root@mx.example.com")), "");

  auto names = Build("smtpd_client_restrictions = reject_unknown_client_hostname\n"
                     "unknown_client_reject_code = 550\n");
  SmtpdFacts u = Outside();
  u.client_name = "unknown";
  EXPECT_EQ(Reply(Rcpt(*names, u, "root@mx.example.com")),
            "550 5.7.25 Client host rejected: cannot find your hostname, [203.0.113.5]");
  u.client_name_status = PeerNameStatus::kTempFail;
  EXPECT_EQ(Reply(Rcpt(*names, u, "root@mx.example.com")),
            "450 4.7.25 Client host rejected: cannot find your hostname, [203.0.113.5]");
  EXPECT_EQ(Reply(Rcpt(*names, Outside(), "root@mx.example.com")), "");
  auto reverse = Build("smtpd_client_restrictions = reject_unknown_reverse_client_hostname\n");
  SmtpdFacts r = Outside();
  r.reverse_client_name_status = PeerNameStatus::kTempFail;
  EXPECT_EQ(Reply(Rcpt(*reverse, r, "root@mx.example.com")),
            "450 4.7.1 Client host rejected: cannot find your reverse hostname, [203.0.113.5]");

  Write("reverse", "client.example.net OK\nbad.example REJECT\n");
  auto rev = Build("smtpd_client_restrictions = check_reverse_client_hostname_access "
                   "hash:$config_directory/reverse\n");
  SmtpdFacts rv = Outside();
  rv.reverse_client_name = "host.bad.example";
  EXPECT_EQ(Reply(Rcpt(*rev, rv, "root@mx.example.com")),
            "554 5.7.1 <host.bad.example>: Unverified Client host rejected: Access denied");
  rv.reverse_client_name = "client.example.net";  // OK is not allowed here
  AccessVerdict v = Rcpt(*rev, rv, "root@mx.example.com");
  EXPECT_EQ(v.reply, "451 4.3.5 Server configuration error");
  EXPECT_EQ(v.warnings.size(), 3u);
}

TEST_F(SmtpdAccessTest, LogsAddressesInExternalForm) {
  auto a = Build("");
  SmtpdFacts f = Outside();
  f.sender = "john doe@sender.example";
  AccessVerdict v = Rcpt(*a, f, "x.@elsewhere.example");
  EXPECT_EQ(v.reply, "554 5.7.1 <x.@elsewhere.example>: Relay access denied");
  EXPECT_NE(OnlyLog(v).find("from=<\"john doe\"@sender.example> to=<\"x.\"@elsewhere.example>"),
            std::string::npos);
  auto internal = Build("info_log_address_format = internal\n");
  v = Rcpt(*internal, f, "x.@elsewhere.example");
  EXPECT_NE(OnlyLog(v).find("from=<john doe@sender.example> to=<x.@elsewhere.example>"),
            std::string::npos);
}

TEST_F(SmtpdAccessTest, ComputesMynetworksFromTheStyleWhenLeftToTheHost) {
  const std::string base =
      "myhostname = mx.example.com\nmydomain = example.com\ninet_interfaces = loopback-only\n"
      "inet_protocols = ipv4\nalias_maps =\n"
      "smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination\n";
  auto host = TryBuild("", "", "smtp/inet", "compatibility_level = 3.6\n" + base);
  ASSERT_TRUE(host.ok()) << host.status();
  EXPECT_EQ((*host)->mynetworks(), "127.0.0.1/32");
  // Legacy compatibility: mynetworks_style = subnet.
  auto legacy = TryBuild("", "", "smtp/inet", base);
  ASSERT_TRUE(legacy.ok()) << legacy.status();
  EXPECT_EQ((*legacy)->mynetworks(), "127.0.0.0/8");
  auto styled = TryBuild("mynetworks_style = subnet\n", "", "smtp/inet",
                         "compatibility_level = 3.6\n" + base);
  ASSERT_TRUE(styled.ok()) << styled.status();
  EXPECT_EQ((*styled)->mynetworks(), "127.0.0.0/8");
  SmtpdFacts f = Outside();
  f.client_addr = "127.0.0.9";
  EXPECT_EQ(Reply(Rcpt(**styled, f, "x@elsewhere.example")), "");
  EXPECT_NE(Reply(Rcpt(**host, f, "x@elsewhere.example")), "");
}

TEST_F(SmtpdAccessTest, ServicesKeepTheirOwnRestrictions) {
  auto smtp = Build("", "127.0.0.1:2525 inet n - n - - smtpd\n"
                        "  -o smtpd_restriction_classes=local_only\n"
                        "  -o local_only=permit_mynetworks,reject\n"
                        "  -o smtpd_client_restrictions=local_only\n",
                    "127.0.0.1:2525/inet");
  EXPECT_EQ(Reply(Rcpt(*smtp, Outside(), "root@mx.example.com")),
            "554 5.7.1 <client.example.net[203.0.113.5]>: Client host rejected: Access denied");
  EXPECT_EQ(Reply(Rcpt(*smtp, Inside(), "root@mx.example.com")), "");
}

TEST_F(SmtpdAccessTest, IsSafeToShareBetweenThreads) {
  Write("access", "reject@example.org REJECT\n");
  auto a = Build("relay_domains = example.org\n"
                 "smtpd_recipient_restrictions = check_recipient_access "
                 "hash:$config_directory/access\n");
  std::vector<std::thread> threads;
  std::vector<int> wrong(4, 0);
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 500; ++i) {
        bool odd = (i + t) % 2;
        AccessVerdict v = Rcpt(*a, Outside(), odd ? "reject@example.org" : "fine@example.org");
        if ((v.result == Result::kReject) != odd) ++wrong[t];
      }
    });
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(wrong, std::vector<int>(4, 0));
}

}  // namespace
}  // namespace posthaste::runtime
