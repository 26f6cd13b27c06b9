// validate.h: every check `phc check` runs over a loaded configuration.
//
// Consumes a ConfigSet (parsed main.cf, master.cf, ParamSpace) and reports
// into a DiagnosticSink, in three phases printed in this order: main.cf
// (line structure, names, references, value types), master.cf (fields,
// services, -o options), cross references (transports, lookup tables). It
// keeps going after errors to report as many as it can. It reads table files
// only to see that they exist.
#pragma once

#include "compiler/config_set.h"
#include "compiler/diagnostics.h"

namespace posthaste::compiler {

struct ValidateOptions {
  bool allow_unsupported = false;  // unsupported table types become warnings
};

void Validate(const ConfigSet& config, const ValidateOptions& options, DiagnosticSink* sink);

// Closest known parameter name within a small edit distance, or "".
std::string DidYouMean(const ParamSpace& params, const std::string& name);

// Items of a Postfix list value with their byte offsets; `{...}` groups stay
// whole (inline:{ a=b, c=d } is one item).
struct ListItem {
  std::string text;
  size_t offset;
};
std::vector<ListItem> SplitListItems(std::string_view value);

}  // namespace posthaste::compiler
