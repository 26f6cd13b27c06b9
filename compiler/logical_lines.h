// logical_lines.h: physical lines joined into logical lines, with positions kept.
//
// Front of the compiler: runs the ANTLR line grammars (grammar/MainCf.g4,
// grammar/MasterCf.g4) over a file's bytes and joins each entry's START and
// CONT lines into one LogicalLine, the way Postfix does (the newline goes,
// the continuation's leading whitespace stays). Each LogicalLine remembers
// which byte came from which physical line and column, so later phases can
// point diagnostics at any character of a joined value.
// Input is untrusted bytes: any byte sequence parses; ANTLR types do not
// escape this layer.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "compiler/source.h"

namespace posthaste::compiler {

class LogicalLine {
 public:
  LogicalLine() = default;
  LogicalLine(int file, std::string text, int line)
      : file_(file), text_(std::move(text)), first_{0, line, 1}, has_first_(true) {}

  // Appends a continuation line that starts at column 1 of physical `line`.
  void Append(std::string_view text, int line);

  const std::string& text() const { return text_; }
  int file() const { return file_; }
  int first_line() const { return has_first_ ? first_.line : 0; }
  // Span of `length` bytes starting at byte `offset` of text(); clipped to the
  // physical line the offset falls on.
  SourceSpan SpanAt(size_t offset, size_t length = 1) const;

 private:
  struct Segment {
    size_t offset;  // first byte of this physical line in text_
    int line;
    int col;  // column of that byte
  };
  int file_ = -1;
  std::string text_;
  // The first physical line inline (most logical lines have only one), the
  // continuation lines after it.
  Segment first_{0, 0, 1};
  bool has_first_ = false;
  std::vector<Segment> more_;
};

struct LineStructure {
  std::vector<LogicalLine> entries;
  std::vector<LogicalLine> strays;  // indented lines with nothing to continue
};

enum class ConfigGrammar { kMainCf, kMasterCf, kTableSource };

// Parses file `file` of `sources` with the chosen grammar. Table sources of
// kLargeTableBytes or more take SplitLogicalLines instead: the same rules,
// written by hand for speed (a million-line table), and checked against the
// grammar by a differential test and the table fuzz target.
LineStructure ReadLogicalLines(const SourceSet& sources, int file, ConfigGrammar grammar);

constexpr size_t kLargeTableBytes = 1 << 20;

// The line rules of ConfigLinesLexer.g4 + MainCf.g4 without ANTLR.
LineStructure SplitLogicalLines(const SourceSet& sources, int file);

// ANTLR only, whatever the size (for the differential test).
LineStructure ReadLogicalLinesWithGrammar(const SourceSet& sources, int file,
                                          ConfigGrammar grammar);

}  // namespace posthaste::compiler
