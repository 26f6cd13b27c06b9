// bounce_message.h: non-delivery and delay notices (Postfix bounce(8) shape).
//
// Where it sits: the queue manager decides that a message's sender must be
// told about failed recipients (or, once, about recipients still being
// retried after delay_warning_time), calls ComposeDeliveryStatusNotice, and
// queues the result as a new message from the null sender. Nothing here
// reads the queue or the network; the function is pure and deterministic
// (the caller passes the dates and the MIME boundary when it wants fixed
// output, as the golden tests do).
//
// Shape (RFC 3462 multipart/report, RFC 3464 delivery-status), as Postfix
// writes it:
//   headers: Received (when notice_queue_id is known), Date,
//     From: Mail Delivery System <MAILER-DAEMON@myhostname>,
//     Subject: "Undelivered Mail Returned to Sender",
//     "Delayed Mail (still being retried)" or "Successful Mail Delivery
//     Report" (NOTIFY=SUCCESS), To: the original sender,
//     Auto-Submitted: auto-replied, MIME-Version,
//     (for a null-sender original, a postmaster copy: Subject "Postmaster
//     Copy: Undelivered Mail" / "Postmaster Warning: Delayed Mail",
//     Auto-Submitted: auto-generated, sender shown as MAILER-DAEMON),
//     Content-Type: multipart/report; report-type=delivery-status,
//     Content-Transfer-Encoding (7bit, or 8bit when anything is 8-bit),
//     Message-Id.
//   part 1, text/plain "Notification": our own explanatory text, then one
//     "<address>: reason" paragraph per recipient ("(expanded from <orig>)"
//     when the original recipient differs), wrapped at 79 columns with a
//     4-space indent.
//   part 2, message/delivery-status "Delivery report": Reporting-MTA,
//     X-<Mail_name>-Queue-ID, Original-Envelope-Id (ENVID=),
//     X-<Mail_name>-Sender, Arrival-Date; per recipient Final-Recipient,
//     Original-Recipient (the ORCPT= when given), Action, Status,
//     Remote-MTA, Diagnostic-Code (the recipient's diagnostic, else
//     "X-<Mail_name>; reason"), Will-Retry-Until for delay notices.
//   part 3: the original message prefixed with Return-Path: <sender>, as
//     message/rfc822 "Undelivered Message" when it is at most
//     bounce_size_limit bytes and RET=HDRS was not asked for (success
//     notices never return more than the headers), else only its headers
//     as text/rfc822-headers
//     "Undelivered Message Headers" (Postfix sends headers only rather than
//     a cut message, so the MIME structure stays intact; headers longer
//     than the limit are cut at a line end).
// Every line of the result is at most 998 bytes: report lines are wrapped,
// and a longer line of the original message is broken by inserting a
// newline and a space (what Postfix's smtp client does on the wire).
//
// Trust: recipient texts and the original message come from remote
// servers and senders; control characters in report fields are replaced
// by '?' so they cannot inject header lines.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"

namespace posthaste::runtime {

struct BounceRecipient {
  std::string address;   // final recipient
  std::string original;  // as the client gave it ("" or equal: not repeated)
  std::string dsn;       // "5.1.1"
  std::string action;    // "failed" | "delayed" | "delivered" | "relayed"
  // "smtp; 550 5.1.1 <u@x>: Recipient address rejected", or "" (then
  // "X-Posthaste; <reason>").
  std::string diagnostic;
  std::string remote_mta;  // "mx.example.com" or ""
  std::string reason;      // the human text (status=... (reason))
  // The client's ORCPT= ("rfc822;addr"); when given it is the report's
  // Original-Recipient instead of `original`.
  std::string orcpt = {};
};

struct BounceInput {
  // kSuccess: NOTIFY=SUCCESS recipients were delivered ("delivered") or
  // relayed to a next hop without DSN ("relayed").
  enum class Kind { kFailure, kDelay, kSuccess };
  Kind kind = Kind::kFailure;
  std::string queue_id;  // the original message
  std::string sender;    // original envelope sender (the notice's recipient)
  std::string myhostname;
  std::string mail_name = "posthaste";
  int64_t arrival_micros = 0;  // the original message's arrival
  int64_t now_micros = 0;      // when the notice is made (Date, Message-Id)
  std::string date;            // the Date: value; "" = FormatMailDate(now_micros)
  std::string boundary;        // "" = "<queue_id>.<now seconds>/<myhostname>"
  // The notice's own queue ID when known (QueueStore::ReserveQueueId): it
  // then gets a Received: header and a Message-Id built from it. Else the
  // Message-Id uses the original queue ID and the time.
  std::string notice_queue_id;
  std::vector<BounceRecipient> recipients;
  std::string_view original_message;  // headers + body, LF lines
  size_t bounce_size_limit = 50000;
  absl::Duration delay_warning_time;      // the delay notice's "more than N hours"
  absl::Duration maximal_queue_lifetime;  // Will-Retry-Until = arrival + this
  // MAIL ENVID= (Original-Envelope-Id), "" when not given.
  std::string dsn_envid;
  // Return only the original's headers (RET=HDRS, and success notices).
  bool return_headers_only = false;
  // UTF-8 text in 8bit encoding: the queue manager sets it when
  // smtputf8_enable is on (as Postfix 3 writes its notices) or the original
  // used 8BITMIME; 8-bit bytes anywhere also turn it on.
  bool eight_bit = false;
  // The notice's To: when it does not go to `sender` (a notice about a
  // null-sender message goes to the postmaster). "" = sender.
  std::string notify_recipient;
};

// The complete notice message (headers and body, LF line ends).
std::string ComposeDeliveryStatusNotice(const BounceInput& in);


// Postfix's line_wrap: breaks `text` at blanks into lines of at most
// `width` bytes, continuation lines indented by `indent` spaces; a word
// longer than the line stays whole unless it exceeds `hard_limit`, where
// it is cut. Each line ends in "\n".
std::string WrapText(std::string_view text, size_t width = 79, size_t indent = 4,
                     size_t hard_limit = 998);

}  // namespace posthaste::runtime
