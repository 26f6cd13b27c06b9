// param_docs.cc: Markdown rendering of the parameter registry.
//
// Bottom layer (tables/). Reads only AllParams() and ProgramName(); the output
// is committed as tables/params.md and compared byte for byte by the registry
// test, so any change here or in params.def shows up as a reviewed diff.
#include "tables/param_docs.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>

#include "tables/param_registry.h"

namespace posthaste::tables {
namespace {

// A GFM code span that survives backticks and pipes inside the value.
std::string CodeSpan(std::string_view value) {
  size_t longest = 0;
  size_t run = 0;
  for (char c : value) {
    run = (c == '`') ? run + 1 : 0;
    longest = std::max(longest, run);
  }
  const std::string fence(longest + 1, '`');
  std::string body;
  for (char c : value) {
    if (c == '|') body += '\\';
    body += c;
  }
  const bool pad = body.front() == '`' || body.back() == '`';
  const std::string space = pad ? " " : "";
  return fence + space + body + space + fence;
}

std::string Bound(int64_t v) {
  if (v == INT64_MIN || v == INT64_MAX) return "";
  return std::to_string(v);
}

std::string EscapeCell(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '|') out += '\\';
    out += c;
  }
  return out;
}

}  // namespace

std::string RenderParamsMarkdown() {
  std::string out =
      "# Postfix 3.7 parameters known to posthaste\n"
      "\n"
      "Generated from tables/params.def by RenderParamsMarkdown() in\n"
      "tables/param_docs.cc; do not edit. Regenerate with\n"
      "`POSTHASTE_REGEN=1 param_registry_test`.\n"
      "\n"
      "Defaults are exactly what `postconf -d` of Postfix 3.7.11 prints, except\n"
      "rows marked *(host)*: their default is computed on the running host and\n"
      "the value shown is a fixed fallback. Bounds are inclusive; an empty bound\n"
      "means none. *impl* tells whether the posthaste runtime honours the\n"
      "parameter.\n"
      "\n";
  out += "Parameters: " + std::to_string(AllParams().size()) + "\n\n";
  out +=
      "| name | type | default | unit | min | max | programs | impl | "
      "description |\n"
      "| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n";
  for (const ParamInfo& p : AllParams()) {
    std::string programs;
    for (uint64_t i = 0; i < kProgramCount; ++i) {
      if (p.programs & ProgramBit(static_cast<Program>(i))) {
        if (!programs.empty()) programs += ", ";
        programs += ProgramName(static_cast<Program>(i));
      }
    }
    std::string def =
        p.default_value.empty() ? "(empty)" : CodeSpan(p.default_value);
    if (p.host_dependent) def += " *(host)*";
    out += "| ";
    out += p.name;
    out += " | ";
    out += ParamTypeName(p.type);
    out += " | " + def + " | ";
    if (p.time_unit != 0) out += p.time_unit;
    out += " | " + Bound(p.min) + " | " + Bound(p.max) + " | " + programs;
    out += p.runtime_implemented ? " | yes | " : " | no | ";
    out += EscapeCell(p.description) + " |\n";
  }
  return out;
}

}  // namespace posthaste::tables
