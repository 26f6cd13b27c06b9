// queue_file_size_test.cc: Postfix's queue file size, against the queue
// files of a live Postfix 3.7.11 (held messages, postcat and stat).
#include "runtime/queue_file_size.h"

#include <gtest/gtest.h>

#include <string>

namespace posthaste::runtime {
namespace {

// The envelope of a message Postfix held as CB68111C002: its content
// started at offset 650 and the file was 852 bytes long.
QueueFileEnvelope MeasuredEnvelope() {
  QueueFileEnvelope e;
  e.queue_id = "CB68111C002";
  e.arrival_micros = int64_t{1795545150} * 1000000 + 123456;
  e.sender = "a@example.com";
  e.client_addr = "127.0.0.10";
  e.client_port = 45637;
  e.server_addr = "127.0.0.1";
  e.server_port = 2547;
  e.helo = "x.example";
  e.recipients.push_back({"x@relay.example", "", "x@relay.example"});
  return e;
}

const char kReceived[] =
    "Received: from x.example (unknown [127.0.0.10])\n"
    "\tby bench.localdomain (Postfix) with ESMTP id CB68111C002\n"
    "\tfor <x@relay.example>; Tue, 24 Nov 2026 19:52:30 +0000 (UTC)\n";

TEST(QueueFileSize, MatchesAPostfixQueueFile) {
  QueueFileEnvelope e = MeasuredEnvelope();
  std::string content = std::string(kReceived) + "Subject: s\n\nbody\nline2\n";
  EXPECT_EQ(PostfixQueueFileSize(e, content), 852u);
  // Its envelope records alone: 650 bytes, then 2 for the content marker
  // ... so an empty content is 650 + 4 (end records).
  EXPECT_EQ(PostfixQueueFileSize(e, ""), 654u);
}

// qmgr's "size=" and SIZE= for a message a live Postfix 3.7.11 queued
// (postcat of its deferred file; the qmgr line said size=320).
TEST(QueueFileSize, ContentSizeIsPostfixsMessageSize) {
  const std::string content =
      "Received: from client.example (unknown [127.0.0.1])\n"
      "\tby bench.localdomain (Postfix) with ESMTP id BC8C811C09C\n"
      "\tfor <b@example.org>; Wed, 25 Nov 2026 00:35:26 +0000 (UTC)\n"
      "Subject: hi\n"
      "Message-Id: <20261125003526.BC8C811C09C@bench.localdomain>\n"
      "Date: Wed, 25 Nov 2026 00:35:26 +0000 (UTC)\n"
      "From: a@example.com\n"
      "\n"
      "body\n";
  EXPECT_EQ(PostfixContentSize(content), 320u);
  // A line of 128 bytes or more takes two length bytes; one longer than
  // line_length_limit is cut into records of at most that length.
  EXPECT_EQ(PostfixContentSize(std::string(127, 'x') + "\n"), 129u);
  EXPECT_EQ(PostfixContentSize(std::string(128, 'x') + "\n"), 131u);
  EXPECT_EQ(PostfixContentSize(std::string(5000, 'x') + "\n"), 5000u + 3 * 3);
  EXPECT_EQ(PostfixContentSize(std::string(5000, 'x') + "\n", 1000), 5000u + 5 * 3);
  // The last line needs no newline to count.
  EXPECT_EQ(PostfixContentSize("a\nb"), 6u);
}

TEST(QueueFileSize, GrowsAsPostfixsDid) {
  QueueFileEnvelope e = MeasuredEnvelope();
  std::string base = std::string(kReceived) + "Subject: s\n\n";
  uint64_t one = PostfixQueueFileSize(e, base + "body\n");
  EXPECT_EQ(one, 845u);  // measured
  // A 100- and a 200-byte line (the record length takes two bytes at 128).
  EXPECT_EQ(PostfixQueueFileSize(e, base + std::string(100, 'x') + "\n"), 941u);
  EXPECT_EQ(PostfixQueueFileSize(e, base + std::string(200, 'x') + "\n"), 1042u);
  // Sender longer by 9, null sender (13 fewer), HELO longer by 9 (three copies).
  QueueFileEnvelope s = e;
  s.sender = "aaaaaaaaaa@example.com";
  EXPECT_EQ(PostfixQueueFileSize(s, base + "body\n"), 854u);
  s.sender = "";
  EXPECT_EQ(PostfixQueueFileSize(s, base + "body\n"), 832u);
  // A second recipient: its three records, and Received: loses "for <...>".
  QueueFileEnvelope two = e;
  two.recipients.push_back({"y@relay.example", "", "y@relay.example"});
  std::string received2 =
      "Received: from x.example (unknown [127.0.0.10])\n"
      "\tby bench.localdomain (Postfix) with ESMTP id CB68111C002;\n"
      "\tTue, 24 Nov 2026 19:52:30 +0000 (UTC)\n";
  EXPECT_EQ(PostfixQueueFileSize(two, received2 + "Subject: s\n\nbody\n"), 895u);
}

TEST(QueueFileSize, LongLinesArePiecesAndShortIdsCountAsPostfixs) {
  QueueFileEnvelope e = MeasuredEnvelope();
  uint64_t short_line = PostfixQueueFileSize(e, std::string(2048, 'x') + "\n");
  uint64_t split_line = PostfixQueueFileSize(e, std::string(2049, 'x') + "\n");
  EXPECT_EQ(split_line - short_line, 3u);  // a second record: type, length, the byte
  // Our six-character IDs are counted as Postfix's eleven, twice.
  QueueFileEnvelope ours = e;
  ours.queue_id = "1D82F1";
  EXPECT_EQ(PostfixQueueFileSize(ours, "x\n"), PostfixQueueFileSize(e, "x\n") + 5);
}

TEST(QueueFileSize, TheLimitAppliesBeforeTheLastRecord) {
  QueueFileEnvelope e = MeasuredEnvelope();
  std::string content = std::string(kReceived) + "Subject: s\n\nbody\nline2\n";
  EXPECT_FALSE(ExceedsPostfixMessageLimit(e, content, 850));  // 852 - 2 is not past 850
  EXPECT_TRUE(ExceedsPostfixMessageLimit(e, content, 849));
  EXPECT_FALSE(ExceedsPostfixMessageLimit(e, content, 0));  // no limit
}

}  // namespace
}  // namespace posthaste::runtime
