// queue_record_fuzz.cc: fuzz target for the queue record reader and decoders.
//
// The input is treated as a segment file read back from disk (untrusted:
// torn writes, bit rot, and message content chosen by SMTP clients sit in
// it). Every record the reader accepts is decoded by type; a decoded message
// is encoded again and must decode to the same fields and content. The reader
// must never move backwards or past the end.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "runtime/queue_record.h"

namespace {

using namespace posthaste::runtime;

void Check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
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
    }
  }
  return 0;
}
