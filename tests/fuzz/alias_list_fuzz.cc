// alias_list_fuzz.cc: fuzz target for the local agent's list parsers, which
// read .forward files written by local users, and for forward_path item
// expansion.
//
// Input: the bytes are a .forward file, and also one forward_path item.
// Checked: ForwardFileList has no line ends and no comment lines left;
// every element SplitAliasList returns is non-empty and trimmed; an address
// element has no line end; the expansion of the item, when there is one,
// contains no character of a variable value outside the filter.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "runtime/alias_list.h"
#include "runtime/forward_path.h"

namespace {

using posthaste::runtime::AliasElement;
using posthaste::runtime::ClassifyElement;
using posthaste::runtime::ElementKind;
using posthaste::runtime::ExpandForwardItem;
using posthaste::runtime::ForwardFileList;
using posthaste::runtime::ForwardVariables;
using posthaste::runtime::SplitAliasList;

bool Space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::string list = ForwardFileList(text);
  if (list.find('\n') != std::string::npos) abort();
  for (const std::string& element : SplitAliasList(list)) {
    if (element.empty() || Space(element.front()) || Space(element.back())) abort();
    AliasElement e = ClassifyElement(element);
    if (e.kind == ElementKind::kAddress && e.address.find('\n') != std::string::npos) abort();
  }
  // A value with characters outside the filter must come out filtered.
  ForwardVariables vars = {{"home", "/home/x y;z"}, {"user", "u|v"}, {"extension", "e\nf"}};
  std::optional<std::string> path = ExpandForwardItem(text, vars, "abcdefghijklmnopqrstuvwxyz/_");
  if (path && text.find('$') == std::string_view::npos && *path != text) abort();
  if (path) {
    for (std::string_view bad : {"x y", "y;z", "u|v", "e\nf"})
      if (path->find(bad) != std::string::npos && text.find(bad) == std::string_view::npos) abort();
  }
  return 0;
}
