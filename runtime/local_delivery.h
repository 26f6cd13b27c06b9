// local_delivery.h: the local delivery agent (Postfix local(8) subset).
//
// Where it sits: the queue manager hands it the recipients routed to a
// master.cf service whose command is "local" (delivery.h). Each recipient
// is delivered as Postfix 3.7's local(8) does, one level at a time:
//
//  1. Checks: past 100 levels, bounced 5.4.6 "recipient nesting limit
//     exceeded"; an address already handled at the same level in this run
//     is skipped (case-insensitive duplicate filter); a Delivered-To: header
//     naming the address bounces it, 5.4.6 "mail forwarding loop for ADDR".
//  2. Aliases: alias_maps (tables from the bundle, Snapshot::FindTable) are
//     searched for the local part, lowercased, with its address extension
//     (recipient_delimiter), then without it (the extension is carried
//     onto the expansion when propagate_unmatched_extensions has "alias").
//     An alias that names the alias being expanded means its user. A value
//     is a comma-separated list of:
//       - addresses ("user@domain", "Name <user@domain>", or a bare "user",
//         which gets "@$myorigin"). Each is resolved with the bundle's
//         routing program: one that routes to this same transport is
//         delivered in this run (back to step 1, one level down); the others
//         are sent on as new messages (step 4).
//       - "|command", "/file/name" and ":include:/file" are REFUSED: bounced
//         with 5.7.1 "mail to command is not supported (alias NAME)" (or
//         "... to file ...", "... :include: file ..."). Addresses in the same
//         list are still delivered.
//     With an owner-NAME alias (owner_request_special), the list's copies
//     are sent from owner-NAME@$myorigin (or its value, expand_owner_alias),
//     without the original recipient, and local addresses of other users
//     are sent on as new messages too (each gets its own queue record). An
//     empty expansion or a table that cannot answer defers, 4.3.0 "alias
//     database unavailable".
//  3. Users: getpwnam_r on the local part without extension, lowercased.
//     Unknown: bounced 5.1.1 `unknown user: "name"`. Known: the first file
//     of forward_path that exists (~/.forward), read with the user's rights,
//     is expanded like an alias whose owner is the user (the user's own name
//     in it means the mailbox); an empty one is ignored. Otherwise the
//     mailbox:
//       - $home/$home_mailbox when home_mailbox is set: Maildir when it ends
//         in "/", else an mbox file;
//       - else $mail_spool_directory/name: an mbox file (Maildir when
//         mail_spool_directory ends in "/").
//     Delivered-To: names the queued recipient (frozen_delivered_to), as
//     written; X-Original-To: its original address.
//     mailbox_command(_maps), mailbox_transport(_maps) are not supported: a
//     recipient whose delivery would use them is deferred (4.3.0) with the
//     parameter named, so nothing is silently delivered elsewhere; the same
//     for unknown users while luser_relay or fallback_transport(_maps) is
//     set.
//  4. Forwarded copies: at the end of the run, one new message per
//     (Delivered-To address, sender) through the `forward` callback (the
//     server reserves a queue ID, queues the copy and nudges the queue
//     manager), starting with "Received: by $myhostname ($mail_name)" naming
//     the new ID and "Delivered-To: recipient" (lowercased), so a forwarding
//     loop ends at step 1. Logged as sent, "forwarded as QUEUEID". When any
//     address of the recipient was deferred, no copy is sent: the whole
//     recipient is tried again later.
//
// Outcomes: each address reached is one RecipientOutcome::Part (logged as
// its own line, to=<address>, orig_to=<original>); the recipient is
// deferred if any part was, else bounced if any part was, else sent.
//
// Privileges (posthasted running as root): every file operation under the
// home directory runs with the user's uid/gid on the delivering thread
// (fs_identity.h), so the kernel applies the user's permissions and new
// files belong to the user. The one exception is the mbox in the mail
// spool directory, which users cannot create: it is opened as root without
// following symlinks, must be a regular file owned by the user with one
// link, and a new one is given to the user (mbox_writer.h), as Postfix
// does. Not root: everything runs as the current user.
//
// Size limit: mailbox_size_limit caps an mbox file and a Maildir message
// file (over it: bounced 5.2.2). Write failures defer (4.2.0) and remove
// partial data. Success texts as Postfix logs them: "delivered to maildir",
// "delivered to mailbox". relay=local.
//
// Threads: DeliverNow blocks (disk, fsync, user database, the forward
// callback); Deliver runs it on the executor given in the options.
#pragma once

#include <sys/types.h>

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "runtime/agent_support.h"
#include "runtime/queue_id.h"
#include "runtime/queue_store.h"

namespace posthaste::runtime {

class Maillog;

// Queues a new message and returns its queue ID. Its content is made once
// the ID and arrival time are known (a forwarded copy's Received: line
// names them).
using ForwardContent = std::function<std::string(std::string_view queue_id, int64_t arrival_micros)>;
using ForwardFunction =
    std::function<absl::StatusOr<std::string>(NewMessage message, const ForwardContent& content)>;

struct PasswdEntry {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;
  std::string home;
};
// nullopt: no such user; an error: the user database could not answer.
using PasswdLookup =
    std::function<absl::StatusOr<std::optional<PasswdEntry>>(std::string_view name)>;
// getpwnam_r.
absl::StatusOr<std::optional<PasswdEntry>> SystemPasswdLookup(std::string_view name);

struct LocalDeliveryOptions {
  ForwardFunction forward;                        // empty: alias addresses are deferred
  PasswdLookup passwd;                            // empty: SystemPasswdLookup
  std::optional<asio::any_io_executor> blocking;  // see BlockingAgent
  MicrosClock clock = RealMicros;
  Maillog* log = nullptr;  // warnings (configuration problems); may be null
};

class LocalDeliveryAgent : public BlockingAgent {
 public:
  explicit LocalDeliveryAgent(LocalDeliveryOptions options);
  DeliveryResult DeliverNow(const DeliveryRequest& request) override;

 private:
  LocalDeliveryOptions options_;
  AgentGlobalsCache globals_;
};

}  // namespace posthaste::runtime
