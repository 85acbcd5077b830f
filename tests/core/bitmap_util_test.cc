// Tests of core/index/bitmap_util.cc: the portable serialization (frozen
// memberships are stored in it), its refusal of bytes that are not one, and
// MembersAfter, which pages every member listing.
#include "core/index/bitmap_util.h"

#include <cstdint>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace segments {
namespace {

using ::segments::testing::IsOk;
using ::segments::testing::IsOkAndHolds;
using ::segments::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

Roaring Of(std::vector<uint32_t> ids) {
  return Roaring(ids.size(), ids.data());
}

// Bitmaps holding each kind of container: arrays, bitmaps (> 4096 in one
// container), runs (after runOptimize), over several containers, up to the
// largest id.
std::vector<Roaring> Samples() {
  std::vector<Roaring> out;
  out.push_back(Roaring());
  out.push_back(Of({0}));
  out.push_back(Of({UINT32_MAX}));
  out.push_back(Of({1, 2, 3, 65535, 65536, 1u << 20, UINT32_MAX}));
  Roaring dense;
  for (uint32_t i = 0; i < 100000; i += 3) dense.add(i);
  out.push_back(dense);
  Roaring runs;
  runs.addRange(10, 200000);
  runs.addRange(UINT32_MAX - 100000, UINT32_MAX);
  runs.add(UINT32_MAX);
  runs.runOptimize();
  out.push_back(runs);
  std::mt19937 rng(7);
  Roaring random;
  for (int i = 0; i < 20000; ++i) random.add(rng());
  random.runOptimize();
  out.push_back(random);
  return out;
}

TEST(SerializeBitmap, RoundTrips) {
  for (const Roaring& r : Samples()) {
    const std::string bytes = SerializeBitmap(r);
    EXPECT_EQ(bytes.size(), r.getSizeInBytes(/*portable=*/true));
    EXPECT_THAT(DeserializeBitmap(bytes), IsOkAndHolds(r))
        << r.cardinality() << " members";
  }
}

// The format other Roaring implementations read: cookie 12346 (no run
// containers), one container, key 0 with cardinality - 1 = 2, the offset of
// its data (16), then the three 16-bit values; all little-endian.
TEST(SerializeBitmap, IsThePortableFormat) {
  const std::string expected(
      "\x3a\x30\x00\x00"  // cookie
      "\x01\x00\x00\x00"  // containers
      "\x00\x00\x02\x00"  // key 0, cardinality 3
      "\x10\x00\x00\x00"  // offset 16
      "\x01\x00\x02\x00\x03\x00",
      22);
  EXPECT_EQ(SerializeBitmap(Of({1, 2, 3})), expected);
  EXPECT_THAT(DeserializeBitmap(expected), IsOkAndHolds(Of({1, 2, 3})));
}

// A segment that was never frozen stores no bytes at all.
TEST(DeserializeBitmap, NoBytesIsTheEmptyBitmap) {
  ASSERT_OK_AND_ASSIGN(Roaring r, DeserializeBitmap(""));
  EXPECT_TRUE(r.isEmpty());
  EXPECT_THAT(DeserializeBitmap(SerializeBitmap(Roaring())),
              IsOkAndHolds(Roaring()));
}

// CRoaring 0.2.66 trusts its input unless asked for the bounded read: every
// truncation must be refused, not read past the end.
TEST(DeserializeBitmap, RefusesEveryTruncation) {
  for (const Roaring& r : Samples()) {
    const std::string bytes = SerializeBitmap(r);
    // Every prefix of the small ones, a spread of prefixes of the big ones.
    const size_t step = bytes.size() < 2000 ? 1 : bytes.size() / 997;
    for (size_t n = 1; n < bytes.size(); n += step) {
      // A copy of exactly n bytes, so that a read past it is a heap
      // overflow the sanitizers see.
      const std::string prefix = bytes.substr(0, n);
      EXPECT_THAT(DeserializeBitmap(prefix),
                  StatusIs(absl::StatusCode::kDataLoss))
          << n << " of " << bytes.size() << " bytes";
    }
    EXPECT_THAT(DeserializeBitmap(bytes.substr(0, bytes.size() - 1)),
                StatusIs(absl::StatusCode::kDataLoss));
  }
}

TEST(DeserializeBitmap, RefusesTrailingBytes) {
  for (const Roaring& r : Samples()) {
    EXPECT_THAT(DeserializeBitmap(SerializeBitmap(r) + '\0'),
                StatusIs(absl::StatusCode::kDataLoss));
    EXPECT_THAT(DeserializeBitmap(SerializeBitmap(r) + SerializeBitmap(r)),
                StatusIs(absl::StatusCode::kDataLoss));
  }
}

TEST(DeserializeBitmap, RefusesWhatIsNotARoaringBitmap) {
  for (const std::string& bytes :
       {std::string("x"), std::string("\0", 1), std::string(4, '\0'),
        std::string(64, '\0'), std::string(64, '\xff'),
        std::string("[1, 2, 3]"), std::string("\x3b\x30\x00\x00", 4)}) {
    EXPECT_THAT(DeserializeBitmap(bytes), StatusIs(absl::StatusCode::kDataLoss))
        << ::testing::PrintToString(bytes);
  }
}

// A header that claims more containers, or a larger container, than the
// bytes hold.
TEST(DeserializeBitmap, RefusesHeadersPromisingMoreThanTheBytes) {
  std::string many = SerializeBitmap(Of({1, 2, 3}));
  many[4] = '\xff';  // 255 containers
  EXPECT_THAT(DeserializeBitmap(many), StatusIs(absl::StatusCode::kDataLoss));
  std::string big = SerializeBitmap(Of({1, 2, 3}));
  big[10] = '\x00';
  big[11] = '\x10';  // cardinality 4097: a 8 KiB bitset container
  EXPECT_THAT(DeserializeBitmap(big), StatusIs(absl::StatusCode::kDataLoss));
}

// Containers whose contents contradict the format, which CRoaring 0.2.66
// would take as they are (and then answer contains() wrongly).
TEST(DeserializeBitmap, RefusesInconsistentContainers) {
  // Header of one array container with 3 members at offset 16, then the
  // members: out of order, repeated.
  const std::string header(
      "\x3a\x30\x00\x00\x01\x00\x00\x00"
      "\x00\x00\x02\x00\x10\x00\x00\x00",
      16);
  EXPECT_THAT(
      DeserializeBitmap(header + std::string("\x01\x00\x02\x00\x03\x00", 6)),
      IsOkAndHolds(Of({1, 2, 3})));
  EXPECT_THAT(
      DeserializeBitmap(header + std::string("\x03\x00\x02\x00\x01\x00", 6)),
      StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_THAT(
      DeserializeBitmap(header + std::string("\x01\x00\x01\x00\x02\x00", 6)),
      StatusIs(absl::StatusCode::kDataLoss));
  // Two containers with their keys out of order.
  std::string keys = SerializeBitmap(Of({1, 65536 + 1}));
  ASSERT_EQ(keys.substr(0, 4), std::string("\x3a\x30\x00\x00", 4));
  std::swap(keys[8], keys[12]);  // key 0 <-> key 1
  EXPECT_THAT(DeserializeBitmap(keys), StatusIs(absl::StatusCode::kDataLoss));
  // A bitset container (more than 4096 members) whose header claims one
  // member fewer than its bits hold.
  Roaring dense;
  for (uint32_t i = 0; i < 10000; i += 2) dense.add(i);
  std::string bitset = SerializeBitmap(dense);
  ASSERT_EQ(bitset.substr(0, 4), std::string("\x3a\x30\x00\x00", 4));
  ASSERT_EQ(bitset.substr(8, 4),
            std::string("\x00\x00\x87\x13", 4));  // 5000 - 1
  bitset[10] = '\x86';
  EXPECT_THAT(DeserializeBitmap(bitset), StatusIs(absl::StatusCode::kDataLoss));
}

// A run container whose run reaches past its 2^16 values (found by
// tests/fuzz/stored_rows_fuzzer.cc): CRoaring 0.2.66 takes it, and lists
// members that contains() then denies.
TEST(DeserializeBitmap, RefusesARunPastItsContainer) {
  // One run container (key 0, 11 members): the run 65530..65540.
  const std::string run(
      "\x3b\x30\x00\x00"   // cookie with runs, 1 container
      "\x01"               // container 0 is a run container
      "\x00\x00\x0a\x00"   // key 0, cardinality 11
      "\x01\x00"           // 1 run
      "\xfa\xff\x0a\x00",  // from 65530, 10 more
      15);
  EXPECT_THAT(DeserializeBitmap(run), StatusIs(absl::StatusCode::kDataLoss));
  // The same run ending at 65535 is fine.
  std::string fits = run;
  fits[13] = '\x05';  // 65530..65535
  fits[7] = '\x05';
  Roaring expected;
  expected.addRange(65530, 65536);
  EXPECT_THAT(DeserializeBitmap(fits), IsOkAndHolds(expected));
}

// A run container of no runs (found by tests/fuzz/stored_rows_fuzzer.cc):
// CRoaring 0.2.66 takes it, and its iterator then dereferences a null
// pointer.
TEST(DeserializeBitmap, RefusesAnEmptyContainer) {
  const std::string empty_run(
      "\x3b\x30\x01\x00"  // cookie with runs, 2 containers
      "\x01"              // container 0 is a run container
      "\x00\x00\x00\x00"  // key 0, cardinality 1
      "\x01\x00\x00\x00"  // key 1, cardinality 1
      "\x00\x00"          // container 0: no runs
      "\x05\x00",         // container 1: an array holding 5
      17);
  EXPECT_THAT(DeserializeBitmap(empty_run),
              StatusIs(absl::StatusCode::kDataLoss));
}

// ---------------------------------------------------------------------------
// MembersAfter

std::vector<uint32_t> After(const Roaring& r, uint32_t after, size_t limit,
                            bool* more) {
  *more = !*more;  // MembersAfter must set it either way
  return MembersAfter(r, after, limit, more);
}

TEST(MembersAfter, IsExclusiveAscendingAndLimited) {
  const Roaring r = Of({0, 1, 5, 9, 70000, UINT32_MAX});
  bool more = false;
  EXPECT_THAT(After(r, 0, 10, &more), ElementsAre(1, 5, 9, 70000, UINT32_MAX));
  EXPECT_FALSE(more);
  EXPECT_THAT(After(r, 1, 2, &more), ElementsAre(5, 9));
  EXPECT_TRUE(more);
  EXPECT_THAT(After(r, 4, 2, &more), ElementsAre(5, 9));
  EXPECT_TRUE(more);
  // Exactly the rest: nothing follows.
  EXPECT_THAT(After(r, 9, 2, &more), ElementsAre(70000, UINT32_MAX));
  EXPECT_FALSE(more);
  EXPECT_THAT(After(r, UINT32_MAX - 1, 5, &more), ElementsAre(UINT32_MAX));
  EXPECT_FALSE(more);
  EXPECT_THAT(After(r, UINT32_MAX, 5, &more), IsEmpty());
  EXPECT_FALSE(more);
  EXPECT_THAT(After(r, 70000, 0, &more), IsEmpty());
  EXPECT_TRUE(more);  // a limit of 0 still says whether members follow
  EXPECT_THAT(After(r, UINT32_MAX, 0, &more), IsEmpty());
  EXPECT_FALSE(more);
  EXPECT_THAT(After(Roaring(), 0, 10, &more), IsEmpty());
  EXPECT_FALSE(more);
}

// Paging with each page's last member as the next `after` lists every
// member once.
TEST(MembersAfter, PagesCoverEveryMemberOnce) {
  std::mt19937 rng(11);
  Roaring r;
  for (int i = 0; i < 5000; ++i) r.add(rng() % 200000 + 1);
  r.addRange(300000, 310000);  // a run container
  r.runOptimize();
  for (size_t page_size : {1u, 7u, 1000u, 100000u}) {
    std::vector<uint32_t> all;
    uint32_t after = 0;
    bool more = true;
    int pages = 0;
    while (more) {
      std::vector<uint32_t> page = MembersAfter(r, after, page_size, &more);
      ASSERT_LE(page.size(), page_size);
      if (more) {
        ASSERT_EQ(page.size(), page_size);
      }
      if (page.empty()) break;
      all.insert(all.end(), page.begin(), page.end());
      after = page.back();
      ASSERT_LT(++pages, 100000);
    }
    std::vector<uint32_t> want(r.cardinality());
    r.toUint32Array(want.data());
    EXPECT_EQ(all, want) << page_size;
  }
}

}  // namespace
}  // namespace segments
