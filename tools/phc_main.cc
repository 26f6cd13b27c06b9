// phc_main.cc: the `phc` compiler and admin toolbox entry point.
//
// Dispatches `phc <command> ...` to the commands in tools/. Never part of the
// server binary.
#include <cstdio>
#include <string>
#include <vector>

#include "tools/commands.h"

namespace {

void Usage() {
  std::fputs(
      "usage: phc <command> [options]\n"
      "commands:\n"
      "  check [-c DIR] [--format=json] [--allow-unsupported]   validate a configuration\n"
      "  checks [-c DIR] [--message] < MESSAGE                  apply header/body checks to a message\n"
      "  conf [postconf options]                                 postconf work-alike\n"
      "  xref [-c DIR] PARAM... | --service NAME/TYPE | --unused parameter cross-reference\n"
      "  build [-c DIR] -o BUNDLE_DIR                           check, compile and publish a bundle\n"
      "  map [postmap options] [type:]file...                   postmap work-alike\n"
      "  alias [postalias options] [type:]file...               postalias work-alike\n"
      "  verify BUNDLE_DIR                                       check a published bundle\n"
      "  route [-c DIR | --bundle DIR] [-f SENDER] [-H HEADER]... RCPT...\n"
      "                                                          show how mail is routed\n",
      stderr);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    Usage();
    return 2;
  }
  std::vector<std::string> args(argv + 1, argv + argc);
  const std::string& command = args[0];
  if (command == "check") return posthaste::tools::CheckCommand(args);
  if (command == "checks") return posthaste::tools::ChecksCommand(args);
  if (command == "conf") return posthaste::tools::ConfCommand(args);
  if (command == "xref") return posthaste::tools::XrefCommand(args);
  if (command == "map") return posthaste::tools::MapCommand(args);
  if (command == "build") return posthaste::tools::BuildCommand(args);
  if (command == "alias") return posthaste::tools::AliasCommand(args);
  if (command == "verify") return posthaste::tools::VerifyCommand(args);
  if (command == "route") return posthaste::tools::RouteCommand(args);
  if (command == "-h" || command == "--help" || command == "help") {
    Usage();
    return 0;
  }
  std::fprintf(stderr, "phc: unknown command \"%s\"\n", command.c_str());
  Usage();
  return 2;
}
