// verify_test.cc: `phc verify BUNDLE_DIR` exits 0 on a good bundle, 1 with a
// message on a corrupt one, 2 on bad usage.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "compiler/bundle_writer.h"
#include "gtest/gtest.h"
#include "tables/cdb_table.h"
#include "tests/support/run_command.h"

namespace posthaste {
namespace {

namespace fs = std::filesystem;
using testing::CommandResult;
using testing::RunCommand;

class VerifyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/phc-verify-XXXXXX";
    root_ = mkdtemp(tmpl);
    bundle_ = root_ + "/bundle";
    compiler::GenerationWriter w;
    ASSERT_TRUE(w.Begin(bundle_).ok());
    for (const char* file : {"a.cdb", "b.cdb"}) {
      auto b = tables::CdbBuilder::Create(w.TempDir() + "/" + file);
      ASSERT_TRUE(b.ok()) << b.status();
      ASSERT_TRUE((*b)->Add("key", file).ok());
      ASSERT_TRUE((*b)->Finish().ok());
      ASSERT_TRUE(
          w.AddArtifactFile(tables::ArtifactKind::kTable, std::string("hash:/") + file, file).ok());
    }
    ASSERT_TRUE(w.AddServiceParam("smtp/inet", "smtpd_banner", "hi").ok());
    ASSERT_TRUE(w.AddSourceContents("main.cf", "x = y\n").ok());
    auto r = w.Commit();
    ASSERT_TRUE(r.ok()) << r.status();
    generation_ = r->generation;
  }
  void TearDown() override { fs::remove_all(root_); }
  CommandResult Verify(std::vector<std::string> args) {
    args.insert(args.begin(), {POSTHASTE_PHC_PATH, "verify"});
    return RunCommand(args);
  }
  std::string root_, bundle_, generation_;
};

TEST_F(VerifyTest, AcceptsAGoodBundle) {
  CommandResult r = Verify({bundle_});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, bundle_ + ": generation " + generation_ + ", 2 tables, 1 service: ok\n");
  EXPECT_EQ(r.err, "");
}

TEST_F(VerifyTest, RefusesACorruptBundleWithAMessage) {
  std::string path = bundle_ + "/" + generation_ + "/b.cdb";
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(2050);
  f.put('\x7f');
  f.close();
  CommandResult r = Verify({bundle_});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err.rfind("phc verify: " + path + ": SHA-256 ", 0), 0u) << r.err;
}

TEST_F(VerifyTest, RefusesAMissingBundle) {
  CommandResult r = Verify({root_ + "/nothing"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("phc verify: " + root_ + "/nothing/CURRENT: missing"), std::string::npos)
      << r.err;
}

TEST_F(VerifyTest, BadUsageExitsTwo) {
  EXPECT_EQ(Verify({}).exit_code, 2);
  EXPECT_EQ(Verify({bundle_, bundle_}).exit_code, 2);
  CommandResult r = Verify({"-x"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("usage: phc verify BUNDLE_DIR"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace posthaste
