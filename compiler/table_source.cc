// table_source.cc: logical lines to table records.
#include "compiler/table_source.h"

#include "compiler/logical_lines.h"
#include "compiler/source.h"
#include "tables/casefold.h"

namespace posthaste::compiler {
namespace {

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

std::string_view TrimView(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}
std::string Trim(std::string_view s) { return std::string(TrimView(s)); }

// Folds in place when the key is ASCII (the common case, no allocation).
void FoldInPlace(std::string* key, bool utf8) {
  bool ascii = true;
  for (char& c : *key) {
    if (static_cast<unsigned char>(c) >= 0x80) ascii = false;
    else if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  if (!ascii && utf8) *key = tables::FoldUtf8(*key).value_or(*key);
}

std::string Printable(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  return out;
}

// postalias: name up to an unquoted ':'; quotes removed from the name.
bool SplitAlias(std::string_view text, std::string* name, std::string* value) {
  std::string n;
  size_t i = 0;
  bool quoted = false;
  for (; i < text.size(); ++i) {
    char c = text[i];
    if (c == '"') {
      quoted = !quoted;
      continue;
    }
    if (c == '\\' && quoted && i + 1 < text.size()) {
      n.push_back(text[++i]);
      continue;
    }
    if (c == ':' && !quoted) break;
    n.push_back(c);
  }
  if (i >= text.size()) return false;
  *name = Trim(n);
  *value = Trim(text.substr(i + 1));
  return !name->empty();
}

}  // namespace

std::string FoldCase(std::string_view s) { return tables::FoldAscii(s); }

std::string FoldKey(std::string_view key, bool utf8) {
  if (!utf8) return tables::FoldAscii(key);
  return tables::FoldUtf8(key).value_or(tables::FoldAscii(key));
}

ParsedTable ParseTableSource(const std::string& path, const std::string& text,
                             const TableSourceOptions& options) {
  TableSyntax syntax = options.syntax;
  ParsedTable out;
  SourceSet sources;
  int id = sources.Add(path, text);
  LineStructure lines = ReadLogicalLines(sources, id, ConfigGrammar::kTableSource);
  for (const LogicalLine& stray : lines.strays)
    out.warnings.push_back({stray.first_line(),
                            path + ": logical line must not start with whitespace: \"" +
                                Printable(stray.text()) + "\""});
  for (const LogicalLine& line : lines.entries) {
    const std::string& t = line.text();
    std::string where = path + ", line " + std::to_string(line.first_line());
    TableRecord rec;
    rec.line = line.first_line();
    if (options.utf8 && !tables::IsValidUtf8(t)) {
      out.warnings.push_back(
          {rec.line, where + ": non-UTF-8 input \"" + Printable(t) + "\" -- ignoring this line"});
      continue;
    }
    if (syntax == TableSyntax::kAlias) {
      if (!SplitAlias(t, &rec.key, &rec.value)) {
        out.warnings.push_back({rec.line, where + ": need name:value pair"});
        continue;
      }
    } else {
      // The key ends at the first blank outside double quotes; a backslash
      // protects the next character. Quotes and backslashes stay in the key.
      size_t k = 0;
      bool quoted = false;
      while (k < t.size() && (quoted || !IsSpace(t[k]))) {
        if (t[k] == '\\' && k + 1 < t.size()) {
          k += 2;
          continue;
        }
        if (t[k] == '"') quoted = !quoted;
        ++k;
      }
      if (quoted) {
        out.warnings.push_back({rec.line, where + ": unbalanced '\"' in '" + Printable(t) +
                                              "' -- ignoring this line"});
        continue;
      }
      rec.key.assign(t, 0, k);
      rec.value = TrimView(std::string_view(t).substr(k));
      if (rec.key.empty() || rec.value.empty()) {
        out.warnings.push_back({rec.line, where + ": expected format: key whitespace value" +
                                              (options.texthash ? " -- ignoring this line" : "")});
        continue;
      }
      if (rec.key.back() == ':')
        out.warnings.push_back(
            {rec.line, where + ": record is in \"key: value\" format; is this an alias file?"});
    }
    if (options.fold_case) FoldInPlace(&rec.key, options.utf8);
    out.records.push_back(std::move(rec));
  }
  return out;
}

}  // namespace posthaste::compiler
