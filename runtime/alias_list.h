// alias_list.h: the destination lists of aliases(5) values and .forward
// files, as the local agent reads them.
//
// A list is comma-separated; commas inside "quotes", <angle brackets> and
// (comments) do not split it. Each element is an address ("Name <a@b>",
// "\user", "local"@domain), a command ("|..."), a file ("/..."), or an
// ":include:" list. A .forward file is such a list spread over lines, with
// lines starting with '#' ignored.
//
// SECURITY: a .forward file is written by a local user: the parsers here
// take any bytes and never fail (fuzz target tests/fuzz/alias_list_fuzz.cc).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace posthaste::runtime {

// Splits a list on commas outside quotes, angle brackets and comments;
// elements are trimmed, empty ones dropped.
std::vector<std::string> SplitAliasList(std::string_view value);

enum class ElementKind { kAddress, kCommand, kFile, kInclude };

struct AliasElement {
  ElementKind kind = ElementKind::kAddress;
  std::string address;  // kAddress: the address as written (no domain for a bare name)
};

// What one element of a list is; for an address, the bare address (angle
// brackets, comments, a leading backslash and local-part quotes removed).
AliasElement ClassifyElement(std::string_view element);

// A .forward file's contents as one list: '#' comment lines dropped, line
// ends turned into commas.
std::string ForwardFileList(std::string_view text);

}  // namespace posthaste::runtime
