// commands.h: the `phc` subcommands, each a function from argv to exit status.
//
// tools/ sits on top of compiler/ and tables/: each command parses its own
// flags, drives the compiler, and prints. Exit status follows the project
// rule: 0 clean (warnings allowed), 1 configuration errors, 2 could not run
// (bad usage, unreadable files); `conf` follows postconf's statuses instead.
#pragma once

#include <string>
#include <vector>

namespace posthaste::tools {

// argv[0] is the subcommand name.
int CheckCommand(const std::vector<std::string>& argv);
int ChecksCommand(const std::vector<std::string>& argv);
int ConfCommand(const std::vector<std::string>& argv);
int XrefCommand(const std::vector<std::string>& argv);
int MapCommand(const std::vector<std::string>& argv);
int AliasCommand(const std::vector<std::string>& argv);
int BuildCommand(const std::vector<std::string>& argv);
int VerifyCommand(const std::vector<std::string>& argv);
int RouteCommand(const std::vector<std::string>& argv);

}  // namespace posthaste::tools
