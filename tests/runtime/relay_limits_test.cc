// Scheduling limits observed at a real SMTP peer: the destination
// concurrency limit caps the transactions open at once, and a destination
// rate delay spaces the deliveries out, as Postfix's queue manager does.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

#include "tests/support/posthasted_harness.h"
#include "tests/support/scripted_smtp_server.h"

namespace posthaste::testing {
namespace {

using Clock = std::chrono::steady_clock;

struct Observed {
  std::mutex mu;
  int open = 0, max_open = 0, done = 0;
  std::vector<Clock::time_point> starts;
};

// A destination that holds each transaction for `hold_ms` and records how
// many were open at once.
void Observe(ScriptedSmtpServer& peer, Observed* seen, int hold_ms) {
  peer.SetHandler([seen, hold_ms](const std::string& command, int) -> std::optional<std::string> {
    if (command.rfind("MAIL FROM:", 0) == 0) {
      {
        std::lock_guard<std::mutex> lock(seen->mu);
        seen->max_open = std::max(seen->max_open, ++seen->open);
        seen->starts.push_back(Clock::now());
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(hold_ms));
    }
    if (command == ".") {
      std::lock_guard<std::mutex> lock(seen->mu);
      --seen->open;
      ++seen->done;
    }
    return std::nullopt;
  });
}

void SendMany(int port, int n) {
  SmtpTestClient c(port);
  c.Reply();
  c.Command("EHLO load.example");
  for (int i = 0; i < n; ++i) {
    c.Command("MAIL FROM:<load@example.com>");
    c.Command("RCPT TO:<rcpt" + std::to_string(i) + "@dest.example>");
    c.Command("DATA");
    c.Send("Subject: limits " + std::to_string(i) + "\r\n\r\nx\r\n");
    ASSERT_EQ(Code(c.Command(".")), "250");
  }
  c.Command("QUIT");
}

bool WaitDone(Observed& seen, int n) {
  for (int i = 0; i < 400; ++i) {
    {
      std::lock_guard<std::mutex> lock(seen.mu);
      if (seen.done >= n) return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

std::string Config(int port, const std::string& extra) {
  return "myhostname = mx.example.com\nmydestination = localhost\ninet_interfaces = 127.0.0.1\n"
         "mynetworks = 127.0.0.0/8\nrelayhost = [127.0.0.1]:" + std::to_string(port) + "\n" + extra;
}

TEST(RelayLimits, DestinationConcurrencyLimitHoldsAtThePeer) {
  ScriptedSmtpServer peer;
  ASSERT_TRUE(peer.ok());
  Observed seen;
  Observe(peer, &seen, 300);
  PosthastedHarness server;
  HarnessConfig config;
  config.main_cf = Config(peer.port(),
                          "smtp_destination_concurrency_limit = 3\n"
                          // (A recipient limit of 1 would make each recipient its own
                          // destination, as in Postfix.)
                          "initial_destination_concurrency = 3\n");
  ASSERT_EQ(server.Build(config), "");
  ASSERT_TRUE(server.Start()) << server.log();
  SendMany(server.port(), 12);
  ASSERT_TRUE(WaitDone(seen, 12)) << server.log();
  EXPECT_EQ(seen.max_open, 3);
}

TEST(RelayLimits, RateDelaySpacesDeliveries) {
  ScriptedSmtpServer peer;
  ASSERT_TRUE(peer.ok());
  Observed seen;
  Observe(peer, &seen, 0);
  PosthastedHarness server;
  HarnessConfig config;
  config.main_cf = Config(peer.port(), "smtp_destination_rate_delay = 1s\n");
  ASSERT_EQ(server.Build(config), "");
  ASSERT_TRUE(server.Start()) << server.log();
  SendMany(server.port(), 4);
  ASSERT_TRUE(WaitDone(seen, 4)) << server.log();
  EXPECT_EQ(seen.max_open, 1);
  std::sort(seen.starts.begin(), seen.starts.end());
  for (size_t i = 1; i < seen.starts.size(); ++i) {
    auto gap = std::chrono::duration_cast<std::chrono::milliseconds>(seen.starts[i] - seen.starts[i - 1]);
    EXPECT_GE(gap.count(), 900) << "delivery " << i << " came " << gap.count() << " ms after the previous one";
  }
}

}  // namespace
}  // namespace posthaste::testing
