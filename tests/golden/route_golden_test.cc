// route_golden_test.cc: golden tests for `phc route` against a real Postfix 3.7.
//
// Each directory under tests/golden/route/ (see route/README.md there) is one
// configuration (main.cf, master.cf, table sources) with `args` (phc route
// arguments, one per line) and `expected`: what Postfix 3.7 did with the
// message, in phc route's output form (action lines in order, then delivery
// lines sorted by to, transport, nexthop). Every fixture runs twice:
//   1. `phc route -c DIR args...`: the reference evaluator over the sources;
//   2. `phc build -c DIR -o TMP` then `phc route --bundle TMP args...`: the
//      bytecode VM over the published bundle, through the verified loader.
// Both must print `expected` (delivery lines compared after sorting, action
// lines in order). A fixture without `expected` yet is skipped with a note;
// KNOWN_DIFFERENCES entries are skipped with their reason.
//
// POSTHASTE_UPDATE_GOLDEN is deliberately not supported: expected files come
// only from Postfix (route/regen.sh), never from phc.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/golden_support.h"
#include "tests/support/run_command.h"

#ifndef POSTHASTE_PHC_PATH
#error "POSTHASTE_PHC_PATH must name the phc binary"
#endif
#ifndef POSTHASTE_ROUTE_FIXTURES
#error "POSTHASTE_ROUTE_FIXTURES must name the tests/golden/route directory"
#endif

namespace posthaste::testing {
namespace {

namespace fs = std::filesystem;

fs::path FixtureRoot() { return fs::absolute(fs::path(POSTHASTE_ROUTE_FIXTURES)); }

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

// Action lines keep their order; delivery lines are compared as a sorted set.
std::vector<std::string> Normalized(const std::string& text) {
  std::vector<std::string> actions, deliveries;
  for (std::string& l : Lines(text)) (l.rfind("action=", 0) == 0 ? actions : deliveries).push_back(l);
  std::sort(deliveries.begin(), deliveries.end());
  actions.insert(actions.end(), deliveries.begin(), deliveries.end());
  return actions;
}

std::string Joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& l : lines) out += "  " + l + "\n";
  return out;
}

// One argument per line; an empty line is an empty argument (`-f` then an
// empty line is the null sender).
std::vector<std::string> Args(const fs::path& dir) {
  std::vector<std::string> args;
  std::optional<std::string> text = ReadWholeFile(dir / "args");
  if (!text) return args;
  std::istringstream in(*text);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    args.push_back(line);
  }
  return args;
}

class RouteGoldenTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    dir_ = FixtureRoot() / GetParam();
    if (std::optional<std::string> why = KnownDifference(FixtureRoot(), GetParam()))
      GTEST_SKIP() << "known difference: " << *why;
    std::optional<std::string> expected = ReadWholeFile(dir_ / "expected");
    if (!expected) GTEST_SKIP() << "no expected output from Postfix yet (route/regen.sh)";
    want_ = Normalized(*expected);
  }
  void Check(const std::vector<std::string>& argv) {
    SCOPED_TRACE("command: " + Quoted(argv));
    CommandResult got = RunCommand(argv);
    EXPECT_EQ(got.exit_code, 0) << got.err;
    std::vector<std::string> have = Normalized(got.out);
    EXPECT_EQ(have, want_) << "want:\n" << Joined(want_) << "got:\n" << Joined(have)
                           << "stderr:\n" << got.err;
  }
  fs::path dir_;
  std::vector<std::string> want_;
};

TEST_P(RouteGoldenTest, ReferenceEvaluatorMatchesPostfix) {
  std::vector<std::string> argv = {POSTHASTE_PHC_PATH, "route", "-c", dir_.string()};
  for (const std::string& a : Args(dir_)) argv.push_back(a);
  Check(argv);
}

TEST_P(RouteGoldenTest, BundleVmMatchesPostfix) {
  fs::path bundle = fs::temp_directory_path() /
                    ("phc-route-golden-" + std::to_string(::getpid()) + "-" + GetParam());
  fs::remove_all(bundle);
  CommandResult built =
      RunCommand({POSTHASTE_PHC_PATH, "build", "-c", dir_.string(), "-o", bundle.string()});
  ASSERT_EQ(built.exit_code, 0) << built.err;
  std::vector<std::string> argv = {POSTHASTE_PHC_PATH, "route", "--bundle", bundle.string()};
  for (const std::string& a : Args(dir_)) argv.push_back(a);
  Check(argv);
  fs::remove_all(bundle);
}

TEST(RouteGoldenCorpus, FixtureNamesAreWellFormed) {
  std::vector<std::string> problems = FixtureNameProblems(ListFixtureDirs(FixtureRoot()));
  EXPECT_TRUE(problems.empty()) << Joined(problems);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, RouteGoldenTest,
                         ::testing::ValuesIn(ListFixtureDirs(FixtureRoot())),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return TestName(info.param);
                         });
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(RouteGoldenTest);

}  // namespace
}  // namespace posthaste::testing
