// main_cf.cc: logical lines to assignments.
#include "compiler/main_cf.h"
#include "compiler/text.h"

namespace posthaste::compiler {
namespace {

}  // namespace

std::optional<std::string> SplitNameValue(std::string_view text, std::string* name,
                                          std::string* value, size_t* value_offset,
                                          size_t* name_offset) {
  size_t np = 0;
  while (np < text.size() && IsSpace(text[np])) ++np;
  if (np == text.size() || text[np] == '=') return std::string("missing attribute name");
  size_t ep = np;
  while (ep < text.size() && !IsSpace(text[ep]) && text[ep] != '=') ++ep;
  size_t cp = ep;
  while (cp < text.size() && IsSpace(text[cp])) ++cp;
  if (cp == text.size() || text[cp] != '=') return std::string("missing '=' after attribute name");
  size_t vp = cp + 1;
  while (vp < text.size() && IsSpace(text[vp])) ++vp;
  size_t vend = text.size();
  while (vend > vp && IsSpace(text[vend - 1])) --vend;
  *name = std::string(text.substr(np, ep - np));
  *value = std::string(text.substr(vp, vend - vp));
  if (value_offset) *value_offset = vp;
  if (name_offset) *name_offset = np;
  return std::nullopt;
}

MainCf ParseMainCf(const SourceSet& sources, int file) {
  MainCf cf;
  cf.file = file;
  cf.path = sources.file(file).path;
  LineStructure lines = ReadLogicalLines(sources, file, ConfigGrammar::kMainCf);
  cf.strays = std::move(lines.strays);
  for (LogicalLine& line : lines.entries) {
    Assignment a;
    size_t value_offset = 0, name_offset = 0;
    std::optional<std::string> err =
        SplitNameValue(line.text(), &a.name, &a.value, &value_offset, &name_offset);
    if (err) {
      BadLine bad;
      bad.kind = (*err == "missing attribute name") ? BadLine::kEmptyName : BadLine::kMissingEquals;
      bad.text = line.text();
      bad.span = line.SpanAt(0, line.text().size());
      bad.line_number = line.first_line();
      cf.bad_lines.push_back(std::move(bad));
      continue;
    }
    a.value_offset = value_offset;
    a.name_span = line.SpanAt(name_offset, a.name.size());
    a.line_number = line.first_line();
    a.line = std::move(line);
    auto it = cf.effective.find(a.name);
    if (it != cf.effective.end()) cf.assignments[it->second].overridden = true;
    cf.effective[a.name] = cf.assignments.size();
    cf.assignments.push_back(std::move(a));
  }
  return cf;
}

}  // namespace posthaste::compiler
