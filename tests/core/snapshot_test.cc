// The snapshot room on its own: expiry resolution, the copy and its stored
// bytes, loading damaged rows, drift, and the set's view of time.
#include "core/snapshots/snapshot.h"

#include <string>
#include <vector>

#include "core/base/errors.h"
#include "core/index/bitmap_util.h"
#include "core/snapshots/snapshot_set.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace segments {
namespace {

using ::segments::testing::IsOk;
using ::segments::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::IsEmpty;
using ::testing::Optional;

constexpr UnixSeconds kNow = 1'800'000'000;
constexpr int64_t kDay = 86400;

std::vector<std::string> FieldsOf(const absl::Status& s) {
  std::vector<std::string> fields;
  for (const FieldViolation& v : GetFieldViolations(s)) {
    fields.push_back(v.field);
  }
  return fields;
}

TEST(ResolveExpireTime, DefaultIsSevenDays) {
  EXPECT_THAT(ResolveExpireTime({1, {}, {}}, kNow, Limits(), "snapshot"),
              ::segments::testing::IsOkAndHolds(kNow + 7 * kDay));
}

TEST(ResolveExpireTime, DefaultIsCappedByALowerLimit) {
  Limits limits;
  limits.max_snapshot_ttl_seconds = kDay;
  EXPECT_THAT(ResolveExpireTime({1, {}, {}}, kNow, limits, "snapshot"),
              ::segments::testing::IsOkAndHolds(kNow + kDay));
}

TEST(ResolveExpireTime, TtlAndExpireTimeWithinTheLimit) {
  const Limits limits;
  EXPECT_THAT(ResolveExpireTime({1, 60, {}}, kNow, limits, "snapshot"),
              ::segments::testing::IsOkAndHolds(kNow + 60));
  EXPECT_THAT(
      ResolveExpireTime({1, {}, kNow + 30 * kDay}, kNow, limits, "snapshot"),
      ::segments::testing::IsOkAndHolds(kNow + 30 * kDay));
}

TEST(ResolveExpireTime, BadTtlNamesItsField) {
  const Limits limits;
  for (int64_t ttl : {int64_t{0}, int64_t{-5}, 30 * kDay + 1}) {
    absl::StatusOr<UnixSeconds> r =
        ResolveExpireTime({1, ttl, {}}, kNow, limits, "snapshot");
    EXPECT_THAT(r, StatusIs(absl::StatusCode::kInvalidArgument)) << ttl;
    EXPECT_THAT(FieldsOf(r.status()), ElementsAre("snapshot.ttl")) << ttl;
  }
  absl::StatusOr<UnixSeconds> over =
      ResolveExpireTime({1, 30 * kDay + 1, {}}, kNow, limits, "snapshot");
  EXPECT_THAT(over.status().message(),
              ::testing::HasSubstr("max_snapshot_ttl"));
}

TEST(ResolveExpireTime, BadExpireTimeNamesItsField) {
  const Limits limits;
  for (UnixSeconds at : {kNow, kNow - 1, kNow + 30 * kDay + 1}) {
    absl::StatusOr<UnixSeconds> r =
        ResolveExpireTime({1, {}, at}, kNow, limits, "snapshot");
    EXPECT_THAT(r, StatusIs(absl::StatusCode::kInvalidArgument)) << at;
    EXPECT_THAT(FieldsOf(r.status()), ElementsAre("snapshot.expire_time"));
  }
}

SnapshotRecord RecordOf(SnapshotId id, UnixSeconds expire) {
  SnapshotRecord r;
  r.id = id;
  r.segment_id = 7;
  r.as_of_sequence = 3;
  r.create_time = kNow;
  r.expire_time = expire;
  return r;
}

TEST(MakeSnapshot, CopiesTheMembersAndStoresThemPortably) {
  Roaring live;
  live.addRange(1, 1001);
  SnapshotRecord stored;
  Snapshot s = MakeSnapshot(RecordOf(1, kNow + 10), live, &stored);
  live.remove(5);  // the live segment moves on
  live.add(5000);
  EXPECT_EQ(s.members.cardinality(), 1000u);
  EXPECT_TRUE(s.members.contains(5));
  EXPECT_EQ(s.record.member_count, 1000u);
  EXPECT_EQ(stored.member_count, 1000u);
  EXPECT_TRUE(s.record.members.empty());
  ASSERT_OK_AND_ASSIGN(Roaring back, DeserializeBitmap(stored.members));
  EXPECT_EQ(back, s.members);
  SnapshotRecord without_bytes = stored;
  without_bytes.members.clear();
  EXPECT_EQ(without_bytes, s.record);
}

TEST(LoadSnapshot, RoundTripsWhatMakeSnapshotStored) {
  Roaring live;
  live.addMany(3, std::vector<uint32_t>{2, 9, 40}.data());
  SnapshotRecord stored;
  const Snapshot made = MakeSnapshot(RecordOf(1, kNow + 10), live, &stored);
  ASSERT_OK_AND_ASSIGN(Snapshot loaded, LoadSnapshot(stored, 41));
  EXPECT_EQ(loaded.members, made.members);
  EXPECT_EQ(loaded.record, made.record);
}

TEST(LoadSnapshot, DamagedRowsAreDataLoss) {
  Roaring live;
  live.addRange(1, 100);
  SnapshotRecord stored;
  MakeSnapshot(RecordOf(4, kNow + 10), live, &stored);

  SnapshotRecord truncated = stored;
  truncated.members.resize(truncated.members.size() - 1);
  SnapshotRecord miscounted = stored;
  miscounted.member_count = 98;
  SnapshotRecord garbage = stored;
  garbage.members = "not a bitmap";
  for (const SnapshotRecord& r : {truncated, miscounted, garbage}) {
    EXPECT_THAT(LoadSnapshot(r, 1000),
                StatusIs(absl::StatusCode::kDataLoss,
                         ::testing::HasSubstr("snapshots row id=4")));
  }
  // Contact 99 was never handed out if the next id is 99.
  EXPECT_THAT(LoadSnapshot(stored, 99), StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_THAT(LoadSnapshot(stored, 100), IsOk());
}

TEST(DriftOf, CountsLeftAndEnteredAgainstTheLiveMembers) {
  Roaring frozen, live;
  frozen.addRange(1, 11);  // 1..10
  live.addRange(6, 16);    // 6..15
  const SnapshotDrift drift = DriftOf(frozen, &live);
  EXPECT_EQ(drift.left, 5u);
  EXPECT_EQ(drift.entered, 5u);
  const SnapshotDrift gone = DriftOf(frozen, nullptr);
  EXPECT_EQ(gone.left, 10u);
  EXPECT_EQ(gone.entered, 0u);
}

TEST(SnapshotSet, ExpiredSnapshotsAreInvisibleFromTheirExpireTime) {
  SnapshotSet set;
  SnapshotRecord stored;
  set.Install(MakeSnapshot(RecordOf(1, kNow + 10), Roaring(), &stored));
  set.Install(MakeSnapshot(RecordOf(2, kNow + 20), Roaring(), &stored));
  set.Install(MakeSnapshot(RecordOf(3, kNow + 30), Roaring(), &stored));

  EXPECT_NE(set.FindLive(1, kNow + 9), nullptr);
  EXPECT_EQ(set.FindLive(1, kNow + 10), nullptr);
  EXPECT_EQ(set.FindLive(9, kNow), nullptr);
  EXPECT_EQ(set.CountLive(kNow + 10), 2u);
  EXPECT_THAT(set.Expired(kNow + 20), ElementsAre(1, 2));
  EXPECT_THAT(set.Expired(kNow), IsEmpty());
  EXPECT_THAT(set.EarliestExpiry(), Optional(kNow + 10));
  EXPECT_EQ(set.size(), 3u);

  const Page<const Snapshot*> page = set.ListLive(0, 1, kNow + 10);
  ASSERT_EQ(page.items.size(), 1u);
  EXPECT_EQ(page.items[0]->record.id, 2u);
  EXPECT_TRUE(page.more);
  const Page<const Snapshot*> rest = set.ListLive(2, 1, kNow + 10);
  ASSERT_EQ(rest.items.size(), 1u);
  EXPECT_EQ(rest.items[0]->record.id, 3u);
  EXPECT_FALSE(rest.more);

  set.Remove(1);
  EXPECT_THAT(set.EarliestExpiry(), Optional(kNow + 20));
  set.Remove(2);
  set.Remove(3);
  EXPECT_EQ(set.EarliestExpiry(), std::nullopt);
}

}  // namespace
}  // namespace segments
