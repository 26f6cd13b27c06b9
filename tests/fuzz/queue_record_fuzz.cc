// queue_record_fuzz.cc: fuzz target for the queue record reader and decoders.
//
// The input is treated as a segment file read back from disk (untrusted:
// torn writes, bit rot, and message content chosen by SMTP clients sit in
// it). Every record the reader accepts is decoded by type; a decoded message
// is encoded again and must decode to the same fields and content. The reader
// must never move backwards or past the end. Checksums stop most mutations at
// the reader, so the input is also cut into (type, length, payload) pieces
// that are framed with good checksums: that drives the decoders directly.
#include <cstddef>
#include <cstdint>
#include <algorithm>
#include <cstdlib>
#include <string>
#include <string_view>

#include "runtime/queue_record.h"

namespace {

using namespace posthaste::runtime;

void Check(bool ok) {
  if (!ok) std::abort();
}

void ReadAll(std::string_view bytes) {
  size_t size = bytes.size();
  RecordReader reader(bytes, 1 << 20);
  RecordType type;
  std::string_view payload;
  size_t last = 0;
  while (true) {
    RecordReader::Result r = reader.Next(&type, &payload);
    Check(reader.offset() <= size);
    if (r != RecordReader::Result::kRecord) {
      Check(reader.offset() == last);
      break;
    }
    Check(reader.offset() > last);
    last = reader.offset();
    switch (type) {
      case RecordType::kSegmentHeader:
        (void)DecodeSegmentHeader(payload);
        break;
      case RecordType::kMessage: {
        std::string_view content;
        auto meta = DecodeMessage(payload, &content);
        if (meta.ok()) {
          std::string again;
          AppendMessageRecord(*meta, content, &again);
          RecordReader second(again, 1 << 21);
          RecordType type2;
          std::string_view payload2, content2;
          Check(second.Next(&type2, &payload2) == RecordReader::Result::kRecord);
          auto meta2 = DecodeMessage(payload2, &content2);
          Check(meta2.ok() && *meta2 == *meta && content2 == content);
        }
        break;
      }
      case RecordType::kState:
        (void)DecodeStateChange(payload);
        break;
      case RecordType::kRecipient:
        (void)DecodeRecipientChange(payload);
        break;
      case RecordType::kRemove:
        (void)DecodeRemove(payload);
        break;
      case RecordType::kSchedule: {
        auto change = DecodeScheduleChange(payload);
        if (change.ok()) {
          std::string again;
          AppendScheduleRecord(*change, &again);
          auto change2 = DecodeScheduleChange(std::string_view(again).substr(kRecordHeaderSize));
          Check(change2.ok() && change2->id == change->id &&
                change2->next_attempt_micros == change->next_attempt_micros &&
                change2->attempts == change->attempts &&
                change2->delay_warned == change->delay_warned);
        }
        break;
      }
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  ReadAll(bytes);
  // Reframed: [type][length (1 byte)][payload]..., checksums made good.
  std::string framed;
  while (bytes.size() >= 2) {
    auto type = static_cast<uint8_t>(bytes[0] % 8);
    size_t len = std::min<size_t>(static_cast<uint8_t>(bytes[1]), bytes.size() - 2);
    AppendRawRecord(type, bytes.substr(2, len), &framed);
    bytes.remove_prefix(2 + len);
  }
  ReadAll(framed);
  return 0;
}
