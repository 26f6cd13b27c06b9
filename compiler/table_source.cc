// table_source.cc: logical lines to table records.
#include "compiler/table_source.h"

#include <algorithm>
#include <vector>

#include "compiler/logical_lines.h"
#include "compiler/source.h"
#include "compiler/text.h"
#include "tables/casefold.h"

namespace posthaste::compiler {
namespace {

// Folds in place when the key is ASCII (the common case, no allocation).
void FoldInPlace(std::string* key, bool utf8) {
  bool ascii = true;
  for (char& c : *key) {
    if (static_cast<unsigned char>(c) >= 0x80) ascii = false;
    else if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  if (!ascii && utf8) *key = tables::FoldUtf8(*key).value_or(*key);
}

// Table files are quoted with every byte outside printable ASCII as '?'.
std::string Printable(std::string_view s) { return compiler::Printable(s, true); }

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

namespace {

// Handles one logical line; `t` is its text.
void HandleLine(const std::string& path, std::string_view t, int line,
                const TableSourceOptions& options, const TableSourceSink& sink,
                std::string* key_buffer, std::string* value_buffer) {
  auto where = [&] { return path + ", line " + std::to_string(line); };
  if (options.utf8 && !tables::IsValidUtf8(t)) {
    sink.warning(line, where() + ": non-UTF-8 input \"" + Printable(t) + "\" -- ignoring this line");
    return;
  }
  std::string_view key, value;
  if (options.syntax == TableSyntax::kAlias) {
    std::string k, v;
    if (!SplitAlias(t, &k, &v)) {
      sink.warning(line, where() + ": need name:value pair");
      return;
    }
    *key_buffer = std::move(k);
    *value_buffer = CanonicalAddressList(v);
    key = *key_buffer;
    value = *value_buffer;
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
      sink.warning(line, where() + ": unbalanced '\"' in '" + Printable(t) +
                             "' -- ignoring this line");
      return;
    }
    key_buffer->assign(t.data(), std::min(k, t.size()));
    value = TrimView(t.substr(std::min(k, t.size())));
    if (key_buffer->empty() || value.empty()) {
      sink.warning(line, where() + ": expected format: key whitespace value" +
                             (options.texthash ? " -- ignoring this line" : ""));
      return;
    }
    if (key_buffer->back() == ':')
      sink.warning(line, where() + ": record is in \"key: value\" format; is this an alias file?");
  }
  if (options.fold_case) FoldInPlace(key_buffer, options.utf8);
  sink.record(*key_buffer, value, line);
}

}  // namespace

void ScanTableSource(const std::string& path, const std::string& text,
                     const TableSourceOptions& options, const TableSourceSink& sink) {
  std::string key_buffer, value_buffer;
  auto stray = [&](std::string_view t, int line) {
    sink.warning(line, path + ": logical line must not start with whitespace: \"" + Printable(t) +
                           "\"");
  };
  if (text.size() < kLargeTableBytes) {
    // The grammar (grammar/TableSource.g4) decides the line structure.
    SourceSet sources;
    int id = sources.Add(path, text);
    LineStructure lines = ReadLogicalLinesWithGrammar(sources, id, ConfigGrammar::kTableSource);
    for (const LogicalLine& s : lines.strays) stray(s.text(), s.first_line());
    for (const LogicalLine& l : lines.entries)
      HandleLine(path, l.text(), l.first_line(), options, sink, &key_buffer, &value_buffer);
    return;
  }
  // Large tables: the same line rules without materializing the lines (the
  // splitter is checked against the grammar by tests and the fuzz target).
  std::string joined;
  int joined_line = 0;
  enum { kNone, kEntry, kStray } pending = kNone;
  auto flush = [&] {
    if (pending == kEntry)
      HandleLine(path, joined, joined_line, options, sink, &key_buffer, &value_buffer);
    if (pending == kStray) stray(joined, joined_line);
    pending = kNone;
  };
  bool seen_entry = false;
  size_t pos = 0;
  int number = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    std::string_view line(text.data() + pos, nl - pos);
    pos = nl + 1;
    ++number;
    size_t first = 0;
    while (first < line.size() && IsSpace(line[first]) && line[first] != '\n') ++first;
    if (first == line.size() || line[first] == '#') continue;  // blank or comment
    if (first == 0) {
      flush();
      joined.assign(line);
      joined_line = number;
      pending = kEntry;
      seen_entry = true;
    } else if (pending != kNone) {
      joined.append(line);
    } else if (!seen_entry) {
      joined.assign(line);
      joined_line = number;
      pending = kStray;
    }
  }
  flush();
}

ParsedTable ParseTableSource(const std::string& path, const std::string& text,
                             const TableSourceOptions& options) {
  ParsedTable out;
  TableSourceSink sink;
  sink.record = [&](std::string_view key, std::string_view value, int line) {
    out.records.push_back({std::string(key), std::string(value), line});
  };
  sink.warning = [&](int line, std::string w) { out.warnings.push_back({line, std::move(w)}); };
  ScanTableSource(path, text, options, sink);
  return out;
}

}  // namespace posthaste::compiler
