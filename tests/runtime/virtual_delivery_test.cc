// virtual_delivery_test.cc: the virtual agent over bundles built by phc:
// virtual_mailbox_maps lookup order, Maildir and mbox results, unknown
// users, loops, and (as root) the uid/gid maps and virtual_minimum_uid.
#include "runtime/virtual_delivery.h"

#include <sys/stat.h>
#include <unistd.h>

#include "gtest/gtest.h"
#include "runtime/fs_identity.h"
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

// virtual(8) does not document recipient_delimiter: the agent takes it from
// the services that do (trivial-rewrite here).
const char kMaster[] =
    "cleanup unix n - n - 0 cleanup\n"
    "rewrite unix - - n - - trivial-rewrite\n"
    "virtual unix - n n - - virtual\n";

const char kMessage[] = "Subject: hi\n\nbody\n";

// Files written as root go to the unprivileged "nobody" (65534), like a
// vmail user; otherwise as whoever runs the test.
constexpr uid_t kVmail = 65534;

class VirtualDeliveryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = dir_ / "vmail";
    ASSERT_EQ(mkdir(base_.c_str(), 0755), 0);
    ASSERT_EQ(mkdir((base_ + "/v.example").c_str(), 0755), 0);
    if (RunningAsRoot()) {
      ASSERT_EQ(chown(base_.c_str(), kVmail, kVmail), 0);
      ASSERT_EQ(chown((base_ + "/v.example").c_str(), kVmail, kVmail), 0);
    }
  }

  std::shared_ptr<const tables::Snapshot> Bundle(const std::string& extra = "") {
    return BuildBundle(dir_,
                       "myhostname = mx.example.com\n"
                       "recipient_delimiter = +\n"
                       "virtual_mailbox_domains = v.example, w.example\n"
                       "virtual_mailbox_base = " +
                           base_ +
                           "\n"
                           "virtual_mailbox_maps = hash:@CONF@/vmailbox\n"
                           "virtual_uid_maps = static:65534\n"
                           "virtual_gid_maps = static:65534\n" +
                           extra,
                       kMaster,
                       {{"vmailbox",
                         "a@v.example v.example/a/\n"
                         "b@v.example v.example/b\n"
                         "@w.example w.example/catchall/\n"}});
  }

  DeliveryResult Deliver(std::shared_ptr<const tables::Snapshot> snap,
                         const std::vector<std::string>& rcpts,
                         const std::string& content = kMessage) {
    VirtualDeliveryOptions o;
    o.clock = [] { return int64_t{1700000000000000}; };
    VirtualDeliveryAgent agent(o);
    return agent.DeliverNow(MakeRequest(std::move(snap), "virtual/unix", rcpts, content));
  }

  TempDir dir_;
  std::string base_;
};

TEST_F(VirtualDeliveryTest, MaildirMboxCatchAllAndExtensions) {
  DeliveryResult r =
      Deliver(Bundle(), {"A@v.example", "b@v.example", "anyone@w.example", "a+tag@v.example"});
  EXPECT_EQ(r.relay, "virtual");
  EXPECT_EQ(Describe(OutcomeFor(r, 0)), "sent 2.0.0 delivered to maildir");
  EXPECT_EQ(Describe(OutcomeFor(r, 1)), "sent 2.0.0 delivered to mailbox");
  EXPECT_EQ(Describe(OutcomeFor(r, 2)), "sent 2.0.0 delivered to maildir");
  EXPECT_EQ(Describe(OutcomeFor(r, 3)), "sent 2.0.0 delivered to maildir");

  std::vector<std::string> a = ListDir(base_ + "/v.example/a/new");
  ASSERT_EQ(a.size(), 2u);
  std::string first =
      ReadFile(base_ + "/v.example/a/new/" + a[0]) + ReadFile(base_ + "/v.example/a/new/" + a[1]);
  // Delivered-To: as written, as a live Postfix 3.7.11's virtual wrote it.
  EXPECT_NE(first.find("Return-Path: <sender@example.org>\nX-Original-To: A@v.example\n"
                       "Delivered-To: A@v.example\nSubject: hi\n"),
            std::string::npos)
      << first;
  EXPECT_NE(first.find("Delivered-To: a+tag@v.example\n"), std::string::npos);

  std::string box = ReadFile(base_ + "/v.example/b");
  EXPECT_EQ(box.rfind("From sender@example.org  ", 0), 0u) << box;
  EXPECT_NE(box.find("Delivered-To: b@v.example\nSubject: hi\n\nbody\n\n"), std::string::npos);
  EXPECT_EQ(ListDir(base_ + "/w.example/catchall/new").size(), 1u);

  if (RunningAsRoot()) {
    struct stat st;
    ASSERT_EQ(stat((base_ + "/v.example/b").c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, kVmail);
    ASSERT_EQ(stat((base_ + "/v.example/a/new/" + a[0]).c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, kVmail);
    EXPECT_EQ(st.st_gid, kVmail);
  }
}

TEST_F(VirtualDeliveryTest, UnknownUserIsBounced) {
  DeliveryResult r = Deliver(Bundle(), {"ZZ@v.example"});
  EXPECT_EQ(Describe(OutcomeFor(r, 0)), "bounced 5.1.1 unknown user: \"zz@v.example\"");
}

TEST_F(VirtualDeliveryTest, LoopIsBounced) {
  DeliveryResult r = Deliver(Bundle(), {"a@v.example"}, "Delivered-To: A@V.example\n\nx\n");
  EXPECT_EQ(Describe(OutcomeFor(r, 0)), "bounced 5.4.6 mail forwarding loop for a@v.example");
  EXPECT_TRUE(ListDir(base_ + "/v.example/a/new").empty());
}

TEST_F(VirtualDeliveryTest, SizeLimitBounces) {
  DeliveryResult r = Deliver(Bundle("virtual_mailbox_limit = 50\n"), {"a@v.example"},
                             "Subject: x\n\n" + std::string(100, 'y') + "\n");
  EXPECT_EQ(OutcomeFor(r, 0)->dsn, "5.2.2") << Describe(OutcomeFor(r, 0));
}

TEST_F(VirtualDeliveryTest, RootHonoursUidMapsAndMinimumUid) {
  if (!RunningAsRoot()) GTEST_SKIP() << "uid maps apply only when running as root";
  DeliveryResult r = Deliver(Bundle("virtual_minimum_uid = 70000\n"), {"a@v.example"});
  EXPECT_EQ(Describe(OutcomeFor(r, 0)), "deferred 4.3.5 mail system configuration error");
  auto snap = BuildBundle(dir_,
                          "virtual_mailbox_base = " + base_ +
                              "\n"
                              "virtual_mailbox_maps = inline:{a@v.example=v.example/a/,"
                              " b@v.example=v.example/b/}\n"
                              "virtual_uid_maps = inline:{a@v.example=65534}\n"
                              "virtual_gid_maps = static:65534\n",
                          kMaster);
  r = Deliver(snap, {"a@v.example", "b@v.example"});
  EXPECT_EQ(Describe(OutcomeFor(r, 0)), "sent 2.0.0 delivered to maildir");
  EXPECT_EQ(Describe(OutcomeFor(r, 1)), "deferred 4.3.5 mail system configuration error");
  // Without privilege the uid-65534 delivery cannot write into a root-only base.
  std::string closed = dir_ / "closed";
  ASSERT_EQ(mkdir(closed.c_str(), 0755), 0);
  snap = BuildBundle(dir_,
                     "virtual_mailbox_base = " + closed +
                         "\n"
                         "virtual_mailbox_maps = static:{x/}\n"
                         "virtual_uid_maps = static:65534\n"
                         "virtual_gid_maps = static:65534\n",
                     kMaster);
  r = Deliver(snap, {"c@v.example"});
  EXPECT_EQ(OutcomeFor(r, 0)->status, RecipientOutcome::Status::kDeferred)
      << Describe(OutcomeFor(r, 0));
  EXPECT_TRUE(ListDir(closed).empty());
}

}  // namespace
}  // namespace posthaste::runtime
