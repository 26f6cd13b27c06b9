// queue_record.h: the records of the durable queue, their encoding and the
// reader that checks them.
//
// The queue store (queue_store.h) appends these records to segment files;
// the byte layout is specified in queue_format.md. This file owns both sides:
// the encoders the store uses when writing, and RecordReader plus the Decode*
// functions used on recovery and on every read.
//
// SECURITY: records read back from disk are untrusted (torn writes, bit rot,
// and message content chosen by any SMTP client sits inside them). The reader
// checks every length against the bytes that are really there and against a
// caller-given maximum before using it, verifies the checksum before decoding,
// and the decoders check every field; nothing here asserts on input.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace posthaste::runtime {

inline constexpr uint32_t kQueueFormatVersion = 2;
inline constexpr size_t kRecordHeaderSize = 9;  // crc32c(4) length(4) type(1)

enum class RecordType : uint8_t {
  kSegmentHeader = 1,
  kMessage = 2,
  kState = 3,
  kRecipient = 4,
  kRemove = 5,
  kSchedule = 6,
};

// Postfix's queues, as states of one message.
enum class MessageState : uint8_t { kIncoming = 0, kActive = 1, kDeferred = 2, kHold = 3 };
std::string_view MessageStateName(MessageState state);

// kBouncing: the delivery failed for good, but the non-delivery notice that
// reports it is not queued yet (the queue manager queues it, then marks the
// recipient kBounced). It keeps the message in the queue so that a restart
// still sends the notice.
enum class RecipientStatus : uint8_t {
  kPending = 0,
  kDone = 1,
  kDeferred = 2,
  kBounced = 3,
  kBouncing = 4,
  // Delivered, and the sender asked for a success notice (NOTIFY=SUCCESS)
  // that is not queued yet; becomes kDone once it is.
  kDelivering = 5,
};
// Done and bounced recipients need no more work.
inline bool RecipientFinished(RecipientStatus s) {
  return s == RecipientStatus::kDone || s == RecipientStatus::kBounced;
}
// kDelivering counts as neither: it waits for its success notice only.
// Pending and deferred recipients still wait for a delivery attempt.
inline bool RecipientNeedsDelivery(RecipientStatus s) {
  return s == RecipientStatus::kPending || s == RecipientStatus::kDeferred;
}

// Message flags.
inline constexpr uint32_t kMessage8BitMime = 1u << 0;
// RET=FULL / RET=HDRS (RFC 3461) from MAIL FROM.
inline constexpr uint32_t kMessageDsnRetFull = 1u << 1;
inline constexpr uint32_t kMessageDsnRetHeaders = 1u << 2;
// MAIL FROM carried SMTPUTF8.
inline constexpr uint32_t kMessageSmtputf8 = 1u << 3;
// Set by the encoder, not by callers: the record carries the DSN fields
// (ENVID, per-recipient NOTIFY and ORCPT).
inline constexpr uint32_t kMessageDsnFields = 1u << 4;
inline constexpr uint32_t kMessageKnownFlags = (1u << 5) - 1;

struct QueueRecipient {
  std::string address;
  RecipientStatus status = RecipientStatus::kPending;
  std::string reason;  // the last deferral or bounce reason (the log line's text)
  // The recipient as the client gave it (ORCPT / before rewriting); empty
  // when it equals `address`.
  std::string original = {};
  // The last outcome's details, for delay and non-delivery notices: the
  // enhanced status code, the diagnostic ("smtp; 550 5.1.1 ...") and the
  // remote MTA that gave it.
  std::string dsn = {};
  std::string diagnostic = {};
  std::string remote_mta = {};
  // RCPT NOTIFY= bits (smtp_command.h kDsnNotify*, 0 = not given) and
  // ORCPT= ("rfc822;addr", empty = not given).
  uint8_t notify = 0;
  std::string orcpt = {};
  bool operator==(const QueueRecipient&) const = default;
};

// Everything about a message except its content.
struct MessageMeta {
  std::string id;
  uint64_t sequence = 0;  // the ID generator's sequence number
  MessageState state = MessageState::kIncoming;
  int64_t arrival_micros = 0;
  uint32_t flags = 0;
  std::string sender;  // internal form; empty for the null sender
  std::vector<QueueRecipient> recipients;
  // MAIL ENVID= (decoded), empty when not given.
  std::string dsn_envid;
  // The content filter request ("transport:nexthop") the message carries;
  // empty for none.
  std::string filter;
  // Why cleanup put the message on hold (its HOLD action), for the log.
  std::string hold_reason;
  // Scheduling (the queue manager's; changed by schedule records):
  // when the next delivery attempt is due (0: as soon as possible), how
  // many attempts ended with a deferral, and whether the one delay notice
  // (delay_warning_time) has been queued.
  int64_t next_attempt_micros = 0;
  uint32_t attempts = 0;
  bool delay_warned = false;
  bool operator==(const MessageMeta&) const = default;
};

struct SegmentHeader {
  uint32_t version = kQueueFormatVersion;
  uint64_t segment = 0;
  uint64_t next_sequence = 0;
};

struct StateChange {
  std::string id;
  MessageState state = MessageState::kIncoming;
};

struct RecipientChange {
  std::string id;
  uint32_t index = 0;
  RecipientStatus status = RecipientStatus::kPending;
  std::string reason;
  std::string dsn = {};
  std::string diagnostic = {};
  std::string remote_mta = {};
};

struct ScheduleChange {
  std::string id;
  int64_t next_attempt_micros = 0;
  uint32_t attempts = 0;
  bool delay_warned = false;
};

// Encoders: each appends one complete framed record to `out`.
void AppendSegmentHeaderRecord(const SegmentHeader& header, std::string* out);
void AppendMessageRecord(const MessageMeta& meta, std::string_view content, std::string* out);
void AppendStateRecord(const StateChange& change, std::string* out);
void AppendRecipientRecord(const RecipientChange& change, std::string* out);
void AppendRemoveRecord(std::string_view id, std::string* out);
void AppendScheduleRecord(const ScheduleChange& change, std::string* out);
// Frames an arbitrary payload under a raw type byte (for tests and fuzzing:
// lets them build well-checksummed records with any content).
void AppendRawRecord(uint8_t type, std::string_view payload, std::string* out);

// Walks framed records in a byte range (a mapped segment, or one record read
// back with pread). Stops at the first record that does not check out and
// says why; the bytes from there on are not interpreted.
class RecordReader {
 public:
  enum class Result { kRecord, kEnd, kBad };

  RecordReader(std::string_view bytes, size_t max_payload)
      : bytes_(bytes), max_payload_(max_payload) {}

  // kRecord: *type and *payload (a view into the input) are set and the
  // reader moved past the record. kEnd: all bytes consumed. kBad: the record
  // at offset() is torn or corrupt (see error()); the reader stays there.
  Result Next(RecordType* type, std::string_view* payload);

  // Offset of the next record (after kRecord) or of the bad one (after kBad).
  size_t offset() const { return offset_; }
  // Offset where the last returned record started.
  size_t record_offset() const { return record_offset_; }
  const std::string& error() const { return error_; }

 private:
  std::string_view bytes_;
  size_t max_payload_;
  size_t offset_ = 0;
  size_t record_offset_ = 0;
  std::string error_;
};

// Decoders for payloads RecordReader returned. Each checks every field and
// that nothing is left over; errors are absl::DataLossError.
absl::StatusOr<SegmentHeader> DecodeSegmentHeader(std::string_view payload);
// `content` (optional) receives a view into `payload`.
absl::StatusOr<MessageMeta> DecodeMessage(std::string_view payload, std::string_view* content);
absl::StatusOr<StateChange> DecodeStateChange(std::string_view payload);
absl::StatusOr<RecipientChange> DecodeRecipientChange(std::string_view payload);
absl::StatusOr<std::string> DecodeRemove(std::string_view payload);
absl::StatusOr<ScheduleChange> DecodeScheduleChange(std::string_view payload);

}  // namespace posthaste::runtime
