#include "core/model/filter_codec.h"

#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "core/model/field_catalog.h"
#include "core/model/filter.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace segments {
namespace {

using ::segments::testing::StatusIs;

// The bytes of a literal, embedded NULs included.
template <size_t N>
std::string B(const char (&literal)[N]) {
  return std::string(literal, N - 1);
}

// Random valid filter specs over the whole catalog: mixed case, padding,
// non-ASCII text, boundary numbers and timestamps.
class SpecGenerator {
 public:
  explicit SpecGenerator(uint32_t seed) : rng_(seed) {}

  FilterSpec Next() {
    FilterSpec spec;
    spec.match = Pick(3);  // 0 (= ALL), ALL or ANY
    const int n = 1 + Pick(Pick(4) == 0 ? 50 : 5);
    for (int i = 0; i < n; ++i) spec.conditions.push_back(Condition());
    return spec;
  }

 private:
  int Pick(int n) {
    return static_cast<int>(rng_() % static_cast<uint32_t>(n));
  }

  std::string Text(size_t max_len) {
    static const char* const kPieces[] = {"a", "B", "z", "Q",  "0", "-", "@",
                                          ".", "é", "Ü", "日", " ", "_"};
    std::string s;
    const size_t len = 1 + static_cast<size_t>(Pick(static_cast<int>(max_len)));
    while (s.size() < len) {
      const char* p = kPieces[Pick(13)];
      if (s.size() + std::string(p).size() > max_len) break;
      s += p;
    }
    if (s.find_first_not_of(' ') == std::string::npos) s = "x";
    if (Pick(4) == 0) s = " " + s + "\t";  // padding, trimmed where it applies
    return s;
  }

  std::string MixCase(std::string_view s) {
    std::string out(s);
    for (char& c : out) {
      if (c >= 'a' && c <= 'z' && Pick(2) == 0) c = static_cast<char>(c - 32);
      if (c >= 'A' && c <= 'Z' && Pick(2) == 0) c = static_cast<char>(c + 32);
    }
    return out;
  }

  int64_t Number() {
    switch (Pick(4)) {
      case 0:
        return INT32_MIN;
      case 1:
        return INT32_MAX;
      default:
        return Pick(2001) - 1000;
    }
  }

  int64_t Timestamp() {
    switch (Pick(4)) {
      case 0:
        return kMinTimestamp;
      case 1:
        return kMaxTimestamp;
      default:
        return 1'500'000'000 + Pick(200'000'000);
    }
  }

  size_t ValueCount(Operator op) {
    switch (op) {
      case Operator::kIsSet:
      case Operator::kIsNotSet:
        return 0;
      case Operator::kBetween:
        return 2;
      case Operator::kIn:
      case Operator::kNotIn:
      case Operator::kHasAny:
      case Operator::kHasAll:
      case Operator::kHasNone:
        return 1 + static_cast<size_t>(Pick(Pick(10) == 0 ? 500 : 6));
      default:
        return 1;
    }
  }

  ConditionSpec Condition() {
    const FieldInfo& info = AllFields()[static_cast<size_t>(
        Pick(static_cast<int>(AllFields().size())))];
    const Operator op = info.operators[static_cast<size_t>(
        Pick(static_cast<int>(info.operators.size())))];
    ConditionSpec c{std::string(info.name), static_cast<int>(op), {}};
    const size_t n = ValueCount(op);
    for (size_t i = 0; i < n; ++i) {
      switch (info.type) {
        case FieldType::kString:
          c.values.emplace_back(Text(40));
          break;
        case FieldType::kTags:
          c.values.emplace_back(Text(20));
          break;
        case FieldType::kOrderedEnum:
        case FieldType::kEnum:
          c.values.emplace_back(MixCase(info.enum_values[static_cast<size_t>(
              Pick(static_cast<int>(info.enum_values.size())))]));
          break;
        case FieldType::kNumber:
          c.values.emplace_back(Number());
          break;
        case FieldType::kTimestamp:
          if (op == Operator::kWithinLastDays ||
              op == Operator::kMoreThanDaysAgo) {
            c.values.emplace_back(int64_t{1 + Pick(3650)});
          } else {
            c.values.emplace_back(TimestampValue{Timestamp()});
          }
          break;
      }
    }
    if (op == Operator::kBetween) {
      // low <= high, whatever the kind.
      auto key = [](const RawValue& v) {
        if (auto* t = std::get_if<TimestampValue>(&v)) return t->seconds;
        return std::get<int64_t>(v);
      };
      if (key(c.values[0]) > key(c.values[1])) {
        std::swap(c.values[0], c.values[1]);
      }
    }
    return c;
  }

  std::mt19937 rng_;
};

std::vector<Filter> RandomFilters(int count, uint32_t seed) {
  SpecGenerator gen(seed);
  std::vector<Filter> out;
  for (int i = 0; i < count; ++i) {
    absl::StatusOr<Filter> f = ValidateFilter(gen.Next(), "filter");
    EXPECT_TRUE(f.ok()) << f.status();
    if (f.ok()) out.push_back(*std::move(f));
  }
  return out;
}

TEST(FilterCodec, RandomFiltersRoundTrip) {
  for (const Filter& f : RandomFilters(2000, 1)) {
    const std::string bytes = EncodeFilter(f);
    ASSERT_OK_AND_ASSIGN(Filter back, DecodeFilter(bytes));
    EXPECT_EQ(back, f);
    EXPECT_EQ(EncodeFilter(back), bytes);  // the encoding is canonical
  }
}

TEST(FilterCodec, FormatIsStable) {
  // Pinned bytes: changing them breaks every stored segment. Bump the
  // version (and keep decoding version 1) instead.
  FilterSpec spec;
  spec.match = 2;
  spec.conditions.push_back({"country",
                             static_cast<int>(Operator::kIn),
                             {RawValue("DE"), RawValue("at")}});
  spec.conditions.push_back({"lead_score",
                             static_cast<int>(Operator::kBetween),
                             {RawValue(int64_t{-1}), RawValue(int64_t{64})}});
  spec.conditions.push_back({"created_at",
                             static_cast<int>(Operator::kAfter),
                             {RawValue(TimestampValue{1})}});
  spec.conditions.push_back({"tags", static_cast<int>(Operator::kIsSet), {}});
  ASSERT_OK_AND_ASSIGN(Filter f, ValidateFilter(spec, "filter"));
  const std::string expected =
      B("F\x01"     // magic, version
        "\x02\x04"  // ANY, 4 conditions
        "\x07"
        "country"
        "\x03\x02"  // IN, 2 values
        "\x01\x02"
        "DE"
        "\x01\x02"
        "at"  // strings
        "\x0A"
        "lead_score"
        "\x0D\x02"  // BETWEEN, 2 values
        "\x02\x01"
        "\x02\x80\x01"  // zigzag -1, 64
        "\x0A"
        "created_at"
        "\x12\x01"
        "\x03\x02"  // AFTER, timestamp 1
        "\x04"
        "tags"
        "\x15\x00");  // IS_SET, no values
  EXPECT_EQ(absl::CHexEscape(EncodeFilter(f)), absl::CHexEscape(expected));
  ASSERT_OK_AND_ASSIGN(Filter back, DecodeFilter(expected));
  EXPECT_EQ(back, f);
}

// Every position of short encodings, a random sample of long ones (keeps
// the test fast while still covering every part of the format).
std::vector<size_t> Positions(size_t size, std::mt19937* rng) {
  std::vector<size_t> out;
  if (size <= 300) {
    for (size_t i = 0; i < size; ++i) out.push_back(i);
  } else {
    for (int i = 0; i < 300; ++i) out.push_back((*rng)() % size);
  }
  return out;
}

TEST(FilterCodec, NestedGroupsAndReferencesRoundTrip) {
  FilterSpec spec;
  spec.match = static_cast<int>(Match::kAny);
  ConditionSpec ref;
  ref.op = static_cast<int>(Operator::kNotInSegment);
  ref.segment_id = 1234567;
  ConditionSpec group;
  group.group.emplace();
  group.group->conditions.push_back(
      {"country", static_cast<int>(Operator::kEquals), {std::string("DE")}});
  group.group->conditions.push_back(ref);
  spec.conditions.push_back(group);
  spec.conditions.push_back(
      {"lead_score", static_cast<int>(Operator::kGreaterThan), {int64_t{5}}});
  absl::StatusOr<Filter> filter = ValidateFilter(spec, "filter");
  ASSERT_TRUE(filter.ok()) << filter.status();
  const std::string bytes = EncodeFilter(*filter);
  EXPECT_EQ(bytes[1], 2);  // version 2: the flat format cannot hold it
  absl::StatusOr<Filter> back = DecodeFilter(bytes);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, *filter);
  // Every truncation is refused, never misread.
  for (size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_THAT(DecodeFilter(bytes.substr(0, n)),
                StatusIs(absl::StatusCode::kDataLoss));
  }
}

// A filter whose groups nest `depth` levels, the filter itself included.
FilterSpec NestedSpec(int depth) {
  FilterSpec spec;
  FilterSpec* level = &spec;
  for (int i = 1; i < depth; ++i) {
    level = &level->conditions.emplace_back().group.emplace();
  }
  level->conditions.push_back(
      {"country", static_cast<int>(Operator::kEquals), {std::string("DE")}});
  return spec;
}

// A filter stored under a higher max_group_depth than the one in force now
// still loads: a lowered limit must not lose a segment. Only a nesting the
// codec itself cannot hold is damage.
TEST(FilterCodec, NestingBeyondTheCurrentLimitStillDecodes) {
  Limits deeper;
  deeper.max_group_depth = 12;
  absl::StatusOr<Filter> filter =
      ValidateFilter(NestedSpec(12), "filter", deeper);
  ASSERT_TRUE(filter.ok()) << filter.status();
  ASSERT_THAT(ValidateFilter(NestedSpec(12), "filter"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  absl::StatusOr<Filter> back = DecodeFilter(EncodeFilter(*filter));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, *filter);

  deeper.max_group_depth = 40;
  absl::StatusOr<Filter> too_deep =
      ValidateFilter(NestedSpec(40), "filter", deeper);
  ASSERT_TRUE(too_deep.ok()) << too_deep.status();
  EXPECT_THAT(DecodeFilter(EncodeFilter(*too_deep)),
              StatusIs(absl::StatusCode::kDataLoss));
}

TEST(FilterCodec, TruncationsAreDataLoss) {
  std::mt19937 rng(2);
  for (const Filter& f : RandomFilters(200, 2)) {
    const std::string bytes = EncodeFilter(f);
    for (size_t len : Positions(bytes.size(), &rng)) {
      EXPECT_THAT(DecodeFilter(std::string_view(bytes).substr(0, len)),
                  StatusIs(absl::StatusCode::kDataLoss))
          << len << " of " << bytes.size();
    }
  }
}

TEST(FilterCodec, TrailingBytesAreDataLoss) {
  const std::string bytes = EncodeFilter(RandomFilters(1, 3)[0]);
  EXPECT_THAT(DecodeFilter(bytes + std::string(1, '\0')),
              StatusIs(absl::StatusCode::kDataLoss));
}

TEST(FilterCodec, UnknownMagicOrVersionIsDataLoss) {
  std::string bytes = EncodeFilter(RandomFilters(1, 4)[0]);
  EXPECT_THAT(DecodeFilter(""), StatusIs(absl::StatusCode::kDataLoss));
  std::string bad = bytes;
  bad[0] = 'G';
  EXPECT_THAT(DecodeFilter(bad), StatusIs(absl::StatusCode::kDataLoss));
  bad = bytes;
  bad[1] = 2;
  EXPECT_THAT(DecodeFilter(bad), StatusIs(absl::StatusCode::kDataLoss));
}

TEST(FilterCodec, WellFormedButInvalidFilterIsDataLoss) {
  // Unknown field.
  EXPECT_THAT(DecodeFilter(B("F\x01\x01\x01\x03"
                             "foo\x01\x01\x01\x01x")),
              StatusIs(absl::StatusCode::kDataLoss));
  // country EQUALS with a number.
  EXPECT_THAT(DecodeFilter(B("F\x01\x01\x01\x07"
                             "country\x01\x01\x02\x02")),
              StatusIs(absl::StatusCode::kDataLoss));
  // No conditions.
  EXPECT_THAT(DecodeFilter(B("F\x01\x01\x00")),
              StatusIs(absl::StatusCode::kDataLoss));
  // Operator beyond int range.
  EXPECT_THAT(DecodeFilter(B("F\x01\x01\x01\x04tags\xFF\xFF\xFF\xFF\x7F\x00")),
              StatusIs(absl::StatusCode::kDataLoss));
}

TEST(FilterCodec, HugeDeclaredCountsAreDataLoss) {
  // 2^63 conditions / values / string length, with nothing behind them.
  const std::string huge = B("\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\x7F");
  EXPECT_THAT(DecodeFilter("F\x01\x01" + huge),
              StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_THAT(DecodeFilter("F\x01\x01\x01" + huge),
              StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_THAT(DecodeFilter(B("F\x01\x01\x01\x04tags\x0E") + huge),
              StatusIs(absl::StatusCode::kDataLoss));
  // An 11-byte varint.
  EXPECT_THAT(DecodeFilter("F\x01" + std::string(11, '\x80') + "\x01"),
              StatusIs(absl::StatusCode::kDataLoss));
}

TEST(FilterCodec, ByteFlipsDecodeOrAreDataLoss) {
  std::mt19937 rng(5);
  for (const Filter& f : RandomFilters(150, 6)) {
    const std::string bytes = EncodeFilter(f);
    for (size_t i : Positions(bytes.size(), &rng)) {
      std::string bad = bytes;
      bad[i] = static_cast<char>(bad[i] ^ (1 + rng() % 255));
      absl::StatusOr<Filter> r = DecodeFilter(bad);
      if (r.ok()) {
        // Whatever decodes is a valid filter, and re-encoding it is stable
        // (not necessarily byte-equal to `bad`: a flip may have produced
        // padding that validation trims away).
        absl::StatusOr<Filter> again = DecodeFilter(EncodeFilter(*r));
        ASSERT_TRUE(again.ok()) << again.status();
        EXPECT_TRUE(*again == *r) << "at byte " << i;
      } else {
        EXPECT_THAT(r, StatusIs(absl::StatusCode::kDataLoss));
      }
    }
  }
}

TEST(FilterCodec, RandomGarbageNeverCrashes) {
  std::mt19937 rng(7);
  for (int i = 0; i < 20000; ++i) {
    std::string bytes;
    const size_t len = rng() % 64;
    // Half the inputs carry a valid header so the parser gets further.
    if (i % 2 == 0) bytes = "F\x01";
    for (size_t k = 0; k < len; ++k) {
      bytes.push_back(static_cast<char>(rng() % 8 == 0 ? rng() % 4 : rng()));
    }
    absl::StatusOr<Filter> r = DecodeFilter(bytes);
    if (!r.ok()) {
      EXPECT_THAT(r, StatusIs(absl::StatusCode::kDataLoss));
    }
  }
}

TEST(FilterCodec, MoreConditionsThanTheDefaultLimitStillDecode) {
  // A filter accepted under a larger configured limit stays readable.
  FilterSpec spec;
  spec.conditions.assign(80, {"city", static_cast<int>(Operator::kIsSet), {}});
  Limits larger;
  larger.max_conditions = 100;
  ASSERT_OK_AND_ASSIGN(Filter f, ValidateFilter(spec, "filter", larger));
  ASSERT_OK_AND_ASSIGN(Filter back, DecodeFilter(EncodeFilter(f)));
  EXPECT_EQ(back, f);
}

}  // namespace
}  // namespace segments
