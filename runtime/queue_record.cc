// queue_record.cc: queue record encoders, reader and decoders (see
// queue_record.h and queue_format.md).
//
// Everything read here is untrusted: every length is compared with the bytes
// left before it is used, and counts are bounded by the bytes that could hold
// them before anything is reserved.
#include "runtime/queue_record.h"

#include <algorithm>
#include <cstring>

#include "runtime/crc32c.h"
#include "runtime/dsn.h"
#include "runtime/queue_id.h"

namespace posthaste::runtime {
namespace {

constexpr std::string_view kSegmentMagic = "PHQSEG";
// Schedule flag bits (message and schedule records).
constexpr uint8_t kScheduleDelayWarned = 1;

void PutFixed32(uint32_t v, char* p) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

uint32_t GetFixed32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i)
    v |= static_cast<uint32_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  return v;
}

void PutVarint(uint64_t v, std::string* out) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

void PutString(std::string_view s, std::string* out) {
  PutVarint(s.size(), out);
  out->append(s);
}

// Frames a payload that the caller appended after a header placeholder at
// `start`.
void FinishRecord(size_t start, RecordType type, std::string* out) {
  size_t payload = out->size() - start - kRecordHeaderSize;
  char* h = out->data() + start;
  PutFixed32(static_cast<uint32_t>(payload), h + 4);
  h[8] = static_cast<char>(type);
  uint32_t crc = Crc32c(std::string_view(h + 4, out->size() - start - 4));
  PutFixed32(MaskCrc(crc), h);
}

size_t BeginRecord(std::string* out) {
  size_t start = out->size();
  out->append(kRecordHeaderSize, '\0');
  return start;
}

// Reads fields from a payload; any failure sticks and the decoder reports
// data loss.
class Decoder {
 public:
  explicit Decoder(std::string_view in) : in_(in) {}

  bool ok() const { return ok_; }
  bool done() const { return ok_ && in_.empty(); }
  std::string_view rest() const { return in_; }

  uint64_t Varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (in_.empty()) return Fail();
      auto b = static_cast<unsigned char>(in_[0]);
      in_.remove_prefix(1);
      if (shift == 63 && b > 1) return Fail();
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) return v;
    }
    return Fail();
  }

  uint8_t Byte() {
    if (in_.empty()) return static_cast<uint8_t>(Fail());
    auto b = static_cast<uint8_t>(in_[0]);
    in_.remove_prefix(1);
    return b;
  }

  std::string_view Bytes(uint64_t n) {
    if (!ok_ || n > in_.size()) {
      Fail();
      return {};
    }
    std::string_view s = in_.substr(0, n);
    in_.remove_prefix(n);
    return s;
  }

  std::string_view String() {
    uint64_t n = Varint();
    return Bytes(n);
  }

  std::string Id() {
    std::string_view id = String();
    if (ok_ && !IsValidQueueId(id)) Fail();
    return std::string(id);
  }

  MessageState State() {
    uint8_t b = Byte();
    if (b > static_cast<uint8_t>(MessageState::kHold)) Fail();
    return ok_ ? static_cast<MessageState>(b) : MessageState::kIncoming;
  }

  RecipientStatus Status() {
    uint8_t b = Byte();
    if (b > static_cast<uint8_t>(RecipientStatus::kDelivering)) Fail();
    return ok_ ? static_cast<RecipientStatus>(b) : RecipientStatus::kPending;
  }

  // A varint that must fit in int64_t / uint32_t.
  int64_t Micros() {
    uint64_t v = Varint();
    if (v > static_cast<uint64_t>(INT64_MAX)) Fail();
    return ok_ ? static_cast<int64_t>(v) : 0;
  }
  uint32_t U32() {
    uint64_t v = Varint();
    if (v > UINT32_MAX) Fail();
    return ok_ ? static_cast<uint32_t>(v) : 0;
  }
  // Schedule flags: only known bits.
  bool DelayWarned() {
    uint8_t b = Byte();
    if (b & ~kScheduleDelayWarned) Fail();
    return ok_ && (b & kScheduleDelayWarned) != 0;
  }

  uint64_t Fail() {
    ok_ = false;
    in_ = {};
    return 0;
  }

 private:
  std::string_view in_;
  bool ok_ = true;
};

absl::Status Bad(std::string_view what) {
  return absl::DataLossError(std::string("malformed ") + std::string(what) + " record");
}

}  // namespace

std::string_view MessageStateName(MessageState state) {
  switch (state) {
    case MessageState::kIncoming:
      return "incoming";
    case MessageState::kActive:
      return "active";
    case MessageState::kDeferred:
      return "deferred";
    case MessageState::kHold:
      return "hold";
  }
  return "unknown";
}

void AppendSegmentHeaderRecord(const SegmentHeader& header, std::string* out) {
  size_t start = BeginRecord(out);
  out->append(kSegmentMagic);
  PutVarint(header.version, out);
  PutVarint(header.segment, out);
  PutVarint(header.next_sequence, out);
  FinishRecord(start, RecordType::kSegmentHeader, out);
}

void AppendMessageRecord(const MessageMeta& meta, std::string_view content, std::string* out) {
  size_t start = BeginRecord(out);
  PutString(meta.id, out);
  PutVarint(meta.sequence, out);
  out->push_back(static_cast<char>(meta.state));
  PutVarint(static_cast<uint64_t>(meta.arrival_micros < 0 ? 0 : meta.arrival_micros), out);
  bool dsn_fields = !meta.dsn_envid.empty() ||
                    std::any_of(meta.recipients.begin(), meta.recipients.end(),
                                [](const QueueRecipient& r) { return r.notify || !r.orcpt.empty(); });
  uint32_t flags = (meta.flags & ~kMessageDsnFields) | (dsn_fields ? kMessageDsnFields : 0);
  PutVarint(flags, out);
  PutString(meta.sender, out);
  PutString(meta.filter, out);
  PutString(meta.hold_reason, out);
  if (dsn_fields) PutString(meta.dsn_envid, out);
  PutVarint(static_cast<uint64_t>(meta.next_attempt_micros < 0 ? 0 : meta.next_attempt_micros),
            out);
  PutVarint(meta.attempts, out);
  out->push_back(static_cast<char>(meta.delay_warned ? kScheduleDelayWarned : 0));
  PutVarint(meta.recipients.size(), out);
  for (const QueueRecipient& r : meta.recipients) {
    PutString(r.address, out);
    PutString(r.original, out);
    out->push_back(static_cast<char>(r.status));
    PutString(r.reason, out);
    PutString(r.dsn, out);
    PutString(r.diagnostic, out);
    PutString(r.remote_mta, out);
    if (dsn_fields) {
      out->push_back(static_cast<char>(r.notify));
      PutString(r.orcpt, out);
    }
  }
  out->append(content);
  FinishRecord(start, RecordType::kMessage, out);
}

void AppendStateRecord(const StateChange& change, std::string* out) {
  size_t start = BeginRecord(out);
  PutString(change.id, out);
  out->push_back(static_cast<char>(change.state));
  FinishRecord(start, RecordType::kState, out);
}

void AppendRecipientRecord(const RecipientChange& change, std::string* out) {
  size_t start = BeginRecord(out);
  PutString(change.id, out);
  PutVarint(change.index, out);
  out->push_back(static_cast<char>(change.status));
  PutString(change.reason, out);
  PutString(change.dsn, out);
  PutString(change.diagnostic, out);
  PutString(change.remote_mta, out);
  FinishRecord(start, RecordType::kRecipient, out);
}

void AppendScheduleRecord(const ScheduleChange& change, std::string* out) {
  size_t start = BeginRecord(out);
  PutString(change.id, out);
  PutVarint(static_cast<uint64_t>(change.next_attempt_micros < 0 ? 0 : change.next_attempt_micros),
            out);
  PutVarint(change.attempts, out);
  out->push_back(static_cast<char>(change.delay_warned ? kScheduleDelayWarned : 0));
  FinishRecord(start, RecordType::kSchedule, out);
}

void AppendRemoveRecord(std::string_view id, std::string* out) {
  size_t start = BeginRecord(out);
  PutString(id, out);
  FinishRecord(start, RecordType::kRemove, out);
}

void AppendRawRecord(uint8_t type, std::string_view payload, std::string* out) {
  size_t start = BeginRecord(out);
  out->append(payload);
  FinishRecord(start, static_cast<RecordType>(type), out);
}

RecordReader::Result RecordReader::Next(RecordType* type, std::string_view* payload) {
  if (offset_ == bytes_.size()) return Result::kEnd;
  size_t left = bytes_.size() - offset_;
  if (left < kRecordHeaderSize) {
    error_ = "truncated record header";
    return Result::kBad;
  }
  const char* h = bytes_.data() + offset_;
  uint32_t stored = GetFixed32(h);
  uint32_t length = GetFixed32(h + 4);
  auto raw_type = static_cast<uint8_t>(h[8]);
  if (length > max_payload_) {
    error_ = "record length " + std::to_string(length) + " over the limit";
    return Result::kBad;
  }
  if (length > left - kRecordHeaderSize) {
    error_ = "truncated record (length " + std::to_string(length) + ", " +
             std::to_string(left - kRecordHeaderSize) + " bytes left)";
    return Result::kBad;
  }
  uint32_t crc = Crc32c(std::string_view(h + 4, length + 5));
  if (UnmaskCrc(stored) != crc) {
    error_ = "checksum mismatch";
    return Result::kBad;
  }
  if (raw_type < static_cast<uint8_t>(RecordType::kSegmentHeader) ||
      raw_type > static_cast<uint8_t>(RecordType::kSchedule)) {
    error_ = "unknown record type " + std::to_string(raw_type);
    return Result::kBad;
  }
  *type = static_cast<RecordType>(raw_type);
  *payload = std::string_view(h + kRecordHeaderSize, length);
  record_offset_ = offset_;
  offset_ += kRecordHeaderSize + length;
  return Result::kRecord;
}

absl::StatusOr<SegmentHeader> DecodeSegmentHeader(std::string_view payload) {
  Decoder d(payload);
  if (d.Bytes(kSegmentMagic.size()) != kSegmentMagic) return Bad("segment header");
  SegmentHeader h;
  uint64_t version = d.Varint();
  h.segment = d.Varint();
  h.next_sequence = d.Varint();
  if (!d.done()) return Bad("segment header");
  if (version != kQueueFormatVersion) {
    return absl::FailedPreconditionError("queue format version " + std::to_string(version) +
                                         " (this program reads version " +
                                         std::to_string(kQueueFormatVersion) + ")");
  }
  h.version = static_cast<uint32_t>(version);
  return h;
}

absl::StatusOr<MessageMeta> DecodeMessage(std::string_view payload, std::string_view* content) {
  Decoder d(payload);
  MessageMeta m;
  m.id = d.Id();
  m.sequence = d.Varint();
  m.state = d.State();
  m.arrival_micros = d.Micros();
  m.flags = d.U32();
  m.sender = std::string(d.String());
  m.filter = std::string(d.String());
  m.hold_reason = std::string(d.String());
  if (m.flags & ~kMessageKnownFlags) d.Fail();
  const bool dsn_fields = (m.flags & kMessageDsnFields) != 0;
  m.flags &= ~kMessageDsnFields;
  if (dsn_fields) m.dsn_envid = std::string(d.String());
  m.next_attempt_micros = d.Micros();
  m.attempts = d.U32();
  m.delay_warned = d.DelayWarned();
  uint64_t count = d.Varint();
  // Each recipient takes at least seven bytes: never reserve more than the
  // payload could describe.
  if (!d.ok() || count > d.rest().size() / 7) return Bad("message");
  m.recipients.reserve(count);
  for (uint64_t i = 0; i < count && d.ok(); ++i) {
    QueueRecipient r;
    r.address = std::string(d.String());
    r.original = std::string(d.String());
    r.status = d.Status();
    r.reason = std::string(d.String());
    r.dsn = std::string(d.String());
    r.diagnostic = std::string(d.String());
    r.remote_mta = std::string(d.String());
    if (dsn_fields) {
      r.notify = d.Byte();
      if (r.notify > kDsnNotifyAll) d.Fail();
      r.orcpt = std::string(d.String());
    }
    m.recipients.push_back(std::move(r));
  }
  if (!d.ok() || m.recipients.empty()) return Bad("message");
  if (content != nullptr) *content = d.rest();
  return m;
}

absl::StatusOr<StateChange> DecodeStateChange(std::string_view payload) {
  Decoder d(payload);
  StateChange c;
  c.id = d.Id();
  c.state = d.State();
  if (!d.done()) return Bad("state");
  return c;
}

absl::StatusOr<RecipientChange> DecodeRecipientChange(std::string_view payload) {
  Decoder d(payload);
  RecipientChange c;
  c.id = d.Id();
  uint64_t index = d.Varint();
  if (index > UINT32_MAX) d.Fail();
  c.index = static_cast<uint32_t>(index);
  c.status = d.Status();
  c.reason = std::string(d.String());
  c.dsn = std::string(d.String());
  c.diagnostic = std::string(d.String());
  c.remote_mta = std::string(d.String());
  if (!d.done()) return Bad("recipient");
  return c;
}

absl::StatusOr<ScheduleChange> DecodeScheduleChange(std::string_view payload) {
  Decoder d(payload);
  ScheduleChange c;
  c.id = d.Id();
  c.next_attempt_micros = d.Micros();
  c.attempts = d.U32();
  c.delay_warned = d.DelayWarned();
  if (!d.done()) return Bad("schedule");
  return c;
}

absl::StatusOr<std::string> DecodeRemove(std::string_view payload) {
  Decoder d(payload);
  std::string id = d.Id();
  if (!d.done()) return Bad("remove");
  return id;
}

}  // namespace posthaste::runtime
