// maildir_writer.h: Maildir delivery, the headers local delivery prepends,
// and mail loop detection.
//
// Where it sits: the last step of the local and virtual delivery agents
// (local_delivery.h, virtual_delivery.h). Input: a mailbox directory chosen
// by the agent from trusted configuration, and the queued message (LF line
// ends, headers then body). Output: one file in DIR/new/.
//
// Protocol (the Maildir convention, as Postfix's local(8) and virtual(8)
// follow it): the message is written to DIR/tmp/NAME with a name nobody else
// can pick (time.M<usec>P<pid>Q<counter>.host), fsynced, renamed into
// DIR/new/NAME without replacing anything, and DIR/new is fsynced before the
// delivery is reported: once we say "delivered", a crash cannot lose it.
// Missing DIR, DIR/tmp, DIR/new, DIR/cur (and missing parents of DIR) are
// created with mode 0700. A failed delivery removes its tmp file.
//
// Trust: the caller has already switched the thread's file identity to the
// mailbox owner (fs_identity.h); nothing here changes privileges. The
// message is untrusted content and is copied byte for byte.
//
// Not here: mbox files (mbox_writer.h), quotas beyond a plain size limit,
// the Maildir++ sub-folders, maildir "cur" handling (readers own cur/).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace posthaste::runtime {

// The delivery headers Postfix's local and virtual agents put in front of
// a message, in their order:
//   Return-Path: <sender>
//   X-Original-To: original     (when `original` is not empty)
//   Delivered-To: recipient     (as written)
struct DeliveryHeaders {
  std::string sender;        // envelope sender, "" for the null sender
  std::string original;      // the recipient as first received; "" = omit
  std::string delivered_to;  // the recipient being delivered
};
std::string FormatDeliveryHeaders(const DeliveryHeaders& headers);

// Mail loop detection: true when the message's header block already holds
// a Delivered-To: header naming `address` (case-insensitive, surrounding
// blanks ignored). Postfix then bounces with 5.4.6 "mail forwarding loop
// for <address>". Only the primary header block is read.
bool HasDeliveredTo(std::string_view content, std::string_view address);

struct MaildirTarget {
  std::string directory;    // the Maildir (holds tmp/, new/, cur/)
  std::string hostname;     // for the unique name (myhostname)
  uint64_t size_limit = 0;  // largest file allowed; 0 = none
  int64_t now_micros = 0;   // name timestamp; 0 = the real clock
};

// A fresh unique file name: "<sec>.M<usec>P<pid>Q<n>.<host>", with '/' and
// ':' in the host written as \057 and \072 (Maildir convention). The
// counter is process-wide.
std::string MaildirUniqueName(int64_t micros, std::string_view hostname);

// Delivers `headers` + `content` (a final newline is added when missing).
// Returns the path of the file in new/. Errors: ResourceExhausted when the
// size limit or the disk quota is exceeded (EDQUOT, EFBIG: Postfix bounces
// these with 5.2.2); Unavailable for every other failure (deferred); the
// message names the failing step and path ("create maildir file ...: ...").
absl::StatusOr<std::string> DeliverToMaildir(const MaildirTarget& target, std::string_view headers,
                                             std::string_view content);

// Creates `path` and its missing parents with `mode`, fsyncing each parent
// that got a new entry. Shared with the mbox writer.
absl::Status MakeDirectories(const std::string& path, unsigned mode);

}  // namespace posthaste::runtime
