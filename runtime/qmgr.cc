// qmgr.cc: the queue manager (see qmgr.h).
//
// Every piece of state is guarded by one mutex; handlers run on the
// io_context (any thread). Nothing under the mutex waits for the disk except
// reading a message's content (pread, normally from the page cache): store
// changes are appended asynchronously and their completion comes back as a
// posted handler. Admin calls wait for their own records without the mutex.
//
// A message is active from Activate() to Leave(). While active it counts
// the jobs the scheduler holds or runs for it (jobs) and the store writes
// and notices not yet completed (pending); when both are zero the pass is
// over and Finalize() decides: notice for failed recipients, expiry, delay
// notice, deferral or removal. Each of those steps is again a store write
// whose completion re-enters Finalize(); flags on the message make each
// step happen once per pass.
#include "runtime/qmgr.h"

#include <algorithm>
#include <chrono>
#include <deque>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/functional/any_invocable.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/synchronization/blocking_counter.h"
#include "absl/synchronization/mutex.h"
#include "asio/co_spawn.hpp"
#include "asio/detached.hpp"
#include "asio/post.hpp"
#include "asio/steady_timer.hpp"
#include "runtime/bounce_message.h"
#include "runtime/cleanup.h"
#include "runtime/dsn.h"
#include "runtime/log_address.h"
#include "runtime/qmgr_scheduler.h"
#include "runtime/service_params.h"
#include "runtime/snapshot_route_vm.h"
#include "tables/param_registry.h"
#include "tables/route_vm.h"
#include "tables/str_cat.h"

namespace posthaste::runtime {

using tables::Cat;

namespace {

constexpr int64_t kSecond = 1'000'000;

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = absl::ascii_tolower(static_cast<unsigned char>(c));
  return out;
}

bool SameAddress(std::string_view a, std::string_view b) {
  return a.size() == b.size() && Lower(a) == Lower(b);
}

int64_t ToMicros(absl::Duration d) { return absl::ToInt64Microseconds(d); }

constexpr std::string_view kMainParams[] = {
    "minimal_backoff_time",
    "maximal_backoff_time",
    "queue_run_delay",
    "maximal_queue_lifetime",
    "bounce_queue_lifetime",
    "delay_warning_time",
    "qmgr_message_active_limit",
    "soft_bounce",
    "defer_transports",
    "delay_logging_resolution_limit",
    "myhostname",
    "mydomain",
    "myorigin",
    "mail_name",
    "double_bounce_sender",
    "2bounce_notice_recipient",
    "delay_notice_recipient",
    "notify_classes",
    "bounce_size_limit",
    "default_process_limit",
    "smtputf8_enable",
};

}  // namespace

std::string FormatDelay(int64_t micros, int max_decimals) {
  constexpr int64_t kMillion = 1'000'000;
  constexpr int64_t kWidth = 100;  // two significant digits
  if (micros < 0) micros = 0;
  max_decimals = std::clamp(max_decimals, 0, 6);
  int64_t sec = micros / kMillion;
  int64_t usec = micros % kMillion;
  int64_t resolution = kMillion;
  for (int i = 0; i < max_decimals; ++i) resolution /= 10;
  // Show only the significant digits: fewer decimals for larger values.
  if (resolution < kMillion) {
    if (sec > 0) {
      int64_t n = 1;
      while (sec >= n && n <= kWidth / 10) n *= 10;
      resolution = std::max(resolution, (kMillion / kWidth) * n);
    } else {
      while (usec >= kWidth * resolution) resolution *= 10;
    }
  }
  if (resolution > 1) {
    usec += resolution / 2;
    if (usec >= kMillion) {
      sec += 1;
      usec -= kMillion;
    }
  }
  std::string out = std::to_string(sec);
  if (usec >= resolution) {
    out += '.';
    int64_t rem = usec;
    for (int64_t n = kMillion / 10; rem >= resolution && n > 0; n /= 10) {
      out += static_cast<char>('0' + rem / n);
      rem %= n;
    }
  }
  return out;
}

class QueueManager::Impl : public std::enable_shared_from_this<Impl> {
 public:
  Impl(asio::io_context& io, QueueStore& store, Maillog& log, SnapshotSource snapshots,
       AgentLookup agents, QmgrOptions options)
      : io_(io),
        store_(store),
        log_(log),
        snapshots_(std::move(snapshots)),
        agents_(std::move(agents)),
        options_(std::move(options)),
        scheduler_([this](std::string_view t) { return config_->LimitsFor(t); }),
        timer_(io) {}

  void Start();
  void Notify(std::string id);
  void Flush();
  void FlushSite(const std::string& domain);
  absl::Status Hold(std::string_view id);
  absl::Status Release(std::string_view id);
  absl::Status Delete(std::string_view id);
  absl::Status Requeue(std::string_view id);
  Status GetStatus() const;
  void Stop();
  void Tick();
  void OnDelivered(uint64_t job_id, DeliveryResult result);

 private:
  // Settings from one bundle generation.
  struct Config {
    std::shared_ptr<const tables::Snapshot> snapshot;
    std::unique_ptr<tables::RouteVm> vm;
    std::string no_vm_reason;
    int64_t min_backoff = 300 * kSecond, max_backoff = 4000 * kSecond;
    int64_t queue_run_delay = 300 * kSecond;
    int64_t max_lifetime = 5 * 86400 * kSecond, bounce_lifetime = 5 * 86400 * kSecond;
    int64_t delay_warning = 0;
    size_t active_limit = 20000;
    bool soft_bounce = false;
    std::vector<std::string> defer_transports;
    int delay_resolution = 2;
    std::string myhostname, myorigin, mail_name;
    std::string double_bounce;  // double-bounce@myorigin
    std::string double_bounce_rcpt, delay_rcpt;
    bool notify_2bounce = false, notify_delay = false;
    size_t bounce_size_limit = 50000;
    // smtputf8_enable: notices are written as UTF-8 (8bit), as Postfix 3 does.
    bool smtputf8_enable = true;
    int process_limit = 100;
    // Per transport, filled on first use (under the queue manager's mutex).
    mutable std::map<std::string, TransportLimits, std::less<>> limits;
    mutable std::map<std::string, std::string, std::less<>> process_names;

    TransportLimits LimitsFor(std::string_view transport) const;
    const std::string& ProcessName(std::string_view transport) const;
  };

  enum class Where { kIncoming, kDue, kDeferred, kHold };

  struct Msg {
    std::string id;
    MessageMeta meta;
    uint64_t size = 0;
    std::shared_ptr<const Config> config;  // in force at activation
    std::shared_ptr<const std::string> content;
    std::vector<std::string> final_address;  // per recipient, from routing
    int64_t active_since = 0;
    int jobs = 0;     // waiting in the scheduler or running
    int pending = 0;  // store writes and notices not yet completed
    bool flush = false;
    bool hold_requested = false, delete_requested = false, requeue_requested = false;
    bool bounce_tried = false, success_tried = false, expiry_checked = false,
         warn_checked = false;
    bool leaving = false;
  };

  struct InFlight {
    SchedulerJob job;
    std::string program;
    int64_t started = 0;
  };

  using Continuation = absl::AnyInvocable<void(Msg&, const absl::Status&)>;

  std::shared_ptr<const Config> BuildConfig(std::shared_ptr<const tables::Snapshot> snapshot) const;
  void RefreshConfig() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  int64_t Now() const { return options_.clock(); }

  void SetWhere(const std::string& id, Where where) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ClearWhere(const std::string& id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void AddDeferred(const std::string& id, int64_t when) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void AddIncoming(const std::string& id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::vector<std::string> KnownIds() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  void Progress() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The end of a postsuper-style request over `ids` (one ID or the
  // expansion of "ALL"): logs "ID: <done>" for each ID whose store update
  // succeeded (and that `logged` marks, when given), forgets IDs the store
  // no longer knows when `forget_missing`, lets the queue move, and returns
  // the first error (none for "ALL").
  absl::Status FinishAdmin(std::string_view id, const std::vector<std::string>& ids,
                           const std::vector<absl::Status>& results, std::string_view done,
                           const std::vector<bool>* logged, bool forget_missing)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Scan(int64_t now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Fill() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Activate(const std::string& id, bool flush) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Route(Msg& m) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Pump() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Dispatch(SchedulerJob job) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ArmTimer() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void OnTimer();
  void OnNotify(std::string id);
  void MaybeReclaim(bool copy_forward) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Logs one recipient's outcome and adds its record to `updates`.
  void Outcome(Msg& m, uint32_t index, RecipientStatus status, std::string_view log_status,
               std::string dsn, std::string text, std::string_view program, std::string_view relay,
               int64_t handoff, double connect_s, double transmit_s, std::string diagnostic,
               std::string remote_mta, std::vector<RecipientUpdate>* updates, bool logged = false)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // One delivery log line: "ID: to=<...>, orig_to=<...>, relay=..., delay=...,
  // delays=a/b/c/d, dsn=..., status=... (text)", as Postfix's log_adhoc.
  void LogDelivery(const Msg& m, std::string_view address, std::string_view original,
                   std::string_view log_status, std::string_view dsn, std::string_view text,
                   std::string_view program, std::string_view relay, int64_t handoff,
                   double connect_s, double transmit_s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  static std::string_view PartLogStatus(RecipientOutcome::Status status, const Config& c);
  void Defer(Msg& m, uint32_t index, std::string dsn, std::string reason, std::string_view program,
             std::vector<RecipientUpdate>* updates) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Write(Msg& m, MessageUpdate update, Continuation then = nullptr)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Record(Msg& m, std::vector<RecipientUpdate> updates) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Resume(const std::string& id, absl::Status status, Continuation then);
  void NoticeQueued(const std::string& id, const std::string& label, const std::string& message_id,
                    absl::StatusOr<std::string> queued, absl::AnyInvocable<void(Msg&, bool)> then);
  void MaybeFinalize(Msg& m) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Finalize(Msg& m) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Sends one notice of `kind` about `notify` (a subset of `all`; none: no
  // notice) and, once it is queued, records every recipient of `all` with
  // status `then`.
  void MarkNotified(Msg& m, BounceInput::Kind kind, const std::vector<uint32_t>& all,
                    const std::vector<uint32_t>& notify, RecipientStatus then)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void SendNotice(Msg& m, BounceInput::Kind kind, const std::vector<uint32_t>& indexes,
                  absl::AnyInvocable<void(Msg&, bool)> then) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Leave(Msg& m, std::optional<Where> where, int64_t next_attempt = 0)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void DropJobs(Msg& m) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Posts `fn` to the io_context if this Impl still lives then.
  template <typename Fn>
  void PostSelf(Fn fn) {
    asio::post(io_, [weak = weak_from_this(), fn = std::move(fn)]() mutable {
      if (std::shared_ptr<Impl> self = weak.lock()) fn(*self);
    });
  }

  asio::io_context& io_;
  QueueStore& store_;
  Maillog& log_;
  const SnapshotSource snapshots_;
  const AgentLookup agents_;
  const QmgrOptions options_;

  mutable absl::Mutex mu_;
  std::shared_ptr<const Config> config_ ABSL_GUARDED_BY(mu_);
  Scheduler scheduler_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, std::unique_ptr<Msg>> active_ ABSL_GUARDED_BY(mu_);
  // Messages not active, by where they wait. The FIFOs may hold stale IDs
  // (moved or deleted meanwhile): `where_` decides.
  absl::flat_hash_map<std::string, Where> where_ ABSL_GUARDED_BY(mu_);
  size_t counts_[4] ABSL_GUARDED_BY(mu_) = {0, 0, 0, 0};
  std::deque<std::string> incoming_ ABSL_GUARDED_BY(mu_);
  std::deque<std::string> due_ ABSL_GUARDED_BY(mu_);
  std::multimap<int64_t, std::string> deferred_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, std::multimap<int64_t, std::string>::iterator> deferred_pos_
      ABSL_GUARDED_BY(mu_);
  absl::flat_hash_set<std::string> flush_ids_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> ready_ ABSL_GUARDED_BY(mu_);  // active, maybe done
  std::map<uint64_t, InFlight> in_flight_ ABSL_GUARDED_BY(mu_);
  bool take_incoming_ ABSL_GUARDED_BY(mu_) = true;
  bool started_ ABSL_GUARDED_BY(mu_) = false;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  int64_t next_scan_ ABSL_GUARDED_BY(mu_) = 0;
  // Store space: finished segments are deleted at most once a second (by
  // the clock), and the oldest segment's live messages are copied forward
  // at each deferred-queue scan, so a long-deferred message does not pin it.
  int64_t last_reclaim_ ABSL_GUARDED_BY(mu_) = 0;
  bool reclaiming_ ABSL_GUARDED_BY(mu_) = false;
  asio::steady_timer timer_ ABSL_GUARDED_BY(mu_);
  int64_t armed_ ABSL_GUARDED_BY(mu_) = INT64_MAX;
};

// --- configuration ---------------------------------------------------------

TransportLimits QueueManager::Impl::Config::LimitsFor(std::string_view transport) const {
  auto cached = limits.find(transport);
  if (cached != limits.end()) return cached->second;
  ServiceParams qmgr(*snapshot, "qmgr/unix");
  ServiceParams service(*snapshot, Cat(transport, "/unix"));
  // Postfix's qmgr reads <transport>_destination_* from its own settings
  // (main.cf or its -o); the transport's service is the fallback for a
  // bundle without a qmgr service; built-in per-transport names
  // (local_destination_concurrency_limit) have their own default.
  auto value = [&](std::string_view suffix, std::string_view fallback) {
    std::string name = Cat(transport, suffix);
    if (qmgr.Has(name)) return qmgr.Str(name);
    if (service.Has(name)) return service.Str(name);
    if (tables::FindParam(name) != nullptr) return qmgr.Str(name);
    return qmgr.Str(fallback);
  };
  auto int_value = [&](std::string_view suffix, std::string_view fallback, int fallback_value) {
    int64_t v = 0;
    std::string text = value(suffix, fallback);
    if (!absl::SimpleAtoi(std::string(absl::StripAsciiWhitespace(text)), &v) || v < 0) {
      return fallback_value;
    }
    return static_cast<int>(std::min<int64_t>(v, 1 << 30));
  };
  TransportLimits l;
  l.concurrency_limit =
      int_value("_destination_concurrency_limit", "default_destination_concurrency_limit", 20);
  l.initial_concurrency =
      int_value("_initial_destination_concurrency", "initial_destination_concurrency", 5);
  l.recipient_limit =
      int_value("_destination_recipient_limit", "default_destination_recipient_limit", 50);
  l.failed_cohort_limit = int_value("_destination_concurrency_failed_cohort_limit",
                                    "default_destination_concurrency_failed_cohort_limit", 1);
  absl::Duration rate;
  if (ParsePostfixTime(value("_destination_rate_delay", "default_destination_rate_delay"), 's',
                       &rate)) {
    l.rate_delay_micros = ToMicros(rate);
  }
  if (ParsePostfixTime(value("_transport_rate_delay", "default_transport_rate_delay"), 's',
                       &rate)) {
    l.transport_rate_delay_micros = ToMicros(rate);
  }
  ParseFeedback(value("_destination_concurrency_positive_feedback",
                      "default_destination_concurrency_positive_feedback"),
                &l.positive_feedback);
  ParseFeedback(value("_destination_concurrency_negative_feedback",
                      "default_destination_concurrency_negative_feedback"),
                &l.negative_feedback);
  l.process_limit = process_limit;
  l.dead_micros = min_backoff;
  limits.emplace(std::string(transport), l);
  return l;
}

const std::string& QueueManager::Impl::Config::ProcessName(std::string_view transport) const {
  auto it = process_names.find(transport);
  if (it == process_names.end()) {
    std::optional<std::string_view> p =
        snapshot->ServiceParam(Cat(transport, "/unix"), "process_name");
    it = process_names.emplace(std::string(transport), p ? std::string(*p) : std::string()).first;
  }
  return it->second;
}

std::shared_ptr<const QueueManager::Impl::Config> QueueManager::Impl::BuildConfig(
    std::shared_ptr<const tables::Snapshot> snapshot) const {
  auto c = std::make_shared<Config>();
  c->snapshot = std::move(snapshot);
  const tables::Snapshot& s = *c->snapshot;
  tables::Snapshot::ParamMap merged;
  for (std::string_view name : kMainParams) {
    if (std::optional<std::string> v = MainParamValue(s, name)) merged[std::string(name)] = *v;
  }
  ServiceParams p(&merged);
  c->min_backoff = ToMicros(p.Time("minimal_backoff_time"));
  c->max_backoff = std::max(c->min_backoff, ToMicros(p.Time("maximal_backoff_time")));
  c->queue_run_delay = std::max<int64_t>(kSecond, ToMicros(p.Time("queue_run_delay")));
  c->max_lifetime = ToMicros(p.Time("maximal_queue_lifetime"));
  c->bounce_lifetime = std::min(c->max_lifetime, ToMicros(p.Time("bounce_queue_lifetime")));
  c->delay_warning = ToMicros(p.Time("delay_warning_time"));
  c->active_limit = static_cast<size_t>(std::max<int64_t>(1, p.Int("qmgr_message_active_limit")));
  c->soft_bounce = p.Bool("soft_bounce");
  for (const std::string& t : p.List("defer_transports")) c->defer_transports.push_back(t);
  c->delay_resolution = static_cast<int>(p.Int("delay_logging_resolution_limit"));
  c->myhostname = p.HostName();
  c->myorigin = p.Str("myorigin");
  if (c->myorigin.empty() || c->myorigin.find('$') != std::string::npos)
    c->myorigin = c->myhostname;
  c->mail_name = p.Str("mail_name");
  std::string db = p.Str("double_bounce_sender");
  c->double_bounce = db.find('@') == std::string::npos ? Cat(db, "@", c->myorigin) : db;
  auto qualify = [&](std::string a) {
    return a.find('@') == std::string::npos ? Cat(a, "@", c->myorigin) : a;
  };
  c->double_bounce_rcpt = qualify(p.Str("2bounce_notice_recipient"));
  c->delay_rcpt = qualify(p.Str("delay_notice_recipient"));
  for (const std::string& cls : p.List("notify_classes")) {
    std::string l = Lower(cls);
    if (l == "2bounce") c->notify_2bounce = true;
    if (l == "delay") c->notify_delay = true;
  }
  c->bounce_size_limit = static_cast<size_t>(std::max<int64_t>(1, p.Int("bounce_size_limit")));
  c->smtputf8_enable = p.Bool("smtputf8_enable");
  c->process_limit = static_cast<int>(std::max<int64_t>(0, p.Int("default_process_limit")));
  absl::StatusOr<std::unique_ptr<tables::RouteVm>> vm = SnapshotRouteVm(s);
  if (vm.ok()) {
    c->vm = std::move(*vm);
  } else {
    c->no_vm_reason = std::string(vm.status().message());
  }
  return c;
}

void QueueManager::Impl::RefreshConfig() {
  std::shared_ptr<const tables::Snapshot> snapshot = snapshots_ ? snapshots_() : nullptr;
  if (snapshot == nullptr) return;
  if (config_ != nullptr && config_->snapshot == snapshot) return;
  config_ = BuildConfig(std::move(snapshot));
  if (!config_->no_vm_reason.empty()) {
    log_.Warning("qmgr", Cat("mail is deferred: ", config_->no_vm_reason));
  }
}

// --- where messages wait ---------------------------------------------------

void QueueManager::Impl::SetWhere(const std::string& id, Where where) {
  auto [it, inserted] = where_.try_emplace(id, where);
  if (!inserted) {
    --counts_[static_cast<int>(it->second)];
    if (it->second == Where::kDeferred) {
      auto pos = deferred_pos_.find(id);
      if (pos != deferred_pos_.end()) {
        deferred_.erase(pos->second);
        deferred_pos_.erase(pos);
      }
    }
    it->second = where;
  }
  ++counts_[static_cast<int>(where)];
}

void QueueManager::Impl::ClearWhere(const std::string& id) {
  auto it = where_.find(id);
  if (it == where_.end()) return;
  --counts_[static_cast<int>(it->second)];
  if (it->second == Where::kDeferred) {
    auto pos = deferred_pos_.find(id);
    if (pos != deferred_pos_.end()) {
      deferred_.erase(pos->second);
      deferred_pos_.erase(pos);
    }
  }
  where_.erase(it);
}

void QueueManager::Impl::AddDeferred(const std::string& id, int64_t when) {
  SetWhere(id, Where::kDeferred);
  deferred_pos_[id] = deferred_.emplace(when, id);
}

void QueueManager::Impl::AddIncoming(const std::string& id) {
  SetWhere(id, Where::kIncoming);
  incoming_.push_back(id);
}

std::vector<std::string> QueueManager::Impl::KnownIds() const {
  std::vector<std::string> ids;
  ids.reserve(where_.size() + active_.size());
  for (const auto& [id, w] : where_) ids.push_back(id);
  for (const auto& [id, m] : active_) ids.push_back(id);
  std::sort(ids.begin(), ids.end());
  return ids;
}

// --- the main loop ---------------------------------------------------------

void QueueManager::Impl::Start() {
  absl::MutexLock lock(&mu_);
  if (started_ || stopped_) return;
  started_ = true;
  RefreshConfig();
  int64_t now = Now();
  for (const QueuedMessage& q : store_.List()) {
    const MessageMeta& meta = q.meta;
    bool bouncing =
        std::any_of(meta.recipients.begin(), meta.recipients.end(),
                    [](const QueueRecipient& r) { return r.status == RecipientStatus::kBouncing; });
    switch (meta.state) {
      case MessageState::kHold:
        SetWhere(meta.id, Where::kHold);
        break;
      case MessageState::kDeferred:
        // A notice that was not queued before the stop goes out now.
        if (bouncing) {
          AddIncoming(meta.id);
        } else {
          AddDeferred(meta.id, meta.next_attempt_micros);
        }
        break;
      case MessageState::kIncoming:
      case MessageState::kActive:
        // An active message was in the middle of a pass: start it again
        // (its recorded outcomes stay recorded).
        AddIncoming(meta.id);
        break;
    }
  }
  Scan(now);
  next_scan_ = now + (config_ ? config_->queue_run_delay : 300 * kSecond);
  Progress();
}

void QueueManager::Impl::Notify(std::string id) {
  PostSelf([id = std::move(id)](Impl& self) mutable { self.OnNotify(std::move(id)); });
}

void QueueManager::Impl::OnNotify(std::string id) {
  absl::MutexLock lock(&mu_);
  if (stopped_ || where_.contains(id) || active_.contains(id)) return;
  AddIncoming(id);
  if (started_) Progress();
}

void QueueManager::Impl::Tick() {
  absl::MutexLock lock(&mu_);
  if (stopped_ || !started_) return;
  RefreshConfig();
  int64_t now = Now();
  if (now >= next_scan_) {
    Scan(now);
    next_scan_ = now + (config_ ? config_->queue_run_delay : 300 * kSecond);
    MaybeReclaim(/*copy_forward=*/true);
  }
  scheduler_.Tick(now);
  Progress();
}

void QueueManager::Impl::OnTimer() {
  {
    absl::MutexLock lock(&mu_);
    armed_ = INT64_MAX;
  }
  Tick();
}

void QueueManager::Impl::Scan(int64_t now) {
  while (!deferred_.empty() && deferred_.begin()->first <= now) {
    std::string id = deferred_.begin()->second;
    SetWhere(id, Where::kDue);  // also drops the deferred_ entry
    due_.push_back(std::move(id));
  }
}

void QueueManager::Impl::MaybeReclaim(bool copy_forward) {
  if (reclaiming_ || stopped_) return;
  reclaiming_ = true;
  last_reclaim_ = Now();
  // Deleting segments syncs the directory: not under the mutex.
  PostSelf([copy_forward](Impl& self) {
    absl::Status st = self.store_.Reclaim(copy_forward);
    if (!st.ok()) {
      self.log_.Warning("qmgr", Cat("queue space reclaim: ", std::string(st.message())));
    }
    absl::MutexLock lock(&self.mu_);
    self.reclaiming_ = false;
  });
}

void QueueManager::Impl::Progress() {
  if (stopped_) return;
  if (Now() - last_reclaim_ >= kSecond) MaybeReclaim(/*copy_forward=*/false);
  do {
    Fill();
    std::vector<std::string> ready;
    ready.swap(ready_);
    for (const std::string& id : ready) {
      auto it = active_.find(id);
      if (it != active_.end()) MaybeFinalize(*it->second);
    }
    Pump();
  } while (!ready_.empty());
  ArmTimer();
}

void QueueManager::Impl::Fill() {
  RefreshConfig();
  if (config_ == nullptr) return;
  while (active_.size() < config_->active_limit) {
    // Incoming and deferred mail take turns, so neither starves the other.
    std::optional<std::string> next;
    for (int attempt = 0; attempt < 2 && !next; ++attempt) {
      bool incoming = take_incoming_ != (attempt == 1);
      std::deque<std::string>& fifo = incoming ? incoming_ : due_;
      Where want = incoming ? Where::kIncoming : Where::kDue;
      while (!fifo.empty()) {
        std::string id = std::move(fifo.front());
        fifo.pop_front();
        auto w = where_.find(id);
        if (w != where_.end() && w->second == want) {
          next = std::move(id);
          break;
        }
      }
    }
    if (!next) break;
    take_incoming_ = !take_incoming_;
    ClearWhere(*next);
    Activate(*next, flush_ids_.erase(*next) > 0);
  }
}

void QueueManager::Impl::Activate(const std::string& id, bool flush) {
  absl::StatusOr<QueuedMessage> info = store_.Info(id);
  if (!info.ok()) return;  // removed meanwhile
  if (info->meta.state == MessageState::kHold) {
    SetWhere(id, Where::kHold);
    return;
  }
  auto owned = std::make_unique<Msg>();
  Msg& m = *owned;
  m.id = id;
  m.meta = std::move(info->meta);
  m.size = info->message_size;
  m.config = config_;
  m.active_since = Now();
  m.flush = flush;
  m.final_address.resize(m.meta.recipients.size());
  active_.emplace(id, std::move(owned));
  size_t waiting =
      std::count_if(m.meta.recipients.begin(), m.meta.recipients.end(),
                    [](const QueueRecipient& r) { return RecipientNeedsDelivery(r.status); });
  log_.Info("qmgr", Cat(id, ": from=<", LogSafe(ExternalLogForm(m.meta.sender)), ">, size=", m.size,
                        ", nrcpt=", waiting, " (queue active)"));
  MessageUpdate active;
  active.state = MessageState::kActive;
  store_.Update(id, std::move(active), nullptr);
  Route(m);
  ready_.push_back(id);
}

void QueueManager::Impl::Route(Msg& m) {
  const Config& c = *m.config;
  std::vector<RecipientRoute> routes;
  std::vector<RecipientUpdate> updates;
  for (uint32_t i = 0; i < m.meta.recipients.size(); ++i) {
    const QueueRecipient& r = m.meta.recipients[i];
    if (!RecipientNeedsDelivery(r.status)) continue;
    // Mail to the double-bounce address is a notice about a failed notice:
    // it goes nowhere.
    if (SameAddress(r.address, c.double_bounce)) {
      log_.Warning("qmgr", Cat(m.id, ": undeliverable postmaster notification discarded"));
      Outcome(m, i, RecipientStatus::kDone, "sent", "2.0.0",
              "undeliverable postmaster notification discarded", "qmgr", "none", 0, 0, 0, "", "",
              &updates);
      continue;
    }
    if (c.vm == nullptr) {
      Defer(m, i, "4.3.0", c.no_vm_reason, "qmgr", &updates);
      continue;
    }
    tables::RouteRunResult rr = c.vm->Resolve(m.meta.sender, r.address, m.meta.filter);
    if (rr.deferred) {
      Defer(m, i, "4.3.0", rr.reason.empty() ? "address resolver failure" : rr.reason, "qmgr",
            &updates);
      continue;
    }
    if (!m.flush && std::find(c.defer_transports.begin(), c.defer_transports.end(), rr.transport) !=
                        c.defer_transports.end()) {
      Defer(m, i, "4.3.2", "deferred transport", "error", &updates);
      continue;
    }
    const std::string& process = c.ProcessName(rr.transport);
    if (process.empty() || agents_ == nullptr || agents_(process) == nullptr) {
      Defer(m, i, "4.3.0", "mail transport unavailable", "error", &updates);
      continue;
    }
    m.final_address[i] = rr.addresses.empty() ? r.address : rr.addresses[0];
    routes.push_back(
        RecipientRoute{i, rr.transport, rr.nexthop, m.final_address[i], rr.source, rr.source6});
  }
  // The recipient that sorts first names its destination's next hop.
  std::stable_sort(
      routes.begin(), routes.end(),
      [](const RecipientRoute& a, const RecipientRoute& b) { return a.address < b.address; });
  Scheduler::AddResult added = scheduler_.Add(m.id, routes);
  m.jobs += static_cast<int>(added.jobs);
  for (const Scheduler::Suspended& s : added.suspended) {
    Defer(m, s.index, s.dsn, s.reason, "error", &updates);
  }
  Record(m, std::move(updates));
}

void QueueManager::Impl::Pump() {
  if (stopped_ || config_ == nullptr) return;
  int64_t now = Now();
  while (std::optional<SchedulerJob> job = scheduler_.Next(now)) Dispatch(std::move(*job));
}

namespace {

asio::awaitable<void> RunDelivery(std::weak_ptr<QueueManager::Impl> weak, DeliveryAgent* agent,
                                  DeliveryRequest request, uint64_t job_id) {
  DeliveryResult result;
  try {
    result = co_await agent->Deliver(request);
  } catch (const std::exception& e) {
    // The contract says agents do not throw; if one does, nothing is lost.
    result = DeliveryResult();
    for (const DeliveryRecipient& r : request.recipients) {
      RecipientOutcome o;
      o.index = r.index;
      o.status = RecipientOutcome::Status::kDeferred;
      o.dsn = "4.3.0";
      o.text = Cat("delivery agent failure: ", e.what());
      result.outcomes.push_back(std::move(o));
    }
  }
  if (std::shared_ptr<QueueManager::Impl> self = weak.lock()) {
    self->OnDelivered(job_id, std::move(result));
  }
}

}  // namespace

void QueueManager::Impl::Dispatch(SchedulerJob job) {
  int64_t now = Now();
  auto it = active_.find(job.message_id);
  if (it == active_.end()) {  // cannot happen: jobs leave with their message
    scheduler_.Done(job.id, {}, now);
    return;
  }
  Msg& m = *it->second;
  const std::string& process = config_->ProcessName(job.transport);
  DeliveryAgent* agent = process.empty() || !agents_ ? nullptr : agents_(process);
  std::string problem;
  if (agent == nullptr) {
    problem = "mail transport unavailable";
  } else if (m.content == nullptr) {
    absl::StatusOr<std::string> content = store_.ReadContent(m.id);
    if (content.ok()) {
      m.content = std::make_shared<const std::string>(std::move(*content));
    } else {
      log_.Warning(
          "qmgr",
          Cat(m.id, ": cannot read the queued message: ", std::string(content.status().message())));
      problem = "queue file read error";
    }
  }
  if (!problem.empty()) {
    std::vector<RecipientUpdate> updates;
    for (uint32_t index : job.recipients) Defer(m, index, "4.3.0", problem, "qmgr", &updates);
    Record(m, std::move(updates));
    scheduler_.Done(job.id, {}, now);
    --m.jobs;
    ready_.push_back(m.id);
    return;
  }
  DeliveryRequest request;
  request.queue_id = m.id;
  request.sender = m.meta.sender;
  request.transport = job.transport;
  request.nexthop = job.nexthop;
  request.source = job.source;
  request.source6 = job.source6;
  for (uint32_t index : job.recipients) {
    const QueueRecipient& r = m.meta.recipients[index];
    request.recipients.push_back(DeliveryRecipient{
        index, m.final_address[index], r.original.empty() ? r.address : r.original, r.notify,
        r.orcpt});
  }
  request.dsn_envid = m.meta.dsn_envid;
  request.content = m.content;
  request.message_size = m.size;
  request.arrival_micros = m.meta.arrival_micros;
  request.flags = m.meta.flags;
  request.snapshot = config_->snapshot;
  request.service = Cat(job.transport, "/unix");
  uint64_t job_id = job.id;
  in_flight_.emplace(job_id, InFlight{std::move(job), process, now});
  // Started from a posted handler: never inside this call, and never under
  // the mutex.
  asio::any_io_executor where = options_.delivery_executor ? options_.delivery_executor()
                                                           : asio::any_io_executor(io_.get_executor());
  asio::post(io_, [weak = weak_from_this(), agent, request = std::move(request), job_id,
                   where]() mutable {
    asio::co_spawn(where, RunDelivery(std::move(weak), agent, std::move(request), job_id),
                   asio::detached);
  });
}

void QueueManager::Impl::OnDelivered(uint64_t job_id, DeliveryResult result) {
  absl::MutexLock lock(&mu_);
  auto f = in_flight_.find(job_id);
  if (f == in_flight_.end()) return;
  InFlight flight = std::move(f->second);
  in_flight_.erase(f);
  int64_t now = Now();
  Scheduler::Feedback feedback;
  if (!result.destination_failure.empty()) {
    feedback.destination_failed = true;
    feedback.reason = result.destination_failure;
    feedback.dsn =
        result.destination_failure_dsn.empty() ? "4.4.1" : result.destination_failure_dsn;
  }
  Scheduler::DoneResult done = scheduler_.Done(job_id, feedback, now);
  auto it = active_.find(flight.job.message_id);
  if (it != active_.end()) {
    Msg& m = *it->second;
    --m.jobs;
    if (!m.delete_requested) {
      // relay=, with conn_use= after it for a reused connection (log_adhoc).
      const std::string relay = result.conn_use > 1
                                    ? Cat(result.relay, ", conn_use=", result.conn_use)
                                    : result.relay;
      std::map<size_t, const RecipientOutcome*> by_index;
      for (const RecipientOutcome& o : result.outcomes) by_index.emplace(o.index, &o);
      std::vector<RecipientUpdate> updates;
      for (uint32_t index : flight.job.recipients) {
        auto o = by_index.find(index);
        if (o == by_index.end()) {
          Outcome(m, index, RecipientStatus::kDeferred, "deferred", "4.3.0",
                  "delivery agent reported no status", flight.program, relay, flight.started,
                  result.connect_seconds, result.transmit_seconds, "", "", &updates);
          continue;
        }
        const RecipientOutcome& out = *o->second;
        // An expansion logs its own lines; the recipient's record follows.
        for (const RecipientOutcome::Part& part : out.parts)
          LogDelivery(m, part.address, part.original, PartLogStatus(part.status, *m.config),
                      part.dsn, part.text, flight.program, relay, flight.started,
                      result.connect_seconds, result.transmit_seconds);
        const bool logged = !out.parts.empty();
        std::string dsn = out.dsn;
        switch (out.status) {
          case RecipientOutcome::Status::kSent:
            if (dsn.empty() || dsn[0] != '2') dsn = "2.0.0";
            // NOTIFY=SUCCESS: the success notice is still owed unless the
            // next hop took the request over.
            Outcome(m, index,
                    DsnWantsSuccess(m.meta.recipients[index].notify) && !out.dsn_passed_on
                        ? RecipientStatus::kDelivering
                        : RecipientStatus::kDone,
                    "sent", dsn, out.text, flight.program,
                    relay, flight.started, result.connect_seconds, result.transmit_seconds,
                    out.diagnostic, out.remote_mta, &updates, logged);
            break;
          case RecipientOutcome::Status::kDeferred:
            if (dsn.empty() || (dsn[0] != '4' && dsn[0] != '5')) dsn = "4.0.0";
            Outcome(m, index, RecipientStatus::kDeferred, "deferred", dsn, out.text, flight.program,
                    relay, flight.started, result.connect_seconds, result.transmit_seconds,
                    out.diagnostic, out.remote_mta, &updates, logged);
            break;
          case RecipientOutcome::Status::kBounced:
            if (dsn.empty() || (dsn[0] != '4' && dsn[0] != '5')) dsn = "5.0.0";
            if (m.config->soft_bounce) {
              dsn[0] = '4';
              Outcome(m, index, RecipientStatus::kDeferred, "SOFTBOUNCE", dsn, out.text,
                      flight.program, relay, flight.started, result.connect_seconds,
                      result.transmit_seconds, out.diagnostic, out.remote_mta, &updates, logged);
            } else {
              Outcome(m, index, RecipientStatus::kBouncing, "bounced", dsn, out.text,
                      flight.program, relay, flight.started, result.connect_seconds,
                      result.transmit_seconds, out.diagnostic, out.remote_mta, &updates, logged);
            }
            break;
        }
      }
      Record(m, std::move(updates));
    }
    ready_.push_back(m.id);
  }
  // A destination that just died takes the jobs still waiting for it along.
  for (SchedulerJob& job : done.suspended) {
    auto other = active_.find(job.message_id);
    if (other == active_.end()) continue;
    Msg& m = *other->second;
    --m.jobs;
    std::vector<RecipientUpdate> updates;
    for (uint32_t index : job.recipients) {
      Defer(m, index, done.suspended_dsn, done.suspended_reason, "error", &updates);
    }
    Record(m, std::move(updates));
    ready_.push_back(m.id);
  }
  Progress();
}

// --- outcomes and records --------------------------------------------------

void QueueManager::Impl::Outcome(Msg& m, uint32_t index, RecipientStatus status,
                                 std::string_view log_status, std::string dsn, std::string text,
                                 std::string_view program, std::string_view relay, int64_t handoff,
                                 double connect_s, double transmit_s, std::string diagnostic,
                                 std::string remote_mta, std::vector<RecipientUpdate>* updates,
                                 bool logged) {
  QueueRecipient& r = m.meta.recipients[index];
  if (!logged)
    LogDelivery(m, r.address, r.original, log_status, dsn, text, program, relay, handoff,
                connect_s, transmit_s);
  r.status = status;
  r.reason = text;
  r.dsn = dsn;
  r.diagnostic = diagnostic;
  r.remote_mta = remote_mta;
  updates->push_back(RecipientUpdate{index, status, std::move(text), std::move(dsn),
                                     std::move(diagnostic), std::move(remote_mta)});
}

std::string_view QueueManager::Impl::PartLogStatus(RecipientOutcome::Status status,
                                                   const Config& c) {
  switch (status) {
    case RecipientOutcome::Status::kSent:
      return "sent";
    case RecipientOutcome::Status::kDeferred:
      return "deferred";
    case RecipientOutcome::Status::kBounced:
      return c.soft_bounce ? "SOFTBOUNCE" : "bounced";
  }
  return "deferred";
}

void QueueManager::Impl::LogDelivery(const Msg& m, std::string_view address,
                                     std::string_view original, std::string_view log_status,
                                     std::string_view dsn, std::string_view text,
                                     std::string_view program, std::string_view relay,
                                     int64_t handoff, double connect_s, double transmit_s) {
  int64_t now = Now();
  int res = m.config->delay_resolution;
  const int64_t arrival = m.meta.arrival_micros;
  // delays=a/b/c/d: before the active queue, in the active queue, connection
  // setup, transmission (Postfix's log_adhoc).
  int64_t before = m.active_since - arrival;
  int64_t in_active = (handoff > 0 ? handoff : now) - m.active_since;
  int64_t setup = handoff > 0 ? static_cast<int64_t>(connect_s * 1e6) : 0;
  int64_t transfer = handoff > 0 ? static_cast<int64_t>(transmit_s * 1e6) : 0;
  if (handoff > 0 && setup == 0 && transfer == 0) transfer = now - handoff;
  std::string line = Cat(m.id, ": to=<", LogSafe(ExternalLogForm(address)), ">");
  if (!original.empty() && !SameAddress(original, address)) {
    line += Cat(", orig_to=<", LogSafe(ExternalLogForm(original)), ">");
  }
  line += Cat(", relay=", LogSafe(relay), ", delay=", FormatDelay(now - arrival, res),
              ", delays=", FormatDelay(before, res), "/", FormatDelay(in_active, res), "/",
              FormatDelay(setup, res), "/", FormatDelay(transfer, res), ", dsn=", dsn,
              ", status=", log_status, " (", LogSafe(text), ")");
  log_.Info(program, line);
}

void QueueManager::Impl::Defer(Msg& m, uint32_t index, std::string dsn, std::string reason,
                               std::string_view program, std::vector<RecipientUpdate>* updates) {
  Outcome(m, index, RecipientStatus::kDeferred, "deferred", std::move(dsn), std::move(reason),
          program, "none", 0, 0, 0, "", "", updates);
}

void QueueManager::Impl::Write(Msg& m, MessageUpdate update, Continuation then) {
  ++m.pending;
  store_.Update(m.id, std::move(update),
                [weak = weak_from_this(), &io = io_, id = m.id,
                 then = std::move(then)](absl::Status status) mutable {
                  // On the store's commit thread: hand over to the io_context.
                  asio::post(io, [weak = std::move(weak), id = std::move(id),
                                  then = std::move(then), status = std::move(status)]() mutable {
                    if (std::shared_ptr<Impl> self = weak.lock()) {
                      self->Resume(id, std::move(status), std::move(then));
                    }
                  });
                });
}

void QueueManager::Impl::Record(Msg& m, std::vector<RecipientUpdate> updates) {
  if (updates.empty()) return;
  MessageUpdate update;
  update.recipients = std::move(updates);
  Write(m, std::move(update));
}

void QueueManager::Impl::Resume(const std::string& id, absl::Status status, Continuation then) {
  absl::MutexLock lock(&mu_);
  auto it = active_.find(id);
  if (it == active_.end()) return;
  Msg& m = *it->second;
  --m.pending;
  if (!status.ok() && !absl::IsNotFound(status)) {
    log_.Warning("qmgr",
                 Cat(id, ": cannot record the delivery status: ", std::string(status.message())));
  }
  if (then) then(m, status);
  ready_.push_back(id);  // `then` may have ended the pass: look it up again
  Progress();
}

void QueueManager::Impl::MaybeFinalize(Msg& m) {
  if (m.jobs == 0 && m.pending == 0 && !m.leaving) Finalize(m);
}

void QueueManager::Impl::Finalize(Msg& m) {
  const Config& c = *m.config;
  int64_t now = Now();
  if (m.delete_requested) {
    Leave(m, std::nullopt);
    return;
  }
  // 1. One non-delivery notice for the recipients that failed (those whose
  // NOTIFY= excludes FAILURE are only marked bounced).
  std::vector<uint32_t> failed, failed_notify;
  for (uint32_t i = 0; i < m.meta.recipients.size(); ++i) {
    const QueueRecipient& r = m.meta.recipients[i];
    if (r.status != RecipientStatus::kBouncing) continue;
    failed.push_back(i);
    if (DsnWantsFailure(r.notify)) failed_notify.push_back(i);
  }
  if (!failed.empty() && !m.bounce_tried) {
    m.bounce_tried = true;
    MarkNotified(m, BounceInput::Kind::kFailure, failed, failed_notify, RecipientStatus::kBounced);
    return;
  }
  // 2. One success notice for the delivered recipients that asked for it.
  std::vector<uint32_t> delivered;
  for (uint32_t i = 0; i < m.meta.recipients.size(); ++i) {
    if (m.meta.recipients[i].status == RecipientStatus::kDelivering) delivered.push_back(i);
  }
  if (!delivered.empty() && !m.success_tried) {
    m.success_tried = true;
    MarkNotified(m, BounceInput::Kind::kSuccess, delivered, delivered, RecipientStatus::kDone);
    return;
  }
  bool unfinished =
      std::any_of(m.meta.recipients.begin(), m.meta.recipients.end(),
                  [](const QueueRecipient& r) { return !RecipientFinished(r.status); });
  if (!unfinished) {
    log_.Info("qmgr", Cat(m.id, ": removed"));
    Leave(m, std::nullopt);
    return;
  }
  if (m.hold_requested) {
    Leave(m, Where::kHold);
    return;
  }
  if (m.requeue_requested) {
    Leave(m, Where::kIncoming);
    return;
  }
  std::vector<uint32_t> waiting;
  for (uint32_t i = 0; i < m.meta.recipients.size(); ++i) {
    if (RecipientNeedsDelivery(m.meta.recipients[i].status)) waiting.push_back(i);
  }
  // 3. Too old: what is still deferred is returned to the sender.
  if (!waiting.empty() && !m.expiry_checked) {
    m.expiry_checked = true;
    int64_t lifetime = m.meta.sender.empty() ? c.bounce_lifetime : c.max_lifetime;
    if (!c.soft_bounce && now >= m.meta.arrival_micros + lifetime) {
      log_.Info("qmgr", Cat(m.id, ": from=<", LogSafe(ExternalLogForm(m.meta.sender)),
                            ">, status=expired, returned to sender"));
      std::vector<RecipientUpdate> updates;
      for (uint32_t i : waiting) {
        QueueRecipient& r = m.meta.recipients[i];
        r.status = RecipientStatus::kBouncing;
        updates.push_back(RecipientUpdate{i, RecipientStatus::kBouncing, r.reason, r.dsn,
                                          r.diagnostic, r.remote_mta});
      }
      m.bounce_tried = false;
      Record(m, std::move(updates));
      return;
    }
  }
  // 4. The one delay notice, for the recipients whose NOTIFY= allows it.
  std::vector<uint32_t> warn;
  for (uint32_t i : waiting)
    if (DsnWantsDelay(m.meta.recipients[i].notify)) warn.push_back(i);
  if (!warn.empty() && !m.warn_checked) {
    m.warn_checked = true;
    if (c.delay_warning > 0 && !m.meta.delay_warned &&
        now >= m.meta.arrival_micros + c.delay_warning - kSecond) {
      SendNotice(m, BounceInput::Kind::kDelay, warn, [](Msg& msg, bool queued) {
        msg.meta.delay_warned = msg.meta.delay_warned || queued;
      });
      return;
    }
  }
  // 5. Deferred: retry after the message's age, within the backoff bounds.
  int64_t delay = std::clamp(now - m.meta.arrival_micros, c.min_backoff, c.max_backoff);
  ScheduleUpdate schedule{now + delay, m.meta.attempts + 1, m.meta.delay_warned};
  MessageUpdate update;
  update.state = MessageState::kDeferred;
  update.schedule = schedule;
  m.leaving = true;
  Write(m, std::move(update),
        [this, schedule](Msg& msg, const absl::Status&) ABSL_NO_THREAD_SAFETY_ANALYSIS {
          Leave(msg, Where::kDeferred, schedule.next_attempt_micros);
        });
}

void QueueManager::Impl::MarkNotified(Msg& m, BounceInput::Kind kind,
                                      const std::vector<uint32_t>& all,
                                      const std::vector<uint32_t>& notify, RecipientStatus then) {
  auto mark = [this, all, then](Msg& msg, bool queued) ABSL_NO_THREAD_SAFETY_ANALYSIS {
    if (!queued) return;  // they keep their status: the next pass tries again
    std::vector<RecipientUpdate> updates;
    for (uint32_t i : all) {
      QueueRecipient& r = msg.meta.recipients[i];
      r.status = then;
      updates.push_back(RecipientUpdate{i, then, r.reason, r.dsn, r.diagnostic, r.remote_mta});
    }
    Record(msg, std::move(updates));
  };
  if (notify.empty()) {
    mark(m, true);
    ready_.push_back(m.id);
    return;
  }
  SendNotice(m, kind, notify, std::move(mark));
}

void QueueManager::Impl::SendNotice(Msg& m, BounceInput::Kind kind,
                                    const std::vector<uint32_t>& indexes,
                                    absl::AnyInvocable<void(Msg&, bool)> then) {
  const Config& c = *m.config;
  const std::string& sender = m.meta.sender;
  const bool failure = kind == BounceInput::Kind::kFailure;
  const bool success = kind == BounceInput::Kind::kSuccess;
  std::string to, from, label;
  if (success) {
    // Nothing goes to the null sender or the double-bounce address.
    if (!sender.empty() && !SameAddress(sender, c.double_bounce)) {
      to = sender;
      label = "sender delivery status notification";
    }
  } else if (sender.empty()) {
    // A notice about a notice goes to the postmaster, when asked for.
    if (failure ? c.notify_2bounce : c.notify_delay) {
      to = failure ? c.double_bounce_rcpt : c.delay_rcpt;
      from = c.double_bounce;
      label = failure ? "postmaster non-delivery notification" : "postmaster delay notification";
    }
  } else if (SameAddress(sender, c.double_bounce)) {
    if (failure) {
      log_.Warning("bounce", Cat(m.id, ": undeliverable postmaster notification discarded"));
    }
  } else {
    to = sender;
    label = failure ? "sender non-delivery notification" : "sender delay notification";
  }
  if (to.empty()) {
    then(m, true);  // nothing to send counts as done
    ready_.push_back(m.id);
    return;
  }
  if (m.content == nullptr) {
    absl::StatusOr<std::string> content = store_.ReadContent(m.id);
    // Best effort, as Postfix: a notice goes out even without the original.
    m.content =
        std::make_shared<const std::string>(content.ok() ? std::move(*content) : std::string());
  }
  int64_t now = Now();
  QueueIdReservation reserved = store_.ReserveQueueId();
  BounceInput in;
  in.kind = kind;
  in.queue_id = m.id;
  in.sender = sender;
  in.myhostname = c.myhostname;
  in.mail_name = c.mail_name;
  in.arrival_micros = m.meta.arrival_micros;
  in.now_micros = now;
  in.notice_queue_id = reserved.id;
  for (uint32_t i : indexes) {
    const QueueRecipient& r = m.meta.recipients[i];
    // A success relayed to a next hop that takes no DSN is "relayed".
    std::string action = failure   ? "failed"
                         : success ? (r.remote_mta.empty() ? "delivered" : "relayed")
                                   : "delayed";
    BounceRecipient b{r.address, r.original, r.dsn, action, r.diagnostic, r.remote_mta, r.reason};
    b.orcpt = r.orcpt;
    in.recipients.push_back(std::move(b));
  }
  in.dsn_envid = m.meta.dsn_envid;
  // A success notice returns the headers only, whatever RET= says.
  in.return_headers_only = success || (m.meta.flags & kMessageDsnRetHeaders) != 0;
  in.original_message = *m.content;
  in.bounce_size_limit = c.bounce_size_limit;
  in.delay_warning_time = absl::Microseconds(c.delay_warning);
  in.maximal_queue_lifetime =
      absl::Microseconds(sender.empty() ? c.bounce_lifetime : c.max_lifetime);
  in.eight_bit = c.smtputf8_enable || (m.meta.flags & kMessage8BitMime) != 0;
  std::string text = ComposeDeliveryStatusNotice(in);
  // For the "message-id=" line cleanup would log for it.
  std::string message_id = MessageIdOf(text).value_or("");
  NewMessage notice;
  notice.sender = from;
  notice.recipients = {to};
  notice.flags = in.eight_bit ? kMessage8BitMime : 0;
  notice.reserved = std::move(reserved);
  ++m.pending;
  store_.Enqueue(notice, text,
                 [weak = weak_from_this(), &io = io_, id = m.id, label, message_id,
                  then = std::move(then)](absl::StatusOr<std::string> queued) mutable {
                   asio::post(io, [weak = std::move(weak), id = std::move(id),
                                   label = std::move(label), message_id = std::move(message_id),
                                   then = std::move(then), queued = std::move(queued)]() mutable {
                     if (std::shared_ptr<Impl> self = weak.lock()) {
                       self->NoticeQueued(id, label, message_id, std::move(queued),
                                          std::move(then));
                     }
                   });
                 });
}

void QueueManager::Impl::NoticeQueued(const std::string& id, const std::string& label,
                                      const std::string& message_id,
                                      absl::StatusOr<std::string> queued,
                                      absl::AnyInvocable<void(Msg&, bool)> then) {
  absl::MutexLock lock(&mu_);
  if (queued.ok()) {
    if (!message_id.empty()) log_.Info("cleanup", Cat(*queued, ": message-id=", message_id));
    log_.Info("bounce", Cat(id, ": ", label, ": ", *queued));
    AddIncoming(*queued);  // the notice is mail like any other
  } else {
    log_.Warning("bounce", Cat(id, ": cannot queue the ", label, ": ",
                               std::string(queued.status().message())));
  }
  auto it = active_.find(id);
  if (it != active_.end()) {
    Msg& m = *it->second;
    --m.pending;
    then(m, queued.ok());
    ready_.push_back(id);
  }
  Progress();
}

void QueueManager::Impl::Leave(Msg& m, std::optional<Where> where, int64_t next_attempt) {
  // An admin request that came while the message finished its pass wins.
  bool keep = where.has_value() && !m.delete_requested;
  Where target = where.value_or(Where::kIncoming);
  if (m.hold_requested) {
    target = Where::kHold;
  } else if (m.requeue_requested) {
    target = Where::kIncoming;
  }
  std::string id = m.id;
  active_.erase(id);  // m is gone from here on
  if (!keep) return;
  if (target == Where::kIncoming) {
    AddIncoming(id);
  } else if (target == Where::kDeferred) {
    AddDeferred(id, next_attempt);
  } else {
    SetWhere(id, target);
  }
}

void QueueManager::Impl::DropJobs(Msg& m) {
  std::vector<SchedulerJob> removed = scheduler_.RemoveMessage(m.id);
  m.jobs -= static_cast<int>(removed.size());
  ready_.push_back(m.id);
}

void QueueManager::Impl::ArmTimer() {
  if (stopped_) return;
  int64_t deadline = std::min(next_scan_, scheduler_.NextWakeup());
  if (deadline == armed_) return;
  armed_ = deadline;
  if (deadline == INT64_MAX) {
    timer_.cancel();
    return;
  }
  int64_t delay = std::max<int64_t>(0, deadline - Now());
  timer_.expires_after(std::chrono::microseconds(delay));
  timer_.async_wait([weak = weak_from_this()](const asio::error_code& ec) {
    if (ec) return;
    if (std::shared_ptr<Impl> self = weak.lock()) self->OnTimer();
  });
}

// --- admin -----------------------------------------------------------------

namespace {

// Waits for a number of store callbacks (on the commit thread) and keeps
// their results, in order of the IDs.
class Waiter {
 public:
  explicit Waiter(size_t n) : results_(n), counter_(static_cast<int>(n)) {}
  QueueStore::DoneCallback Slot(size_t i) {
    return [this, i](absl::Status s) {
      results_[i] = std::move(s);
      counter_.DecrementCount();
    };
  }
  const std::vector<absl::Status>& Wait() {
    counter_.Wait();
    return results_;
  }

 private:
  std::vector<absl::Status> results_;
  absl::BlockingCounter counter_;
};

}  // namespace

absl::Status QueueManager::Impl::Hold(std::string_view id) {
  std::vector<std::string> ids;
  std::unique_ptr<Waiter> waiter;
  {
    absl::MutexLock lock(&mu_);
    if (id == "ALL") {
      for (std::string& x : KnownIds()) {
        auto w = where_.find(x);
        if (w != where_.end() && w->second == Where::kHold) continue;
        ids.push_back(std::move(x));
      }
    } else {
      ids.push_back(std::string(id));
    }
    waiter = std::make_unique<Waiter>(ids.size());
    for (size_t i = 0; i < ids.size(); ++i) {
      MessageUpdate update;
      update.state = MessageState::kHold;
      // The store applies the change at once (Info() shows it), so a
      // message activated meanwhile is seen held.
      store_.Update(ids[i], std::move(update), waiter->Slot(i));
      if (auto a = active_.find(ids[i]); a != active_.end()) {
        a->second->hold_requested = true;
        DropJobs(*a->second);
      } else if (where_.contains(ids[i])) {
        SetWhere(ids[i], Where::kHold);
      }
    }
  }
  const std::vector<absl::Status>& results = waiter->Wait();
  absl::MutexLock lock(&mu_);
  return FinishAdmin(id, ids, results, "placed on hold", nullptr, true);
}

absl::Status QueueManager::Impl::Release(std::string_view id) {
  std::vector<std::string> ids;
  std::unique_ptr<Waiter> waiter;
  std::vector<bool> touched;
  int64_t now = Now();
  {
    absl::MutexLock lock(&mu_);
    if (id == "ALL") {
      for (const auto& [x, w] : where_) {
        if (w == Where::kHold) ids.push_back(x);
      }
      for (const auto& [x, m] : active_) {
        if (m->hold_requested) ids.push_back(x);
      }
    } else {
      ids.push_back(std::string(id));
    }
    waiter = std::make_unique<Waiter>(ids.size());
    touched.resize(ids.size());
    for (size_t i = 0; i < ids.size(); ++i) {
      MessageUpdate update;
      if (auto a = active_.find(ids[i]); a != active_.end()) {
        if (!a->second->hold_requested) {
          waiter->Slot(i)(absl::OkStatus());
          continue;
        }
        a->second->hold_requested = false;
        update.state = MessageState::kActive;
      } else {
        absl::StatusOr<QueuedMessage> info = store_.Info(ids[i]);
        if (!info.ok()) {
          waiter->Slot(i)(info.status());
          continue;
        }
        if (info->meta.state != MessageState::kHold) {  // not held: nothing to do
          waiter->Slot(i)(absl::OkStatus());
          continue;
        }
        // Deferred and due now: the next deferred-queue scan takes it.
        update.state = MessageState::kDeferred;
        update.schedule = ScheduleUpdate{now, info->meta.attempts, info->meta.delay_warned};
      }
      touched[i] = true;
      store_.Update(ids[i], std::move(update), waiter->Slot(i));
      if (!active_.contains(ids[i])) AddDeferred(ids[i], now);
    }
  }
  const std::vector<absl::Status>& results = waiter->Wait();
  absl::MutexLock lock(&mu_);
  return FinishAdmin(id, ids, results, "released from hold", &touched, false);
}

absl::Status QueueManager::Impl::FinishAdmin(std::string_view id,
                                             const std::vector<std::string>& ids,
                                             const std::vector<absl::Status>& results,
                                             std::string_view done,
                                             const std::vector<bool>* logged,
                                             bool forget_missing) {
  absl::Status first;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (!results[i].ok()) {
      if (first.ok()) first = results[i];
      if (forget_missing && absl::IsNotFound(results[i])) ClearWhere(ids[i]);
      continue;
    }
    if (!logged || (*logged)[i]) log_.Info("postsuper", Cat(ids[i], ": ", done));
  }
  Progress();
  return id == "ALL" ? absl::OkStatus() : first;
}

absl::Status QueueManager::Impl::Delete(std::string_view id) {
  std::vector<std::string> ids;
  std::unique_ptr<Waiter> waiter;
  {
    absl::MutexLock lock(&mu_);
    if (id == "ALL") {
      ids = KnownIds();
    } else {
      ids.push_back(std::string(id));
    }
    waiter = std::make_unique<Waiter>(ids.size());
    for (size_t i = 0; i < ids.size(); ++i) {
      MessageUpdate update;
      update.remove = true;
      store_.Update(ids[i], std::move(update), waiter->Slot(i));
      if (auto a = active_.find(ids[i]); a != active_.end()) {
        a->second->delete_requested = true;
        DropJobs(*a->second);
      }
      ClearWhere(ids[i]);
      flush_ids_.erase(ids[i]);
    }
  }
  const std::vector<absl::Status>& results = waiter->Wait();
  absl::MutexLock lock(&mu_);
  return FinishAdmin(id, ids, results, "removed", nullptr, false);
}

absl::Status QueueManager::Impl::Requeue(std::string_view id) {
  std::vector<std::string> ids;
  std::unique_ptr<Waiter> waiter;
  {
    absl::MutexLock lock(&mu_);
    if (id == "ALL") {
      ids = KnownIds();
    } else {
      ids.push_back(std::string(id));
    }
    waiter = std::make_unique<Waiter>(ids.size());
    for (size_t i = 0; i < ids.size(); ++i) {
      absl::StatusOr<QueuedMessage> info = store_.Info(ids[i]);
      if (!info.ok()) {
        waiter->Slot(i)(info.status());
        continue;
      }
      MessageUpdate update;
      update.state = MessageState::kIncoming;
      update.schedule = ScheduleUpdate{0, info->meta.attempts, info->meta.delay_warned};
      store_.Update(ids[i], std::move(update), waiter->Slot(i));
      if (auto a = active_.find(ids[i]); a != active_.end()) {
        a->second->requeue_requested = true;
        a->second->hold_requested = false;
        DropJobs(*a->second);
      } else {
        AddIncoming(ids[i]);
      }
    }
  }
  const std::vector<absl::Status>& results = waiter->Wait();
  absl::MutexLock lock(&mu_);
  return FinishAdmin(id, ids, results, "requeued", nullptr, false);
}

void QueueManager::Impl::Flush() {
  absl::MutexLock lock(&mu_);
  if (stopped_ || !started_) return;
  scheduler_.ReviveAll();
  std::vector<std::string> ids;
  for (const auto& [when, x] : deferred_) ids.push_back(x);
  for (const std::string& x : ids) {
    SetWhere(x, Where::kDue);
    due_.push_back(x);
    flush_ids_.insert(x);
  }
  for (const auto& [x, w] : where_) {
    if (w == Where::kDue || w == Where::kIncoming) flush_ids_.insert(x);
  }
  Progress();
}

void QueueManager::Impl::FlushSite(const std::string& domain) {
  absl::MutexLock lock(&mu_);
  if (stopped_ || !started_) return;
  std::string site = Lower(domain);
  std::vector<std::string> ids;
  for (const auto& [when, x] : deferred_) {
    absl::StatusOr<QueuedMessage> info = store_.Info(x);
    if (!info.ok()) continue;
    for (const QueueRecipient& r : info->meta.recipients) {
      size_t at = r.address.rfind('@');
      if (RecipientNeedsDelivery(r.status) && at != std::string::npos &&
          Lower(std::string_view(r.address).substr(at + 1)) == site) {
        ids.push_back(x);
        break;
      }
    }
  }
  for (const std::string& x : ids) {
    SetWhere(x, Where::kDue);
    due_.push_back(x);
  }
  Progress();
}

QueueManager::Status QueueManager::Impl::GetStatus() const {
  absl::MutexLock lock(&mu_);
  Status s;
  s.incoming = counts_[static_cast<int>(Where::kIncoming)];
  s.deferred = counts_[static_cast<int>(Where::kDeferred)] + counts_[static_cast<int>(Where::kDue)];
  s.hold = counts_[static_cast<int>(Where::kHold)];
  s.active = active_.size();
  s.deliveries_in_progress = in_flight_.size();
  return s;
}

void QueueManager::Impl::Stop() {
  absl::MutexLock lock(&mu_);
  stopped_ = true;
  timer_.cancel();
  armed_ = INT64_MAX;
}

// --- the public face -------------------------------------------------------

QueueManager::QueueManager(asio::io_context& io, QueueStore& store, Maillog& log,
                           SnapshotSource snapshots, AgentLookup agents, QmgrOptions options)
    : impl_(std::make_shared<Impl>(io, store, log, std::move(snapshots), std::move(agents),
                                   std::move(options))) {}

QueueManager::~QueueManager() { impl_->Stop(); }

void QueueManager::Start() { impl_->Start(); }
void QueueManager::Notify(std::string queue_id) { impl_->Notify(std::move(queue_id)); }
void QueueManager::Flush() { impl_->Flush(); }
void QueueManager::FlushSite(std::string domain) { impl_->FlushSite(domain); }
absl::Status QueueManager::Hold(std::string_view id) { return impl_->Hold(id); }
absl::Status QueueManager::Release(std::string_view id) { return impl_->Release(id); }
absl::Status QueueManager::Delete(std::string_view id) { return impl_->Delete(id); }
absl::Status QueueManager::Requeue(std::string_view id) { return impl_->Requeue(id); }
QueueManager::Status QueueManager::GetStatus() const { return impl_->GetStatus(); }
void QueueManager::Stop() { impl_->Stop(); }
void QueueManager::Tick() { impl_->Tick(); }

}  // namespace posthaste::runtime
