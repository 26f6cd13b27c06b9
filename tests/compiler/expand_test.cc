// expand_test.cc: $-expansion against the examples of spec §1.3.
#include "compiler/expand.h"

#include <map>

#include "gtest/gtest.h"

namespace posthaste::compiler {
namespace {

class ExpandTest : public ::testing::Test {
 protected:
  std::map<std::string, std::string> vars_ = {
      {"myhostname", "mx.example.com"}, {"mydomain", "example.com"}, {"empty", ""}};
  ExpandResult Run(const std::string& v) {
    LookupFn lookup = [this](std::string_view name, bool) -> std::optional<std::string> {
      auto it = vars_.find(std::string(name));
      if (it == vars_.end()) return std::nullopt;
      return it->second;
    };
    return Expand(v, kExpandRecurse, lookup);
  }
  std::string Text(const std::string& v) { return Run(v).text; }
};

TEST_F(ExpandTest, PlainBracedAndParenthesizedForms) {
  EXPECT_EQ(Text("$mydomain.org"), "example.com.org");
  EXPECT_EQ(Text("$myhostname-x ${mydomain}_x $mydomain_x"), "mx.example.com-x example.com_x ");
  EXPECT_EQ(Text("$(mydomain)"), "example.com");
}

TEST_F(ExpandTest, DollarDollarIsALiteralDollar) {
  EXPECT_EQ(Text("cost $$5 and $$myhostname $$$myhostname"), "cost $5 and $myhostname $mx.example.com");
}

TEST_F(ExpandTest, ConditionalsTestDefinedAndNonEmpty) {
  vars_["relayhost"] = "[smarthost]";
  EXPECT_EQ(Text("${relayhost?via}"), "via");
  EXPECT_EQ(Text("${relayhost:direct}"), "");
  vars_["relayhost"] = "";
  EXPECT_EQ(Text("${relayhost?via}"), "");
  EXPECT_EQ(Text("${relayhost:direct}"), "direct");
  EXPECT_EQ(Text("${relayhost?{relay}:{direct}}"), "direct");
  EXPECT_EQ(Text("${relayhost?{relay}:direct}"), "direct");
  EXPECT_EQ(Text("${relayhost?${mydomain:none}-${undef:dflt}}"), "");
  vars_["relayhost"] = "x";
  EXPECT_EQ(Text("${relayhost?${mydomain:none}-${undef:dflt}}"), "-dflt");
  EXPECT_EQ(Text("${relayhost?{${relayhost?{A}:{B}}}:{C}}"), "A");
  EXPECT_EQ(Text("<${relayhost?  padded  }>"), "<  padded  >");
  EXPECT_EQ(Text("<${relayhost? {  braced  } }>"), "<  braced  >");
}

TEST_F(ExpandTest, UndefinedNamesExpandToNothing) {
  ExpandResult r = Run("${no_such?yes}/${no_such:no}/$no_such");
  EXPECT_EQ(r.text, "/no/");
  EXPECT_TRUE(r.undefined);
  EXPECT_FALSE(r.error);
}

TEST_F(ExpandTest, RelationalOperators) {
  vars_["default_process_limit"] = "100";
  EXPECT_EQ(Text("${{$default_process_limit} == {100}?{eq}:{ne}}"), "eq");
  EXPECT_EQ(Text("${{ a } == {a}?{t}:{f}}"), "f");
  EXPECT_EQ(Text("${{10} < {9}?{t}:{f}}"), "f");
  EXPECT_EQ(Text("${{10} < {9x}?{t}:{f}}"), "t");
  EXPECT_EQ(Text("${{3.10} > {3.9}?{t}:{f}}"), "f");
  EXPECT_EQ(Text("${{3.10} >level {3.9}?{t}:{f}}"), "t");
  EXPECT_EQ(Text("${{2} ==level {2.0}?{t}:{f}}"), "t");
  EXPECT_EQ(Text("${{0} <level {3.6} ? {no} : {yes}}"), "no");
}

TEST_F(ExpandTest, SyntaxErrorsUsePostfixWording) {
  ExpandResult r = Run("${myhostname");
  ASSERT_TRUE(r.error);
  EXPECT_EQ(r.errors[0].message, "truncated macro reference: \"${myhostname\"");
  r = Run("${myhostname!x}");
  ASSERT_TRUE(r.error);
  EXPECT_EQ(r.errors[0].message, "attribute name syntax error at: \"...myhostname>>>!x\"");
  r = Run("${{a} =~ {b}?{t}}");
  ASSERT_TRUE(r.error);
  EXPECT_EQ(r.errors[0].message.rfind("\"==\" or \"!=\"\"", 0), 0u);
}

TEST_F(ExpandTest, LoopsAreReportedAsNesting) {
  vars_["a"] = "$b";
  vars_["b"] = "$a";
  // Expanding the value of a ("$b") as postconf -x a does.
  ExpandResult r = Run("$b");
  ASSERT_TRUE(r.error);
  EXPECT_TRUE(r.errors[0].nesting);
  EXPECT_EQ(r.errors[0].message, "unreasonable macro call nesting: \"a\"");
  // A literal before the loop: postconf warns twice, for the text and the name.
  vars_["c"] = "x$c";
  r = Run("x$c");
  ASSERT_EQ(r.errors.size(), 2u);
  EXPECT_EQ(r.errors[0].message, "unreasonable macro call nesting: \"x\"");
  EXPECT_EQ(r.errors[1].message, "unreasonable macro call nesting: \"c\"");
}

TEST_F(ExpandTest, FortyChainedReferencesAreFine) {
  for (int i = 0; i < 40; ++i) vars_["p" + std::to_string(i)] = "$p" + std::to_string(i + 1);
  vars_["p40"] = "end";
  EXPECT_EQ(Text("$p0"), "end");
}

TEST_F(ExpandTest, ScanFindsEveryReferenceWithOffsets) {
  std::vector<Reference> refs;
  ScanReferences("x $a ${b?{$c}:{$d}} $(e)", &refs);
  ASSERT_EQ(refs.size(), 5u);
  EXPECT_EQ(refs[0].name, "a");
  EXPECT_EQ(refs[0].dollar_offset, 2u);
  EXPECT_EQ(refs[1].name, "b");
  EXPECT_TRUE(refs[1].conditional);
  EXPECT_EQ(refs[2].name, "c");
  EXPECT_EQ(refs[2].dollar_offset, 10u);
  EXPECT_EQ(refs[4].name, "e");
}

}  // namespace
}  // namespace posthaste::compiler
