// qmgr.h: the queue manager (Postfix's qmgr(8)): moves queued mail to the
// delivery agents and decides what happens after each attempt.
//
// Where it sits: the SMTP session queues a message (queue_store.h) and calls
// Notify(); Start() takes over whatever the store already holds. The queue
// manager keeps Postfix's queues as message states: incoming (waiting for
// room in the active queue, qmgr_message_active_limit), active (being
// delivered), deferred (waiting for its retry time; the deferred queue is
// scanned every queue_run_delay), hold (untouched until released).
//
// One delivery pass over an active message:
//  1. each recipient still to deliver is resolved by the bundle's routing
//     program (RouteVm::Resolve with the message's content filter) into
//     transport, next hop and source address; a deferral from routing keeps
//     the recipient queued with that reason; so do a transport whose agent
//     is missing ("mail transport unavailable") and defer_transports;
//  2. the scheduler (qmgr_scheduler.h) groups them into delivery requests per
//     destination and starts them under the concurrency rules; the agent is
//     the one the transport's master.cf command names (process_name of
//     "<transport>/unix": smtp, local, virtual, error, discard);
//  3. every outcome is logged in Postfix's form through the transport's
//     program name ("QUEUEID: to=<r>, relay=..., delay=..., delays=a/b/c/d,
//     dsn=..., status=sent (...)") and recorded in the store;
//  4. when all requests of the message are done and recorded: failed
//     recipients get one non-delivery notice (bounce_message.h) queued from
//     the null sender, then are marked bounced; if recipients remain
//     deferred the message either expires (maximal_queue_lifetime, or
//     bounce_queue_lifetime for null-sender mail: "status=expired, returned
//     to sender", a notice for them), or gets its one delay notice
//     (delay_warning_time), and is deferred for the message's age clamped
//     to [minimal_backoff_time, maximal_backoff_time] (so the wait doubles
//     with each retry); a message with nothing left is "removed".
// Notices follow Postfix's rules: never to the null sender; a failed notice
// (sender <>) becomes a double bounce to 2bounce_notice_recipient from the
// double-bounce address when notify_classes has "2bounce", else it is
// dropped; a failed double bounce is discarded with a warning. soft_bounce =
// yes turns every bounce into a deferral (logged "status=SOFTBOUNCE") and
// keeps expired mail queued.
//
// Durability: an outcome is acted on (notice, removal, deferral) only after
// its record is durable; outcomes join the store's group commit. After a
// crash a recipient whose outcome was not yet durable is tried again (at
// least once, as Postfix); one recorded delivered never is.
//
// Parameters: the qmgr service's ("qmgr/unix") resolved values, per-transport
// limits "<transport>_destination_*" from there too (the registry's
// defaults when the bundle has no qmgr service); notice settings from
// "bounce/unix". The bundle in force is asked for at every activation.
//
// Threads: every public method is thread-safe. Work runs on the io_context
// (any number of threads); the io_context, the store and the maillog must
// outlive the QueueManager. Admin calls (Hold ... Requeue) wait for their
// records to be durable and must not be made from a store callback.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "asio/any_io_executor.hpp"
#include "asio/io_context.hpp"
#include "runtime/delivery.h"
#include "runtime/maillog.h"
#include "runtime/queue_id.h"
#include "runtime/queue_store.h"
#include "tables/bundle_loader.h"

namespace posthaste::runtime {

struct QmgrOptions {
  MicrosClock clock = RealMicros;  // tests inject a clock
  // Where each delivery coroutine runs (posthasted spreads them over its
  // event-loop threads); unset: the io_context the manager was given.
  std::function<asio::any_io_executor()> delivery_executor;
};

class QueueManager {
 public:
  // The bundle in force now (may return nullptr before the first load: then
  // nothing is activated).
  using SnapshotSource = std::function<std::shared_ptr<const tables::Snapshot>()>;
  // "smtp", "local", "virtual", "error", "discard": the agent, or nullptr.
  using AgentLookup = std::function<DeliveryAgent*(std::string_view process_name)>;

  QueueManager(asio::io_context& io, QueueStore& store, Maillog& log, SnapshotSource snapshots,
               AgentLookup agents, QmgrOptions options = {});
  ~QueueManager();  // Stop()s; deliveries still running are abandoned
  QueueManager(const QueueManager&) = delete;
  QueueManager& operator=(const QueueManager&) = delete;

  // Takes over what the store holds: hold stays held, deferred keeps its
  // retry time, incoming and active (a crash) start again, and recipients
  // whose non-delivery notice was not queued get it now.
  void Start();
  // A new message was queued (from any thread).
  void Notify(std::string queue_id);
  // phctl flush (postqueue -f): every deferred message is due now, dead
  // destinations are revived, defer_transports is ignored for this run.
  void Flush();
  // ETRN (postqueue -s site): the deferred messages with a recipient still
  // to deliver in `domain` are due now.
  void FlushSite(std::string domain);
  // postsuper -h / -H / -d / -r; "ALL" for every message. Hold of an active
  // message lets its running deliveries finish; Release makes it deferred
  // and due at the next deferred-queue scan (as Postfix); Requeue routes it
  // afresh at once (with the current bundle). NotFound for an unknown ID.
  absl::Status Hold(std::string_view id);
  absl::Status Release(std::string_view id);
  absl::Status Delete(std::string_view id);
  absl::Status Requeue(std::string_view id);

  struct Status {
    size_t incoming = 0, active = 0, deferred = 0, hold = 0, deliveries_in_progress = 0;
  };
  Status GetStatus() const;

  // Stops scheduling: no new activation or delivery; outcomes of deliveries
  // already running are still recorded while the QueueManager lives.
  void Stop();

  // Does what is due at the clock's current time: the deferred-queue scan,
  // reviving dead destinations, rate-delay pauses. The internal timer calls
  // it; tests with an injected clock call it after moving the clock.
  void Tick();

  class Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

// Postfix's delay formatting: two significant digits, at most
// `max_decimals` (delay_logging_resolution_limit) decimals, large values as
// whole seconds ("0.12", "1.2", "16", "0").
std::string FormatDelay(int64_t micros, int max_decimals);

}  // namespace posthaste::runtime
