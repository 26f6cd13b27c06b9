// conf_live_diff_test.cc: phc conf against the real postconf, live.
//
// The committed golden fixtures avoid host-dependent output. This test runs
// Debian's postconf (installed by tools/setup.sh as a test peer) and phc conf
// side by side on the same machine, so the full listings, whose defaults
// are computed from the host name and interfaces, are compared too. Only
// process_id differs by nature (each program prints its own pid).
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "gtest/gtest.h"
#include "tests/support/run_command.h"

namespace posthaste {
namespace {

namespace fs = std::filesystem;
using testing::CommandResult;
using testing::RunCommand;

constexpr const char* kPostconf = "/usr/sbin/postconf";

std::string DropProcessId(const std::string& text) {
  std::istringstream in(text);
  std::string line, out;
  while (std::getline(in, line))
    if (line.rfind("process_id = ", 0) != 0) out += line + "\n";
  return out;
}

struct Case {
  const char* name;
  const char* main_cf;
  const char* master_cf;
};

const Case kCases[] = {
    {"defaults_only", "", "smtp inet n - n - - smtpd\n"},
    {"qualified_host",
     "myhostname = mx.example.com\nrelayhost = [$mydomain]:587\n",
     "smtp inet n - n - - smtpd\nrelay unix - - n - - smtp\n  -o smtp_helo_name=$myhostname\n"},
    {"loopback_hosts",
     "inet_interfaces = loopback-only\nmynetworks_style = host\ncompatibility_level = 3.6\n",
     "smtp inet n - n - - smtpd\n"},
    {"ipv4_class", "inet_protocols = ipv4\nmynetworks_style = class\nmyhostname = a.b\n",
     "smtp inet n - n - - smtpd\nslow unix - - n - 5 smtp\n"},
};

class ConfLiveDiff : public ::testing::TestWithParam<std::tuple<Case, const char*>> {};

TEST_P(ConfLiveDiff, SameOutputAsPostconf) {
  if (!fs::exists(kPostconf)) GTEST_SKIP() << "postconf not installed (tools/setup.sh installs it)";
  const auto& [c, flags] = GetParam();
  char tmpl[] = "/tmp/phc-live-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  std::ofstream(dir + "/main.cf") << c.main_cf;
  std::ofstream(dir + "/master.cf") << c.master_cf;
  std::vector<std::string> tail;
  if (*flags) tail.push_back(flags);
  std::vector<std::string> pc = {kPostconf, "-c", dir};
  std::vector<std::string> ph = {POSTHASTE_PHC_PATH, "conf", "-c", dir};
  pc.insert(pc.end(), tail.begin(), tail.end());
  ph.insert(ph.end(), tail.begin(), tail.end());
  CommandResult want = RunCommand(pc);
  CommandResult got = RunCommand(ph);
  fs::remove_all(dir);
  EXPECT_EQ(got.exit_code, want.exit_code);
  EXPECT_EQ(DropProcessId(got.out), DropProcessId(want.out));
}

INSTANTIATE_TEST_SUITE_P(
    Configs, ConfLiveDiff,
    ::testing::Combine(::testing::ValuesIn(kCases),
                       ::testing::Values("", "-d", "-x", "-dx", "-n", "-nx", "-M", "-F", "-Pfx")),
    [](const ::testing::TestParamInfo<ConfLiveDiff::ParamType>& info) {
      std::string flags = std::get<1>(info.param);
      std::string name = std::string(std::get<0>(info.param).name) + "_";
      name += flags.empty() ? "plain" : flags.substr(1);
      return name;
    });

}  // namespace
}  // namespace posthaste
