// simple_agents_test.cc: discard, error and retry (error(8) under the
// service name "retry"), their DSN rules and soft_bounce.
#include "runtime/simple_agents.h"

#include "asio/co_spawn.hpp"
#include "asio/detached.hpp"
#include "asio/io_context.hpp"
#include "gtest/gtest.h"
#include "runtime/agent_support.h"
#include "tests/runtime/delivery_test_support.h"

namespace posthaste::runtime {
namespace {

using testing::BuildBundle;
using testing::Describe;
using testing::MakeRequest;
using testing::OutcomeFor;
using testing::TempDir;

const char kMaster[] =
    "cleanup unix n - n - 0 cleanup\n"
    "discard unix - - n - - discard\n"
    "error unix - - n - - error\n"
    "retry unix - - n - - error\n";

DeliveryRequest Request(std::shared_ptr<const tables::Snapshot> snap, const std::string& service,
                        const std::string& nexthop) {
  DeliveryRequest r =
      MakeRequest(std::move(snap), service, {"a@example.com", "b@example.com"}, "x\n");
  r.nexthop = nexthop;
  return r;
}

TEST(DsnSplit, RecognisesEnhancedStatusCodes) {
  EXPECT_TRUE(ValidDsn("5.1.1"));
  EXPECT_TRUE(ValidDsn("4.123.999"));
  EXPECT_FALSE(ValidDsn("3.1.1"));
  EXPECT_FALSE(ValidDsn("5.1"));
  EXPECT_FALSE(ValidDsn("5.1.1234"));
  EXPECT_FALSE(ValidDsn("5..1"));
  DsnText t = SplitDsn("5.1.1   mailbox unavailable");
  EXPECT_EQ(t.code, "5.1.1");
  EXPECT_EQ(t.text, "mailbox unavailable");
  t = SplitDsn("5.1.1x no code");
  EXPECT_EQ(t.code, "");
  EXPECT_EQ(t.text, "5.1.1x no code");
}

TEST(DiscardAgent, EveryRecipientIsSentWithTheNexthopAsReason) {
  TempDir dir;
  auto snap = BuildBundle(dir, "", kMaster);
  DeliveryResult r = DiscardAgent::DeliverNow(Request(snap, "discard/unix", "example.com"));
  EXPECT_EQ(r.relay, "none");
  ASSERT_EQ(r.outcomes.size(), 2u);
  EXPECT_EQ(Describe(OutcomeFor(r, 0)), "sent 2.0.0 example.com");
  EXPECT_EQ(Describe(OutcomeFor(r, 1)), "sent 2.0.0 example.com");
  r = DiscardAgent::DeliverNow(Request(snap, "discard/unix", "2.7.0 spam trap"));
  EXPECT_EQ(Describe(OutcomeFor(r, 0)), "sent 2.7.0 spam trap");
  r = DiscardAgent::DeliverNow(Request(snap, "discard/unix", "5.7.1 wrong class"));
  EXPECT_EQ(Describe(OutcomeFor(r, 0)), "sent 2.0.0 wrong class");
  r = DiscardAgent::DeliverNow(Request(snap, "discard/unix", ""));
  EXPECT_EQ(Describe(OutcomeFor(r, 0)), "sent 2.0.0 discarded");
}

TEST(ErrorAgent, BouncesWithTheNexthopAsReason) {
  TempDir dir;
  auto snap = BuildBundle(dir, "", kMaster);
  DeliveryResult r =
      ErrorAgent::DeliverNow(Request(snap, "error/unix", "5.1.1 mailbox unavailable"));
  EXPECT_EQ(r.relay, "none");
  EXPECT_EQ(Describe(OutcomeFor(r, 0)), "bounced 5.1.1 mailbox unavailable");
  EXPECT_EQ(Describe(OutcomeFor(r, 1)), "bounced 5.1.1 mailbox unavailable");
  r = ErrorAgent::DeliverNow(Request(snap, "error/unix", "User unknown in virtual alias table"));
  EXPECT_EQ(Describe(OutcomeFor(r, 0)), "bounced 5.0.0 User unknown in virtual alias table");
  r = ErrorAgent::DeliverNow(Request(snap, "error/unix", "4.2.2 not a bounce code"));
  EXPECT_EQ(Describe(OutcomeFor(r, 0)), "bounced 5.0.0 not a bounce code");
  r = ErrorAgent::DeliverNow(Request(snap, "error/unix", ""));
  EXPECT_EQ(Describe(OutcomeFor(r, 0)), "bounced 5.0.0 Address is undeliverable");
}

TEST(ErrorAgent, UnderTheRetryServiceDefers) {
  TempDir dir;
  auto snap = BuildBundle(dir, "", kMaster);
  DeliveryResult r = ErrorAgent::DeliverNow(Request(snap, "retry/unix", "4.4.1 try later"));
  EXPECT_EQ(Describe(OutcomeFor(r, 0)), "deferred 4.4.1 try later");
  r = ErrorAgent::DeliverNow(Request(snap, "retry/unix", "5.1.1 hard code"));
  EXPECT_EQ(Describe(OutcomeFor(r, 0)), "deferred 4.0.0 hard code");
  r = ErrorAgent::DeliverNow(Request(snap, "retry/unix", "plain text"));
  EXPECT_EQ(Describe(OutcomeFor(r, 1)), "deferred 4.0.0 plain text");
}

TEST(ErrorAgent, SoftBounceDefers) {
  TempDir dir;
  auto snap = BuildBundle(dir, "soft_bounce = yes\n", kMaster);
  DeliveryResult r = ErrorAgent::DeliverNow(Request(snap, "error/unix", "5.1.1 gone"));
  EXPECT_EQ(Describe(OutcomeFor(r, 0)), "deferred 4.1.1 gone");
}

TEST(SimpleAgents, DeliverAsCoroutines) {
  TempDir dir;
  auto snap = BuildBundle(dir, "", kMaster);
  asio::io_context io;
  DiscardAgent discard;
  ErrorAgent error;
  DeliveryResult d, e;
  DeliveryRequest dr = Request(snap, "discard/unix", "x");
  DeliveryRequest er = Request(snap, "error/unix", "5.0.0 no");
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        d = co_await discard.Deliver(dr);
        e = co_await error.Deliver(er);
      },
      asio::detached);
  io.run();
  EXPECT_EQ(d.outcomes.size(), 2u);
  EXPECT_EQ(Describe(OutcomeFor(e, 1)), "bounced 5.0.0 no");
}

}  // namespace
}  // namespace posthaste::runtime
