// verify_command.cc: `phc verify BUNDLE_DIR`, check a published bundle.
//
// Runs the runtime's own loader (tables/bundle_loader.h) over the bundle:
// CURRENT, the MANIFEST's format version and hash, every artifact's size and
// SHA-256, and opening every table. Read-only; it never repairs anything.
// Exit 0 when the live generation verifies, 1 when the bundle is refused
// (the loader's message on stderr), 2 on bad usage.
#include <cstdio>
#include <string>
#include <vector>

#include "tables/bundle_loader.h"
#include "tools/commands.h"

namespace posthaste::tools {

int VerifyCommand(const std::vector<std::string>& argv) {
  if (argv.size() != 2 || argv[1].empty() || argv[1][0] == '-') {
    std::fputs("usage: phc verify BUNDLE_DIR\n", stderr);
    return 2;
  }
  const std::string& bundle_dir = argv[1];
  tables::Loader loader(bundle_dir);
  auto snapshot = loader.LoadCurrent();
  if (!snapshot.ok()) {
    std::fprintf(stderr, "phc verify: %s\n", std::string(snapshot.status().message()).c_str());
    return 1;
  }
  const tables::Snapshot& s = **snapshot;
  std::printf("%s: generation %s, %zu table%s, %zu service%s: ok\n", bundle_dir.c_str(),
              s.generation().c_str(), s.table_count(), s.table_count() == 1 ? "" : "s",
              s.services().size(), s.services().size() == 1 ? "" : "s");
  return 0;
}

}  // namespace posthaste::tools
