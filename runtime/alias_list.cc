// alias_list.cc: aliases(5) and .forward destination lists.
#include "runtime/alias_list.h"

#include <cctype>

#include "absl/strings/ascii.h"

namespace posthaste::runtime {

// Splits an alias value on commas outside "quotes", <angle brackets> and
// (comments); elements are trimmed, empty ones dropped.
std::vector<std::string> SplitAliasList(std::string_view value) {
  std::vector<std::string> out;
  std::string cur;
  bool quoted = false;
  int angle = 0, paren = 0;
  auto flush = [&]() {
    std::string_view t = cur;
    while (!t.empty() && isspace(static_cast<unsigned char>(t.front()))) t.remove_prefix(1);
    while (!t.empty() && isspace(static_cast<unsigned char>(t.back()))) t.remove_suffix(1);
    if (!t.empty()) out.emplace_back(t);
    cur.clear();
  };
  for (size_t i = 0; i < value.size(); ++i) {
    char ch = value[i];
    if (quoted) {
      if (ch == '\\' && i + 1 < value.size()) {
        cur.push_back(ch);
        ch = value[++i];
      } else if (ch == '"') {
        quoted = false;
      }
    } else if (ch == '"') {
      quoted = true;
    } else if (ch == '<') {
      ++angle;
    } else if (ch == '>' && angle > 0) {
      --angle;
    } else if (ch == '(') {
      ++paren;
    } else if (ch == ')' && paren > 0) {
      --paren;
    } else if (ch == ',' && angle == 0 && paren == 0) {
      flush();
      continue;
    }
    cur.push_back(ch);
  }
  flush();
  return out;
}

AliasElement ClassifyElement(std::string_view e) {
  AliasElement out;
  std::string text(e);
  // A destination written in quotes ("|cmd args", "/path name").
  if (text.size() >= 2 && text.front() == '"' && text.back() == '"')
    text = text.substr(1, text.size() - 2);
  if (!text.empty() && text.front() == '|') {
    out.kind = ElementKind::kCommand;
    return out;
  }
  if (!text.empty() && text.front() == '/') {
    out.kind = ElementKind::kFile;
    return out;
  }
  if (absl::AsciiStrToLower(text.substr(0, 9)) == ":include:") {
    out.kind = ElementKind::kInclude;
    return out;
  }
  std::string addr(e);
  // "Name <user@domain>": the part in angle brackets.
  size_t lt = addr.find('<'), gt = addr.rfind('>');
  if (lt != std::string::npos && gt != std::string::npos && gt > lt)
    addr = addr.substr(lt + 1, gt - lt - 1);
  // "(comment)" parts are dropped.
  std::string plain;
  int depth = 0;
  for (char ch : addr) {
    if (ch == '(') ++depth;
    if (depth == 0) plain.push_back(ch);
    if (ch == ')' && depth > 0) --depth;
  }
  std::string_view t = plain;
  while (!t.empty() && isspace(static_cast<unsigned char>(t.front()))) t.remove_prefix(1);
  while (!t.empty() && isspace(static_cast<unsigned char>(t.back()))) t.remove_suffix(1);
  if (!t.empty() && t.front() == '\\') t.remove_prefix(1);  // "\user": no further aliasing
  // "local"@domain: quotes around the local part are syntax, not content.
  std::string unquoted;
  bool q = false;
  for (size_t i = 0; i < t.size(); ++i) {
    if (t[i] == '"') {
      q = !q;
      continue;
    }
    if (q && t[i] == '\\' && i + 1 < t.size()) ++i;
    unquoted.push_back(t[i]);
  }
  out.address = unquoted;
  return out;
}

std::string ForwardFileList(std::string_view text) {
  std::string joined;
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    std::string_view line =
        text.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start);
    size_t first = line.find_first_not_of(" \t\r");
    if (first != std::string_view::npos && line[first] != '#') {
      joined.append(line);
      joined.push_back(',');
    }
    if (nl == std::string_view::npos) break;
    start = nl + 1;
  }
  return joined;
}

}  // namespace posthaste::runtime
