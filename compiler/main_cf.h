// main_cf.h: the main.cf model: ordered `name = value` assignments with spans.
//
// Lowering of grammar/MainCf.g4: each logical line is split the way Postfix
// splits `name = value` (name ends at whitespace or '=', blanks around '='
// and at the end dropped, inner whitespace of the value kept). Later
// assignments win; every assignment is kept so duplicates can be reported.
// Problems found here (missing '=', a line starting with whitespace) are
// recorded in the model; callers turn them into diagnostics or into
// postconf-style fatal errors.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "compiler/logical_lines.h"
#include "compiler/source.h"

namespace posthaste::compiler {

struct Assignment {
  std::string name;
  std::string value;
  LogicalLine line;
  size_t value_offset = 0;  // where value starts in line.text()
  SourceSpan name_span;
  int line_number = 0;   // first physical line of the logical line
  bool overridden = false;  // a later assignment of the same name exists

  SourceSpan ValueSpan() const { return line.SpanAt(value_offset, value.size()); }
  // Span of `length` bytes at `offset` within value.
  SourceSpan ValueSpanAt(size_t offset, size_t length) const {
    return line.SpanAt(value_offset + offset, length);
  }
};

struct BadLine {
  enum Kind { kMissingEquals, kEmptyName } kind;
  std::string text;  // the logical line
  SourceSpan span;
  int line_number = 0;
};

struct MainCf {
  int file = -1;
  std::string path;
  std::vector<Assignment> assignments;  // file order, including overridden ones
  std::vector<BadLine> bad_lines;
  std::vector<LogicalLine> strays;  // indented lines before the first entry
  std::map<std::string, size_t> effective;  // name -> index of the winning assignment

  const Assignment* Find(const std::string& name) const {
    auto it = effective.find(name);
    return it == effective.end() ? nullptr : &assignments[it->second];
  }
};

// Splits "name = value" as Postfix does. Returns an error text in Postfix's
// words ("missing attribute name", "missing '=' after attribute name") or
// nullopt; on success fills name, value and the value's offset in `text`.
std::optional<std::string> SplitNameValue(std::string_view text, std::string* name,
                                          std::string* value, size_t* value_offset = nullptr,
                                          size_t* name_offset = nullptr);

MainCf ParseMainCf(const SourceSet& sources, int file);

}  // namespace posthaste::compiler
