// map_golden_test.cc: golden tests for `phc map` and `phc alias`, the postmap(1)
// and postalias(1) work-alikes.
//
// Each directory under tests/golden/map/ (see tests/golden/map/README.md) holds a
// main.cf, the table source files, an optional `stdin` and a `commands` file:
// one or more commands separated by a line `--`, one argument per line, the
// first being `postmap` or `postalias`, `@DIR@` standing for the fixture's
// working directory. expected.out / expected.err hold the concatenated stdout /
// stderr of all commands as Postfix 3.7.11 printed them (program name rewritten
// to "phc: ", work dir written @DIR@), expected.exit one exit status per command.
//
// This runner copies the fixture's input files into a fresh temporary
// directory, runs every command there with `postmap` replaced by `<phc> map`
// and `postalias` by `<phc> alias`, and requires byte-identical stdout and
// stderr and the same exit statuses. It never needs Postfix; regen.sh (opt-in)
// is the only thing that runs the real tools.
#include <gtest/gtest.h>
#include <stdlib.h>

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
#ifndef POSTHASTE_MAP_FIXTURES
#error "POSTHASTE_MAP_FIXTURES must name the tests/golden/map directory"
#endif

namespace posthaste::testing {
namespace {

namespace fs = std::filesystem;

constexpr char kDirPlaceholder[] = "@DIR@";
constexpr char kTimePlaceholder[] = "@TIME@";
constexpr size_t kMinimumFixtureCount = 80;

fs::path FixtureRoot() { return fs::absolute(fs::path(POSTHASTE_MAP_FIXTURES)); }

bool IsExpectedFile(const std::string& name) {
  return name == "expected.out" || name == "expected.err" || name == "expected.exit";
}

using testing::Quoted;
using testing::ReplaceAll;
using testing::TestName;

std::vector<std::string> ListFixtures() { return testing::ListFixtureDirs(FixtureRoot()); }
std::optional<std::string> ReadFile(const fs::path& path) { return testing::ReadWholeFile(path); }
std::optional<std::string> KnownDifference(const std::string& fixture) {
  return testing::KnownDifference(FixtureRoot(), fixture);
}




// Lines of `text`, without their '\n'; the final newline is optional.
std::vector<std::string> SplitLines(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

// `commands`: commands separated by a line "--", one argument per line.
std::vector<std::vector<std::string>> SplitCommands(const std::string& text) {
  std::vector<std::vector<std::string>> commands(1);
  for (const std::string& line : SplitLines(text)) {
    if (line == "--") {
      commands.emplace_back();
    } else {
      commands.back().push_back(line);
    }
  }
  return commands;
}


// postalias stores the build time as YP_LAST_MODIFIED; `-s` prints it. The
// digits are written @TIME@ in expected.out (regen.sh does the same).
void MaskBuildTime(std::string& out) {
  std::string result;
  size_t start = 0;
  while (start < out.size()) {
    size_t end = out.find('\n', start);
    const bool has_newline = end != std::string::npos;
    if (!has_newline) end = out.size();
    std::string line = out.substr(start, end - start);
    for (const std::string prefix : {"YP_LAST_MODIFIED:\t", "YP_LAST_MODIFIED\t"}) {
      if (line.size() > prefix.size() && line.compare(0, prefix.size(), prefix) == 0 &&
          std::all_of(line.begin() + prefix.size(), line.end(),
                      [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
        line = prefix + kTimePlaceholder;
        break;
      }
    }
    result += line;
    if (has_newline) result += '\n';
    start = end + 1;
  }
  out = result;
}



// A fresh temporary directory holding a copy of the fixture's input files;
// removed again on destruction.
class WorkDir {
 public:
  explicit WorkDir(const fs::path& fixture) {
    std::string templ = (fs::temp_directory_path() / "phc-map-golden-XXXXXX").string();
    if (mkdtemp(templ.data()) == nullptr) return;
    path_ = fs::canonical(templ);
    std::error_code ec;
    for (const fs::directory_entry& entry : fs::directory_iterator(fixture, ec)) {
      const std::string name = entry.path().filename().string();
      if (!entry.is_regular_file() || IsExpectedFile(name)) continue;
      fs::copy_file(entry.path(), path_ / name, ec);
      // Keep the modification time, like regen.sh's `cp -p` (Postfix itself
      // pauses when it reads a file that was modified within the last second).
      if (!ec) fs::last_write_time(path_ / name, fs::last_write_time(entry.path(), ec), ec);
      if (ec) {
        error_ = "cannot copy " + entry.path().string() + ": " + ec.message();
        return;
      }
    }
    if (ec) error_ = "cannot list " + fixture.string() + ": " + ec.message();
  }
  ~WorkDir() {
    std::error_code ec;
    if (!path_.empty()) fs::remove_all(path_, ec);
  }
  WorkDir(const WorkDir&) = delete;
  WorkDir& operator=(const WorkDir&) = delete;

  bool ok() const { return !path_.empty() && error_.empty(); }
  const std::string& error() const { return error_; }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
  std::string error_;
};

class MapGoldenTest : public ::testing::TestWithParam<std::string> {};


TEST_P(MapGoldenTest, MatchesPostfix) {
  const fs::path dir = FixtureRoot() / GetParam();
  const std::string dir_text = dir.string();
  if (std::optional<std::string> why = KnownDifference(GetParam())) GTEST_SKIP() << *why;

  const std::optional<std::string> commands_text = ReadFile(dir / "commands");
  const std::optional<std::string> want_out = ReadFile(dir / "expected.out");
  const std::optional<std::string> want_err = ReadFile(dir / "expected.err");
  const std::optional<std::string> want_exit_text = ReadFile(dir / "expected.exit");
  ASSERT_TRUE(commands_text.has_value()) << dir_text << ": missing commands";
  ASSERT_TRUE(want_out.has_value()) << dir_text << ": missing expected.out (run regen.sh)";
  ASSERT_TRUE(want_err.has_value()) << dir_text << ": missing expected.err (run regen.sh)";
  ASSERT_TRUE(want_exit_text.has_value()) << dir_text << ": missing expected.exit (run regen.sh)";
  ASSERT_TRUE(fs::exists(dir / "main.cf")) << dir_text << ": a fixture needs a main.cf";
  const std::string input = ReadFile(dir / "stdin").value_or("");

  std::vector<int> want_exits;
  for (const std::string& line : SplitLines(*want_exit_text)) {
    std::istringstream in(line);
    int status = -1;
    ASSERT_TRUE(static_cast<bool>(in >> status)) << dir_text << ": bad expected.exit line '" << line << "'";
    want_exits.push_back(status);
  }

  const std::vector<std::vector<std::string>> commands = SplitCommands(*commands_text);
  ASSERT_EQ(commands.size(), want_exits.size())
      << dir_text << ": expected.exit needs one status per command (run regen.sh)";

  WorkDir work(dir);
  ASSERT_TRUE(work.ok()) << dir_text << ": cannot set up a work directory: " << work.error();
  const std::string work_text = work.path().string();

  std::string got_out, got_err;
  std::vector<int> got_exits;
  std::string trace;
  for (const std::vector<std::string>& command : commands) {
    ASSERT_FALSE(command.empty()) << dir_text << ": empty command in commands";
    std::vector<std::string> argv = {POSTHASTE_PHC_PATH};
    if (command[0] == "postmap") {
      argv.push_back("map");
    } else if (command[0] == "postalias") {
      argv.push_back("alias");
    } else {
      FAIL() << dir_text << ": a command must start with postmap or postalias, not '" << command[0]
             << "'";
    }
    for (size_t i = 1; i < command.size(); ++i) {
      std::string arg = command[i];
      ReplaceAll(arg, kDirPlaceholder, work_text);
      argv.push_back(arg);
    }
    CommandResult got = RunCommand(argv, input, work_text);
    got_out += got.out;
    got_err += got.err;
    got_exits.push_back(got.exit_code);
    trace += "\n  " + Quoted(argv);
  }
  ReplaceAll(got_out, work_text, kDirPlaceholder);
  ReplaceAll(got_err, work_text, kDirPlaceholder);
  MaskBuildTime(got_out);

  SCOPED_TRACE("fixture " + dir_text + ", work dir " + work_text + ", commands:" + trace);
  EXPECT_EQ(got_out, *want_out) << "stdout differs";
  EXPECT_EQ(got_exits, want_exits) << "exit statuses differ";
  EXPECT_EQ(got_err, *want_err) << "stderr differs";
}

INSTANTIATE_TEST_SUITE_P(Fixtures, MapGoldenTest, ::testing::ValuesIn(ListFixtures()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return TestName(info.param);
                         });
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(MapGoldenTest);

TEST(MapGoldenCorpus, HasEnoughFixtures) {
  EXPECT_GE(ListFixtures().size(), kMinimumFixtureCount)
      << "fixture root " << FixtureRoot().string() << " looks incomplete";
}

TEST(MapGoldenCorpus, FixtureNamesAreNumberedAndDistinct) {
  for (const std::string& problem : testing::FixtureNameProblems(ListFixtures()))
    ADD_FAILURE() << problem;
}

}  // namespace
}  // namespace posthaste::testing
