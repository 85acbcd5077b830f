#include "storage/sqlite_workspace_store.h"

#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/model/filter.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/workspace_rows.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/store_helpers.h"
#include "tests/testing/temp_dir.h"

namespace segments {
namespace {

using ::segments::testing::IsOk;
using ::segments::testing::IsOkAndHolds;
using ::segments::testing::StatusIs;
using ::segments::testing::TempDir;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

// Runs `sql` on its own connection, behind the store's back.
void RawExec(const std::string& path, const std::string& sql) {
  ASSERT_OK_AND_ASSIGN(auto db, SqliteDb::Open(path, false, 1000));
  ASSERT_OK(db->Exec(sql));
}

Contact FullContact(ContactId id) {
  Contact c;
  c.id = id;
  c.email = absl::StrCat("user", id, "@example.com");
  c.company = "Acme, \"Inc.\"";
  c.job_title = "Head of 'Quotes' \\ Backslashes";
  c.country = "DE";
  c.city = "Zürich";
  c.source = "import\nmultiline";
  c.tags = {"a,b",
            "[json]",
            "back\\slash",
            "emoji 🎉",
            "quote\"d",
            "tab\there",
            std::string("ctl\x01", 4),
            "ünï"};
  std::sort(c.tags.begin(), c.tags.end());
  c.lifecycle_stage = LifecycleStage::kSql;
  c.lead_score = std::numeric_limits<int32_t>::min();
  c.engagement_score = 100;
  c.engagement_trend = EngagementTrend::kDeclining;
  c.conversion_likelihood = ConversionLikelihood::kVeryLikely;
  c.created_at = kMinTimestamp;  // 0001-01-01: a historical import
  c.last_engaged_at = kMaxTimestamp;
  return c;
}

Contact MinimalContact(ContactId id) {
  Contact c;
  c.id = id;
  c.email = absl::StrCat("min", id, "@example.com");
  c.created_at = -1;  // 1969-12-31T23:59:59Z
  return c;
}

Filter MakeFilter() {
  FilterSpec spec;
  spec.match = 1;  // ALL
  spec.conditions.push_back({"country", 1 /*EQUALS*/, {std::string("de")}});
  spec.conditions.push_back(
      {"tags", 14 /*HAS_ANY*/, {std::string("vip"), std::string("a,b")}});
  spec.conditions.push_back({"lead_score", 9 /*GREATER_THAN*/, {int64_t{-5}}});
  spec.conditions.push_back({"created_at",
                             13 /*BETWEEN*/,
                             {TimestampValue{-1000}, TimestampValue{1000}}});
  absl::StatusOr<Filter> f = ValidateFilter(spec, "filter");
  EXPECT_OK(f);
  return f.ok() ? *f : Filter{};
}

SegmentRecord MakeSegment(SegmentId id) {
  SegmentRecord s;
  s.id = id;
  s.display_name = absl::StrCat("Segment ", id, " — ünïcødé");
  s.filter = MakeFilter();
  s.state = SegmentState::kActive;
  s.create_time = 1700000000;
  s.update_time = 1700000100;
  return s;
}

MembershipChange MakeChange(uint64_t seq) {
  MembershipChange c;
  c.sequence = seq;
  c.segment_id = 1 + seq % 3;
  c.contact_id = static_cast<ContactId>(100 + seq);
  c.kind = seq % 2 ? ChangeKind::kEntered : ChangeKind::kLeft;
  c.cause = static_cast<ChangeCause>(1 + seq % 5);
  c.time = 1700000000 + static_cast<int64_t>(seq);
  return c;
}

class SqliteWorkspaceStoreTest : public ::testing::Test {
 protected:
  // Each damage, done to the file by hand, fails the next load with
  // DATA_LOSS naming `expected`; its repair makes the file load again.
  struct Damage {
    const char* damage;
    const char* repair;
    const char* expected;
  };
  template <size_t N>
  void ExpectEachDamageIsDataLoss(const Damage (&cases)[N]) {
    for (const Damage& c : cases) {
      SCOPED_TRACE(c.damage);
      RawExec(path(), c.damage);
      EXPECT_THAT(LoadAll(*Open()),
                  StatusIs(absl::StatusCode::kDataLoss, HasSubstr(c.expected)));
      RawExec(path(), c.repair);
      EXPECT_OK(LoadAll(*Open()));
    }
  }
  std::string path() const { return dir_.path() + "/ws.db"; }
  std::unique_ptr<SqliteWorkspaceStore> Open(SqliteOptions options = {}) {
    absl::StatusOr<std::unique_ptr<SqliteWorkspaceStore>> s =
        SqliteWorkspaceStore::Open(path(), options);
    EXPECT_OK(s);
    return s.ok() ? *std::move(s) : nullptr;
  }
  // Everything the store holds, for before/after comparisons.
  struct Snapshot {
    WorkspaceData data;
    std::vector<MembershipChange> changes;
  };
  Snapshot Read(SqliteWorkspaceStore& store) {
    Snapshot s;
    absl::StatusOr<WorkspaceData> data = LoadAll(store);
    EXPECT_OK(data);
    if (data.ok()) s.data = *std::move(data);
    absl::StatusOr<std::vector<MembershipChange>> changes =
        store.ReadChanges(0, 1 << 20);
    EXPECT_OK(changes);
    if (changes.ok()) s.changes = *std::move(changes);
    return s;
  }
  static void ExpectSame(const Snapshot& a, const Snapshot& b) {
    EXPECT_EQ(a.data.contacts, b.data.contacts);
    EXPECT_EQ(a.data.segments, b.data.segments);
    EXPECT_EQ(a.data.counters, b.data.counters);
    EXPECT_EQ(a.changes, b.changes);
  }

  TempDir dir_;
};

TEST_F(SqliteWorkspaceStoreTest, NewStoreIsEmptyWithDefaultCounters) {
  auto store = Open();
  ASSERT_OK_AND_ASSIGN(WorkspaceData data, LoadAll(*store));
  EXPECT_THAT(data.contacts, IsEmpty());
  EXPECT_THAT(data.segments, IsEmpty());
  EXPECT_EQ(data.counters, WorkspaceCounters{});
  EXPECT_THAT(store->ReadChanges(0, 10), IsOkAndHolds(IsEmpty()));
}

TEST_F(SqliteWorkspaceStoreTest, RoundTripsEveryContactFieldAcrossReopen) {
  WorkspaceWrite w;
  w.put_contacts = {MinimalContact(1), FullContact(2), MinimalContact(7)};
  w.put_contacts[2].company = "x";  // one optional string set, the others unset
  w.put_contacts[2].last_engaged_at = 0;  // the epoch is a value, not "unset"
  w.put_contacts[2].lead_score = -1;
  w.counters = {8, 1, 0};
  ASSERT_OK(Open()->Commit(w));

  auto store = Open();  // from disk
  ASSERT_OK_AND_ASSIGN(WorkspaceData data, LoadAll(*store));
  EXPECT_EQ(data.contacts, w.put_contacts);
  EXPECT_EQ(data.counters, w.counters);
  EXPECT_FALSE(data.contacts[0].last_engaged_at.has_value());
  EXPECT_EQ(data.contacts[0].engagement_trend, EngagementTrend::kUnset);
}

TEST_F(SqliteWorkspaceStoreTest, LoadReturnsAscendingIds) {
  auto store = Open();
  WorkspaceWrite w;
  for (ContactId id : {9u, 3u, 5u})
    w.put_contacts.push_back(MinimalContact(id));
  for (SegmentId id : {4u, 2u}) w.put_segments.push_back(MakeSegment(id));
  w.counters = {10, 5, 0};
  ASSERT_OK(store->Commit(w));
  ASSERT_OK_AND_ASSIGN(WorkspaceData data, LoadAll(*store));
  ASSERT_THAT(data.contacts, SizeIs(3));
  EXPECT_EQ(data.contacts[0].id, 3u);
  EXPECT_EQ(data.contacts[2].id, 9u);
  ASSERT_THAT(data.segments, SizeIs(2));
  EXPECT_EQ(data.segments[0].id, 2u);
}

TEST_F(SqliteWorkspaceStoreTest,
       RoundTripsSegmentsWithFiltersAndFrozenMembers) {
  SegmentRecord active = MakeSegment(1);
  SegmentRecord restricted = MakeSegment(2);
  restricted.state = SegmentState::kPlanRestricted;
  restricted.frozen_members = std::string("\x3a\x30\0\0\x01\0\0\0\xff", 9);
  restricted.frozen_as_of = 42;
  WorkspaceWrite w;
  w.put_segments = {active, restricted};
  w.counters = {1, 3, 42};
  ASSERT_OK(Open()->Commit(w));

  auto store = Open();
  ASSERT_OK_AND_ASSIGN(WorkspaceData data, LoadAll(*store));
  EXPECT_EQ(data.segments, w.put_segments);
  EXPECT_EQ(data.segments[1].frozen_members.size(), 9u);

  // Replace by id: rename, new filter, back to active.
  SegmentRecord updated = restricted;
  updated.display_name = "renamed";
  updated.state = SegmentState::kActive;
  updated.frozen_members.clear();
  updated.filter.match = Match::kAny;
  WorkspaceWrite w2;
  w2.put_segments = {updated};
  w2.counters = w.counters;
  ASSERT_OK(store->Commit(w2));
  ASSERT_OK_AND_ASSIGN(data, LoadAll(*Open()));
  EXPECT_THAT(data.segments, ElementsAre(active, updated));
}

TEST_F(SqliteWorkspaceStoreTest, UpsertReplacesAndDeleteRemoves) {
  auto store = Open();
  WorkspaceWrite w;
  w.put_contacts = {FullContact(1), MinimalContact(2), MinimalContact(3)};
  w.put_segments = {MakeSegment(1), MakeSegment(2)};
  w.counters = {5, 3, 0};
  ASSERT_OK(store->Commit(w));

  Contact changed = FullContact(1);
  changed.tags.clear();
  changed.company.clear();
  changed.last_engaged_at.reset();
  changed.engagement_trend = EngagementTrend::kUnset;
  WorkspaceWrite w2;
  w2.put_contacts = {changed, MinimalContact(4)};
  w2.deleted_contacts = {2, 4,
                         99};  // 4: put and deleted in one write; 99: absent
  w2.deleted_segments = {2, 77};
  w2.counters = w.counters;
  ASSERT_OK(store->Commit(w2));

  ASSERT_OK_AND_ASSIGN(WorkspaceData data, LoadAll(*Open()));
  EXPECT_THAT(data.contacts, ElementsAre(changed, MinimalContact(3)));
  EXPECT_THAT(data.segments, ElementsAre(MakeSegment(1)));
}

TEST_F(SqliteWorkspaceStoreTest, ChangeLogAppendsAndPages) {
  auto store = Open();
  uint64_t seq = 0;
  for (int commit = 0; commit < 5; ++commit) {
    WorkspaceWrite w;
    std::vector<MembershipChange> events;
    for (int i = 0; i < 50; ++i) events.push_back(MakeChange(++seq));
    w.changes = GroupIntoRuns(events);
    w.counters.last_sequence = seq;
    ASSERT_OK(store->Commit(w));
  }
  std::vector<MembershipChange> all;
  uint64_t after = 0;
  while (true) {
    ASSERT_OK_AND_ASSIGN(auto page, store->ReadChanges(after, 64));
    if (page.empty()) break;
    EXPECT_LE(page.size(), 64u);
    after = page.back().sequence;
    all.insert(all.end(), page.begin(), page.end());
  }
  ASSERT_THAT(all, SizeIs(250));
  for (uint64_t i = 0; i < 250; ++i) EXPECT_EQ(all[i], MakeChange(i + 1));

  EXPECT_THAT(store->ReadChanges(240, 100), IsOkAndHolds(SizeIs(10)));
  EXPECT_THAT(store->ReadChanges(250, 100), IsOkAndHolds(IsEmpty()));
  EXPECT_THAT(store->ReadChanges(0, 0), IsOkAndHolds(IsEmpty()));
  EXPECT_THAT(store->ReadChanges(std::numeric_limits<uint64_t>::max(), 10),
              IsOkAndHolds(IsEmpty()));
  ASSERT_OK_AND_ASSIGN(
      auto huge, store->ReadChanges(0, std::numeric_limits<size_t>::max()));
  EXPECT_THAT(huge, SizeIs(250));
  ASSERT_OK_AND_ASSIGN(WorkspaceData data, LoadAll(*Open()));
  EXPECT_EQ(data.counters.last_sequence, 250u);
}

// Runs of 10 events each, 10 s apart: sequences 1..10 at t0, 11..20 at
// t0 + 10, ...
void CommitRuns(WorkspaceStore& store, int runs) {
  WorkspaceWrite w;
  for (int r = 0; r < runs; ++r) {
    ChangeRun run{static_cast<uint64_t>(r) * 10 + 1,
                  static_cast<SegmentId>(1 + r % 2),
                  ChangeKind::kEntered,
                  ChangeCause::kContactChanged,
                  1700000000 + r * 10,
                  {}};
    for (int i = 0; i < 10; ++i) {
      run.contact_ids.push_back(static_cast<ContactId>(1 + r * 10 + i));
    }
    w.changes.push_back(run);
  }
  w.counters.last_sequence = static_cast<uint64_t>(runs) * 10;
  ASSERT_OK(store.Commit(w));
}

TEST_F(SqliteWorkspaceStoreTest, ChangeRunsAreReadAsRunsFromAnySequence) {
  auto store = Open();
  CommitRuns(*store, 5);
  ASSERT_OK_AND_ASSIGN(std::vector<MembershipChange> events,
                       store->ReadChanges(0, 1000));
  for (uint64_t after : {0, 3, 10, 27, 49, 50}) {
    for (size_t max : {1, 4, 10, 15, 100}) {
      ASSERT_OK_AND_ASSIGN(std::vector<ChangeRun> runs,
                           store->ReadChangeRuns(after, max));
      const std::vector<MembershipChange> got = ExpandRuns(runs);
      const size_t n = std::min<size_t>(max, 50 - after);
      EXPECT_EQ(got,
                std::vector<MembershipChange>(
                    events.begin() + static_cast<std::ptrdiff_t>(after),
                    events.begin() + static_cast<std::ptrdiff_t>(after + n)))
          << "after " << after << ", at most " << max;
      // Never more runs than the stored ones they come from.
      EXPECT_LE(runs.size(), (n + 9) / 10 + 1);
    }
  }
}

TEST_F(SqliteWorkspaceStoreTest, PruningDeletesTheOldestRunsOnly) {
  auto store = Open();
  EXPECT_THAT(store->ReadRetention(), IsOkAndHolds(LogRetention{1, 0}));
  CommitRuns(*store, 5);  // times t0 .. t0 + 40
  const UnixSeconds t0 = 1700000000;
  // Before t0 + 25: the runs at t0, t0 + 10, t0 + 20, but at most two.
  EXPECT_THAT(store->PruneChanges(t0 + 25, 2),
              IsOkAndHolds(LogRetention{21, t0 + 11}));
  EXPECT_THAT(store->PruneChanges(t0 + 25, 2),
              IsOkAndHolds(LogRetention{31, t0 + 21}));
  // Nothing more is that old.
  EXPECT_THAT(store->PruneChanges(t0 + 25, 2),
              IsOkAndHolds(LogRetention{31, t0 + 21}));
  ASSERT_OK_AND_ASSIGN(std::vector<MembershipChange> left,
                       store->ReadChanges(0, 1000));
  ASSERT_THAT(left, SizeIs(20));
  EXPECT_EQ(left.front().sequence, 31u);
  // Kept across a reopen; everything pruned leaves the next sequence.
  store = Open();
  EXPECT_THAT(store->ReadRetention(), IsOkAndHolds(LogRetention{31, t0 + 21}));
  EXPECT_THAT(store->PruneChanges(t0 + 1000, 100),
              IsOkAndHolds(LogRetention{51, t0 + 41}));
  EXPECT_THAT(store->ReadChangeRuns(0, 10), IsOkAndHolds(IsEmpty()));
  ASSERT_OK_AND_ASSIGN(WorkspaceData data, LoadAll(*Open()));
  EXPECT_EQ(data.counters.last_sequence, 50u);
}

TEST_F(SqliteWorkspaceStoreTest,
       ASegmentDeletionIsStoredAsOneEventOfNoContact) {
  auto store = Open();
  WorkspaceWrite w;
  w.changes.push_back({1,
                       7,
                       ChangeKind::kSegmentDeleted,
                       ChangeCause::kRulesChanged,
                       1700000000,
                       {0}});
  w.counters.last_sequence = 1;
  ASSERT_OK(store->Commit(w));
  EXPECT_THAT(Open()->ReadChangeRuns(0, 10),
              IsOkAndHolds(ElementsAre(w.changes[0])));
  // Anything else is refused: two events, or a contact.
  WorkspaceWrite bad = w;
  bad.changes[0] = {2,
                    7,
                    ChangeKind::kSegmentDeleted,
                    ChangeCause::kRulesChanged,
                    1700000000,
                    {0, 0}};
  bad.counters.last_sequence = 3;
  EXPECT_THAT(store->Commit(bad), StatusIs(absl::StatusCode::kInternal));
  bad.changes[0].contact_ids = {5};
  bad.counters.last_sequence = 2;
  EXPECT_THAT(store->Commit(bad), StatusIs(absl::StatusCode::kInternal));
}

TEST_F(SqliteWorkspaceStoreTest, CountersRoundTrip) {
  WorkspaceWrite w;
  w.counters.next_contact_id = std::numeric_limits<ContactId>::max();
  w.counters.next_segment_id = uint64_t{1} << 40;
  w.counters.last_sequence = (uint64_t{1} << 62) + 3;
  ASSERT_OK(Open()->Commit(w));
  ASSERT_OK_AND_ASSIGN(WorkspaceData data, LoadAll(*Open()));
  EXPECT_EQ(data.counters, w.counters);
}

// A commit writes only the counters that differ from the stored ones (the
// store remembers them from the load and from each commit that succeeded):
// each is stored when it alone changes, and a failed commit's counters are
// not taken for stored ones.
TEST_F(SqliteWorkspaceStoreTest, EachCounterIsStoredWhenItAloneChanges) {
  auto store = Open();
  ASSERT_OK_AND_ASSIGN(WorkspaceData loaded, LoadAll(*store));
  WorkspaceWrite w;
  w.counters = loaded.counters;
  const std::function<void(WorkspaceCounters&)> moves[] = {
      [](WorkspaceCounters& c) { c.next_contact_id += 3; },
      [](WorkspaceCounters& c) { c.next_segment_id += 5; },
      [](WorkspaceCounters& c) { c.last_sequence += 7; },
      [](WorkspaceCounters& c) { c.time_applied_until += 11; },
      [](WorkspaceCounters& c) { c.next_snapshot_id += 13; },
  };
  for (const auto& move : moves) {
    move(w.counters);
    ASSERT_OK(store->Commit(w));
    ASSERT_OK_AND_ASSIGN(WorkspaceData data, LoadAll(*Open()));
    EXPECT_EQ(data.counters, w.counters);
  }
  // Fails on its change run's sequence (taken), after every counter moved.
  WorkspaceWrite first = w;
  first.changes = GroupIntoRuns({MakeChange(1)});
  ASSERT_OK(store->Commit(first));
  WorkspaceWrite bad = first;
  for (const auto& move : moves) move(bad.counters);
  EXPECT_THAT(store->Commit(bad), StatusIs(absl::StatusCode::kInternal));
  // The same counters without the bad run: all of them are written.
  bad.changes.clear();
  ASSERT_OK(store->Commit(bad));
  ASSERT_OK_AND_ASSIGN(WorkspaceData data, LoadAll(*Open()));
  EXPECT_EQ(data.counters, bad.counters);
}

TEST_F(SqliteWorkspaceStoreTest, FailedCommitLeavesEverythingAsBefore) {
  auto store = Open();
  WorkspaceWrite base;
  base.put_contacts = {FullContact(1), MinimalContact(2)};
  base.put_segments = {MakeSegment(1)};
  base.changes = GroupIntoRuns({MakeChange(1), MakeChange(2)});
  base.counters = {3, 2, 2};
  ASSERT_OK(store->Commit(base));
  const Snapshot before = Read(*store);

  // Touches every table, then fails on its last row: sequence 2 is taken.
  WorkspaceWrite bad;
  Contact changed = FullContact(1);
  changed.email = "changed@example.com";
  bad.put_contacts = {changed, MinimalContact(3)};
  bad.deleted_contacts = {2};
  bad.put_segments = {MakeSegment(2)};
  bad.deleted_segments = {1};
  bad.changes = GroupIntoRuns({MakeChange(3), MakeChange(4), MakeChange(2)});
  bad.counters = {4, 3, 4};
  EXPECT_THAT(store->Commit(bad),
              StatusIs(absl::StatusCode::kInternal,
                       HasSubstr("UNIQUE constraint failed")));

  ExpectSame(Read(*store), before);
  auto reopened = Open();
  ExpectSame(Read(*reopened), before);
  reopened.reset();

  // The store is still usable after the failure.
  bad.changes.pop_back();
  ASSERT_OK(store->Commit(bad));
  const Snapshot after = Read(*store);
  EXPECT_THAT(after.data.contacts, ElementsAre(changed, MinimalContact(3)));
  EXPECT_THAT(after.changes, SizeIs(4));
}

// CommitCompleting stores the changes `complete` finds while the contacts
// are written, in the same transaction: a failure in them (or a change that
// could not be loaded back) leaves the contacts unstored too.
TEST_F(SqliteWorkspaceStoreTest, CommitCompletingStoresTheCompletedWrite) {
  auto store = Open();
  WorkspaceWrite base;
  base.put_contacts = {FullContact(1)};
  base.changes = GroupIntoRuns({MakeChange(1), MakeChange(2)});
  base.counters = {2, 1, 2};
  ASSERT_OK(store->Commit(base));
  const Snapshot before = Read(*store);

  auto write_with = [](std::vector<MembershipChange> changes) {
    WorkspaceWrite w;
    w.put_contacts = {MinimalContact(2), MinimalContact(3)};
    w.counters = {4, 1, 2};
    return std::make_pair(w, std::move(changes));
  };
  int completions = 0;
  auto commit =
      [&](std::pair<WorkspaceWrite, std::vector<MembershipChange>> w) {
        return store->CommitCompleting(&w.first, [&] {
          ++completions;
          w.first.changes = GroupIntoRuns(w.second);
          w.first.counters.last_sequence = w.second.back().sequence;
        });
      };
  EXPECT_THAT(commit(write_with({MakeChange(3), MakeChange(2)})),
              StatusIs(absl::StatusCode::kInternal,
                       HasSubstr("UNIQUE constraint failed")));
  ExpectSame(Read(*store), before);
  std::vector<MembershipChange> unloadable = {MakeChange(3)};
  unloadable[0].kind = static_cast<ChangeKind>(9);
  EXPECT_THAT(commit(write_with(unloadable)),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("kind 9")));
  ExpectSame(Read(*store), before);
  EXPECT_EQ(completions, 2);

  ASSERT_OK(commit(write_with({MakeChange(3), MakeChange(4)})));
  const Snapshot after = Read(*store);
  EXPECT_THAT(
      after.data.contacts,
      ElementsAre(FullContact(1), MinimalContact(2), MinimalContact(3)));
  EXPECT_THAT(after.changes, ElementsAre(MakeChange(1), MakeChange(2),
                                         MakeChange(3), MakeChange(4)));
  EXPECT_EQ(after.data.counters.last_sequence, 4u);
  EXPECT_EQ(after.data.counters.next_contact_id, 4u);
  EXPECT_EQ(completions, 3);
}

TEST_F(SqliteWorkspaceStoreTest, RefusesRecordsThatCouldNotBeLoaded) {
  auto store = Open();
  const Snapshot before = Read(*store);
  auto expect_refused = [&](const WorkspaceWrite& w, const std::string& what) {
    EXPECT_THAT(store->Commit(w),
                StatusIs(absl::StatusCode::kInternal, HasSubstr(what)));
    ExpectSame(Read(*store), before);
  };
  WorkspaceWrite w;
  w.put_contacts = {MinimalContact(1), MinimalContact(2)};
  w.put_contacts[1].lifecycle_stage = LifecycleStage::kUnspecified;
  expect_refused(w, "contact 2: lifecycle_stage 0");
  w.put_contacts[1] = MinimalContact(0);
  expect_refused(w, "contact 0: id is 0");
  w.put_contacts[1] = MinimalContact(2);
  w.put_contacts[1].tags = {"b", "a"};
  expect_refused(w, "not sorted");
  w.put_contacts.pop_back();
  w.changes = GroupIntoRuns({MakeChange(1)});
  w.changes[0].kind = static_cast<ChangeKind>(9);
  expect_refused(w, "kind 9");
  w.changes = GroupIntoRuns({MakeChange(1)});
  w.changes[0].contact_ids = {5, 0, 7};  // an event inside the run
  expect_refused(w, "contact_id is 0");
  w.changes[0].contact_ids.clear();
  expect_refused(w, "no events");
  w.changes.clear();
  w.put_segments = {MakeSegment(uint64_t{1} << 63)};
  expect_refused(w, "out of range");
}

TEST_F(SqliteWorkspaceStoreTest, DamagedRowsAreDataLossNamingTheRow) {
  {
    auto store = Open();
    WorkspaceWrite w;
    w.put_contacts = {MinimalContact(1), MinimalContact(2)};
    w.put_segments = {MakeSegment(5)};
    w.changes = GroupIntoRuns({MakeChange(1)});
    w.counters = {3, 6, 1};
    ASSERT_OK(store->Commit(w));
  }
  RawExec(path(), "UPDATE contacts SET lifecycle_stage = 42 WHERE id = 2");
  EXPECT_THAT(LoadAll(*Open()),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("contacts row id=2: lifecycle_stage 42")));
  RawExec(path(),
          "UPDATE contacts SET lifecycle_stage = 1, lead_score = 1099511627776 "
          "WHERE id = 2");
  EXPECT_THAT(
      LoadAll(*Open()),
      StatusIs(absl::StatusCode::kDataLoss,
               HasSubstr("contacts row id=2: lead_score 1099511627776")));
  RawExec(path(),
          "UPDATE contacts SET lead_score = 0, tags = 'not json' WHERE id = 2");
  EXPECT_THAT(LoadAll(*Open()), StatusIs(absl::StatusCode::kDataLoss,
                                         HasSubstr("contacts row id=2: tags")));
  RawExec(path(), "UPDATE contacts SET tags = '[]' WHERE id = 2");
  RawExec(path(), "UPDATE segments SET filter = x'00ff' WHERE id = 5");
  EXPECT_THAT(LoadAll(*Open()), StatusIs(absl::StatusCode::kDataLoss,
                                         HasSubstr("segments row id=5")));
  RawExec(path(), "DELETE FROM segments");
  RawExec(path(), "DELETE FROM meta WHERE key = 'next_contact_id'");
  EXPECT_THAT(LoadAll(*Open()),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("meta")));
  RawExec(path(), "INSERT INTO meta VALUES ('next_contact_id', 3)");
  EXPECT_OK(LoadAll(*Open()));
  RawExec(path(), "UPDATE change_runs SET cause = 17");
  EXPECT_THAT(Open()->ReadChanges(0, 10),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("change_runs row first_sequence=1: cause")));
  RawExec(path(), "UPDATE change_runs SET cause = 1, last_sequence = 2");
  EXPECT_THAT(Open()->ReadChanges(0, 10),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("fewer ids than the run's sequences")));
  RawExec(path(),
          "UPDATE change_runs SET last_sequence = 1, "
          "more_contact_ids = x'02'");
  EXPECT_THAT(Open()->ReadChanges(0, 10),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("more ids than the run's sequences")));
  // A delta taking the contact id below 1.
  RawExec(path(),
          "UPDATE change_runs SET last_sequence = 2, "
          "more_contact_ids = x'ff03'");
  EXPECT_THAT(Open()->ReadChanges(0, 10),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("contact id out of range")));
}

// One write's consecutive events of a segment (same kind, cause and time)
// are stored as one row, and read back event by event from any sequence.
TEST_F(SqliteWorkspaceStoreTest, ChangeLogStoresRunsAndReadsFromInsideThem) {
  std::vector<MembershipChange> events;
  uint64_t seq = 0;
  // Segment 1: 1,000 entries, ids rising with gaps; segment 2: 500, ids
  // falling (negative deltas); segment 3: one entry.
  for (ContactId id = 1; id <= 1000; ++id) {
    events.push_back({++seq, 1, id * 1000, ChangeKind::kEntered,
                      ChangeCause::kContactChanged, 1700000000});
  }
  for (ContactId id = 500; id >= 1; --id) {
    events.push_back({++seq, 2, id, ChangeKind::kLeft,
                      ChangeCause::kContactDeleted, 1700000000});
  }
  events.push_back({++seq, 3, 4294967295u, ChangeKind::kEntered,
                    ChangeCause::kRulesChanged, 1700000001});
  WorkspaceWrite w;
  w.changes = GroupIntoRuns(events);
  ASSERT_THAT(w.changes, SizeIs(3));
  w.counters.last_sequence = seq;
  auto store = Open();
  ASSERT_OK(store->Commit(w));
  {
    ASSERT_OK_AND_ASSIGN(auto db, SqliteDb::Open(path(), false, 1000));
    EXPECT_THAT(db->QueryInt("SELECT COUNT(*) FROM change_runs"),
                IsOkAndHolds(3));
  }
  EXPECT_THAT(store->ReadChanges(0, 1 << 20), IsOkAndHolds(events));
  for (uint64_t after : {0, 1, 500, 999, 1000, 1001, 1499, 1500}) {
    ASSERT_OK_AND_ASSIGN(auto page, store->ReadChanges(after, 7));
    const size_t n = std::min<size_t>(7, seq - after);
    ASSERT_THAT(page, SizeIs(n)) << "after " << after;
    for (size_t i = 0; i < n; ++i) EXPECT_EQ(page[i], events[after + i]);
  }
  EXPECT_THAT(store->ReadChanges(seq, 10), IsOkAndHolds(IsEmpty()));
}

// A version 1 database (one row per event in `changes`) is migrated: every
// event is still read back.
TEST_F(SqliteWorkspaceStoreTest, MigratesTheVersion1ChangeLog) {
  {
    ASSERT_OK_AND_ASSIGN(auto db, SqliteDb::Open(path(), true, 1000));
    ASSERT_OK(
        MigrateSchema(db.get(), kWorkspaceAppId, {WorkspaceMigrations()[0]}));
    ASSERT_OK(
        db->Exec("INSERT INTO changes VALUES (1, 4, 10, 1, 1, 1700000000), "
                 "(2, 4, 11, 1, 1, 1700000000), (3, 5, 10, 2, 2, 1700000005); "
                 "UPDATE meta SET value = 3 WHERE key = 'last_sequence'"));
  }
  auto store = Open();
  EXPECT_THAT(store->ReadChanges(0, 10),
              IsOkAndHolds(ElementsAre(
                  MembershipChange{1, 4, 10, ChangeKind::kEntered,
                                   ChangeCause::kContactChanged, 1700000000},
                  MembershipChange{2, 4, 11, ChangeKind::kEntered,
                                   ChangeCause::kContactChanged, 1700000000},
                  MembershipChange{3, 5, 10, ChangeKind::kLeft,
                                   ChangeCause::kContactDeleted, 1700000005})));
  EXPECT_THAT(store->ReadChanges(1, 1), IsOkAndHolds(SizeIs(1)));
  ASSERT_OK_AND_ASSIGN(WorkspaceData data, LoadAll(*store));
  EXPECT_EQ(data.counters.last_sequence, 3u);
}

TEST_F(SqliteWorkspaceStoreTest, SetsSchemaVersionAndRefusesNewer) {
  Open().reset();
  {
    ASSERT_OK_AND_ASSIGN(auto db, SqliteDb::Open(path(), false, 1000));
    ASSERT_OK_AND_ASSIGN(int64_t version, db->QueryInt("PRAGMA user_version"));
    EXPECT_EQ(version, SqliteWorkspaceStore::SchemaVersion());
    EXPECT_GE(version, 1);
  }
  RawExec(path(), absl::StrCat("PRAGMA user_version = ",
                               SqliteWorkspaceStore::SchemaVersion() + 1));
  EXPECT_THAT(
      SqliteWorkspaceStore::Open(path(), {}),
      StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("newer")));
}

TEST_F(SqliteWorkspaceStoreTest, UsesWalAndTheRequestedSynchronousLevel) {
  {
    auto store = Open();
    EXPECT_THAT(store->QueryPragma("journal_mode"),
                IsOkAndHolds(std::string("wal")));
    EXPECT_THAT(store->QueryPragma("synchronous"),
                IsOkAndHolds(std::string("2")));
  }
  SqliteOptions normal;
  normal.synchronous = SqliteOptions::Synchronous::kNormal;
  auto store = Open(normal);
  EXPECT_THAT(store->QueryPragma("synchronous"),
              IsOkAndHolds(std::string("1")));
  EXPECT_THAT(store->QueryPragma("busy_timeout"),
              IsOkAndHolds(std::string("5000")));
}

// Issue 11: rows that break the model used to load without complaint.
TEST_F(SqliteWorkspaceStoreTest, RowsThatBreakTheModelAreDataLossAtLoad) {
  {
    auto store = Open();
    WorkspaceWrite w;
    w.put_contacts = {MinimalContact(1), MinimalContact(2)};
    w.put_contacts[1].tags = {"vip"};
    w.put_segments = {MakeSegment(5), MakeSegment(6)};
    w.changes = GroupIntoRuns({MakeChange(1)});
    w.counters = {3, 7, 1};
    ASSERT_OK(store->Commit(w));
  }
  ASSERT_OK(LoadAll(*Open()));
  const Damage cases[] = {
      {"UPDATE contacts SET email = 'not an email' WHERE id = 2",
       "UPDATE contacts SET email = 'min2@example.com' WHERE id = 2",
       "contacts row id=2: email must not contain whitespace"},
      {"UPDATE contacts SET email = 'two@@example.com' WHERE id = 2",
       "UPDATE contacts SET email = 'min2@example.com' WHERE id = 2",
       "contacts row id=2: email must contain exactly one '@'"},
      {"UPDATE contacts SET email = 'Min2@example.com' WHERE id = 2",
       "UPDATE contacts SET email = 'min2@example.com' WHERE id = 2",
       "contacts row id=2: email is not lowercase"},
      {"UPDATE contacts SET email = 'min1@example.com' WHERE id = 2",
       "UPDATE contacts SET email = 'min2@example.com' WHERE id = 2",
       "contacts rows id=1 and id=2 have the same email"},
      {"UPDATE contacts SET company = ' padded' WHERE id = 2",
       "UPDATE contacts SET company = NULL WHERE id = 2",
       "contacts row id=2: company is not trimmed"},
      {"UPDATE contacts SET city = CAST(x'ff' AS TEXT) WHERE id = 2",
       "UPDATE contacts SET city = NULL WHERE id = 2",
       "contacts row id=2: city is not valid UTF-8"},
      {"UPDATE contacts SET country = printf('%.300c', 'x') WHERE id = 2",
       "UPDATE contacts SET country = NULL WHERE id = 2",
       "contacts row id=2: country is longer than 256 bytes"},
      {"UPDATE contacts SET tags = '[\"VIP\"]' WHERE id = 2",
       "UPDATE contacts SET tags = '[\"vip\"]' WHERE id = 2",
       "contacts row id=2: tags[0] is not lowercase"},
      {"UPDATE contacts SET id = 3 WHERE id = 2",
       "UPDATE contacts SET id = 2 WHERE id = 3",
       "contacts row id=3: id is not below next_contact_id 3"},
      {"UPDATE segments SET display_name = 'SEGMENT 5 — ünïcødé' WHERE id = 6",
       "UPDATE segments SET display_name = 'Segment 6' WHERE id = 6",
       "segments row id=6: its name is the name of segment 5"},
      {"UPDATE segments SET display_name = '' WHERE id = 6",
       "UPDATE segments SET display_name = 'Segment 6' WHERE id = 6",
       "segments row id=6: display_name is empty"},
      {"UPDATE segments SET id = 7 WHERE id = 6",
       "UPDATE segments SET id = 6 WHERE id = 7",
       "segments row id=7: id is not below next_segment_id 7"},
      {"UPDATE meta SET value = 0 WHERE key = 'last_sequence'",
       "UPDATE meta SET value = 1 WHERE key = 'last_sequence'",
       "change_runs reach sequence 1, beyond the stored last_sequence 0"},
  };
  ExpectEachDamageIsDataLoss(cases);
}

// The check that no two emails are equal hashes them into 256 buckets,
// sorted on two threads from 65,536 contacts on: a repeat is found whichever
// bucket it falls in, three alike are one repeat, and the status names the
// first two rows of a repeated email.
TEST_F(SqliteWorkspaceStoreTest, RepeatedEmailsAmongManyContactsAreDataLoss) {
  constexpr ContactId kContacts = 70000;
  {
    auto store = Open();
    WorkspaceWrite w;
    for (ContactId id = 1; id <= kContacts; ++id) {
      w.put_contacts.push_back(MinimalContact(id));
    }
    w.counters = {kContacts + 1, 1, 0};
    ASSERT_OK(store->Commit(w));
  }
  ASSERT_OK(LoadAll(*Open()));
  const Damage cases[] = {
      {"UPDATE contacts SET email = 'min12@example.com' WHERE id = 69999",
       "UPDATE contacts SET email = 'min69999@example.com' WHERE id = 69999",
       "contacts rows id=12 and id=69999 have the same email"},
      {"UPDATE contacts SET email = 'min7@example.com' WHERE id IN (8, 9)",
       "UPDATE contacts SET email = 'min' || id || '@example.com' "
       "WHERE id IN (8, 9)",
       "contacts rows id=7 and id=8 have the same email"},
  };
  ExpectEachDamageIsDataLoss(cases);
}

// Issue 11: a missing or empty file used to open as an empty workspace.
TEST_F(SqliteWorkspaceStoreTest, OpenExistingNeverCreates) {
  EXPECT_THAT(SqliteWorkspaceStore::OpenExisting(path(), {}, 1),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("missing")));
  EXPECT_FALSE(std::filesystem::exists(path()));
  std::ofstream(path()).close();
  EXPECT_THAT(SqliteWorkspaceStore::OpenExisting(path(), {}, 1),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("empty")));
  EXPECT_EQ(std::filesystem::file_size(path()), 0u);
  std::filesystem::remove(path());
  {
    // An SQLite file without our schema.
    ASSERT_OK_AND_ASSIGN(auto db, SqliteDb::Open(path(), true, 1000));
    ASSERT_OK(db->Exec("PRAGMA page_size = 4096; VACUUM;"));
  }
  EXPECT_THAT(SqliteWorkspaceStore::OpenExisting(path(), {}, 1),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("no workspace")));
  std::filesystem::remove(path());
  std::ofstream(path()) << std::string(4096, 'z');
  EXPECT_THAT(SqliteWorkspaceStore::OpenExisting(path(), {}, 1),
              StatusIs(absl::StatusCode::kDataLoss));
}

TEST_F(SqliteWorkspaceStoreTest, CreateRecordsTheIdAndNeverAdoptsAFile) {
  {
    ASSERT_OK_AND_ASSIGN(auto store,
                         SqliteWorkspaceStore::Create(path(), {}, 4));
    WorkspaceWrite w;
    w.put_contacts = {MinimalContact(1)};
    w.counters = {2, 1, 0};
    ASSERT_OK(store->Commit(w));
  }
  EXPECT_THAT(SqliteWorkspaceStore::Create(path(), {}, 4),
              StatusIs(absl::StatusCode::kAlreadyExists));
  ASSERT_OK_AND_ASSIGN(auto store,
                       SqliteWorkspaceStore::OpenExisting(path(), {}, 4));
  ASSERT_OK_AND_ASSIGN(WorkspaceData data, LoadAll(*store));
  EXPECT_THAT(data.contacts, ElementsAre(MinimalContact(1)));
  store.reset();
  // Another workspace's file copied into this one's place.
  EXPECT_THAT(
      SqliteWorkspaceStore::OpenExisting(path(), {}, 5),
      StatusIs(absl::StatusCode::kDataLoss,
               HasSubstr("holds the data of workspace 4, not of workspace 5")));
}

TEST_F(SqliteWorkspaceStoreTest, RefusesForeignFiles) {
  std::ofstream(path()) << std::string(4096, 'z');
  EXPECT_THAT(SqliteWorkspaceStore::Open(path(), {}),
              StatusIs(absl::StatusCode::kDataLoss));
}

TEST_F(SqliteWorkspaceStoreTest, RefusesAnotherApplicationsDatabase) {
  {
    ASSERT_OK_AND_ASSIGN(auto db, SqliteDb::Open(path(), true, 1000));
    ASSERT_OK(
        db->Exec("CREATE TABLE contacts (x); PRAGMA application_id = 7;"));
  }
  EXPECT_THAT(SqliteWorkspaceStore::Open(path(), {}),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("application_id 7")));
}

TEST_F(SqliteWorkspaceStoreTest, CommitsATenThousandContactBatchAtomically) {
  auto store = Open();
  WorkspaceWrite w;
  for (ContactId id = 1; id <= 10000; ++id) {
    w.put_contacts.push_back(id % 2 ? FullContact(id) : MinimalContact(id));
  }
  w.counters.next_contact_id = 10001;
  ASSERT_OK(store->Commit(w));
  ASSERT_OK_AND_ASSIGN(WorkspaceData data, LoadAll(*Open()));
  EXPECT_EQ(data.contacts, w.put_contacts);
}

TEST_F(SqliteWorkspaceStoreTest, ReadChangesWhileCommitting) {
  auto store = Open();
  constexpr int kCommits = 200;
  constexpr int kPerCommit = 5;
  constexpr uint64_t kTotal = kCommits * kPerCommit;
  std::atomic<bool> failed{false};
  std::vector<std::thread> readers;
  for (int r = 0; r < 3; ++r) {
    readers.emplace_back([&] {
      uint64_t after = 0;
      while (after < kTotal && !failed) {
        absl::StatusOr<std::vector<MembershipChange>> page =
            store->ReadChanges(after, 37);
        if (!page.ok()) {
          ADD_FAILURE() << page.status();
          failed = true;
          return;
        }
        for (const MembershipChange& c : *page) {
          // No gaps and no repeats: a reader sees whole commits in order.
          if (c.sequence != after + 1 || !(c == MakeChange(c.sequence))) {
            ADD_FAILURE() << "sequence " << c.sequence << " after " << after;
            failed = true;
            return;
          }
          after = c.sequence;
        }
      }
    });
  }
  uint64_t seq = 0;
  for (int i = 0; i < kCommits && !failed; ++i) {
    WorkspaceWrite w;
    w.put_contacts = {MinimalContact(static_cast<ContactId>(i + 1))};
    std::vector<MembershipChange> events;
    for (int k = 0; k < kPerCommit; ++k) events.push_back(MakeChange(++seq));
    w.changes = GroupIntoRuns(events);
    w.counters = {static_cast<ContactId>(i + 2), 1, seq};
    const absl::Status status = store->Commit(w);
    if (!status.ok()) {
      ADD_FAILURE() << status;
      failed = true;
    }
  }
  for (auto& t : readers) t.join();
  EXPECT_FALSE(failed);
}

}  // namespace
}  // namespace segments
