// forward_path_test: local(8)'s forward_path item expansion.
#include "runtime/forward_path.h"

#include <gtest/gtest.h>

namespace posthaste::runtime {
namespace {

constexpr char kFilter[] =
    "1234567890!@%-_=+:,./abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

TEST(ForwardPath, DefaultItemsWithAndWithoutAnExtension) {
  ForwardVariables with = {{"home", "/home/alice"}, {"recipient_delimiter", "+"},
                           {"extension", "news"}};
  ForwardVariables without = {{"home", "/home/alice"}};
  const char kFirst[] = "$home/.forward${recipient_delimiter}${extension}";
  EXPECT_EQ(ExpandForwardItem(kFirst, with, kFilter), "/home/alice/.forward+news");
  EXPECT_EQ(ExpandForwardItem(kFirst, without, kFilter), std::nullopt);
  EXPECT_EQ(ExpandForwardItem("$home/.forward", without, kFilter), "/home/alice/.forward");
}

TEST(ForwardPath, ConditionalFormsAndLiteralDollar) {
  ForwardVariables v = {{"user", "alice"}, {"extension", "x"}};
  EXPECT_EQ(ExpandForwardItem("/f/${extension?ext-$extension}", v, kFilter), "/f/ext-x");
  EXPECT_EQ(ExpandForwardItem("/f/${domain?has}${domain:none}", v, kFilter), "/f/none");
  // ${name:text} is the text for an empty name and nothing otherwise.
  EXPECT_EQ(ExpandForwardItem("/f/${user:nobody}$$", v, kFilter), "/f/$");
  EXPECT_EQ(ExpandForwardItem("/f/$(user)", v, kFilter), "/f/alice");
}

TEST(ForwardPath, ValuesPassTheFilterAndSyntaxErrorsSkipTheItem) {
  ForwardVariables v = {{"home", "/home/al ice"}, {"extension", "a;b|c"}};
  EXPECT_EQ(ExpandForwardItem("$home/.forward+$extension", v, kFilter),
            "/home/al_ice/.forward+a_b_c");
  EXPECT_EQ(ExpandForwardItem("$home/${extension", v, kFilter), std::nullopt);
  EXPECT_EQ(ExpandForwardItem("$home/${}", v, kFilter), std::nullopt);
  EXPECT_EQ(ExpandForwardItem("$home/$", v, kFilter), std::nullopt);
}

}  // namespace
}  // namespace posthaste::runtime
