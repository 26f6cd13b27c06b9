// alias_list_fuzz.cc: fuzz target for the local agent's list parsers, which
// read .forward files written by local users, and for forward_path item
// expansion.
//
// Input: the bytes are a .forward file, and also one forward_path item.
// Checked: ForwardFileList has no line ends and no comment lines left;
// every element SplitAliasList returns is non-empty and trimmed; an address
// element has no line end; the expansion of the item, when there is one,
// never carries a character of a variable value that the filter excludes.
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
  // Values carry marker bytes outside the filter: they must come out
  // filtered (a marker in the result must come from the item's own text).
  ForwardVariables vars = {{"home", "/home/x\x01"}, {"user", "u\x02"}, {"extension", "e\x03"}};
  std::optional<std::string> path = ExpandForwardItem(text, vars, "abcdefghijklmnopqrstuvwxyz/_");
  if (path && text.find('$') == std::string_view::npos && *path != text) abort();
  if (path) {
    for (char marker : {'\x01', '\x02', '\x03'})
      if (path->find(marker) != std::string::npos && text.find(marker) == std::string_view::npos)
        abort();
  }
  return 0;
}
