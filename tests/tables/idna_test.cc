// idna_test.cc: UTF-8 domains in their ASCII form, as Postfix asks DNS.
#include "tables/idna.h"

#include <gtest/gtest.h>

namespace posthaste::tables {
namespace {

TEST(Idna, ConvertsUtf8LabelsAndLeavesAsciiAlone) {
  EXPECT_EQ(DomainToAscii("example.com"), "example.com");
  EXPECT_EQ(DomainToAscii("b\xC3\xBC" "cher.example"), "xn--bcher-kva.example");
  EXPECT_EQ(DomainToAscii("\xE4\xBE\x8B\xE3\x81\x88.\xE3\x83\x86\xE3\x82\xB9\xE3\x83\x88"),
            "xn--r8jz45g.xn--zckzah");
  // Nontransitional: the German sharp s stays (it is not mapped to "ss").
  EXPECT_EQ(DomainToAscii("fa\xC3\x9F.example"), "xn--fa-hia.example");
  EXPECT_EQ(DomainToAscii("bad\xFF.example"), std::nullopt);
}

}  // namespace
}  // namespace posthaste::tables
