// queue_file_size.h: the size Postfix's queue file would have for a
// received message, which is what message_size_limit limits.
//
// Postfix's cleanup refuses a message ("552 5.3.4 Error: message file too
// big") as soon as its queue file grows past message_size_limit, and that
// file holds more than the message: about 650 bytes of envelope records
// (sizes, times, the client's attributes, one dsn_orig_rcpt/original/
// recipient triple per recipient) and a few bytes of framing per line. Our
// queue stores messages differently, so the session computes Postfix's
// size here and applies the limit to it, as an admin who tuned
// message_size_limit on Postfix expects. Checked against the queue files of
// a live Postfix 3.7.11 (the envelope part to the byte).
//
// Record framing: one type byte, the length in 7-bit groups (low first),
// the data; a content line longer than line_length_limit is written in
// pieces of at most that length.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace posthaste::runtime {

struct QueueFileEnvelope {
  std::string queue_id;
  int64_t arrival_micros = 0;
  bool local_rewrite_context = false;
  std::string sender;                    // as queued ("" for <>)
  std::string client_name = "unknown";   // verified name or "unknown"
  std::string reverse_client_name = "unknown";
  std::string client_addr;
  uint16_t client_port = 0;
  std::string server_addr;
  uint16_t server_port = 0;
  std::string helo;                      // "" when none was given
  std::string protocol = "ESMTP";
  // One entry per queued recipient: the address as the client gave it
  // (for dsn_orig_rcpt and the original-recipient record), the ORCPT when
  // given, and the final address.
  struct Recipient {
    std::string original;
    std::string orcpt;
    std::string address;
  };
  std::vector<Recipient> recipients;
};

// The queue file's size; the content is the message as queued (LF lines,
// our Received: header on top).
uint64_t PostfixQueueFileSize(const QueueFileEnvelope& envelope, std::string_view content,
                              size_t line_length_limit = 2048);

// The bytes of the content records alone: the message size Postfix reports
// (qmgr's "size=", mailq, the SIZE= it offers the next hop), larger than
// the text by the framing of every line (2 bytes for a line under 128
// bytes, where the text has 1 for its newline).
uint64_t PostfixContentSize(std::string_view content, size_t line_length_limit = 2048);

// Whether Postfix's cleanup would refuse the message: the queue file offset
// before its last record passes the limit (0: no limit).
bool ExceedsPostfixMessageLimit(const QueueFileEnvelope& envelope, std::string_view content,
                                uint64_t message_size_limit, size_t line_length_limit = 2048);

}  // namespace posthaste::runtime
