// route_codegen.h: the code generator: RouteModel -> RouteProgram.
//
// The emit step for routing (STYLE.md §1): lays out the three entry points
// of tables/route_format.md §4 (sender and recipient rewriting for cleanup,
// resolution for the queue manager) as forward-only bytecode, with the
// model's strings, tables, domain lists and per-service source addresses as
// constants, and each deciding instruction tagged with the origin of its
// setting. Settings that are empty produce no code (no relayhost, no
// transport_maps, ...). The result passes tables::VerifyRouteProgram by
// construction; callers verify anyway. Deterministic: the same model gives
// the same bytes.
#pragma once

#include "compiler/route_model.h"
#include "tables/route_program.h"

namespace posthaste::compiler {

tables::RouteProgram GenerateRouteProgram(const RouteModel& model);

}  // namespace posthaste::compiler
