// queue_record_test.cc: record encoding round trips, and the reader refusing
// every damaged form (truncated, bit-flipped, lying length fields).
#include "runtime/queue_record.h"

#include <gtest/gtest.h>

#include <fstream>
#include <random>
#include <vector>

#include "runtime/crc32c.h"
#include "runtime/dsn.h"

namespace posthaste::runtime {
namespace {

MessageMeta SampleMeta() {
  MessageMeta m;
  m.id = "4SVLCh0sf8zLDg6L";
  m.sequence = 123456789;
  m.state = MessageState::kDeferred;
  m.arrival_micros = 1700000000123456;
  m.flags = kMessage8BitMime;
  m.sender = "sender@example.com";
  m.recipients = {{"a@example.net", RecipientStatus::kPending, ""},
                  {"b@example.net", RecipientStatus::kDeferred, "connect to x: timed out"}};
  m.recipients[1].original = "B@Example.NET";
  m.recipients[1].dsn = "4.4.1";
  m.recipients[1].diagnostic = "X-Postfix; connect to x: timed out";
  m.recipients.push_back({"c@example.net", RecipientStatus::kBouncing, "550 5.1.1 unknown"});
  m.recipients[2].dsn = "5.1.1";
  m.recipients[2].remote_mta = "mx.example.net";
  m.filter = "bulk:[10.0.0.1]:10025";
  m.hold_reason = "header Subject: x";
  m.next_attempt_micros = 1700000300000000;
  m.attempts = 3;
  m.delay_warned = true;
  return m;
}

TEST(Crc32c, StandardTestVector) {
  EXPECT_EQ(Crc32c("123456789"), 0xe3069283u);
  EXPECT_EQ(Crc32cExtendPortable(0, "123456789"), 0xe3069283u);
  EXPECT_EQ(Crc32c(""), 0u);
}

TEST(Crc32c, HardwareAndTableAgreeAndExtendIsIncremental) {
  std::mt19937 rng(7);
  for (int i = 0; i < 200; ++i) {
    std::string s(rng() % 300, '\0');
    for (char& c : s) c = static_cast<char>(rng());
    ASSERT_EQ(Crc32c(s), Crc32cExtendPortable(0, s));
    size_t cut = s.empty() ? 0 : rng() % s.size();
    ASSERT_EQ(Crc32cExtend(Crc32c(s.substr(0, cut)), s.substr(cut)), Crc32c(s));
  }
  EXPECT_EQ(UnmaskCrc(MaskCrc(0x12345678u)), 0x12345678u);
}

TEST(QueueRecord, MessageRoundTrip) {
  std::string bytes;
  AppendMessageRecord(SampleMeta(), "Subject: hi\n\nbody\n", &bytes);
  RecordReader reader(bytes, 1 << 20);
  RecordType type;
  std::string_view payload;
  ASSERT_EQ(reader.Next(&type, &payload), RecordReader::Result::kRecord);
  EXPECT_EQ(type, RecordType::kMessage);
  std::string_view content;
  auto meta = DecodeMessage(payload, &content);
  ASSERT_TRUE(meta.ok()) << meta.status();
  EXPECT_EQ(*meta, SampleMeta());
  EXPECT_EQ(content, "Subject: hi\n\nbody\n");
  EXPECT_EQ(reader.Next(&type, &payload), RecordReader::Result::kEnd);
}

// The DSN fields ride behind a flag bit: a record with none of them has
// exactly the layout of one written before they existed.
TEST(QueueRecord, DsnFieldsRoundTripAndStayOutWhenUnused) {
  MessageMeta plain = SampleMeta();
  std::string without;
  AppendMessageRecord(plain, "x\n", &without);
  MessageMeta dsn = plain;
  dsn.dsn_envid = "env 1";
  dsn.flags |= kMessageDsnRetHeaders | kMessageSmtputf8;
  dsn.recipients[0].notify = kDsnNotifySuccess | kDsnNotifyFailure;
  dsn.recipients[0].orcpt = "rfc822;Orig@example.com";
  std::string with;
  AppendMessageRecord(dsn, "x\n", &with);
  EXPECT_GT(with.size(), without.size());
  for (const auto& [bytes, expect] : {std::pair{without, plain}, std::pair{with, dsn}}) {
    RecordReader reader(bytes, 1 << 20);
    RecordType type;
    std::string_view payload;
    ASSERT_EQ(reader.Next(&type, &payload), RecordReader::Result::kRecord);
    std::string_view content;
    auto meta = DecodeMessage(payload, &content);
    ASSERT_TRUE(meta.ok()) << meta.status();
    EXPECT_EQ(*meta, expect);
    EXPECT_EQ(meta->flags & kMessageDsnFields, 0u);  // the encoder's own bit is not handed out
    EXPECT_EQ(content, "x\n");
  }
  // A recipient status past the known ones, or NOTIFY bits past the four,
  // make the record undecodable.
  MessageMeta bad = dsn;
  bad.recipients[0].notify = 0x10;
  std::string bytes;
  AppendMessageRecord(bad, "x\n", &bytes);
  EXPECT_FALSE(DecodeMessage(std::string_view(bytes).substr(kRecordHeaderSize), nullptr).ok());
}

TEST(QueueRecord, SmallRecordsRoundTrip) {
  std::string bytes;
  AppendSegmentHeaderRecord(SegmentHeader{kQueueFormatVersion, 7, 99}, &bytes);
  AppendStateRecord(StateChange{"ABC123", MessageState::kHold}, &bytes);
  AppendRecipientRecord(RecipientChange{"ABC123", 3, RecipientStatus::kBounced, "550 no"}, &bytes);
  AppendRemoveRecord("ABC123", &bytes);
  AppendScheduleRecord(ScheduleChange{"ABC123", 1700000300000000, 4, true}, &bytes);
  RecordReader reader(bytes, 1 << 20);
  RecordType type;
  std::string_view payload;
  ASSERT_EQ(reader.Next(&type, &payload), RecordReader::Result::kRecord);
  auto header = DecodeSegmentHeader(payload);
  ASSERT_TRUE(header.ok());
  EXPECT_EQ(header->segment, 7u);
  EXPECT_EQ(header->next_sequence, 99u);
  ASSERT_EQ(reader.Next(&type, &payload), RecordReader::Result::kRecord);
  auto state = DecodeStateChange(payload);
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(state->state, MessageState::kHold);
  ASSERT_EQ(reader.Next(&type, &payload), RecordReader::Result::kRecord);
  auto rcpt = DecodeRecipientChange(payload);
  ASSERT_TRUE(rcpt.ok());
  EXPECT_EQ(rcpt->index, 3u);
  EXPECT_EQ(rcpt->status, RecipientStatus::kBounced);
  EXPECT_EQ(rcpt->reason, "550 no");
  ASSERT_EQ(reader.Next(&type, &payload), RecordReader::Result::kRecord);
  auto id = DecodeRemove(payload);
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(*id, "ABC123");
  ASSERT_EQ(reader.Next(&type, &payload), RecordReader::Result::kRecord);
  EXPECT_EQ(type, RecordType::kSchedule);
  auto schedule = DecodeScheduleChange(payload);
  ASSERT_TRUE(schedule.ok()) << schedule.status();
  EXPECT_EQ(schedule->next_attempt_micros, 1700000300000000);
  EXPECT_EQ(schedule->attempts, 4u);
  EXPECT_TRUE(schedule->delay_warned);
  EXPECT_EQ(reader.Next(&type, &payload), RecordReader::Result::kEnd);
}

TEST(QueueRecord, RecipientOutcomeDetailsRoundTrip) {
  std::string bytes;
  AppendRecipientRecord(RecipientChange{"ABC123", 1, RecipientStatus::kBouncing, "550 no", "5.1.1",
                                        "smtp; 550 5.1.1 no", "mx.example.com"},
                        &bytes);
  auto c = DecodeRecipientChange(std::string_view(bytes).substr(kRecordHeaderSize));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->status, RecipientStatus::kBouncing);
  EXPECT_EQ(c->dsn, "5.1.1");
  EXPECT_EQ(c->diagnostic, "smtp; 550 5.1.1 no");
  EXPECT_EQ(c->remote_mta, "mx.example.com");
}

TEST(QueueRecord, UnknownScheduleFlagsAreRefused) {
  std::string bytes;
  AppendScheduleRecord(ScheduleChange{"ABC", 5, 1, false}, &bytes);
  std::string payload(std::string_view(bytes).substr(kRecordHeaderSize));
  payload.back() = '\x02';
  EXPECT_FALSE(DecodeScheduleChange(payload).ok());
}

TEST(QueueRecord, EveryTruncationIsRefused) {
  std::string bytes;
  AppendMessageRecord(SampleMeta(), "content", &bytes);
  for (size_t n = 1; n < bytes.size(); ++n) {
    RecordReader reader(std::string_view(bytes.data(), n), 1 << 20);
    RecordType type;
    std::string_view payload;
    ASSERT_EQ(reader.Next(&type, &payload), RecordReader::Result::kBad) << n;
    EXPECT_EQ(reader.offset(), 0u);
  }
}

TEST(QueueRecord, EverySingleBitFlipIsRefused) {
  std::string bytes;
  AppendMessageRecord(SampleMeta(), "content", &bytes);
  for (size_t i = 0; i < bytes.size() * 8; ++i) {
    std::string damaged = bytes;
    damaged[i / 8] = static_cast<char>(damaged[i / 8] ^ (1 << (i % 8)));
    RecordReader reader(damaged, 1 << 20);
    RecordType type;
    std::string_view payload;
    EXPECT_EQ(reader.Next(&type, &payload), RecordReader::Result::kBad) << "bit " << i;
  }
}

TEST(QueueRecord, LengthOverTheLimitIsRefusedBeforeReading) {
  std::string bytes;
  AppendMessageRecord(SampleMeta(), std::string(1000, 'x'), &bytes);
  RecordReader reader(bytes, 100);
  RecordType type;
  std::string_view payload;
  EXPECT_EQ(reader.Next(&type, &payload), RecordReader::Result::kBad);
  EXPECT_NE(reader.error().find("over the limit"), std::string::npos);
}

TEST(QueueRecord, ZeroFilledTailIsRefused) {
  std::string zeros(64, '\0');
  RecordReader reader(zeros, 1 << 20);
  RecordType type;
  std::string_view payload;
  EXPECT_EQ(reader.Next(&type, &payload), RecordReader::Result::kBad);
}

TEST(QueueRecord, DecodersRefuseLyingFields) {
  // A recipient count far larger than the payload could hold.
  std::string payload;
  payload += '\x06';
  payload += "ABC123";
  payload += '\x01';                  // sequence
  payload += '\x00';                  // state
  payload += '\x01';                  // arrival
  payload += '\x00';                  // flags
  payload += '\x00';                  // empty sender
  payload += '\x00';                  // no filter
  payload += '\x00';                  // no hold reason
  payload += '\x00';                  // next attempt
  payload += '\x00';                  // attempts
  payload += '\x00';                  // schedule flags
  payload += "\xff\xff\xff\xff\x0f";  // recipient count 2^32-1
  EXPECT_FALSE(DecodeMessage(payload, nullptr).ok());
  // A string length past the end.
  EXPECT_FALSE(DecodeRemove(std::string("\x7f"
                                        "ABC",
                                        4))
                   .ok());
  // An ID with characters a queue ID never has.
  EXPECT_FALSE(DecodeRemove(std::string("\x03../", 4)).ok());
  // Bad enum values.
  EXPECT_FALSE(DecodeStateChange(std::string("\x03"
                                             "ABC\x09",
                                             5))
                   .ok());
  // Trailing bytes.
  EXPECT_FALSE(DecodeRemove(std::string("\x03"
                                        "ABCx",
                                        5))
                   .ok());
  // An over-long varint.
  EXPECT_FALSE(
      DecodeRecipientChange(std::string("\x03"
                                        "ABC\xff\xff\xff\xff\xff\xff\xff\xff\xff\x7f\x00\x00",
                                        16))
          .ok());
  // A message must have recipients.
  MessageMeta m = SampleMeta();
  m.recipients.clear();
  std::string bytes;
  AppendMessageRecord(m, "x", &bytes);
  EXPECT_FALSE(DecodeMessage(std::string_view(bytes).substr(kRecordHeaderSize), nullptr).ok());
}

TEST(QueueRecord, OtherFormatVersionIsRefused) {
  std::string bytes;
  AppendSegmentHeaderRecord(SegmentHeader{kQueueFormatVersion + 1, 1, 1}, &bytes);
  auto h = DecodeSegmentHeader(std::string_view(bytes).substr(kRecordHeaderSize));
  EXPECT_EQ(h.status().code(), absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace posthaste::runtime

namespace posthaste::runtime {
namespace {

// The fuzz seeds are written by tests/fuzz/make_queue_record_seeds.py, an
// independent writer of queue_format.md: the reader must accept them.
TEST(QueueRecord, ReadsSegmentsWrittenFromTheFormatDocument) {
  std::ifstream f(std::string(POSTHASTE_FUZZ_CORPUS) + "/queue_record/segment-full",
                  std::ios::binary);
  ASSERT_TRUE(f) << "missing seed";
  std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  RecordReader reader(bytes, 1 << 20);
  RecordType type;
  std::string_view payload;
  std::vector<RecordType> types;
  while (reader.Next(&type, &payload) == RecordReader::Result::kRecord) {
    types.push_back(type);
    if (type == RecordType::kMessage) {
      std::string_view content;
      auto m = DecodeMessage(payload, &content);
      ASSERT_TRUE(m.ok()) << m.status();
      if (m->id == "1E2402A5F") {
        EXPECT_EQ(content, "Subject: hello\n\nbody line\n");
        EXPECT_EQ(m->recipients.size(), 2u);
      } else {
        EXPECT_EQ(m->flags, kMessage8BitMime);
        EXPECT_EQ(m->recipients[0].reason, "450 4.2.0 try again");
        EXPECT_EQ(m->recipients[0].original, "Postmaster@Example.COM");
        EXPECT_EQ(m->recipients[0].remote_mta, "mx.example.com");
        EXPECT_EQ(m->filter, "bulk:[10.0.0.1]:10025");
        EXPECT_EQ(m->attempts, 1u);
      }
    } else if (type == RecordType::kSegmentHeader) {
      EXPECT_TRUE(DecodeSegmentHeader(payload).ok());
    } else if (type == RecordType::kSchedule) {
      auto c = DecodeScheduleChange(payload);
      ASSERT_TRUE(c.ok()) << c.status();
      EXPECT_TRUE(c->delay_warned);
      EXPECT_EQ(c->attempts, 2u);
    } else if (type == RecordType::kRecipient) {
      EXPECT_TRUE(DecodeRecipientChange(payload).ok());
    }
  }
  EXPECT_EQ(reader.offset(), bytes.size()) << reader.error();
  EXPECT_EQ(types, (std::vector<RecordType>{RecordType::kSegmentHeader, RecordType::kMessage,
                                            RecordType::kState, RecordType::kRecipient,
                                            RecordType::kMessage, RecordType::kSchedule,
                                            RecordType::kRecipient, RecordType::kRemove}));
}

}  // namespace
}  // namespace posthaste::runtime
