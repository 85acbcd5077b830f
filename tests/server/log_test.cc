// LogEscape and LogEvent: what comes from users cannot forge, cut or hide
// log lines.
#include "server/log.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace segments {
namespace {

using ::testing::EndsWith;
using ::testing::HasSubstr;

TEST(LogEscape, KeepsPrintableTextAndUtf8) {
  EXPECT_EQ(LogEscape("Customers in Germany"), "Customers in Germany");
  EXPECT_EQ(LogEscape("Kunden in M\u00fcnchen \u65e5\u672c"),
            "Kunden in M\u00fcnchen \u65e5\u672c");
  EXPECT_EQ(LogEscape(""), "");
}

TEST(LogEscape, EscapesLineBreaksControlsAndQuotes) {
  EXPECT_EQ(LogEscape("a\nb\rc\td"), "a\\nb\\rc\\td");
  EXPECT_EQ(LogEscape(std::string("a\0b", 3)), "a\\x00b");
  EXPECT_EQ(LogEscape("\x1b[31mred"), "\\x1b[31mred");
  EXPECT_EQ(LogEscape("\x7f"), "\\x7f");
  EXPECT_EQ(LogEscape("say \"hi\" \\ bye"), "say \\\"hi\\\" \\\\ bye");
}

TEST(LogEscape, EscapesInvalidUtf8AndDisguisingCharacters) {
  EXPECT_EQ(LogEscape("\xff\xc3"), "\\xff\\xc3");
  EXPECT_EQ(LogEscape("\xc0\xaf"), "\\xc0\\xaf");           // overlong '/'
  EXPECT_EQ(LogEscape("\xed\xa0\x80"), "\\xed\\xa0\\x80");  // surrogate
  EXPECT_EQ(LogEscape("a\u202eb"), "a\\u{202E}b");  // right-to-left override
  EXPECT_EQ(LogEscape("a\u2028b"), "a\\u{2028}b");  // line separator
  EXPECT_EQ(LogEscape("\u0085"), "\\u{0085}");      // C1 next line
}

TEST(LogEvent, WritesTheWholeLineEvenWithNul) {
  ::testing::internal::CaptureStderr();
  LogEvent(std::string("before\0after", 12));
  std::string out = ::testing::internal::GetCapturedStderr();
  EXPECT_THAT(out, HasSubstr("segments-server: before"));
  EXPECT_THAT(out, EndsWith(std::string("before\0after\n", 13)));
}

}  // namespace
}  // namespace segments
