// delivery_agents_test.cc: the runtime's agent registry serves exactly the
// agents the compiler treats as available (tables/delivery_agent_names.h).
#include "runtime/delivery_agents.h"

#include <gtest/gtest.h>

#include "asio/io_context.hpp"
#include "runtime/maillog.h"
#include "tables/delivery_agent_names.h"

namespace posthaste::runtime {
namespace {

TEST(DeliveryAgents, ServeEveryAgentTheCompilerCountsOnAndNoOther) {
  asio::io_context io;
  Maillog log;
  log.SetSink([](std::string_view) {}, true);
  DeliveryAgentsOptions options;
  options.dns_servers = {"127.0.0.1:53"};
  auto agents = DeliveryAgents::Create(io, &log, options);
  ASSERT_TRUE(agents.ok()) << agents.status();
  for (std::string_view name : tables::kDeliveryAgentNames)
    EXPECT_NE((*agents)->Find(name), nullptr) << name;
  for (std::string_view name : {"lmtp", "pipe", "spawn", "smtpd", ""})
    EXPECT_EQ((*agents)->Find(name), nullptr) << name;
  EXPECT_NE((*agents)->resolver(), nullptr);
}

}  // namespace
}  // namespace posthaste::runtime
