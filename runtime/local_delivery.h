// local_delivery.h: the local delivery agent (Postfix local(8) subset).
//
// Where it sits: the queue manager hands it the recipients routed to a
// master.cf service whose command is "local" (delivery.h). Per recipient:
//
//  1. Loop check: a Delivered-To: header naming the recipient already in
//     the message bounces it, 5.4.6 "mail forwarding loop for ADDR".
//  2. Aliases: alias_maps (tables from the bundle, Snapshot::FindTable) are
//     searched for the local part, lowercased, with its address extension
//     (recipient_delimiter), then without it; the first table that knows a
//     key answers. A value is a comma-separated list of:
//       - addresses ("user@domain", "Name <user@domain>", or a bare "user",
//         which gets "@$myorigin"): all of a recipient's addresses are sent
//         on as ONE new message through the `forward` callback (the server
//         wires it to QueueStore::EnqueueAndWait plus a queue manager
//         nudge), with the original sender (or owner-NAME@$myorigin when the
//         aliases define owner-NAME) and a "Delivered-To: recipient" header
//         in front, so a forwarding loop ends at step 1. Reported as sent,
//         "forwarded as QUEUEID".
//       - the alias's own name: delivered to that user's mailbox (step 3),
//         not expanded again (Postfix does the same).
//       - "|command", "/file/name" and ":include:/file" are REFUSED: the
//         recipient is bounced with 5.7.1 "mail to command is not supported
//         (alias NAME)" (or "... to file ...", "... :include: file ...").
//         Addresses in the same list are still forwarded.
//     A table that cannot answer (missing from the bundle, try-again)
//     defers with 4.3.0 "alias database unavailable".
//  3. Users: getpwnam_r on the local part without extension, lowercased.
//     Unknown: bounced 5.1.1 `unknown user: "name"`. Known: the mailbox is
//       - $home/$home_mailbox when home_mailbox is set: Maildir when it ends
//         in "/", else an mbox file;
//       - else $mail_spool_directory/name: an mbox file (Maildir when
//         mail_spool_directory ends in "/").
//     mailbox_command(_maps), mailbox_transport(_maps) are not supported: a
//     recipient whose delivery would use them is deferred (4.3.0) with the
//     parameter named, so nothing is silently delivered elsewhere; the same
//     for unknown users while luser_relay or fallback_transport(_maps) is
//     set. ~/.forward files are not read (a warning is logged when one
//     exists).
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

// Queues a new message; returns its queue ID.
using ForwardFunction =
    std::function<absl::StatusOr<std::string>(const NewMessage& message, std::string_view content)>;

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
