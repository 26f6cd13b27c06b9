// checks_command_test.cc: `phc checks` on a configuration and a message, end to end.
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "gtest/gtest.h"
#include "tests/support/run_command.h"

namespace posthaste {
namespace {

namespace fs = std::filesystem;
using testing::RunCommand;

class ChecksCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/phc-checks-XXXXXX";
    dir_ = mkdtemp(tmpl);
    Write("main.cf",
          "header_checks = regexp:$config_directory/header_checks\n"
          "body_checks = pcre:$config_directory/body_checks\n");
    Write("master.cf", "smtp unix - - n - - smtp\nbulk unix - - n - - smtp\n");
    Write("header_checks",
          "# comment\n"
          "/^Subject:.*viagra/   REJECT Spam subject\n"
          "/^X-Class: bulk/      FILTER bulk:\n"
          "/^X-Mailer: (.*)/     REPLACE X-Old-Mailer: $1\n"
          "if /^X-Hold:/\n"
          "/urgent/              HOLD held for review\n"
          "endif\n"
          "/^X-Bad:/             DEFER nope\n");
    Write("body_checks", "/^zap/  IGNORE\n/secret/ PREPEND [next line redacted]\n");
  }
  void TearDown() override { fs::remove_all(dir_); }
  void Write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ + "/" + name) << text;
  }
  testing::CommandResult Checks(const std::string& message, bool print_message = false) {
    std::vector<std::string> argv = {POSTHASTE_PHC_PATH, "checks", "-c", dir_};
    if (print_message) argv.push_back("--message");
    return RunCommand(argv, message);
  }
  std::string dir_;
};

TEST_F(ChecksCommandTest, PrintsEveryActionWithItsRuleAndTheOutcome) {
  testing::CommandResult r = Checks(
      "Subject: hello\nX-Class: bulk\nX-Mailer: m 1\nX-Hold: urgent\nX-Bad: 1\n\nzap me\n"
      "a secret\nbye\n",
      true);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string hc = dir_ + "/header_checks";
  std::string bc = dir_ + "/body_checks";
  EXPECT_EQ(r.out,
            hc + ":3: filter: header X-Class: bulk: bulk:\n" +
            hc + ":4: replace: header X-Mailer: m 1: X-Old-Mailer: m 1\n" +
            hc + ":6: hold: header X-Hold: urgent: held for review\n" +
            hc + ":8: DEFER: header X-Bad: 1: nope (ignored: unknown action \"DEFER\" in "
                 "header_checks: Postfix logs a warning and passes the line unchanged)\n" +
            bc + ":1: ignore: body zap me\n" +
            bc + ":2: prepend: body a secret: [next line redacted]\n"
            "result: accept\n"
            "hold: held for review\n"
            "filter: bulk:\n"
            "\n"
            "Subject: hello\nX-Class: bulk\nX-Old-Mailer: m 1\nX-Hold: urgent\nX-Bad: 1\n\n"
            "[next line redacted]\na secret\nbye\n");
}

TEST_F(ChecksCommandTest, RejectEndsInspectionAndShowsTheReply) {
  testing::CommandResult r = Checks("Subject: cheap viagra\nX-Class: bulk\n\nzap\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, dir_ + "/header_checks:2: reject: header Subject: cheap viagra: Spam subject\n"
                   "result: reject: 550 5.7.1 Spam subject\n");
}

TEST_F(ChecksCommandTest, MissingTableCannotRun) {
  fs::remove(dir_ + "/body_checks");
  testing::CommandResult r = Checks("Subject: x\n\n");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("body_checks"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace posthaste
