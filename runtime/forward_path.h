// forward_path.h: local(8)'s expansion of forward_path items.
//
// forward_path (default "$home/.forward${recipient_delimiter}${extension},
// $home/.forward") names the files the local agent tries, in order, for a
// user's forwarding list. Its items use delivery-time variables, not main.cf
// parameters: $user, $home, $recipient, $extension, $domain, $local and
// $recipient_delimiter, written $name or ${name}, plus ${name?text} (text
// when name has a value) and ${name:text} (text when it has none). An item
// that uses a variable without a value directly (no ? or :) is skipped,
// which is how "~/.forward+ext" is only tried for a recipient with an
// extension. Values are passed through forward_expansion_filter: any
// character not in it becomes '_'.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "runtime/macro_expand.h"

namespace posthaste::runtime {

// Variables with a value; a name absent from the map has none.
using ForwardVariables = MacroVariables;

// The expanded item, or nullopt when it is to be skipped (a variable with
// no value used directly, or a syntax error such as an unclosed "${").
std::optional<std::string> ExpandForwardItem(std::string_view item, const ForwardVariables& vars,
                                             std::string_view filter);

}  // namespace posthaste::runtime
