// qmgr_scheduler_test.cc: the queue manager's pure scheduling: jobs per
// destination and recipient limit, slow start and its limit, negative
// feedback and dead destinations, rate delay, round-robin fairness, the
// process limit, removal of a message's waiting jobs.
#include "runtime/qmgr_scheduler.h"

#include <gtest/gtest.h>

#include <map>

namespace posthaste::runtime {
namespace {

constexpr int64_t kSec = 1'000'000;

class SchedulerTest : public testing::Test {
 protected:
  Scheduler MakeScheduler() {
    return Scheduler([this](std::string_view t) {
      auto it = limits_.find(std::string(t));
      return it == limits_.end() ? TransportLimits() : it->second;
    });
  }
  static std::vector<RecipientRoute> Routes(std::string_view transport, std::string_view nexthop,
                                            int n, uint32_t first = 0) {
    std::vector<RecipientRoute> out;
    for (int i = 0; i < n; ++i) {
      out.push_back({first + i, std::string(transport), std::string(nexthop),
                     "u" + std::to_string(first + i) + "@" + std::string(nexthop), "", ""});
    }
    return out;
  }
  std::map<std::string, TransportLimits> limits_;
};

TEST_F(SchedulerTest, GroupsRecipientsIntoJobsOfTheRecipientLimit) {
  limits_["smtp"].recipient_limit = 3;
  Scheduler s = MakeScheduler();
  auto routes = Routes("smtp", "example.com", 7);
  auto more = Routes("smtp", "example.net", 2, 7);
  routes.insert(routes.end(), more.begin(), more.end());
  Scheduler::AddResult r = s.Add("MSG1", routes);
  EXPECT_EQ(r.jobs, 4u);  // 3 + 3 + 1 to example.com, 2 to example.net
  EXPECT_TRUE(r.suspended.empty());
  std::map<std::string, std::vector<size_t>> sizes;
  while (auto job = s.Next(0)) sizes[job->nexthop].push_back(job->recipients.size());
  EXPECT_EQ(sizes["example.com"], (std::vector<size_t>{3, 3, 1}));
  EXPECT_EQ(sizes["example.net"], (std::vector<size_t>{2}));
  EXPECT_EQ(s.started(), 4u);
  EXPECT_EQ(s.waiting(), 0u);
}

TEST_F(SchedulerTest, OneDestinationPerNexthopIgnoringCaseWithTheFirstSpelling) {
  Scheduler s = MakeScheduler();
  std::vector<RecipientRoute> routes = {{0, "smtp", "Example.COM", "a@example.com", "", ""},
                                        {1, "smtp", "example.com", "b@example.com", "", ""}};
  s.Add("M", routes);
  auto job = s.Next(0);
  ASSERT_TRUE(job);
  EXPECT_EQ(job->nexthop, "Example.COM");
  EXPECT_EQ(job->recipients.size(), 2u);
}

TEST_F(SchedulerTest, RecipientLimitOneMakesEachRecipientItsOwnDestination) {
  limits_["local"].recipient_limit = 1;
  limits_["local"].concurrency_limit = 2;
  Scheduler s = MakeScheduler();
  // Three messages to the same mailbox, one to another.
  for (int m = 0; m < 3; ++m) {
    s.Add("M" + std::to_string(m), {{0, "local", "host", "alice@host", "", ""}});
  }
  s.Add("M9", {{0, "local", "host", "bob@host", "", ""}});
  int alice = 0, bob = 0;
  while (auto job = s.Next(0)) (job->message_id == "M9" ? bob : alice)++;
  EXPECT_EQ(alice, 2) << "concurrency limit per recipient";
  EXPECT_EQ(bob, 1);
}

TEST_F(SchedulerTest, SlowStartGrowsTheWindowUpToTheLimit) {
  limits_["smtp"].initial_concurrency = 2;
  limits_["smtp"].concurrency_limit = 4;
  limits_["smtp"].recipient_limit = 1;
  Scheduler s = MakeScheduler();
  std::vector<RecipientRoute> routes;
  for (uint32_t i = 0; i < 40; ++i) routes.push_back({i, "smtp", "x", "u@x", "", ""});
  // recipient limit 1 makes per-recipient destinations; use one recipient
  // address so all share a destination.
  for (uint32_t i = 0; i < 40; ++i) s.Add("M" + std::to_string(i), {routes[i]});
  std::vector<uint64_t> running;
  while (auto job = s.Next(0)) running.push_back(job->id);
  EXPECT_EQ(running.size(), 2u) << "initial concurrency";
  // One success: the window grows by one, and two more can start.
  s.Done(running.back(), {}, 0);
  running.pop_back();
  while (auto job = s.Next(0)) running.push_back(job->id);
  EXPECT_EQ(running.size(), 3u);
  // Many successes: never beyond the limit.
  size_t peak = 0;
  for (int round = 0; round < 20 && !running.empty(); ++round) {
    s.Done(running.back(), {}, 0);
    running.pop_back();
    while (auto job = s.Next(0)) running.push_back(job->id);
    peak = std::max(peak, running.size());
  }
  EXPECT_EQ(peak, 4u);
  auto info = s.Inspect("smtp", "x");
  ASSERT_FALSE(info);  // per-recipient destination: keyed by recipient too
}

TEST_F(SchedulerTest, FailedCohortsKillTheDestinationAndTickRevivesIt) {
  limits_["smtp"].initial_concurrency = 2;
  limits_["smtp"].recipient_limit = 1;
  limits_["smtp"].failed_cohort_limit = 1;
  limits_["smtp"].dead_micros = 60 * kSec;
  Scheduler s = MakeScheduler();
  for (uint32_t i = 0; i < 6; ++i)
    s.Add("M" + std::to_string(i), {{0, "smtp", "dead.example", "u@dead.example", "", ""}});
  auto a = s.Next(0), b = s.Next(0);
  ASSERT_TRUE(a && b);
  EXPECT_FALSE(s.Next(0));
  Scheduler::Feedback fail{true, "connect to dead.example[192.0.2.1]:25: Connection refused",
                           "4.4.1"};
  // Window 2: a failure is half a failed cohort; the window shrinks to 1.
  Scheduler::DoneResult r1 = s.Done(a->id, fail, 10 * kSec);
  EXPECT_TRUE(r1.suspended.empty());
  // At window 1 the next failure completes the cohort: dead, and the four
  // waiting jobs come back.
  Scheduler::DoneResult r2 = s.Done(b->id, fail, 11 * kSec);
  EXPECT_EQ(r2.suspended.size(), 4u);
  EXPECT_EQ(
      r2.suspended_reason,
      "delivery temporarily suspended: connect to dead.example[192.0.2.1]:25: Connection refused");
  EXPECT_EQ(s.waiting(), 0u);
  // New mail for it is suspended at once.
  Scheduler::AddResult added = s.Add("M7", {{0, "smtp", "dead.example", "u@dead.example", "", ""}});
  EXPECT_EQ(added.jobs, 0u);
  ASSERT_EQ(added.suspended.size(), 1u);
  EXPECT_EQ(added.suspended[0].dsn, "4.4.1");
  EXPECT_EQ(s.NextWakeup(), 71 * kSec);
  s.Tick(70 * kSec);
  EXPECT_EQ(s.Add("M8", {{0, "smtp", "dead.example", "u@dead.example", "", ""}}).jobs, 0u);
  s.Tick(71 * kSec);
  EXPECT_EQ(s.Add("M9", {{0, "smtp", "dead.example", "u@dead.example", "", ""}}).jobs, 1u);
  EXPECT_TRUE(s.Next(72 * kSec));
}

TEST_F(SchedulerTest, RateDelayMeansOneAtATimeWithAPause) {
  limits_["slow"].rate_delay_micros = 5 * kSec;
  limits_["slow"].recipient_limit = 1;
  Scheduler s = MakeScheduler();
  for (uint32_t i = 0; i < 3; ++i)
    s.Add("M" + std::to_string(i), {{0, "slow", "x", "u@x", "", ""}});
  auto a = s.Next(0);
  ASSERT_TRUE(a);
  EXPECT_FALSE(s.Next(0)) << "one at a time";
  s.Done(a->id, {}, 10 * kSec);
  EXPECT_FALSE(s.Next(14 * kSec)) << "pause after each delivery";
  EXPECT_EQ(s.NextWakeup(), 15 * kSec);
  auto b = s.Next(15 * kSec);
  ASSERT_TRUE(b);
  EXPECT_FALSE(s.Next(15 * kSec));
}

TEST_F(SchedulerTest, TransportRateDelaySpacesDeliveriesAcrossDestinations) {
  // default/<transport>_transport_rate_delay: one delivery at a time on the
  // whole transport, whatever the destination, with the pause after each;
  // other transports are not held up.
  limits_["bulk"].transport_rate_delay_micros = 5 * kSec;
  Scheduler s = MakeScheduler();
  s.Add("A", {{0, "bulk", "a.example", "u@a.example", "", ""}});
  s.Add("B", {{0, "bulk", "b.example", "u@b.example", "", ""}});
  s.Add("C", {{0, "smtp", "c.example", "u@c.example", "", ""}});
  auto first = s.Next(0);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->transport, "bulk");
  auto other = s.Next(0);
  ASSERT_TRUE(other);
  EXPECT_EQ(other->transport, "smtp") << "another transport is not held up";
  EXPECT_FALSE(s.Next(0)) << "the second bulk destination waits for the first delivery";
  s.Done(first->id, {}, 2 * kSec);
  EXPECT_FALSE(s.Next(6 * kSec)) << "pause after each delivery";
  EXPECT_EQ(s.NextWakeup(), 7 * kSec);
  auto second = s.Next(7 * kSec);
  ASSERT_TRUE(second);
  EXPECT_EQ(second->transport, "bulk");
  EXPECT_NE(second->nexthop, first->nexthop);
}

TEST_F(SchedulerTest, RoundRobinKeepsASlowDestinationFromStarvingOthers) {
  limits_["smtp"].initial_concurrency = 2;
  limits_["smtp"].concurrency_limit = 2;
  limits_["smtp"].recipient_limit = 1;
  Scheduler s = MakeScheduler();
  // The slow destination was queued first and has many more jobs.
  for (uint32_t i = 0; i < 50; ++i)
    s.Add("S" + std::to_string(i), {{0, "smtp", "slow.example", "u@slow.example", "", ""}});
  for (uint32_t i = 0; i < 5; ++i)
    s.Add("F" + std::to_string(i), {{0, "smtp", "fast.example", "u@fast.example", "", ""}});
  // Slow deliveries never finish in this test; fast ones finish at once.
  int fast_done = 0;
  while (auto job = s.Next(0)) {
    if (job->nexthop == "fast.example") {
      s.Done(job->id, {}, 0);
      ++fast_done;
    }
  }
  EXPECT_EQ(fast_done, 5);
  EXPECT_EQ(s.started(), 2u) << "slow.example stays at its window";
}

TEST_F(SchedulerTest, TransportsTakeTurns) {
  limits_["a"].recipient_limit = 1;
  limits_["b"].recipient_limit = 1;
  Scheduler s = MakeScheduler();
  for (uint32_t i = 0; i < 3; ++i)
    s.Add("A" + std::to_string(i), {{0, "a", "d" + std::to_string(i), "u", "", ""}});
  for (uint32_t i = 0; i < 3; ++i)
    s.Add("B" + std::to_string(i), {{0, "b", "d" + std::to_string(i), "u", "", ""}});
  std::string order;
  while (auto job = s.Next(0)) order += job->transport;
  EXPECT_EQ(order, "ababab");
}

TEST_F(SchedulerTest, ProcessLimitCapsATransport) {
  limits_["smtp"].process_limit = 3;
  limits_["smtp"].recipient_limit = 1;
  Scheduler s = MakeScheduler();
  for (uint32_t i = 0; i < 10; ++i)
    s.Add("M" + std::to_string(i), {{0, "smtp", "d" + std::to_string(i), "u", "", ""}});
  int n = 0;
  while (s.Next(0)) ++n;
  EXPECT_EQ(n, 3);
}

TEST_F(SchedulerTest, RemoveMessageTakesOnlyWaitingJobs) {
  limits_["smtp"].initial_concurrency = 1;
  limits_["smtp"].concurrency_limit = 1;
  limits_["smtp"].recipient_limit = 1;
  Scheduler s = MakeScheduler();
  s.Add("M1", Routes("smtp", "example.com", 3));
  auto running = s.Next(0);
  ASSERT_TRUE(running);
  std::vector<SchedulerJob> removed = s.RemoveMessage("M1");
  EXPECT_EQ(removed.size(), 2u);
  EXPECT_EQ(s.waiting(), 0u);
  EXPECT_EQ(s.started(), 1u);
  s.Done(running->id, {}, 0);
  EXPECT_FALSE(s.Next(0));
}

TEST(FeedbackSpec, ParsesPostfixForms) {
  FeedbackSpec f;
  ASSERT_TRUE(ParseFeedback("1", &f));
  EXPECT_DOUBLE_EQ(f.At(7), 1);
  ASSERT_TRUE(ParseFeedback("1/concurrency", &f));
  EXPECT_DOUBLE_EQ(f.At(4), 0.25);
  ASSERT_TRUE(ParseFeedback("1/sqrt_concurrency", &f));
  EXPECT_DOUBLE_EQ(f.At(16), 0.25);
  ASSERT_TRUE(ParseFeedback(" 1/8 ", &f));
  EXPECT_DOUBLE_EQ(f.At(3), 0.125);
  EXPECT_FALSE(ParseFeedback("two", &f));
  EXPECT_FALSE(ParseFeedback("2/concurrency", &f));
}

}  // namespace
}  // namespace posthaste::runtime
