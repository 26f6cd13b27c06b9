// param_docs.h: renders the parameter registry as Markdown (tables/params.md).
//
// Bottom layer (tables/). A generated view of the rows in params.def, used by
// tests/tables/param_registry_test.cc to keep tables/params.md in step with
// the registry (POSTHASTE_REGEN=1 rewrites the file). Pure function of the
// compiled-in rows: no I/O, deterministic output.
#pragma once

#include <string>

namespace posthaste::tables {

// The whole of tables/params.md: a short preamble, then one table row per
// parameter in registry (name) order.
std::string RenderParamsMarkdown();

}  // namespace posthaste::tables
