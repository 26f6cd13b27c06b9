// simple_agents.h: the discard and error delivery agents.
//
// Where they sit: the queue manager hands them the recipients routed to a
// master.cf service whose command is "discard" or "error" (delivery.h).
// Neither reads the message, touches a disk or talks to the network; both
// answer at once on the caller's executor.
//
// discard (Postfix discard(8)): every recipient is reported sent, relay
// "none". The next-hop is the reason that the log shows in parentheses
// after status=sent; it may start with an enhanced status code (default
// 2.0.0; a code of another class is replaced by 2.0.0). An empty next-hop
// (Postfix refuses one) is shown as "discarded".
//
// error (Postfix error(8)): the next-hop is the reason for non-delivery,
// optionally starting with an enhanced status code. Under a service named
// "retry" (master.cf "retry unix - - n - - error") every recipient is
// deferred with a 4.x.x code (default 4.0.0); under any other name every
// recipient is bounced with a 5.x.x code (default 5.0.0). A code of the
// wrong class is replaced by the default, as Postfix's defer/bounce
// sanity checks do. soft_bounce = yes turns the bounces into deferrals.
// An empty next-hop gives "Address is undeliverable".
#pragma once

#include "runtime/delivery.h"

namespace posthaste::runtime {

class DiscardAgent : public DeliveryAgent {
 public:
  asio::awaitable<DeliveryResult> Deliver(const DeliveryRequest& request) override;
  // The same, synchronously.
  static DeliveryResult DeliverNow(const DeliveryRequest& request);
};

class ErrorAgent : public DeliveryAgent {
 public:
  asio::awaitable<DeliveryResult> Deliver(const DeliveryRequest& request) override;
  static DeliveryResult DeliverNow(const DeliveryRequest& request);
};

}  // namespace posthaste::runtime
