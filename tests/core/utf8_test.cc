#include "core/base/utf8.h"

#include <string>

#include "gtest/gtest.h"

namespace segments {
namespace {

TEST(IsValidUtf8, AcceptsWellFormedText) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("plain ascii \x01\x7F"));
  EXPECT_TRUE(IsValidUtf8(std::string(1, '\0')));
  EXPECT_TRUE(IsValidUtf8("caf\xC3\xA9"));       // U+00E9
  EXPECT_TRUE(IsValidUtf8("\xC2\x80"));          // U+0080, smallest 2-byte
  EXPECT_TRUE(IsValidUtf8("\xDF\xBF"));          // U+07FF
  EXPECT_TRUE(IsValidUtf8("\xE0\xA0\x80"));      // U+0800, smallest 3-byte
  EXPECT_TRUE(IsValidUtf8("\xE6\x97\xA5"));      // U+65E5
  EXPECT_TRUE(IsValidUtf8("\xED\x9F\xBF"));      // U+D7FF, below surrogates
  EXPECT_TRUE(IsValidUtf8("\xEE\x80\x80"));      // U+E000, above surrogates
  EXPECT_TRUE(IsValidUtf8("\xEF\xBF\xBF"));      // U+FFFF
  EXPECT_TRUE(IsValidUtf8("\xF0\x90\x80\x80"));  // U+10000
  EXPECT_TRUE(IsValidUtf8("\xF0\x9F\x98\x80"));  // emoji
  EXPECT_TRUE(IsValidUtf8("\xF4\x8F\xBF\xBF"));  // U+10FFFF
}

TEST(IsValidUtf8, RefusesMalformedText) {
  EXPECT_FALSE(IsValidUtf8("\x80"));  // lone continuation
  EXPECT_FALSE(IsValidUtf8("\xBF"));
  EXPECT_FALSE(IsValidUtf8("\xC3"));  // truncated
  EXPECT_FALSE(IsValidUtf8("caf\xC3"));
  EXPECT_FALSE(IsValidUtf8("\xE6\x97"));
  EXPECT_FALSE(IsValidUtf8("\xF0\x9F\x98"));
  EXPECT_FALSE(IsValidUtf8("\xC3\x28"));  // bad continuation
  EXPECT_FALSE(IsValidUtf8("\xE6\x28\xA5"));
  EXPECT_FALSE(IsValidUtf8("\xE6\x97\x28"));
  EXPECT_FALSE(IsValidUtf8("\xF0\x9F\x28\x80"));
  EXPECT_FALSE(IsValidUtf8("\xC0\xAF"));  // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xC1\xBF"));
  EXPECT_FALSE(IsValidUtf8("\xE0\x9F\xBF"));      // overlong 3-byte
  EXPECT_FALSE(IsValidUtf8("\xF0\x8F\xBF\xBF"));  // overlong 4-byte
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));      // U+D800 surrogate
  EXPECT_FALSE(IsValidUtf8("\xED\xBF\xBF"));      // U+DFFF surrogate
  EXPECT_FALSE(IsValidUtf8("\xF4\x90\x80\x80"));  // U+110000
  EXPECT_FALSE(IsValidUtf8("\xF5\x80\x80\x80"));
  EXPECT_FALSE(IsValidUtf8("\xF8\x88\x80\x80\x80"));  // 5-byte form
  EXPECT_FALSE(IsValidUtf8("\xFE"));
  EXPECT_FALSE(IsValidUtf8("\xFF"));
  EXPECT_FALSE(IsValidUtf8("ok\xFFok"));
}

TEST(IsValidUtf8, AgreesWithADecoderOnEveryTwoByteSequence) {
  for (int a = 0; a < 256; ++a) {
    for (int b = 0; b < 256; ++b) {
      const std::string s = {static_cast<char>(a), static_cast<char>(b)};
      bool want;
      if (a < 0x80) {
        want = b < 0x80;  // two ASCII bytes
      } else {
        // A two-byte sequence U+0080..U+07FF.
        want = a >= 0xC2 && a <= 0xDF && b >= 0x80 && b <= 0xBF;
      }
      EXPECT_EQ(IsValidUtf8(s), want) << a << " " << b;
    }
  }
}

// ASCII is checked eight bytes at a time: a bad byte or a multi-byte
// sequence at any place of a longer text, and a sequence cut at its end, are
// still seen.
TEST(IsValidUtf8, ChecksEveryPlaceOfALongText) {
  for (size_t len = 1; len <= 40; ++len) {
    for (size_t at = 0; at < len; ++at) {
      std::string s(len, 'a');
      s[at] = '\xFF';
      EXPECT_FALSE(IsValidUtf8(s)) << len << " " << at;
      s[at] = '\x80';
      EXPECT_FALSE(IsValidUtf8(s)) << len << " " << at;
      s.replace(at, 1, "\xC3\xA9");  // U+00E9
      EXPECT_TRUE(IsValidUtf8(s)) << len << " " << at;
      s.resize(at + 1);  // the sequence cut after its first byte
      EXPECT_FALSE(IsValidUtf8(s)) << len << " " << at;
    }
  }
}

}  // namespace
}  // namespace segments
