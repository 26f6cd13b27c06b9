// main_cf_fuzz.cc: libFuzzer target for the main.cf parser.
//
// Parses the input as a main.cf file, then scans every assignment's value for
// `$name` references, the way validation does. Any input must be accepted
// without crashing: problems become BadLines or ExpandErrors, never UB.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "compiler/expand.h"
#include "compiler/main_cf.h"
#include "compiler/source.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace posthaste::compiler;
  SourceSet sources;
  int file = sources.Add("main.cf", std::string(reinterpret_cast<const char*>(data), size));
  MainCf cf = ParseMainCf(sources, file);
  for (const Assignment& a : cf.assignments) {
    std::vector<Reference> refs;
    ExpandResult r = ScanReferences(a.value, &refs);
    // Offsets reported for the top-level value must lie inside it.
    for (const Reference& ref : refs) {
      if (ref.dollar_offset != std::string::npos && ref.dollar_offset >= a.value.size()) {
        __builtin_trap();
      }
    }
    for (const ExpandError& e : r.errors) {
      if (e.offset != std::string::npos && e.offset > a.value.size()) __builtin_trap();
    }
    // Spans must be computable for the value.
    (void)a.ValueSpan();
  }
  return 0;
}
