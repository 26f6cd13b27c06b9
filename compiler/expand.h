// expand.h: Postfix `$name` expansion, with every form main.cf allows.
//
// Implements the semantics of spec §1.3 exactly: `$name`, `${name}`,
// `$(name)`, `$$`, `${name?text}`, `${name:text}`, `${name?{t1}:{t2}}`,
// relational tests `${{A} OP {B}?{t1}:{t2}}` with numeric/string comparison
// and the `level` operator family, nesting-depth loop detection, and
// Postfix's warning texts for every syntax error. The caller supplies the
// name lookup (main.cf values, defaults, master.cf -o overrides).
// Scan mode visits every reference in both branches without producing text:
// that is how references are found for validation and cross-reference.
// Input is configuration text (trusted to be text, not to be well-formed).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace posthaste::compiler {

struct Reference {
  std::string name;
  bool conditional = false;  // ${name?..} / ${name:..}: a test, not a use
  // Offsets into the top-level value; npos when the reference came from a
  // nested expansion of another parameter's value.
  size_t dollar_offset = std::string::npos;
};

struct ExpandError {
  std::string message;  // Postfix's warning text
  size_t offset = std::string::npos;  // `$` of the offending reference in the top-level value
  bool nesting = false;  // "unreasonable macro call nesting": a reference loop
  std::string nesting_name;
};

struct ExpandResult {
  std::string text;
  bool error = false;      // MAC_PARSE_ERROR: Postfix would fail
  bool undefined = false;  // some plain $name had no value
  std::vector<ExpandError> errors;
};

// Returns the value of `name`, or nullopt when undefined. `test` is true for
// ${name?..}/${name:..}.
using LookupFn = std::function<std::optional<std::string>(std::string_view name, bool test)>;
// Called for every reference found (both branches in scan mode).
using VisitFn = std::function<void(const Reference&)>;

enum ExpandFlags : unsigned {
  kExpandRecurse = 1,  // expand $name inside looked-up values too
  kExpandScan = 2,     // produce no text; visit every reference
};

ExpandResult Expand(std::string_view value, unsigned flags, const LookupFn& lookup,
                    const VisitFn& visit = nullptr);

// Every reference in `value` (scan mode, no lookups): names, positions,
// and syntax errors.
ExpandResult ScanReferences(std::string_view value, std::vector<Reference>* refs);

// Compares Postfix compatibility levels "major[.minor[.patch]]". Returns
// nullopt when either side is not a level.
std::optional<int> CompareLevels(std::string_view a, std::string_view b);

}  // namespace posthaste::compiler
