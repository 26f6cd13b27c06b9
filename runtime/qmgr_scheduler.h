// qmgr_scheduler.h: the queue manager's delivery scheduling, without I/O.
//
// Where it sits: the queue manager (qmgr.h) resolves each recipient of an
// active message to a transport and next hop and hands the routes here. The
// scheduler groups them into delivery jobs (at most the transport's
// recipient limit per job, one message per job), keeps one destination queue
// per (transport, next hop ignoring case) — per recipient when the recipient
// limit is 1, as Postfix does — and decides which job starts next:
//
//   - round-robin over transports, then over each transport's destinations,
//     so a slow destination cannot starve the others;
//   - per-destination concurrency window: it starts at
//     initial_destination_concurrency and grows with each successful
//     delivery (positive feedback) up to the destination concurrency limit,
//     while the window is in use; a destination failure shrinks it (negative
//     feedback) and counts failed cohorts; after
//     <transport>_destination_concurrency_failed_cohort_limit of them the
//     destination is dead for minimal_backoff_time and its waiting jobs come
//     back to the caller to be deferred;
//   - <transport>_destination_rate_delay > 0: one delivery at a time, with
//     that pause after each;
//   - <transport>_transport_rate_delay > 0: the same for the transport as a
//     whole (one delivery at a time over all its destinations);
//   - a per-transport cap on deliveries at once (the process limit).
//
// Time is passed in (microseconds on the queue manager's clock): nothing
// here reads a clock or sets a timer; NextWakeup() says when calling Tick()
// could change something. Not thread-safe: the queue manager serializes
// calls. Not here: messages, the store, logging, agents.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <string>
#include <string_view>
#include <vector>

namespace posthaste::runtime {

// A concurrency feedback setting (Postfix's
// default_destination_concurrency_positive_feedback and _negative_feedback):
// "1" or another constant, "1/N", "1/concurrency", "1/sqrt_concurrency".
struct FeedbackSpec {
  enum class Kind { kConstant, kInverseConcurrency, kInverseSqrtConcurrency };
  Kind kind = Kind::kConstant;
  double value = 1;  // kConstant
  // The window change for one feedback event at `window`.
  double At(double window) const;
};
// False (and *out unchanged) for text that is none of the forms above.
bool ParseFeedback(std::string_view text, FeedbackSpec* out);

struct TransportLimits {
  int concurrency_limit = 20;   // <transport>_destination_concurrency_limit; 0: none
  int initial_concurrency = 5;  // <transport>_initial_destination_concurrency
  int recipient_limit = 50;     // <transport>_destination_recipient_limit; 0: none
  int failed_cohort_limit = 1;  // 0: a destination never dies
  FeedbackSpec positive_feedback, negative_feedback;
  int64_t rate_delay_micros = 0;      // <transport>_destination_rate_delay
  // <transport>_transport_rate_delay: > 0 makes the whole transport deliver
  // one job at a time, with this pause after each, whatever the destination.
  int64_t transport_rate_delay_micros = 0;
  int process_limit = 100;            // deliveries at once on the transport; 0: none
  int64_t dead_micros = 300'000'000;  // minimal_backoff_time
};

// One recipient of the message being added, as routing resolved it.
struct RecipientRoute {
  uint32_t index = 0;     // the message's recipient index
  std::string transport;  // "smtp"
  std::string nexthop;    // as resolved
  std::string address;    // the final recipient (per-recipient destinations)
  std::string source, source6;
};

// A delivery request in the making: recipients of one message for one
// destination.
struct SchedulerJob {
  uint64_t id = 0;
  std::string message_id;
  std::string transport;
  std::string nexthop;  // the destination's spelling (its first recipient's)
  std::string source, source6;
  std::vector<uint32_t> recipients;
};

class Scheduler {
 public:
  using LimitsFn = std::function<TransportLimits(std::string_view transport)>;
  explicit Scheduler(LimitsFn limits);
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  struct Suspended {
    uint32_t index = 0;
    std::string reason;  // "delivery temporarily suspended: ..."
    std::string dsn;
  };
  struct AddResult {
    size_t jobs = 0;                   // jobs queued for the message
    std::vector<Suspended> suspended;  // recipients whose destination is dead
  };
  // Queues one message's routes (in the order given: the caller sorts them)
  // as jobs. The transport's limits are read (LimitsFn) on every call.
  AddResult Add(std::string_view message_id, const std::vector<RecipientRoute>& routes);

  // The next job to start at `now`, or nullopt when every destination with
  // waiting jobs is at its window, dead, pausing, or its transport is at its
  // process limit.
  std::optional<SchedulerJob> Next(int64_t now);

  struct Feedback {
    bool destination_failed = false;
    std::string reason;  // the destination failure's text
    std::string dsn = "4.4.1";
  };
  struct DoneResult {
    // Jobs that were waiting for a destination that just died: the caller
    // defers their recipients with `suspended_reason`.
    std::vector<SchedulerJob> suspended;
    std::string suspended_reason;
    std::string suspended_dsn;
  };
  // A job Next() returned has finished.
  DoneResult Done(uint64_t job_id, const Feedback& feedback, int64_t now);

  // Takes a message's waiting jobs out (hold, delete, requeue); jobs already
  // started are not affected.
  std::vector<SchedulerJob> RemoveMessage(std::string_view message_id);

  // Revives dead destinations whose time is up and forgets idle ones.
  void Tick(int64_t now);
  // Revives every dead destination (flush).
  void ReviveAll();
  // When Tick() or Next() could next make progress without other events;
  // INT64_MAX when nothing waits on time.
  int64_t NextWakeup() const;

  size_t started() const { return started_; }  // jobs started, not yet done
  size_t waiting() const { return waiting_; }  // jobs not yet started

  // For tests and status: one destination's state.
  struct DestinationInfo {
    double window = 0;
    int busy = 0;
    size_t waiting = 0;
    bool dead = false;
  };
  std::optional<DestinationInfo> Inspect(std::string_view transport,
                                         std::string_view nexthop) const;

 private:
  struct Queue;
  struct Transport;
  struct Running {
    Queue* queue = nullptr;
  };

  Transport& TransportFor(std::string_view name);
  Queue& QueueFor(Transport& t, const RecipientRoute& route);
  int Window(const Queue& q) const;
  void Positive(Queue& q);
  bool Negative(Queue& q, const Feedback& feedback, int64_t now);  // true: died
  void Revive(Queue& q);
  void MaybeForget(Queue& q, int64_t now);

  LimitsFn limits_;
  std::map<std::string, std::unique_ptr<Transport>, std::less<>> transports_;
  std::list<Transport*> transport_ring_;  // transports with waiting jobs, round-robin
  std::map<uint64_t, Running> running_;
  // Times when a destination revives or may start again (min first); stale
  // entries only cause an early Tick().
  std::priority_queue<int64_t, std::vector<int64_t>, std::greater<int64_t>> wakeups_;
  uint64_t next_job_id_ = 1;
  size_t started_ = 0;
  size_t waiting_ = 0;
};

}  // namespace posthaste::runtime
