// master_cf.h: the master.cf model: services with their fields and -o options.
//
// Lowering of grammar/MasterCf.g4 + grammar/MasterEntry.g4: each logical line
// becomes a MasterService with its words (brace groups kept whole), the eight
// standard fields, and the daemon arguments brought into canonical form the
// way Postfix shows them (`-o { name = value }` becomes `-o` `name=value`,
// braces stripped from other arguments, `-oname=value` split like getopt).
// Field validation is done by the caller (validation or the postconf
// work-alike) from the recorded words and spans.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "compiler/logical_lines.h"
#include "compiler/source.h"

namespace posthaste::compiler {

struct MasterWord {
  std::string text;
  size_t offset = 0;  // in the logical line
};

struct MasterOption {
  std::string name;
  std::string value;
  SourceSpan flag_span;   // the -o token
  SourceSpan name_span;   // the name inside name=value
  SourceSpan value_span;  // the value
  size_t value_offset = 0;  // offset of the value in the logical line
  bool attached = false;    // written as -oname=value
  bool braced = false;      // written as -o { name = value }
};

enum MasterField { kFieldService, kFieldType, kFieldPrivate, kFieldUnpriv, kFieldChroot,
                   kFieldWakeup, kFieldMaxproc, kFieldCommand, kMasterFieldCount };

struct MasterService {
  LogicalLine line;
  int line_number = 0;
  std::vector<MasterWord> words;    // as split, braces kept
  std::vector<std::string> argv;    // normalized: 8 fields then arguments
  std::vector<MasterOption> options;  // every well-formed -o name=value, in order
  // Problems found while normalizing arguments (bad-option class): span + text.
  struct Problem {
    SourceSpan span;
    std::string message;
  };
  std::vector<Problem> option_problems;
  std::vector<std::string> postconf_warnings;  // what postconf would warn while normalizing
  bool unbalanced_braces = false;
  SourceSpan unbalanced_span;

  bool complete() const { return words.size() >= kMasterFieldCount; }
  const std::string& field(int i) const { return argv[i]; }
  SourceSpan FieldSpan(int i) const {
    return line.SpanAt(words[i].offset, words[i].text.size());
  }
  std::string name() const { return argv[kFieldService]; }
  std::string type() const { return argv[kFieldType]; }
  std::string id() const { return argv[kFieldService] + "/" + argv[kFieldType]; }
  // basename of the command, Postfix's process_name.
  std::string process_name() const;
  // Postfix's service_name: the service name field.
  std::string service_name() const { return argv[kFieldService]; }
  // The value of `-o name=...` (last one wins), or nullptr.
  const MasterOption* FindOption(const std::string& name) const;
};

struct MasterCf {
  int file = -1;
  std::string path;
  std::vector<MasterService> services;
  std::vector<LogicalLine> strays;
};

// Strips one level of {} from `text` with surrounding blanks removed, as
// Postfix's extpar does. Returns nullopt and sets *error when malformed.
std::optional<std::string> ExtractBraced(std::string_view text, std::string* error);

MasterCf ParseMasterCf(const SourceSet& sources, int file);

}  // namespace posthaste::compiler
