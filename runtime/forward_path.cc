// forward_path.cc: local(8)'s expansion of forward_path items.
#include "runtime/forward_path.h"

namespace posthaste::runtime {

std::optional<std::string> ExpandForwardItem(std::string_view item, const ForwardVariables& vars,
                                             std::string_view filter) {
  return ExpandMacros(item, vars, filter, MacroEmpty::kUndefined);
}

}  // namespace posthaste::runtime
