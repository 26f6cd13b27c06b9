// macro_expand.h: Postfix's $name expansion in run-time templates.
//
// Some values are templates expanded when mail moves, with variables of the
// moment rather than main.cf parameters: forward_path items (local
// delivery) and DNS list reply templates (default_rbl_reply,
// rbl_reply_maps). The syntax is Postfix's: $name or ${name} (also
// $(name)), ${name?text} (text when name has a non-empty value),
// ${name:text} (text when it has none, else nothing), "$$" for a dollar;
// the texts may hold further expansions. Values (never the template's own
// text) pass through a character filter: any character not in `filter`
// becomes '_'.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace posthaste::runtime {

// Variables by name; a name absent from the map is undefined.
using MacroVariables = std::map<std::string, std::string, std::less<>>;

// What a direct $name of a variable with an empty value does.
enum class MacroEmpty {
  kUndefined,  // the expansion fails, as for an undefined name (forward_path)
  kText,       // it expands to nothing (DNS list replies)
};

// The expansion, or nullopt when it fails: an undefined name used directly,
// or a syntax error such as an unclosed "${".
std::optional<std::string> ExpandMacros(std::string_view text, const MacroVariables& vars,
                                        std::string_view filter, MacroEmpty empty);

}  // namespace posthaste::runtime
