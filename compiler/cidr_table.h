// cidr_table.h: reads a cidr: table source into a tables::CidrTable.
//
// Same line rules as every Postfix table file; each logical line is
// `[!]network[/prefix] result`, `if [!]network[/prefix]` or `endif`.
// Malformed rules are skipped with Postfix's warning (host bits set, bad
// mask, bad address, no result, unbalanced if/endif), exactly as postmap
// reports them. Input is an untrusted file.
#pragma once

#include <string>
#include <vector>

#include "compiler/table_open.h"
#include "tables/cidr_table.h"

namespace posthaste::compiler {

// Parses `text` read from `path`; warnings in postmap's words.
std::vector<tables::CidrRule> ParseCidrRules(const std::string& path, const std::string& text,
                                             std::vector<std::string>* warnings);

OpenedTable OpenCidrTable(const std::string& path);

}  // namespace posthaste::compiler
