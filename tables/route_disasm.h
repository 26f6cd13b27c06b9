// route_disasm.h: the disassembler of routing programs.
//
// Renders a RouteProgram (route_format.md) for people: the header settings,
// the constants (tables, table lists, domain lists, service source
// addresses), then each entry point's label and one line per instruction
// with its operands, the opcode's synopsis from route_ops.def and the origin
// of the setting it came from. Used by `phc route --disasm` and in test
// failure messages. Safe on unverified programs: out-of-range operands are
// printed as such, never dereferenced.
#pragma once

#include <string>

#include "tables/route_program.h"

namespace posthaste::tables {

std::string DisassembleRouteProgram(const RouteProgram& program);

}  // namespace posthaste::tables
