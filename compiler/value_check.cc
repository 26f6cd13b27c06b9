// value_check.cc: booleans, integers, sizes and times as Postfix reads them.
#include "compiler/value_check.h"

#include <cerrno>
#include <climits>
#include <cstdlib>

namespace posthaste::compiler {
namespace {

bool AllDigits(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

long long UnitSeconds(char unit) {
  switch (unit) {
    case 's': return 1;
    case 'm': return 60;
    case 'h': return 3600;
    case 'd': return 86400;
    case 'w': return 604800;
  }
  return 0;
}

std::string Bounds(const tables::ParamInfo& info) {
  std::string b;
  if (info.min != INT64_MIN) b += ">= " + std::to_string(info.min);
  if (info.max != INT64_MAX) b += std::string(b.empty() ? "" : " and ") + "<= " + std::to_string(info.max);
  return b;
}

}  // namespace

std::optional<long long> ParseTime(const std::string& value, char default_unit, bool* trailing) {
  *trailing = false;
  size_t i = 0;
  while (i < value.size() && value[i] >= '0' && value[i] <= '9') ++i;
  if (i == 0) return std::nullopt;
  errno = 0;
  long long n = std::strtoll(value.substr(0, i).c_str(), nullptr, 10);
  if (errno == ERANGE) return std::nullopt;
  char unit = default_unit ? default_unit : 's';
  if (i < value.size()) {
    unit = value[i];
    if (!UnitSeconds(unit)) return std::nullopt;
    if (i + 1 < value.size()) *trailing = true;
  }
  long long mult = UnitSeconds(unit);
  if (n > LLONG_MAX / mult) return std::nullopt;
  return n * mult;
}

std::vector<ValueProblem> CheckValue(const tables::ParamInfo& info, const std::string& value) {
  using tables::ParamType;
  std::vector<ValueProblem> out;
  const std::string name(info.name);
  switch (info.type) {
    case ParamType::kBool: {
      std::string lower;
      for (char c : value) lower.push_back(static_cast<char>(tolower(static_cast<unsigned char>(c))));
      if (lower != "yes" && lower != "no")
        out.push_back({DiagCode::kBadBool, "bad boolean value \"" + value + "\" for " + name +
                                               ": expected yes or no"});
      break;
    }
    case ParamType::kInt:
    case ParamType::kSize: {
      bool negative_ok = info.min < 0;
      std::string digits = value;
      if (negative_ok && !digits.empty() && digits[0] == '-') digits = digits.substr(1);
      if (!AllDigits(digits)) {
        out.push_back({info.type == ParamType::kInt ? DiagCode::kBadInt : DiagCode::kBadSize,
                       "bad " + std::string(info.type == ParamType::kInt ? "integer" : "size") +
                           " value \"" + value + "\" for " + name +
                           (info.type == ParamType::kSize ? ": a byte count without unit" : "")});
        break;
      }
      errno = 0;
      long long n = std::strtoll(value.c_str(), nullptr, 10);
      if (errno == ERANGE || n < info.min || n > info.max)
        out.push_back({DiagCode::kOutOfRange,
                       "value " + value + " for " + name + " is out of range (" + Bounds(info) + ")"});
      break;
    }
    case ParamType::kTime: {
      bool trailing = false;
      std::optional<long long> secs = ParseTime(value, info.time_unit, &trailing);
      if (!secs) {
        out.push_back({DiagCode::kBadTime, "bad time value \"" + value + "\" for " + name +
                                               ": expected a number with an optional unit "
                                               "s, m, h, d or w (default unit " +
                                               std::string(1, info.time_unit ? info.time_unit : 's') +
                                               ")"});
        break;
      }
      if (trailing)
        out.push_back({DiagCode::kTimeTrailingText,
                       "text after the time unit in \"" + value + "\" for " + name +
                           " is ignored by Postfix"});
      long long unit = UnitSeconds(info.time_unit ? info.time_unit : 's');
      // Bounds in the registry are in seconds.
      if (*secs < info.min || *secs > info.max)
        out.push_back({DiagCode::kOutOfRange, "time value " + value + " for " + name +
                                                  " is out of range (" + Bounds(info) + " seconds)"});
      (void)unit;
      break;
    }
    default:
      break;
  }
  return out;
}

}  // namespace posthaste::compiler
