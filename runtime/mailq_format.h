// mailq_format.h: the queue listing in Postfix's mailq (postqueue -p) layout.
//
// Input: QueueStore::List(). Output: the text `phctl queue` prints, laid out
// as Postfix 3.7 mailq does: a heading, then per message the queue ID with
// '*' (active) or '!' (on hold) appended, the size, the arrival time and the
// sender (MAILER-DAEMON for <>), then each recipient still to be delivered,
// preceded by its deferral reason in parentheses when it differs from the
// previous one; a blank line after each message and the trailer
// "-- N Kbytes in M Request(s)."; "Mail queue is empty" when there is none.
// Messages are listed queue by queue (incoming, active, deferred, hold), by
// arrival within a queue. Times are local time.
//
// FormatMailqJson is postqueue -j: one JSON object per line and message, in
// the same order, with Postfix's members (queue_name, queue_id,
// arrival_time, message_size, forced_expire, sender, recipients with address
// and, for a deferred recipient, delay_reason), spacing and quoting; nothing
// at all for an empty queue.
//
// Trusted input (our own queue).
#pragma once

#include <string>
#include <vector>

#include "runtime/queue_store.h"

namespace posthaste::runtime {

struct MailqOptions {
  // enable_long_queue_ids: the wider column layout.
  bool long_queue_ids = false;
  // smtputf8_enable: JSON strings keep UTF-8 (otherwise only ASCII).
  bool smtputf8 = true;
};

std::string FormatMailq(const std::vector<QueuedMessage>& messages, const MailqOptions& options);
std::string FormatMailqJson(const std::vector<QueuedMessage>& messages,
                            const MailqOptions& options);

}  // namespace posthaste::runtime
