// delivery_agent_names.h: the delivery agents posthasted runs, by the
// Postfix daemon name a master.cf transport gives as its command.
//
// The compiler refuses configurations that route mail to a transport whose
// agent is not among these (phc check: unsupported-transport), since
// posthasted would leave that mail deferred; the runtime's agent registry
// (runtime/delivery_agents.cc) serves exactly these names.
#pragma once

#include <array>
#include <string_view>

namespace posthaste::tables {

inline constexpr std::array<std::string_view, 5> kDeliveryAgentNames = {"smtp", "local", "virtual",
                                                                         "discard", "error"};

inline bool PosthastedRunsAgent(std::string_view process_name) {
  for (std::string_view n : kDeliveryAgentNames)
    if (n == process_name) return true;
  return false;
}

}  // namespace posthaste::tables
