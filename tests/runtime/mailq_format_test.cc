// mailq_format_test.cc: the mailq layout, checked column by column.
#include "runtime/mailq_format.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <time.h>

namespace posthaste::runtime {
namespace {

class MailqFormat : public testing::Test {
 protected:
  void SetUp() override {
    setenv("TZ", "UTC", 1);
    tzset();
  }
};

QueuedMessage Message(std::string id, MessageState state, uint64_t size, std::string sender,
                      std::vector<QueueRecipient> rcpts) {
  QueuedMessage m;
  m.meta.id = std::move(id);
  m.meta.state = state;
  m.meta.arrival_micros = int64_t{1700000000} * 1000000;  // Tue Nov 14 22:13:20 2023 UTC
  m.meta.sender = std::move(sender);
  m.meta.recipients = std::move(rcpts);
  m.content_size = size;
  return m;
}

TEST_F(MailqFormat, EmptyQueue) { EXPECT_EQ(FormatMailq({}, {}), "Mail queue is empty\n"); }

TEST_F(MailqFormat, ShortIds) {
  std::vector<QueuedMessage> q = {
      Message("1E2402A5F", MessageState::kDeferred, 2048, "alice@example.com",
              {{"bob@example.net", RecipientStatus::kDeferred, "connect to example.net: timeout"},
               {"carol@example.net", RecipientStatus::kDeferred, "connect to example.net: timeout"},
               {"dave@example.net", RecipientStatus::kDone, ""}}),
      Message("0000A1", MessageState::kActive, 612, "", {{"x@example.org", {}, ""}}),
      Message("0000B2", MessageState::kHold, 100, "h@example.com", {{"y@example.org", {}, ""}}),
  };
  std::string expected =
      "-Queue ID-  --Size-- ----Arrival Time---- -Sender/Recipient-------\n"
      "0000A1*         612 Tue Nov 14 22:13:20  MAILER-DAEMON\n"
      "                                         x@example.org\n"
      "\n"
      "1E2402A5F      2048 Tue Nov 14 22:13:20  alice@example.com\n" +
      std::string(45, ' ') + "(connect to example.net: timeout)\n" +
      "                                         bob@example.net\n"
      "                                         carol@example.net\n"
      "\n"
      "0000B2!         100 Tue Nov 14 22:13:20  h@example.com\n"
      "                                         y@example.org\n"
      "\n"
      "-- 2 Kbytes in 3 Requests.\n";
  EXPECT_EQ(FormatMailq(q, {}), expected);
}

TEST_F(MailqFormat, LongReasonStartsInTheFirstColumn) {
  std::string reason(90, 'r');
  std::vector<QueuedMessage> q = {Message("0000C3", MessageState::kDeferred, 10, "s@example.com",
                                          {{"t@example.com", RecipientStatus::kDeferred, reason}})};
  std::string text = FormatMailq(q, {});
  EXPECT_NE(text.find("\n(" + reason + ")\n"), std::string::npos) << text;
  EXPECT_NE(text.find("-- 0 Kbytes in 1 Request.\n"), std::string::npos) << text;
}

TEST_F(MailqFormat, LongIds) {
  std::vector<QueuedMessage> q = {Message("4SVLCh0sf8zLDg6L", MessageState::kIncoming, 4096,
                                          "a@example.com", {{"b@example.com", {}, ""}})};
  std::string expected =
      "----Queue ID----- --Size-- ---Arrival Time---- -Sender/Recipient-------\n"
      "4SVLCh0sf8zLDg6L      4096 Tue Nov 14 22:13:20 a@example.com\n"
      "                                               b@example.com\n"
      "\n"
      "-- 4 Kbytes in 1 Request.\n";
  MailqOptions options;
  options.long_queue_ids = true;
  EXPECT_EQ(FormatMailq(q, options), expected);
}

}  // namespace
}  // namespace posthaste::runtime
