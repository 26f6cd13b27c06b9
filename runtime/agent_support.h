// agent_support.h: what every local delivery agent shares: per-recipient
// outcomes with Postfix's DSN rules, the soft_bounce rule, the mail system's
// own names, and running blocking work off the event loop.
//
// Where it sits: between delivery.h (the contract with the queue manager)
// and the agents in local_delivery.h, virtual_delivery.h and
// simple_agents.h. Nothing here touches the network or the queue.
//
// DSN rules (Postfix's dsn_split and the sent/defer/bounce sanity checks):
// a reason text may start with an enhanced status code ("5.1.1 text"); the
// code must fit the outcome (2.x.x sent, 4.x.x deferred, 5.x.x bounced),
// otherwise the outcome's default code (2.0.0, 4.0.0, 5.0.0) is used.
//
// Blocking work: file delivery writes, fsyncs and looks up users; doing
// that on the io_context would stall every SMTP session. BlockingAgent runs
// the agent's synchronous DeliverNow() on an executor meant for blocking
// work (an asio::thread_pool) and resumes the caller's coroutine when it is
// done. A thread runs one DeliverNow() from start to end without suspending,
// which is what makes the per-thread file identity (fs_identity.h) safe.
#pragma once

#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "asio/any_io_executor.hpp"
#include "asio/awaitable.hpp"
#include "runtime/delivery.h"

namespace posthaste::runtime {

// "5.1.1 text" split into its code and text; `code` empty when the text does
// not start with a valid enhanced status code (class 2, 4 or 5).
struct DsnText {
  std::string code;
  std::string text;
};
DsnText SplitDsn(std::string_view text);
// True for "x.y.z" with x in {2,4,5}, y and z of 1 to 3 digits.
bool ValidDsn(std::string_view code);

// Outcomes with a code that fits their class (else the class default).
RecipientOutcome SentOutcome(size_t index, std::string_view dsn, std::string text);
RecipientOutcome DeferredOutcome(size_t index, std::string_view dsn, std::string text);
RecipientOutcome BouncedOutcome(size_t index, std::string_view dsn, std::string text);
// soft_bounce = yes: a bounce becomes a deferral with a 4.x.x code.
void ApplySoftBounce(RecipientOutcome* outcome);
// Every recipient of `request` deferred with one reason.
DeliveryResult DeferAll(const DeliveryRequest& request, std::string_view dsn, std::string text);

// Settings Postfix reads in every program, as a delivery service sees
// them. The bundle carries only the parameters a program documents;
// local(8), virtual(8) and error(8) do not list myhostname, myorigin or
// soft_bounce (virtual(8) not even recipient_delimiter), so each comes from
// the service itself when it has it (-o), else from cleanup/unix, else from
// the first service running cleanup, local, trivial-rewrite or smtpd that
// has it, else the default (the host's own name for myhostname).
struct AgentGlobals {
  std::string myhostname;
  std::string myorigin;
  bool soft_bounce = false;
};
AgentGlobals ReadAgentGlobals(const tables::Snapshot& snapshot, std::string_view service);
// The same, remembered for the last (generation, service) asked: working out
// the host's own name can take a resolver round trip. Thread-safe.
class AgentGlobalsCache {
 public:
  AgentGlobals Get(const tables::Snapshot& snapshot, std::string_view service);

 private:
  std::mutex mu_;
  std::string key_;
  AgentGlobals value_;
};
// One such setting, searched as above; "" when no service has it. Values
// still holding an unexpanded $name count as unset.
std::string GlobalParam(const tables::Snapshot& snapshot, std::string_view service,
                        std::string_view name);

// Postfix's quote_822_local: the local part quoted when it is not a
// dot-atom ("john doe"@example.com); the domain is kept as is.
std::string QuoteAddress(std::string_view address);

// An agent whose work blocks (disk I/O, fsync, user database).
class BlockingAgent : public DeliveryAgent {
 public:
  // `blocking`: where DeliverNow runs (a thread pool's executor); nullopt
  // runs it inline on the caller's thread (tests, tools).
  explicit BlockingAgent(std::optional<asio::any_io_executor> blocking = std::nullopt)
      : blocking_(std::move(blocking)) {}

  asio::awaitable<DeliveryResult> Deliver(const DeliveryRequest& request) final;

  // The delivery itself, synchronous. Must report every recipient once.
  virtual DeliveryResult DeliverNow(const DeliveryRequest& request) = 0;

 private:
  // DeliverNow with a safety net: a missing outcome becomes a deferral.
  DeliveryResult Run(const DeliveryRequest& request);

  std::optional<asio::any_io_executor> blocking_;
};

}  // namespace posthaste::runtime
