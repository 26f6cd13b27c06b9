// pattern_table_test.cc: PatternTable's compact form (bundle artifact) round trip and damage.
#include "tables/pattern_table.h"

#include <gtest/gtest.h>

namespace posthaste::tables {
namespace {

std::vector<PatternRule> SampleRules() {
  std::vector<PatternRule> rules;
  auto add = [&](PatternRule::Kind kind, bool negate, std::string pattern, std::string flags,
                 std::string result) {
    PatternRule r;
    r.kind = kind;
    r.negate = negate;
    r.pattern = std::move(pattern);
    r.flags = std::move(flags);
    r.result = std::move(result);
    r.line = static_cast<int>(rules.size()) + 1;
    rules.push_back(std::move(r));
  };
  add(PatternRule::Kind::kIf, false, "^Subject:", "", "");
  add(PatternRule::Kind::kMatch, false, "(buy|sell) now", "", "REJECT no $1, thanks");
  add(PatternRule::Kind::kEndif, false, "", "", "");
  add(PatternRule::Kind::kMatch, true, "@", "", "WARN no at sign");
  add(PatternRule::Kind::kMatch, false, "x(y)\\1", "i", "backref");  // RE2 cannot: PCRE2 path
  return rules;
}

TEST(PatternTable, CompactFormRoundTripsAndAnswersTheSame) {
  for (PatternSyntax syntax : {PatternSyntax::kPosix, PatternSyntax::kPcre}) {
    std::string bytes = SerializePatternTable("/etc/postfix/hc", syntax, SampleRules());
    auto table = ReadPatternTable(bytes);
    ASSERT_TRUE(table.ok()) << table.status();
    EXPECT_EQ((*table)->source(), "/etc/postfix/hc");
    EXPECT_EQ((*table)->rules().size(), 5u);
    EXPECT_EQ((*table)->Lookup("Subject: BUY now").value, "REJECT no BUY, thanks");
    EXPECT_EQ((*table)->Lookup("From: nobody").value, "WARN no at sign");
    EXPECT_EQ((*table)->Lookup("a@xyy").value, "backref");
    EXPECT_FALSE((*table)->Lookup("a@b").found());
    EXPECT_EQ(SerializePatternTable((*table)->source(), syntax, (*table)->rules()), bytes);
  }
}

TEST(PatternTable, ReaderRefusesEveryTruncationAndBadMagic) {
  std::string bytes = SerializePatternTable("hc", PatternSyntax::kPcre, SampleRules());
  for (size_t n = 0; n < bytes.size(); ++n)
    EXPECT_FALSE(ReadPatternTable(bytes.substr(0, n)).ok()) << n;
  std::string bad = bytes;
  bad[0] = 'X';
  EXPECT_FALSE(ReadPatternTable(bad).ok());
}

TEST(PatternTable, ReaderRefusesAPatternThatDoesNotCompile) {
  std::vector<PatternRule> rules(1);
  rules[0].pattern = "(unclosed";
  EXPECT_FALSE(ReadPatternTable(SerializePatternTable("hc", PatternSyntax::kPcre, rules)).ok());
}

TEST(PatternTable, FindNamesTheAnsweringRule) {
  auto table = PatternTable::Build("hc", PatternSyntax::kPosix, SampleRules());
  ASSERT_TRUE(table.ok());
  auto hit = (*table)->Find("Subject: sell now");
  ASSERT_TRUE(hit);
  EXPECT_EQ(hit->rule, 1u);
}

}  // namespace
}  // namespace posthaste::tables
