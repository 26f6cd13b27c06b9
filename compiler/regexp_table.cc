// regexp_table.cc: pattern table sources → validated rules → tables::PatternTable.
#include "compiler/regexp_table.h"

#include <algorithm>
#include <cctype>
#include <functional>

#include "PatternRuleLexer.h"
#include "PatternRuleParser.h"
#include "compiler/antlr_input.h"
#include "compiler/config_set.h"
#include "compiler/logical_lines.h"
#include "compiler/text.h"

namespace posthaste::compiler {
namespace {

using posthaste_grammar::PatternRuleLexer;
using posthaste_grammar::PatternRuleParser;

// Checks $n references in `result` the way Postfix does: the text is parsed
// like a $-expression (truncated ${ or a bare $ are syntax errors), $0 is
// out of range, and the highest index must exist in the pattern. Reports
// Postfix's warnings through `warn(text, prefixed)` (prefixed: postmap puts
// the map/line prefix before it); false when the rule must be skipped.
bool CheckReplacement(const std::string& result, int groups, bool negate, bool pcre,
                      const std::function<void(std::string, bool)>& warn) {
  int max_index = 0;
  bool syntax_error = false;
  size_t i = 0;
  while (i < result.size()) {
    if (result[i] != '$') {
      ++i;
      continue;
    }
    if (i + 1 < result.size() && result[i + 1] == '$') {
      i += 2;
      continue;
    }
    std::string name;
    size_t j = i + 1;
    bool braced = j < result.size() && (result[j] == '{' || result[j] == '(');
    if (braced) {
      char close = result[j] == '{' ? '}' : ')';
      size_t end = result.find(close, j + 1);
      if (end == std::string::npos) {
        warn("truncated macro reference: \"" + result + "\"", false);
        syntax_error = true;
        break;
      }
      name = result.substr(j + 1, end - j - 1);
      i = end + 1;
    } else {
      while (j < result.size() &&
             (isalnum(static_cast<unsigned char>(result[j])) || result[j] == '_'))
        name.push_back(result[j++]);
      i = j;
    }
    if (name.empty()) {
      if (braced) continue;  // "${}": nothing to substitute
      warn("empty macro name: \"" + result + "\"", false);
      syntax_error = true;
      break;
    }
    if (name.find_first_not_of("0123456789") != std::string::npos) {
      // Every non-numeric name is reported; the rule is then skipped.
      warn("non-numeric replacement index \"" + name + "\"", true);
      syntax_error = true;
      continue;
    }
    if (negate) {
      warn("$number found in negative match replacement text: skipping this rule", true);
      return false;
    }
    int index = name.size() > 6 ? 1000000 : std::stoi(name);
    if (index == 0) {
      warn(std::string(pcre ? "out of range" : "out-of-range") + " replacement index \"" + name +
               "\"",
           true);
      syntax_error = true;
      break;
    }
    max_index = std::max(max_index, index);
  }
  if (syntax_error) {
    warn("bad replacement syntax: skipping this rule", true);
    return false;
  }
  if (max_index > groups) {
    warn("out of range replacement index \"" + std::to_string(max_index) +
             "\": skipping this rule",
         true);
    return false;
  }
  return true;
}

// One logical line through the PatternRule grammar.
class LineParser {
 public:
  explicit LineParser(const std::string& text)
      : input_(text), lexer_(&input_), tokens_(&lexer_), parser_(&tokens_) {
    lexer_.removeErrorListeners();
    lexer_.addErrorListener(&errors_);
    parser_.removeErrorListeners();
    parser_.addErrorListener(&errors_);
  }
  PatternRuleParser::LineContext* Parse() { return parser_.line(); }
  bool failed() const { return errors_.failed; }

 private:
  ByteInputStream input_;
  PatternRuleLexer lexer_;
  antlr4::CommonTokenStream tokens_;
  PatternRuleParser parser_;
  QuietErrorListener errors_;
};

}  // namespace

ParsedPatternTable ParsePatternRules(const SourceSet& sources, int file, bool pcre) {
  ParsedPatternTable out;
  const std::string& path = sources.file(file).path;
  tables::PatternSyntax syntax = pcre ? tables::PatternSyntax::kPcre : tables::PatternSyntax::kPosix;
  LineStructure lines = ReadLogicalLines(sources, file, ConfigGrammar::kTableSource);
  std::string map = std::string(pcre ? "pcre" : "regexp") + " map " + path + ", line ";
  for (const LogicalLine& stray : lines.strays)
    out.problems.push_back({stray.SpanAt(0, stray.text().size()),
                            path + ": logical line must not start with whitespace: \"" +
                                stray.text() + "\"",
                            "logical line must not start with whitespace"});
  std::vector<size_t> open_ifs;  // indexes into out.rules
  for (const LogicalLine& line : lines.entries) {
    const std::string& text = line.text();
    std::string where = map + std::to_string(line.first_line()) + ": ";
    SourceSpan at = line.SpanAt(0, 1);
    // warn(text, prefixed): one problem at `at`; `prefixed` adds the
    // map/line prefix to postmap's wording (a few of its warnings have none).
    auto warn = [&](std::string message, bool prefixed) {
      out.problems.push_back({at, prefixed ? where + message : message, message});
    };
    auto token_span = [&](antlr4::tree::TerminalNode* node) {
      antlr4::Token* t = node->getSymbol();
      size_t start = t->getStartIndex();
      size_t length = t->getStopIndex() + 1 - start;
      return line.SpanAt(start, std::max<size_t>(length, 1));
    };
    // Token text by offsets: ANTLR's getText() would re-encode bytes >= 0x80.
    auto token_text = [&](antlr4::tree::TerminalNode* node) {
      antlr4::Token* t = node->getSymbol();
      return text.substr(t->getStartIndex(), t->getStopIndex() + 1 - t->getStartIndex());
    };
    LineParser parser(text);
    PatternRuleParser::LineContext* tree = nullptr;
    try {
      tree = parser.Parse();
    } catch (const std::exception&) {
      tree = nullptr;
    }
    if (!tree || parser.failed()) {
      // The grammar accepts every line; reaching this is a grammar bug.
      warn("ignoring unrecognized request", true);
      continue;
    }
    if (PatternRuleParser::EndifLineContext* e = tree->endifLine()) {
      at = token_span(e->ENDIF());
      if (open_ifs.empty()) {
        warn("ignoring ENDIF without matching IF", true);
        continue;
      }
      if (e->RESULT()) {
        at = token_span(e->RESULT());
        warn("ignoring extra text after ENDIF", true);
      }
      open_ifs.pop_back();
      tables::PatternRule r;
      r.kind = tables::PatternRule::Kind::kEndif;
      r.line = line.first_line();
      out.rules.push_back(std::move(r));
      out.result_spans.push_back(at);
      continue;
    }
    if (tree->unrecognized()) {
      warn("ignoring unrecognized request", true);
      continue;
    }
    tables::PatternRule rule;
    rule.line = line.first_line();
    PatternRuleParser::NegationContext* negation = nullptr;
    PatternRuleParser::PatternContext* pattern = nullptr;
    antlr4::tree::TerminalNode* result = nullptr;
    if (PatternRuleParser::IfLineContext* i = tree->ifLine()) {
      rule.kind = tables::PatternRule::Kind::kIf;
      negation = i->negation();
      pattern = i->pattern();
      result = i->RESULT();
    } else if (PatternRuleParser::RuleLineContext* r = tree->ruleLine()) {
      negation = r->negation();
      pattern = r->pattern();
      result = r->RESULT();
    }
    // Each leading '!' toggles the negation.
    if (negation) rule.negate = negation->BANG().size() % 2 == 1;
    if (!pattern) {
      warn("no regexp: skipping this rule", true);
      continue;
    }
    antlr4::Token* open = pattern->OPEN()->getSymbol();
    at = token_span(pattern->OPEN());
    if (!pattern->CLOSE()) {
      warn("no closing regexp delimiter \"" + token_text(pattern->OPEN()) + "\": " +
               (pcre ? "ignoring" : "skipping") + " this rule",
           true);
      continue;
    }
    size_t body = open->getStopIndex() + 1;
    rule.pattern = text.substr(body, pattern->CLOSE()->getSymbol()->getStartIndex() - body);
    if (pattern->FLAGS()) rule.flags = token_text(pattern->FLAGS());
    SourceSpan result_span = token_span(pattern->CLOSE());
    if (result) {
      rule.result = std::string(TrimView(token_text(result)));
      result_span = token_span(result);
    }
    if (rule.kind == tables::PatternRule::Kind::kMatch && !result)
      warn("no replacement text: using empty string", true);
    if (rule.kind == tables::PatternRule::Kind::kIf && result) {
      at = result_span;
      warn("ignoring extra text after IF statement: \"" + rule.result + "\"", true);
      warn("do not prepend whitespace to statements between IF and ENDIF", true);
      rule.result.clear();
    }
    if (pattern->FLAGS()) {
      std::string flags = rule.flags;
      at = token_span(pattern->FLAGS());
      if (std::optional<char> bad = tables::UnknownFlag(syntax, flags)) {
        warn(std::string("unknown regexp option \"") + *bad + "\": skipping this rule", true);
        continue;
      }
      if (pcre && flags.find('X') != std::string::npos)
        warn("ignoring obsolete regexp option \"X\"", true);
    }
    at = token_span(pattern->OPEN());
    std::string error;
    std::unique_ptr<tables::Regex> regex = tables::CompileRegex(syntax, rule.pattern, rule.flags, &error);
    if (!regex) {
      // postmap's words, then ours: say what happens to the rule.
      out.problems.push_back({at, where + error, error + ": Postfix skips this rule"});
      continue;
    }
    if (rule.kind == tables::PatternRule::Kind::kMatch) {
      at = result_span;
      if (!CheckReplacement(rule.result, regex->group_count(), rule.negate, pcre, warn)) continue;
    }
    if (rule.kind == tables::PatternRule::Kind::kIf) open_ifs.push_back(out.rules.size());
    out.rules.push_back(std::move(rule));
    out.result_spans.push_back(result_span);
  }
  for (auto it = open_ifs.rbegin(); it != open_ifs.rend(); ++it) {
    const tables::PatternRule& r = out.rules[*it];
    std::string message = "IF has no matching ENDIF";
    SourceSpan span{file, r.line, 1, 1};
    out.problems.push_back({span, map + std::to_string(r.line) + ": " + message, message});
  }
  return out;
}

OpenedTable OpenRegexpTable(const std::string& path, bool pcre, bool use_pattern_set) {
  std::string text, error;
  if (!ReadFile(path, &text, &error)) {
    OpenedTable out;
    out.fatal = "open " + path + ": " + error;
    return out;
  }
  return ParseRegexpTable(path, text, pcre, use_pattern_set);
}

OpenedTable ParseRegexpTable(const std::string& path, const std::string& text, bool pcre,
                             bool use_pattern_set) {
  OpenedTable out;
  SourceSet sources;
  int id = sources.Add(path, text);
  ParsedPatternTable parsed = ParsePatternRules(sources, id, pcre);
  for (PatternTableProblem& p : parsed.problems) out.warnings.push_back(std::move(p.postmap));
  absl::StatusOr<std::unique_ptr<tables::PatternTable>> table = tables::PatternTable::Build(
      path, pcre ? tables::PatternSyntax::kPcre : tables::PatternSyntax::kPosix,
      std::move(parsed.rules), use_pattern_set);
  if (!table.ok()) {
    out.fatal = std::string(table.status().message());
    return out;
  }
  out.table = *std::move(table);
  return out;
}

}  // namespace posthaste::compiler
