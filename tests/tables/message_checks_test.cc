// message_checks_test.cc: every header/body check action's effect on a message (spec §4.3).
#include "tables/message_checks.h"

#include <gtest/gtest.h>

#include "tables/pattern_table.h"

namespace posthaste::tables {
namespace {

// A regexp: table from "pattern<TAB>result" pairs.
std::unique_ptr<PatternTable> Rules(std::vector<std::pair<std::string, std::string>> rules) {
  std::vector<PatternRule> out;
  int line = 0;
  for (auto& [pattern, result] : rules) {
    PatternRule r;
    r.pattern = pattern;
    r.result = result;
    r.line = ++line;
    out.push_back(std::move(r));
  }
  auto t = PatternTable::Build("test", PatternSyntax::kPosix, std::move(out));
  EXPECT_TRUE(t.ok()) << t.status();
  return *std::move(t);
}

CheckOutcome RunChecks(const PatternTable* header, const PatternTable* body, std::string_view msg) {
  MessageCheckTables t;
  if (header) t.header = t.mime_header = t.nested_header = {header};
  if (body) t.body = {body};
  return CheckMessage(msg, t);
}

TEST(CheckAction, ParsesVerbCaseInsensitivelyAndKeepsText) {
  CheckAction a = ParseCheckAction("reject  5.7.1 go away");
  EXPECT_EQ(a.verb, CheckVerb::kReject);
  EXPECT_EQ(a.text, "5.7.1 go away");
  EXPECT_EQ(ParseCheckAction("DEFER x").verb, CheckVerb::kUnknown);
}

TEST(CheckAction, RejectReplyFollowsTheStatusClass) {
  EXPECT_EQ(RejectReply(""), "550 5.7.1 message content rejected");
  EXPECT_EQ(RejectReply("no spam"), "550 5.7.1 no spam");
  EXPECT_EQ(RejectReply("4.7.1 later"), "451 4.7.1 later");
  bool forced = false;
  EXPECT_EQ(RejectReply("6.1.1 odd", &forced), "451 4.1.1 odd");
  EXPECT_TRUE(forced);
}

TEST(CheckAction, ReportsProblemsPerContext) {
  EXPECT_FALSE(CheckActionProblems(ParseCheckAction("FILTER bulk"), CheckContext::kHeader).empty());
  EXPECT_TRUE(CheckActionProblems(ParseCheckAction("FILTER bulk:"), CheckContext::kHeader).empty());
  EXPECT_FALSE(CheckActionProblems(ParseCheckAction("REDIRECT bob"), CheckContext::kBody).empty());
  EXPECT_FALSE(CheckActionProblems(ParseCheckAction("PREPEND not a header"), CheckContext::kHeader).empty());
  EXPECT_TRUE(CheckActionProblems(ParseCheckAction("PREPEND any text"), CheckContext::kBody).empty());
  EXPECT_FALSE(CheckActionProblems(ParseCheckAction("PREPEND X-A: b"), CheckContext::kMilterHeader).empty());
  EXPECT_FALSE(CheckActionProblems(ParseCheckAction("REJECT x"), CheckContext::kSmtpHeader).empty());
  EXPECT_TRUE(CheckActionProblems(ParseCheckAction("REPLACE X-A: b"), CheckContext::kSmtpHeader).empty());
  EXPECT_TRUE(CheckActionProblems(ParseCheckAction("whatever"), CheckContext::kLookup).empty());
  EXPECT_EQ(FilterTransport(ParseCheckAction("FILTER bulk:[h]:25")), "bulk");
}

TEST(MessageChecks, RejectStopsInspectionAndSetsTheReply) {
  auto h = Rules({{"^Subject:.*spam", "REJECT 5.7.1 no spam"}, {"^X-After:", "HOLD"}});
  CheckOutcome o = RunChecks(h.get(), nullptr, "Subject: buy spam\nX-After: 1\n\nbody\n");
  EXPECT_EQ(o.disposition, CheckOutcome::Disposition::kReject);
  EXPECT_EQ(o.reply, "550 5.7.1 no spam");
  ASSERT_EQ(o.events.size(), 1u);
  EXPECT_EQ(o.events[0].rule, 0u);
  EXPECT_FALSE(o.hold);
}

TEST(MessageChecks, DiscardRedirectAndPassStopInspection) {
  for (const char* verb : {"DISCARD", "REDIRECT x@example.com", "PASS"}) {
    auto h = Rules({{"^X-A:", verb}, {"^X-B:", "HOLD"}});
    CheckOutcome o = RunChecks(h.get(), nullptr, "X-A: 1\nX-B: 2\n\n");
    EXPECT_FALSE(o.hold) << verb;
    EXPECT_EQ(o.events.size(), 1u) << verb;
  }
}

TEST(MessageChecks, HoldFilterBccAccumulateAndLastFilterWins) {
  auto h = Rules({{"^X-H:", "HOLD why"}, {"^X-F1:", "FILTER one:a"}, {"^X-F2:", "FILTER two:"},
                  {"^X-B:", "BCC audit@example.com"}});
  CheckOutcome o =
      RunChecks(h.get(), nullptr, "X-H: 1\nX-H: 2\nX-F1: x\nX-F2: y\nX-B: 1\nX-B: 2\n\nbody\n");
  EXPECT_EQ(o.disposition, CheckOutcome::Disposition::kAccept);
  EXPECT_TRUE(o.hold);
  EXPECT_EQ(o.hold_reason, "why");
  EXPECT_EQ(o.filter, "two:");
  EXPECT_EQ(o.bcc, std::vector<std::string>{"audit@example.com"});
  int holds = 0;
  for (const CheckEvent& e : o.events) holds += e.action.verb == CheckVerb::kHold;
  EXPECT_EQ(holds, 1);  // only the first HOLD is logged
}

TEST(MessageChecks, MalformedArgumentsAreIgnoredWithANote) {
  auto h = Rules({{"^X-F:", "FILTER nocolon"}, {"^X-R:", "REDIRECT nobody"}, {"^X-U:", "DEFER x"}});
  CheckOutcome o = RunChecks(h.get(), nullptr, "X-F: 1\nX-R: 1\nX-U: 1\n\n");
  EXPECT_FALSE(o.filter);
  EXPECT_FALSE(o.redirect);
  ASSERT_EQ(o.events.size(), 3u);
  for (const CheckEvent& e : o.events) EXPECT_FALSE(e.applied);
  EXPECT_EQ(o.message, "X-F: 1\nX-R: 1\nX-U: 1\n\n");
}

TEST(MessageChecks, EditsHeadersAndBodyLines) {
  auto h = Rules({{"^X-Mailer: (.*)", "REPLACE X-Old-Mailer: $1"}, {"^X-Drop:", "IGNORE"},
                  {"^X-Strip:", "STRIP"}, {"^Subject:", "PREPEND X-Seen: yes"}});
  auto b = Rules({{"^secret", "REPLACE [removed]"}, {"^zap", "IGNORE"}, {"^note", "PREPEND >>"}});
  CheckOutcome o = RunChecks(h.get(), b.get(),
                       "Subject: hi\nX-Mailer: m 1\nX-Drop: 1\nX-Strip: 2\n\nsecret 1\nzap\nnote\nend\n");
  EXPECT_EQ(o.message,
            "X-Seen: yes\nSubject: hi\nX-Old-Mailer: m 1\n\n[removed]\n>>\nnote\nend\n");
}

TEST(MessageChecks, FoldedHeadersAreOneLookupAndKeepTheirFolding) {
  auto h = Rules({{"^Subject: a\n\tb", "WARN folded"}});
  CheckOutcome o = RunChecks(h.get(), nullptr, "Subject: a\n\tb\n\n");
  ASSERT_EQ(o.events.size(), 1u);
  EXPECT_EQ(o.events[0].line, "Subject: a\n\tb");
  EXPECT_EQ(o.message, "Subject: a\n\tb\n\n");
}

TEST(MessageChecks, EachHeaderClassUsesItsOwnTable) {
  auto primary = Rules({{"^X-", "INFO primary"}});
  auto mime = Rules({{"^(Content|X)-", "INFO mime"}});
  auto nested = Rules({{"^X-", "INFO nested"}});
  MessageCheckTables t;
  t.header = {primary.get()};
  t.mime_header = {mime.get()};
  t.nested_header = {nested.get()};
  std::string msg =
      "X-Top: 1\nContent-Type: multipart/mixed; boundary=b\n\n--b\nX-Part: 1\n\ntext\n"
      "--b\nContent-Type: message/rfc822\n\nX-Inner: 1\n\ninner\n--b--\n";
  CheckOutcome o = CheckMessage(msg, t);
  std::vector<std::string> seen;
  for (const CheckEvent& e : o.events) seen.push_back(e.action.text + " " + e.line);
  EXPECT_EQ(seen, (std::vector<std::string>{
                      "primary X-Top: 1", "mime Content-Type: multipart/mixed; boundary=b",
                      "mime X-Part: 1", "mime Content-Type: message/rfc822",
                      "nested X-Inner: 1"}));
}

TEST(MessageChecks, BodyChecksSkipEmptyLinesAndStopAtTheSizeLimit) {
  auto b = Rules({{"^$", "WARN empty"}, {"x", "WARN x"}});
  MessageCheckTables t;
  t.body = {b.get()};
  t.body_checks_size_limit = 10;
  CheckOutcome o = CheckMessage("S: 1\n\nxxxxxxxxxxxx\nx\n", t);
  ASSERT_EQ(o.events.size(), 1u);  // the empty line is never looked up; "x" is past the limit
  EXPECT_EQ(o.events[0].line, "xxxxxxxxxxxx");
}

TEST(MessageChecks, LongBodyLinesAreCheckedInPieces) {
  auto b = Rules({{"^y", "WARN piece starts with y"}});
  MessageCheckTables t;
  t.body = {b.get()};
  t.line_length_limit = 4;
  CheckOutcome o = CheckMessage("S: 1\n\nxxxxyyyy\n", t);
  ASSERT_EQ(o.events.size(), 1u);
  EXPECT_EQ(o.events[0].line, "yyyy");
}

TEST(MessageChecks, TheFirstTableOfAListThatAnswersWins) {
  auto first = Rules({{"^X-A:", "WARN first"}});
  auto second = Rules({{"^X-", "WARN second"}});
  MessageCheckTables t;
  t.header = {first.get(), second.get()};
  CheckOutcome o = CheckMessage("X-A: 1\nX-B: 2\n\n", t);
  ASSERT_EQ(o.events.size(), 2u);
  EXPECT_EQ(o.events[0].action.text, "first");
  EXPECT_EQ(o.events[1].action.text, "second");
}

}  // namespace
}  // namespace posthaste::tables
