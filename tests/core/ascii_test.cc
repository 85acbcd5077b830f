#include "core/base/ascii.h"

#include <string>

#include "gtest/gtest.h"

namespace segments {
namespace {

TEST(EscapeNonPrintableTest, KeepsPrintableAsciiAndEscapesTheRest) {
  EXPECT_EQ(EscapeNonPrintable("data/workspaces/1.db is missing"),
            "data/workspaces/1.db is missing");
  EXPECT_EQ(EscapeNonPrintable("a\nb\tc\x7f"), "a\\x0ab\\x09c\\x7f");
  EXPECT_EQ(EscapeNonPrintable("back\\slash"), "back\\\\slash");
  EXPECT_EQ(EscapeNonPrintable("\xc3\xbc"), "\\xc3\\xbc");
  EXPECT_EQ(EscapeNonPrintable(std::string("nul\0", 4)), "nul\\x00");
}

}  // namespace
}  // namespace segments
