// maillog_test: the Postfix-shaped line format, the test sink, and batches
// (lines held until Flush, then written in order in one piece).
#include "runtime/maillog.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

namespace posthaste::runtime {
namespace {

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class MaillogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/maillog_test.XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    path_ = dir_ + "/maillog";
    log_.SetName("posthaste");
    log_.SetHostName("mx.example.com");
    ASSERT_TRUE(log_.OpenFile(path_).ok());
  }
  void TearDown() override {
    unlink(path_.c_str());
    rmdir(dir_.c_str());
  }
  std::string dir_, path_;
  Maillog log_;
};

TEST_F(MaillogTest, LineHasSyslogShape) {
  log_.Info("smtpd", "connect from localhost[127.0.0.1]");
  log_.Warning("cleanup", "header Subject: spam");
  std::string text = ReadAll(path_);
  std::regex shape(
      "[A-Z][a-z]{2} [0-3][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2} mx posthaste/smtpd\\[[0-9]+\\]: "
      "connect from localhost\\[127\\.0\\.0\\.1\\]\n"
      "[A-Z][a-z]{2} [0-3][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2} mx posthaste/cleanup\\[[0-9]+\\]: "
      "warning: header Subject: spam\n");
  EXPECT_TRUE(std::regex_match(text, shape)) << text;
}

TEST_F(MaillogTest, TimestampPadsTheDayWithAZero) {
  setenv("TZ", "UTC", 1);
  tzset();
  EXPECT_EQ(MaillogTimestamp(1772528103), "Mar 03 08:55:03");
  EXPECT_EQ(MaillogTimestamp(1795567271), "Nov 25 00:41:11");
}

TEST_F(MaillogTest, ControlCharactersAreReplaced) {
  log_.Info("smtpd", "evil\r\nnext line\x7f");
  std::string text = ReadAll(path_);
  EXPECT_NE(text.find("]: evil??next line?\n"), std::string::npos) << text;
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1);
}

TEST_F(MaillogTest, BatchHoldsLinesUntilFlushThenWritesThemInOrder) {
  {
    Maillog::Batch batch(log_);
    batch.Info("smtpd", "first");
    batch.Warning("smtpd", "second");
    log_.Info("qmgr", "unbatched");
    EXPECT_EQ(ReadAll(path_).find("first"), std::string::npos);
    batch.Flush();
    std::string text = ReadAll(path_);
    size_t unbatched = text.find("qmgr");
    size_t first = text.find("]: first\n");
    size_t second = text.find("]: warning: second\n");
    ASSERT_NE(unbatched, std::string::npos);
    ASSERT_NE(first, std::string::npos);
    ASSERT_NE(second, std::string::npos);
    EXPECT_LT(unbatched, first);
    EXPECT_LT(first, second);
    batch.Info("smtpd", "third");
  }  // the destructor writes what is left
  EXPECT_NE(ReadAll(path_).find("]: third\n"), std::string::npos);
}

TEST_F(MaillogTest, SinkGetsEachLineOfABatchWithoutItsNewline) {
  std::vector<std::string> seen;
  log_.SetSink([&seen](std::string_view line) { seen.emplace_back(line); }, /*only=*/true);
  Maillog::Batch batch(log_);
  batch.Info("smtpd", "a");
  batch.Info("cleanup", "b");
  batch.Flush();
  batch.Flush();  // nothing more to write
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_NE(seen[0].find("posthaste/smtpd["), std::string::npos);
  EXPECT_EQ(seen[0].substr(seen[0].size() - 4), "]: a");
  EXPECT_EQ(seen[1].substr(seen[1].size() - 4), "]: b");
  EXPECT_NE(seen[1].find("posthaste/cleanup["), std::string::npos);
  EXPECT_EQ(ReadAll(path_), "");  // sink only
}

}  // namespace
}  // namespace posthaste::runtime
