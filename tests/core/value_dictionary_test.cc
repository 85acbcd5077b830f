// Tests of core/index/value_dictionary.cc: the postings of one value (a
// sorted array up to kMaxSmall ids, a bitmap beyond, back to an array below
// kMaxSmall / 2), the dictionary's interning, exact lookups, substring scans
// over the arena, tombstones and compaction, Merge, and UnionBuilder.
#include "core/index/value_dictionary.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace segments {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::SizeIs;

std::vector<uint32_t> Ids(const Roaring& r) {
  std::vector<uint32_t> ids(r.cardinality());
  r.toUint32Array(ids.data());
  return ids;
}

// The contacts of every value matching `op` / `needle`.
std::vector<uint32_t> Matches(const ValueDictionary& dict, Operator op,
                              std::string_view needle) {
  UnionBuilder out;
  dict.CollectMatches(op, needle, &out);
  return Ids(out.Build());
}

std::vector<uint32_t> Range(uint32_t first, uint32_t last) {
  std::vector<uint32_t> ids;
  for (uint32_t i = first; i <= last; ++i) ids.push_back(i);
  return ids;
}

TEST(ValueDictionaryTest, ScansSkipTombstonesAndCompact) {
  ValueDictionary dict;
  for (uint32_t i = 0; i < 100; ++i) dict.Add(absl::StrCat("value-", i), i);
  EXPECT_EQ(dict.size(), 100u);
  // Remove 40: tombstones, below the compaction threshold of half.
  for (uint32_t i = 0; i < 40; ++i) dict.Remove(absl::StrCat("value-", i), i);
  EXPECT_EQ(dict.size(), 60u);
  EXPECT_EQ(dict.slots(), 100u);
  EXPECT_THAT(Matches(dict, Operator::kContains, "value-3"), IsEmpty());
  EXPECT_EQ(Matches(dict, Operator::kStartsWith, "value-4"), Range(40, 49));
  EXPECT_EQ(Matches(dict, Operator::kContains, "-"), Range(40, 99));
  // Ten more: half the slots are tombstones, so the arena is compacted.
  for (uint32_t i = 40; i < 50; ++i) dict.Remove(absl::StrCat("value-", i), i);
  EXPECT_EQ(dict.size(), 50u);
  EXPECT_EQ(dict.slots(), 50u);
  for (uint32_t i = 0; i < 100; ++i) {
    const Postings* p = dict.Find(absl::StrCat("value-", i));
    if (i < 50) {
      EXPECT_EQ(p, nullptr) << i;
    } else {
      ASSERT_NE(p, nullptr) << i;
      EXPECT_THAT(Ids(p->ToRoaring()), ElementsAre(i));
    }
  }
  EXPECT_THAT(Matches(dict, Operator::kEndsWith, "9"),
              ElementsAre(59, 69, 79, 89, 99));
  EXPECT_EQ(Matches(dict, Operator::kContains, "value"), Range(50, 99));
  // A removed value comes back in a new slot.
  dict.Add("value-7", 1000);
  ASSERT_NE(dict.Find("value-7"), nullptr);
  EXPECT_THAT(Ids(dict.Find("value-7")->ToRoaring()), ElementsAre(1000u));
  EXPECT_EQ(dict.slots(), 51u);
}

TEST(ValueDictionaryTest, MatchesNeverCrossValues) {
  ValueDictionary dict;
  dict.Add("ab", 1);
  dict.Add("cd", 2);
  dict.Add(std::string("x\0y", 3), 3);
  EXPECT_THAT(Matches(dict, Operator::kContains, "bc"), IsEmpty());
  EXPECT_THAT(Matches(dict, Operator::kContains, std::string("b\0c", 3)),
              IsEmpty());
  // Only the value holding a NUL.
  EXPECT_THAT(Matches(dict, Operator::kContains, std::string("\0", 1)),
              ElementsAre(3u));
  EXPECT_THAT(Matches(dict, Operator::kContains, ""), ElementsAre(1, 2, 3));
  EXPECT_THAT(Matches(dict, Operator::kEndsWith, ""), ElementsAre(1, 2, 3));
  EXPECT_THAT(Matches(dict, Operator::kStartsWith, ""), ElementsAre(1, 2, 3));
  EXPECT_THAT(Matches(dict, Operator::kContains, "d"), ElementsAre(2u));
  EXPECT_THAT(Matches(dict, Operator::kEndsWith, "b"), ElementsAre(1u));
  EXPECT_THAT(Matches(dict, Operator::kStartsWith, "abc"), IsEmpty());
  EXPECT_THAT(Matches(dict, Operator::kEndsWith, "xab"), IsEmpty());
}

TEST(ValueDictionaryTest, RepeatedAndMissingIds) {
  ValueDictionary dict;
  for (ContactId id = 1; id <= 10; ++id) dict.Add(id % 2 ? "odd" : "even", id);
  dict.Add("odd", 1);  // already there
  dict.Remove("odd", 3);
  dict.Remove("odd", 2);  // not there
  dict.Remove("missing", 3);
  ASSERT_NE(dict.Find("odd"), nullptr);
  EXPECT_THAT(Ids(dict.Find("odd")->ToRoaring()), ElementsAre(1u, 5u, 7u, 9u));
  EXPECT_EQ(dict.Find("odd")->size(), 4u);
  EXPECT_EQ(dict.size(), 2u);
  for (ContactId id : {1, 5, 7, 9}) dict.Remove("odd", id);
  EXPECT_EQ(dict.Find("odd"), nullptr);
  EXPECT_EQ(dict.size(), 1u);
}

// Values past Postings::kMaxSmall contacts switch to a bitmap and back.
TEST(ValueDictionaryTest, LargeValuesUseBitmaps) {
  ValueDictionary dict;
  const uint32_t n = 3 * Postings::kMaxSmall;
  // Ids spread over several Roaring containers, added out of order.
  for (uint32_t i = n; i >= 1; --i) dict.Add("big", i * 1000);
  dict.Add("small", 7);
  const Postings* big = dict.Find("big");
  ASSERT_NE(big, nullptr);
  ASSERT_NE(big->bitmap(), nullptr);
  EXPECT_EQ(big->size(), n);
  EXPECT_EQ(dict.Find("small")->bitmap(), nullptr);
  std::vector<uint32_t> want;
  for (uint32_t i = 1; i <= n; ++i) want.push_back(i * 1000);
  std::vector<uint32_t> with_small = want;
  with_small.insert(with_small.begin(), 7);
  EXPECT_EQ(Matches(dict, Operator::kContains, ""), with_small);
  EXPECT_EQ(Matches(dict, Operator::kStartsWith, "b"), want);
  // Down to fewer than kMaxSmall / 2: back to an array.
  for (uint32_t i = 1; i <= n - Postings::kMaxSmall / 2 + 1; ++i) {
    dict.Remove("big", i * 1000);
  }
  big = dict.Find("big");
  ASSERT_NE(big, nullptr);
  EXPECT_EQ(big->bitmap(), nullptr);
  want.erase(want.begin(), want.begin() + (n - Postings::kMaxSmall / 2 + 1));
  EXPECT_EQ(Ids(big->ToRoaring()), want);
  EXPECT_EQ(Matches(dict, Operator::kEndsWith, "ig"), want);
}

// Merging covers every pairing of small arrays and bitmaps: appended
// (the new contacts of a batch), interleaved, and past kMaxSmall.
TEST(ValueDictionaryTest, MergeAddsEveryValuesContacts) {
  const uint32_t k = Postings::kMaxSmall;
  ValueDictionary dict, other;
  std::map<std::string, std::set<uint32_t>> want;
  auto add = [&want](ValueDictionary& d, const std::string& v, uint32_t id) {
    d.Add(v, id);
    want[v].insert(id);
  };
  for (uint32_t i = 1; i <= 10; ++i) {
    add(dict, "append", i);
    add(other, "append", 100 + i);
    add(dict, "interleave", 2 * i);
    add(other, "interleave", 2 * i + 1);
  }
  for (uint32_t i = 1; i <= k / 2 + 10; ++i) {  // two small ones, one big
    add(dict, "grows", i);
    add(other, "grows", 1000 + i);
  }
  for (uint32_t i = 1; i <= 2 * k; ++i) {
    add(dict, "big+small", i);
    add(other, "small+big", i);
    add(dict, "big+big", 3 * i);
    add(other, "big+big", 3 * i + 1);
  }
  add(other, "big+small", 5000);
  add(dict, "small+big", 5000);
  add(other, "only in other", 9);
  dict.Merge(std::move(other));
  EXPECT_EQ(dict.size(), want.size());
  for (const auto& [value, ids] : want) {
    const Postings* p = dict.Find(value);
    ASSERT_NE(p, nullptr) << value;
    EXPECT_EQ(Ids(p->ToRoaring()),
              std::vector<uint32_t>(ids.begin(), ids.end()))
        << value;
    EXPECT_EQ(p->size(), ids.size()) << value;
    EXPECT_EQ(p->bitmap() != nullptr, ids.size() > k) << value;
  }
  // Merged postings still shrink and go as before.
  for (uint32_t i = 1; i <= 10; ++i) dict.Remove("append", i);
  EXPECT_THAT(Ids(dict.Find("append")->ToRoaring()), SizeIs(10));
  for (uint32_t i = 101; i <= 110; ++i) dict.Remove("append", i);
  EXPECT_EQ(dict.Find("append"), nullptr);
  EXPECT_EQ(Matches(dict, Operator::kContains, "only"),
            std::vector<uint32_t>{9});
}

// Many small values: the builder switches from a list to a bit array.
TEST(UnionBuilderTest, ManySmallListsAndBitmaps) {
  UnionBuilder builder;
  std::vector<uint32_t> want;
  for (uint32_t v = 0; v < 2000; ++v) {
    std::vector<uint32_t> ids = {v * 3 + 100000, v * 3 + 100001};
    builder.AddIds(ids);
    want.insert(want.end(), ids.begin(), ids.end());
  }
  Roaring big;
  for (uint32_t i = 0; i < 70000; i += 7) big.add(i);
  builder.AddBitmap(&big);
  for (uint32_t i = 0; i < 70000; i += 7) want.push_back(i);
  std::sort(want.begin(), want.end());
  EXPECT_EQ(Ids(builder.Build()), want);
  // Empty after Build.
  EXPECT_TRUE(builder.Build().isEmpty());
  builder.AddIds({5});
  EXPECT_THAT(Ids(builder.Build()), ElementsAre(5u));
}

// ---------------------------------------------------------------------------
// Postings

TEST(Postings, ArrayUpToKMaxSmallIdsThenBitmap) {
  constexpr uint32_t k = Postings::kMaxSmall;
  Postings p;
  EXPECT_TRUE(p.empty());
  EXPECT_EQ(p.size(), 0u);
  // Out of order, so that both the append and the insert paths run.
  for (uint32_t id = k; id >= 2; --id) EXPECT_TRUE(p.Add(2 * id));
  EXPECT_TRUE(p.Add(2));
  EXPECT_FALSE(p.Add(2));  // already there
  EXPECT_FALSE(p.Add(2 * k));
  EXPECT_EQ(p.size(), k);
  EXPECT_EQ(p.bitmap(), nullptr);  // exactly kMaxSmall: still an array
  EXPECT_TRUE(p.Add(1));
  ASSERT_NE(p.bitmap(), nullptr);
  EXPECT_EQ(p.size(), k + 1);
  EXPECT_FALSE(p.Add(1));
  EXPECT_FALSE(p.Remove(3));  // absent
  EXPECT_EQ(p.size(), k + 1);
  std::vector<uint32_t> want = {1};
  for (uint32_t id = 1; id <= k; ++id) want.push_back(2 * id);
  EXPECT_EQ(Ids(p.ToRoaring()), want);
  EXPECT_EQ(Ids(*p.bitmap()), want);
}

TEST(Postings, BitmapBecomesAnArrayBelowHalfTheLimit) {
  constexpr uint32_t k = Postings::kMaxSmall;
  Postings p;
  for (uint32_t id = 1; id <= k + 1; ++id) p.Add(id * 70000);  // containers
  ASSERT_NE(p.bitmap(), nullptr);
  uint32_t next = 1;
  // Down to kMaxSmall / 2: still a bitmap (no conversion at every change).
  while (p.size() > k / 2) EXPECT_TRUE(p.Remove(next++ * 70000));
  EXPECT_NE(p.bitmap(), nullptr);
  EXPECT_TRUE(p.Remove(next++ * 70000));
  EXPECT_EQ(p.bitmap(), nullptr);
  EXPECT_EQ(p.size(), k / 2 - 1);
  std::vector<uint32_t> want;
  for (uint32_t id = next; id <= k + 1; ++id) want.push_back(id * 70000);
  EXPECT_EQ(Ids(p.ToRoaring()), want);
  // The array keeps working, with removals and additions anywhere.
  EXPECT_FALSE(p.Remove(1));
  EXPECT_TRUE(p.Remove(want.back()));
  EXPECT_TRUE(p.Add(5));
  EXPECT_FALSE(p.Add(5));
  want.pop_back();
  want.insert(want.begin(), 5);
  EXPECT_EQ(Ids(p.ToRoaring()), want);
  // Up to kMaxSmall it stays an array, one more is a bitmap again.
  for (uint32_t id = 6; p.size() < k; ++id) p.Add(id);
  EXPECT_EQ(p.bitmap(), nullptr);
  p.Add(3);
  EXPECT_NE(p.bitmap(), nullptr);
  EXPECT_EQ(p.size(), k + 1);
}

TEST(Postings, RemovingEveryIdLeavesItEmpty) {
  Postings small, big;
  small.Add(7);
  for (uint32_t id = 1; id <= Postings::kMaxSmall + 1; ++id) big.Add(id);
  EXPECT_TRUE(small.Remove(7));
  EXPECT_TRUE(small.empty());
  for (uint32_t id = 1; id <= Postings::kMaxSmall + 1; ++id) big.Remove(id);
  EXPECT_TRUE(big.empty());
  EXPECT_EQ(big.size(), 0u);
  EXPECT_TRUE(big.ToRoaring().isEmpty());
}

TEST(Postings, MergeWithEmpty) {
  Postings a, empty;
  a.Add(3);
  a.Add(9);
  a.Merge(std::move(empty));
  EXPECT_THAT(Ids(a.ToRoaring()), ElementsAre(3u, 9u));
  Postings into;
  into.Merge(std::move(a));
  EXPECT_THAT(Ids(into.ToRoaring()), ElementsAre(3u, 9u));
  EXPECT_EQ(into.size(), 2u);
}

TEST(Postings, AddToUnionBuilderFromArrayAndBitmap) {
  Postings small, big;
  small.Add(1);
  small.Add(500);
  std::vector<uint32_t> want = {1};
  for (uint32_t id = 2; id <= Postings::kMaxSmall + 10; ++id) {
    big.Add(id);
    want.push_back(id);
  }
  want.push_back(500);
  std::sort(want.begin(), want.end());
  want.erase(std::unique(want.begin(), want.end()), want.end());
  ASSERT_NE(big.bitmap(), nullptr);
  UnionBuilder out;
  small.AddTo(&out);
  big.AddTo(&out);
  EXPECT_EQ(Ids(out.Build()), want);
}

// ---------------------------------------------------------------------------
// ValueDictionary

TEST(ValueDictionaryTest, EmptyDictionary) {
  ValueDictionary dict;
  EXPECT_EQ(dict.size(), 0u);
  EXPECT_EQ(dict.slots(), 0u);
  EXPECT_EQ(dict.Find(""), nullptr);
  EXPECT_EQ(dict.Find("a"), nullptr);
  dict.Remove("a", 1);  // ignored
  for (Operator op :
       {Operator::kContains, Operator::kStartsWith, Operator::kEndsWith}) {
    EXPECT_THAT(Matches(dict, op, ""), IsEmpty());
    EXPECT_THAT(Matches(dict, op, "a"), IsEmpty());
  }
}

TEST(ValueDictionaryTest, TheEmptyStringIsAValue) {
  ValueDictionary dict;
  dict.Add("", 1);
  dict.Add("a", 2);
  dict.Add("", 3);
  EXPECT_EQ(dict.size(), 2u);
  ASSERT_NE(dict.Find(""), nullptr);
  EXPECT_THAT(Ids(dict.Find("")->ToRoaring()), ElementsAre(1u, 3u));
  // An empty needle matches it; a non-empty one does not.
  EXPECT_THAT(Matches(dict, Operator::kContains, ""), ElementsAre(1, 2, 3));
  EXPECT_THAT(Matches(dict, Operator::kStartsWith, ""), ElementsAre(1, 2, 3));
  EXPECT_THAT(Matches(dict, Operator::kEndsWith, ""), ElementsAre(1, 2, 3));
  EXPECT_THAT(Matches(dict, Operator::kContains, "a"), ElementsAre(2u));
  EXPECT_THAT(Matches(dict, Operator::kStartsWith, "a"), ElementsAre(2u));
  EXPECT_THAT(Matches(dict, Operator::kEndsWith, "a"), ElementsAre(2u));
  dict.Remove("", 1);
  dict.Remove("", 3);
  EXPECT_EQ(dict.Find(""), nullptr);
  EXPECT_EQ(dict.size(), 1u);
  EXPECT_THAT(Matches(dict, Operator::kContains, ""), ElementsAre(2u));
  dict.Add("", 4);
  EXPECT_THAT(Ids(dict.Find("")->ToRoaring()), ElementsAre(4u));
}

TEST(ValueDictionaryTest, ValuesAreInternedOnce) {
  ValueDictionary dict;
  for (ContactId id = 1; id <= 100; ++id) dict.Add("acme", id);
  dict.Add("acme ", 101);  // another value
  dict.Add("Acme", 102);   // stored as given: case matters here
  EXPECT_EQ(dict.size(), 3u);
  EXPECT_EQ(dict.slots(), 3u);
  EXPECT_EQ(dict.Find("acme")->size(), 100u);
  EXPECT_THAT(Ids(dict.Find("acme ")->ToRoaring()), ElementsAre(101u));
  EXPECT_THAT(Ids(dict.Find("Acme")->ToRoaring()), ElementsAre(102u));
  EXPECT_EQ(dict.Find("acm"), nullptr);
  EXPECT_EQ(dict.Find("ACME"), nullptr);
}

TEST(ValueDictionaryTest, ForEachVisitsLiveValuesInSlotOrder) {
  ValueDictionary dict;
  dict.Add("b", 1);
  dict.Add("a", 2);
  dict.Add("c", 3);
  dict.Remove("a", 2);  // a tombstone
  dict.Add("a", 4);     // back, in a new slot
  std::vector<std::pair<std::string, std::vector<uint32_t>>> seen;
  dict.ForEach([&seen](std::string_view value, const Postings& p) {
    seen.emplace_back(std::string(value), Ids(p.ToRoaring()));
  });
  using Entry = std::pair<std::string, std::vector<uint32_t>>;
  EXPECT_THAT(seen,
              ElementsAre(Entry{"b", {1}}, Entry{"c", {3}}, Entry{"a", {4}}));
}

TEST(ValueDictionaryTest, FewTombstonesAreNotCompacted) {
  ValueDictionary dict;
  for (uint32_t i = 0; i < 20; ++i) dict.Add(absl::StrCat("v", i), i + 1);
  // 15 of 20 slots dead: more than half, but fewer than the 16 compaction
  // waits for.
  for (uint32_t i = 0; i < 15; ++i) dict.Remove(absl::StrCat("v", i), i + 1);
  EXPECT_EQ(dict.size(), 5u);
  EXPECT_EQ(dict.slots(), 20u);
  EXPECT_THAT(Matches(dict, Operator::kStartsWith, "v"),
              ElementsAre(16, 17, 18, 19, 20));
  dict.Remove("v15", 16);
  EXPECT_EQ(dict.slots(), 4u);
  EXPECT_THAT(Matches(dict, Operator::kStartsWith, "v"),
              ElementsAre(17, 18, 19, 20));
}

// After compaction the slots are renumbered: every lookup, addition and
// removal still finds its value, and a second compaction works too.
TEST(ValueDictionaryTest, CompactionPreservesLookups) {
  ValueDictionary dict;
  for (uint32_t i = 0; i < 64; ++i) {
    dict.Add(absl::StrCat("value-", i), i);
    dict.Add(absl::StrCat("value-", i), 1000 + i);
  }
  // Remove the even ones: 32 tombstones out of 64 slots.
  for (uint32_t i = 0; i < 64; i += 2) {
    dict.Remove(absl::StrCat("value-", i), i);
    dict.Remove(absl::StrCat("value-", i), 1000 + i);
  }
  ASSERT_EQ(dict.slots(), 32u);
  ASSERT_EQ(dict.size(), 32u);
  for (uint32_t i = 0; i < 64; ++i) {
    const Postings* p = dict.Find(absl::StrCat("value-", i));
    if (i % 2 == 0) {
      EXPECT_EQ(p, nullptr) << i;
      continue;
    }
    ASSERT_NE(p, nullptr) << i;
    EXPECT_THAT(Ids(p->ToRoaring()), ElementsAre(i, 1000 + i)) << i;
  }
  // Adding to a surviving value adds to its postings, not a new slot.
  dict.Add("value-1", 5);
  EXPECT_EQ(dict.slots(), 32u);
  EXPECT_EQ(dict.size(), 32u);
  EXPECT_THAT(Ids(dict.Find("value-1")->ToRoaring()),
              ElementsAre(1u, 5u, 1001u));
  // Removal finds the renumbered slots.
  dict.Remove("value-3", 3);
  EXPECT_THAT(Ids(dict.Find("value-3")->ToRoaring()), ElementsAre(1003u));
  // A new value and a returning one.
  dict.Add("new", 77);
  dict.Add("value-0", 78);
  EXPECT_EQ(dict.size(), 34u);
  EXPECT_THAT(Ids(dict.Find("new")->ToRoaring()), ElementsAre(77u));
  EXPECT_THAT(Ids(dict.Find("value-0")->ToRoaring()), ElementsAre(78u));
  EXPECT_THAT(Matches(dict, Operator::kEndsWith, "-0"), ElementsAre(78u));
  // Compact once more: remove all but value-1 and new.
  for (uint32_t i = 3; i < 64; i += 2) {
    dict.Remove(absl::StrCat("value-", i), i);
    dict.Remove(absl::StrCat("value-", i), 1000 + i);
  }
  dict.Remove("value-0", 78);
  EXPECT_EQ(dict.size(), 2u);
  EXPECT_LT(dict.slots(), 34u);
  EXPECT_THAT(Ids(dict.Find("value-1")->ToRoaring()),
              ElementsAre(1u, 5u, 1001u));
  EXPECT_THAT(Ids(dict.Find("new")->ToRoaring()), ElementsAre(77u));
  EXPECT_EQ(dict.Find("value-3"), nullptr);
  EXPECT_THAT(Matches(dict, Operator::kContains, "e"),
              ElementsAre(1u, 5u, 77u, 1001u));
}

TEST(ValueDictionaryTest, AMovedDictionaryKeepsItsValues) {
  ValueDictionary from;
  for (uint32_t i = 0; i < 40; ++i) from.Add(absl::StrCat("v", i), i + 1);
  ValueDictionary dict(std::move(from));
  EXPECT_EQ(dict.size(), 40u);
  EXPECT_THAT(Ids(dict.Find("v7")->ToRoaring()), ElementsAre(8u));
  dict.Add("v7", 100);
  EXPECT_THAT(Ids(dict.Find("v7")->ToRoaring()), ElementsAre(8u, 100u));
  ValueDictionary assigned;
  assigned.Add("other", 1);
  assigned = std::move(dict);
  EXPECT_EQ(assigned.Find("other"), nullptr);
  // Enough removals to compact the moved-to dictionary (at the 20th: 20
  // tombstones of 40 slots), then 10 more tombstones.
  for (uint32_t i = 0; i < 30; ++i) {
    assigned.Remove(absl::StrCat("v", i), i + 1);
  }
  EXPECT_EQ(assigned.size(), 11u);  // v7 keeps 100
  EXPECT_EQ(assigned.slots(), 20u);
  EXPECT_THAT(Ids(assigned.Find("v7")->ToRoaring()), ElementsAre(100u));
  EXPECT_THAT(Ids(assigned.Find("v35")->ToRoaring()), ElementsAre(36u));
  EXPECT_THAT(Matches(assigned, Operator::kStartsWith, "v3"),
              ElementsAre(31, 32, 33, 34, 35, 36, 37, 38, 39, 40));
}

TEST(ValueDictionaryTest, MergeSkipsTombstonesAndRevivesValues) {
  ValueDictionary dict, other;
  dict.Add("gone here", 1);
  dict.Remove("gone here", 1);  // a tombstone in dict
  dict.Add("kept", 2);
  other.Add("gone here", 3);
  other.Add("gone there", 4);
  other.Remove("gone there", 4);  // a tombstone in other
  other.Add("kept", 5);
  dict.Merge(std::move(other));
  EXPECT_EQ(dict.size(), 2u);
  EXPECT_EQ(dict.Find("gone there"), nullptr);
  EXPECT_THAT(Ids(dict.Find("gone here")->ToRoaring()), ElementsAre(3u));
  EXPECT_THAT(Ids(dict.Find("kept")->ToRoaring()), ElementsAre(2u, 5u));
  EXPECT_THAT(Matches(dict, Operator::kStartsWith, "gone"), ElementsAre(3u));
}

TEST(ValueDictionaryTest, MergeIntoAnEmptyDictionary) {
  ValueDictionary dict, other;
  for (uint32_t i = 1; i <= 300; ++i) other.Add(i % 3 ? "many" : "few", i);
  dict.Merge(std::move(other));
  EXPECT_EQ(dict.size(), 2u);
  EXPECT_EQ(dict.Find("many")->size(), 200u);
  EXPECT_EQ(dict.Find("few")->size(), 100u);
  EXPECT_THAT(Matches(dict, Operator::kContains, ""), SizeIs(300));
}

// The contacts of every live value of `model` matching `op` / `needle`.
std::vector<uint32_t> ModelMatches(
    const std::map<std::string, std::set<uint32_t>>& model, Operator op,
    std::string_view needle) {
  std::set<uint32_t> ids;
  for (const auto& [value, holders] : model) {
    const std::string_view v = value;
    const bool match = op == Operator::kContains
                           ? v.find(needle) != std::string_view::npos
                       : v.size() < needle.size() ? false
                       : op == Operator::kStartsWith
                           ? v.substr(0, needle.size()) == needle
                           : v.substr(v.size() - needle.size()) == needle;
    if (match) ids.insert(holders.begin(), holders.end());
  }
  return {ids.begin(), ids.end()};
}

// Many values, added, removed and re-added at random (compacting several
// times), against a map of sets: lookups, sizes, ForEach and every scan.
TEST(ValueDictionaryTest, RandomAddsAndRemovesMatchAModel) {
  std::mt19937 rng(20261201);
  ValueDictionary dict;
  std::map<std::string, std::set<uint32_t>> model;
  auto value_name = [](uint32_t v) {
    // Values that share prefixes, suffixes and middles; one is "".
    return v == 0 ? std::string() : absl::StrCat("co", v % 7, "-", v, "x");
  };
  constexpr uint32_t kValues = 3000;
  // An eighth of the operations go to ten hot values, which hover around
  // a few hundred contacts: past kMaxSmall and back.
  constexpr uint32_t kHot = 10;
  auto pick = [&rng] {
    return rng() % 8 == 0 ? rng() % kHot : rng() % kValues;
  };
  int bitmaps = 0, hot_arrays = 0;
  const std::vector<std::string> needles = {
      "", "co", "co3", "-1", "1x", "x", "99x", "3-3", "zz", "o4-4", "co0-"};
  for (int round = 0; round < 6; ++round) {
    // Grow: values with 1 to ~600 contacts (some past kMaxSmall).
    for (int op = 0; op < 20000; ++op) {
      const uint32_t v = pick();
      const uint32_t id = rng() % (v < kHot ? 5000 : 40) + 1;
      dict.Add(value_name(v), id);
      model[value_name(v)].insert(id);
    }
    // Shrink: remove most contacts of most values.
    for (int op = 0; op < 25000; ++op) {
      const uint32_t v = pick();
      const std::string name = value_name(v);
      auto it = model.find(name);
      const uint32_t id =
          it != model.end() && !it->second.empty() && rng() % 4 != 0
              ? *std::next(it->second.begin(), rng() % it->second.size())
              : rng() % 100 + 1;  // often absent
      dict.Remove(name, id);
      if (it != model.end()) {
        it->second.erase(id);
        if (it->second.empty()) model.erase(it);
      }
    }
    ASSERT_EQ(dict.size(), model.size()) << "round " << round;
    EXPECT_LE(dict.slots(), 2 * model.size() + 16) << "round " << round;
    for (uint32_t v = 0; v < kValues; ++v) {
      const std::string name = value_name(v);
      const Postings* p = dict.Find(name);
      auto it = model.find(name);
      if (it == model.end()) {
        ASSERT_EQ(p, nullptr) << name;
        continue;
      }
      ASSERT_NE(p, nullptr) << name;
      ASSERT_EQ(Ids(p->ToRoaring()),
                std::vector<uint32_t>(it->second.begin(), it->second.end()))
          << name;
      EXPECT_EQ(p->size(), it->second.size());
      // An array holds at most kMaxSmall ids, a bitmap at least half that.
      if (p->bitmap() == nullptr) {
        EXPECT_LE(p->size(), Postings::kMaxSmall) << name;
        if (v < kHot) ++hot_arrays;
      } else {
        EXPECT_GE(p->size(), Postings::kMaxSmall / 2) << name;
        ++bitmaps;
      }
    }
    std::map<std::string, std::set<uint32_t>> seen;
    dict.ForEach([&seen](std::string_view value, const Postings& p) {
      const std::vector<uint32_t> ids = Ids(p.ToRoaring());
      EXPECT_TRUE(seen.emplace(std::string(value),
                               std::set<uint32_t>(ids.begin(), ids.end()))
                      .second)
          << "twice: " << value;
    });
    EXPECT_TRUE(seen == model) << "round " << round;
    for (const std::string& needle : needles) {
      for (Operator op :
           {Operator::kContains, Operator::kStartsWith, Operator::kEndsWith}) {
        EXPECT_EQ(Matches(dict, op, needle), ModelMatches(model, op, needle))
            << "round " << round << " op " << static_cast<int>(op) << " '"
            << needle << "'";
      }
    }
  }
  // Both forms were met.
  EXPECT_GT(bitmaps, 0);
  EXPECT_GT(hot_arrays, 0);
}

// ---------------------------------------------------------------------------
// UnionBuilder

// AddAll (a restart's batches, with prefetching) is Add of each pair in
// order: values repeated within a batch and across batches, new and known
// values, ids out of order, and values that outgrow the small arrays.
TEST(ValueDictionaryTest, AddAllIsAddOfEach) {
  std::mt19937 rng(18);
  ValueDictionary all, each;
  std::map<std::string, std::set<uint32_t>> model;
  for (int batch = 0; batch < 20; ++batch) {
    std::vector<std::string> owned;
    std::vector<ContactId> ids;
    const int n = batch == 0 ? 0 : static_cast<int>(rng() % 1500);
    for (int i = 0; i < n; ++i) {
      // A few values held by many contacts, many held by few.
      const uint32_t v = rng() % 4 == 0 ? rng() % 3 : rng() % 5000;
      owned.push_back(absl::StrCat("value ", v));
      ids.push_back(1 + rng() % 100000);
    }
    std::vector<std::string_view> values(owned.begin(), owned.end());
    all.AddAll(values, ids);
    for (int i = 0; i < n; ++i) {
      each.Add(values[i], ids[i]);
      model[owned[i]].insert(ids[i]);
    }
  }
  ASSERT_EQ(all.size(), model.size());
  ASSERT_EQ(each.size(), model.size());
  for (const auto& [value, contacts] : model) {
    const Postings* p = all.Find(value);
    ASSERT_NE(p, nullptr) << value;
    EXPECT_EQ(Ids(p->ToRoaring()),
              std::vector<uint32_t>(contacts.begin(), contacts.end()))
        << value;
    EXPECT_EQ(p->ToRoaring(), each.Find(value)->ToRoaring()) << value;
  }
  EXPECT_EQ(Matches(all, Operator::kContains, "value 1"),
            Matches(each, Operator::kContains, "value 1"));
}

TEST(UnionBuilderTest, EmptyAndSingleBitmap) {
  UnionBuilder builder;
  EXPECT_TRUE(builder.Build().isEmpty());
  Roaring only;
  only.addRange(10, 20);
  builder.AddBitmap(&only);
  EXPECT_EQ(builder.Build(), only);
  builder.AddIds({});
  EXPECT_TRUE(builder.Build().isEmpty());
}

TEST(UnionBuilderTest, OverlappingListsAndBitmapsCountEachIdOnce) {
  for (uint32_t max_id : {0u, 100u, 1u << 20}) {
    UnionBuilder builder(max_id);
    std::set<uint32_t> want;
    // Enough ids to go dense, overlapping each other and the bitmaps, some
    // beyond max_id.
    for (uint32_t v = 0; v < 3000; ++v) {
      std::vector<uint32_t> ids = {v, v + 1, 2 * v + 200000};
      builder.AddIds(ids);
      want.insert(ids.begin(), ids.end());
    }
    Roaring a, b;
    for (uint32_t i = 0; i < 10000; i += 3) a.add(i);
    for (uint32_t i = 0; i < 10000; i += 5) b.add(i);
    builder.AddBitmap(&a);
    builder.AddBitmap(&b);
    for (uint32_t i = 0; i < 10000; ++i) {
      if (i % 3 == 0 || i % 5 == 0) want.insert(i);
    }
    EXPECT_EQ(Ids(builder.Build()),
              std::vector<uint32_t>(want.begin(), want.end()))
        << max_id;
    // The builder starts over, in list mode.
    builder.AddIds({7, 9});
    EXPECT_THAT(Ids(builder.Build()), ElementsAre(7u, 9u));
  }
}

}  // namespace
}  // namespace segments
