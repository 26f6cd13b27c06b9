// source.cc: keeps file text and splits it into lines for quoting.
#include "compiler/source.h"

namespace posthaste::compiler {

int SourceSet::Add(std::string path, std::string text) {
  auto file = std::make_unique<SourceFile>();
  file->path = std::move(path);
  file->text = std::move(text);
  std::string_view all = file->text;
  size_t start = 0;
  while (start < all.size()) {
    size_t nl = all.find('\n', start);
    if (nl == std::string_view::npos) nl = all.size();
    file->lines.push_back(all.substr(start, nl - start));
    start = nl + 1;
  }
  files_.push_back(std::move(file));
  return static_cast<int>(files_.size()) - 1;
}

std::string_view SourceSet::Line(int id, int line) const {
  if (id < 0 || id >= size()) return {};
  const SourceFile& f = *files_[id];
  if (line < 1 || line > static_cast<int>(f.lines.size())) return {};
  return f.lines[line - 1];
}

}  // namespace posthaste::compiler
