// config_set.h: one configuration directory loaded and parsed: main.cf + master.cf.
//
// The entry point of the front end. Reads DIR/main.cf and DIR/master.cf into
// a SourceSet (so diagnostics can quote them), parses both, and builds the
// ParamSpace. Reading is the only I/O; nothing is validated here.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "compiler/main_cf.h"
#include "compiler/master_cf.h"
#include "compiler/param_space.h"
#include "compiler/source.h"

namespace posthaste::compiler {

struct ConfigSet {
  std::string dir;  // as given, without trailing slash
  // Every file read; table files referenced by the configuration are added
  // when validation reads them, so diagnostics can quote them too.
  mutable SourceSet sources;
  std::optional<MainCf> main_cf;      // absent when main.cf could not be read
  std::optional<MasterCf> master_cf;  // absent when master.cf could not be read
  std::string main_error;             // strerror text when main.cf could not be read
  std::string master_error;
  SourceSpan main_file_span;    // the file itself (no line), for I/O errors
  SourceSpan master_file_span;
  std::unique_ptr<ParamSpace> params;
};

// Reads a whole file. Returns false and sets *error (strerror text) on failure.
bool ReadFile(const std::string& path, std::string* text, std::string* error);

// Loads DIR. `overrides` are command-line name=value pairs. With
// `dir_is_config_directory`, config_directory takes the value DIR unless
// main.cf sets it (as `postconf -c DIR` does).
std::unique_ptr<ConfigSet> LoadConfig(
    const std::string& dir, std::vector<std::pair<std::string, std::string>> overrides = {},
    bool dir_is_config_directory = false);

}  // namespace posthaste::compiler
