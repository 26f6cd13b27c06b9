// mailq_format.cc: mailq layout (see mailq_format.h). Column widths follow
// the format strings of Debian's postqueue 3.7.11.
#include "runtime/mailq_format.h"

#include <time.h>

#include <algorithm>
#include <cstdio>

#include "absl/strings/str_format.h"

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

  std::vector<const QueuedMessage*> order;
  order.reserve(messages.size());
  for (const QueuedMessage& m : messages) order.push_back(&m);
  std::stable_sort(order.begin(), order.end(), [](const QueuedMessage* a, const QueuedMessage* b) {
    return QueueOrder(a->meta.state) < QueueOrder(b->meta.state);
  });

  std::string out = absl::StrFormat(
      "%-*s %*s %-*s %s\n", id_width, options.long_queue_ids ? "----Queue ID-----" : "-Queue ID-",
      size_width, "--Size--", time_width,
      options.long_queue_ids ? "---Arrival Time----" : "----Arrival Time----",
      "-Sender/Recipient-------");
  uint64_t total = 0;
  for (const QueuedMessage* m : order) {
    total += m->content_size;
    std::string id = m->meta.id;
    if (m->meta.state == MessageState::kActive) {
      id += '*';
    } else if (m->meta.state == MessageState::kHold) {
      id += '!';
    }
    const std::string& sender =
        m->meta.sender.empty() ? std::string("MAILER-DAEMON") : m->meta.sender;
    absl::StrAppendFormat(&out, "%-*s %*d %s %s\n", id_width, id, size_width, m->content_size,
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

}  // namespace posthaste::runtime

namespace posthaste::runtime {
namespace {
std::string JsonString(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    unsigned char u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (u < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\u%04x", u);
      out += buf;
    } else {
      out.push_back(c);
    }
  }
  return out + "\"";
}
std::string_view RecipientStatusName(RecipientStatus s) {
  switch (s) {
    case RecipientStatus::kPending: return "pending";
    case RecipientStatus::kDone: return "delivered";
    case RecipientStatus::kDelivering: return "delivered";
    case RecipientStatus::kDeferred: return "deferred";
    case RecipientStatus::kBounced: return "bounced";
    case RecipientStatus::kBouncing: return "bounced";
  }
  return "pending";
}
}  // namespace

std::string FormatMailqJson(const std::vector<QueuedMessage>& messages) {
  std::string out = "[";
  bool first = true;
  for (const QueuedMessage& m : messages) {
    out += first ? "\n" : ",\n";
    first = false;
    out += "{\"queue_id\":" + JsonString(m.meta.id) + ",\"state\":" +
           JsonString(MessageStateName(m.meta.state)) +
           ",\"arrival_time\":" + std::to_string(m.meta.arrival_micros / 1000000) +
           ",\"message_size\":" + std::to_string(m.content_size) +
           ",\"sender\":" + JsonString(m.meta.sender) +
           (m.meta.filter.empty() ? "" : ",\"filter\":" + JsonString(m.meta.filter)) +
           ",\"recipients\":[";
    for (size_t i = 0; i < m.meta.recipients.size(); ++i) {
      const QueueRecipient& r = m.meta.recipients[i];
      if (i) out += ",";
      out += "{\"address\":" + JsonString(r.address) + ",\"status\":" +
             JsonString(RecipientStatusName(r.status)) + ",\"reason\":" + JsonString(r.reason) + "}";
    }
    out += "]}";
  }
  out += first ? "]\n" : "\n]\n";
  return out;
}
}  // namespace posthaste::runtime
