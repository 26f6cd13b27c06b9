// logical_lines.cc: drives the line grammars and builds LogicalLines.
#include "compiler/logical_lines.h"

#include <algorithm>

#include "ConfigLinesLexer.h"
#include "MainCf.h"
#include "MasterCf.h"
#include "TableSource.h"
#include "compiler/antlr_input.h"

namespace posthaste::compiler {

void LogicalLine::Append(std::string_view text, int line) {
  more_.push_back({text_.size(), line, 1});
  text_.append(text);
}

SourceSpan LogicalLine::SpanAt(size_t offset, size_t length) const {
  if (!has_first_) return {};
  // The segment holding `offset` and where the next one starts.
  const Segment* seg = &first_;
  size_t end_of_segment = more_.empty() ? text_.size() : more_.front().offset;
  auto it = std::upper_bound(more_.begin(), more_.end(), offset,
                             [](size_t off, const Segment& s) { return off < s.offset; });
  if (it != more_.begin()) {
    seg = &*(it - 1);
    end_of_segment = it == more_.end() ? text_.size() : it->offset;
  }
  size_t clipped = std::min(length, end_of_segment > offset ? end_of_segment - offset : 0);
  return SourceSpan{file_, seg->line, seg->col + static_cast<int>(offset - seg->offset),
                    static_cast<int>(clipped)};
}

namespace {

template <typename EntryContext>
LogicalLine Join(const SourceSet& sources, int file, EntryContext* entry) {
  int start_line = static_cast<int>(entry->START()->getSymbol()->getLine());
  LogicalLine logical(file, std::string(sources.Line(file, start_line)), start_line);
  for (auto* cont : entry->CONT()) {
    int line = static_cast<int>(cont->getSymbol()->getLine());
    logical.Append(sources.Line(file, line), line);
  }
  return logical;
}

template <typename StrayContext>
LogicalLine JoinStray(const SourceSet& sources, int file, StrayContext* stray) {
  LogicalLine logical;
  bool first = true;
  for (auto* cont : stray->CONT()) {
    int line = static_cast<int>(cont->getSymbol()->getLine());
    if (first) {
      logical = LogicalLine(file, std::string(sources.Line(file, line)), line);
      first = false;
      continue;
    }
    logical.Append(sources.Line(file, line), line);
  }
  return logical;
}

template <typename Parser>
LineStructure Walk(const SourceSet& sources, int file, antlr4::CommonTokenStream* tokens) {
  Parser parser(tokens);
  QuietErrorListener listener;
  parser.removeErrorListeners();
  parser.addErrorListener(&listener);
  LineStructure out;
  auto* tree = [&] {
    if constexpr (std::is_same_v<Parser, posthaste_grammar::TableSource>) {
      return parser.table();
    } else {
      return parser.config();
    }
  }();
  if (auto* stray = tree->stray()) out.strays.push_back(JoinStray(sources, file, stray));
  if constexpr (std::is_same_v<Parser, posthaste_grammar::MainCf>) {
    for (auto* entry : tree->entry()) out.entries.push_back(Join(sources, file, entry));
  } else if constexpr (std::is_same_v<Parser, posthaste_grammar::TableSource>) {
    for (auto* entry : tree->record()) out.entries.push_back(Join(sources, file, entry));
  } else {
    for (auto* entry : tree->service()) out.entries.push_back(Join(sources, file, entry));
  }
  return out;
}

}  // namespace

LineStructure ReadLogicalLines(const SourceSet& sources, int file, ConfigGrammar grammar) {
  if (grammar == ConfigGrammar::kTableSource && sources.file(file).text.size() >= kLargeTableBytes)
    return SplitLogicalLines(sources, file);
  return ReadLogicalLinesWithGrammar(sources, file, grammar);
}

LineStructure SplitLogicalLines(const SourceSet& sources, int file) {
  LineStructure out;
  const SourceFile& f = sources.file(file);
  auto is_ws = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v'; };
  bool have_entry = false, in_stray = false;
  for (size_t i = 0; i < f.lines.size(); ++i) {
    std::string_view line = f.lines[i];
    int number = static_cast<int>(i) + 1;
    size_t first = 0;
    while (first < line.size() && is_ws(line[first])) ++first;
    if (first == line.size() || line[first] == '#') continue;  // blank or comment
    if (first == 0) {  // START
      out.entries.emplace_back(file, std::string(line), number);
      have_entry = true;
      in_stray = false;
      continue;
    }
    if (have_entry) {  // CONT
      out.entries.back().Append(line, number);
    } else if (in_stray) {
      out.strays.back().Append(line, number);
    } else {
      out.strays.emplace_back(file, std::string(line), number);
      in_stray = true;
    }
  }
  return out;
}

LineStructure ReadLogicalLinesWithGrammar(const SourceSet& sources, int file,
                                          ConfigGrammar grammar) {
  std::string text = sources.file(file).text;
  if (!text.empty() && text.back() != '\n') text.push_back('\n');
  ByteInputStream input(text);
  posthaste_grammar::ConfigLinesLexer lexer(&input);
  QuietErrorListener lexer_errors;
  lexer.removeErrorListeners();
  lexer.addErrorListener(&lexer_errors);
  antlr4::CommonTokenStream tokens(&lexer);
  try {
    if (grammar == ConfigGrammar::kMainCf)
      return Walk<posthaste_grammar::MainCf>(sources, file, &tokens);
    if (grammar == ConfigGrammar::kTableSource)
      return Walk<posthaste_grammar::TableSource>(sources, file, &tokens);
    return Walk<posthaste_grammar::MasterCf>(sources, file, &tokens);
  } catch (const std::exception&) {
    // The line grammar accepts every byte sequence; reaching here means a
    // broken invariant in the generated code. Return what we have: nothing.
    return {};
  }
}

}  // namespace posthaste::compiler
