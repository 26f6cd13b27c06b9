// queue_file_size.cc: Postfix's queue file size (see queue_file_size.h).
#include "runtime/queue_file_size.h"

#include "tables/str_cat.h"

namespace posthaste::runtime {
namespace {

using tables::Cat;

constexpr size_t kPostfixQueueIdLength = 11;

// Bytes of one record carrying `len` data bytes.
uint64_t Record(uint64_t len) {
  uint64_t n = 1;  // type
  uint64_t v = len;
  do {
    ++n;
    v >>= 7;
  } while (v != 0);
  return n + len;
}

uint64_t Attribute(std::string_view name, std::string_view value) {
  return Record(name.size() + 1 + value.size());
}

}  // namespace

uint64_t PostfixQueueFileSize(const QueueFileEnvelope& e, std::string_view content,
                              size_t line_length_limit) {
  if (line_length_limit == 0) line_length_limit = 2048;
  const int64_t seconds = e.arrival_micros / 1000000;
  const int64_t micros = e.arrival_micros % 1000000;
  const std::string port = Cat(e.client_port);
  // Postfix's short queue IDs run to about 11 characters here (5 for the
  // microseconds, the rest the inode number), ours to 6: count Postfix's
  // length where the ID appears (log_ident and the Received: header).
  std::string id = e.queue_id;
  uint64_t id_shortfall = 0;
  if (id.size() < kPostfixQueueIdLength) {
    id_shortfall = kPostfixQueueIdLength - id.size();
    id.resize(kPostfixQueueIdLength, '0');
  }
  uint64_t n = id_shortfall;  // the Received: header's copy
  n += Record(6 * 15 + 5);                            // message size record
  n += Record(Cat(seconds, " ", micros).size());      // arrival time
  n += Attribute("create_time", Cat(seconds));
  n += Attribute("log_ident", id);
  n += Attribute("rewrite_context", e.local_rewrite_context ? "local" : "remote");
  n += Record(e.sender.size());
  n += Attribute("log_client_name", e.client_name);
  n += Attribute("log_client_address", e.client_addr);
  n += Attribute("log_client_port", port);
  n += Attribute("log_message_origin", Cat(e.client_name, "[", e.client_addr, "]"));
  if (!e.helo.empty()) n += Attribute("log_helo_name", e.helo);
  n += Attribute("log_protocol_name", e.protocol);
  n += Attribute("client_name", e.client_name);
  n += Attribute("reverse_client_name", e.reverse_client_name);
  n += Attribute("client_address", e.client_addr);
  n += Attribute("client_port", port);
  n += Attribute("server_address", e.server_addr);
  n += Attribute("server_port", Cat(e.server_port));
  if (!e.helo.empty()) n += Attribute("helo_name", e.helo);
  n += Attribute("protocol_name", e.protocol);
  n += Attribute("client_address_type",
                 e.client_addr.find(':') == std::string::npos ? "2" : "10");
  for (const QueueFileEnvelope::Recipient& r : e.recipients) {
    n += Attribute("dsn_orig_rcpt", r.orcpt.empty() ? Cat("rfc822;", r.original) : r.orcpt);
    n += Record(r.original.size());
    n += Record(r.address.size());
  }
  n += Record(0);  // start of the content
  n += PostfixContentSize(content, line_length_limit);
  n += Record(0) + Record(0);  // end of content, end of file
  return n;
}

uint64_t PostfixContentSize(std::string_view content, size_t line_length_limit) {
  if (line_length_limit == 0) line_length_limit = 2048;
  uint64_t n = 0;
  size_t pos = 0;
  while (pos < content.size()) {
    size_t nl = content.find('\n', pos);
    size_t end = nl == std::string_view::npos ? content.size() : nl;
    size_t len = end - pos;
    do {
      size_t piece = std::min(len, line_length_limit);
      n += Record(piece);
      len -= piece;
    } while (len > 0);
    pos = nl == std::string_view::npos ? content.size() : nl + 1;
  }
  return n;
}

bool ExceedsPostfixMessageLimit(const QueueFileEnvelope& envelope, std::string_view content,
                                uint64_t message_size_limit, size_t line_length_limit) {
  if (message_size_limit == 0) return false;
  // cleanup checks the offset before each record it writes; the last one
  // is the two-byte end record.
  return PostfixQueueFileSize(envelope, content, line_length_limit) - 2 > message_size_limit;
}

}  // namespace posthaste::runtime
