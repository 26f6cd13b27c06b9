// log_address_test.cc: addresses in log lines, in Postfix's external form.
#include "runtime/log_address.h"

#include <gtest/gtest.h>

namespace posthaste::runtime {
namespace {

TEST(ExternalLogForm, QuotesLocalPartsThatAreNoDotAtom) {
  EXPECT_EQ(ExternalLogForm(""), "");
  EXPECT_EQ(ExternalLogForm("user@example.com"), "user@example.com");
  EXPECT_EQ(ExternalLogForm("first.last@example.com"), "first.last@example.com");
  EXPECT_EQ(ExternalLogForm("@example.com"), "\"\"@example.com");  // a live Postfix logs ""@example.com
  EXPECT_EQ(ExternalLogForm("john smith@example.com"), "\"john smith\"@example.com");
  EXPECT_EQ(ExternalLogForm("a..b@example.com"), "\"a..b\"@example.com");
  EXPECT_EQ(ExternalLogForm(".a@example.com"), "\".a\"@example.com");
  EXPECT_EQ(ExternalLogForm("q\"uote@example.com"), "\"q\\\"uote\"@example.com");
  EXPECT_EQ(ExternalLogForm("postmaster"), "postmaster");
}

}  // namespace
}  // namespace posthaste::runtime
