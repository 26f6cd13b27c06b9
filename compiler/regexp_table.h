// regexp_table.h: reads regexp: (POSIX ERE) and pcre: (PCRE2) table sources.
//
// Lines go through the table line grammar (comments, continuation lines),
// each logical line through grammar/PatternRule*.g4: `[!]/pattern/flags
// result`, `if [!]/pattern/flags`, `endif`, any delimiter. Every rule Postfix
// would skip is reported with Postfix's wording (spec §3.5, postmap's
// warnings) and left out; what remains compiles into a tables::PatternTable,
// the engine shared with the runtime. Patterns are untrusted text handed to
// the regex libraries.
#pragma once

#include <string>
#include <vector>

#include "compiler/source.h"
#include "compiler/table_open.h"
#include "tables/pattern_table.h"

namespace posthaste::compiler {

struct PatternTableProblem {
  SourceSpan span;      // where in the table file
  std::string postmap;  // postmap's whole warning text ("regexp map PATH, line N: ...")
  std::string message;  // the same without the map/line prefix
};

struct ParsedPatternTable {
  std::vector<tables::PatternRule> rules;  // the rules Postfix keeps, in order
  std::vector<SourceSpan> result_spans;    // per rule: its result text (or the pattern's end)
  std::vector<PatternTableProblem> problems;
};

// Parses file `file` of `sources` (its path is used in the warnings).
ParsedPatternTable ParsePatternRules(const SourceSet& sources, int file, bool pcre);

// `use_pattern_set`: false evaluates every rule on its own (the reference
// the pattern-set path is tested against).
OpenedTable OpenRegexpTable(const std::string& path, bool pcre, bool use_pattern_set = true);
// The same from text already read (`path` is only used in warnings).
OpenedTable ParseRegexpTable(const std::string& path, const std::string& text, bool pcre,
                             bool use_pattern_set = true);

}  // namespace posthaste::compiler
