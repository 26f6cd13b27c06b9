// mbox_writer.h: appending a message to a UNIX mbox file.
//
// Where it sits: the last step of local delivery into mail_spool_directory
// (or an mbox file under the home directory) and of virtual delivery to a
// mailbox path that does not end in "/". Input: a path from trusted
// configuration and the queued message (LF line ends).
//
// Format (Postfix's mail_copy with the mbox flags): a "From sender  date"
// line (asctime form, MAILER-DAEMON for the null sender), the delivery
// headers, the message with every line that starts with "From " written as
// ">From ", a final newline when missing, and one empty line.
//
// Locking and safety: the file is locked with fcntl(F_SETLK) for the whole
// append, retried deliver_lock_attempts times deliver_lock_delay apart
// (Postfix's "fcntl" mailbox_delivery_lock; dot-locking is not done, see
// README). The file is opened without following a symlink and must be a
// regular file with one link; when `owner` is given (deliveries by root
// into the spool) an existing file must belong to it and a new file is
// given to it with fchown. The append is fsynced before success is
// reported; a failed append truncates the file back to its old size.
//
// Trust: identity switching is the caller's (fs_identity.h); the spool case
// opens as root on purpose, like Postfix, because users cannot create files
// in a mode 1777-less /var/mail.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace posthaste::runtime {

struct MboxTarget {
  std::string path;
  uint64_t size_limit = 0;  // the file may not grow beyond this; 0 = none
  struct Owner {
    uid_t uid = 0;
    gid_t gid = 0;
  };
  std::optional<Owner> owner;  // see the file comment
  int lock_attempts = 20;
  absl::Duration lock_delay = absl::Seconds(1);
  int64_t now_micros = 0;  // for the From line; 0 = the real clock
};

// The bytes appended for one message.
std::string FormatMboxEntry(std::string_view sender, int64_t now_micros, std::string_view headers,
                            std::string_view content);

// Errors: ResourceExhausted when the size limit or a quota is exceeded
// (bounced 5.2.2); Unavailable otherwise (deferred), naming the step
// ("cannot open file: ...", "unable to lock for exclusive access: ...").
absl::Status AppendToMbox(const MboxTarget& target, std::string_view sender,
                          std::string_view headers, std::string_view content);

}  // namespace posthaste::runtime
