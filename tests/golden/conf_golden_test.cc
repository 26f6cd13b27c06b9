// conf_golden_test.cc: golden tests for `phc conf`, the postconf(1) work-alike.
//
// Each directory under tests/golden/conf/ (see tests/golden/README.md) holds a
// main.cf / master.cf pair, the postconf arguments (`args`, one per line) and
// what Postfix 3.7.11 `postconf -c <dir> <args...>` printed: expected.out,
// expected.err (program name rewritten to "phc: ") and expected.exit. The
// absolute fixture path appears as @DIR@ in the expected files.
//
// This runner executes `<phc> conf -c <abs fixture dir> <args...>` and requires
// byte-identical stdout and stderr and the same exit status. It never needs
// Postfix; regen.sh (opt-in) is the only thing that runs the real postconf.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/golden_support.h"
#include "tests/support/run_command.h"

#ifndef POSTHASTE_PHC_PATH
#error "POSTHASTE_PHC_PATH must name the phc binary"
#endif
#ifndef POSTHASTE_CONF_FIXTURES
#error "POSTHASTE_CONF_FIXTURES must name the tests/golden/conf directory"
#endif

namespace posthaste::testing {
namespace {

namespace fs = std::filesystem;

constexpr char kDirPlaceholder[] = "@DIR@";
constexpr size_t kMinimumFixtureCount = 150;

fs::path FixtureRoot() { return fs::absolute(fs::path(POSTHASTE_CONF_FIXTURES)); }



// `args` holds one argument per line, no quoting; the final newline is optional.
std::vector<std::string> SplitArgs(const std::string& text) {
  std::vector<std::string> args;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    args.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return args;
}

using testing::Quoted;
using testing::ReplaceAll;
using testing::TestName;

std::vector<std::string> ListFixtures() { return testing::ListFixtureDirs(FixtureRoot()); }
std::optional<std::string> ReadFile(const fs::path& path) { return testing::ReadWholeFile(path); }
std::optional<std::string> KnownDifference(const std::string& fixture) {
  return testing::KnownDifference(FixtureRoot(), fixture);
}





class ConfGoldenTest : public ::testing::TestWithParam<std::string> {};


TEST_P(ConfGoldenTest, MatchesPostconf) {
  const fs::path dir = FixtureRoot() / GetParam();
  const std::string dir_text = dir.string();
  if (std::optional<std::string> why = KnownDifference(GetParam())) GTEST_SKIP() << *why;

  const std::optional<std::string> args_text = ReadFile(dir / "args");
  const std::optional<std::string> want_out = ReadFile(dir / "expected.out");
  const std::optional<std::string> want_err = ReadFile(dir / "expected.err");
  const std::optional<std::string> want_exit_text = ReadFile(dir / "expected.exit");
  ASSERT_TRUE(args_text.has_value()) << dir_text << ": missing args";
  ASSERT_TRUE(want_out.has_value()) << dir_text << ": missing expected.out (run regen.sh)";
  ASSERT_TRUE(want_err.has_value()) << dir_text << ": missing expected.err (run regen.sh)";
  ASSERT_TRUE(want_exit_text.has_value()) << dir_text << ": missing expected.exit (run regen.sh)";
  ASSERT_TRUE(fs::exists(dir / "main.cf") || fs::exists(dir / "master.cf"))
      << dir_text << ": a fixture needs main.cf and/or master.cf";

  int want_exit = -1;
  {
    std::istringstream in(*want_exit_text);
    ASSERT_TRUE(static_cast<bool>(in >> want_exit)) << dir_text << ": bad expected.exit";
  }

  std::vector<std::string> argv = {POSTHASTE_PHC_PATH, "conf", "-c", dir_text};
  for (const std::string& arg : SplitArgs(*args_text)) argv.push_back(arg);

  CommandResult got = RunCommand(argv);
  ReplaceAll(got.out, dir_text, kDirPlaceholder);
  ReplaceAll(got.err, dir_text, kDirPlaceholder);

  SCOPED_TRACE("command: " + Quoted(argv));
  EXPECT_EQ(got.out, *want_out) << "stdout differs";
  EXPECT_EQ(got.exit_code, want_exit) << "exit status differs";
  EXPECT_EQ(got.err, *want_err) << "stderr differs";
}

INSTANTIATE_TEST_SUITE_P(Fixtures, ConfGoldenTest, ::testing::ValuesIn(ListFixtures()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return TestName(info.param);
                         });
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(ConfGoldenTest);

TEST(ConfGoldenCorpus, HasEnoughFixtures) {
  EXPECT_GE(ListFixtures().size(), kMinimumFixtureCount)
      << "fixture root " << FixtureRoot().string() << " looks incomplete";
}

TEST(ConfGoldenCorpus, FixtureNamesAreNumberedAndDistinct) {
  for (const std::string& problem : testing::FixtureNameProblems(ListFixtures()))
    ADD_FAILURE() << problem;
}

}  // namespace
}  // namespace posthaste::testing
