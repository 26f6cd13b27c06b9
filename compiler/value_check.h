// value_check.h: type and bounds checks of one parameter value.
//
// Postfix's daemons parse booleans, integers, sizes and times when they start
// and die on a bad value; postconf never checks. We check at compile time,
// against the registry row's type, default time unit and bounds. Input is an
// already-expanded value; no I/O.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "compiler/diagnostics.h"
#include "tables/param_registry.h"

namespace posthaste::compiler {

struct ValueProblem {
  DiagCode code;
  std::string message;
};

std::vector<ValueProblem> CheckValue(const tables::ParamInfo& info, const std::string& value);

// Parses a Postfix time value with `default_unit` ('s','m','h','d','w').
// Returns seconds; *trailing is set when text follows the unit letter.
std::optional<long long> ParseTime(const std::string& value, char default_unit, bool* trailing);

}  // namespace posthaste::compiler
