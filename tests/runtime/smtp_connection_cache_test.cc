// smtp_connection_cache_test: parking and taking outbound connections, and
// that a connection never changes event loops when the caller names its own.
#include "runtime/smtp_connection_cache.h"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>

#include "asio/io_context.hpp"

namespace posthaste::runtime {
namespace {

std::unique_ptr<SmtpConnection> OpenConnection(asio::io_context& io, const std::string& addr) {
  auto c = std::make_unique<SmtpConnection>(io.get_executor(), 2048);
  c->socket.open(asio::ip::tcp::v4());
  c->addr = addr;
  return c;
}

TEST(SmtpConnectionCache, TakesTheMostRecentAndOnlyFromTheCallersLoopWhenAsked) {
  asio::io_context loop_a, loop_b;
  SmtpConnectionCache cache(loop_a.get_executor());
  auto expiry = std::chrono::steady_clock::now() + std::chrono::minutes(5);
  cache.Put("smtp:example.com", OpenConnection(loop_a, "192.0.2.1"), absl::Seconds(2), expiry);
  cache.Put("smtp:example.com", OpenConnection(loop_a, "192.0.2.2"), absl::Seconds(2), expiry);
  EXPECT_EQ(cache.size(), 2u);

  EXPECT_EQ(cache.Take("smtp:example.com", loop_b.get_executor()), nullptr)
      << "a connection of another loop is not handed over";
  EXPECT_EQ(cache.Take("smtp:other.example", loop_a.get_executor()), nullptr);

  std::unique_ptr<SmtpConnection> c = cache.Take("smtp:example.com", loop_a.get_executor());
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->addr, "192.0.2.2");  // the most recently parked
  c = cache.Take("smtp:example.com");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->addr, "192.0.2.1");
  EXPECT_EQ(cache.size(), 0u);
}

TEST(SmtpConnectionCache, ClosedOrExpiredConnectionsAreNotParked) {
  asio::io_context loop;
  SmtpConnectionCache cache(loop.get_executor());
  auto now = std::chrono::steady_clock::now();
  auto closed = std::make_unique<SmtpConnection>(loop.get_executor(), 2048);
  cache.Put("k", std::move(closed), absl::Seconds(2), now + std::chrono::minutes(1));
  cache.Put("k", OpenConnection(loop, "192.0.2.3"), absl::Seconds(2), now - std::chrono::seconds(1));
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_EQ(cache.Take("k"), nullptr);
}

}  // namespace
}  // namespace posthaste::runtime
