// qmgr_test.cc: the queue manager over a real queue store and real bundles
// (built by `phc build` from temp configs), with scripted fake delivery
// agents and an injected clock: delivery and removal, recipient-limit
// batching, concurrency limit and slow start, rate delay, fairness, dead
// destinations, deferral backoff (minimal, doubling, cap), lifetime expiry,
// the one delay notice, null-sender and double-bounce rules, soft_bounce,
// restart resume, hold / release / delete / requeue / flush, content filter.
#include "runtime/dsn.h"
#include "runtime/qmgr.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <set>

#include "asio/executor_work_guard.hpp"
#include "asio/redirect_error.hpp"
#include "asio/steady_timer.hpp"
#include "asio/use_awaitable.hpp"
#include "tables/bundle_loader.h"
#include "tests/support/run_command.h"

namespace posthaste::runtime {
namespace {

namespace fs = std::filesystem;
constexpr int64_t kSec = 1'000'000;
constexpr int64_t kT0 = 1'700'000'000 * kSec;

// One delivery request as the fake agent saw it.
struct Seen {
  std::string queue_id, sender, transport, nexthop, service;
  std::vector<std::string> recipients;
  std::vector<std::string> originals;
  int64_t at = 0;  // the test clock when it started
  std::string content;
};

// A scripted delivery agent. By default every recipient is sent; `script`
// decides otherwise; `gate` makes a request wait until the test opens it.
class FakeAgent : public DeliveryAgent {
 public:
  FakeAgent(asio::io_context& io, const int64_t* clock) : io_(io), clock_(clock) {}

  std::function<DeliveryResult(const DeliveryRequest&)> script;
  std::function<bool(const DeliveryRequest&)> gate;  // true: wait for Open()

  asio::awaitable<DeliveryResult> Deliver(const DeliveryRequest& r) override {
    Seen s;
    s.queue_id = r.queue_id;
    s.sender = r.sender;
    s.transport = r.transport;
    s.nexthop = r.nexthop;
    s.service = r.service;
    for (const DeliveryRecipient& d : r.recipients) {
      s.recipients.push_back(d.address);
      s.originals.push_back(d.original);
    }
    s.at = *clock_;
    s.content = r.content ? *r.content : "";
    seen.push_back(s);
    ++active;
    max_active = std::max(max_active, active);
    if (gate && gate(r)) {
      auto timer = std::make_shared<asio::steady_timer>(io_, asio::steady_timer::time_point::max());
      gates_.push_back(timer);
      asio::error_code ec;
      co_await timer->async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    --active;
    co_return script ? script(r) : AllSent(r);
  }

  // Lets the oldest waiting request (or all) finish.
  bool OpenOne() {
    while (!gates_.empty()) {
      auto t = gates_.front();
      gates_.erase(gates_.begin());
      if (t->cancel() > 0) return true;
    }
    return false;
  }
  void OpenAll() {
    while (OpenOne()) {
    }
  }
  size_t waiting() const { return gates_.size(); }

  static DeliveryResult With(const DeliveryRequest& r, RecipientOutcome::Status status,
                             std::string dsn, std::string text) {
    DeliveryResult out;
    out.relay = "mx." + r.nexthop + "[192.0.2.25]:25";
    for (const DeliveryRecipient& d : r.recipients) {
      RecipientOutcome o;
      o.index = d.index;
      o.status = status;
      o.dsn = dsn;
      o.text = text;
      if (status != RecipientOutcome::Status::kSent) {
        o.diagnostic = "smtp; " + text;
        o.remote_mta = "mx." + r.nexthop;
      }
      out.outcomes.push_back(o);
    }
    out.connect_seconds = 0.25;
    out.transmit_seconds = 0.5;
    return out;
  }
  static DeliveryResult AllSent(const DeliveryRequest& r) {
    return With(r, RecipientOutcome::Status::kSent, "2.0.0", "250 2.0.0 Ok: queued as XYZ");
  }

  std::vector<Seen> seen;
  int active = 0;
  int max_active = 0;

 private:
  asio::io_context& io_;
  const int64_t* clock_;
  std::vector<std::shared_ptr<asio::steady_timer>> gates_;
};

const char kMaster[] =
    "smtp      inet  n       -       n       -       -       smtpd\n"
    "qmgr      unix  n       -       n       300     1       qmgr\n"
    "cleanup   unix  n       -       n       -       0       cleanup\n"
    "bounce    unix  -       -       n       -       0       bounce\n"
    "smtp      unix  -       -       n       -       -       smtp\n"
    "relay     unix  -       -       n       -       -       smtp\n"
    "slow      unix  -       -       n       -       -       smtp\n"
    "scan      unix  -       -       n       -       -       smtp\n"
    "local     unix  -       n       n       -       -       local\n"
    "virtual   unix  -       n       n       -       -       virtual\n"
    "error     unix  -       -       n       -       -       error\n"
    "retry     unix  -       -       n       -       -       error\n"
    "discard   unix  -       -       n       -       -       discard\n";

const char kMainBase[] =
    "myhostname = mx.example.com\n"
    "mydomain = example.com\n"
    "myorigin = example.com\n"
    "mydestination = $myhostname, localhost\n"
    "relay_domains =\n"
    "minimal_backoff_time = 100s\n"
    "maximal_backoff_time = 800s\n"
    "queue_run_delay = 10s\n"
    "transport_maps = inline:{slow.example=slow:, virt.example=virtual:}\n";

class QmgrTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "qmgr_test.XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
    log_.SetSink(
        [this](std::string_view line) {
          // "... posthaste/<program>[pid]: text"
          size_t slash = line.find("posthaste/");
          size_t bracket = line.find('[', slash);
          size_t colon = line.find("]: ", bracket);
          if (slash == std::string_view::npos || colon == std::string_view::npos) return;
          std::lock_guard<std::mutex> lock(log_mu_);
          lines_.push_back({std::string(line.substr(slash + 10, bracket - slash - 10)),
                            std::string(line.substr(colon + 3))});
        },
        /*only=*/true);
  }

  void TearDown() override {
    qmgr_.reset();
    DrainIo();
    store_.reset();
    fs::remove_all(root_);
  }

  // Builds a bundle from kMainBase + `main_extra` and opens the store.
  void Configure(const std::string& main_extra = "") {
    fs::create_directories(root_ + "/conf");
    std::ofstream(root_ + "/conf/main.cf") << kMainBase << main_extra;
    std::ofstream(root_ + "/conf/master.cf") << kMaster;
    posthaste::testing::CommandResult r = posthaste::testing::RunCommand(
        {POSTHASTE_PHC_PATH, "build", "-c", root_ + "/conf", "-o", root_ + "/bundle"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto snap = tables::Loader(root_ + "/bundle").LoadCurrent();
    ASSERT_TRUE(snap.ok()) << snap.status();
    snapshot_ = *snap;
    OpenStore();
  }

  void OpenStore() {
    QueueStoreOptions o;
    o.directory = root_ + "/queue";
    o.segment_bytes = segment_bytes_;
    o.clock = [this] { return now_; };
    auto store = QueueStore::Open(o);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
  }

  void StartQmgr() {
    QmgrOptions options;
    options.clock = [this] { return now_; };
    qmgr_ = std::make_unique<QueueManager>(
        io_, *store_, log_, [this] { return snapshot_; },
        [this](std::string_view name) -> DeliveryAgent* {
          auto it = agents_.find(std::string(name));
          return it == agents_.end() ? nullptr : it->second.get();
        },
        options);
    qmgr_->Start();
  }

  FakeAgent& Agent(const std::string& name) {
    auto& a = agents_[name];
    if (!a) a = std::make_unique<FakeAgent>(io_, &now_);
    return *a;
  }

  std::string Queue(std::string sender, std::vector<std::string> rcpts,
                    std::string content = "Subject: test\n\nhello\n",
                    std::function<void(NewMessage&)> edit = nullptr) {
    NewMessage m;
    m.sender = std::move(sender);
    m.recipients = std::move(rcpts);
    if (edit) edit(m);
    auto id = store_->EnqueueAndWait(m, content);
    EXPECT_TRUE(id.ok()) << id.status();
    if (qmgr_) qmgr_->Notify(*id);
    return id.ok() ? *id : "";
  }

  // Runs the io_context until `done` holds (bounded; the store's commit
  // thread completes records in real time).
  bool RunUntil(const std::function<bool()>& done) {
    for (int i = 0; i < 5000; ++i) {
      if (done()) return true;
      io_.run_for(std::chrono::milliseconds(2));
    }
    return done();
  }
  // Runs until nothing happened for a while (records and handlers settle).
  void Settle() {
    for (int i = 0; i < 25; ++i) io_.run_for(std::chrono::milliseconds(2));
  }
  void DrainIo() {
    for (int i = 0; i < 10; ++i) io_.run_for(std::chrono::milliseconds(1));
  }
  // Lets the queue manager finish what it is doing (every active message
  // deferred or gone), then moves the clock and runs what is due.
  void Advance(int64_t seconds, bool quiesce = true) {
    if (quiesce) RunUntil([&] { return qmgr_->GetStatus().active == 0; });
    now_ += seconds * kSec;
    qmgr_->Tick();
    Settle();
  }

  std::vector<std::string> Lines(std::string_view program = "") {
    std::lock_guard<std::mutex> lock(log_mu_);
    std::vector<std::string> out;
    for (const auto& [p, t] : lines_) {
      if (program.empty() || p == program) out.push_back(t);
    }
    return out;
  }
  bool Logged(std::string_view program, std::string_view text) {
    for (const std::string& l : Lines(program)) {
      if (l.find(text) != std::string::npos) return true;
    }
    return false;
  }
  int CountLogged(std::string_view text) {
    int n = 0;
    for (const std::string& l : Lines()) n += l.find(text) != std::string::npos;
    return n;
  }
  std::string AllLines() {
    std::string s;
    std::lock_guard<std::mutex> lock(log_mu_);
    for (const auto& [p, t] : lines_) s += p + ": " + t + "\n";
    return s;
  }
  bool InStore(const std::string& id) { return store_->Info(id).ok(); }

  std::string root_;
  uint64_t segment_bytes_ = uint64_t{64} << 20;
  int64_t now_ = kT0;
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_{io_.get_executor()};
  Maillog log_;
  std::mutex log_mu_;
  std::vector<std::pair<std::string, std::string>> lines_;
  std::shared_ptr<const tables::Snapshot> snapshot_;
  std::unique_ptr<QueueStore> store_;
  std::map<std::string, std::unique_ptr<FakeAgent>> agents_;
  std::unique_ptr<QueueManager> qmgr_;
};

TEST(FormatDelay, PostfixSignificantDigits) {
  EXPECT_EQ(FormatDelay(0, 2), "0");
  EXPECT_EQ(FormatDelay(1'234'000, 2), "1.2");
  EXPECT_EQ(FormatDelay(12'300, 2), "0.01");
  EXPECT_EQ(FormatDelay(120'000, 2), "0.12");
  EXPECT_EQ(FormatDelay(15'700'000, 2), "16");
  EXPECT_EQ(FormatDelay(4'000, 2), "0");
  EXPECT_EQ(FormatDelay(250'000, 2), "0.25");
  EXPECT_EQ(FormatDelay(1'000'000, 2), "1");
  EXPECT_EQ(FormatDelay(1'234'000, 0), "1");
}

TEST_F(QmgrTest, DeliversLogsAndRemoves) {
  Configure();
  FakeAgent& smtp = Agent("smtp");
  StartQmgr();
  std::string id = Queue("alice@example.org", {"bob@example.net", "carol@example.net"},
                         "Subject: hi\n\nbody\n", [](NewMessage& m) {
                           m.original_recipients = {"Bob@Example.NET", "carol@example.net"};
                         });
  ASSERT_TRUE(RunUntil([&] { return Logged("qmgr", id + ": removed"); })) << AllLines();
  ASSERT_EQ(smtp.seen.size(), 1u);
  EXPECT_EQ(smtp.seen[0].transport, "smtp");
  EXPECT_EQ(smtp.seen[0].nexthop, "example.net");
  EXPECT_EQ(smtp.seen[0].service, "smtp/unix");
  EXPECT_EQ(smtp.seen[0].recipients,
            (std::vector<std::string>{"bob@example.net", "carol@example.net"}));
  EXPECT_EQ(smtp.seen[0].originals[0], "Bob@Example.NET");
  EXPECT_EQ(smtp.seen[0].content, "Subject: hi\n\nbody\n");
  EXPECT_TRUE(Logged("qmgr", id + ": from=<alice@example.org>, size=21, nrcpt=2 (queue active)"))  // 18 bytes in 3 records
      << AllLines();
  // orig_to only when it differs beyond case; delays: 0 before and in the
  // queue manager (frozen clock), the agent's own connection/transfer times.
  EXPECT_TRUE(Logged("smtp", id + ": to=<bob@example.net>, relay=mx.example.net[192.0.2.25]:25, "
                                  "delay=0, delays=0/0/0.25/0.5, dsn=2.0.0, status=sent "
                                  "(250 2.0.0 Ok: queued as XYZ)"))
      << AllLines();
  EXPECT_FALSE(Logged("smtp", "orig_to"));
  EXPECT_FALSE(InStore(id));
  EXPECT_EQ(qmgr_->GetStatus().active, 0u);
}

TEST_F(QmgrTest, RecipientLimitSplitsRequests) {
  Configure("default_destination_recipient_limit = 2\n");
  FakeAgent& smtp = Agent("smtp");
  StartQmgr();
  std::string id = Queue("a@example.org", {"1@example.net", "2@example.net", "3@example.net",
                                           "4@example.net", "5@example.net", "x@other.example"});
  ASSERT_TRUE(RunUntil([&] { return Logged("qmgr", id + ": removed"); })) << AllLines();
  std::multiset<size_t> sizes;
  for (const Seen& s : smtp.seen) sizes.insert(s.recipients.size());
  EXPECT_EQ(sizes, (std::multiset<size_t>{1, 1, 2, 2}));
}

TEST_F(QmgrTest, ConcurrencyStartsAtTheInitialWindowAndGrowsToTheLimit) {
  Configure("initial_destination_concurrency = 2\nsmtp_destination_concurrency_limit = 4\n");
  FakeAgent& smtp = Agent("smtp");
  smtp.gate = [](const DeliveryRequest&) { return true; };
  StartQmgr();
  std::vector<std::string> ids;
  for (int i = 0; i < 30; ++i) ids.push_back(Queue("a@example.org", {"u@example.net"}));
  ASSERT_TRUE(RunUntil([&] { return smtp.waiting() == 2; }));
  Settle();
  EXPECT_EQ(smtp.active, 2) << "initial_destination_concurrency";
  // Each success widens the window by one while it is in use.
  smtp.OpenOne();
  ASSERT_TRUE(RunUntil([&] { return smtp.active == 3; }));
  while (smtp.seen.size() < ids.size()) {
    smtp.OpenOne();
    Settle();
  }
  smtp.OpenAll();
  ASSERT_TRUE(RunUntil([&] { return qmgr_->GetStatus().active == 0; })) << AllLines();
  EXPECT_EQ(smtp.max_active, 4) << "smtp_destination_concurrency_limit";
  for (const std::string& id : ids) EXPECT_FALSE(InStore(id));
}

TEST_F(QmgrTest, RateDelaySpacesDeliveries) {
  Configure("slow_destination_rate_delay = 30s\n");
  FakeAgent& smtp = Agent("smtp");
  StartQmgr();
  Queue("a@example.org", {"u@slow.example"});
  Queue("a@example.org", {"v@slow.example"});
  ASSERT_TRUE(RunUntil([&] { return smtp.seen.size() == 1; }));
  Settle();
  EXPECT_EQ(smtp.seen.size(), 1u);
  EXPECT_EQ(smtp.seen[0].transport, "slow");
  Advance(29, false);
  EXPECT_EQ(smtp.seen.size(), 1u);
  Advance(1, false);
  ASSERT_TRUE(RunUntil([&] { return smtp.seen.size() == 2; }));
  EXPECT_EQ(smtp.seen[1].at - smtp.seen[0].at, 30 * kSec);
}

TEST_F(QmgrTest, SlowDestinationDoesNotStarveAFastOne) {
  Configure("default_destination_concurrency_limit = 2\n");
  FakeAgent& smtp = Agent("smtp");
  smtp.gate = [](const DeliveryRequest& r) { return r.nexthop == "slow.example.net"; };
  StartQmgr();
  for (int i = 0; i < 20; ++i) Queue("a@example.org", {"u@slow.example.net"});
  std::vector<std::string> fast;
  for (int i = 0; i < 10; ++i) fast.push_back(Queue("a@example.org", {"u@fast.example.net"}));
  ASSERT_TRUE(RunUntil([&] {
    for (const std::string& id : fast) {
      if (InStore(id)) return false;
    }
    return true;
  })) << AllLines();
  EXPECT_EQ(smtp.waiting(), 2u) << "the slow destination stays at its limit";
  smtp.OpenAll();
}

TEST_F(QmgrTest, DeadDestinationSuspendsItsOtherMail) {
  Configure("initial_destination_concurrency = 1\n");
  FakeAgent& smtp = Agent("smtp");
  smtp.script = [](const DeliveryRequest& r) {
    DeliveryResult res =
        FakeAgent::With(r, RecipientOutcome::Status::kDeferred, "4.4.1",
                        "connect to mx.down.example[192.0.2.9]:25: Connection refused");
    res.relay = "none";
    res.destination_failure = "connect to mx.down.example[192.0.2.9]:25: Connection refused";
    return res;
  };
  StartQmgr();
  std::vector<std::string> ids;
  for (int i = 0; i < 4; ++i) ids.push_back(Queue("a@example.org", {"u@down.example"}));
  ASSERT_TRUE(RunUntil([&] { return qmgr_->GetStatus().deferred == 4; })) << AllLines();
  EXPECT_EQ(smtp.seen.size(), 1u) << "one failed cohort at concurrency 1 kills the destination";
  EXPECT_EQ(CountLogged("status=deferred (delivery temporarily suspended: connect to "
                        "mx.down.example[192.0.2.9]:25: Connection refused)"),
            3);
  EXPECT_TRUE(Logged("error", "dsn=4.4.1, status=deferred (delivery temporarily suspended"));
}

TEST_F(QmgrTest, DeferralBackoffStartsAtTheMinimumDoublesAndIsCapped) {
  Configure("queue_run_delay = 100s\n");
  FakeAgent& smtp = Agent("smtp");
  smtp.script = [](const DeliveryRequest& r) {
    return FakeAgent::With(r, RecipientOutcome::Status::kDeferred, "4.2.0",
                           "host mx.example.net[192.0.2.25] said: 450 4.2.0 busy");
  };
  StartQmgr();
  std::string id = Queue("a@example.org", {"u@example.net"});
  ASSERT_TRUE(RunUntil([&] { return qmgr_->GetStatus().deferred == 1; })) << AllLines();
  EXPECT_TRUE(Logged("smtp",
                     "dsn=4.2.0, status=deferred (host mx.example.net[192.0.2.25] said: "
                     "450 4.2.0 busy)"));
  auto info = store_->Info(id);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->meta.state, MessageState::kDeferred);
  EXPECT_EQ(info->meta.next_attempt_micros, kT0 + 100 * kSec);
  EXPECT_EQ(info->meta.attempts, 1u);
  // Step through time one queue_run_delay at a time.
  while (now_ < kT0 + 3000 * kSec) Advance(100);
  std::vector<int64_t> gaps;
  for (size_t i = 1; i < smtp.seen.size(); ++i) {
    gaps.push_back((smtp.seen[i].at - smtp.seen[i - 1].at) / kSec);
  }
  // The wait is the message's age, within [minimal, maximal]_backoff_time.
  EXPECT_EQ(gaps, (std::vector<int64_t>{100, 100, 200, 400, 800, 800})) << AllLines();
}

TEST_F(QmgrTest, ExpiredMailIsReturnedToTheSender) {
  Configure("maximal_queue_lifetime = 1000s\n");
  FakeAgent& smtp = Agent("smtp");
  smtp.script = [](const DeliveryRequest& r) {
    if (r.sender.empty()) return FakeAgent::AllSent(r);  // the notice
    return FakeAgent::With(r, RecipientOutcome::Status::kDeferred, "4.2.0", "450 4.2.0 busy");
  };
  StartQmgr();
  std::string id = Queue("alice@example.org", {"u@example.net"});
  ASSERT_TRUE(RunUntil([&] { return qmgr_->GetStatus().deferred == 1; })) << AllLines();
  while (now_ < kT0 + 2000 * kSec && InStore(id)) Advance(100);
  ASSERT_FALSE(InStore(id)) << AllLines();
  EXPECT_TRUE(
      Logged("qmgr", id + ": from=<alice@example.org>, status=expired, returned to sender"));
  EXPECT_TRUE(Logged("bounce", id + ": sender non-delivery notification: "));
  EXPECT_TRUE(Logged("qmgr", id + ": removed"));
  ASSERT_TRUE(RunUntil([&] {
    return std::any_of(smtp.seen.begin(), smtp.seen.end(),
                       [](const Seen& s) { return s.sender.empty(); });
  }));
  for (const Seen& s : smtp.seen) {
    if (!s.sender.empty()) continue;
    EXPECT_EQ(s.recipients, std::vector<std::string>{"alice@example.org"});
    EXPECT_NE(s.content.find("Undelivered Mail Returned to Sender"), std::string::npos);
    EXPECT_NE(s.content.find("450 4.2.0 busy"), std::string::npos);
  }
}

TEST_F(QmgrTest, ZeroLifetimeBouncesAfterTheFirstDeferral) {
  Configure("maximal_queue_lifetime = 0\n");
  FakeAgent& smtp = Agent("smtp");
  smtp.script = [](const DeliveryRequest& r) {
    if (r.sender.empty()) return FakeAgent::AllSent(r);
    return FakeAgent::With(r, RecipientOutcome::Status::kDeferred, "4.2.0", "450 4.2.0 busy");
  };
  StartQmgr();
  std::string id = Queue("alice@example.org", {"u@example.net"});
  ASSERT_TRUE(RunUntil([&] { return Logged("qmgr", id + ": removed"); })) << AllLines();
  EXPECT_TRUE(Logged("bounce", id + ": sender non-delivery notification: "));
}

TEST_F(QmgrTest, OneDelayNoticePerMessage) {
  Configure("delay_warning_time = 150s\nqueue_run_delay = 100s\n");
  FakeAgent& smtp = Agent("smtp");
  smtp.script = [](const DeliveryRequest& r) {
    if (r.sender.empty()) return FakeAgent::AllSent(r);
    return FakeAgent::With(r, RecipientOutcome::Status::kDeferred, "4.2.0", "450 4.2.0 busy");
  };
  StartQmgr();
  std::string id = Queue("alice@example.org", {"u@example.net"});
  ASSERT_TRUE(RunUntil([&] { return qmgr_->GetStatus().deferred == 1; })) << AllLines();
  while (now_ < kT0 + 1000 * kSec) Advance(100);
  EXPECT_EQ(CountLogged(id + ": sender delay notification: "), 1) << AllLines();
  auto info = store_->Info(id);
  ASSERT_TRUE(info.ok());
  EXPECT_TRUE(info->meta.delay_warned);
  int notices = 0;
  for (const Seen& s : smtp.seen) {
    if (!s.sender.empty()) continue;
    ++notices;
    EXPECT_EQ(s.recipients, std::vector<std::string>{"alice@example.org"});
    EXPECT_NE(s.content.find("Delayed Mail (still being retried)"), std::string::npos);
    // Sent on the first attempt at or after arrival + delay_warning_time.
    EXPECT_EQ(s.at, kT0 + 200 * kSec) << AllLines();
  }
  EXPECT_EQ(notices, 1);
}

TEST_F(QmgrTest, BouncedRecipientGetsANoticeAndTheOtherIsDelivered) {
  Configure();
  FakeAgent& smtp = Agent("smtp");
  smtp.script = [](const DeliveryRequest& r) {
    if (r.nexthop == "bad.example") {
      return FakeAgent::With(r, RecipientOutcome::Status::kBounced, "5.1.1",
                             "host mx.bad.example[192.0.2.25] said: 550 5.1.1 no such user");
    }
    return FakeAgent::AllSent(r);
  };
  StartQmgr();
  std::string id = Queue("alice@example.org", {"nobody@bad.example", "bob@example.net"});
  ASSERT_TRUE(RunUntil([&] { return Logged("qmgr", id + ": removed"); })) << AllLines();
  EXPECT_TRUE(Logged("smtp",
                     "to=<nobody@bad.example>, relay=mx.bad.example[192.0.2.25]:25, "
                     "delay=0, delays=0/0/0.25/0.5, dsn=5.1.1, status=bounced (host "
                     "mx.bad.example[192.0.2.25] said: 550 5.1.1 no such user)"))
      << AllLines();
  EXPECT_EQ(CountLogged(id + ": sender non-delivery notification: "), 1);
  ASSERT_TRUE(RunUntil([&] { return smtp.seen.size() == 3; }));
  const Seen& notice = smtp.seen[2];
  EXPECT_EQ(notice.sender, "");
  EXPECT_EQ(notice.recipients, std::vector<std::string>{"alice@example.org"});
  EXPECT_TRUE(Logged("cleanup", notice.queue_id + ": message-id=<")) << AllLines();
  EXPECT_TRUE(Logged("bounce", id + ": sender non-delivery notification: " + notice.queue_id));
  EXPECT_NE(notice.content.find("nobody@bad.example"), std::string::npos);
  EXPECT_EQ(notice.content.find("bob@example.net"), std::string::npos);
}

// smtputf8_enable (yes from compatibility_level 1 on) makes notices UTF-8
// text sent as 8bit, as a live Postfix 3.7.11 writes them; off, US-ASCII 7bit.
class QmgrNoticeCharsetTest : public QmgrTest {
 protected:
  std::string NoticeFor(const std::string& main_extra) {
    Configure(main_extra);
    FakeAgent& smtp = Agent("smtp");
    smtp.script = [](const DeliveryRequest& r) {
      if (r.sender.empty()) return FakeAgent::AllSent(r);
      return FakeAgent::With(r, RecipientOutcome::Status::kBounced, "5.1.1", "550 5.1.1 unknown");
    };
    StartQmgr();
    Queue("alice@example.org", {"nobody@bad.example"});
    if (!RunUntil([&] { return smtp.seen.size() == 2; })) return "no notice: " + AllLines();
    return smtp.seen[1].content;
  }
};

TEST_F(QmgrNoticeCharsetTest, Utf8And8BitWhenSmtputf8IsEnabled) {
  std::string notice = NoticeFor("compatibility_level = 3.6\n");
  EXPECT_NE(notice.find("charset=utf-8"), std::string::npos) << notice;
  EXPECT_NE(notice.find("Content-Transfer-Encoding: 8bit"), std::string::npos) << notice;
}

TEST_F(QmgrNoticeCharsetTest, UsAscii7BitWhenItIsNot) {
  std::string notice = NoticeFor("");  // compatibility_level 0: smtputf8_enable = no
  EXPECT_NE(notice.find("charset=us-ascii"), std::string::npos) << notice;
  EXPECT_EQ(notice.find("Content-Transfer-Encoding: 8bit"), std::string::npos) << notice;
}

// RFC 3461 NOTIFY=: NEVER and a list without FAILURE keep a failed recipient
// out of the non-delivery notice; only the recipient without NOTIFY= (and
// the one that listed FAILURE) are reported.
TEST_F(QmgrTest, NotifyDecidesWhoIsInTheNonDeliveryNotice) {
  Configure();
  FakeAgent& smtp = Agent("smtp");
  smtp.script = [](const DeliveryRequest& r) {
    if (r.sender.empty()) return FakeAgent::AllSent(r);
    return FakeAgent::With(r, RecipientOutcome::Status::kBounced, "5.1.1", "550 5.1.1 unknown");
  };
  StartQmgr();
  std::string id = Queue("alice@example.org",
                         {"never@bad.example", "delay@bad.example", "failure@bad.example",
                          "plain@bad.example"},
                         "Subject: test\n\nhello\n", [](NewMessage& m) {
                           m.recipient_notify = {kDsnNotifyNever, kDsnNotifyDelay,
                                                 kDsnNotifyFailure | kDsnNotifySuccess, 0};
                         });
  ASSERT_TRUE(RunUntil([&] { return Logged("qmgr", id + ": removed"); })) << AllLines();
  EXPECT_EQ(CountLogged("status=bounced"), 4) << AllLines();
  ASSERT_TRUE(RunUntil([&] { return smtp.seen.size() == 2; })) << AllLines();
  const std::string& notice = smtp.seen[1].content;
  EXPECT_NE(notice.find("Final-Recipient: rfc822; failure@bad.example"), std::string::npos);
  EXPECT_NE(notice.find("Final-Recipient: rfc822; plain@bad.example"), std::string::npos);
  EXPECT_EQ(notice.find("never@bad.example"), std::string::npos);
  EXPECT_EQ(notice.find("delay@bad.example"), std::string::npos);
}

TEST_F(QmgrTest, NoNoticeAtAllWhenEveryFailedRecipientSaidNever) {
  Configure();
  FakeAgent& smtp = Agent("smtp");
  smtp.script = [](const DeliveryRequest& r) {
    return FakeAgent::With(r, RecipientOutcome::Status::kBounced, "5.1.1", "550 5.1.1 unknown");
  };
  StartQmgr();
  std::string id = Queue("alice@example.org", {"never@bad.example"}, "Subject: t\n\nx\n",
                         [](NewMessage& m) { m.recipient_notify = {kDsnNotifyNever}; });
  ASSERT_TRUE(RunUntil([&] { return Logged("qmgr", id + ": removed"); })) << AllLines();
  Settle();
  EXPECT_EQ(smtp.seen.size(), 1u);
  EXPECT_EQ(CountLogged("notification"), 0) << AllLines();
}

// NOTIFY=SUCCESS: a success notice once the recipient is delivered, with the
// envelope ID, the ORCPT and only the headers of the message; a recipient
// whose request went on to a next hop with DSN gets none from us.
TEST_F(QmgrTest, NotifySuccessGetsADeliveryReport) {
  Configure();
  FakeAgent& smtp = Agent("smtp");
  smtp.script = [](const DeliveryRequest& r) {
    DeliveryResult out = FakeAgent::AllSent(r);
    for (RecipientOutcome& o : out.outcomes)
      for (const DeliveryRecipient& d : r.recipients)
        if (d.index == o.index && d.address == "onward@example.net") o.dsn_passed_on = true;
    return out;
  };
  StartQmgr();
  std::string id = Queue("alice@example.org",
                         {"bob@example.net", "onward@example.net", "quiet@example.net"},
                         "Subject: report me\nX-Test: 1\n\nsecret body\n", [](NewMessage& m) {
                           m.recipient_notify = {kDsnNotifySuccess, kDsnNotifySuccess, 0};
                           m.recipient_orcpt = {"rfc822;Bob@Example.NET", "", ""};
                           m.dsn_envid = "env-42";
                           m.flags = kMessageDsnRetFull;
                         });
  ASSERT_TRUE(RunUntil([&] { return Logged("qmgr", id + ": removed"); })) << AllLines();
  EXPECT_EQ(CountLogged(id + ": sender delivery status notification: "), 1) << AllLines();
  ASSERT_TRUE(RunUntil([&] { return smtp.seen.size() >= 2; }));
  Settle();
  std::vector<const Seen*> notices;
  for (const Seen& s : smtp.seen)
    if (s.sender.empty()) notices.push_back(&s);
  ASSERT_EQ(notices.size(), 1u);
  const Seen& notice = *notices[0];
  EXPECT_EQ(notice.recipients, std::vector<std::string>{"alice@example.org"});
  const std::string& text = notice.content;
  EXPECT_NE(text.find("Subject: Successful Mail Delivery Report\n"), std::string::npos) << text;
  EXPECT_NE(text.find("Original-Envelope-Id: env-42\n"), std::string::npos) << text;
  EXPECT_NE(text.find("Final-Recipient: rfc822; bob@example.net\n"
                      "Original-Recipient: rfc822;Bob@Example.NET\n"
                      "Action: delivered\n"
                      "Status: 2.0.0\n"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find("onward@example.net"), std::string::npos);
  EXPECT_EQ(text.find("quiet@example.net"), std::string::npos);
  // Headers only, even with RET=FULL.
  EXPECT_NE(text.find("Content-Type: text/rfc822-headers\n"), std::string::npos);
  EXPECT_NE(text.find("X-Test: 1\n"), std::string::npos);
  EXPECT_EQ(text.find("secret body"), std::string::npos);
}

// RET=HDRS: the non-delivery notice returns the headers only.
TEST_F(QmgrTest, RetHdrsReturnsOnlyTheHeaders) {
  Configure();
  FakeAgent& smtp = Agent("smtp");
  smtp.script = [](const DeliveryRequest& r) {
    if (r.sender.empty()) return FakeAgent::AllSent(r);
    return FakeAgent::With(r, RecipientOutcome::Status::kBounced, "5.1.1", "550 5.1.1 unknown");
  };
  StartQmgr();
  std::string id = Queue("alice@example.org", {"gone@bad.example"},
                         "Subject: small\n\nsecret body\n",
                         [](NewMessage& m) { m.flags = kMessageDsnRetHeaders; });
  ASSERT_TRUE(RunUntil([&] { return smtp.seen.size() == 2; })) << AllLines();
  const std::string& text = smtp.seen[1].content;
  EXPECT_NE(text.find("Content-Description: Undelivered Message Headers\n"
                      "Content-Type: text/rfc822-headers\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("Subject: small\n"), std::string::npos);
  EXPECT_EQ(text.find("secret body"), std::string::npos);
}

// The delay notice leaves out recipients whose NOTIFY= omits DELAY.
TEST_F(QmgrTest, DelayNoticeOnlyForRecipientsThatAskForIt) {
  Configure("delay_warning_time = 150s\nqueue_run_delay = 100s\n");
  FakeAgent& smtp = Agent("smtp");
  smtp.script = [](const DeliveryRequest& r) {
    if (r.sender.empty()) return FakeAgent::AllSent(r);
    return FakeAgent::With(r, RecipientOutcome::Status::kDeferred, "4.2.0", "450 4.2.0 busy");
  };
  StartQmgr();
  std::string id = Queue("alice@example.org", {"fail-only@example.net", "wants-delay@example.net"},
                         "Subject: t\n\nx\n", [](NewMessage& m) {
                           m.recipient_notify = {kDsnNotifyFailure, kDsnNotifyDelay};
                         });
  ASSERT_TRUE(RunUntil([&] { return qmgr_->GetStatus().deferred == 1; })) << AllLines();
  while (now_ < kT0 + 400 * kSec) Advance(100);
  std::vector<std::string> notices;
  for (const Seen& s : smtp.seen)
    if (s.sender.empty()) notices.push_back(s.content);
  ASSERT_EQ(notices.size(), 1u) << AllLines();
  EXPECT_NE(notices[0].find("Final-Recipient: rfc822; wants-delay@example.net"), std::string::npos);
  EXPECT_EQ(notices[0].find("fail-only@example.net"), std::string::npos);
}

TEST_F(QmgrTest, FailedNoticeIsDroppedUnlessTheDoubleBounceClassIsOn) {
  Configure();
  FakeAgent& smtp = Agent("smtp");
  smtp.script = [](const DeliveryRequest& r) {
    return FakeAgent::With(r, RecipientOutcome::Status::kBounced, "5.1.1", "550 5.1.1 unknown");
  };
  StartQmgr();
  std::string id = Queue("", {"gone@example.net"});
  ASSERT_TRUE(RunUntil([&] { return Logged("qmgr", id + ": removed"); })) << AllLines();
  Settle();
  EXPECT_EQ(smtp.seen.size(), 1u) << "no notice to <>, no double bounce by default";
  EXPECT_EQ(CountLogged("notification"), 0);
}

TEST_F(QmgrTest, FailedNoticeGoesToThePostmasterAndAFailedDoubleBounceIsDiscarded) {
  Configure("notify_classes = resource, software, 2bounce\n");
  FakeAgent& smtp = Agent("smtp");
  smtp.script = [](const DeliveryRequest& r) {
    return FakeAgent::With(r, RecipientOutcome::Status::kBounced, "5.1.1", "550 5.1.1 unknown");
  };
  StartQmgr();
  std::string id = Queue("", {"gone@example.net"});
  ASSERT_TRUE(RunUntil([&] { return Logged("qmgr", id + ": removed"); })) << AllLines();
  EXPECT_TRUE(Logged("bounce", id + ": postmaster non-delivery notification: "));
  // The double bounce (from double-bounce@myorigin to postmaster@myorigin)
  // fails too: it is discarded with a warning, no triple bounce.
  ASSERT_TRUE(RunUntil([&] {
    return Logged("bounce", "warning: ") && qmgr_->GetStatus().active == 0 &&
           store_->List().empty();
  })) << AllLines();
  ASSERT_EQ(smtp.seen.size(), 2u);
  EXPECT_EQ(smtp.seen[1].sender, "double-bounce@example.com");
  EXPECT_EQ(smtp.seen[1].recipients, std::vector<std::string>{"postmaster@example.com"});
  EXPECT_TRUE(Logged("bounce",
                     smtp.seen[1].queue_id + ": undeliverable postmaster notification discarded"));
}

TEST_F(QmgrTest, SoftBounceDefersInsteadOfBouncing) {
  Configure("soft_bounce = yes\n");
  FakeAgent& smtp = Agent("smtp");
  smtp.script = [](const DeliveryRequest& r) {
    return FakeAgent::With(r, RecipientOutcome::Status::kBounced, "5.1.1", "550 5.1.1 unknown");
  };
  StartQmgr();
  std::string id = Queue("alice@example.org", {"gone@example.net"});
  ASSERT_TRUE(RunUntil([&] { return qmgr_->GetStatus().deferred == 1; })) << AllLines();
  EXPECT_TRUE(Logged("smtp", "dsn=4.1.1, status=SOFTBOUNCE (550 5.1.1 unknown)")) << AllLines();
  EXPECT_EQ(CountLogged("notification"), 0);
  EXPECT_EQ(store_->Info(id)->meta.recipients[0].status, RecipientStatus::kDeferred);
}

TEST_F(QmgrTest, RestartResumesWithoutRedeliveringRecordedRecipients) {
  Configure();
  std::string id;
  {
    FakeAgent& smtp = Agent("smtp");
    smtp.gate = [](const DeliveryRequest& r) { return r.nexthop != "one.example"; };
    StartQmgr();
    id = Queue("alice@example.org", {"a@one.example", "b@two.example", "c@three.example"});
    ASSERT_TRUE(RunUntil([&] { return smtp.seen.size() == 3 && smtp.waiting() == 2; }));
    ASSERT_TRUE(RunUntil([&] { return Logged("smtp", "to=<a@one.example>"); }));
    Settle();
    // "Crash": the queue manager goes away with two deliveries in flight.
    qmgr_.reset();
    smtp.OpenAll();
    DrainIo();
    store_.reset();
  }
  agents_.clear();
  OpenStore();
  auto info = store_->Info(id);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->meta.recipients[0].status, RecipientStatus::kDone);
  EXPECT_EQ(info->meta.recipients[1].status, RecipientStatus::kPending);
  FakeAgent& smtp2 = Agent("smtp");
  StartQmgr();
  ASSERT_TRUE(RunUntil([&] { return !InStore(id); })) << AllLines();
  std::set<std::string> delivered;
  for (const Seen& s : smtp2.seen) delivered.insert(s.recipients.begin(), s.recipients.end());
  EXPECT_EQ(delivered, (std::set<std::string>{"b@two.example", "c@three.example"}));
}

TEST_F(QmgrTest, RestartKeepsHoldAndDeferredTimes) {
  Configure();
  Agent("smtp").script = [](const DeliveryRequest& r) {
    return FakeAgent::With(r, RecipientOutcome::Status::kDeferred, "4.2.0", "450 busy");
  };
  StartQmgr();
  std::string deferred = Queue("a@example.org", {"u@example.net"});
  std::string held = Queue("a@example.org", {"v@example.net"}, "x\n",
                           [](NewMessage& m) { m.initial_state = MessageState::kHold; });
  ASSERT_TRUE(RunUntil([&] {
    QueueManager::Status s = qmgr_->GetStatus();
    return s.deferred == 1 && s.hold == 1;
  })) << AllLines();
  qmgr_.reset();
  DrainIo();
  store_.reset();
  agents_.clear();
  OpenStore();
  FakeAgent& smtp = Agent("smtp");
  StartQmgr();
  Settle();
  QueueManager::Status s = qmgr_->GetStatus();
  EXPECT_EQ(s.deferred, 1u);
  EXPECT_EQ(s.hold, 1u);
  EXPECT_TRUE(smtp.seen.empty());
  Advance(100);
  ASSERT_TRUE(RunUntil([&] { return !InStore(deferred); })) << AllLines();
  EXPECT_TRUE(InStore(held));
  EXPECT_EQ(smtp.seen.size(), 1u);
}

TEST_F(QmgrTest, HoldReleaseDeleteRequeueAndFlush) {
  Configure();
  FakeAgent& smtp = Agent("smtp");
  bool fail = true;
  smtp.script = [&fail](const DeliveryRequest& r) {
    if (fail) return FakeAgent::With(r, RecipientOutcome::Status::kDeferred, "4.2.0", "450 busy");
    return FakeAgent::AllSent(r);
  };
  StartQmgr();
  std::string a = Queue("s@example.org", {"a@example.net"});
  std::string b = Queue("s@example.org", {"b@example.net"});
  std::string c = Queue("s@example.org", {"c@example.net"});
  std::string d = Queue("s@example.org", {"d@example.net"});
  ASSERT_TRUE(RunUntil([&] { return qmgr_->GetStatus().deferred == 4; })) << AllLines();
  fail = false;

  EXPECT_EQ(qmgr_->Hold("NOSUCHID").code(), absl::StatusCode::kNotFound);
  ASSERT_TRUE(qmgr_->Hold(a).ok());
  EXPECT_EQ(store_->Info(a)->meta.state, MessageState::kHold);
  EXPECT_TRUE(Logged("postsuper", a + ": placed on hold"));
  ASSERT_TRUE(qmgr_->Delete(b).ok());
  EXPECT_FALSE(InStore(b));
  EXPECT_TRUE(Logged("postsuper", b + ": removed"));
  // Requeue routes at once.
  size_t before = smtp.seen.size();
  ASSERT_TRUE(qmgr_->Requeue(c).ok());
  ASSERT_TRUE(RunUntil([&] { return !InStore(c); })) << AllLines();
  EXPECT_EQ(smtp.seen.size(), before + 1);
  // Flush: d is due now; a stays held.
  qmgr_->Flush();
  ASSERT_TRUE(RunUntil([&] { return !InStore(d); })) << AllLines();
  Settle();
  EXPECT_TRUE(InStore(a));
  QueueManager::Status s = qmgr_->GetStatus();
  EXPECT_EQ(s.hold, 1u);
  EXPECT_EQ(s.deferred, 0u);
  // Release: deferred, due at the next scan.
  ASSERT_TRUE(qmgr_->Release(a).ok());
  EXPECT_EQ(store_->Info(a)->meta.state, MessageState::kDeferred);
  EXPECT_TRUE(Logged("postsuper", a + ": released from hold"));
  Advance(10);
  ASSERT_TRUE(RunUntil([&] { return !InStore(a); })) << AllLines();
}

TEST_F(QmgrTest, AllFormsAndHoldingAnActiveMessage) {
  Configure();
  FakeAgent& smtp = Agent("smtp");
  smtp.gate = [](const DeliveryRequest& r) { return r.nexthop == "one.example"; };
  smtp.script = [](const DeliveryRequest& r) {
    if (r.nexthop == "two.example") {
      return FakeAgent::With(r, RecipientOutcome::Status::kDeferred, "4.2.0", "450 busy");
    }
    return FakeAgent::AllSent(r);
  };
  StartQmgr();
  std::string a = Queue("s@example.org", {"a@one.example", "a@two.example"});
  ASSERT_TRUE(
      RunUntil([&] { return smtp.waiting() == 1 && Logged("smtp", "to=<a@two.example>"); }));
  // Holding an active message: the running delivery finishes, then the
  // message is held with what is left.
  ASSERT_TRUE(qmgr_->Hold(a).ok());
  smtp.OpenAll();
  ASSERT_TRUE(RunUntil([&] {
    QueueManager::Status s = qmgr_->GetStatus();
    return s.hold == 1 && s.active == 0;
  })) << AllLines();
  auto info = store_->Info(a);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->meta.state, MessageState::kHold);
  EXPECT_EQ(info->meta.recipients[0].status, RecipientStatus::kDone);
  EXPECT_EQ(info->meta.recipients[1].status, RecipientStatus::kDeferred);
  std::string b = Queue("s@example.org", {"b@example.net"}, "x\n",
                        [](NewMessage& m) { m.initial_state = MessageState::kHold; });
  std::string c = Queue("s@example.org", {"c@example.net"}, "x\n",
                        [](NewMessage& m) { m.initial_state = MessageState::kHold; });
  ASSERT_TRUE(RunUntil([&] { return qmgr_->GetStatus().hold == 3; }));
  smtp.gate = nullptr;
  smtp.script = nullptr;
  ASSERT_TRUE(qmgr_->Release("ALL").ok());
  EXPECT_EQ(qmgr_->GetStatus().hold, 0u);
  Advance(10);
  ASSERT_TRUE(RunUntil([&] { return store_->List().empty(); })) << AllLines();
  std::string d = Queue("s@example.org", {"d@example.net"}, "x\n",
                        [](NewMessage& m) { m.initial_state = MessageState::kHold; });
  std::string e = Queue("s@example.org", {"e@example.net"});
  ASSERT_TRUE(RunUntil([&] { return qmgr_->GetStatus().hold == 1; }));
  ASSERT_TRUE(qmgr_->Hold("ALL").ok());
  ASSERT_TRUE(qmgr_->Delete("ALL").ok());
  Settle();
  EXPECT_TRUE(store_->List().empty());
  EXPECT_EQ(qmgr_->GetStatus().hold, 0u);
}

TEST_F(QmgrTest, ContentFilterSendsEveryRecipientToTheFilter) {
  Configure();
  FakeAgent& smtp = Agent("smtp");
  StartQmgr();
  std::string id = Queue("s@example.org", {"u@example.net", "local@mx.example.com"}, "x\n",
                         [](NewMessage& m) { m.filter = "scan:[127.0.0.1]:10025"; });
  ASSERT_TRUE(RunUntil([&] { return !InStore(id); })) << AllLines();
  ASSERT_EQ(smtp.seen.size(), 1u);
  EXPECT_EQ(smtp.seen[0].transport, "scan");
  EXPECT_EQ(smtp.seen[0].nexthop, "[127.0.0.1]:10025");
  EXPECT_EQ(smtp.seen[0].recipients.size(), 2u);
}

TEST_F(QmgrTest, MissingAgentDefersWithTransportUnavailable) {
  Configure();
  Agent("smtp");
  StartQmgr();
  std::string id = Queue("s@example.org", {"u@virt.example"});
  ASSERT_TRUE(RunUntil([&] { return qmgr_->GetStatus().deferred == 1; })) << AllLines();
  // Logged by "error", as Postfix's queue manager hands such recipients to its retry service.
  EXPECT_TRUE(Logged("error", id + ": to=<u@virt.example>, relay=none, delay=0, delays=0/0/0/0, "
                                   "dsn=4.3.0, status=deferred (mail transport unavailable)"))
      << AllLines();
}

// A local alias expansion reports one part per address it reached; each is
// logged as its own line (Postfix's local logs them so), the recipient's
// record follows the combined outcome.
TEST_F(QmgrTest, ExpansionPartsAreLoggedOneLineEach) {
  Configure();
  FakeAgent& smtp = Agent("smtp");
  smtp.script = [](const DeliveryRequest& r) {
    DeliveryResult out;
    out.relay = "local";
    RecipientOutcome o;
    o.index = r.recipients[0].index;
    o.status = RecipientOutcome::Status::kSent;
    o.dsn = "2.0.0";
    o.text = "delivered to maildir, forwarded as 4FWD1";
    o.parts.push_back({"alice@example.net", "list@example.net", RecipientOutcome::Status::kSent,
                       "2.0.0", "delivered to maildir"});
    o.parts.push_back({"list@example.net", "", RecipientOutcome::Status::kSent, "2.0.0",
                       "forwarded as 4FWD1"});
    out.outcomes.push_back(o);
    return out;
  };
  StartQmgr();
  std::string id = Queue("s@example.org", {"list@example.net"});
  ASSERT_TRUE(RunUntil([&] { return qmgr_->GetStatus().active == 0 && !smtp.seen.empty(); }))
      << AllLines();
  EXPECT_TRUE(Logged("smtp", id + ": to=<alice@example.net>, orig_to=<list@example.net>, "
                                  "relay=local, delay=0, delays=0/0/0/0, dsn=2.0.0, "
                                  "status=sent (delivered to maildir)"))
      << AllLines();
  EXPECT_TRUE(Logged("smtp", id + ": to=<list@example.net>, relay=local, delay=0, "
                                  "delays=0/0/0/0, dsn=2.0.0, status=sent (forwarded as 4FWD1)"))
      << AllLines();
  EXPECT_FALSE(Logged("smtp", id + ": to=<list@example.net>, relay=local, delay=0, "
                                   "delays=0/0/0/0, dsn=2.0.0, status=sent (delivered to maildir, "
                                   "forwarded as 4FWD1)"))
      << AllLines();
}

TEST_F(QmgrTest, ReusedConnectionIsLoggedAsConnUse) {
  Configure();
  FakeAgent& smtp = Agent("smtp");
  smtp.script = [](const DeliveryRequest& r) {
    DeliveryResult out = FakeAgent::With(r, RecipientOutcome::Status::kSent, "2.0.0", "250 Ok");
    out.conn_use = 3;
    return out;
  };
  StartQmgr();
  std::string id = Queue("s@example.org", {"u@example.net"});
  ASSERT_TRUE(RunUntil([&] { return qmgr_->GetStatus().active == 0 && !smtp.seen.empty(); }))
      << AllLines();
  EXPECT_TRUE(Logged("smtp", id + ": to=<u@example.net>, relay=mx.example.net[192.0.2.25]:25, "
                                  "conn_use=3, delay=0, delays=0/0/0.25/0.5, dsn=2.0.0, "
                                  "status=sent (250 Ok)"))
      << AllLines();
}

TEST_F(QmgrTest, DeferTransportsDefersUntilFlushed) {
  Configure("defer_transports = smtp\n");
  FakeAgent& smtp = Agent("smtp");
  StartQmgr();
  std::string id = Queue("s@example.org", {"u@example.net"});
  ASSERT_TRUE(RunUntil([&] { return qmgr_->GetStatus().deferred == 1; })) << AllLines();
  EXPECT_TRUE(smtp.seen.empty());
  EXPECT_TRUE(Logged("error", id + ": to=<u@example.net>, relay=none, delay=0, delays=0/0/0/0, "
                                   "dsn=4.3.2, status=deferred (deferred transport)"))
      << AllLines();
  qmgr_->Flush();
  ASSERT_TRUE(RunUntil([&] { return smtp.seen.size() == 1; })) << AllLines();
}

TEST_F(QmgrTest, FinishedSegmentsAreReclaimedAndDeferredMailIsCopiedForward) {
  segment_bytes_ = 4096;
  Configure();
  FakeAgent& smtp = Agent("smtp");
  smtp.script = [](const DeliveryRequest& r) {
    if (r.nexthop == "later.example") {
      return FakeAgent::With(r, RecipientOutcome::Status::kDeferred, "4.2.0", "450 busy");
    }
    return FakeAgent::AllSent(r);
  };
  StartQmgr();
  std::string deferred = Queue("a@example.org", {"u@later.example"}, std::string(1000, 'd'));
  for (int i = 0; i < 40; ++i) Queue("a@example.org", {"u@example.net"}, std::string(1000, 'x'));
  ASSERT_TRUE(RunUntil([&] {
    QueueManager::Status s = qmgr_->GetStatus();
    return s.active == 0 && s.deferred == 1 && store_->List().size() == 1;
  })) << AllLines();
  size_t before = store_->Segments().size();
  ASSERT_GT(before, 5u);
  // A second later finished segments go; at the deferred-queue scan the
  // deferred message is copied out of the oldest one.
  Advance(10);
  ASSERT_TRUE(RunUntil([&] { return store_->Segments().size() <= 2; }))
      << store_->Segments().size() << " segments";
  EXPECT_EQ(store_->stats().messages_copied, 1u);
  auto content = store_->ReadContent(deferred);
  ASSERT_TRUE(content.ok()) << content.status();
  EXPECT_EQ(*content, std::string(1000, 'd'));
}

TEST_F(QmgrTest, LocalMailGoesToTheLocalAgentOneRecipientPerRequest) {
  Configure();
  FakeAgent& local = Agent("local");
  StartQmgr();
  std::string id = Queue("s@example.org", {"alice@mx.example.com", "bob@mx.example.com"});
  ASSERT_TRUE(RunUntil([&] { return !InStore(id); })) << AllLines();
  ASSERT_EQ(local.seen.size(), 2u) << "local_destination_recipient_limit = 1";
  EXPECT_EQ(local.seen[0].transport, "local");
  EXPECT_TRUE(Logged("local", "to=<alice@mx.example.com>"));
}

}  // namespace
}  // namespace posthaste::runtime
