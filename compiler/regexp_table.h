// regexp_table.h: regexp: (POSIX ERE) and pcre: (PCRE2) tables, evaluated in order.
//
// Parses the table source (`/pattern/flags result`, `!/pattern/flags
// result`, `if /pattern/flags`, `if !/.../`, `endif`, any delimiter) with
// Postfix's flag meanings (spec §3.5) and result substitution ($1, ${1},
// $(1), $$), and answers lookups the way Postfix does: rules in file order,
// if/endif honoured, first match wins. Invalid rules are skipped with
// postmap's warning. This is the straightforward sequential engine; the
// multi-pattern engine of the pattern compiler replaces it for large sets.
// Patterns are untrusted text compiled by the regex libraries.
#pragma once

#include <string>

#include "compiler/table_open.h"

namespace posthaste::compiler {

// `use_pattern_set`: false evaluates every rule on its own (the reference
// the pattern-set path is tested against).
OpenedTable OpenRegexpTable(const std::string& path, bool pcre, bool use_pattern_set = true);
// The same from text already read (`path` is only used in warnings).
OpenedTable ParseRegexpTable(const std::string& path, const std::string& text, bool pcre,
                             bool use_pattern_set = true);

}  // namespace posthaste::compiler
