// route_verifier.h: the load-time verifier of routing programs.
//
// Runs on every program before it may execute, however it was obtained
// (decoded from a bundle, or compiled in memory by `phc route -c`), as
// libpcap checks a filter before running it. Accepts a program only if:
// every opcode is known and every operand fits its kind (registers < 8,
// string, table list and domain list ids in range, unused operands zero,
// flags limited to the opcode's bits); every jump goes forward and lands
// inside the code; the last instruction stops (halt or defer), so no path
// falls off the end; entry points, header ids and service rows are in range;
// every table id names a table of the program, and `table_exists` (when
// given) confirms that the bundle holds each named table; the alias
// expansion limits are within kMaxRecursionLimit / kMaxExpansionLimit.
// Together with forward-only jumps this bounds the work per recipient: at
// most code.size() instructions per entry, each with bounded lookups.
#pragma once

#include <functional>
#include <string_view>

#include "absl/status/status.h"
#include "tables/route_program.h"

namespace posthaste::tables {

// DataLoss with the first problem (instruction index when it is about one).
absl::Status VerifyRouteProgram(
    const RouteProgram& program,
    const std::function<bool(std::string_view table_name)>& table_exists = nullptr);

}  // namespace posthaste::tables
