// table_source.cc: logical lines to table records.
#include "compiler/table_source.h"

#include <algorithm>
#include <vector>

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
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) c = '?';
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
  return !name->empty() && !value->empty();
}

// postalias stores values as RFC 822 address lists re-written in canonical
// form: atoms, "quoted strings" and (comments) kept, blanks collapsed,
// backslash escapes resolved, ", " after every comma, no blanks around the
// other specials except before '<'.
std::string CanonicalAddressList(std::string_view v) {
  enum Kind { kWord, kSpecial };
  struct Token {
    Kind kind;
    std::string text;
  };
  std::vector<Token> tokens;
  const std::string_view specials = "()<>@,;:\\\".[]";
  size_t i = 0;
  while (i < v.size()) {
    char c = v[i];
    if (IsSpace(c)) {
      ++i;
      continue;
    }
    if (c == '"') {  // quoted string, kept with its quotes
      size_t j = i + 1;
      while (j < v.size() && v[j] != '"') j += (v[j] == '\\' && j + 1 < v.size()) ? 2 : 1;
      size_t end = std::min(j + 1, v.size());
      tokens.push_back({kWord, std::string(v.substr(i, end - i))});
      i = end;
      continue;
    }
    if (c == '(') {  // comment, nested parentheses allowed, kept as is
      int depth = 0;
      size_t j = i;
      for (; j < v.size(); ++j) {
        if (v[j] == '\\' && j + 1 < v.size()) {
          ++j;
          continue;
        }
        if (v[j] == '(') ++depth;
        if (v[j] == ')' && --depth == 0) break;
      }
      size_t end = std::min(j + 1, v.size());
      tokens.push_back({kWord, std::string(v.substr(i, end - i))});
      i = end;
      continue;
    }
    if (c == '[') {  // domain literal
      size_t j = v.find(']', i);
      size_t end = j == std::string_view::npos ? v.size() : j + 1;
      tokens.push_back({kWord, std::string(v.substr(i, end - i))});
      i = end;
      continue;
    }
    if (specials.find(c) != std::string_view::npos && c != '\\') {
      tokens.push_back({kSpecial, std::string(1, c)});
      ++i;
      continue;
    }
    std::string atom;
    while (i < v.size() && !IsSpace(v[i]) &&
           (specials.find(v[i]) == std::string_view::npos || v[i] == '\\')) {
      if (v[i] == '\\' && i + 1 < v.size()) ++i;
      atom.push_back(v[i++]);
    }
    tokens.push_back({kWord, atom});
  }
  std::string out;
  for (size_t t = 0; t < tokens.size(); ++t) {
    if (t > 0) {
      const Token& prev = tokens[t - 1];
      const Token& cur = tokens[t];
      bool space = prev.text == "," ||
                   (prev.kind == kWord && (cur.kind == kWord || cur.text == "<")) ||
                   (prev.text == ">" && cur.kind == kWord);
      if (space) out.push_back(' ');
    }
    out += tokens[t].text;
  }
  return out;
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
      rec.value = CanonicalAddressList(rec.value);
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
