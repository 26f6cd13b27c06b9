// The disconnect line's command tallies, in the forms a live Postfix 3.7.11
// logged them.
#include "runtime/smtpd_command_counts.h"

#include <gtest/gtest.h>

namespace posthaste::runtime {
namespace {

TEST(SmtpdCommandCounts, NoCommandsAtAll) {
  SmtpdCommandCounts counts;
  EXPECT_EQ(counts.Summary(), " commands=0/0");
}

TEST(SmtpdCommandCounts, AllSucceededGivesPlainNumbers) {
  SmtpdCommandCounts counts;
  counts.Add("ehlo", true);
  counts.Add("quit", true);
  EXPECT_EQ(counts.Summary(), " ehlo=1 quit=1 commands=2");
}

TEST(SmtpdCommandCounts, FailuresGiveOkOverTotalInCommandTableOrder) {
  SmtpdCommandCounts counts;
  for (const char* name : {"unknown", "quit", "noop", "rset", "vrfy", "etrn", "bdat", "data",
                           "rcpt", "mail", "auth", "starttls", "xforward", "xclient", "ehlo",
                           "helo"}) {
    counts.Add(name, true);
  }
  counts.Add("data", false);
  counts.Add("unknown", false);
  counts.Add("unknown", false);
  counts.Add("rcpt", true);
  EXPECT_EQ(counts.Summary(),
            " helo=1 ehlo=1 xclient=1 xforward=1 starttls=1 auth=1 mail=1 rcpt=2 data=1/2 bdat=1 "
            "rset=1 noop=1 vrfy=1 etrn=1 quit=1 unknown=1/3 commands=17/20");
}

TEST(SmtpdCommandCounts, CounterNamesIgnoreCase) {
  EXPECT_EQ(SmtpdCommandCounts::CounterName("EHLO"), "ehlo");
  EXPECT_EQ(SmtpdCommandCounts::CounterName("Mail"), "mail");
  EXPECT_EQ(SmtpdCommandCounts::CounterName("XFORWARD"), "xforward");
  EXPECT_EQ(SmtpdCommandCounts::CounterName("FOO"), "unknown");
  EXPECT_EQ(SmtpdCommandCounts::CounterName("unknown"), "unknown");
  SmtpdCommandCounts counts;
  counts.Add("not-a-counter", true);
  EXPECT_EQ(counts.Summary(), " commands=0/0");
}

}  // namespace
}  // namespace posthaste::runtime
