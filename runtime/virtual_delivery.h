// virtual_delivery.h: the virtual delivery agent (Postfix virtual(8)).
//
// Where it sits: the queue manager hands it the recipients routed to a
// master.cf service whose command is "virtual" (usually the recipients of
// virtual_mailbox_domains). Per recipient:
//
//  1. Loop check: a Delivered-To: header naming the recipient bounces it,
//     5.4.6 "mail forwarding loop for ADDR".
//  2. virtual_mailbox_maps (bundle tables) in virtual(8)'s order:
//     user+ext@domain, user@domain, @domain (tables/address_lookup.h; pattern
//     tables see the full address once). Not found: bounced 5.1.1
//     `unknown user: "ADDR"`. A table that cannot answer defers (4.3.0).
//  3. The mailbox is $virtual_mailbox_base/RESULT: a Maildir when RESULT
//     ends in "/", else an mbox file (fcntl-locked, mbox_writer.h).
//  4. Running as root: virtual_uid_maps and virtual_gid_maps (same keys)
//     give the owner's numeric uid and gid ("static:5000" is common); a
//     missing entry, a non-number, a uid below virtual_minimum_uid or a gid
//     of 0 defers with 4.3.5 "mail system configuration error" (logged with
//     the reason). Files are then written with that uid/gid
//     (fs_identity.h). Not root: the maps are not consulted and files are
//     written as the current user.
//
// virtual_mailbox_limit caps the mbox file / Maildir message (bounce
// 5.2.2); write failures defer (4.2.0). Success texts as Postfix logs them:
// "delivered to maildir", "delivered to mailbox". relay=virtual.
//
// Threads: DeliverNow blocks; Deliver runs it on the options' executor.
#pragma once

#include <optional>

#include "runtime/agent_support.h"
#include "runtime/queue_id.h"

namespace posthaste::runtime {

class Maillog;

struct VirtualDeliveryOptions {
  std::optional<asio::any_io_executor> blocking;  // see BlockingAgent
  MicrosClock clock = RealMicros;
  Maillog* log = nullptr;  // configuration warnings; may be null
};

class VirtualDeliveryAgent : public BlockingAgent {
 public:
  explicit VirtualDeliveryAgent(VirtualDeliveryOptions options = {});
  DeliveryResult DeliverNow(const DeliveryRequest& request) override;

 private:
  VirtualDeliveryOptions options_;
  AgentGlobalsCache globals_;
};

}  // namespace posthaste::runtime
