// config_parse_test.cc: main.cf / master.cf line rules and spans (spec §1.1, §2).
#include "compiler/logical_lines.h"
#include "compiler/main_cf.h"
#include "compiler/master_cf.h"
#include "gtest/gtest.h"

namespace posthaste::compiler {
namespace {

MainCf ParseMain(SourceSet* s, const std::string& text) {
  return ParseMainCf(*s, s->Add("main.cf", text));
}

TEST(MainCf, ContinuationKeepsLeadingWhitespaceAndSkipsCommentsAndBlanks) {
  SourceSet s;
  MainCf cf = ParseMain(&s, "mynetworks = 127.0.0.0/8,\n\n# c\n  10.0.0.0/8\nx = 1\n");
  ASSERT_EQ(cf.assignments.size(), 2u);
  EXPECT_EQ(cf.assignments[0].value, "127.0.0.0/8,  10.0.0.0/8");
  EXPECT_EQ(cf.assignments[1].line_number, 5);
}

TEST(MainCf, IndentedAssignmentIsContinuationText) {
  SourceSet s;
  MainCf cf = ParseMain(&s, "x = 1\n relayhost = y\n");
  ASSERT_EQ(cf.assignments.size(), 1u);
  EXPECT_EQ(cf.assignments[0].value, "1 relayhost = y");
}

TEST(MainCf, HashInsideValueIsText) {
  SourceSet s;
  MainCf cf = ParseMain(&s, "relayhost = a # x\n");
  EXPECT_EQ(cf.assignments[0].value, "a # x");
}

TEST(MainCf, StrayIndentedLineAtTopIsRecorded) {
  SourceSet s;
  MainCf cf = ParseMain(&s, "  foo = 1\nbar = 2");
  EXPECT_EQ(cf.strays.size(), 1u);
  ASSERT_EQ(cf.assignments.size(), 1u);
  EXPECT_EQ(cf.assignments[0].value, "2");
}

TEST(MainCf, MissingEqualsIsABadLine) {
  SourceSet s;
  MainCf cf = ParseMain(&s, "a = 1\nrelayhost r.example\n");
  ASSERT_EQ(cf.bad_lines.size(), 1u);
  EXPECT_EQ(cf.bad_lines[0].kind, BadLine::kMissingEquals);
  EXPECT_EQ(cf.bad_lines[0].line_number, 2);
}

TEST(MainCf, LaterDefinitionWins) {
  SourceSet s;
  MainCf cf = ParseMain(&s, "relayhost = a\nrelayhost = b\n");
  EXPECT_EQ(cf.Find("relayhost")->value, "b");
  EXPECT_TRUE(cf.assignments[0].overridden);
}

TEST(MainCf, ValueSpansPointIntoContinuationLines) {
  SourceSet s;
  MainCf cf = ParseMain(&s, "x = a,\n\tb $c\n");
  const Assignment& a = cf.assignments[0];
  size_t dollar = a.value.find('$');
  SourceSpan span = a.ValueSpanAt(dollar, 1);
  EXPECT_EQ(span.line, 2);
  EXPECT_EQ(span.col, 4);
}

TEST(MasterCf, BracedOptionIsNormalized) {
  SourceSet s;
  int id = s.Add("master.cf",
                 "smtpd pass - - y - - smtpd\n"
                 "  -o { smtpd_client_restrictions = permit_mynetworks, reject }\n");
  MasterCf cf = ParseMasterCf(s, id);
  ASSERT_EQ(cf.services.size(), 1u);
  const MasterService& svc = cf.services[0];
  ASSERT_EQ(svc.options.size(), 1u);
  EXPECT_EQ(svc.options[0].name, "smtpd_client_restrictions");
  EXPECT_EQ(svc.options[0].value, "permit_mynetworks, reject");
  EXPECT_EQ(svc.argv.back(), "smtpd_client_restrictions=permit_mynetworks, reject");
  EXPECT_EQ(svc.options[0].name_span.line, 2);
}

TEST(MasterCf, NestedBracesStayInTheValue) {
  SourceSet s;
  int id = s.Add("master.cf",
                 "relay unix - - n - - smtp -o {smtp_generic_maps = inline:{ {a@b = c@d}, e=f } }\n");
  MasterCf cf = ParseMasterCf(s, id);
  ASSERT_EQ(cf.services[0].options.size(), 1u);
  EXPECT_EQ(cf.services[0].options[0].value, "inline:{ {a@b = c@d}, e=f }");
}

TEST(MasterCf, ShortEntryIsIncomplete) {
  SourceSet s;
  int id = s.Add("master.cf", "smtp inet n - n -\n");
  MasterCf cf = ParseMasterCf(s, id);
  ASSERT_EQ(cf.services.size(), 1u);
  EXPECT_FALSE(cf.services[0].complete());
}

TEST(MasterCf, AttachedOptionIsParsedLikeGetoptAndFlagged) {
  SourceSet s;
  int id = s.Add("master.cf", "smtp unix - - n - - smtp -osmtp_helo_name=x\n");
  MasterCf cf = ParseMasterCf(s, id);
  ASSERT_EQ(cf.services[0].options.size(), 1u);
  EXPECT_EQ(cf.services[0].options[0].name, "smtp_helo_name");
  EXPECT_EQ(cf.services[0].option_problems.size(), 1u);
}

}  // namespace
}  // namespace posthaste::compiler

namespace posthaste::compiler {
namespace {

// The hand-written splitter used for large tables must agree with the
// grammar on every input.
std::string Describe(const LineStructure& l) {
  std::string out;
  for (const LogicalLine& s : l.strays) out += "S" + std::to_string(s.first_line()) + ":" + s.text() + "|";
  for (const LogicalLine& e : l.entries) {
    out += "E" + std::to_string(e.first_line()) + ":" + e.text() + "|";
    for (size_t i = 0; i < e.text().size(); i += 3) {
      SourceSpan sp = e.SpanAt(i, 1);
      out += std::to_string(sp.line) + "." + std::to_string(sp.col) + ",";
    }
  }
  return out;
}

TEST(SplitLogicalLines, AgreesWithTheGrammar) {
  const char* inputs[] = {
      "", "\n", "a b\n", "  lead\nx y\n", "  lead\n\n  more\n# c\nk v\n  cont\n\n# x\n\tcont2\n",
      "k v", "k v\r\n  c\r\n", "#only\n  # indented comment\n", "a\n b\n#\n c\nd\n\n\n e",
      "\t\n \nk\tv\n", "k1 v1\n k2 v2\nk3\n",
  };
  for (const char* in : inputs) {
    SourceSet s;
    int id = s.Add("t", in);
    EXPECT_EQ(Describe(SplitLogicalLines(s, id)),
              Describe(ReadLogicalLinesWithGrammar(s, id, ConfigGrammar::kTableSource)))
        << "input: " << in;
  }
  // Pseudo-random inputs over the characters that matter.
  const char alphabet[] = {' ', '\t', '\n', '#', 'a', 'b', '\r', '=', '\n', 'k'};
  uint32_t seed = 12345;
  for (int n = 0; n < 2000; ++n) {
    std::string in;
    int len = n % 60;
    for (int i = 0; i < len; ++i) {
      seed = seed * 1103515245 + 12345;
      in.push_back(alphabet[(seed >> 16) % sizeof alphabet]);
    }
    SourceSet s;
    int id = s.Add("t", in);
    ASSERT_EQ(Describe(SplitLogicalLines(s, id)),
              Describe(ReadLogicalLinesWithGrammar(s, id, ConfigGrammar::kTableSource)))
        << "input: " << in;
  }
}

}  // namespace
}  // namespace posthaste::compiler
