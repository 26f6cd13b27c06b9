// macro_expand.cc: see macro_expand.h.
#include "runtime/macro_expand.h"

#include <cctype>

namespace posthaste::runtime {

namespace {

bool NameChar(char c) { return isalnum(static_cast<unsigned char>(c)) || c == '_'; }

std::string Filtered(std::string_view value, std::string_view filter) {
  std::string out(value);
  for (char& c : out)
    if (filter.find(c) == std::string_view::npos) c = '_';
  return out;
}

// Appends the expansion of `text` to `out`; false when it cannot be
// expanded (see macro_expand.h).
bool Expand(std::string_view text, const MacroVariables& vars, std::string_view filter,
            MacroEmpty empty, int depth, std::string* out) {
  if (depth > 10) return false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c != '$') {
      out->push_back(c);
      continue;
    }
    if (i + 1 >= text.size()) return false;
    if (text[i + 1] == '$') {  // "$$" is a literal dollar
      out->push_back('$');
      ++i;
      continue;
    }
    std::string name;
    std::optional<std::string_view> alternative;
    char mode = 0;  // '?' or ':' with an alternative text
    if (text[i + 1] == '{' || text[i + 1] == '(') {
      char close = text[i + 1] == '{' ? '}' : ')';
      size_t start = i + 2, j = start;
      while (j < text.size() && NameChar(text[j])) ++j;
      name = std::string(text.substr(start, j - start));
      if (j < text.size() && (text[j] == '?' || text[j] == ':')) {
        mode = text[j];
        int nest = 1;
        size_t k = j + 1;
        for (; k < text.size(); ++k) {
          if (text[k] == '{' || text[k] == '(') ++nest;
          if ((text[k] == '}' || text[k] == ')') && --nest == 0) break;
        }
        if (k >= text.size() || text[k] != close) return false;
        alternative = text.substr(j + 1, k - j - 1);
        j = k;
      } else if (j >= text.size() || text[j] != close) {
        return false;
      }
      i = j;
    } else {
      size_t j = i + 1;
      while (j < text.size() && NameChar(text[j])) ++j;
      name = std::string(text.substr(i + 1, j - i - 1));
      i = j - 1;
    }
    if (name.empty()) return false;
    auto it = vars.find(name);
    bool has_value = it != vars.end() && !it->second.empty();
    if (mode == '?') {
      if (has_value && !Expand(*alternative, vars, filter, empty, depth + 1, out)) return false;
    } else if (mode == ':') {
      // The text when the name is empty, and nothing otherwise (not the
      // value: a live Postfix 3.7 expands "(${rbl_reason:none})" to "()"
      // for a listed domain with a reason).
      if (!has_value && !Expand(*alternative, vars, filter, empty, depth + 1, out)) return false;
    } else {
      if (it == vars.end()) return false;
      if (!has_value && empty == MacroEmpty::kUndefined) return false;
      out->append(Filtered(it->second, filter));
    }
  }
  return true;
}

}  // namespace

std::optional<std::string> ExpandMacros(std::string_view text, const MacroVariables& vars,
                                        std::string_view filter, MacroEmpty empty) {
  std::string out;
  if (!Expand(text, vars, filter, empty, 0, &out)) return std::nullopt;
  return out;
}

}  // namespace posthaste::runtime
