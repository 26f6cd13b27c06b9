// check_golden_test.cc: golden tests for `phc check`, the configuration checker.
//
// Each directory under tests/golden/check/ (see check/README.md there) is one
// Postfix configuration: main.cf, master.cf, any table files it names, an
// optional `args` file (extra `phc check` arguments, one per line) and
// `expected`: one line `FILE:LINE:COL SEVERITY CODE` per error or warning, in
// the order phc prints them, then `exit N`.
//
// The runner executes `<phc> check -c <abs fixture dir> [args...]`, picks every
// diagnostic line `PATH:LINE:COL: SEVERITY: message [code]` out of stdout and
// stderr (notes and the quoted source lines are ignored), reduces each to
// `basename(PATH):LINE:COL SEVERITY CODE` and compares the list plus the exit
// status with `expected`. It tests codes and locations, never message prose.
// One more test runs `--format=json` on a broken fixture and checks the JSON
// shape with a small parser (no JSON library is available here).
//
// Setting POSTHASTE_UPDATE_GOLDEN=1 rewrites `expected` from what phc printed;
// that is the only way expected files change besides editing them by hand, and
// the resulting diff must be reviewed like code.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "tests/support/golden_support.h"
#include "tests/support/run_command.h"

#ifndef POSTHASTE_PHC_PATH
#error "POSTHASTE_PHC_PATH must name the phc binary"
#endif
#ifndef POSTHASTE_CHECK_FIXTURES
#error "POSTHASTE_CHECK_FIXTURES must name the tests/golden/check directory"
#endif

namespace posthaste::testing {
namespace {

namespace fs = std::filesystem;

constexpr size_t kMinimumFixtureCount = 40;
// The fixture used for the --format=json test: several errors and a warning.
constexpr char kJsonFixture[] = "078-multi-main-three-errors";

fs::path FixtureRoot() { return fs::absolute(fs::path(POSTHASTE_CHECK_FIXTURES)); }



// Lines of `text` without their terminators; a trailing '\r' is dropped too.
std::vector<std::string> SplitLines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(line);
  }
  return lines;
}

using testing::Quoted;
using testing::ReplaceAll;
using testing::TestName;

std::vector<std::string> ListFixtures() { return testing::ListFixtureDirs(FixtureRoot()); }
std::optional<std::string> ReadFile(const fs::path& path) { return testing::ReadWholeFile(path); }


// `args`: one argument per line, no quoting; empty lines are ignored.
std::vector<std::string> ReadArgs(const fs::path& dir) {
  std::vector<std::string> args;
  if (std::optional<std::string> text = ReadFile(dir / "args")) {
    for (const std::string& line : SplitLines(*text)) {
      if (!line.empty()) args.push_back(line);
    }
  }
  return args;
}

std::string Basename(const std::string& path) { return fs::path(path).filename().string(); }



std::string Joined(const std::vector<std::string>& lines) {
  std::string text;
  for (const std::string& line : lines) text += "  " + line + "\n";
  return text;
}

// Every error or warning phc printed, as `basename:LINE:COL SEVERITY CODE`,
// stdout first, then stderr. A diagnostic without a position (`PATH: error:
// ... [code]`, e.g. for an unreadable file) becomes `basename:-:- ...`.
std::vector<std::string> CollectDiagnostics(const CommandResult& result) {
  static const std::regex located(
      R"(^(.+):([0-9]+):([0-9]+): (error|warning): .* \[([a-z0-9-]+)\]$)");
  static const std::regex unlocated(R"(^(.+): (error|warning): .* \[([a-z0-9-]+)\]$)");
  std::vector<std::string> found;
  for (const std::string* stream : {&result.out, &result.err}) {
    for (const std::string& line : SplitLines(*stream)) {
      std::smatch m;
      if (std::regex_match(line, m, located)) {
        found.push_back(Basename(m[1]) + ":" + m[2].str() + ":" + m[3].str() + " " + m[4].str() +
                        " " + m[5].str());
      } else if (std::regex_match(line, m, unlocated)) {
        found.push_back(Basename(m[1]) + ":-:- " + m[2].str() + " " + m[3].str());
      }
    }
  }
  return found;
}

// An expected line may write `*` for LINE and/or COL (used for io-error, which
// has no meaningful position); `*` matches a number or `-` (no position).
// Anything else must be equal.
bool LineMatches(const std::string& want, const std::string& got) {
  if (want == got) return true;
  static const std::regex want_form(R"(^(.+):(\*|-|[0-9]+):(\*|-|[0-9]+) (.+)$)");
  static const std::regex got_form(R"(^(.+):(-|[0-9]+):(-|[0-9]+) (.+)$)");
  std::smatch w, g;
  if (!std::regex_match(want, w, want_form) || !std::regex_match(got, g, got_form)) return false;
  return w[1] == g[1] && w[4] == g[4] && (w[2] == "*" || w[2] == g[2]) &&
         (w[3] == "*" || w[3] == g[3]);
}

bool ListsMatch(const std::vector<std::string>& want, const std::vector<std::string>& got) {
  if (want.size() != got.size()) return false;
  for (size_t i = 0; i < want.size(); ++i) {
    if (!LineMatches(want[i], got[i])) return false;
  }
  return true;
}

struct Expectation {
  std::vector<std::string> diagnostics;
  int exit_code = -1;
};

// Parses `expected`; on a malformed file returns nullopt and sets `error`.
std::optional<Expectation> ReadExpectation(const fs::path& dir, std::string& error) {
  std::optional<std::string> text = ReadFile(dir / "expected");
  if (!text) {
    error = "missing expected";
    return std::nullopt;
  }
  static const std::regex diag_form(
      R"(^[^ :]+:(\*|-|[0-9]+):(\*|-|[0-9]+) (error|warning) [a-z0-9-]+$)");
  static const std::regex exit_form(R"(^exit ([0-9]+)$)");
  Expectation expectation;
  std::vector<std::string> lines = SplitLines(*text);
  for (size_t i = 0; i < lines.size(); ++i) {
    std::smatch m;
    if (i + 1 == lines.size() && std::regex_match(lines[i], m, exit_form)) {
      expectation.exit_code = std::stoi(m[1]);
    } else if (std::regex_match(lines[i], diag_form)) {
      expectation.diagnostics.push_back(lines[i]);
    } else {
      error = "expected, line " + std::to_string(i + 1) + ": malformed: \"" + lines[i] + "\"";
      return std::nullopt;
    }
  }
  if (expectation.exit_code < 0) {
    error = "expected: last line must be \"exit N\"";
    return std::nullopt;
  }
  return expectation;
}

std::vector<std::string> CheckArgv(const fs::path& dir, const std::vector<std::string>& extra) {
  std::vector<std::string> argv = {POSTHASTE_PHC_PATH, "check", "-c", dir.string()};
  for (const std::string& arg : ReadArgs(dir)) argv.push_back(arg);
  for (const std::string& arg : extra) argv.push_back(arg);
  return argv;
}

bool UpdateRequested() {
  const char* value = std::getenv("POSTHASTE_UPDATE_GOLDEN");
  return value != nullptr && std::string(value) == "1";
}

class CheckGoldenTest : public ::testing::TestWithParam<std::string> {};

TEST_P(CheckGoldenTest, ReportsExpectedDiagnostics) {
  const fs::path dir = FixtureRoot() / GetParam();
  const std::vector<std::string> argv = CheckArgv(dir, {});
  SCOPED_TRACE("command: " + Quoted(argv));

  const CommandResult got = RunCommand(argv);
  const std::vector<std::string> got_diagnostics = CollectDiagnostics(got);

  if (UpdateRequested()) {
    std::ofstream out(dir / "expected", std::ios::binary | std::ios::trunc);
    for (const std::string& line : got_diagnostics) out << line << "\n";
    out << "exit " << got.exit_code << "\n";
    ASSERT_TRUE(static_cast<bool>(out)) << "cannot write " << (dir / "expected").string();
    GTEST_SKIP() << "expected rewritten; review the diff";
  }

  std::string error;
  const std::optional<Expectation> want = ReadExpectation(dir, error);
  ASSERT_TRUE(want.has_value()) << dir.string() << ": " << error;

  EXPECT_TRUE(ListsMatch(want->diagnostics, got_diagnostics))
      << "diagnostics differ\nwant:\n"
      << Joined(want->diagnostics) << "got:\n"
      << Joined(got_diagnostics) << "stdout:\n"
      << got.out << "stderr:\n"
      << got.err;
  EXPECT_EQ(got.exit_code, want->exit_code) << "exit status differs\nstdout:\n"
                                            << got.out << "stderr:\n"
                                            << got.err;
}

INSTANTIATE_TEST_SUITE_P(Fixtures, CheckGoldenTest, ::testing::ValuesIn(ListFixtures()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return TestName(info.param);
                         });
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(CheckGoldenTest);

// ---------------------------------------------------------------------------
// A minimal JSON reader, enough to check the shape of `--format=json` output.

struct Json {
  enum class Kind { kNull, kBool, kNumber, kString, kArray, kObject };
  Kind kind = Kind::kNull;
  bool boolean = false;
  double number = 0;
  std::string string;
  std::vector<Json> array;
  std::vector<std::pair<std::string, Json>> object;

  const Json* Find(const std::string& key) const {
    for (const auto& [name, value] : object) {
      if (name == key) return &value;
    }
    return nullptr;
  }
};

class JsonReader {
 public:
  explicit JsonReader(const std::string& text) : text_(text) {}

  // Parses the whole text as one value; nullopt on any syntax error.
  std::optional<Json> ReadDocument() {
    Json value;
    if (!ReadValue(value, 0)) return std::nullopt;
    SkipBlanks();
    if (pos_ != text_.size()) return std::nullopt;
    return value;
  }

 private:
  void SkipBlanks() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }

  bool Consume(char c) {
    SkipBlanks();
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }

  bool ReadValue(Json& out, int depth) {
    if (depth > 64) return false;
    SkipBlanks();
    if (pos_ >= text_.size()) return false;
    const char c = text_[pos_];
    if (c == '[') {
      ++pos_;
      out.kind = Json::Kind::kArray;
      if (Consume(']')) return true;
      do {
        out.array.emplace_back();
        if (!ReadValue(out.array.back(), depth + 1)) return false;
      } while (Consume(','));
      return Consume(']');
    }
    if (c == '{') {
      ++pos_;
      out.kind = Json::Kind::kObject;
      if (Consume('}')) return true;
      do {
        std::string key;
        SkipBlanks();
        if (!ReadString(key) || !Consume(':')) return false;
        out.object.emplace_back(key, Json());
        if (!ReadValue(out.object.back().second, depth + 1)) return false;
      } while (Consume(','));
      return Consume('}');
    }
    if (c == '"') {
      out.kind = Json::Kind::kString;
      return ReadString(out.string);
    }
    for (const auto& [word, kind, value] :
         {std::tuple{"true", Json::Kind::kBool, true}, std::tuple{"false", Json::Kind::kBool, false},
          std::tuple{"null", Json::Kind::kNull, false}}) {
      const std::string w = word;
      if (text_.compare(pos_, w.size(), w) == 0) {
        pos_ += w.size();
        out.kind = kind;
        out.boolean = value;
        return true;
      }
    }
    static const std::regex number(R"(^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?)");
    std::smatch m;
    const std::string rest = text_.substr(pos_, 64);
    if (!std::regex_search(rest, m, number)) return false;
    out.kind = Json::Kind::kNumber;
    out.number = std::strtod(m[0].str().c_str(), nullptr);
    pos_ += m[0].length();
    return true;
  }

  // At a '"': reads the string literal; \u escapes become '?' (only ASCII
  // matters for the checks here).
  bool ReadString(std::string& out) {
    if (pos_ >= text_.size() || text_[pos_] != '"') return false;
    ++pos_;
    while (pos_ < text_.size()) {
      const char c = text_[pos_++];
      if (c == '"') return true;
      if (static_cast<unsigned char>(c) < 0x20) return false;
      if (c != '\\') {
        out += c;
        continue;
      }
      if (pos_ >= text_.size()) return false;
      const char e = text_[pos_++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u':
          if (pos_ + 4 > text_.size()) return false;
          for (int i = 0; i < 4; ++i) {
            if (!std::isxdigit(static_cast<unsigned char>(text_[pos_ + i]))) return false;
          }
          pos_ += 4;
          out += '?';
          break;
        default: return false;
      }
    }
    return false;
  }

  const std::string& text_;
  size_t pos_ = 0;
};

TEST(CheckGoldenJson, JsonFormatCarriesTheSameDiagnostics) {
  const fs::path dir = FixtureRoot() / kJsonFixture;
  ASSERT_TRUE(fs::is_directory(dir)) << "JSON test fixture missing: " << dir.string();
  std::string error;
  const std::optional<Expectation> want = ReadExpectation(dir, error);
  ASSERT_TRUE(want.has_value()) << error;
  ASSERT_FALSE(want->diagnostics.empty());

  const std::vector<std::string> argv = CheckArgv(dir, {"--format=json"});
  SCOPED_TRACE("command: " + Quoted(argv));
  const CommandResult got = RunCommand(argv);
  EXPECT_EQ(got.exit_code, want->exit_code) << "stderr:\n" << got.err;

  const std::optional<Json> doc = JsonReader(got.out).ReadDocument();
  ASSERT_TRUE(doc.has_value()) << "stdout is not JSON:\n" << got.out;
  ASSERT_EQ(doc->kind, Json::Kind::kArray) << "top level must be an array:\n" << got.out;

  std::vector<std::string> got_diagnostics;
  for (size_t i = 0; i < doc->array.size(); ++i) {
    const Json& item = doc->array[i];
    SCOPED_TRACE("element " + std::to_string(i));
    ASSERT_EQ(item.kind, Json::Kind::kObject);
    const Json* file = item.Find("file");
    const Json* line = item.Find("line");
    const Json* column = item.Find("column");
    const Json* severity = item.Find("severity");
    const Json* code = item.Find("code");
    const Json* message = item.Find("message");
    ASSERT_TRUE(file && file->kind == Json::Kind::kString) << "needs string \"file\"";
    ASSERT_TRUE(line && line->kind == Json::Kind::kNumber) << "needs number \"line\"";
    ASSERT_TRUE(column && column->kind == Json::Kind::kNumber) << "needs number \"column\"";
    ASSERT_TRUE(severity && severity->kind == Json::Kind::kString) << "needs string \"severity\"";
    ASSERT_TRUE(message && message->kind == Json::Kind::kString) << "needs string \"message\"";
    if (severity->string != "error" && severity->string != "warning") continue;  // notes
    ASSERT_TRUE(code && code->kind == Json::Kind::kString) << "needs string \"code\"";
    EXPECT_FALSE(message->string.empty());
    got_diagnostics.push_back(Basename(file->string) + ":" +
                              std::to_string(static_cast<long>(line->number)) + ":" +
                              std::to_string(static_cast<long>(column->number)) + " " +
                              severity->string + " " + code->string);
  }
  std::vector<std::string> want_sorted = want->diagnostics;
  std::sort(want_sorted.begin(), want_sorted.end());
  std::sort(got_diagnostics.begin(), got_diagnostics.end());
  EXPECT_EQ(got_diagnostics, want_sorted) << "JSON output:\n" << got.out;
}

TEST(CheckGoldenJson, ReaderSelfTest) {
  const std::optional<Json> doc = JsonReader(
      R"([{"file": "/x/main.cf", "line": 3, "column": 1, "severity": "error",)"
      R"( "code": "bad-bool", "message": "say \"yes\" or \"no\" \u00e9", "notes": [{}]}, [], -1.5e2, null, true])")
                                      .ReadDocument();
  ASSERT_TRUE(doc.has_value());
  ASSERT_EQ(doc->array.size(), 5u);
  EXPECT_EQ(doc->array[0].Find("message")->string, "say \"yes\" or \"no\" ?");
  EXPECT_EQ(doc->array[2].number, -150);
  EXPECT_FALSE(JsonReader("[1, 2").ReadDocument().has_value());
  EXPECT_FALSE(JsonReader("[1] x").ReadDocument().has_value());
  EXPECT_FALSE(JsonReader("{\"a\" 1}").ReadDocument().has_value());
}

// ---------------------------------------------------------------------------
// The corpus itself (these need no phc).

TEST(CheckGoldenCorpus, HasEnoughFixtures) {
  EXPECT_GE(ListFixtures().size(), kMinimumFixtureCount)
      << "fixture root " << FixtureRoot().string() << " looks incomplete";
}

TEST(CheckGoldenCorpus, FixtureNamesAreNumberedAndDistinct) {
  for (const std::string& problem : testing::FixtureNameProblems(ListFixtures()))
    ADD_FAILURE() << problem;
}

// Every fixture has a well-formed `expected`, an exit status that agrees with
// its diagnostics, and both config files unless it is about a missing main.cf.
TEST(CheckGoldenCorpus, FixturesAreWellFormed) {
  std::map<int, int> by_exit;
  for (const std::string& name : ListFixtures()) {
    SCOPED_TRACE(name);
    const fs::path dir = FixtureRoot() / name;
    std::string error;
    const std::optional<Expectation> want = ReadExpectation(dir, error);
    ASSERT_TRUE(want.has_value()) << error;
    ++by_exit[want->exit_code];
    const bool has_error = std::any_of(
        want->diagnostics.begin(), want->diagnostics.end(),
        [](const std::string& d) { return d.find(" error ") != std::string::npos; });
    const bool io_error = std::any_of(
        want->diagnostics.begin(), want->diagnostics.end(),
        [](const std::string& d) { return d.ends_with(" io-error"); });
    if (io_error) {
      EXPECT_EQ(want->exit_code, 2);
    } else {
      EXPECT_EQ(want->exit_code, has_error ? 1 : 0);
      EXPECT_TRUE(fs::is_regular_file(dir / "main.cf")) << "missing main.cf";
      EXPECT_TRUE(fs::is_regular_file(dir / "master.cf")) << "missing master.cf";
    }
  }
  EXPECT_GE(by_exit[0], 5) << "want at least 5 fixtures that check clean (exit 0)";
  EXPECT_GE(by_exit[1], 30) << "want plenty of broken fixtures (exit 1)";
}

}  // namespace
}  // namespace posthaste::testing
