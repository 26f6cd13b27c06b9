// maildir_writer_test.cc: Maildir and mbox delivery into temp directories,
// the delivery headers, loop detection and the per-thread file identity.
#include "runtime/maildir_writer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <future>
#include <regex>
#include <thread>

#include "gtest/gtest.h"
#include "runtime/fs_identity.h"
#include "runtime/mbox_writer.h"
#include "tests/runtime/delivery_test_support.h"

namespace posthaste::runtime {
namespace {

using testing::ListDir;
using testing::ReadFile;
using testing::TempDir;

constexpr int64_t kNow = 1700000000123456;  // 2023-11-14 22:13:20.123456 UTC

TEST(DeliveryHeaders, ArePostfixOrderedAndKeepTheAddressesCase) {
  DeliveryHeaders h;
  h.sender = "Sender@Example.org";
  h.original = "Alice@MX.example.com";
  h.delivered_to = "Alice+Ext@MX.example.com";
  EXPECT_EQ(FormatDeliveryHeaders(h),
            "Return-Path: <Sender@Example.org>\n"
            "X-Original-To: Alice@MX.example.com\n"
            "Delivered-To: Alice+Ext@MX.example.com\n");
}

TEST(DeliveryHeaders, NullSenderQuotedLocalPartsAndNoLineBreaks) {
  DeliveryHeaders h;
  h.delivered_to = "john doe@example.com";
  EXPECT_EQ(FormatDeliveryHeaders(h),
            "Return-Path: <>\n"
            "Delivered-To: \"john doe\"@example.com\n");
  h.sender = "a\nB: c@example.org";
  EXPECT_EQ(FormatDeliveryHeaders(h).find("\nB:"), std::string::npos);
}

TEST(LoopDetection, FindsDeliveredToInTheHeadersOnly) {
  std::string msg =
      "Received: from x\n"
      "Delivered-To: Alice@Example.COM \n"
      "Subject: hi\n"
      "\n"
      "Delivered-To: bob@example.com\n";
  EXPECT_TRUE(HasDeliveredTo(msg, "alice@example.com"));
  EXPECT_FALSE(HasDeliveredTo(msg, "bob@example.com"));  // in the body
  EXPECT_FALSE(HasDeliveredTo(msg, "carol@example.com"));
  EXPECT_TRUE(HasDeliveredTo("delivered-to:\n <carol@example.com>\n\nbody\n", "carol@example.com"));
  EXPECT_FALSE(HasDeliveredTo("", "a@b"));
  EXPECT_FALSE(HasDeliveredTo("not a header line\nDelivered-To: a@b\n", "a@b"));
}

TEST(MaildirWriter, UniqueNamesEncodeTheHostAndCount) {
  std::string a = MaildirUniqueName(kNow, "mx.example.com");
  std::string b = MaildirUniqueName(kNow, "mx.example.com");
  EXPECT_NE(a, b);
  std::regex shape("1700000000\\.M123456P" + std::to_string(getpid()) +
                   "Q[0-9]+\\.mx\\.example\\.com");
  EXPECT_TRUE(std::regex_match(a, shape)) << a;
  std::string odd = MaildirUniqueName(kNow, "a/b:c");
  EXPECT_NE(odd.find(".a\\057b\\072c"), std::string::npos) << odd;
}

TEST(MaildirWriter, CreatesTheTreeAndDeliversIntoNew) {
  TempDir dir;
  MaildirTarget t;
  t.directory = dir / "home/alice/Maildir/";
  t.hostname = "mx.example.com";
  t.now_micros = kNow;
  absl::StatusOr<std::string> path =
      DeliverToMaildir(t, "Delivered-To: alice@example.com\n", "Subject: x\n\nbody");
  ASSERT_TRUE(path.ok()) << path.status();
  EXPECT_EQ(path->rfind(dir / "home/alice/Maildir/new/1700000000.M123456P", 0), 0u) << *path;
  EXPECT_EQ(ReadFile(*path), "Delivered-To: alice@example.com\nSubject: x\n\nbody\n");
  EXPECT_TRUE(ListDir(dir / "home/alice/Maildir/tmp").empty());
  EXPECT_TRUE(ListDir(dir / "home/alice/Maildir/cur").empty());
  ASSERT_EQ(ListDir(dir / "home/alice/Maildir/new").size(), 1u);
  struct stat st;
  ASSERT_EQ(stat((dir / "home/alice/Maildir").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  ASSERT_EQ(stat(path->c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  // A second message lands next to the first, byte for byte as given.
  absl::StatusOr<std::string> second = DeliverToMaildir(t, "", "From me\n>x\n");
  ASSERT_TRUE(second.ok());
  EXPECT_NE(*second, *path);
  EXPECT_EQ(ReadFile(*second), "From me\n>x\n");
  EXPECT_EQ(ListDir(dir / "home/alice/Maildir/new").size(), 2u);
}

TEST(MaildirWriter, SizeLimitIsAPermanentFailureAndLeavesNothing) {
  TempDir dir;
  MaildirTarget t;
  t.directory = dir / "Maildir";
  t.hostname = "h";
  t.size_limit = 10;
  absl::StatusOr<std::string> r = DeliverToMaildir(t, "", "Subject: too long\n");
  EXPECT_TRUE(absl::IsResourceExhausted(r.status())) << r.status();
  EXPECT_NE(r.status().message().find("write maildir file"), std::string::npos);
  EXPECT_TRUE(ListDir(dir / "Maildir/tmp").empty());
  EXPECT_TRUE(ListDir(dir / "Maildir/new").empty());
}

TEST(MaildirWriter, UnusablePathIsATemporaryFailure) {
  TempDir dir;
  testing::WriteFile(dir / "file", "x");
  MaildirTarget t;
  t.directory = dir / "file/Maildir";
  t.hostname = "h";
  absl::StatusOr<std::string> r = DeliverToMaildir(t, "", "x\n");
  EXPECT_TRUE(absl::IsUnavailable(r.status())) << r.status();
  EXPECT_NE(r.status().message().find("create directory " + dir / "file"), std::string::npos)
      << r.status();
}

TEST(MboxWriter, EntryHasFromLineQuotingAndBlankLine) {
  setenv("TZ", "UTC", 1);
  tzset();
  EXPECT_EQ(FormatMboxEntry("s@example.org", kNow, "Delivered-To: a@b\n",
                            "Subject: x\n\nFrom here\n>From there\nFrom: not at start\nend"),
            "From s@example.org  Tue Nov 14 22:13:20 2023\n"
            "Delivered-To: a@b\n"
            "Subject: x\n\n>From here\n>From there\nFrom: not at start\nend\n\n");
  EXPECT_EQ(FormatMboxEntry("", kNow, "", "x\n"),
            "From MAILER-DAEMON  Tue Nov 14 22:13:20 2023\nx\n\n");
}

TEST(MboxWriter, AppendsLockedEntries) {
  TempDir dir;
  MboxTarget t;
  t.path = dir / "alice";
  t.now_micros = kNow;
  ASSERT_TRUE(AppendToMbox(t, "s@example.org", "", "one\n").ok());
  ASSERT_TRUE(AppendToMbox(t, "s@example.org", "", "two\n").ok());
  std::string box = ReadFile(t.path);
  EXPECT_NE(box.find("one\n\nFrom s@example.org  "), std::string::npos) << box;
  EXPECT_EQ(box.substr(box.size() - 5), "two\n\n");
  struct stat st;
  ASSERT_EQ(stat(t.path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST(MboxWriter, RefusesSymlinksHardLinksAndOversize) {
  TempDir dir;
  testing::WriteFile(dir / "target", "");
  ASSERT_EQ(symlink((dir / "target").c_str(), (dir / "link").c_str()), 0);
  MboxTarget t;
  t.path = dir / "link";
  absl::Status s = AppendToMbox(t, "", "", "x\n");
  EXPECT_TRUE(absl::IsUnavailable(s)) << s;
  EXPECT_EQ(ReadFile(dir / "target"), "");

  ASSERT_EQ(link((dir / "target").c_str(), (dir / "hard").c_str()), 0);
  t.path = dir / "hard";
  s = AppendToMbox(t, "", "", "x\n");
  EXPECT_NE(s.message().find("more than one link"), std::string::npos) << s;

  t.path = dir / "small";
  t.size_limit = 60;
  ASSERT_TRUE(AppendToMbox(t, "", "", "x\n").ok());
  std::string before = ReadFile(t.path);
  s = AppendToMbox(t, "", "", "x\n");
  EXPECT_TRUE(absl::IsResourceExhausted(s)) << s;
  EXPECT_EQ(ReadFile(t.path), before);
}

TEST(MboxWriter, OwnerCheckAndChownOnCreate) {
  if (!RunningAsRoot()) GTEST_SKIP() << "needs root to own files as another user";
  TempDir dir;
  MboxTarget t;
  t.path = dir / "nobody";
  t.owner = MboxTarget::Owner{65534, 65534};
  ASSERT_TRUE(AppendToMbox(t, "", "", "x\n").ok());
  struct stat st;
  ASSERT_EQ(stat(t.path.c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 65534u);
  EXPECT_EQ(st.st_gid, 65534u);
  // Someone else's file is not appended to.
  testing::WriteFile(dir / "other", "");
  t.path = dir / "other";
  absl::Status s = AppendToMbox(t, "", "", "x\n");
  EXPECT_NE(s.message().find("not owned by the recipient"), std::string::npos) << s;
}

TEST(FsIdentity, FilesBelongToTheUserAndRootsRightsAreGone) {
  if (!RunningAsRoot()) GTEST_SKIP() << "needs root";
  TempDir dir;
  ASSERT_EQ(mkdir((dir / "open").c_str(), 0777), 0);
  ASSERT_EQ(chmod((dir / "open").c_str(), 0777), 0);
  ASSERT_EQ(mkdir((dir / "closed").c_str(), 0700), 0);
  std::promise<void> go;
  bool other_ok = false;
  std::thread other([&, ready = go.get_future()]() mutable {
    ready.wait();
    int fd2 = open((dir / "closed/g").c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
    other_ok = fd2 >= 0;
    if (fd2 >= 0) close(fd2);
  });
  {
    auto scope = ScopedFsIdentity::Enter(65534, 65534);
    ASSERT_TRUE(scope.ok()) << scope.status();
    int fd = open((dir / "open/f").c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
    ASSERT_GE(fd, 0);
    close(fd);
    EXPECT_LT(open((dir / "closed/f").c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600), 0);
    EXPECT_EQ(errno, EACCES);
    // Threads that existed before keep root's identity meanwhile (a thread
    // started inside the scope would inherit the switched one).
    go.set_value();
    other.join();
    EXPECT_TRUE(other_ok);
  }
  struct stat st;
  ASSERT_EQ(stat((dir / "open/f").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 65534u);
  EXPECT_EQ(st.st_gid, 65534u);
  // Root again after the scope.
  int fd = open((dir / "closed/h").c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
  EXPECT_GE(fd, 0);
  if (fd >= 0) close(fd);
}

}  // namespace
}  // namespace posthaste::runtime
