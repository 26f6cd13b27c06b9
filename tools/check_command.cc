// check_command.cc: `phc check [-c DIR] [--format=json] [--allow-unsupported]`.
//
// Validates a whole configuration directory and prints every diagnostic:
// text on stderr (compiler style, with a summary line) or a JSON array on
// stdout. Exit 0 clean (warnings allowed), 1 errors, 2 could not run.
#include <cstdio>
#include <iostream>

#include "compiler/config_set.h"
#include "compiler/diagnostics.h"
#include "compiler/validate.h"
#include "tools/commands.h"

namespace posthaste::tools {

int CheckCommand(const std::vector<std::string>& argv) {
  std::string dir = "/etc/postfix";
  bool json = false;
  compiler::ValidateOptions options;
  for (size_t i = 1; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (a == "-c" && i + 1 < argv.size()) {
      dir = argv[++i];
    } else if (a.rfind("-c", 0) == 0 && a.size() > 2) {
      dir = a.substr(2);
    } else if (a == "--format=json") {
      json = true;
    } else if (a == "--format=text") {
      json = false;
    } else if (a == "--allow-unsupported") {
      options.allow_unsupported = true;
    } else {
      std::fprintf(stderr, "phc check: unknown argument \"%s\"\n", a.c_str());
      std::fputs("usage: phc check [-c DIR] [--format=json] [--allow-unsupported]\n", stderr);
      return 2;
    }
  }
  auto config = compiler::LoadConfig(dir, {}, true);
  compiler::DiagnosticSink sink(&config->sources);
  compiler::Validate(*config, options, &sink);
  bool could_not_run = !config->main_cf;
  if (json) {
    std::cout << sink.RenderJson();
  } else {
    std::cerr << sink.RenderText();
    std::cerr << dir << ": " << sink.errors() << " error" << (sink.errors() == 1 ? "" : "s")
              << ", " << sink.warnings() << " warning" << (sink.warnings() == 1 ? "" : "s")
              << "\n";
  }
  if (could_not_run) return 2;
  return sink.HasErrors() ? 1 : 0;
}

}  // namespace posthaste::tools
