// qmgr_scheduler.cc: destination queues, concurrency windows and
// round-robin job selection (see qmgr_scheduler.h).
#include "runtime/qmgr_scheduler.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"

namespace posthaste::runtime {

namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = absl::ascii_tolower(static_cast<unsigned char>(c));
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && absl::ascii_isspace(static_cast<unsigned char>(s.front())))
    s.remove_prefix(1);
  while (!s.empty() && absl::ascii_isspace(static_cast<unsigned char>(s.back())))
    s.remove_suffix(1);
  return s;
}

}  // namespace

double FeedbackSpec::At(double window) const {
  double w = std::max(window, 1.0);
  switch (kind) {
    case Kind::kConstant:
      return value;
    case Kind::kInverseConcurrency:
      return 1.0 / w;
    case Kind::kInverseSqrtConcurrency:
      return 1.0 / std::sqrt(w);
  }
  return value;
}

bool ParseFeedback(std::string_view text, FeedbackSpec* out) {
  std::string t = Lower(Trim(text));
  FeedbackSpec spec;
  size_t slash = t.find('/');
  if (slash == std::string::npos) {
    double v;
    if (!absl::SimpleAtod(t, &v) || v <= 0 || v > 1000) return false;
    spec.value = v;
  } else {
    double numerator;
    if (!absl::SimpleAtod(t.substr(0, slash), &numerator) || numerator != 1) return false;
    std::string denominator(Trim(std::string_view(t).substr(slash + 1)));
    if (denominator == "concurrency") {
      spec.kind = FeedbackSpec::Kind::kInverseConcurrency;
    } else if (denominator == "sqrt_concurrency") {
      spec.kind = FeedbackSpec::Kind::kInverseSqrtConcurrency;
    } else {
      double d;
      if (!absl::SimpleAtod(denominator, &d) || d < 1) return false;
      spec.value = 1.0 / d;
    }
  }
  *out = spec;
  return true;
}

struct Scheduler::Queue {
  Transport* transport = nullptr;
  std::string key;
  std::string nexthop;  // spelling of the recipient that created it
  std::deque<SchedulerJob> todo;
  int busy = 0;
  double window = 1;
  double success = 0;  // positive feedback not yet turned into window
  double failure = 0;  // negative feedback not yet turned into window
  double fail_cohorts = 0;
  bool dead = false;
  int64_t dead_until = 0;
  std::string dead_reason, dead_dsn;
  int64_t next_start = 0;  // rate delay: no start before this
  bool in_ring = false;
  std::list<Queue*>::iterator ring_pos;
};

struct Scheduler::Transport {
  std::string name;
  TransportLimits limits;
  std::map<std::string, std::unique_ptr<Queue>, std::less<>> queues;
  std::list<Queue*> ring;  // destinations with waiting jobs
  int busy = 0;
  int64_t next_start = 0;  // transport rate delay: no start before this
  bool in_ring = false;
  std::list<Transport*>::iterator ring_pos;
};

Scheduler::Scheduler(LimitsFn limits) : limits_(std::move(limits)) {}

Scheduler::~Scheduler() = default;

Scheduler::Transport& Scheduler::TransportFor(std::string_view name) {
  auto it = transports_.find(name);
  if (it == transports_.end()) {
    auto t = std::make_unique<Transport>();
    t->name = std::string(name);
    it = transports_.emplace(t->name, std::move(t)).first;
  }
  return *it->second;
}

Scheduler::Queue& Scheduler::QueueFor(Transport& t, const RecipientRoute& route) {
  std::string key = Lower(route.nexthop);
  // A recipient limit of 1 makes every recipient its own destination, so
  // the concurrency limit applies per recipient (Postfix's local delivery).
  if (t.limits.recipient_limit == 1) {
    key += '\0';
    key += Lower(route.address);
  }
  auto it = t.queues.find(key);
  if (it == t.queues.end()) {
    auto q = std::make_unique<Queue>();
    q->transport = &t;
    q->key = key;
    q->nexthop = route.nexthop;
    int initial = std::max(1, t.limits.initial_concurrency);
    if (t.limits.concurrency_limit > 0) initial = std::min(initial, t.limits.concurrency_limit);
    q->window = initial;
    it = t.queues.emplace(key, std::move(q)).first;
  }
  return *it->second;
}

int Scheduler::Window(const Queue& q) const {
  if (q.dead) return 0;
  const TransportLimits& l = q.transport->limits;
  if (l.rate_delay_micros > 0) return 1;
  int w = std::max(1, static_cast<int>(std::floor(q.window + 1e-9)));
  if (l.concurrency_limit > 0) w = std::min(w, l.concurrency_limit);
  return w;
}

Scheduler::AddResult Scheduler::Add(std::string_view message_id,
                                    const std::vector<RecipientRoute>& routes) {
  AddResult result;
  std::map<Queue*, size_t> open;  // destination -> the message's job being filled
  std::vector<Transport*> refreshed;
  for (const RecipientRoute& route : routes) {
    Transport& t = TransportFor(route.transport);
    if (std::find(refreshed.begin(), refreshed.end(), &t) == refreshed.end()) {
      t.limits = limits_(t.name);
      refreshed.push_back(&t);
    }
    Queue& q = QueueFor(t, route);
    if (q.dead) {
      result.suspended.push_back(
          {route.index, "delivery temporarily suspended: " + q.dead_reason, q.dead_dsn});
      continue;
    }
    const size_t limit =
        t.limits.recipient_limit > 0 ? static_cast<size_t>(t.limits.recipient_limit) : SIZE_MAX;
    auto it = open.find(&q);
    if (it != open.end() && q.todo[it->second].recipients.size() < limit) {
      q.todo[it->second].recipients.push_back(route.index);
      continue;
    }
    SchedulerJob job;
    job.id = next_job_id_++;
    job.message_id = std::string(message_id);
    job.transport = t.name;
    job.nexthop = q.nexthop;
    job.source = route.source;
    job.source6 = route.source6;
    job.recipients.push_back(route.index);
    q.todo.push_back(std::move(job));
    open[&q] = q.todo.size() - 1;
    ++waiting_;
    ++result.jobs;
    if (!q.in_ring) {
      q.ring_pos = t.ring.insert(t.ring.end(), &q);
      q.in_ring = true;
    }
    if (!t.in_ring) {
      t.ring_pos = transport_ring_.insert(transport_ring_.end(), &t);
      t.in_ring = true;
    }
  }
  return result;
}

std::optional<SchedulerJob> Scheduler::Next(int64_t now) {
  for (size_t n = transport_ring_.size(); n > 0; --n) {
    Transport* t = transport_ring_.front();
    transport_ring_.splice(transport_ring_.end(), transport_ring_, transport_ring_.begin());
    if (t->limits.process_limit > 0 && t->busy >= t->limits.process_limit) continue;
    if (t->limits.transport_rate_delay_micros > 0 && (t->busy > 0 || now < t->next_start))
      continue;
    for (size_t m = t->ring.size(); m > 0; --m) {
      Queue* q = t->ring.front();
      t->ring.splice(t->ring.end(), t->ring, t->ring.begin());
      if (q->todo.empty() || q->busy >= Window(*q)) continue;
      if (t->limits.rate_delay_micros > 0 && now < q->next_start) continue;
      SchedulerJob job = std::move(q->todo.front());
      q->todo.pop_front();
      --waiting_;
      if (q->todo.empty()) {
        t->ring.erase(q->ring_pos);
        q->in_ring = false;
        if (t->ring.empty()) {
          transport_ring_.erase(t->ring_pos);
          t->in_ring = false;
        }
      }
      ++q->busy;
      ++t->busy;
      ++started_;
      running_[job.id] = Running{q};
      return job;
    }
  }
  return std::nullopt;
}

void Scheduler::Positive(Queue& q) {
  if (q.dead) Revive(q);
  q.fail_cohorts = 0;
  const TransportLimits& l = q.transport->limits;
  // Grow only while the window is really used (plus a margin of the initial
  // concurrency), so an idle destination does not build up a window it
  // never tested.
  bool below_limit = l.concurrency_limit <= 0 || q.window < l.concurrency_limit;
  if (below_limit && q.window <= q.busy + l.initial_concurrency) {
    q.success += l.positive_feedback.At(q.window);
    while (q.success >= 1 - 1e-9) {
      q.window += 1;
      q.success -= 1;
      q.failure = 0;
    }
    if (l.concurrency_limit > 0) q.window = std::min<double>(q.window, l.concurrency_limit);
  }
}

bool Scheduler::Negative(Queue& q, const Feedback& feedback, int64_t now) {
  if (q.dead) return false;
  const TransportLimits& l = q.transport->limits;
  // A cohort is a window's worth of deliveries: failures at a window of w
  // each count 1/w of a failed cohort.
  q.fail_cohorts += 1.0 / std::max(1.0, std::floor(q.window + 1e-9));
  if (l.failed_cohort_limit > 0 && q.fail_cohorts >= l.failed_cohort_limit - 1e-9) {
    q.dead = true;
    q.dead_until = now + l.dead_micros;
    q.dead_reason = feedback.reason;
    q.dead_dsn = feedback.dsn;
    wakeups_.push(q.dead_until);
    return true;
  }
  if (q.window > 1) {
    q.failure += l.negative_feedback.At(q.window);
    while (q.failure >= 1 - 1e-9) {
      q.window -= 1;
      q.failure -= 1;
      q.success = 0;
    }
    q.window = std::max(1.0, q.window);
  }
  return false;
}

void Scheduler::Revive(Queue& q) {
  const TransportLimits& l = q.transport->limits;
  q.dead = false;
  q.dead_reason.clear();
  q.fail_cohorts = 0;
  q.success = q.failure = 0;
  int initial = std::max(1, l.initial_concurrency);
  if (l.concurrency_limit > 0) initial = std::min(initial, l.concurrency_limit);
  q.window = initial;
}

Scheduler::DoneResult Scheduler::Done(uint64_t job_id, const Feedback& feedback, int64_t now) {
  DoneResult result;
  auto it = running_.find(job_id);
  if (it == running_.end()) return result;
  Queue& q = *it->second.queue;
  running_.erase(it);
  Transport& t = *q.transport;
  if (!feedback.destination_failed) {
    Positive(q);
  } else if (Negative(q, feedback, now)) {
    result.suspended_reason = "delivery temporarily suspended: " + feedback.reason;
    result.suspended_dsn = feedback.dsn;
    waiting_ -= q.todo.size();
    for (SchedulerJob& j : q.todo) result.suspended.push_back(std::move(j));
    q.todo.clear();
    if (q.in_ring) {
      t.ring.erase(q.ring_pos);
      q.in_ring = false;
      if (t.ring.empty() && t.in_ring) {
        transport_ring_.erase(t.ring_pos);
        t.in_ring = false;
      }
    }
  }
  --q.busy;
  --t.busy;
  --started_;
  if (t.limits.rate_delay_micros > 0) {
    q.next_start = now + t.limits.rate_delay_micros;
    wakeups_.push(q.next_start);
  }
  if (t.limits.transport_rate_delay_micros > 0) {
    t.next_start = now + t.limits.transport_rate_delay_micros;
    wakeups_.push(t.next_start);
  }
  MaybeForget(q, now);
  return result;
}

void Scheduler::MaybeForget(Queue& q, int64_t now) {
  if (!q.todo.empty() || q.busy > 0 || q.dead || q.next_start > now) return;
  Transport& t = *q.transport;
  if (q.in_ring) t.ring.erase(q.ring_pos);
  t.queues.erase(q.key);  // destroys q
}

std::vector<SchedulerJob> Scheduler::RemoveMessage(std::string_view message_id) {
  std::vector<SchedulerJob> removed;
  for (auto& [name, t] : transports_) {
    std::vector<Queue*> emptied;
    for (auto& [key, q] : t->queues) {
      auto keep = std::stable_partition(q->todo.begin(), q->todo.end(), [&](const SchedulerJob& j) {
        return j.message_id != message_id;
      });
      for (auto it = keep; it != q->todo.end(); ++it) removed.push_back(std::move(*it));
      waiting_ -= static_cast<size_t>(q->todo.end() - keep);
      q->todo.erase(keep, q->todo.end());
      if (q->todo.empty() && q->in_ring) {
        t->ring.erase(q->ring_pos);
        q->in_ring = false;
      }
    }
    if (t->ring.empty() && t->in_ring) {
      transport_ring_.erase(t->ring_pos);
      t->in_ring = false;
    }
  }
  return removed;
}

void Scheduler::Tick(int64_t now) {
  while (!wakeups_.empty() && wakeups_.top() <= now) wakeups_.pop();
  for (auto& [name, t] : transports_) {
    std::vector<Queue*> all;
    for (auto& [key, q] : t->queues) all.push_back(q.get());
    for (Queue* q : all) {
      if (q->dead && q->dead_until <= now) Revive(*q);
      MaybeForget(*q, now);
    }
  }
}

void Scheduler::ReviveAll() {
  for (auto& [name, t] : transports_) {
    for (auto& [key, q] : t->queues) {
      if (q->dead) Revive(*q);
    }
  }
}

int64_t Scheduler::NextWakeup() const { return wakeups_.empty() ? INT64_MAX : wakeups_.top(); }

std::optional<Scheduler::DestinationInfo> Scheduler::Inspect(std::string_view transport,
                                                             std::string_view nexthop) const {
  auto t = transports_.find(transport);
  if (t == transports_.end()) return std::nullopt;
  auto q = t->second->queues.find(Lower(nexthop));
  if (q == t->second->queues.end()) return std::nullopt;
  return DestinationInfo{q->second->window, q->second->busy, q->second->todo.size(),
                         q->second->dead};
}

}  // namespace posthaste::runtime
