// casefold.h: case folding of lookup keys, as Postfix folds them.
//
// With SMTPUTF8 enabled (smtputf8_enable = yes, the default from
// compatibility_level 1 on) Postfix folds table keys with Unicode full case
// folding (ICU: "Straße" becomes "strasse") and refuses input that is not
// valid UTF-8; otherwise only ASCII letters are lowered. Both the table
// builders and the runtime's lookups use these, so keys always meet.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace posthaste::tables {

std::string FoldAscii(std::string_view s);
// nullopt when `s` is not valid UTF-8.
std::optional<std::string> FoldUtf8(std::string_view s);
bool IsValidUtf8(std::string_view s);

}  // namespace posthaste::tables
