// smtp_reply_test.cc: the SMTP client's reply reader and EHLO parser, and
// the DATA encoding and address quoting helpers of the smtp agent.
#include "runtime/smtp_reply.h"

#include <string>

#include "gtest/gtest.h"
#include "runtime/smtp_client.h"

namespace posthaste::runtime {
namespace {

std::optional<SmtpReply> ReadOne(std::string_view bytes, size_t limit = 2048) {
  SmtpReplyReader reader(limit);
  reader.Append(bytes);
  return reader.Next();
}

TEST(SmtpReplyReader, ParsesSingleLineReplyWithEnhancedCode) {
  auto r = ReadOne("250 2.1.5 Ok\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->code, 250);
  EXPECT_EQ(r->dsn, "2.1.5");
  EXPECT_EQ(r->text, "250 2.1.5 Ok");
}

TEST(SmtpReplyReader, JoinsMultiLineRepliesAndTakesTheLastLinesCode) {
  auto r = ReadOne("550-5.1.1 The email account does not exist.\r\n550 5.1.1 Try again.\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->code, 550);
  EXPECT_EQ(r->dsn, "5.1.1");
  EXPECT_EQ(r->text, "550-5.1.1 The email account does not exist.\n550 5.1.1 Try again.");
  EXPECT_EQ(r->OneLine(), "550-5.1.1 The email account does not exist. 550 5.1.1 Try again.");
}

TEST(SmtpReplyReader, DerivesTheEnhancedCodeWhenMissingOrOutOfClass) {
  EXPECT_EQ(ReadOne("450 try later\r\n")->dsn, "4.0.0");
  EXPECT_EQ(ReadOne("554 5.7.1\r\n")->dsn, "5.7.1");
  EXPECT_EQ(ReadOne("550 4.1.1 mismatch\r\n")->dsn, "5.0.0");
  EXPECT_EQ(ReadOne("250 2.01.0 leading zero\r\n")->dsn, "2.0.0");
  EXPECT_EQ(ReadOne("250 2.1.1234 too long\r\n")->dsn, "2.0.0");
  EXPECT_EQ(ReadOne("354 go ahead\r\n")->dsn, "5.5.0");
  EXPECT_EQ(ReadOne("250\r\n")->code, 250);
  EXPECT_EQ(ReadOne("250\r\n")->dsn, "2.0.0");
}

TEST(SmtpReplyReader, GarbageLinesAreContinuations) {
  auto r = ReadOne("hello there\r\n25x oops\r\n220 ok\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->code, 220);
  EXPECT_TRUE(r->had_garbage);
  EXPECT_EQ(r->text, "hello there\n25x oops\n220 ok");
}

TEST(SmtpReplyReader, WaitsForWholeLinesAcrossAppends) {
  SmtpReplyReader reader;
  reader.Append("250-first\r");
  EXPECT_FALSE(reader.Next());
  reader.Append("\n250 sec");
  EXPECT_FALSE(reader.Next());
  reader.Append("ond\n421 4.4.2 bye\r\n");
  auto a = reader.Next();
  ASSERT_TRUE(a);
  EXPECT_EQ(a->text, "250-first\n250 second");
  auto b = reader.Next();
  ASSERT_TRUE(b);
  EXPECT_EQ(b->code, 421);
  EXPECT_FALSE(reader.Next());
  EXPECT_EQ(reader.buffered(), 0u);
}

TEST(SmtpReplyReader, CensorsNonPrintableBytes) {
  auto r =
      ReadOne(std::string("250 a\tb\x01\xff"
                          "c\r\n"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->text, "250 a?b??c");
}

TEST(SmtpReplyReader, CutsOverlongLinesAndBoundsTheText) {
  SmtpReplyReader reader(64);
  std::string longline = "250-" + std::string(500, 'x') + "\r\n";
  reader.Append(longline);
  EXPECT_FALSE(reader.Next());
  EXPECT_LE(reader.buffered(), 64u);
  for (int i = 0; i < 100; ++i) reader.Append("250-" + std::string(40, 'y') + "\r\n");
  reader.Append("250 end\r\n");
  auto r = reader.Next();
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->truncated);
  EXPECT_EQ(r->code, 250);
  // The text stops growing once it holds line_limit bytes.
  EXPECT_EQ(r->text, "250-" + std::string(60, 'x'));
}

TEST(SmtpReplyReader, OverlongLineWithoutNewlineIsDroppedUpToTheNewline) {
  SmtpReplyReader reader(32);
  reader.Append(std::string(100, 'z'));
  reader.Append(std::string(100, 'z'));
  EXPECT_FALSE(reader.Next());
  EXPECT_EQ(reader.buffered(), 0u);
  reader.Append("zzz\r\n220 ready\r\n");
  auto r = reader.Next();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->code, 220);
  EXPECT_EQ(r->text, std::string(32, 'z'));  // full: the last line is not kept
}

TEST(EnhancedStatus, ValidatesLikePostfix) {
  EXPECT_EQ(EnhancedStatusLength("5.1.1"), 5u);
  EXPECT_EQ(EnhancedStatusLength("4.7.10 text"), 6u);
  EXPECT_EQ(EnhancedStatusLength("2.123.456"), 9u);
  EXPECT_EQ(EnhancedStatusLength("3.1.1"), 0u);
  EXPECT_EQ(EnhancedStatusLength("5.1.1x"), 0u);
  EXPECT_EQ(EnhancedStatusLength("5.1"), 0u);
  EXPECT_EQ(EnhancedStatusLength("5..1"), 0u);
  EXPECT_EQ(EnhancedStatusLength("5.00.1"), 0u);
}

TEST(EhloFeatures, ParsesKeywordsAndSize) {
  EhloFeatures f = ParseEhloFeatures(
      "250-mx.example.com Hello\n250-PIPELINING\n250-SIZE 10240000\n250-8BITMIME\n250-STARTTLS\n"
      "250-AUTH PLAIN LOGIN\n250-DSN\n250 SMTPUTF8");
  EXPECT_EQ(f.server_name, "mx.example.com");
  EXPECT_TRUE(f.pipelining);
  EXPECT_TRUE(f.size);
  EXPECT_EQ(f.size_limit, 10240000u);
  EXPECT_TRUE(f.eight_bit_mime);
  EXPECT_TRUE(f.starttls);
  EXPECT_TRUE(f.auth);
  EXPECT_TRUE(f.dsn);
  EXPECT_TRUE(f.smtputf8);
}

TEST(EhloFeatures, DiscardsKeywordsAndOddSizes) {
  EhloFeatures f = ParseEhloFeatures("250-x\n250-pipelining\n250-size=12x\n250 8bitmime",
                                     "PIPELINING, 8bitmime");
  EXPECT_FALSE(f.pipelining);
  EXPECT_FALSE(f.eight_bit_mime);
  EXPECT_TRUE(f.size);
  EXPECT_TRUE(f.bad_size_limit);
  EXPECT_EQ(f.size_limit, 0u);
  EhloFeatures huge = ParseEhloFeatures("250-x\n250 SIZE 999999999999999999999999");
  EXPECT_TRUE(huge.size);
  EXPECT_EQ(huge.size_limit, 0u);
  // smtp-sink ends its EHLO reply with a bare "250 ".
  EhloFeatures sink = ParseEhloFeatures("250-smtp-sink\n250-PIPELINING\n250 ");
  EXPECT_TRUE(sink.pipelining);
}

TEST(EncodeSmtpData, ConvertsLineEndsAndStuffsDots) {
  EXPECT_EQ(EncodeSmtpData("Subject: x\n\n.hidden\n..two\nend", 998),
            "Subject: x\r\n\r\n..hidden\r\n...two\r\nend\r\n");
  EXPECT_EQ(EncodeSmtpData("a\r\nb\r\n", 998), "a\r\nb\r\n");
  EXPECT_EQ(EncodeSmtpData(".\n", 998), "..\r\n");
  EXPECT_EQ(EncodeSmtpData("", 998), "");
}

TEST(EncodeSmtpData, FoldsLongLinesLikePostfix) {
  bool folded = false;
  EXPECT_EQ(EncodeSmtpData("abcdefghij\n", 4, &folded), "abcd\r\n efg\r\n hij\r\n");
  EXPECT_TRUE(folded);
  EXPECT_EQ(EncodeSmtpData("abcd\n", 4, &folded), "abcd\r\n");
  EXPECT_FALSE(folded);
  // The stuffed dot does not count towards the limit, as in Postfix.
  EXPECT_EQ(EncodeSmtpData(".abcdefg\n", 4, &folded), "..abc\r\n def\r\n g\r\n");
  EXPECT_EQ(EncodeSmtpData(std::string(2000, 'x') + "\n", 0), std::string(2000, 'x') + "\r\n");
}

TEST(QuoteSmtpAddress, QuotesLocalPartsThatNeedIt) {
  EXPECT_EQ(QuoteSmtpAddress(""), "");
  EXPECT_EQ(QuoteSmtpAddress("user@example.com"), "user@example.com");
  EXPECT_EQ(QuoteSmtpAddress("first.last+tag@example.com"), "first.last+tag@example.com");
  EXPECT_EQ(QuoteSmtpAddress("a b@example.com"), "\"a b\"@example.com");
  EXPECT_EQ(QuoteSmtpAddress("a..b@example.com"), "\"a..b\"@example.com");
  EXPECT_EQ(QuoteSmtpAddress("q\"x@example.com"), "\"q\\\"x\"@example.com");
}

TEST(XtextEncode, EncodesPlusEqualsAndControls) {
  EXPECT_EQ(XtextEncode("a+b=c d@x"), "a+2Bb+3Dc+20d@x");
}

}  // namespace
}  // namespace posthaste::runtime
