// master_cf_fuzz.cc: libFuzzer target for the master.cf parser.
//
// Parses the input as a master.cf file and touches what callers use from the
// model (fields of complete services, -o options). Any input must be accepted
// without crashing: problems are recorded in the model, never UB.
#include <cstddef>
#include <cstdint>
#include <string>

#include "compiler/master_cf.h"
#include "compiler/source.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace posthaste::compiler;
  SourceSet sources;
  int file = sources.Add("master.cf", std::string(reinterpret_cast<const char*>(data), size));
  MasterCf cf = ParseMasterCf(sources, file);
  for (const MasterService& s : cf.services) {
    if (!s.complete()) continue;
    (void)s.id();
    (void)s.process_name();
    for (int i = 0; i < kMasterFieldCount; ++i) (void)s.FieldSpan(i);
    for (const MasterOption& o : s.options) (void)s.FindOption(o.name);
  }
  return 0;
}
