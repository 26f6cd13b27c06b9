// pattern_set_test.cc: the RE2::Set path must answer exactly as rule-by-rule
// evaluation does, on every regexp:/pcre: table of the golden corpora and
// every header, body line and query key those corpora use.
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "compiler/regexp_table.h"
#include "gtest/gtest.h"
#include "tables/message_walker.h"
#include "tables/pattern_set.h"

namespace posthaste::compiler {
namespace {

namespace fs = std::filesystem;

std::string Slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(TranslatePcre, AcceptsTheCommonSubsetAndRefusesTheRest) {
  EXPECT_EQ(*tables::TranslatePcre("^Subject: .*viagra", ""), "(?is)(?:^Subject\\: .*viagra)");
  EXPECT_EQ(*tables::TranslatePcre("a$", ""), "(?is)(?:a(?:\\n?\\z))");
  EXPECT_EQ(*tables::TranslatePcre("a$", "E"), "(?is)(?:a\\z)");
  EXPECT_EQ(*tables::TranslatePcre("x+?y", "iU"), "(?sU)(?:x+?y)");
  EXPECT_FALSE(tables::TranslatePcre("(?=x)", ""));      // look-ahead
  EXPECT_FALSE(tables::TranslatePcre("(a)\\1", ""));     // back-reference
  EXPECT_FALSE(tables::TranslatePcre("a b", "x"));       // extended syntax
  EXPECT_FALSE(tables::TranslatePcre("\\s", ""));        // \s differs (VT)
  EXPECT_FALSE(tables::TranslatePcre("a++", ""));        // possessive
  EXPECT_FALSE(tables::TranslatePcre("\xe9t\xe9", ""));  // non-ASCII with case folding
}

TEST(TranslatePosix, KeepsPosixMeaning) {
  EXPECT_EQ(*tables::TranslatePosix("[\\.]", "i"), "(?s)(?:[\\\\\\.])");  // '\' literal in brackets
  EXPECT_EQ(*tables::TranslatePosix("a$", "i"), "(?s)(?:a\\z)");
  EXPECT_EQ(*tables::TranslatePosix("[^x]", "im"), "(?m)(?:[^x\\n])");    // REG_NEWLINE
  EXPECT_FALSE(tables::TranslatePosix("\\d", ""));    // glibc: a literal d
  EXPECT_FALSE(tables::TranslatePosix("*a", ""));     // leading '*' is literal
  EXPECT_FALSE(tables::TranslatePosix("a**", ""));    // glibc accepts, RE2 does not
  EXPECT_FALSE(tables::TranslatePosix("(a)\\1", ""));
  EXPECT_FALSE(tables::TranslatePosix("abc", "x"));   // basic syntax
}

struct Corpus {
  std::vector<std::pair<std::string, bool>> tables;  // path, pcre
  std::set<std::string> keys;
};

Corpus Collect() {
  Corpus c;
  for (const char* root : {POSTHASTE_CHECKS_FIXTURES, POSTHASTE_MAP_FIXTURES}) {
    for (const auto& dir : fs::directory_iterator(root)) {
      if (!dir.is_directory()) continue;
      std::string commands = Slurp(dir.path() / "commands");
      std::istringstream lines(commands);
      std::string line;
      while (std::getline(lines, line)) {
        for (const char* type : {"regexp:@DIR@/", "pcre:@DIR@/"}) {
          if (line.rfind(type, 0) != 0) continue;
          fs::path file = dir.path() / line.substr(std::string(type).size());
          if (fs::exists(file))
            c.tables.emplace_back(file.string(), std::string(type).rfind("pcre", 0) == 0);
        }
        c.keys.insert(line);
      }
      if (fs::exists(dir.path() / "stdin")) {
        std::string message = Slurp(dir.path() / "stdin");
        std::istringstream in(message);
        while (std::getline(in, line)) c.keys.insert(line);
        tables::WalkOptions walk;
        walk.mime = true;
        tables::WalkMessage(message, walk, [&](tables::MessagePart, std::string_view key) {
          c.keys.insert(std::string(key));
          return true;
        });
      }
    }
  }
  for (const char* extra : {"", "a", "\n", "x\ny", "Subject: hello\n world", "FROM: A@B.C",
                            "user@example.com", "caf\xc3\xa9", "\xff\xfe"})
    c.keys.insert(extra);
  return c;
}

TEST(PatternSet, SameAnswersAsRuleByRuleOnTheGoldenCorpora) {
  Corpus c = Collect();
  ASSERT_GE(c.tables.size(), 100u);
  ASSERT_GE(c.keys.size(), 500u);
  size_t compared = 0;
  for (const auto& [path, pcre] : c.tables) {
    OpenedTable fast = OpenRegexpTable(path, pcre, true);
    OpenedTable slow = OpenRegexpTable(path, pcre, false);
    ASSERT_TRUE(fast.table && slow.table) << path;
    for (const std::string& key : c.keys) {
      tables::LookupResult a = fast.table->Lookup(key), b = slow.table->Lookup(key);
      ASSERT_EQ(a.status, b.status) << path << " key: " << key;
      ASSERT_EQ(a.value, b.value) << path << " key: " << key;
      ++compared;
    }
  }
  EXPECT_GT(compared, 50000u);
}

TEST(PatternSet, LargeRuleSetsAgreeOnGeneratedKeys) {
  // 2 000 generated rules in if blocks and negations, all translatable, so the
  // RE2::Set path decides (RE2 alternation, optional groups, anchors).
  char tmpl[] = "/tmp/phc-ps-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  for (bool pcre : {false, true}) {
    std::string rules;
    for (int i = 0; i < 2000; ++i) {
      if (i % 7 == 0) rules += "if /^X-" + std::to_string(i) + "/\n";
      rules += "/^Subject:.*word" + std::to_string(i) + "(s|es)?( |$)/ REJECT r" + std::to_string(i) + "\n";
      if (i % 5 == 0) rules += "!/^From: .*@good" + std::to_string(i) + "\\./ WARN not" + std::to_string(i) + "\n";
      if (i % 7 == 0) rules += "endif\n";
    }
    std::string path = dir + (pcre ? "/p" : "/r");
    std::ofstream(path) << rules;
    OpenedTable fast = OpenRegexpTable(path, pcre, true);
    OpenedTable slow = OpenRegexpTable(path, pcre, false);
    for (int k = 0; k < 3000; ++k) {
      std::string key = k % 3 == 0 ? "Subject: about word" + std::to_string(k % 2100) + "es here"
                        : k % 3 == 1 ? "X-" + std::to_string(k % 2000) + ": word" + std::to_string(k)
                                     : "From: someone@good" + std::to_string(k % 2000) + ".example";
      tables::LookupResult a = fast.table->Lookup(key), b = slow.table->Lookup(key);
      ASSERT_EQ(a.value, b.value) << key;
      ASSERT_EQ(a.status, b.status) << key;
    }
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace posthaste::compiler

namespace posthaste::compiler {
namespace {

// Regressions found by tests/fuzz/pattern_table_fuzz.
TEST(PatternTableRegressions, KeysEndAtTheirFirstNulInBothPaths) {
  std::string table = "/^Subject:.*MAKE MONEY FAST/ REJECT chain letter\n";
  std::string key = std::string("Subject: \x0f\0\0make money fast!!!", 30);
  for (bool pcre : {false, true}) {
    OpenedTable fast = ParseRegexpTable("t", table, pcre, true);
    OpenedTable slow = ParseRegexpTable("t", table, pcre, false);
    EXPECT_FALSE(fast.table->Lookup(key).found());
    EXPECT_FALSE(slow.table->Lookup(key).found());
  }
}

TEST(PatternTableRegressions, NonNumericReplacementNamesSkipTheRule) {
  OpenedTable t = ParseRegexpTable("t", "/(a)/ x${foo}y$bar.z ${}w\n/a/ second\n", false);
  ASSERT_TRUE(t.table);
  EXPECT_EQ(t.table->Lookup("a").value, "second");
  ASSERT_EQ(t.warnings.size(), 3u);
  EXPECT_NE(t.warnings[0].find("non-numeric replacement index \"foo\""), std::string::npos);
  EXPECT_NE(t.warnings[1].find("non-numeric replacement index \"bar\""), std::string::npos);
}

TEST(PatternTableRegressions, StackedRepetitionIsRefusedNotCompiled) {
  OpenedTable t = ParseRegexpTable("t", "/^Received+++++++++++++++++++++++++++/ X\n", false);
  ASSERT_TRUE(t.table);
  EXPECT_FALSE(t.table->Lookup("Received").found());
  ASSERT_EQ(t.warnings.size(), 1u);
  EXPECT_NE(t.warnings[0].find("too many repetition operators"), std::string::npos);
}

}  // namespace
}  // namespace posthaste::compiler

namespace posthaste::compiler {
namespace {

// Regressions found by tests/fuzz/posix_translate_fuzz, pcre_translate_fuzz
// and tests/compiler/pattern_differential_test: each table must answer the
// same with the RE2::Set path as rule by rule, and the translator must
// refuse what it cannot say exactly.
struct TranslatorCase {
  bool pcre;
  const char* pattern;
  const char* flags;
  const char* subject;
};

void ExpectSameAnswers(const TranslatorCase& c) {
  std::string table = std::string("/") + c.pattern + "/" + c.flags + " HIT\n";
  OpenedTable fast = ParseRegexpTable("t", table, c.pcre, true);
  OpenedTable slow = ParseRegexpTable("t", table, c.pcre, false);
  ASSERT_TRUE(fast.table && slow.table) << table;
  tables::LookupResult a = fast.table->Lookup(c.subject), b = slow.table->Lookup(c.subject);
  EXPECT_EQ(a.status, b.status) << table << "subject: " << c.subject;
  EXPECT_EQ(a.value, b.value) << table << "subject: " << c.subject;
}

TEST(TranslatorRegressions, IcaseRangesFollowGlibcUpperCasing) {
  // glibc upper-cases pattern and subject under REG_ICASE: [0-z] is [0-Z]
  // there and holds no '_'.
  ExpectSameAnswers({false, "[0-z]", "", "_"});
  ExpectSameAnswers({false, "[a-~]", "", "_"});
  EXPECT_FALSE(tables::TranslatePosix("[0-z]", ""));
  EXPECT_FALSE(tables::TranslatePosix("[A-z]", ""));
  EXPECT_TRUE(tables::TranslatePosix("[0-z]", "i"));  // case-sensitive: exact
  EXPECT_TRUE(tables::TranslatePosix("[a-z0-9!-/]", ""));
  EXPECT_TRUE(tables::TranslatePcre("[0-z]", ""));    // PCRE2 folds like RE2
}

TEST(TranslatorRegressions, GlibcAnchorsNextToCharactersAreNotTranslated) {
  // Without REG_NEWLINE glibc still lets "$." match before a newline and
  // ".^" after one.
  ExpectSameAnswers({false, "^$.", "", "\n"});
  ExpectSameAnswers({false, ".[[:space:]]^.+", "", "f\nw"});
  EXPECT_FALSE(tables::TranslatePosix("$.", ""));
  EXPECT_FALSE(tables::TranslatePosix("a.^b", ""));
  EXPECT_FALSE(tables::TranslatePosix("x(^a)", ""));
  EXPECT_EQ(*tables::TranslatePosix("^a|^b$", ""), "(?is)(?:^a|^b\\z)");
  EXPECT_EQ(*tables::TranslatePosix("(^a|b$)|c", ""), "(?is)(?:(^a|b\\z)|c)");
  EXPECT_TRUE(tables::TranslatePosix("a[[:space:]]^b$.", "m"));  // REG_NEWLINE: exact
}

TEST(TranslatorRegressions, BoundsWithLeadingZerosAreNotTranslated) {
  // RE2 reads "{06}" as literal text.
  ExpectSameAnswers({false, "12951{06}", "", "{012951{06}\n\n"});
  ExpectSameAnswers({true, "x{06}", "", "x{06}"});
  EXPECT_FALSE(tables::TranslatePosix("a{06}", ""));
  EXPECT_FALSE(tables::TranslatePcre("a{1,02}", ""));
  EXPECT_TRUE(tables::TranslatePcre("a{0,20}", ""));
}

TEST(TranslatorRegressions, PcreMultilineCaretNeedsACharacterAfterIt) {
  // PCRE2's multiline '^' does not match after a newline ending the subject.
  ExpectSameAnswers({true, "\\n^", "m", "a\n"});
  ExpectSameAnswers({true, "^$", "m", "a\n"});
  ExpectSameAnswers({true, "(invoice)?here[[:space:]]^(.+||.)", "m", "here\n"});
  EXPECT_FALSE(tables::TranslatePcre("^$", "m"));
  EXPECT_FALSE(tables::TranslatePcre("^x?", "m"));
  EXPECT_TRUE(tables::TranslatePcre("^Subject:", "m"));
}

TEST(TranslatorRegressions, PcreDollarOnlyWhereNothingFollows) {
  // \n?\z consumes the final newline that PCRE's '$' only looks at.
  ExpectSameAnswers({true, "(a$|b)\\n", "", "a\n"});
  ExpectSameAnswers({true, "(a$|\\n){2}", "", "a\n"});
  EXPECT_FALSE(tables::TranslatePcre("(a$|b)\\n", ""));
  EXPECT_FALSE(tables::TranslatePcre("(a$){2}", ""));
  EXPECT_TRUE(tables::TranslatePcre("(a$|b)", ""));
  EXPECT_TRUE(tables::TranslatePcre("a$|(b|c$)", ""));
  EXPECT_TRUE(tables::TranslatePcre("(a$|b)\\n", "E"));  // '$' is \z there
}

}  // namespace
}  // namespace posthaste::compiler
