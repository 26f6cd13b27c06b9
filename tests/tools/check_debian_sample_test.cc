// check_debian_sample_test.cc: phc check accepts the sample configurations
// that Debian's postfix package ships, and the project's own examples/.
//
// The samples come from the installed package (tools/setup.sh installs it as
// a test peer); they are not copied into this repository.
#include <filesystem>
#include <fstream>

#include "gtest/gtest.h"
#include "tests/support/run_command.h"

namespace posthaste {
namespace {

namespace fs = std::filesystem;
using testing::RunCommand;

std::string TempDir() {
  char tmpl[] = "/tmp/phc-sample-XXXXXX";
  return mkdtemp(tmpl);
}

void ExpectClean(const std::string& dir) {
  testing::CommandResult r = RunCommand({POSTHASTE_PHC_PATH, "check", "-c", dir});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err.find("error:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(": 0 errors"), std::string::npos) << r.err;
}

void CheckPair(const fs::path& main_cf, const fs::path& master_cf) {
  ASSERT_TRUE(fs::exists(main_cf)) << main_cf << " missing: install Debian's postfix package";
  ASSERT_TRUE(fs::exists(master_cf)) << master_cf << " missing";
  std::string dir = TempDir();
  fs::copy_file(main_cf, dir + "/main.cf");
  fs::copy_file(master_cf, dir + "/master.cf");
  ExpectClean(dir);
  fs::remove_all(dir);
}

TEST(CheckDebianSample, DistributedMainAndMasterAreClean) {
  CheckPair("/usr/share/postfix/main.cf.dist", "/usr/share/postfix/master.cf.dist");
}

TEST(CheckDebianSample, DebianMainCfWithStockMasterCfIsClean) {
  CheckPair("/usr/share/postfix/main.cf.debian", "/etc/postfix/master.cf.proto");
}

TEST(CheckExamples, ProjectExampleIsClean) { ExpectClean(POSTHASTE_EXAMPLES_DIR); }

TEST(CheckExamples, JsonOutputIsAnEmptyArrayWhenClean) {
  testing::CommandResult r =
      RunCommand({POSTHASTE_PHC_PATH, "check", "-c", POSTHASTE_EXAMPLES_DIR, "--format=json"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, "[]\n");
}

TEST(CheckExamples, MissingDirectoryCannotRun) {
  testing::CommandResult r = RunCommand({POSTHASTE_PHC_PATH, "check", "-c", "/nonexistent/dir"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("[io-error]"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace posthaste
