// run_command.h: run a program in a child process and capture what it prints.
//
// Test support only. Used by golden tests that drive the real `phc` binary the
// way a user would (argv, stdin, exit status, stdout, stderr).
#pragma once

#include <string>
#include <vector>

namespace posthaste::testing {

struct CommandResult {
  int exit_code = -1;  // exit status, or 128+signal when killed by a signal
  std::string out;
  std::string err;
};

// Runs argv[0] with argv (no shell), feeding `input` on stdin. `cwd` empty =
// current directory. Never throws; a failure to start gives exit_code 127.
CommandResult RunCommand(const std::vector<std::string>& argv, const std::string& input = "",
                         const std::string& cwd = "");

}  // namespace posthaste::testing
