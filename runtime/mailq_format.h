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
// Trusted input (our own queue). Not done here: JSON output (postqueue -j).
#pragma once

#include <string>
#include <vector>

#include "runtime/queue_store.h"

namespace posthaste::runtime {

struct MailqOptions {
  // enable_long_queue_ids: the wider column layout.
  bool long_queue_ids = false;
};

std::string FormatMailq(const std::vector<QueuedMessage>& messages, const MailqOptions& options);

}  // namespace posthaste::runtime

namespace posthaste::runtime {
// The same listing as JSON: one array of objects with queue_id, state,
// arrival_time (Unix seconds), message_size, sender, filter (when the
// message carries a content filter request) and recipients
// (address, status, reason).
std::string FormatMailqJson(const std::vector<QueuedMessage>& messages);
}  // namespace posthaste::runtime
