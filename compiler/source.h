// source.h: configuration source files and spans inside them.
//
// The compiler's record of every file it read, kept so diagnostics can quote
// the offending line. A SourceSpan names a file by id plus a 1-based line and
// column (a tab counts as one column) and a length in bytes on that line.
// Model nodes carry SourceSpans; nothing here parses configuration.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace posthaste::compiler {

struct SourceSpan {
  int file = -1;  // index into SourceSet; -1 = no location
  int line = 0;   // 1-based
  int col = 0;    // 1-based
  int length = 0;
  bool valid() const { return file >= 0; }
};

struct SourceFile {
  std::string path;  // as the user gave it
  std::string text;
  std::vector<std::string_view> lines;  // into text, without newlines
};

class SourceSet {
 public:
  // Adds a file's contents; returns its id. Stable references.
  int Add(std::string path, std::string text);
  const SourceFile& file(int id) const { return *files_[id]; }
  int size() const { return static_cast<int>(files_.size()); }
  // The text of line `line` (1-based) of file `id`, or empty.
  std::string_view Line(int id, int line) const;

 private:
  std::vector<std::unique_ptr<SourceFile>> files_;
};

}  // namespace posthaste::compiler
