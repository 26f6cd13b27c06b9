// param_registry.h: every Postfix 3.7 main.cf parameter, as data.
//
// The bottom layer's vocabulary of parameters. Rows live in params.def (one
// POSTHASTE_PARAM row per parameter, harvested from Debian's postfix 3.7.11:
// `postconf -d` for defaults, the daemons' manual pages for who reads what);
// this header and tables/params.md are views of those rows, nothing is
// retyped. Both the compiler (validation, postconf work-alike, xref) and the
// runtime (its components declare which parameters they read) use it.
//
// Service-derived parameters (`<service>_destination_concurrency_limit`, ...)
// are not rows: they exist only for master.cf services whose command is a
// delivery agent or spawn, see ServiceParamTemplates().
#pragma once

#include <cstdint>
#include <string_view>

#include "absl/types/span.h"

namespace posthaste::tables {

enum class ParamType : uint8_t {
  kBool,             // yes/no, case-insensitive
  kInt,              // decimal integer, optional bounds
  kTime,             // <int>[smhdw], default unit in ParamInfo::time_unit
  kSize,             // byte count, decimal, no unit suffix
  kString,           // free text
  kList,             // comma/whitespace separated items
  kMatchList,        // list of literals, !negations, /file names, type:table
  kTableList,        // list of type:name lookup tables
  kRestrictionList,  // smtpd restriction names with arguments
  kServiceName,      // a master.cf service (transport) name, may carry :nexthop
};

// Programs (daemons and commands) that read parameters. A bit mask.
enum Program : uint64_t {
#define POSTHASTE_PROGRAM(id, name) id,
#include "tables/programs.def"
#undef POSTHASTE_PROGRAM
  kProgramCount
};
using ProgramMask = uint64_t;
constexpr ProgramMask ProgramBit(Program p) { return ProgramMask{1} << p; }
std::string_view ProgramName(Program p);

struct ParamInfo {
  std::string_view name;
  ParamType type;
  std::string_view default_value;  // built-in default expression, as `postconf -d` prints it
  char time_unit;                  // kTime only: 's', 'm', 'h', 'd' or 'w'; else 0
  int64_t min;                     // inclusive lower bound (kInt/kTime/kSize), or INT64_MIN
  int64_t max;                     // inclusive upper bound, or INT64_MAX
  ProgramMask programs;            // who reads it
  bool runtime_implemented;        // posthasted honours it
  std::string_view description;    // one line
  // The built-in default is computed on the running host or process
  // (myhostname, mydomain, mynetworks, process_id, process_name);
  // default_value then holds a fixed fallback and callers compute the real
  // value at run time.
  bool host_dependent;
  // postconf does not expand $name in this value: the daemon expands it
  // itself with its own names ($recipient, $sender, ...).
  bool raw = false;
  // Set by Postfix for each process; a main.cf assignment is ignored.
  bool read_only = false;
  // Known to postconf (kept for compatibility, referenced by defaults) but
  // not listed by `postconf -d`.
  bool legacy = false;
};

// All rows, sorted by name.
absl::Span<const ParamInfo> AllParams();

// Exact, case-sensitive lookup. nullptr when no such built-in parameter.
const ParamInfo* FindParam(std::string_view name);

// A service-derived parameter: name = <master.cf service name> + suffix,
// default = "$" + default_param. Applies to services whose command (field 8)
// is one of `commands` (comma separated program names).
struct ServiceParamTemplate {
  std::string_view suffix;         // e.g. "_destination_concurrency_limit"
  std::string_view default_param;  // e.g. "default_destination_concurrency_limit"
  std::string_view commands;       // e.g. "local,error,virtual,smtp,lmtp,pipe"
};
absl::Span<const ServiceParamTemplate> ServiceParamTemplates();

std::string_view ParamTypeName(ParamType type);

}  // namespace posthaste::tables
