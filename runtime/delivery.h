// delivery.h: the contract between the queue manager and delivery agents.
//
// The queue manager (qmgr.h) groups a message's recipients by transport and
// next hop (the routing program's Resolve), and hands each group to the
// agent that the transport's master.cf command names: smtp, local, virtual,
// discard, error (also for "retry"). An agent tries the delivery and reports
// one outcome per recipient; it never touches the queue itself. The queue
// manager records the outcomes durably, logs the Postfix-shaped delivery
// lines, and makes bounces and delay notices.
//
// Agents run on the server's Asio io_context as C++20 coroutines; several
// deliveries run at once (the queue manager enforces the concurrency
// limits). An agent must finish every request: on any internal problem it
// reports the recipients as deferred with a reason, it never throws.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "asio/awaitable.hpp"
#include "tables/bundle_loader.h"

namespace posthaste::runtime {

class Maillog;

struct DeliveryRecipient {
  size_t index = 0;      // position in the queued message's recipient list
  std::string address;   // final recipient (after routing), internal form
  std::string original;  // the recipient as the client gave it, may equal address
  // The DSN request (dsn.h): NOTIFY= bits (0: not given) and ORCPT= value
  // ("rfc822;addr", "" when not given). The smtp agent passes them on.
  uint8_t notify = 0;
  std::string orcpt = {};
};

struct DeliveryRequest {
  std::string queue_id;
  std::string sender;       // internal form, "" for the null sender
  std::string transport;    // master.cf service name ("smtp", "bulk", "local")
  std::string nexthop;      // as resolved: "example.com", "[10.0.0.1]:25", "" ...
  std::string source;       // IPv4 bind address from routing, or ""
  std::string source6;      // IPv6 bind address, or ""
  std::vector<DeliveryRecipient> recipients;
  std::shared_ptr<const std::string> content;  // the queued message (headers + body, LF lines)
  // The message's size as Postfix counts it (queue_store.h QueuedMessage::
  // message_size): what the smtp agent offers as SIZE= and compares with the
  // next hop's limit. 0: unknown, the content's length is used.
  uint64_t message_size = 0;
  int64_t arrival_micros = 0;
  uint32_t flags = 0;       // queue_record.h kMessage8BitMime, RET=, SMTPUTF8 ...
  std::string dsn_envid;    // MAIL ENVID= (decoded), "" when not given
  // The bundle in force when delivery started, and the transport service's
  // resolved parameters inside it ("bulk/unix"). Keep the shared_ptr alive.
  std::shared_ptr<const tables::Snapshot> snapshot;
  std::string service;      // "bulk/unix"
};

struct RecipientOutcome {
  enum class Status { kSent, kDeferred, kBounced };
  size_t index = 0;
  Status status = Status::kDeferred;
  std::string dsn = "4.0.0";  // enhanced status code
  // What the log line shows in parentheses after status=: the remote reply
  // ("250 2.0.0 Ok: queued as 4F3x"), or the agent's text ("delivered to
  // maildir", "host x[1.2.3.4] said: 550 5.1.1 ... (in reply to RCPT TO command)").
  std::string text;
  // For the bounce report: the remote MTA's reply and its host, when any.
  std::string remote_mta;   // "mx.example.com"
  std::string diagnostic;   // "smtp; 550 5.1.1 <a@b>: Recipient address rejected"
  // kSent only: the recipient's DSN request went on to a next hop that
  // offers DSN, which now reports success itself (no "relayed" notice).
  bool dsn_passed_on = false;
  // The local agent's alias and .forward expansion, as Postfix's local(8)
  // logs it: one entry per address delivered to (or bounced, deferred) and
  // per forwarded copy, each logged as its own line (to=<address>,
  // orig_to=<original>). The fields above then say what becomes of the
  // queued recipient. Empty: one line, for the recipient itself.
  struct Part {
    std::string address;
    std::string original;  // "" when none is recorded
    Status status = Status::kDeferred;
    std::string dsn;
    std::string text;
  };
  std::vector<Part> parts;
};

struct DeliveryResult {
  std::vector<RecipientOutcome> outcomes;  // one per request recipient, any order
  std::string relay = "none";              // "host[ip]:port", "local", "virtual", "none"
  // smtp: the connection's use count when it was reused from the cache (2
  // for its second delivery ...), logged as Postfix does ("conn_use=2"
  // after relay=); 0 for a new connection.
  int conn_use = 0;
  // Seconds spent by phase, for delays=a/b/c/d: c = connection setup
  // (DNS, connect, greeting, HELO, TLS), d = transmission.
  double connect_seconds = 0;
  double transmit_seconds = 0;
  // Non-empty when the attempt failed for a reason that concerns the whole
  // destination, not these recipients (no server reachable, connection
  // refused or timed out, 4xx greeting): the text, e.g. "connect to
  // mx.example.com[192.0.2.1]:25: Connection refused", and its enhanced
  // status code. The queue manager lowers the destination's concurrency and
  // after enough such failures suspends it for minimal_backoff_time, deferring
  // its other mail with "delivery temporarily suspended: <text>" (Postfix's
  // site failure feedback). Recipient-level problems leave it empty.
  std::string destination_failure;
  std::string destination_failure_dsn = "4.4.1";
};

class DeliveryAgent {
 public:
  virtual ~DeliveryAgent() = default;
  virtual asio::awaitable<DeliveryResult> Deliver(const DeliveryRequest& request) = 0;
};

}  // namespace posthaste::runtime
