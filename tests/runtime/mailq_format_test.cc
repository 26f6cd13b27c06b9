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
  m.message_size = size;
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

namespace posthaste::runtime {
namespace {

// postqueue -j, as a live Postfix 3.7.11 printed it for a deferred message
// with two recipients, one from the null sender and one on hold.
TEST_F(MailqFormat, JsonLinesArePostqueueJs) {
  const std::string why = "connect to 127.0.0.1[127.0.0.1]:2599: Connection refused";
  std::vector<QueuedMessage> q = {
      Message("D8B9911C197", MessageState::kDeferred, 304, "a@example.com",
              {{"b@example.org", RecipientStatus::kDeferred, why},
               {"c@example.org", RecipientStatus::kDeferred, why},
               {"done@example.org", RecipientStatus::kDone, ""}}),
      Message("DA98A11C19A", MessageState::kHold, 322, "hold@example.com",
              {{"d@example.org", {}, ""}}),
      Message("D943511C198", MessageState::kDeferred, 320, "",
              {{"b@example.org", RecipientStatus::kDeferred, why}}),
  };
  EXPECT_EQ(FormatMailqJson(q, {}),
            "{\"queue_name\": \"deferred\", \"queue_id\": \"D8B9911C197\", \"arrival_time\": "
            "1700000000, \"message_size\": 304, \"forced_expire\": false, \"sender\": "
            "\"a@example.com\", \"recipients\": [{\"address\": \"b@example.org\", "
            "\"delay_reason\": \"" + why + "\"}, {\"address\": \"c@example.org\", "
            "\"delay_reason\": \"" + why + "\"}]}\n"
            "{\"queue_name\": \"deferred\", \"queue_id\": \"D943511C198\", \"arrival_time\": "
            "1700000000, \"message_size\": 320, \"forced_expire\": false, \"sender\": "
            "\"MAILER-DAEMON\", \"recipients\": [{\"address\": \"b@example.org\", "
            "\"delay_reason\": \"" + why + "\"}]}\n"
            "{\"queue_name\": \"hold\", \"queue_id\": \"DA98A11C19A\", \"arrival_time\": "
            "1700000000, \"message_size\": 322, \"forced_expire\": false, \"sender\": "
            "\"hold@example.com\", \"recipients\": [{\"address\": \"d@example.org\"}]}\n");
  EXPECT_EQ(FormatMailqJson({}, {}), "");
}

TEST_F(MailqFormat, JsonQuotesAsPostqueueDoes) {
  std::vector<QueuedMessage> q = {
      Message("0000D4", MessageState::kActive, 1, "q\"b\\s@example.com",
              {{"r@example.com", RecipientStatus::kDeferred,
                "tab\there\x01\x7f cr\r lf\n bs\b ff\f \xc3\xa9 \xff"}})};
  const std::string reason_utf8 =
      "\"delay_reason\": \"tab\\there\\u0001\\u007F cr\\r lf\\n bs\\b ff\\f \xc3\xa9 ?\"";
  std::string json = FormatMailqJson(q, {});
  EXPECT_NE(json.find("\"queue_name\": \"active\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"sender\": \"q\\\"b\\\\s@example.com\""), std::string::npos) << json;
  EXPECT_NE(json.find(reason_utf8), std::string::npos) << json;
  MailqOptions ascii;
  ascii.smtputf8 = false;
  json = FormatMailqJson(q, ascii);
  EXPECT_NE(json.find("ff\\f ?? ?\""), std::string::npos) << json;
}

}  // namespace
}  // namespace posthaste::runtime
