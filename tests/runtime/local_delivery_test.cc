// local_delivery_test.cc: the local agent over bundles built by phc: home
// Maildir and spool mbox delivery, aliases (lists, owner-, extensions,
// self-reference, refused forms), unknown users, loops, unsupported
// parameters, soft_bounce, the thread pool path and (as root) delivery with
// the user's rights.
#include "runtime/local_delivery.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <map>

#include "asio/co_spawn.hpp"
#include "asio/detached.hpp"
#include "asio/io_context.hpp"
#include "asio/thread_pool.hpp"
#include "gtest/gtest.h"
#include "runtime/fs_identity.h"
#include "runtime/maillog.h"
#include "tests/runtime/delivery_test_support.h"

namespace posthaste::runtime {
namespace {

using testing::BuildBundle;
using testing::Describe;
using testing::ListDir;
using testing::MakeRequest;
using testing::OutcomeFor;
using testing::ReadFile;
using testing::TempDir;

const char kMaster[] =
    "cleanup unix n - n - 0 cleanup\n"
    "local unix - n n - - local\n";

const char kAliases[] =
    "alias_maps = inline:{{team=alice, bob@example.net}, owner-team=alice,"
    " cmd=|/usr/bin/procmail, file=/var/log/mail.copy, inc=:include:/etc/list,"
    " {mixed=bob@example.net, |/bin/true}, {selfish=alice, selfish, Carol <carol@example.net>},"
    " alice+lists=lists@example.net, empty=}\n";

const char kMessage[] = "From: sender@example.org\nSubject: test\n\nhello\n";

class LocalDeliveryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    setenv("TZ", "UTC", 1);  // forwarded copies' Received: dates
    tzset();
    users_["alice"] = {"alice", geteuid(), getegid(), dir_ / "home/alice"};
    users_["selfish"] = {"selfish", geteuid(), getegid(), dir_ / "home/selfish"};
    mkdir((dir_ / "home").c_str(), 0755);
  }

  std::shared_ptr<const tables::Snapshot> Bundle(const std::string& extra = "") {
    return BuildBundle(dir_,
                       "myhostname = mx.example.com\n"
                       "recipient_delimiter = +\n"
                       "home_mailbox = Maildir/\n" +
                           std::string(kAliases) + extra,
                       kMaster);
  }

  LocalDeliveryOptions Options() {
    LocalDeliveryOptions o;
    o.passwd = [this](std::string_view name) -> absl::StatusOr<std::optional<PasswdEntry>> {
      auto it = users_.find(std::string(name));
      if (it == users_.end()) return std::nullopt;
      return it->second;
    };
    o.forward = [this](NewMessage m, const ForwardContent& content) -> absl::StatusOr<std::string> {
      if (!forward_error_.ok()) return forward_error_;
      std::string id = "4FWD" + std::to_string(forwarded_.size() + 1);
      forwarded_.push_back({m, content(id, int64_t{1700000000000000})});
      return id;
    };
    o.clock = [] { return int64_t{1700000000000000}; };
    return o;
  }

  DeliveryResult Deliver(std::shared_ptr<const tables::Snapshot> snap,
                         const std::vector<std::string>& rcpts,
                         const std::string& content = kMessage) {
    LocalDeliveryAgent agent(Options());
    return agent.DeliverNow(MakeRequest(std::move(snap), "local/unix", rcpts, content));
  }

  std::vector<std::string> NewMail(const std::string& user) {
    return ListDir(dir_ / ("home/" + user + "/Maildir/new"));
  }

  TempDir dir_;
  std::map<std::string, PasswdEntry> users_;
  struct Forwarded {
    NewMessage message;
    std::string content;
  };
  std::vector<Forwarded> forwarded_;
  absl::Status forward_error_;
};

TEST_F(LocalDeliveryTest, DeliversToTheHomeMaildirWithDeliveryHeaders) {
  DeliveryResult r = Deliver(Bundle(), {"Alice+Foo@mx.example.com"});
  EXPECT_EQ(r.relay, "local");
  EXPECT_EQ(Describe(OutcomeFor(r, 0)), "sent 2.0.0 delivered to maildir");
  std::vector<std::string> files = NewMail("alice");
  ASSERT_EQ(files.size(), 1u);
  EXPECT_NE(files[0].find(".mx.example.com"), std::string::npos) << files[0];
  EXPECT_EQ(ReadFile(dir_ / ("home/alice/Maildir/new/" + files[0])),
            "Return-Path: <sender@example.org>\n"
            "X-Original-To: Alice+Foo@mx.example.com\n"
            "Delivered-To: Alice+Foo@mx.example.com\n" +
                std::string(kMessage));
  EXPECT_TRUE(forwarded_.empty());
}

TEST_F(LocalDeliveryTest, UnknownUserIsBounced) {
  DeliveryResult r = Deliver(Bundle(), {"Nobody-Here@mx.example.com", "alice@mx.example.com"});
  EXPECT_EQ(Describe(OutcomeFor(r, 0)), "bounced 5.1.1 unknown user: \"nobody-here\"");
  EXPECT_EQ(Describe(OutcomeFor(r, 1)), "sent 2.0.0 delivered to maildir");
}

TEST_F(LocalDeliveryTest, AliasListIsForwardedAsOneMessageWithTheOwnerAsSender) {
  DeliveryResult r = Deliver(Bundle(), {"Team@mx.example.com"});
  EXPECT_EQ(Describe(OutcomeFor(r, 0)), "sent 2.0.0 forwarded as 4FWD1");
  ASSERT_EQ(forwarded_.size(), 1u);
  const NewMessage& m = forwarded_[0].message;
  EXPECT_EQ(m.sender, "owner-team@mx.example.com");
  EXPECT_EQ(m.recipients, (std::vector<std::string>{"alice@mx.example.com", "bob@example.net"}));
  // A list (it has an owner-): its copies do not name the list's recipient.
  EXPECT_EQ(m.original_recipients, (std::vector<std::string>{"", ""}));
  EXPECT_EQ(forwarded_[0].content,
            "Received: by mx.example.com (Postfix)\n"
            "\tid 4FWD1; Tue, 14 Nov 2023 22:13:20 +0000 (UTC)\n"
            "Delivered-To: team@mx.example.com\n" +
                std::string(kMessage));
  // Under an owner-, another local user is sent on too (her own queue record).
  EXPECT_TRUE(NewMail("alice").empty());
}

TEST_F(LocalDeliveryTest, AliasWithExtensionIsTriedFirst) {
  DeliveryResult r = Deliver(Bundle(), {"alice+lists@mx.example.com"});
  EXPECT_EQ(Describe(OutcomeFor(r, 0)), "sent 2.0.0 forwarded as 4FWD1");
  ASSERT_EQ(forwarded_.size(), 1u);
  EXPECT_EQ(forwarded_[0].message.recipients, std::vector<std::string>{"lists@example.net"});
  EXPECT_EQ(forwarded_[0].message.sender, "sender@example.org");
}

TEST_F(LocalDeliveryTest, CommandFileAndIncludeAreRefused) {
  DeliveryResult r = Deliver(Bundle(), {"cmd@mx.example.com", "file@mx.example.com",
                                        "inc@mx.example.com", "mixed@mx.example.com"});
  EXPECT_EQ(Describe(OutcomeFor(r, 0)),
            "bounced 5.7.1 mail to command is not supported (alias cmd)");
  EXPECT_EQ(Describe(OutcomeFor(r, 1)), "bounced 5.7.1 mail to file is not supported (alias file)");
  EXPECT_EQ(Describe(OutcomeFor(r, 2)),
            "bounced 5.7.1 mail to :include: file is not supported (alias inc)");
  EXPECT_EQ(Describe(OutcomeFor(r, 3)),
            "bounced 5.7.1 mail to command is not supported (alias mixed)");
  // The address in the mixed list still gets the message.
  ASSERT_EQ(forwarded_.size(), 1u);
  EXPECT_EQ(forwarded_[0].message.recipients, std::vector<std::string>{"bob@example.net"});
}

TEST_F(LocalDeliveryTest, AliasNamingItselfDeliversToItsMailbox) {
  // selfish=alice, selfish, Carol <carol@example.net> (no owner-selfish):
  // alice is local, so she is delivered in the same run; selfish names
  // itself (its user's mailbox); carol is forwarded.
  DeliveryResult r = Deliver(Bundle(), {"selfish@mx.example.com"});
  const RecipientOutcome* o = OutcomeFor(r, 0);
  EXPECT_EQ(Describe(o), "sent 2.0.0 delivered to maildir, delivered to maildir, forwarded as 4FWD1");
  ASSERT_EQ(o->parts.size(), 3u);
  EXPECT_EQ(o->parts[0].address, "alice@mx.example.com");
  EXPECT_EQ(o->parts[0].original, "selfish@mx.example.com");
  EXPECT_EQ(o->parts[1].address, "selfish@mx.example.com");
  EXPECT_EQ(o->parts[2].address, "selfish@mx.example.com");
  EXPECT_EQ(o->parts[2].text, "forwarded as 4FWD1");
  EXPECT_EQ(NewMail("selfish").size(), 1u);
  std::vector<std::string> alice = NewMail("alice");
  ASSERT_EQ(alice.size(), 1u);
  // Delivered-To: names the recipient being delivered (frozen_delivered_to).
  EXPECT_EQ(ReadFile(dir_ / ("home/alice/Maildir/new/" + alice[0])),
            "Return-Path: <sender@example.org>\n"
            "X-Original-To: selfish@mx.example.com\n"
            "Delivered-To: selfish@mx.example.com\n" +
                std::string(kMessage));
  ASSERT_EQ(forwarded_.size(), 1u);
  EXPECT_EQ(forwarded_[0].message.recipients, std::vector<std::string>{"carol@example.net"});
  EXPECT_EQ(forwarded_[0].message.original_recipients,
            std::vector<std::string>{"selfish@mx.example.com"});
}

TEST_F(LocalDeliveryTest, LocalAddressesOfAnAliasAreDeliveredOnceInTheSameRun) {
  DeliveryResult r = Deliver(
      Bundle("alias_maps = inline:{{staff=alice, Alice@mx.example.com, selfish, alice}}\n"),
      {"Staff@mx.example.com"});
  const RecipientOutcome* o = OutcomeFor(r, 0);
  EXPECT_EQ(Describe(o), "sent 2.0.0 delivered to maildir, delivered to maildir");
  ASSERT_EQ(o->parts.size(), 2u);
  EXPECT_EQ(o->parts[0].address, "alice@mx.example.com");
  EXPECT_EQ(o->parts[0].original, "Staff@mx.example.com");
  EXPECT_EQ(o->parts[1].address, "selfish@mx.example.com");
  EXPECT_EQ(NewMail("alice").size(), 1u);
  EXPECT_EQ(NewMail("selfish").size(), 1u);
  EXPECT_TRUE(forwarded_.empty());
}

TEST_F(LocalDeliveryTest, AliasLoopsEndAtTheNestingLimit) {
  DeliveryResult r =
      Deliver(Bundle("alias_maps = inline:{{ping=pong}, {pong=ping}}\n"), {"ping@mx.example.com"});
  const RecipientOutcome* o = OutcomeFor(r, 0);
  EXPECT_EQ(o->status, RecipientOutcome::Status::kBounced) << Describe(o);
  EXPECT_EQ(o->dsn, "5.4.6");
  EXPECT_TRUE(o->text == "recipient nesting limit exceeded" ||
              o->text.rfind("alias database loop for ", 0) == 0)
      << o->text;
  EXPECT_TRUE(forwarded_.empty());
}

TEST_F(LocalDeliveryTest, ADeferredAddressCancelsTheForwardedCopy) {
  // The whole recipient is tried again later: sending the copy now would
  // send it twice.
  users_["alice"].home.clear();
  LocalDeliveryOptions o = Options();
  o.passwd = [](std::string_view name) -> absl::StatusOr<std::optional<PasswdEntry>> {
    if (name == "alice") return absl::UnavailableError("passwd server down");
    return std::nullopt;
  };
  LocalDeliveryAgent agent(o);
  DeliveryResult r = agent.DeliverNow(MakeRequest(
      Bundle("alias_maps = inline:{{mixed=remote@example.net, alice}}\n"), "local/unix",
      {"mixed@mx.example.com"}, kMessage));
  EXPECT_EQ(Describe(OutcomeFor(r, 0)), "deferred 4.3.0 user lookup error: passwd server down");
  EXPECT_TRUE(forwarded_.empty());
}

TEST_F(LocalDeliveryTest, EmptyAliasDefers) {
  // As Postfix's local: no recipient in the lookup result is a database
  // problem, not the recipient's.
  DeliveryResult r = Deliver(Bundle(), {"empty@mx.example.com"});
  EXPECT_EQ(Describe(OutcomeFor(r, 0)), "deferred 4.3.0 alias database unavailable");
}

TEST_F(LocalDeliveryTest, ForwardingLoopIsBounced) {
  std::string looped = "Delivered-To: team@mx.example.com\n" + std::string(kMessage);
  DeliveryResult r = Deliver(Bundle(), {"team@mx.example.com", "alice@mx.example.com"}, looped);
  EXPECT_EQ(Describe(OutcomeFor(r, 0)),
            "bounced 5.4.6 mail forwarding loop for team@mx.example.com");
  EXPECT_EQ(Describe(OutcomeFor(r, 1)), "sent 2.0.0 delivered to maildir");
  EXPECT_TRUE(forwarded_.empty());
}

TEST_F(LocalDeliveryTest, ForwardingFailureDefers) {
  forward_error_ = absl::UnavailableError("queue file write error");
  DeliveryResult r = Deliver(Bundle(), {"team@mx.example.com"});
  EXPECT_EQ(Describe(OutcomeFor(r, 0)),
            "deferred 4.3.0 mail forwarding failed: queue file write error");
  LocalDeliveryOptions o = Options();
  o.forward = nullptr;
  LocalDeliveryAgent agent(o);
  r = agent.DeliverNow(MakeRequest(Bundle(), "local/unix", {"team@mx.example.com"}, kMessage));
  EXPECT_EQ(OutcomeFor(r, 0)->status, RecipientOutcome::Status::kDeferred);
}

TEST_F(LocalDeliveryTest, DefaultAliasMapsUseTheHostAliasesOrDeferWithoutThem) {
  // The default alias_maps (hash:/etc/aliases, nis:mail.aliases): phc build
  // bundles /etc/aliases when it can read it, and NIS lookups find nothing,
  // so a user without an alias is delivered. Without /etc/aliases the table
  // is not in the bundle: never treat that as "no alias" (Postfix defers
  // without aliases.db too).
  auto snap = BuildBundle(dir_, "myhostname = mx.example.com\nhome_mailbox = Maildir/\n", kMaster);
  Maillog log;
  std::vector<std::string> lines;
  log.SetSink([&](std::string_view line) { lines.emplace_back(line); }, true);
  LocalDeliveryOptions o = Options();
  o.log = &log;
  LocalDeliveryAgent agent(o);
  DeliveryResult r =
      agent.DeliverNow(MakeRequest(snap, "local/unix", {"alice@mx.example.com"}, kMessage));
  if (access("/etc/aliases", R_OK) == 0) {
    EXPECT_NE(snap->FindTable("hash:/etc/aliases"), nullptr);
    EXPECT_EQ(Describe(OutcomeFor(r, 0)), "sent 2.0.0 delivered to maildir");
    EXPECT_EQ(ListDir(dir_ / "home/alice/Maildir/new").size(), 1u);
    return;
  }
  EXPECT_EQ(Describe(OutcomeFor(r, 0)), "deferred 4.3.0 alias database unavailable");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("warning: alias_maps: table hash:/etc/aliases is not in the bundle"),
            std::string::npos)
      << lines[0];
}

TEST_F(LocalDeliveryTest, SpoolMboxWhenHomeMailboxIsEmpty) {
  std::string spool = dir_ / "spool";
  mkdir(spool.c_str(), 0775);
  auto snap = BuildBundle(
      dir_, "myhostname = mx.example.com\nmail_spool_directory = " + spool + "\n" + kAliases,
      kMaster);
  DeliveryResult r = Deliver(snap, {"alice@mx.example.com"});
  EXPECT_EQ(Describe(OutcomeFor(r, 0)), "sent 2.0.0 delivered to mailbox");
  r = Deliver(snap, {"alice@mx.example.com"}, "Subject: two\n\nFrom the start\n");
  EXPECT_EQ(Describe(OutcomeFor(r, 0)), "sent 2.0.0 delivered to mailbox");
  std::string box = ReadFile(spool + "/alice");
  EXPECT_EQ(box.rfind("From sender@example.org  ", 0), 0u) << box;
  EXPECT_NE(box.find("Delivered-To: alice@mx.example.com\nFrom: sender@example.org\n"),
            std::string::npos);
  EXPECT_NE(box.find("hello\n\nFrom sender@example.org  "), std::string::npos) << box;
  EXPECT_NE(box.find("\n>From the start\n\n"), std::string::npos) << box;
}

TEST_F(LocalDeliveryTest, SizeLimitBounces) {
  DeliveryResult r = Deliver(Bundle("mailbox_size_limit = 60\n"), {"alice@mx.example.com"},
                             "Subject: x\n\n" + std::string(100, 'y') + "\n");
  EXPECT_EQ(OutcomeFor(r, 0)->status, RecipientOutcome::Status::kBounced);
  EXPECT_EQ(OutcomeFor(r, 0)->dsn, "5.2.2");
  EXPECT_TRUE(NewMail("alice").empty());
}

TEST_F(LocalDeliveryTest, UnsupportedMailboxCommandAndLuserRelayDefer) {
  DeliveryResult r = Deliver(Bundle("mailbox_command = /usr/bin/procmail\n"),
                             {"alice@mx.example.com", "team@mx.example.com"});
  EXPECT_EQ(Describe(OutcomeFor(r, 0)),
            "deferred 4.3.0 mailbox_command is not supported by posthaste");
  EXPECT_EQ(Describe(OutcomeFor(r, 1)), "sent 2.0.0 forwarded as 4FWD1");  // aliases still work
  r = Deliver(Bundle("luser_relay = admin@example.com\n"),
              {"ghost@mx.example.com", "alice@mx.example.com"});
  EXPECT_EQ(Describe(OutcomeFor(r, 0)), "deferred 4.3.0 luser_relay is not supported by posthaste");
  EXPECT_EQ(Describe(OutcomeFor(r, 1)), "sent 2.0.0 delivered to maildir");
}

TEST_F(LocalDeliveryTest, SoftBounceDefersInsteadOfBouncing) {
  DeliveryResult r = Deliver(Bundle("soft_bounce = yes\n"), {"ghost@mx.example.com"});
  EXPECT_EQ(Describe(OutcomeFor(r, 0)), "deferred 4.1.1 unknown user: \"ghost\"");
}

TEST_F(LocalDeliveryTest, DotForwardForwardsAndBackslashUserKeepsACopy) {
  // ~/.forward (the default forward_path): comment lines skipped, addresses
  // forwarded as one new message with the original sender, "\\alice" (the
  // user herself) delivered to her mailbox as well.
  testing::WriteFile(dir_ / "home/alice/.forward",
                     "# keep a copy\nelsewhere@example.net, \\alice\n  other@example.org\n");
  DeliveryResult r = Deliver(Bundle(), {"alice@mx.example.com"});
  // The mailbox first, the forwarded copy when the run ends.
  EXPECT_EQ(Describe(OutcomeFor(r, 0)), "sent 2.0.0 delivered to maildir, forwarded as 4FWD1");
  ASSERT_EQ(forwarded_.size(), 1u);
  EXPECT_EQ(forwarded_[0].message.sender, "sender@example.org");
  EXPECT_EQ(forwarded_[0].message.recipients,
            (std::vector<std::string>{"elsewhere@example.net", "other@example.org"}));
  EXPECT_EQ(forwarded_[0].content,
            "Received: by mx.example.com (Postfix)\n"
            "\tid 4FWD1; Tue, 14 Nov 2023 22:13:20 +0000 (UTC)\n"
            "Delivered-To: alice@mx.example.com\n" +
                std::string(kMessage));
  EXPECT_EQ(NewMail("alice").size(), 1u);
}

TEST_F(LocalDeliveryTest, DotForwardWithExtensionIsTriedFirstOnlyForAnExtension) {
  // forward_path "$home/.forward${recipient_delimiter}${extension}, $home/.forward":
  // the first item is skipped when the recipient has no extension.
  testing::WriteFile(dir_ / "home/alice/.forward+news", "news@example.net\n");
  testing::WriteFile(dir_ / "home/alice/.forward", "plain@example.net\n");
  DeliveryResult r = Deliver(Bundle(), {"alice+news@mx.example.com", "alice@mx.example.com"});
  EXPECT_EQ(Describe(OutcomeFor(r, 0)), "sent 2.0.0 forwarded as 4FWD1");
  EXPECT_EQ(Describe(OutcomeFor(r, 1)), "sent 2.0.0 forwarded as 4FWD2");
  ASSERT_EQ(forwarded_.size(), 2u);
  EXPECT_EQ(forwarded_[0].message.recipients, std::vector<std::string>{"news@example.net"});
  EXPECT_EQ(forwarded_[1].message.recipients, std::vector<std::string>{"plain@example.net"});
  EXPECT_TRUE(NewMail("alice").empty());
}

TEST_F(LocalDeliveryTest, DotForwardCommandsAreRefusedAndEmptyFilesIgnored) {
  testing::WriteFile(dir_ / "home/alice/.forward", "\"|/usr/bin/procmail\"\n");
  DeliveryResult r = Deliver(Bundle(), {"alice@mx.example.com"});
  std::string refused = "bounced 5.7.1 mail to command is not supported (" +
                        std::string(dir_ / "home/alice/.forward") + ")";
  EXPECT_EQ(Describe(OutcomeFor(r, 0)), refused);
  testing::WriteFile(dir_ / "home/alice/.forward", "# nothing\n\n");
  r = Deliver(Bundle(), {"alice@mx.example.com"});
  EXPECT_EQ(Describe(OutcomeFor(r, 0)), "sent 2.0.0 delivered to maildir");
  EXPECT_TRUE(forwarded_.empty());
}

TEST_F(LocalDeliveryTest, DotForwardOwnedBySomeoneElseIsIgnored) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to give the file another owner";
  std::string path = dir_ / "home/alice/.forward";
  testing::WriteFile(path, "thief@example.net\n");
  ASSERT_EQ(chown(path.c_str(), 4242, 4242), 0);
  Maillog log;
  std::vector<std::string> lines;
  log.SetSink([&](std::string_view line) { lines.emplace_back(line); }, true);
  LocalDeliveryOptions o = Options();
  o.log = &log;
  LocalDeliveryAgent agent(o);
  DeliveryResult r =
      agent.DeliverNow(MakeRequest(Bundle(), "local/unix", {"alice@mx.example.com"}, kMessage));
  EXPECT_EQ(Describe(OutcomeFor(r, 0)), "sent 2.0.0 delivered to maildir");
  EXPECT_TRUE(forwarded_.empty());
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("warning: 4Q1Dtest: ignoring " + path + ": not a regular file owned by alice"),
            std::string::npos)
      << lines[0];
}

TEST_F(LocalDeliveryTest, DeliverRunsOnTheBlockingExecutor) {
  asio::thread_pool pool(1);
  asio::io_context io;
  LocalDeliveryOptions o = Options();
  o.blocking = pool.get_executor();
  LocalDeliveryAgent agent(o);
  DeliveryRequest req = MakeRequest(Bundle(), "local/unix", {"alice@mx.example.com"}, kMessage);
  std::optional<DeliveryResult> result;
  std::thread::id resumed_on;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        result = co_await agent.Deliver(req);
        resumed_on = std::this_thread::get_id();
      },
      asio::detached);
  io.run();
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(resumed_on, std::this_thread::get_id());  // back on the io_context's thread
  EXPECT_EQ(Describe(OutcomeFor(*result, 0)), "sent 2.0.0 delivered to maildir");
  pool.join();
}

TEST_F(LocalDeliveryTest, RootDeliversWithTheUsersRights) {
  if (!RunningAsRoot()) GTEST_SKIP() << "needs root";
  std::string home = dir_ / "home/nob";
  ASSERT_EQ(mkdir(home.c_str(), 0700), 0);
  ASSERT_EQ(chown(home.c_str(), 65534, 65534), 0);
  users_["nob"] = {"nob", 65534, 65534, home};
  // A home the user cannot write: root could, the delivery must not.
  std::string locked = dir_ / "home/locked";
  ASSERT_EQ(mkdir(locked.c_str(), 0755), 0);
  users_["locked"] = {"locked", 65534, 65534, locked};

  DeliveryResult r = Deliver(Bundle(), {"nob@mx.example.com", "locked@mx.example.com"});
  EXPECT_EQ(Describe(OutcomeFor(r, 0)), "sent 2.0.0 delivered to maildir");
  std::vector<std::string> files = ListDir(home + "/Maildir/new");
  ASSERT_EQ(files.size(), 1u);
  struct stat st;
  ASSERT_EQ(stat((home + "/Maildir/new/" + files[0]).c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 65534u);
  ASSERT_EQ(stat((home + "/Maildir").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 65534u);

  const RecipientOutcome* o = OutcomeFor(r, 1);
  ASSERT_NE(o, nullptr);
  EXPECT_EQ(o->status, RecipientOutcome::Status::kDeferred) << Describe(o);
  EXPECT_NE(o->text.find("Permission denied"), std::string::npos) << Describe(o);
  EXPECT_TRUE(ListDir(locked).empty());

  // The spool mbox is created by root and handed to the user.
  std::string spool = dir_ / "spool";
  ASSERT_EQ(mkdir(spool.c_str(), 0755), 0);
  r = Deliver(BuildBundle(dir_, "alias_maps =\nmail_spool_directory = " + spool + "\n", kMaster),
              {"nob@mx.example.com"});
  EXPECT_EQ(Describe(OutcomeFor(r, 0)), "sent 2.0.0 delivered to mailbox");
  ASSERT_EQ(stat((spool + "/nob").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 65534u);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

}  // namespace
}  // namespace posthaste::runtime
