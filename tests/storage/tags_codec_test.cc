#include "storage/tags_codec.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace segments {
namespace {

using ::testing::ElementsAre;

std::vector<std::string> RoundTrip(const std::vector<std::string>& tags) {
  std::string json;
  EncodeTags(tags, &json);
  std::vector<std::string> out;
  EXPECT_TRUE(DecodeTags(json, &out)) << json;
  return out;
}

TEST(TagsCodec, EncodesAsJsonArray) {
  std::string json = "garbage";
  EncodeTags({}, &json);
  EXPECT_EQ(json, "[]");
  EncodeTags({"beta", "vip"}, &json);
  EXPECT_EQ(json, R"(["beta","vip"])");
  EncodeTags({"a\"b", "c\\d", std::string("\x01\n", 2)}, &json);
  EXPECT_EQ(json, R"(["a\"b","c\\d","\u0001\n"])");
}

TEST(TagsCodec, RoundTripsAnyBytes) {
  const std::vector<std::string> odd = {"",
                                        "a,b",
                                        "[x]",
                                        "\"quoted\"",
                                        "back\\slash",
                                        "new\nline",
                                        "tab\there",
                                        "cr\rx",
                                        "\x1f\x7f",
                                        "ünïcødé",
                                        "🎉 party",
                                        "\xff\xfe",
                                        "\\u0041",
                                        "]",
                                        std::string("nul\0byte", 8),
                                        std::string(300, 'x')};
  EXPECT_EQ(RoundTrip(odd), odd);
  for (int c = 0; c < 256; ++c) {
    const std::vector<std::string> one = {std::string(1, static_cast<char>(c))};
    EXPECT_EQ(RoundTrip(one), one) << c;
  }
}

TEST(TagsCodec, DecodesStandardEscapes) {
  std::vector<std::string> out;
  ASSERT_TRUE(DecodeTags(R"(["\/\b\f\u00e9\u20ac"])", &out));
  EXPECT_THAT(out, ElementsAre("/\b\f\xc3\xa9\xe2\x82\xac"));
}

TEST(TagsCodec, RejectsMalformed) {
  std::vector<std::string> out;
  for (const char* bad :
       {"", "[", "]", "x", "[\"a\"", "[\"a]", "[a]", "[\"a\",]", "[,\"a\"]",
        "[\"a\" ]", "[\"a\"\"b\"]", "[\"\\x\"]", "[\"\\u12\"]", "[\"\\ud800\"]",
        "[\"a\"],", "[\"\x01\"]", "{}", "[1]"}) {
    EXPECT_FALSE(DecodeTags(bad, &out)) << bad;
  }
}

// The decoder copies runs of plain bytes at once: an escape or a control
// character anywhere in a long run, at its ends too, is still found.
TEST(TagsCodec, FindsEscapesAndControlsAnywhereInALongTag) {
  for (size_t len = 1; len <= 20; ++len) {
    for (size_t at = 0; at < len; ++at) {
      std::string tag(len, 'x');
      tag[at] = '"';
      EXPECT_EQ(RoundTrip({tag}), std::vector<std::string>{tag})
          << len << " " << at;
      tag[at] = '\\';
      EXPECT_EQ(RoundTrip({tag}), std::vector<std::string>{tag})
          << len << " " << at;
      std::string json = "[\"" + std::string(len, 'x') + "\"]";
      json[2 + at] = '\x01';
      std::vector<std::string> out;
      EXPECT_FALSE(DecodeTags(json, &out)) << len << " " << at;
    }
  }
}

}  // namespace
}  // namespace segments
