// xref_test.cc: phc xref answers who reads a parameter, where it is set, its
// value per service, and finds settings nobody reads.
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "gtest/gtest.h"
#include "tests/support/run_command.h"

namespace posthaste {
namespace {

namespace fs = std::filesystem;
using testing::CommandResult;
using testing::RunCommand;

class XrefTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/phc-xref-XXXXXX";
    dir_ = mkdtemp(tmpl);
    Write("main.cf",
          "myhostname = mx.example.com\n"
          "smtpd_bannr = typo\n"
          "my_tls = may\n"
          "smtpd_tls_security_level = none\n"
          "smtp_helo_name = $myhostname\n");
    Write("master.cf",
          "smtp inet n - n - - smtpd\n"
          "submission inet n - n - - smtpd\n"
          "  -o smtpd_tls_security_level=$my_tls\n"
          "smtp unix - - n - - smtp\n"
          "bulk unix - - n - - smtp\n"
          "  -o smtp_helo_name=bulk.example.com\n"
          "  -o smtpd_sasl_auth_enable=yes\n");
  }
  void TearDown() override { fs::remove_all(dir_); }
  void Write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ + "/" + name) << text;
  }
  CommandResult Xref(std::vector<std::string> args) {
    std::vector<std::string> argv = {POSTHASTE_PHC_PATH, "xref", "-c", dir_};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunCommand(argv);
  }
  std::string dir_;
};

TEST_F(XrefTest, ParamShowsReadersOriginAndPerServiceValues) {
  CommandResult r = Xref({"smtp_helo_name"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("read by: lmtp, smtp"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("set at: " + dir_ + "/main.cf:5"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("service smtp/unix (smtp): mx.example.com  <- " + dir_ + "/main.cf:5"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("service bulk/unix (smtp): bulk.example.com  <- " + dir_ +
                       "/master.cf:6 (-o)"),
            std::string::npos)
      << r.out;
  // smtpd services do not read smtp_helo_name.
  EXPECT_EQ(r.out.find("submission/inet"), std::string::npos) << r.out;
}

TEST_F(XrefTest, OverrideWithReferenceIsExpandedPerService) {
  CommandResult r = Xref({"smtpd_tls_security_level"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("service submission/inet (smtpd): may  <- " + dir_ + "/master.cf:3 (-o)"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("service smtp/inet (smtpd): none  <- " + dir_ + "/main.cf:4"),
            std::string::npos)
      << r.out;
}

TEST_F(XrefTest, ServiceListsWhatItsProgramReads) {
  CommandResult r = Xref({"--service", "bulk/unix"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("  smtp_helo_name = bulk.example.com  <- " + dir_ + "/master.cf:6 (-o)"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("  smtp_bind_address = "), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("  smtpd_banner = "), std::string::npos) << r.out;
}

TEST_F(XrefTest, UnusedFindsTyposAndOptionsTheServiceDoesNotRead) {
  CommandResult r = Xref({"--unused"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find(dir_ + "/main.cf:2: smtpd_bannr = typo"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(dir_ + "/master.cf:7: bulk/unix -o smtpd_sasl_auth_enable=yes  "
                       "(smtp does not read it)"),
            std::string::npos)
      << r.out;
  // A user parameter used through $my_tls is not unused.
  EXPECT_EQ(r.out.find("my_tls"), std::string::npos) << r.out;
}

TEST_F(XrefTest, UnknownServiceCannotRun) {
  EXPECT_EQ(Xref({"--service", "nosuch/unix"}).exit_code, 2);
}

}  // namespace
}  // namespace posthaste
