// mailq_format.cc: mailq and postqueue -j layouts (see mailq_format.h). Column widths follow
// the format strings of Debian's postqueue 3.7.11.
#include "runtime/mailq_format.h"

#include <time.h>

#include <algorithm>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "runtime/printable.h"

namespace posthaste::runtime {
namespace {

// asctime() layout ("Mon Mar  4 10:11:12 2024"), cut to `width` bytes.
std::string ArrivalTime(int64_t micros, int width) {
  time_t t = static_cast<time_t>(micros / 1000000);
  struct tm tm;
  localtime_r(&t, &tm);
  char buf[64];
  size_t n = strftime(buf, sizeof(buf), "%a %b %e %H:%M:%S %Y", &tm);
  std::string s(buf, n);
  s.resize(static_cast<size_t>(width), ' ');
  return s;
}

int QueueOrder(MessageState s) {
  switch (s) {
    case MessageState::kIncoming:
      return 0;
    case MessageState::kActive:
      return 1;
    case MessageState::kDeferred:
      return 2;
    case MessageState::kHold:
      return 3;
  }
  return 4;
}

// Queue by queue, as Postfix's showq scans them; by arrival within one.
std::vector<const QueuedMessage*> QueueListingOrder(const std::vector<QueuedMessage>& messages) {
  std::vector<const QueuedMessage*> order;
  order.reserve(messages.size());
  for (const QueuedMessage& m : messages) order.push_back(&m);
  std::stable_sort(order.begin(), order.end(), [](const QueuedMessage* a, const QueuedMessage* b) {
    return QueueOrder(a->meta.state) < QueueOrder(b->meta.state);
  });
  return order;
}

}  // namespace

std::string FormatMailq(const std::vector<QueuedMessage>& messages, const MailqOptions& options) {
  if (messages.empty()) return "Mail queue is empty\n";
  const int id_width = options.long_queue_ids ? 17 : 11;
  const int size_width = options.long_queue_ids ? 8 : 7;
  const int time_width = options.long_queue_ids ? 19 : 20;
  const int indent = id_width + 1 + size_width + 1 + time_width + 1;
  // A reason is indented so that, with its parentheses, it ends two
  // columns past this one; longer reasons start in the first column.
  const int reason_pad = indent + 35;

  std::vector<const QueuedMessage*> order = QueueListingOrder(messages);

  std::string out = absl::StrFormat(
      "%-*s %*s %-*s %s\n", id_width, options.long_queue_ids ? "----Queue ID-----" : "-Queue ID-",
      size_width, "--Size--", time_width,
      options.long_queue_ids ? "---Arrival Time----" : "----Arrival Time----",
      "-Sender/Recipient-------");
  uint64_t total = 0;
  for (const QueuedMessage* m : order) {
    total += m->message_size;
    std::string id = m->meta.id;
    if (m->meta.state == MessageState::kActive) {
      id += '*';
    } else if (m->meta.state == MessageState::kHold) {
      id += '!';
    }
    const std::string& sender =
        m->meta.sender.empty() ? std::string("MAILER-DAEMON") : m->meta.sender;
    absl::StrAppendFormat(&out, "%-*s %*d %s %s\n", id_width, id, size_width, m->message_size,
                          ArrivalTime(m->meta.arrival_micros, time_width), sender);
    const std::string* last_reason = nullptr;
    for (const QueueRecipient& r : m->meta.recipients) {
      if (!RecipientNeedsDelivery(r.status)) continue;
      if (r.status == RecipientStatus::kDeferred && !r.reason.empty() &&
          (last_reason == nullptr || *last_reason != r.reason)) {
        int pad = std::max(0, reason_pad - static_cast<int>(r.reason.size()));
        absl::StrAppendFormat(&out, "%*s(%s)\n", pad, "", r.reason);
        last_reason = &r.reason;
      }
      absl::StrAppendFormat(&out, "%*s%s\n", indent, "", r.address);
    }
    out += '\n';
  }
  absl::StrAppendFormat(&out, "-- %d Kbytes in %d Request%s.\n", total / 1024, order.size(),
                        order.size() == 1 ? "" : "s");
  return out;
}

namespace {

// A JSON string as postqueue -j quotes it: short escapes for \b \f \n \r
// \t, \u00XX (upper case) for the other control characters and DEL, then
// what is not printable in the mail system's character set becomes '?'
// (bytes that are not UTF-8, or anything beyond ASCII when SMTPUTF8 is off).
std::string PostqueueJsonString(std::string_view s, bool utf8) {
  std::string out = "\"";
  for (char c : s) {
    const unsigned char u = static_cast<unsigned char>(c);
    switch (c) {
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '"':
      case '\\':
        out.push_back('\\');
        out.push_back(c);
        break;
      default:
        if (u < 0x20 || u == 0x7f) {
          out += absl::StrFormat("\\u%04X", u);
        } else {
          out.push_back(c);
        }
    }
  }
  Printable(&out, utf8, '?');
  return out + "\"";
}

}  // namespace

std::string FormatMailqJson(const std::vector<QueuedMessage>& messages,
                            const MailqOptions& options) {
  std::vector<const QueuedMessage*> order = QueueListingOrder(messages);
  const auto quoted = [&](std::string_view s) { return PostqueueJsonString(s, options.smtputf8); };
  std::string out;
  for (const QueuedMessage* m : order) {
    absl::StrAppend(&out, "{\"queue_name\": ", quoted(MessageStateName(m->meta.state)),
                    ", \"queue_id\": ", quoted(m->meta.id),
                    ", \"arrival_time\": ", m->meta.arrival_micros / 1000000,
                    ", \"message_size\": ", m->message_size,
                    ", \"forced_expire\": false, \"sender\": ",
                    quoted(m->meta.sender.empty() ? "MAILER-DAEMON" : m->meta.sender),
                    ", \"recipients\": [");
    bool first = true;
    for (const QueueRecipient& r : m->meta.recipients) {
      if (!RecipientNeedsDelivery(r.status)) continue;
      absl::StrAppend(&out, first ? "" : ", ", "{\"address\": ", quoted(r.address));
      if (r.status == RecipientStatus::kDeferred && !r.reason.empty())
        absl::StrAppend(&out, ", \"delay_reason\": ", quoted(r.reason));
      out += '}';
      first = false;
    }
    out += "]}\n";
  }
  return out;
}

}  // namespace posthaste::runtime
