// Printable() and EscapeBytes(), against what Postfix 3.7.11 showed for the
// same bytes (reject replies, mailq, smtpd's "improper command pipelining").
#include "runtime/printable.h"

#include <gtest/gtest.h>

namespace posthaste::runtime {
namespace {

TEST(EscapeBytes, AsPostfixLogsRawInput) {
  EXPECT_EQ(EscapeBytes("NOOP\r\n"), "NOOP\\r\\n");
  EXPECT_EQ(EscapeBytes(std::string("\x01\tX \\ ab\r\n")), "\\001\\tX \\\\ ab\\r\\n");
  EXPECT_EQ(EscapeBytes("\xe9\x7f\x80z"), "\\351\\177\\200z");
  EXPECT_EQ(EscapeBytes(std::string("\a\b\f\v\0", 5)), std::string("\\a\\b\\f\\v\\000"));
  EXPECT_EQ(EscapeBytes(""), "");
}

TEST(Printable, ControlCharactersAndNonAscii) {
  std::string s = "a\x01" "b\xc3\xa9";
  Printable(&s, false, '?');
  EXPECT_EQ(s, "a?b??");
  s = "a\x01" "b\xc3\xa9\xff";
  Printable(&s, true, '?');
  EXPECT_EQ(s, "a?b\xc3\xa9?");
}

}  // namespace
}  // namespace posthaste::runtime
